"""Kernels and kernel ridge regression with the penalty chosen on a validation split
(docs/theory.md §1.7; the baselines of §2.2 and §3.3).

Kernels (one convention each; callers with another parameterisation convert):

* ``poly``: (1 + <x, z>/d)^q, integer degree q (default 4);
* ``gaussian``: exp(-|x - z|^2 / (2 s^2)) with s^2 = ``bandwidth`` * d (default 1): the
  bandwidth is the squared length scale per input dimension;
* ``rf``: random ReLU features relu(<w, x> + c) / sqrt(m), w uniform on the unit sphere,
  c ~ N(0, 1), and K = Phi Phi^T. With the penalty scaled by the mean diagonal (the default
  of :mod:`theorycheck.maths.ridge`) the 1/sqrt(m) factor does not change the predictor;
* a kernel given by any feature map (:func:`feature_kernel`), K = Phi Phi^T: the papers
  build their own (the BFC learner's empirical NTK).

The Gram matrix is built in row blocks (temporaries of ``block`` rows) and the memory of a
fit is estimated first: a request beyond the budget raises one clear line
(:class:`theorycheck.errors.SpecError`) naming N and the largest N that fits, instead of
dying in the allocator. Every solve is a Cholesky factorisation
(:func:`theorycheck.maths.ridge.kernel_ridge_solve`; in float32 with float64 refinement for
large, well-conditioned systems), of the Gram or, for kernels with a small exact feature
map, of the features' Gram (:func:`fit_kernel_ridge`).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from theorycheck.errors import SpecError
from theorycheck.errors import NumericalError
from theorycheck.maths.ridge import (EIGH_MIN_PENALTIES, LAM_SCALES, MIXED_MIN_N, PATH_SOLVERS,
                                     CholeskyPath, SpectralPath, kernel_ridge_solve, split_indices)
from theorycheck.validation import check_array, check_choice, check_int, check_real

KERNELS = ("poly", "gaussian", "rf")
#: default penalty grid of :func:`fit_kernel_ridge` (relative to the mean Gram diagonal).
LAMBDAS = (1e-8, 1e-6, 1e-4, 1e-2)
#: ``lambdas=SPECTRAL``: the grid of :func:`spectral_lambdas`, down to the interpolation regime.
SPECTRAL = "spectral"
#: The largest penalty of the spectral grid (relative to the mean Gram diagonal).
SPECTRAL_TOP = 1e-1


def spectral_lambdas(largest: float, scale: float) -> tuple[float, ...]:
    """The penalties 10^-1, 10^-2, ... down to the rounding floor of a Gram matrix's spectrum.

    With the penalty n lam s of :mod:`theorycheck.maths.ridge` (s the mean diagonal), the
    floor is n lam s >= n eps w_max, i.e. lam >= eps w_max / s: an eigendecomposition (or Cholesky factorisation) of an
    n x n Gram matrix with largest eigenvalue w_max carries absolute errors of order
    n eps w_max, so directions below that level are rounding noise, and a smaller penalty
    only amplifies it. Above the floor, the grid reaches the interpolation regime: a
    predictor whose penalty is negligible against every eigenvalue the data resolve.

    Parameters
    ----------
    largest : float
        w_max, the largest eigenvalue of the training Gram matrix.
    scale : float
        s, the penalty scale (the mean diagonal, or 1 for ``lam_scale="none"``).

    Returns
    -------
    tuple of float
        Decreasing decades, at least one.

    Examples
    --------
    >>> spectral_lambdas(largest=100.0, scale=1.0)[-1]
    1e-13
    """
    floor = np.finfo(float).eps * max(largest, 0.0) / scale
    out, k = [], 1
    while 10.0 ** -k >= floor or not out:
        out.append(float(f"1e-{k}"))
        k += 1
    return tuple(out)


def poly_kernel(A: np.ndarray, B: np.ndarray, q: int) -> np.ndarray:
    """The polynomial kernel (1 + <a, b>/d)^q.

    Parameters
    ----------
    A : ndarray, shape (n, d)
    B : ndarray, shape (m, d)
    q : int
        Degree, at least 1 (powers by repeated squaring, in place).

    Returns
    -------
    ndarray, shape (n, m)

    Examples
    --------
    >>> poly_kernel(np.array([[1.0, 1.0]]), np.array([[1.0, -1.0], [2.0, 0.0]]), 2)
    array([[1., 4.]])
    """
    T = A @ B.T
    T *= 1.0 / A.shape[1]
    T += 1.0
    return _int_power(T, q)


def _int_power(T: np.ndarray, q: int) -> np.ndarray:
    """T**q for integer q >= 1 by repeated squaring, in place on T's buffer plus one copy."""
    if q == 1:
        return T
    base, out = T, None
    while q:
        if q & 1:
            out = base.copy() if out is None else np.multiply(out, base, out=out)
        q >>= 1
        if q:
            base = np.multiply(base, base, out=base)
    return out


def poly_feature_count(d: int, q: int) -> int:
    """Rank bound of the polynomial kernel of degree q on R^d: the C(d + q, q) monomials of
    degree <= q."""
    return math.comb(d + q, q)


def poly_features(X: np.ndarray, q: int) -> np.ndarray:
    """An exact feature map of the polynomial kernel: Phi(A) Phi(B)^T = (1 + <a, b>/d)^q.

    By the multinomial theorem (1 + u/d)^q = sum_k C(q, k) d^-k sum_{|alpha| = k}
    (k! / alpha!) a^alpha b^alpha, so the feature of the multi-index alpha (|alpha| <= q) is
    sqrt(C(q, k) k! / (alpha! d^k)) x^alpha: :func:`poly_feature_count` columns, degree by
    degree, each degree's monomials in lexicographic order.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    q : int
        Degree, at least 1.

    Returns
    -------
    ndarray, shape (n, C(d + q, q))

    Examples
    --------
    >>> A, B = np.array([[1.0, 2.0]]), np.array([[0.5, -1.0], [3.0, 1.0]])
    >>> bool(np.allclose(poly_features(A, 3) @ poly_features(B, 3).T, poly_kernel(A, B, 3)))
    True
    """
    n, d = X.shape
    cols, scales = [np.ones(n)], [1.0]
    prev = [((), np.ones(n))]  # monomials of the previous degree, as (indices, values)
    for k in range(1, q + 1):
        cur = []
        for idx, val in prev:
            for j in range(idx[-1] if idx else 0, d):
                cur.append((idx + (j,), val * X[:, j]))
        coef = math.comb(q, k) * math.factorial(k) / float(d) ** k
        for idx, val in cur:
            mult = math.prod(math.factorial(idx.count(j)) for j in set(idx))
            cols.append(val)
            scales.append(math.sqrt(coef / mult))
        prev = cur
    F = np.stack(cols, axis=1)
    F *= np.asarray(scales)
    return F


def gaussian_kernel(A: np.ndarray, B: np.ndarray, bandwidth: float) -> np.ndarray:
    """The Gaussian kernel exp(-|a - b|^2 / (2 s^2)) with s^2 = ``bandwidth`` * d.

    Parameters
    ----------
    A, B : ndarray, shapes (n, d) and (m, d)
    bandwidth : float
        s^2 / d. A length scale sigma per coordinate, exp(-|a - b|^2 / (2 sigma^2 d)),
        is ``bandwidth = sigma**2``.

    Returns
    -------
    ndarray, shape (n, m)

    Examples
    --------
    >>> gaussian_kernel(np.zeros((1, 2)), np.array([[2.0, 0.0]]), 1.0)
    array([[0.36787944]])
    """
    s2 = bandwidth * A.shape[1]
    D = np.einsum("ij,ij->i", A, A)[:, None] + np.einsum("ij,ij->i", B, B)[None, :] - 2.0 * A @ B.T
    return np.exp(-np.maximum(D, 0.0) / (2.0 * s2))


def relu_directions(d: int, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The random first layer of the ReLU features: W (m, d) with rows uniform on the unit
    sphere, then c ~ N(0, I_m), drawn in that order from ``rng``.

    Examples
    --------
    >>> W, c = relu_directions(3, 5, np.random.default_rng(0))
    >>> np.allclose(np.linalg.norm(W, axis=1), 1.0), c.shape
    (True, (5,))
    """
    W = rng.standard_normal((m, d))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    return W, rng.standard_normal(m)


def relu_random_features(d: int, m: int, rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    """The feature map x -> relu(W x + c) / sqrt(m) of :func:`relu_directions`.

    Parameters
    ----------
    d : int
        Input dimension.
    m : int
        Number of features.
    rng : numpy.random.Generator

    Returns
    -------
    callable
        Maps X (n, d) to features (n, m); <phi(x), phi(z)> is an average over the m units.

    Examples
    --------
    >>> phi = relu_random_features(3, 4, np.random.default_rng(0))
    >>> phi(np.ones((2, 3))).shape
    (2, 4)
    """
    W, c = relu_directions(d, m, rng)
    root_m = math.sqrt(m)
    return lambda X: np.maximum(X @ W.T + c, 0.0) / root_m


@dataclass(frozen=True)
class KernelSpec:
    """A kernel by name with its options (``q`` for poly, ``bandwidth`` for gaussian, ``m``
    for rf); kernels given by a feature map carry it in ``features``."""

    name: str
    q: int = 4
    bandwidth: float = 1.0
    m: int = 1024
    features: Callable | None = field(default=None, compare=False, repr=False)
    d: int | None = None      # the input dimension it was made for (None: any)

    def check_data(self, name: str, X: np.ndarray) -> None:
        """Refuse data whose dimension differs from the kernel's ``d``."""
        if self.d is not None and X.shape[1] != self.d:
            raise SpecError(f"{name} has d={X.shape[1]} columns but the {self.name} kernel was "
                            f"made for d={self.d}; make the kernel with make_kernel({self.name!r}, "
                            f"{X.shape[1]}) or pass data of dimension {self.d}")

    def block(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """K(A, B) on inputs (feature rows for a feature kernel)."""
        if self.features is not None:
            return A @ B.T
        if self.name == "poly":
            return poly_kernel(A, B, self.q)
        return gaussian_kernel(A, B, self.bandwidth)


def make_kernel(name: str, d: int, *, q: int = 4, bandwidth: float = 1.0, m: int = 1024,
                rng: np.random.Generator | None = None) -> KernelSpec:
    """A :class:`KernelSpec` of :data:`KERNELS`.

    Parameters
    ----------
    name : {"poly", "gaussian", "rf"}
    d : int
        Input dimension.
    q, bandwidth, m :
        Degree (poly), s^2 / d (gaussian), number of features (rf).
    rng : numpy.random.Generator, optional
        Draws the rf features (default: a generator seeded 0).

    Returns
    -------
    KernelSpec

    Examples
    --------
    >>> make_kernel("poly", 3, q=2).block(np.ones((1, 3)), np.ones((1, 3)))
    array([[4.]])
    """
    check_choice("kernel", name, KERNELS)
    d = check_int("d", d, min_value=1)
    if name == "poly":
        return KernelSpec(name, q=check_int("q", q, min_value=1), d=d)
    if name == "gaussian":
        return KernelSpec(name, bandwidth=check_real("bandwidth", bandwidth, positive=True), d=d)
    m = check_int("m", m, min_value=1)
    rng = np.random.default_rng(0) if rng is None else rng
    return KernelSpec(name, m=m, features=relu_random_features(d, m, rng), d=d)


def feature_kernel(name: str, features: Callable[[np.ndarray], np.ndarray]) -> KernelSpec:
    """The kernel K(x, z) = <features(x), features(z)> of a feature map.

    Examples
    --------
    >>> spec = feature_kernel("square", lambda X: X ** 2)
    >>> gram(spec, np.array([[1.0, 2.0]]))
    array([[17.]])
    """
    return KernelSpec(name, features=features)


def _rows(spec: KernelSpec, X: np.ndarray) -> np.ndarray:
    return spec.features(X) if spec.features is not None else X


def gram(spec: KernelSpec, A: np.ndarray, B: np.ndarray | None = None, *, block: int = 2048,
         out: np.ndarray | None = None) -> np.ndarray:
    """K(A, B) (or K(A, A)), built in row blocks of ``block`` rows.

    Parameters
    ----------
    spec : KernelSpec
    A : ndarray, shape (n, d)
    B : ndarray, shape (m, d), optional
    block : int
        Rows per block (bounds the temporaries).
    out : ndarray, shape (n, m), optional
        Written in place.

    Returns
    -------
    ndarray, shape (n, m)

    Examples
    --------
    >>> gram(make_kernel("poly", 1, q=1), np.array([[1.0], [2.0]]))
    array([[2., 3.],
           [3., 5.]])
    """
    FA = _rows(spec, A)
    FB = FA if B is None else _rows(spec, B)
    K = np.empty((FA.shape[0], FB.shape[0])) if out is None else out
    for i in range(0, FA.shape[0], block):
        K[i:i + block] = spec.block(FA[i:i + block], FB)
    return K


# ------------------------------------------------------------------ memory
def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo (falls back to total physical memory)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def gram_memory_bytes(n: int, val_frac: float = 0.2, *, spectral: bool = False) -> int:
    """Peak bytes of :func:`fit_kernel_ridge` at n samples: the training Gram and its
    factor (or eigenvectors) during validation (2 n_tr^2 doubles) or the full Gram factored
    in place (n^2; with its float32 factor, 1.5 n^2, from
    :data:`~theorycheck.maths.ridge.MIXED_MIN_N` rows on; ``spectral``: 2 n^2, the
    eigenvectors of the fallback below Cholesky's reach).

    Examples
    --------
    >>> gram_memory_bytes(100) == 8 * (2 * 80 * 80 + 80 * 20)
    True
    """
    n_tr = n - max(1, int(round(val_frac * n)))
    refit = n * n * (2.0 if spectral else 1.5 if n >= MIXED_MIN_N else 1.0)
    return int(8 * max(2 * n_tr * n_tr + n_tr * (n - n_tr), refit))


def check_memory(n: int, budget_bytes: int | None = None, val_frac: float = 0.2,
                 name: str = "N") -> None:
    """Raise one clear line when the Gram matrices of n samples do not fit the budget
    (default: the memory budget of :mod:`theorycheck.budget`, half of the available memory
    unless ``--memory-budget`` / ``THEORYCHECK_MEMORY_BUDGET`` says otherwise).

    Raises
    ------
    BudgetError
        A :class:`SpecError` naming ``name`` = n, the need, the budget and the largest n
        that fits.
    """
    from theorycheck.budget import BUDGET_FIX, largest, memory_budget
    from theorycheck.errors import BudgetError

    if budget_bytes is None:
        budget, source = memory_budget()
        hint = f", {BUDGET_FIX}"
    else:
        budget, source, hint = int(budget_bytes), "given", " or a machine with more memory"
    need = gram_memory_bytes(n, val_frac)
    if need > budget:
        n_max = largest(lambda m: gram_memory_bytes(m, val_frac) <= budget, 2, n) or 1
        raise BudgetError(f"{name}={n} needs {need / 2**30:.1f} GiB for the Gram matrices but the "
                          f"budget is {budget / 2**30:.1f} GiB ({source}); use {name} <= "
                          f"{n_max}{hint}")


# ------------------------------------------------------------------ kernel ridge
def mean_squared_error(pred: np.ndarray, y: np.ndarray) -> float:
    """mean (pred - y)^2, the default validation loss of :func:`fit_kernel_ridge`."""
    return float(np.mean((pred - y) ** 2))


@dataclass
class KernelFit:
    """A fitted kernel ridge predictor x -> K(x, X) @ alpha (call it, or :meth:`predict`).

    A fit solved in feature space (``weights`` set, ``alpha`` None) predicts
    x -> features(x) @ weights, the same predictor (:func:`fit_kernel_ridge`).

    Parameters
    ----------
    spec : KernelSpec
        The kernel chosen.
    X : ndarray, shape (N, d)
        The training inputs.
    alpha : ndarray or None
        Dual coefficients, (N,) or (N, outputs); None for a fit in feature space.
    lam : float
        The ridge penalty chosen.
    val_losses : tuple
        Validation loss of every (kernel, penalty) candidate.
    seconds : float
        Time of the fit.
    weights : ndarray or None
        Primal weights of a fit in feature space.
    features : callable or None
        The exact feature map of that fit.
    """

    spec: KernelSpec
    X: np.ndarray
    alpha: np.ndarray | None
    lam: float
    val_losses: tuple
    seconds: float = 0.0
    weights: np.ndarray | None = None
    features: Callable | None = field(default=None, repr=False)

    def predict(self, Xt: np.ndarray, block: int = 2048) -> np.ndarray:
        Xt = check_array("X", Xt, shape=(None, self.X.shape[1]), ndim=2)
        coef = self.alpha if self.weights is None else self.weights
        out = np.empty((Xt.shape[0],) + coef.shape[1:])
        for i in range(0, Xt.shape[0], block):
            if self.weights is None:
                out[i:i + block] = gram(self.spec, Xt[i:i + block], self.X) @ self.alpha
            else:
                out[i:i + block] = self.features(Xt[i:i + block]) @ self.weights
        return out

    def __call__(self, Xt: np.ndarray, block: int = 2048) -> np.ndarray:
        return self.predict(Xt, block)


def explicit_features(spec: KernelSpec, d: int) -> tuple[Callable, int] | None:
    """An exact finite feature map of the kernel and its width, or None (gaussian).

    Feature kernels (``rf``, a :func:`feature_kernel`) are their features; the polynomial
    kernel has :func:`poly_features`, C(d + q, q) wide.
    """
    if spec.features is not None:
        return spec.features, -1  # the width is known once computed
    if spec.name == "poly":
        return (lambda A: poly_features(A, spec.q)), poly_feature_count(d, spec.q)
    return None


#: Solve in feature space when that costs at most this fraction of the dual's flops (so that
#: near the break-even the dual, with its bit-for-bit history, is kept).
PRIMAL_MARGIN = 0.5


def primal_is_cheaper(n_train: int, n: int, width: int, n_lambdas: int) -> bool:
    """Whether feature-space ridge beats the dual for ``n_lambdas`` penalties.

    Dual: one Cholesky of the n_train Gram per penalty and one of the n Gram,
    (n_lambdas n_train^3 + n^3) / 3 flops. Primal with ``width`` features: the Gram of the
    features, n_train width^2 + n width^2, and width^3 / 3 per factorisation.
    ``n_lambdas = 0``: no validation, only the fit on all n rows.

    Examples
    --------
    >>> primal_is_cheaper(6554, 8192, 3060, 4), primal_is_cheaper(3277, 4096, 3060, 4)
    (True, False)
    """
    dual = (n_lambdas * n_train ** 3 + n ** 3) / 3.0
    primal = ((n_train if n_lambdas else 0) + n) * width ** 2 + (n_lambdas + 1) * width ** 3 / 3.0
    return primal <= PRIMAL_MARGIN * dual


def _kernel_diag(spec: KernelSpec, X: np.ndarray, F: np.ndarray | None = None) -> np.ndarray:
    """diag K(X, X) without the Gram: row norms of the features, (1 + |x|^2/d)^q, or 1."""
    if F is not None and spec.features is not None:
        return np.einsum("ij,ij->i", F, F)
    if spec.name == "poly":
        return (1.0 + np.einsum("ij,ij->i", X, X) / X.shape[1]) ** spec.q
    return np.ones(X.shape[0])


def _primal_solve(G: np.ndarray, rhs: np.ndarray, mu: float, lam: float) -> np.ndarray:
    from theorycheck.maths.ridge import _cond_bound, _solve_spd
    M = G.copy()
    M[np.diag_indices_from(M)] += mu
    return _solve_spd(M, rhs, lam, _cond_bound(float(np.trace(G)), mu))


def fit_kernel_ridge(spec: KernelSpec | Sequence[KernelSpec], X, Y, rng: np.random.Generator, *,
                     lambdas: Sequence[float] = LAMBDAS, val_frac: float = 0.2,
                     loss: Callable[[np.ndarray, np.ndarray], float] = mean_squared_error,
                     lam_scale: str = "mean_diag", memory_budget: int | None = None,
                     block: int = 2048, pool: "GramPool | None" = None,
                     path_solver: str = "eigh") -> KernelFit:
    """Kernel ridge regression with the penalty (and kernel) chosen on a validation split.

    Every (kernel, penalty) candidate is fitted on the training rows of one split (one
    Cholesky factorisation each) and scored by ``loss`` on the held-out rows; the first
    candidate with the least loss is refitted on all rows (its Gram factored in place).
    With a single candidate nothing is held out and ``rng`` is not used.

    A kernel with an exact finite feature map of width p (the polynomial kernel,
    C(d + q, q) monomials; random features) is solved in feature space when that is
    cheaper (:func:`primal_is_cheaper`): (Phi^T Phi + n lam s I) w = Phi^T Y, the same
    predictor as the dual's K(x, X) (K + n lam s I)^-1 Y (docs/theory.md §4.4), with the
    Gram of the features computed once for every penalty and p^3 / 3 flops per penalty
    instead of n^3 / 3. The two agree to rounding amplified by the system's condition
    number (tests/test_kernels.py checks 1e-6 relative on the predictions).

    Parameters
    ----------
    spec : KernelSpec or sequence of KernelSpec
        The kernel, or candidate kernels (e.g. a bandwidth grid).
    X : ndarray, shape (n, d)
    Y : ndarray, shape (n,) or (n, k)
    rng : numpy.random.Generator
        Draws the split (:func:`theorycheck.maths.ridge.split_indices`).
    lambdas : sequence of float or "spectral"
        Candidate penalties, positive (scaled as ``lam_scale`` says); from
        :data:`~theorycheck.maths.ridge.EIGH_MIN_PENALTIES` of them on, one eigendecomposition
        of the training Gram serves them all. ``"spectral"`` (:data:`SPECTRAL`): the decades
        of :func:`spectral_lambdas`, from 1e-1 down to the training Gram's rounding floor, one
        eigendecomposition per kernel; the refit falls back to the eigendecomposition where a
        Cholesky factorisation of the chosen penalty breaks down (docs/kernels.md, "L = 3 to
        the cliff").
    val_frac : float
        Fraction held out.
    loss : callable
        loss(prediction, Y) on the held-out rows; mean squared error by default.
    lam_scale : {"mean_diag", "none"}
        Scale of the penalty (:mod:`theorycheck.maths.ridge`).
    memory_budget : int, optional
        Bytes the Gram matrices may take (:func:`check_memory`).
    block : int
        Rows per Gram block.
    pool : GramPool, optional
        Gram matrices and features of a larger sample whose first n rows are ``X``
        (:class:`GramPool`): blocks are read from it instead of recomputed, so a learning
        curve over nested sample sizes computes them once.
    path_solver : {"eigh", "cholesky"}
        How a path of penalties (the spectral grid, or a grid of at least
        :data:`~theorycheck.maths.ridge.EIGH_MIN_PENALTIES`) is solved: one eigendecomposition
        (:class:`~theorycheck.maths.ridge.SpectralPath`) or one Cholesky factorisation per
        penalty (:class:`~theorycheck.maths.ridge.CholeskyPath`, the grid's floor from the
        Lanczos top eigenvalue), the same penalties and solutions to rounding and cheaper
        for a dozen penalties at n in the thousands (docs/kernels.md, "The d = 8 cliff").

    Returns
    -------
    KernelFit
        With the chosen kernel, penalty, the validation losses (kernel-major, then penalty)
        and the wall time.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((80, 2))
    >>> fit = fit_kernel_ridge(make_kernel("poly", 2, q=2), X, X[:, 0] * X[:, 1], rng)
    >>> bool(abs(fit(np.array([[1.0, 2.0]]))[0] - 2.0) < 1e-3)
    True
    """
    t0 = time.perf_counter()
    if isinstance(spec, KernelSpec):
        specs = [spec]
    elif isinstance(spec, (list, tuple)) and spec and all(isinstance(s, KernelSpec) for s in spec):
        specs = list(spec)
    else:
        raise SpecError(f"spec={spec!r:.60} is invalid: a {type(spec).__name__}; pass a KernelSpec "
                        f"(make_kernel(name, d)) or a non-empty list of them")
    X = check_array("X", X, ndim=2)
    for s in specs:
        s.check_data("X", X)
    Y = check_array("Y", Y, shape=(X.shape[0],) + ((None,) if np.ndim(Y) == 2 else ()))
    spectral = lambdas == SPECTRAL
    if not spectral and (isinstance(lambdas, (str, bytes)) or not hasattr(lambdas, "__iter__")):
        raise SpecError(f"lambdas={lambdas!r:.60} is invalid; pass a list of positive penalties "
                        f"or {SPECTRAL!r}")
    lambdas = [SPECTRAL_TOP] if spectral else [check_real("ridge", lam, positive=True)
                                                for lam in lambdas]
    check_choice("lam_scale", lam_scale, LAM_SCALES)
    check_choice("path_solver", path_solver, PATH_SOLVERS)
    if not lambdas:
        raise SpecError("lambdas=[] is invalid: empty; pass at least one positive penalty")
    val_frac = check_real("val_frac", val_frac, positive=True, max_value=0.9)
    block = check_int("block", block, min_value=1)
    if len(specs) * len(lambdas) > 1 and not isinstance(rng, np.random.Generator):
        raise SpecError(f"rng={rng!r:.60} is invalid: a {type(rng).__name__}; pass a "
                        f"numpy.random.Generator, e.g. numpy.random.default_rng(0)")
    n, d = X.shape
    candidates = [(s, lam) for s in specs for lam in lambdas]
    n_tr = n - max(1, int(round(val_frac * n)))
    validate = spectral or len(candidates) > 1
    n_val_fits = (EIGH_MIN_PENALTIES if spectral else len(lambdas)) if validate else 0
    plans = {id(s): _plan(s, d, n_tr, n, n_val_fits) for s in specs}
    if any(p is None for p in plans.values()):
        check_memory(n, memory_budget, val_frac)
    if pool is not None:
        pool.check_rows(X)
    every = slice(0, n)

    def K(s, rows, cols=None):
        if pool is not None:
            return pool.gram(s, rows, cols)
        return gram(s, X[rows], None if cols is None else X[cols], block=block)

    def F(s, feats, rows):
        return pool.features(s, feats, rows) if pool is not None else feats(X[rows])

    if validate:
        tr, va = split_indices(n, val_frac, rng)
        losses, candidates = [], []
        for s in specs:
            if plans[id(s)] is None:
                Ktr = K(s, tr)
                Kva = K(s, va, tr)
                scale = _penalty_scale(np.diag(Ktr), lam_scale)
                path, lams = _path(Ktr, Y[tr], scale, lambdas, spectral, path_solver)
                for lam in lams:
                    a = (path.solve(len(tr) * lam * scale) if path is not None else
                         kernel_ridge_solve(Ktr, Y[tr], lam, lam_scale=lam_scale))
                    losses.append(loss(Kva @ a, Y[va]))
                candidates += [(s, lam) for lam in lams]
                del Ktr, Kva, path
                continue
            feats = plans[id(s)]
            Ftr, Fva = F(s, feats, tr), F(s, feats, va)
            G, rhs = Ftr.T @ Ftr, Ftr.T @ Y[tr]
            scale = _penalty_scale(_kernel_diag(s, X[tr], Ftr), lam_scale)
            path, lams = _path(G, rhs, scale, lambdas, spectral, path_solver)
            losses += [loss(Fva @ (path.solve(len(tr) * lam * scale) if path is not None else
                                   _primal_solve(G, rhs, len(tr) * lam * scale, lam)), Y[va])
                       for lam in lams]
            candidates += [(s, lam) for lam in lams]
            del Ftr, Fva, G, path
        losses = tuple(losses)
        chosen, lam = candidates[int(np.argmin(losses))]
    else:
        (chosen, lam), losses = candidates[0], ()
    feats = plans[id(chosen)]
    if feats is None:
        try:
            alpha = kernel_ridge_solve(K(chosen, every), Y, lam, lam_scale=lam_scale, overwrite=True)
        except NumericalError:  # below Cholesky's reach: the eigendecomposition solves any lam > 0
            Kn = K(chosen, every)
            mu = n * lam * _penalty_scale(np.diag(Kn), lam_scale)
            alpha = SpectralPath(Kn, Y, overwrite=True).solve(mu)
        return KernelFit(chosen, X, alpha, float(lam), losses, time.perf_counter() - t0)
    Fn = F(chosen, feats, every)
    scale = _penalty_scale(_kernel_diag(chosen, X, Fn), lam_scale)
    G = Fn.T @ Fn
    try:
        w = _primal_solve(G, Fn.T @ Y, n * lam * scale, lam)
    except NumericalError:
        w = SpectralPath(G, Fn.T @ Y, overwrite=True).solve(n * lam * scale)
    return KernelFit(chosen, X, None, float(lam), losses, time.perf_counter() - t0,
                     weights=w, features=feats)


def _path(G: np.ndarray, rhs: np.ndarray, scale: float, lambdas, spectral: bool,
          solver: str = "eigh"):
    """(path or None, penalties): for the spectral grid or a grid of at least
    :data:`EIGH_MIN_PENALTIES` penalties, one eigendecomposition (``solver="eigh"``) or a
    :class:`CholeskyPath`; else None (a Cholesky per penalty). G is the training Gram or the
    features' Gram (the same nonzero spectrum)."""
    if not spectral and len(lambdas) < EIGH_MIN_PENALTIES:
        return None, list(lambdas)
    path = (SpectralPath if solver == "eigh" else CholeskyPath)(G, rhs, overwrite=True)
    if not spectral:
        return path, list(lambdas)
    return path, list(spectral_lambdas(path.largest, scale))


def _penalty_scale(diag: np.ndarray, lam_scale: str) -> float:
    """The scale s of the penalty n lam s (:mod:`theorycheck.maths.ridge`)."""
    return 1.0 if lam_scale == "none" else (float(np.mean(diag)) or 1.0)


def _plan(spec: KernelSpec, d: int, n_train: int, n: int, n_lambdas: int) -> Callable | None:
    """The feature map to solve in feature space with, or None for the dual."""
    ex = explicit_features(spec, d)
    if ex is None:
        return None
    feats, width = ex
    if width < 0:
        width = feats(np.zeros((1, d))).shape[1]
    return feats if primal_is_cheaper(n_train, n, width, n_lambdas) else None


class GramPool:
    """Gram matrices and feature rows of one sample ``X`` (and a test sample ``Xt``), each
    computed once per kernel and then sliced, for fits on the leading rows of ``X``.

    A learning curve fits the first n rows of one fixed sample for several n: with a pool,
    :func:`fit_kernel_ridge` reads its training, validation and refit blocks out of
    K(X, X) (or the features of X) instead of recomputing them per n, and
    :meth:`predict` reads K(Xt, X[:n]) out of K(Xt, X). Entries agree with direct
    computation to rounding (the same formula; BLAS may block the products differently).
    Kernels given by a feature map of their own (``rf``, ``ntk``) are pooled through their
    features; the memory is that of the full Gram (n^2 and n_test n doubles).

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((30, 2))
    >>> pool, spec = GramPool(X), make_kernel("gaussian", 2)
    >>> bool(np.allclose(pool.gram(spec, slice(0, 10)), gram(spec, X[:10])))
    True
    """

    def __init__(self, X: np.ndarray, Xt: np.ndarray | None = None, *, block: int = 2048):
        self.X = check_array("X", X, ndim=2)
        self.Xt = None if Xt is None else check_array("Xt", Xt, shape=(None, X.shape[1]), ndim=2)
        self.block = check_int("block", block, min_value=1)
        self._K, self._Kt, self._F, self._Ft = {}, {}, {}, {}

    @staticmethod
    def _key(spec: KernelSpec):
        return (spec.name, spec.q, spec.bandwidth, spec.m, id(spec.features))

    def check_rows(self, X: np.ndarray) -> None:
        """Refuse a sample that is not the pool's first rows."""
        n = X.shape[0]
        if n > self.X.shape[0] or not np.array_equal(X, self.X[:n]):
            raise SpecError(f"X ({n} rows) is not the first rows of the pool's sample "
                            f"({self.X.shape[0]} rows); build the GramPool from the largest sample "
                            f"and fit on its leading rows")

    def full(self, spec: KernelSpec) -> np.ndarray:
        """K(X, X) of the whole pool."""
        key = self._key(spec)
        if key not in self._K:
            self._K[key] = gram(spec, self.X, block=self.block)
        return self._K[key]

    def gram(self, spec: KernelSpec, rows, cols=None) -> np.ndarray:
        """K(X[rows], X[cols]) (cols None: the same as rows), a fresh C-ordered array."""
        K = self.full(spec)
        if isinstance(rows, slice) and (cols is None or isinstance(cols, slice)):
            return np.ascontiguousarray(K[rows, rows if cols is None else cols])
        rows = np.asarray(rows)
        cols = rows if cols is None else np.asarray(cols)
        return K[np.ix_(rows, cols)]

    def features(self, spec: KernelSpec, feats: Callable, rows) -> np.ndarray:
        """feats(X[rows]), with feats(X) computed once per kernel."""
        key = self._key(spec)
        if key not in self._F:
            self._F[key] = feats(self.X)
        return self._F[key][rows]

    def predict(self, fit: KernelFit) -> np.ndarray:
        """fit(Xt) for a fit made on the pool's first rows (``pool=self``)."""
        if self.Xt is None:
            raise SpecError("this GramPool has no test sample; build it with GramPool(X, Xt)")
        n, key = fit.X.shape[0], self._key(fit.spec)
        if fit.weights is not None:
            if key not in self._Ft:
                self._Ft[key] = fit.features(self.Xt)
            return self._Ft[key] @ fit.weights
        if key not in self._Kt:
            self._Kt[key] = gram(fit.spec, self.Xt, self.X, block=self.block)
        return self._Kt[key][:, :n] @ fit.alpha
