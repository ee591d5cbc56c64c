"""Targets of the three-layer paper (docs/theory.md §2.2): functions of a quadratic
feature, f*(x) = g*(x^T A x), and single-index models, f*(x) = g*(<beta, x>),
with inputs uniform on the sphere of radius sqrt(d) or Gaussian N(0, I_d).

Exact oracles [M] (docs/theory.md §2.2): for A symmetric and trace-free,

* under x ~ N(0, I_d), the cumulants of h = x^T A x are
  kappa_k = 2^(k-1) (k-1)! tr(A^k), so Var h = 2 ||A||_F^2;
* on the sphere of radius sqrt(d), x = sqrt(d) z / |z| with z ~ N(0, I_d), and
  z/|z| is independent of |z|, so E_sphere[h^k] = d^k E_gauss[h^k] / E|z|^(2k)
  with E|z|^(2k) = d (d+2) ... (d+2k-2); in particular Var h = 2d/(d+2) ||A||_F^2.

The same independence gives exact sphere expectations of any polynomial
(:func:`sphere_expectation`), which the tests use to verify the oracles
symbolically.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import sympy as sp

from theorycheck.errors import SpecError
from theorycheck.maths.gaussian import as_poly, expectation, sample_inputs
from theorycheck.validation import (NOT_GIVEN, check_array, check_bool, check_choice, check_int,
                                    warn_renamed)

DISTS = ("sphere", "gaussian")

#: default link of docs/theory.md §2.2: g(t) = t + t^2/2, centred under the input law.
DEFAULT_LINK = (0.0, 1.0, 0.5)


# ---------------------------------------------------------------- exact moments


def sphere_norm_moment(d: int, k: int) -> int:
    """E|z|^(2k) = d (d+2) ... (d+2k-2) for z ~ N(0, I_d) (chi-square moments)."""
    return math.prod(d + 2 * i for i in range(k))


def sphere_expectation(p, variables: Sequence[sp.Symbol]):
    """Exact E[p(x)] for x uniform on the sphere of radius sqrt(d), d = len(variables).

    A monomial x^alpha of degree |alpha| = 2k has sphere mean
    d^k E_gauss[z^alpha] / (d (d+2) ... (d+2k-2)) (direction and radius of a
    Gaussian vector are independent); odd degrees have mean 0.
    """
    poly = as_poly(p, variables)
    d = len(variables)
    total = sp.Integer(0)
    for monom, coeff in poly.terms():
        deg = sum(monom)
        if deg % 2:
            continue
        g = expectation(sp.Mul(*(x ** a for x, a in zip(variables, monom))), variables)
        if g:
            k = deg // 2
            total += coeff * g * sp.Integer(d) ** k / sphere_norm_moment(d, k)
    return sp.nsimplify(total) if total.is_number else total


def quadratic_cumulants(A: np.ndarray, kmax: int) -> np.ndarray:
    """Cumulants kappa_1..kappa_kmax of x^T A x under N(0, I): 2^(k-1) (k-1)! tr(A^k)."""
    A = np.asarray(A, dtype=np.float64)
    out, P = np.empty(kmax), np.eye(A.shape[0])
    for k in range(1, kmax + 1):
        P = P @ A
        out[k - 1] = 2.0 ** (k - 1) * math.factorial(k - 1) * np.trace(P)
    return out


def quadratic_moments(A: np.ndarray, kmax: int, dist: str = "sphere") -> np.ndarray:
    """Raw moments E[h^k], k = 0..kmax, of h = x^T A x (exact up to rounding)."""
    check_choice("dist", dist, DISTS)
    kappa = quadratic_cumulants(A, kmax)
    m = np.zeros(kmax + 1)
    m[0] = 1.0
    for n in range(1, kmax + 1):
        m[n] = sum(math.comb(n - 1, k - 1) * kappa[k - 1] * m[n - k] for k in range(1, n + 1))
    if dist == "sphere":
        d = np.asarray(A).shape[0]
        m = np.array([m[k] * float(d) ** k / sphere_norm_moment(d, k) for k in range(kmax + 1)])
    return m


def variance_oracle(d: int, dist: str = "sphere", frob2: float = 1.0) -> float:
    """Var(x^T A x) for symmetric trace-free A with ||A||_F^2 = frob2 (docs/theory.md §2.2 [M]).

    Parameters
    ----------
    d : int
        Input dimension.
    dist : str
        ``"sphere"`` (radius sqrt(d)) or ``"gaussian"``.
    frob2 : float
        ||A||_F^2.

    Returns
    -------
    float
    """
    d = check_int("d", d, min_value=1)
    check_choice("dist", dist, DISTS)
    return 2.0 * frob2 * (1.0 if dist == "gaussian" else d / (d + 2.0))


# ---------------------------------------------------------------- the matrix A


def validate_quadratic_matrix(A, *, normalise: bool = False, atol: float = 1e-10) -> np.ndarray:
    """Check that A is square, symmetric, trace-free with ||A||_F = 1 (docs/theory.md §2.2).

    With ``normalise=True`` a non-conforming A is symmetrised, its trace removed
    and rescaled to unit Frobenius norm, with a warning naming what changed.
    """
    A = check_array("A", A, ndim=2)
    if A.shape[0] != A.shape[1] or A.shape[0] < 2:
        raise SpecError(f"A has shape {A.shape}; pass a square d x d matrix with d >= 2")
    scale = max(1.0, float(np.abs(A).max()))
    problems = []
    asym = float(np.abs(A - A.T).max())
    if asym > atol * scale:
        problems.append(f"not symmetric (max |A - A^T| = {asym:.3g})")
    tr = float(np.trace(A))
    if abs(tr) > atol * scale * A.shape[0]:
        problems.append(f"not trace-free (tr A = {tr:.3g})")
    fro = float(np.linalg.norm(A))
    if not problems and abs(fro - 1.0) > 1e-8:
        problems.append(f"||A||_F = {fro:.6g}, not 1")
    if not problems:
        return A
    if not normalise:
        raise SpecError(f"A is invalid: {'; '.join(problems)}; pass (A + A.T)/2 - tr(A)/d * I "
                        f"scaled to ||A||_F = 1, or set normalise=True (CLI: --normalise)")
    warnings.warn(f"A was normalised: {'; '.join(problems)}", stacklevel=2)
    return normalise_quadratic_matrix(A)


def normalise_quadratic_matrix(A) -> np.ndarray:
    """Symmetrise, remove the trace, and scale to ||A||_F = 1."""
    A = np.asarray(A, dtype=np.float64)
    S = 0.5 * (A + A.T)
    S = S - np.trace(S) / S.shape[0] * np.eye(S.shape[0])
    fro = np.linalg.norm(S)
    if fro < 1e-12:
        raise SpecError("A is a multiple of the identity after symmetrising, so its trace-free "
                        "part is 0; pass a matrix that is not c * I")
    return S / fro


def random_quadratic_matrix(d: int, rng: np.random.Generator, rank: int | None = None) -> np.ndarray:
    """A symmetric, trace-free, ||A||_F = 1 matrix (docs/theory.md §2.2 [R]).

    ``rank=None`` (default): the normalised trace-free part of a symmetric
    Gaussian matrix (full rank almost surely). ``rank=r`` (2 <= r <= d):
    A = U diag(s) U^T with U Haar on d x r and s a random unit vector with
    sum(s) = 0, so A has rank r exactly.
    """
    d = check_int("d", d, min_value=2)
    if rank is None:
        G = rng.standard_normal((d, d))
        return normalise_quadratic_matrix(G + G.T)
    r = check_int("rank", rank, min_value=2, max_value=d)
    U, _ = np.linalg.qr(rng.standard_normal((d, r)))
    s = rng.standard_normal(r)
    s -= s.mean()
    s /= np.linalg.norm(s)
    return (U * s) @ U.T


# ---------------------------------------------------------------- targets


def _link(coeffs) -> np.ndarray:
    c = check_array("link", coeffs, ndim=1)
    if c.size == 0 or not np.any(c[1:]):
        raise SpecError(f"link={list(c)!r} is invalid: g* must be a non-constant polynomial; "
                        f"pass coefficients (c0, c1, c2, ...) with some c_k != 0 for k >= 1")
    return c


class _LinkOfFeature:
    """f*(x) = g*(feature(x)) - offset, g* the polynomial ``link`` (lowest degree first), for a
    target with a ``feature`` map of inputs in dimension ``d`` under ``dist`` and the centring
    ``offset``."""

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return np.polynomial.polynomial.polyval(self.feature(X), self.link) - self.offset

    def sample(self, n: int, rng: np.random.Generator):
        X = sample_inputs(n, self.d, rng, self.dist)
        return X, self(X)


@dataclass(frozen=True)
class QuadraticFeatureTarget(_LinkOfFeature):
    """f*(x) = g*(x^T A x) - E g*(x^T A x); g* a polynomial with coefficients ``link``
    (lowest degree first). ``link`` is centred exactly under ``dist``.

    Parameters
    ----------
    A : ndarray, shape (d, d)
        Symmetric, trace-free (docs/theory.md §2.2.1).
    link : ndarray
        Coefficients of g*, lowest degree first.
    dist : str
        ``"sphere"`` or ``"gaussian"``.
    """

    A: np.ndarray
    link: np.ndarray = field(default_factory=lambda: np.asarray(DEFAULT_LINK))
    dist: str = "sphere"

    def feature(self, X: np.ndarray) -> np.ndarray:
        """h*(x) = x^T A x for each row of X."""
        return np.einsum("ni,ij,nj->n", X, self.A, X)

    @property
    def d(self) -> int:
        return self.A.shape[0]

    @property
    def offset(self) -> float:
        """E g*(h) under ``dist``, subtracted so that f* is centred."""
        m = quadratic_moments(self.A, len(self.link) - 1, self.dist)
        return float(np.dot(self.link, m))

    def symbolic(self, digits: int = 3):
        """A sympy expression of f* (entries rounded to ``digits``) for inspection."""
        xs = sp.symbols(f"x0:{self.d}")
        x = sp.Matrix(xs)
        Ar = sp.Matrix(self.d, self.d, lambda i, j: sp.Float(self.A[i, j], digits))
        h = sp.Symbol("h")
        g = sum(sp.Float(c, digits) * h ** k for k, c in enumerate(self.link)) - sp.Float(self.offset, digits)
        return sp.Eq(sp.Function("f")(*xs), g.subs(h, sp.expand((x.T * Ar * x)[0])), evaluate=False)

    def link_expr(self):
        t = sp.Symbol("t")
        return sum(sp.Rational(str(c)) * t ** k for k, c in enumerate(self.link))

    def __repr__(self):
        return (f"QuadraticFeatureTarget(d={self.d}, rank={np.linalg.matrix_rank(self.A)}, "
                f"g*(t)={self.link_expr()}, dist={self.dist!r})")

    def _repr_latex_(self):
        return (f"$f^*(x) = g^*(x^\\top A x) - \\mathbb{{E}}g^*,\\; g^*(t) = {sp.latex(self.link_expr())},"
                f"\\; A \\in \\mathbb{{R}}^{{{self.d}\\times{self.d}}}$")


@dataclass(frozen=True)
class SingleIndexTarget(_LinkOfFeature):
    """f*(x) = g*(<beta, x>) - E g*, ||beta|| = 1 (docs/theory.md §2.2).

    Parameters
    ----------
    beta : ndarray, shape (d,)
        Unit direction.
    link : ndarray
        Coefficients of g*, lowest degree first.
    dist : str
        ``"sphere"`` or ``"gaussian"``.
    """

    beta: np.ndarray
    link: np.ndarray = field(default_factory=lambda: np.asarray(DEFAULT_LINK))
    dist: str = "sphere"

    def feature(self, X: np.ndarray) -> np.ndarray:
        return X @ self.beta

    @property
    def d(self) -> int:
        return self.beta.shape[0]

    @property
    def offset(self) -> float:
        # <beta, x> ~ N(0, 1) (Gaussian) or sqrt(d) u_1 (sphere); even moments below.
        d = self.d
        m = []
        for k in range(len(self.link)):
            if k % 2:
                m.append(0.0)
            else:
                g = float(sp.factorial2(k - 1)) if k else 1.0
                m.append(g if self.dist == "gaussian" else g * d ** (k // 2) / sphere_norm_moment(d, k // 2))
        return float(np.dot(self.link, m))

    def symbolic(self, digits: int = 3):
        xs = sp.symbols(f"x0:{self.d}")
        z = sum(sp.Float(b, digits) * x for b, x in zip(self.beta, xs))
        g = sum(sp.Float(c, digits) * z ** k for k, c in enumerate(self.link)) - sp.Float(self.offset, digits)
        return sp.Eq(sp.Function("f")(*xs), g, evaluate=False)

    def __repr__(self):
        return f"SingleIndexTarget(d={self.d}, link={list(self.link)}, dist={self.dist!r})"


def quadratic_target(d: int | None = None, *, seed: np.random.Generator | int | None = 0, A=None,
                     rank: int | None = None, link=DEFAULT_LINK, dist: str = "sphere",
                     normalise: bool = False, rng=NOT_GIVEN) -> QuadraticFeatureTarget:
    """Build f*(x) = g*(x^T A x) (docs/theory.md §2.2). A user-given ``A`` is validated
    (:func:`validate_quadratic_matrix`); otherwise A is drawn with ``rank``.

    Parameters
    ----------
    d : int, optional
        The input dimension (default 16); with ``A`` it must equal A's size.
    seed : int, numpy.random.Generator or None
        Draws A when it is not given (the same name as ``build_target(seed=)``; None: fresh
        entropy).
    A : array_like, optional
        A d x d symmetric, trace-free matrix of unit Frobenius norm.
    rank : int, optional
        The rank of the drawn A (default: full).
    link : array_like
        The coefficients of g* (:func:`_link`).
    dist : {"sphere", "gaussian"}
        The input distribution.
    normalise : bool
        Symmetrise / remove the trace / rescale a given ``A`` (with a warning) instead of
        rejecting it.
    rng : int, Generator or None
        Deprecated name of ``seed`` (a DeprecationWarning).

    Raises
    ------
    SpecError
        A bad argument, or ``d`` differing from the size of ``A``.
    BudgetError
        Drawing a d x d matrix beyond the memory budget.
    """
    if rng is not NOT_GIVEN:
        warn_renamed("quadratic_target", "rng", "seed")
        seed = rng
    check_choice("dist", dist, DISTS)
    check_bool("normalise", normalise)
    if A is not None and d is not None:
        d = check_int("d", d, min_value=2)
        shape = np.shape(A)
        if len(shape) != 2 or shape[0] != d:
            raise SpecError(f"d={d} is invalid: A has shape {shape}, not ({d}, {d}); pass d="
                            f"{shape[0] if shape else '...'} or an A of size {d}, or leave d out")
    if A is None:
        d = check_int("d", 16 if d is None else d, min_value=2)
        if seed is not None and (isinstance(seed, bool) or not isinstance(
                seed, (np.random.Generator, int, np.integer))):
            raise SpecError(f"seed={seed!r:.60} is invalid: a {type(seed).__name__}; pass an "
                            f"integer seed, a numpy.random.Generator or None")
        from theorycheck.budget import array_bytes, check_memory
        check_memory(lambda n: array_bytes(5, n, n), "d", d, what="the matrix A", lo=2)
        A = random_quadratic_matrix(d, np.random.default_rng(seed), rank)
    else:
        A = validate_quadratic_matrix(A, normalise=normalise)
    return QuadraticFeatureTarget(A, _link(link), dist)


def single_index_target(d: int = 16, *, seed: np.random.Generator | int | None = 0, beta=None,
                        link=DEFAULT_LINK, dist: str = "sphere",
                        normalise: bool = False, rng=NOT_GIVEN) -> SingleIndexTarget:
    """Build f*(x) = g*(<beta, x>) with ||beta|| = 1 (docs/theory.md §2.2).

    Parameters
    ----------
    d : int
        Input dimension.
    seed : int, Generator or None
        Draws a random ``beta`` (None: fresh entropy).
    beta : array_like or None
        The direction (normalised); None draws one.
    link : sequence of float
        Coefficients of g*, lowest degree first.
    dist : str
        ``"sphere"`` or ``"gaussian"``.
    normalise : bool
        Rescale a given ``beta`` to unit norm (with a warning) instead of rejecting it.
    rng : int, Generator or None
        Deprecated name of ``seed`` (a DeprecationWarning).

    Returns
    -------
    SingleIndexTarget
    """
    if rng is not NOT_GIVEN:
        warn_renamed("single_index_target", "rng", "seed")
        seed = rng
    check_choice("dist", dist, DISTS)
    if beta is None:
        d = check_int("d", d, min_value=1)
        beta = np.random.default_rng(seed).standard_normal(d)
        beta /= np.linalg.norm(beta)
    else:
        beta = check_array("beta", beta, ndim=1)
        nb = float(np.linalg.norm(beta))
        if abs(nb - 1.0) > 1e-8:
            if not normalise or nb == 0:
                raise SpecError(f"beta has norm {nb:.6g}, not 1; pass beta / ||beta|| "
                                f"or set normalise=True")
            warnings.warn(f"beta was normalised (norm {nb:.6g})", stacklevel=2)
            beta = beta / nb
    return SingleIndexTarget(beta, _link(link), dist)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation; 0 when either side is constant (a frozen feature)."""
    a = a - a.mean()
    b = b - b.mean()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na <= 1e-12 * max(1.0, np.abs(a).max(initial=0)) * math.sqrt(a.size) or nb == 0:
        return 0.0
    return float(a @ b / (na * nb))

