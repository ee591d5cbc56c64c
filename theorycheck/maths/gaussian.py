"""Exact Gaussian expectations (docs/theory.md §1.8.7) and the Monte Carlo
estimators that are tested against them.

Under x ~ N(0, I_d) the coordinates are independent with
E[x_i^{2n}] = (2n-1)!! and odd moments 0 (Isserlis), so the expectation of a
polynomial is exact term by term:
E[sum_a c_a x^a] = sum_a c_a prod_i E[x_i^{a_i}].
Coefficients may be symbolic; the result is then a sympy expression in them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
import sympy as sp

from theorycheck.errors import SpecError
from theorycheck.validation import check_choice, check_int


@lru_cache(maxsize=None)
def gaussian_moment(n: int) -> int:
    """E[z^n] for z ~ N(0, 1): (n-1)!! for even n, 0 for odd n.

    Parameters
    ----------
    n : int
        The order, >= 0.

    Returns
    -------
    int
    """
    n = check_int("n", n, min_value=0)
    return 0 if n % 2 else int(sp.factorial2(n - 1)) if n else 1


def as_poly(p, variables: Sequence[sp.Symbol] | None = None) -> sp.Poly:
    """``p`` as a Poly in ``variables`` (coefficients may hold other symbols)."""
    if isinstance(p, sp.Poly):
        if variables is None or tuple(p.gens) == tuple(variables):
            return p  # already in these variables: no round trip through an expanded expression
        return sp.Poly(p.as_expr(), *variables)
    if variables is None:
        raise SpecError("variables=None is invalid for a plain expression: the integration "
                        "variables are ambiguous; pass variables=(x0, x1, ...) or a sympy Poly")
    return sp.Poly(sp.sympify(p), *variables)


def expectation(p, variables: Sequence[sp.Symbol] | None = None):
    """Exact E[p(x)] for x ~ N(0, I) over ``variables``.

    Returns a sympy number (Rational for rational coefficients) or an
    expression in any symbolic coefficients.

    Parameters
    ----------
    p : sympy expression or Poly
        A polynomial in the Gaussian variables.
    variables : sequence of Symbol or None
        The Gaussian coordinates; None takes the free symbols of ``p`` (docs/theory.md §1.8.7).
    """
    poly = as_poly(p, variables)
    dom = poly.get_domain()
    total = dom.zero
    for monom, coeff in poly.rep.terms():
        w = 1
        for a in monom:
            if a % 2:
                w = 0
                break
            w *= gaussian_moment(a)
        if w:
            total += coeff * dom.convert(w)
    return dom.to_sympy(total)


def second_moment(p, variables: Sequence[sp.Symbol] | None = None):
    """Exact E[p(x)^2]."""
    poly = as_poly(p, variables)
    return expectation(poly * poly)


def sample_inputs(n: int, d: int, rng: np.random.Generator, dist: str = "gaussian") -> np.ndarray:
    """``n`` inputs in R^d: N(0, I_d), or uniform on the sphere of radius sqrt(d).

    Parameters
    ----------
    n, d : int
        Number of inputs and dimension.
    rng : numpy.random.Generator
        Source of randomness.
    dist : str
        ``"gaussian"`` or ``"sphere"``.

    Returns
    -------
    ndarray, shape (n, d), float64
    """
    n = check_int("n", n, min_value=1)
    d = check_int("d", d, min_value=1)
    check_choice("dist", dist, ("gaussian", "sphere"))
    x = rng.standard_normal((n, d))
    if dist == "sphere":
        x *= math.sqrt(d) / np.linalg.norm(x, axis=1, keepdims=True)
    return x


@dataclass(frozen=True)
class MCEstimate:
    """A Monte Carlo mean with its standard error (:func:`mc_expectation`).

    ``interval(z)`` is ``mean -+ z stderr`` (docs/theory.md §0.2).

    Parameters
    ----------
    mean : float
        The sample mean.
    stderr : float
        Its standard error.
    n : int
        Samples used.
    """
    mean: float
    stderr: float
    n: int

    def interval(self, z: float = 4.0) -> tuple[float, float]:
        return self.mean - z * self.stderr, self.mean + z * self.stderr


def mc_expectation(f: Callable[[np.ndarray], np.ndarray], d: int, n: int,
                   rng: np.random.Generator, *, dist: str = "gaussian",
                   batch: int = 65536) -> MCEstimate:
    """Monte Carlo E[f(x)] with its standard error; ``f`` maps (b, d) inputs to (b,) values.

    Batches are accumulated with Welford/Chan updates, so memory stays bounded.

    Parameters
    ----------
    f : callable
        Maps a (b, d) float64 array to (b,) values.
    d, n : int
        Dimension and number of samples.
    rng : numpy.random.Generator
        Source of the inputs.
    dist : str
        ``"gaussian"`` (N(0, I_d)) or ``"sphere"``.
    batch : int
        Inputs drawn per call of ``f``.

    Returns
    -------
    MCEstimate
    """
    n = check_int("n", n, min_value=2)
    count, mean, m2 = 0, 0.0, 0.0
    while count < n:
        b = min(batch, n - count)
        vals = np.asarray(f(sample_inputs(b, d, rng, dist)), dtype=np.float64).reshape(-1)
        if vals.shape[0] != b:
            raise SpecError(f"f returned {vals.shape[0]} values for a batch of {b} inputs; "
                            f"f must map an (n, d) array to n values")
        bm = float(vals.mean())
        bm2 = float(((vals - bm) ** 2).sum())
        delta = bm - mean
        tot = count + b
        mean += delta * b / tot
        m2 += bm2 + delta * delta * count * b / tot
        count = tot
    var = m2 / (count - 1)
    return MCEstimate(mean, math.sqrt(var / count), count)


def poly_function(p, variables: Sequence[sp.Symbol]) -> Callable[[np.ndarray], np.ndarray]:
    """A vectorised float64 evaluator of a polynomial: (n, d) array -> (n,) values.

    Evaluates the monomial table directly (no per-sample sympy), for use as an
    independent reference beside hand-written evaluators.
    """
    poly = as_poly(p, variables)
    terms = poly.terms()
    if not terms:
        return lambda X: np.zeros(np.asarray(X).shape[0])
    powers = np.array([m for m, _ in terms], dtype=np.int64)
    coeffs = np.array([float(c) for _, c in terms], dtype=np.float64)
    d = len(variables)

    def f(X):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != d:
            raise SpecError(f"X has shape {X.shape}; expected (n, {d})")
        out = np.zeros(X.shape[0])
        maxp = int(powers.max()) if powers.size else 0
        pw = np.ones((maxp + 1,) + X.shape)
        for k in range(1, maxp + 1):
            pw[k] = pw[k - 1] * X
        for row, c in zip(powers, coeffs):
            term = np.full(X.shape[0], c)
            for i in np.nonzero(row)[0]:
                term *= pw[row[i], :, i]
            out += term
        return out
    return f
