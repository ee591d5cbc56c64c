"""The top-degree (Hermite) bound, docs/theory.md §1.8.5.

If p has degree q and top homogeneous part <T, x^{(x)q}>, then under x ~ N(0, I_d)

    E[p(x)^2] >= q! ||Sym T||_F^2,

because the degree-q Hermite component of p is <Sym T, He_q(x)> (lower-degree
terms only feed lower Hermite degrees), whose energy is q! ||Sym T||_F^2. So no
lower-degree layer can cancel a top-degree error.

``sym_tensor`` builds Sym T explicitly (entry c_alpha / multinomial(q; alpha) at
every index tuple whose counts are alpha) and ``top_energy`` returns
q! ||Sym T||_F^2 from that tensor; ``top_energy_closed_form`` is the monomial
formula sum_alpha c_alpha^2 alpha!, an independent path used in tests.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import sympy as sp

from theorycheck.errors import SpecError
from theorycheck.maths.gaussian import as_poly


def top_part(p, variables: Sequence[sp.Symbol] | None = None) -> tuple[int, dict]:
    """(q, {alpha: c_alpha}) for the top homogeneous part of ``p``."""
    poly = as_poly(p, variables)
    if poly.is_zero:
        return 0, {}
    q = poly.total_degree()
    return q, {m: c for m, c in poly.terms() if sum(m) == q}


def sym_tensor(p, variables: Sequence[sp.Symbol] | None = None, symmetrise: bool = True) -> np.ndarray:
    """Sym T as a float64 array of shape (d,)*q; with ``symmetrise=False`` the unsymmetrised T
    that puts each c_alpha on its sorted index tuple only."""
    poly = as_poly(p, variables)
    d = len(poly.gens)
    q, top = top_part(poly)
    if d ** q > 10 ** 7:
        raise SpecError(f"Sym T would have d^q = {d}^{q} entries; use d^q <= 1e7 or "
                        f"top_energy_closed_form")
    if q == 0:
        return np.array(float(top.get((0,) * d, 0)))
    idx = np.indices((d,) * q).reshape(q, -1)
    counts = np.stack([(idx == i).sum(0) for i in range(d)], axis=1)
    out = np.zeros(idx.shape[1])
    for alpha, c in top.items():
        hit = np.all(counts == np.array(alpha), axis=1)
        if symmetrise:
            multinom = math.factorial(q) // math.prod(math.factorial(a) for a in alpha)
            out[hit] = float(c) / multinom
        else:
            first = np.flatnonzero(hit & np.all(np.diff(idx, axis=0) >= 0, axis=0))[0]
            out[first] = float(c)
    return out.reshape((d,) * q)


def top_energy(p, variables: Sequence[sp.Symbol] | None = None, symmetrise: bool = True) -> float:
    """q! ||Sym T||_F^2 (docs/theory.md §1.8.5's lower bound on E[p^2])."""
    poly = as_poly(p, variables)
    T = sym_tensor(poly, symmetrise=symmetrise)
    return math.factorial(poly.total_degree() if not poly.is_zero else 0) * float(np.sum(T * T))


def top_energy_closed_form(p, variables: Sequence[sp.Symbol] | None = None):
    """sum over top monomials of c_alpha^2 alpha! (exact sympy number)."""
    _, top = top_part(p, variables)
    return sum((c ** 2 * math.prod(math.factorial(a) for a in alpha) for alpha, c in top.items()),
               sp.Integer(0))
