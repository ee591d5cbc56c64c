"""Ridge and kernel ridge regression solved by Cholesky (scipy.linalg.cho_factor /
cho_solve), never by an explicit inverse, with the penalty chosen on a validation split.

Systems of :data:`MIXED_MIN_N` rows or more whose condition number is provably moderate
(penalty not too small against the trace) are factored in float32 and refined with float64
residuals to a float64 backward error (:func:`solve_spd_mixed`, LAPACK's ``dsposv``
scheme), two to three times faster than the float64 factorisation; anything else, or a
refinement that does not converge, takes the float64 Cholesky solve. A shared
eigendecomposition for all penalties of a validation grid was measured and rejected: for
n in the thousands ``eigh`` costs 7 to 12 Cholesky factorisations, more than the 4 to 6
penalties of every grid here (docs/performance.md).

The one solver of the package: the three-layer learner's output layer and its two-layer
baselines (docs/theory.md §2.2), the kernel methods of the BFC paper (§1.7) and the
label-hierarchy paper's residual blocks and kernel baseline (§3.2, §3.3).

Convention: the penalty is scaled by the sample count n, i.e. ridge minimises
(1/n) ||Phi a - y||^2 + lam s ||a||^2 and kernel ridge solves (K + n lam s I) alpha = y,
where the scale s is set by ``lam_scale``:

* ``"mean_diag"`` (default): s is the mean diagonal of Phi^T Phi / n (of K for kernel ridge),
  so one grid of penalties fits features and kernels of any magnitude; rescaling the
  features (or the kernel) leaves the fitted predictor unchanged;
* ``"none"``: s = 1, the penalty is absolute (the label-hierarchy paper's ``lam``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from theorycheck.errors import NumericalError, SpecError
from theorycheck.validation import check_choice, check_real

#: default penalty grid of :func:`select_ridge` (relative to the mean diagonal).
DEFAULT_LAMBDAS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
LAM_SCALES = ("mean_diag", "none")


#: From this order on, a multi-threaded OpenBLAS factors with one thread: scipy's bundled
#: OpenBLAS (0.3.30, 2 threads) was measured to segfault in cho_factor at n = 16,000 on a
#: row-major matrix (docs/kernels.md "A kernel solve that cannot crash").
ONE_THREAD_N = 16_000


def _safe_blas(n: int):
    """A context that limits BLAS to one thread for n >= ONE_THREAD_N when an OpenBLAS with
    several threads is loaded (threadpoolctl); a no-op otherwise."""
    import contextlib
    if n < ONE_THREAD_N:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a core dependency
        return contextlib.nullcontext()
    if any(i.get("internal_api") == "openblas" and i.get("num_threads", 1) > 1 for i in threadpool_info()):
        return threadpool_limits(1, user_api="blas")
    return contextlib.nullcontext()


#: Systems at least this large may be solved in mixed precision (:func:`solve_spd_mixed`);
#: smaller ones, cheap anyway, keep the plain float64 Cholesky.
MIXED_MIN_N = 2048
#: Mixed precision is tried only when the condition number bound times float32's unit
#: roundoff is below this (each refinement step then gains about a decimal digit).
MIXED_MAX_CONTRACTION = 0.1
#: Refinement steps before giving up on mixed precision (LAPACK dsposv's ITERMAX).
MIXED_MAX_ITER = 30
_U32 = 2.0 ** -24
_U64 = 2.0 ** -53


def solve_spd_mixed(A: np.ndarray, rhs: np.ndarray, shift: float = 0.0) -> np.ndarray | None:
    """Solve (A + shift I) x = rhs, A + shift I symmetric positive definite, by a float32
    Cholesky factorisation and iterative refinement with float64 residuals; None when that
    does not converge.

    LAPACK's ``dsposv`` algorithm: factor in float32 (two to three times the speed of float64
    at n in the thousands), solve, then repeat x += M32^-1 (rhs - (A + shift I) x) with the
    residual in float64 until every column's backward error is at the float64 level,
    ||r||_inf <= sqrt(n) eps ||A + shift I||_inf ||x||_inf, as for a float64 Cholesky solve.
    The result agrees with the float64 solve to rounding amplified by the condition number.
    ``A`` is read, not modified, and not copied in float64.

    Parameters
    ----------
    A : ndarray, shape (n, n)
    rhs : ndarray, shape (n,) or (n, k)
    shift : float
        Added to the diagonal (the ridge penalty n lam s).

    Returns
    -------
    ndarray or None
        x; None when the float32 factorisation fails or the refinement has not converged
        after :data:`MIXED_MAX_ITER` steps (the caller then solves in float64).

    Examples
    --------
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> x = solve_spd_mixed(A, np.array([1.0, 2.0]), shift=0.5)
    >>> bool(np.allclose(x, np.linalg.solve(A + 0.5 * np.eye(2), [1.0, 2.0])))
    True
    """
    from scipy.linalg import lapack
    n = A.shape[0]
    L = A.astype(np.float32)
    L[np.diag_indices(n)] += np.float32(shift)
    if L.flags.c_contiguous and not L.flags.f_contiguous:
        L = L.T  # the same symmetric buffer, column-major: factored in place, not copied
    with _safe_blas(n):
        L, info = lapack.spotrf(L, lower=1, overwrite_a=1, clean=0)
    if info != 0:
        return None

    def solve32(b):
        x, info_ = lapack.spotrs(L, b.astype(np.float32), lower=1)
        return None if info_ != 0 else x.astype(np.float64)

    b = rhs.reshape(n, -1)
    x = solve32(b)
    if x is None:
        return None
    # ||A||_inf = ||A^T||_1; A^T is column-major when A is row-major, so LAPACK reads A's
    # buffer instead of a column-major copy of it (n^2 doubles)
    norm = float(lapack.dlange("1", A.T) if A.flags.c_contiguous else lapack.dlange("I", A)) + abs(shift)
    cte = norm * _U64 * np.sqrt(n)
    for _ in range(MIXED_MAX_ITER + 1):
        r = b - A @ x
        if shift:
            r -= shift * x
        if np.all(np.max(np.abs(r), axis=0) <= np.max(np.abs(x), axis=0) * cte):
            return x.reshape(rhs.shape)
        dx = solve32(r)
        if dx is None or not np.all(np.isfinite(dx)):
            return None
        x += dx
    return None


def _mixed_ok(n: int, cond_bound: float | None) -> bool:
    return (cond_bound is not None and n >= MIXED_MIN_N
            and cond_bound * _U32 <= MIXED_MAX_CONTRACTION)


def _solve_spd(M: np.ndarray, rhs: np.ndarray, lam: float, cond_bound: float | None = None) -> np.ndarray:
    """Solve M x = rhs for symmetric positive definite M, factoring M in place.

    ``cond_bound`` (an upper bound on M's condition number) allows mixed precision
    (:func:`solve_spd_mixed`) for systems of at least :data:`MIXED_MIN_N` rows when
    ``cond_bound`` times float32's roundoff is below :data:`MIXED_MAX_CONTRACTION`;
    otherwise, or when it fails, the float64 Cholesky solve.
    """
    if _mixed_ok(M.shape[0], cond_bound):
        x = solve_spd_mixed(M, rhs)
        if x is not None:
            return x
    return _cholesky_solve(M, rhs, lam)


def _cholesky_solve(M: np.ndarray, rhs: np.ndarray, lam: float) -> np.ndarray:
    """The float64 Cholesky solve of M x = rhs, M factored in place.

    LAPACK wants column-major storage: a row-major M would be copied (n^2 more doubles), so a
    C-ordered M is passed as M.T, the same buffer read column-major (equal to M, symmetric)."""
    if M.ndim == 2 and M.flags.c_contiguous and not M.flags.f_contiguous:
        M = M.T
    try:
        with _safe_blas(M.shape[0]):
            factor = cho_factor(M, lower=True, overwrite_a=True, check_finite=False)
    except LinAlgError:
        raise NumericalError(f"the ridge system is not positive definite at lam={lam:g}; use a "
                             f"larger penalty (lambdas) or check the features for NaN/inf") from None
    return cho_solve(factor, rhs, check_finite=False)


def _cond_bound(trace: float, mu: float) -> float | None:
    """(trace + mu) / mu, a bound on the condition number of G + mu I for G positive
    semidefinite with that trace (its largest eigenvalue is at most the trace)."""
    if not (mu > 0 and np.isfinite(trace)):
        return None
    return (max(trace, 0.0) + mu) / mu


def _scale(mean_diag: float, lam_scale: str) -> float:
    if check_choice("lam_scale", lam_scale, LAM_SCALES) == "none":
        return 1.0
    return mean_diag or 1.0


def ridge_solve(Phi: np.ndarray, Y: np.ndarray, lam: float, *, lam_scale: str = "mean_diag") -> np.ndarray:
    """Ridge regression coefficients by the normal equations.

    Primal (Phi^T Phi + n lam s I) a = Phi^T Y when p <= n, dual
    a = Phi^T (Phi Phi^T + n lam s I)^{-1} Y otherwise (the same minimiser).

    Parameters
    ----------
    Phi : ndarray, shape (n, p)
        Features, one row per sample.
    Y : ndarray, shape (n,) or (n, k)
        Targets; several columns are fitted at once.
    lam : float
        Penalty, positive.
    lam_scale : {"mean_diag", "none"}
        Scale s of the penalty (module docstring).

    Returns
    -------
    ndarray, shape (p,) or (p, k)
        argmin_a (1/n) ||Phi a - Y||^2 + lam s ||a||^2.

    Examples
    --------
    >>> Phi = np.eye(4)
    >>> ridge_solve(Phi, np.ones(4), 0.25, lam_scale="none")
    array([0.5, 0.5, 0.5, 0.5])
    """
    lam = check_real("lam", lam, positive=True)
    n, p = Phi.shape
    trace = float(np.einsum("ij,ij->", Phi, Phi))
    s = _scale(trace / (n * p), lam_scale)
    if p <= n:
        G = Phi.T @ Phi
        G[np.diag_indices_from(G)] += n * lam * s
        return _solve_spd(G, Phi.T @ Y, lam, _cond_bound(trace, n * lam * s))
    K = Phi @ Phi.T
    K[np.diag_indices_from(K)] += n * lam * s
    return Phi.T @ _solve_spd(K, Y, lam, _cond_bound(trace, n * lam * s))


def kernel_ridge_solve(K: np.ndarray, Y: np.ndarray, lam: float, *, lam_scale: str = "mean_diag",
                       overwrite: bool = False) -> np.ndarray:
    """Dual coefficients alpha = (K + n lam s I)^{-1} Y, by Cholesky.

    Parameters
    ----------
    K : ndarray, shape (n, n)
        Gram matrix of the training inputs.
    Y : ndarray, shape (n,) or (n, k)
        Targets.
    lam : float
        Penalty, positive.
    lam_scale : {"mean_diag", "none"}
        Scale s of the penalty (module docstring).
    overwrite : bool
        Factor ``K`` in place (saves one n x n copy; ``K`` is destroyed).

    Returns
    -------
    ndarray, shape (n,) or (n, k)
        The predictor is x -> k(x, X) @ alpha.

    Examples
    --------
    >>> kernel_ridge_solve(np.eye(2), np.array([1.0, 2.0]), 0.5, lam_scale="none")
    array([0.5, 1. ])
    """
    lam = check_real("lam", lam, positive=True)
    n = K.shape[0]
    mean_diag = float(np.mean(np.diag(K)))
    s = _scale(mean_diag, lam_scale)
    mu = n * lam * s
    if _mixed_ok(n, _cond_bound(n * mean_diag, mu)):
        x = solve_spd_mixed(K, Y, shift=mu)  # K itself, shifted on the fly: no float64 copy
        if x is not None:
            return x
    M = K if overwrite else K.copy()
    M[np.diag_indices(n)] += mu
    return _cholesky_solve(M, Y, lam)


#: From this many penalties on, one eigendecomposition for the whole path is cheaper than a
#: Cholesky factorisation per penalty (``eigh`` was measured at 7 to 12 factorisations for n
#: in the thousands, docs/performance.md).
EIGH_MIN_PENALTIES = 10


class SpectralPath:
    """(G + mu I)^-1 rhs for any number of shifts mu > 0 from one eigendecomposition of the
    symmetric positive semidefinite G (docs/theory.md §4.4): G = V diag(w) V^T once
    (n^3 work, 2 n^2 doubles), then V diag(1 / (w + mu)) V^T rhs per shift (2 n^2 k work).
    Eigenvalues below 0 (rounding of a singular G) are set to 0, so every mu > 0 is solvable,
    also where a Cholesky factorisation of G + mu I would break down.

    Parameters
    ----------
    G : ndarray, shape (n, n)
        Destroyed when ``overwrite``.
    rhs : ndarray, shape (n,) or (n, k)

    Examples
    --------
    >>> G = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> path = SpectralPath(G, np.array([1.0, 0.0]))
    >>> bool(np.allclose(path.solve(0.5), np.linalg.solve(G + 0.5 * np.eye(2), [1.0, 0.0])))
    True
    """

    def __init__(self, G: np.ndarray, rhs: np.ndarray, *, overwrite: bool = False):
        from scipy.linalg import eigh
        if overwrite and G.flags.c_contiguous and not G.flags.f_contiguous:
            G = G.T  # the same symmetric buffer, column-major: LAPACK works in it, no copy
        with _safe_blas(G.shape[0]):
            w, self.V = eigh(G, overwrite_a=overwrite, check_finite=False, driver="evr")
        self.w = np.maximum(w, 0.0)
        self.c = self.V.T @ rhs

    @property
    def largest(self) -> float:
        """The largest eigenvalue of G."""
        return float(self.w[-1])

    def solve(self, mu: float) -> np.ndarray:
        """(G + mu I)^-1 rhs."""
        scale = 1.0 / (self.w + mu)
        return self.V @ (self.c * (scale if self.c.ndim == 1 else scale[:, None]))


#: How a ridge path solves its shifts: ``"eigh"`` (:class:`SpectralPath`, one
#: eigendecomposition) or ``"cholesky"`` (:class:`CholeskyPath`, one factorisation per shift).
PATH_SOLVERS = ("eigh", "cholesky")


class CholeskyPath:
    """(G + mu I)^-1 rhs for shifts mu > 0 from one Cholesky factorisation per shift, with the
    interface of :class:`SpectralPath` (``largest``, ``solve``); the same solutions to
    rounding (docs/theory.md §4.4).

    For n in the thousands an eigendecomposition costs 14 or more Cholesky factorisations
    (its reduction to tridiagonal form is bound by memory traffic, docs/kernels.md), so a
    path of about a dozen shifts is cheaper this way. Shifts whose condition bound
    (trace + mu) / mu allows it are factored in float32 and refined in float64
    (:func:`solve_spd_mixed`); the others in float64. The first shift whose float64
    factorisation breaks down (below Cholesky's reach: G + mu I is singular to working
    precision) switches the path to one :class:`SpectralPath` for it and every later shift.
    ``largest`` is the top eigenvalue by Lanczos iteration (``scipy.sparse.linalg.eigsh``,
    started from the all-ones vector, so deterministic), n^2 work per step.

    Parameters
    ----------
    G : ndarray, shape (n, n)
        Symmetric positive semidefinite; read, not modified, until a fallback with
        ``overwrite`` destroys it.
    rhs : ndarray, shape (n,) or (n, k)
    overwrite : bool
        Let the fallback's eigendecomposition work in ``G``.

    Examples
    --------
    >>> G = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> path = CholeskyPath(G, np.array([1.0, 0.0]))
    >>> bool(np.allclose(path.solve(0.5), SpectralPath(G, np.array([1.0, 0.0])).solve(0.5)))
    True
    >>> round(path.largest, 12)
    3.0
    """

    def __init__(self, G: np.ndarray, rhs: np.ndarray, *, overwrite: bool = False):
        self.G, self.rhs, self.overwrite = G, rhs, overwrite
        self.trace = float(np.trace(G))
        self.fallback: SpectralPath | None = None
        self._largest: float | None = None

    @property
    def largest(self) -> float:
        """The largest eigenvalue of G."""
        if self._largest is None:
            if self.fallback is not None:
                self._largest = self.fallback.largest
            elif self.G.shape[0] <= 200:
                self._largest = float(np.linalg.eigvalsh(self.G)[-1])
            else:
                from scipy.sparse.linalg import eigsh
                v0 = np.ones(self.G.shape[0])
                self._largest = float(eigsh(self.G, k=1, which="LA", v0=v0, tol=0,
                                            return_eigenvectors=False)[0])
        return self._largest

    def solve(self, mu: float) -> np.ndarray:
        """(G + mu I)^-1 rhs."""
        if self.fallback is not None:
            return self.fallback.solve(mu)
        n = self.G.shape[0]
        if _mixed_ok(n, _cond_bound(self.trace, mu)):
            x = solve_spd_mixed(self.G, self.rhs, shift=mu)
            if x is not None:
                return x
        M = self.G.copy()
        M[np.diag_indices(n)] += mu
        try:
            return _cholesky_solve(M, self.rhs, mu)
        except NumericalError:
            del M
            self.largest  # noqa: B018 - kept from G before the fallback may destroy it
            self.fallback = SpectralPath(self.G, self.rhs, overwrite=self.overwrite)
            return self.fallback.solve(mu)


@dataclass(frozen=True)
class RidgeChoice:
    """The penalty chosen on the validation split and the validation loss of each candidate."""

    lam: float
    val_losses: tuple


def split_indices(n: int, val_frac: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) row indices: a random permutation of n rows, the first
    round(val_frac n) of which are held out."""
    val_frac = check_real("val_frac", val_frac, min_value=0.05, max_value=0.5)
    n_val = max(1, int(round(val_frac * n)))
    if n - n_val < 2:
        raise SpecError(f"n={n} samples is too few to hold out a validation split; use n >= 4")
    perm = rng.permutation(n)
    return perm[n_val:], perm[:n_val]


def select_ridge(Phi: np.ndarray, y: np.ndarray, rng: np.random.Generator, *,
                 lambdas: Sequence[float] = DEFAULT_LAMBDAS, val_frac: float = 0.2,
                 lam_scale: str = "mean_diag") -> tuple[np.ndarray, RidgeChoice]:
    """Ridge with the penalty chosen on a held-out split, refitted on all rows.

    Parameters
    ----------
    Phi : ndarray, shape (n, p)
    y : ndarray, shape (n,) or (n, k)
    rng : numpy.random.Generator
        Draws the split.
    lambdas : sequence of float
        Candidate penalties; the first with the least validation MSE wins.
    val_frac : float
        Fraction held out (0.05 to 0.5).
    lam_scale : {"mean_diag", "none"}

    Returns
    -------
    (ndarray, RidgeChoice)
        The coefficients on all rows and the choice.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 3))
    >>> a, choice = select_ridge(X, X @ [1.0, -2.0, 0.5], rng, lambdas=(1e-6, 1.0))
    >>> choice.lam
    1e-06
    """
    tr, va = split_indices(len(y), val_frac, rng)
    path = RidgePath(Phi[tr], y[tr], lam_scale=lam_scale)
    losses = [float(np.mean((Phi[va] @ path.solve(lam) - y[va]) ** 2)) for lam in lambdas]
    lam = float(lambdas[int(np.argmin(losses))])
    return ridge_solve(Phi, y, lam, lam_scale=lam_scale), RidgeChoice(lam, tuple(losses))


class RidgePath:
    """:func:`ridge_solve` for many penalties on the same data: the Gram matrix (Phi^T Phi,
    or Phi Phi^T when p > n), the right-hand side and the penalty scale are computed once,
    then each penalty costs one Cholesky factorisation of a copy. Each solution is the one
    :func:`ridge_solve` returns, bit for bit (the same operations in the same order).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Phi, y = rng.standard_normal((30, 5)), rng.standard_normal(30)
    >>> path = RidgePath(Phi, y)
    >>> all(np.array_equal(path.solve(lam), ridge_solve(Phi, y, lam)) for lam in (1e-3, 1.0))
    True
    """

    def __init__(self, Phi: np.ndarray, Y: np.ndarray, *, lam_scale: str = "mean_diag"):
        n, p = Phi.shape
        self.Phi, self.Y, self.n, self.primal = Phi, Y, n, p <= n
        self.trace = float(np.einsum("ij,ij->", Phi, Phi))
        self.s = _scale(self.trace / (n * p), lam_scale)
        self.G = Phi.T @ Phi if self.primal else Phi @ Phi.T
        self.rhs = Phi.T @ Y if self.primal else Y

    def solve(self, lam: float) -> np.ndarray:
        lam = check_real("lam", lam, positive=True)
        M = self.G.copy()
        mu = self.n * lam * self.s
        M[np.diag_indices_from(M)] += mu
        out = _solve_spd(M, self.rhs, lam, _cond_bound(self.trace, mu))
        return out if self.primal else self.Phi.T @ out
