"""The span lemma of docs/theory.md §1.7 [M], measured.

V_q: homogeneous degree-q Hermite polynomials in d variables under N(0, I_d), with the
orthonormal basis h_alpha = He_alpha / sqrt(alpha!) (|alpha| = q), dimension
D_q = C(d + q - 1, q). A kernel predictor trained on x_1..x_N lies in
H = span{K(x_i, .)}, chosen without labels. For f_q in V_q,
min_{h in H} ||f_q - h||^2 >= ||f_q - Pi_U f_q||^2 with U = P_q H (the projection of H onto
V_q, dim U <= dim H <= N), and for f_q a uniformly random direction of norm r,
E ||f_q - Pi_U f_q||^2 = r^2 (1 - dim U / D_q) >= r^2 (1 - N / D_q).

:func:`degree_q_sections` gives the V_q coefficients of P_q K(x_i, .) exactly (up to
Gauss-Hermite quadrature in one variable):

* dot-product kernels (``poly``): y -> kappa(<x, y>/d) is a ridge function of
  s = <x^, y> ~ N(0, 1), so P_q K(x, .) = g_q(|x|) He_q(<x^, .>)/sqrt(q!) whose basis
  coefficients are g_q sqrt(q!/alpha!) x^^alpha;
* ``gaussian``: exp(-|x - y|^2/(2 s^2)) factorises over coordinates, so its coefficients
  are products of one-variable coefficients;
* ``rf``: a predictor is a combination of the m features relu(<w_j, .> + c_j), ridge
  functions of <w_j, .> (|w_j| = 1), so H has dimension <= m and the rows are the features'
  sections.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.polynomial.hermite_e import hermegauss, hermeval

from theorycheck.errors import SpecError
from theorycheck.maths.kernel_methods import relu_directions
from theorycheck.validation import check_choice, check_int, check_real

SPAN_KERNELS = ("poly", "gaussian", "rf")
_NODES, _WEIGHTS = hermegauss(120)
_WEIGHTS = _WEIGHTS / math.sqrt(2.0 * math.pi)


def dim_q(d: int, q: int) -> int:
    """D_q = C(d + q - 1, q), the dimension of V_q (docs/theory.md §1.7).

    Parameters
    ----------
    d, q : int
        Dimension and degree.

    Returns
    -------
    int
    """
    d = check_int("d", d, min_value=1)
    q = check_int("q", q, min_value=0)
    return math.comb(d + q - 1, q)


def multi_indices(d: int, q: int) -> np.ndarray:
    """All alpha in N^d with |alpha| = q, shape (D_q, d)."""
    rows = []
    for combo in itertools.combinations_with_replacement(range(d), q):
        a = np.zeros(d, dtype=np.int64)
        for i in combo:
            a[i] += 1
        rows.append(a)
    return np.array(rows, dtype=np.int64).reshape(-1, d)


def _hermite_coef(g, n: int, *args) -> np.ndarray:
    """E_s[g(s, *args) He_n(s)] / sqrt(n!) for s ~ N(0, 1), by Gauss-HermiteE quadrature."""
    c = np.zeros(n + 1)
    c[n] = 1.0
    he = hermeval(_NODES, c) / math.sqrt(math.factorial(n))
    return np.tensordot(g(_NODES, *args), _WEIGHTS * he, axes=([-1], [0]))


def _ridge_rows(U: np.ndarray, gq: np.ndarray, alphas: np.ndarray, q: int) -> np.ndarray:
    """Rows g_q[i] sqrt(q!/alpha!) u_i^alpha for unit vectors u_i."""
    fact = np.array([math.sqrt(math.factorial(q) / np.prod([math.factorial(int(a)) for a in al]))
                     for al in alphas])
    mono = np.prod(U[:, None, :] ** alphas[None, :, :], axis=2)
    return gq[:, None] * fact[None, :] * mono


def degree_q_sections(kernel: str, X: np.ndarray, q: int, *, degree: int = 4, bandwidth: float = 1.0,
                      m: int = 64, rng: np.random.Generator | None = None) -> np.ndarray:
    """Coefficients in the basis h_alpha of the degree-q components of the functions that span
    the kernel's predictor space: shape (dim H, D_q).

    Parameters
    ----------
    kernel : str
        ``"poly"``, ``"gaussian"`` or ``"rf"`` (docs/theory.md §1.7.2).
    X : ndarray, shape (N, d)
        The training inputs.
    q : int
        The degree.
    degree : int
        Degree of the polynomial kernel.
    bandwidth : float
        Gaussian kernel bandwidth, in units of d.
    m : int
        Random ReLU features of ``"rf"``.
    rng : Generator or None
        Source of the random features.
    """
    check_choice("kernel", kernel, SPAN_KERNELS)
    N, d = X.shape
    alphas = multi_indices(d, q)
    if kernel == "poly":
        r = np.linalg.norm(X, axis=1)
        gq = _hermite_coef(lambda s, a: (1.0 + a[:, None] * s[None, :]) ** degree, q, r / d)
        return _ridge_rows(X / r[:, None], gq, alphas, q)
    if kernel == "gaussian":
        s2 = check_real("bandwidth", bandwidth, positive=True) * d
        # one-variable coefficients c_n(a) = E[exp(-(a - z)^2/(2 s2)) h_n(z)], n = 0..q
        c = np.stack([_hermite_coef(lambda z, a: np.exp(-(a[..., None] - z) ** 2 / (2 * s2)), n, X)
                      for n in range(q + 1)], axis=-1)          # (N, d, q+1)
        return np.prod(np.take_along_axis(c[:, None, :, :], alphas[None, :, :, None], axis=3)[..., 0],
                       axis=2)
    rng = np.random.default_rng(0) if rng is None else rng
    m = check_int("m", m, min_value=1)
    W, c = relu_directions(d, m, rng)
    gq = _hermite_coef(lambda s, b: np.maximum(s[None, :] + b[:, None], 0.0), q, c)
    return _ridge_rows(W, gq, alphas, q)


@dataclass(frozen=True)
class SpanResult:
    d: int
    q: int
    N: int
    dim_H: int
    D_q: int
    rank_U: int
    r2: float
    exact: float           # E ||f - Pi_U f||^2 over random directions, = r^2 (1 - rank/D_q)
    mc_mean: float         # Monte Carlo over ``directions`` random directions
    mc_stderr: float
    bound: float           # r^2 (1 - dim_H / D_q)


def span_memory_bytes(kernel: str, d: int, q: int, N: int, *, m: int = 64,
                      directions: int = 2000) -> float:
    """Peak bytes of :func:`span_experiment`: the monomials of the sections (rows x D_q x d),
    the sections and their SVD (rows x D_q, twice), the quadrature table (rows x 120) and the
    random directions; rows = N (poly, gaussian) or m (rf)."""
    from theorycheck.budget import array_bytes

    D = math.comb(d + q - 1, q)
    rows = m if kernel == "rf" else N
    return (array_bytes(2, rows, D, d) + array_bytes(4, rows, min(rows, D) + D)
            + array_bytes(3, rows, 120) + array_bytes(N, d) + array_bytes(2, directions, D))


def span_experiment(kernel: str, d: int, q: int, N: int, rng: np.random.Generator, *, r: float = 1.0,
                    directions: int = 2000, names: dict | None = None, **options) -> SpanResult:
    """Residual of random degree-q directions of norm r against the kernel's predictor space
    built on N Gaussian inputs (docs/theory.md §1.7 span lemma).

    The reported ``bound`` is r^2 max(0, 1 - dim H / D_q): when dim H >= D_q the lemma says
    nothing and the bound is 0 (never negative); residuals are clipped at 0 (a squared norm).
    ``names`` spells the sizes in messages (the CLI passes ``{"N": "--N", ...}``).

    Parameters
    ----------
    kernel : str
        ``"poly"``, ``"gaussian"`` or ``"rf"``.
    d, q, N : int
        Dimension, degree and number of training inputs.
    rng : Generator
        Source of the inputs and directions.
    r : float
        Norm of the random directions.
    directions : int
        Random directions averaged.
    names : dict or None
        Spellings of the sizes in messages.
    **options
        ``degree``, ``bandwidth``, ``m`` as for :func:`degree_q_sections`.

    Returns
    -------
    SpanResult

    Raises
    ------
    SpecError
        A bad argument, or D_q > 5000 (the exact basis is too large).
    BudgetError
        The sections do not fit the memory budget (:mod:`theorycheck.budget`).
    """
    names = {"d": "d", "q": "q", "N": "N", **(names or {})}
    kernel = check_choice("kernel", kernel, SPAN_KERNELS)
    d = check_int(names["d"], d, min_value=1)
    q = check_int(names["q"], q, min_value=1)
    N = check_int(names["N"], N, min_value=1)
    if not isinstance(rng, np.random.Generator):
        raise SpecError(f"rng={rng!r:.60} is invalid: a {type(rng).__name__}; pass a "
                        f"numpy.random.Generator, e.g. numpy.random.default_rng(0)")
    r = check_real("r", r, positive=True)
    directions = check_int("directions", directions, min_value=2)
    log_d = math.lgamma(d + q) - math.lgamma(q + 1) - math.lgamma(d)  # log C(d+q-1, q)
    if log_d > math.log(5000) + 1:  # refused without computing a huge binomial exactly
        raise SpecError(f"D_q = C(d+q-1, q) ~ 10^{log_d / math.log(10):.0f} at d={d}, q={q} is "
                        f"too large for the exact basis; use d, q with C(d+q-1, q) <= 5000")
    D = dim_q(d, q)
    if D > 5000:
        raise SpecError(f"D_q={D} at d={d}, q={q} is too large for the exact basis; use d, q with "
                        f"C(d+q-1, q) <= 5000")
    from theorycheck.budget import check_memory
    m = check_int("m", options.get("m", 64), min_value=1)
    check_memory(lambda n: span_memory_bytes(kernel, d, q, n, m=m, directions=directions),
                 names["N"], N, what=f"the degree-{q} sections of the {kernel} kernel")
    X = rng.standard_normal((N, d))
    C = degree_q_sections(kernel, X, q, rng=rng, **options)
    dim_H = C.shape[0]
    s = np.linalg.svd(C, compute_uv=False) if C.size else np.zeros(0)
    tol = (s[0] if s.size else 0.0) * max(C.shape) * np.finfo(float).eps
    rank = int(np.sum(s > tol))
    _, _, Vt = np.linalg.svd(C, full_matrices=False)
    Q = Vt[:rank].T                                             # (D, rank) orthonormal basis of U
    F = rng.standard_normal((directions, D))
    F *= r / np.linalg.norm(F, axis=1, keepdims=True)
    res = np.maximum(r * r - np.sum((F @ Q) ** 2, axis=1), 0.0)
    return SpanResult(d, q, N, dim_H, D, rank, r * r, r * r * (1.0 - rank / D), float(res.mean()),
                      float(res.std(ddof=1) / math.sqrt(directions)),
                      r * r * max(0.0, 1.0 - dim_H / D))


def target_energy_by_degree(target, *, exact_max_d: int = 4, n: int = 40000,
                            rng: np.random.Generator | None = None) -> tuple[np.ndarray, str]:
    """Energy of the degree-q Hermite component of the BFC target G*, q = 0..2^L, with the
    method used: exact (sympy, :func:`theorycheck.papers.bfc.symbolic.energy_by_degree_table`) for
    d <= ``exact_max_d``, Monte Carlo (:func:`theorycheck.papers.bfc.symbolic.mc_energy_table`) beyond.
    Together with :func:`dim_q` this is what the span lemma needs: a kernel must spend of
    order D_q samples on every degree q whose energy it has to capture.

    Parameters
    ----------
    target : BFCTarget
        The target.
    exact_max_d : int
        Largest d computed exactly.
    n : int
        Monte Carlo samples beyond.
    rng : Generator or None
        Source of the samples.

    Returns
    -------
    (ndarray, str)
        The energies and ``"exact"`` or ``"mc"``.
    """
    from theorycheck.papers.bfc.symbolic import energy_by_degree_table, mc_energy_table, symbolic_target
    if target.spec.d <= exact_max_d:
        table = energy_by_degree_table(symbolic_target(target))
        return np.array([float(e) for e in table.total]), "exact"
    table = mc_energy_table(target, n, np.random.default_rng(0) if rng is None else rng)
    return np.array([float(e) for e in table.total]), "mc"


# ------------------------------------------------------------------ the bound for every kernel
@dataclass(frozen=True)
class KernelBound:
    """The span-lemma lower bound of every kernel predictor on the BFC target's energy profile
    (docs/theory.md §1.7.4), as a function of the sample size N.

    Attributes
    ----------
    d, L : int
        Input dimension and depth of G*.
    energies : ndarray, shape (2^L + 1,)
        energy_q(G*) / top, q = 0..2^L (``top`` the top-term energy alpha_L^2 Var Sum G*_L,
        the normaliser of the trainer's relative loss, docs/theory.md §1.6.1). Degrees above
        ``max_degree`` are zero.
    stderr : ndarray
        Standard errors of ``energies`` (zeros when exact).
    dims : ndarray of int
        D_q = C(d + q - 1, q).
    method : str
        ``"exact"`` (sympy) or ``"mc"`` (Mehler Monte Carlo estimator, docs/theory.md §4.4).
    top : float
        alpha_L^2 Var(Sum G*_L), unnormalised.
    shared : bool
        False: the per-degree bound sum_q e_q max(0, 1 - N/D_q); True: the sharper bound in
        which the N dimensions of H are shared between the degrees (a fractional knapsack).
    """

    d: int
    L: int
    energies: np.ndarray
    stderr: np.ndarray
    dims: np.ndarray
    method: str
    top: float
    shared: bool = False

    def _weights(self, N: float) -> np.ndarray:
        """Per degree, the fraction 1 - t_q/D_q of its energy that no N-dimensional H removes."""
        D = self.dims.astype(np.float64)
        if not self.shared:
            return np.maximum(0.0, 1.0 - N / D)
        t = np.zeros_like(D)
        left = float(N)
        for q in np.argsort(-(self.energies / D), kind="stable"):
            if left <= 0 or self.energies[q] <= 0:
                break
            t[q] = min(D[q], left)
            left -= t[q]
        return 1.0 - t / D

    def __call__(self, N: float) -> float:
        """The least expected relative error of any kernel predictor built on N inputs."""
        N = check_real("N", N, nonnegative=True)
        return float(np.dot(self.energies, self._weights(N)))

    def error_bar(self, N: float) -> float:
        """One standard error of :meth:`__call__` (sum of the per-degree standard errors: valid
        whatever the correlation of the Monte Carlo estimates; 0 when exact)."""
        return float(np.dot(self.stderr, self._weights(check_real("N", N, nonnegative=True))))

    @property
    def total(self) -> float:
        """The bound at N = 0: the whole energy of G* relative to the top term."""
        return float(self.energies.sum())

    def n_required(self, eps: float) -> float:
        """Least N (real) at which the bound drops to ``eps``: every kernel needs at least this
        many samples to reach expected relative error ``eps``; 0 if it starts below."""
        eps = check_real("eps", eps, positive=True)
        if self(0.0) <= eps:
            return 0.0
        lo, hi = 0.0, float(self.dims.max())
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if self(mid) <= eps else (mid, hi)
        return hi


@functools.lru_cache(maxsize=64)
def _energy_profile(d: int, L: int, k_target: int, delta: float, seed: int, connections: str,
                    exact_max_d: int, n_mc: int):
    from theorycheck.papers.bfc.symbolic import energy_by_degree_table, mc_energy_table, symbolic_target
    from theorycheck.papers.bfc.target import build_target, target_spec
    target = build_target(target_spec(d, L, k_target=k_target, connections=connections, delta=delta, seed=seed))
    if d <= exact_max_d:
        table = energy_by_degree_table(symbolic_target(target))
        se = np.zeros(2 ** L + 1)
    else:
        table = mc_energy_table(target, n_mc, np.random.default_rng([seed, d, L, 0xB0]))
        se = np.array([float(s) for s in table.stderr])
    E = np.array([float(e) for e in table.total])
    top = float(sum(float(e) for e in table.by_layer[L][1:]))
    return E, se, top, table.method


def every_kernel_bound(d: int, L: int, *, k_target: int = 2, delta: float = 0.25, seed: int = 0,
                       connections: str = "chain", shared: bool = False, max_degree: int | None = None,
                       exact_max_d: int = 8, n_mc: int = 200_000) -> KernelBound:
    """The lower bound N -> sum_q e_q max(0, 1 - N/D_q) on the expected relative error of ANY
    kernel predictor built on N inputs, for targets with the energy profile of G*
    (docs/theory.md §1.7.4).

    Parameters
    ----------
    d, L, k_target, delta, seed, connections
        The target G* (docs/theory.md §1.3), drawn as the trainer draws it
        (``train_config(d=d, L=L, k_target=k_target, delta=delta, target_seed=seed)``).
    shared : bool
        Use the sharper shared-dimension bound (needs the degree components uncorrelated,
        docs/theory.md §1.7.4); default the per-degree bound.
    max_degree : int, optional
        Drop the energies of degrees above it (a deliberately broken bound used by a mutant).
    exact_max_d : int
        Exact energies (sympy, docs/theory.md §1.3.5) for d up to this; the Mehler Monte Carlo
        estimator with ``n_mc`` samples (and error bars) beyond.

    Returns
    -------
    KernelBound
        Callable on N; ``error_bar(N)``, ``n_required(eps)``, ``total``.

    Notes
    -----
    The randomness over which the bound holds is stated in docs/theory.md §1.7.4: each degree-q
    component of the target is a uniformly random direction (of fixed energy e_q) in V_q,
    independent of the inputs; the bound is on the expectation over it. It does not say that the
    fixed polynomial G* is hard for every kernel.
    """
    d = check_int("d", d, min_value=1)
    L = check_int("L", L, min_value=2, max_value=8)
    E, se, top, method = _energy_profile(d, L, check_int("k_target", k_target, min_value=1),
                                         float(check_real("delta", delta, positive=True)),
                                         check_int("seed", seed, min_value=0), connections,
                                         check_int("exact_max_d", exact_max_d, min_value=0),
                                         check_int("n_mc", n_mc, min_value=100))
    E, se = E / top, se / top
    if max_degree is not None:
        keep = np.arange(E.size) <= check_int("max_degree", max_degree, min_value=0)
        E, se = np.where(keep, E, 0.0), np.where(keep, se, 0.0)
    dims = np.array([dim_q(d, q) for q in range(E.size)], dtype=np.int64)
    return KernelBound(d, L, E, se, dims, method, top, bool(shared))


def bound_exponent(ds, L: int, eps: float, **options) -> tuple[float, tuple[float, ...]]:
    """Slope e of log N_required(d) on log d, N_required the bound's :meth:`KernelBound.n_required`
    at ``eps`` (docs/theory.md §1.7.4); returns (e, N_required per d). e = 0 when the bound starts
    below ``eps`` at every d (no sample is needed anywhere)."""
    ds = [check_int("d", d, min_value=2) for d in ds]
    if len(set(ds)) < 2:
        raise SpecError(f"ds={ds!r} is invalid: fit the exponent on at least two dimensions")
    n = [every_kernel_bound(d, L, **options).n_required(eps) for d in ds]
    if max(n) <= 0:
        return 0.0, tuple(n)           # below eps without a sample at every d: nothing grows
    if min(n) <= 0:
        raise SpecError(f"the bound is already below eps={eps} at some d (N_required={n}); lower eps")
    from theorycheck.maths.exponents import fit_exponent
    return fit_exponent(ds, n), tuple(n)
