"""The two-layer (degree-4) critical lemma: exact loss, feature error, and the study.

docs/theory.md §1.8.4 (second half). The degree-4 model is the BFC target with
L = 2 (docs/theory.md §1.3, skips J_2 = {0, 1}):

    S_2(x) = W sigma(x) + V x   in R^k,     G(x) = ||S_2(x)||^2   (degree 4),

with sigma(x) = x^2 - 1 coordinate-wise ([R] ``centred=True``, as in 1.6b;
``centred=False`` gives x^2). Writing phi(x) = [sigma(x); x] in R^{2d} and
M = [W, V] in R^{k x 2d}, G(x) = phi^T M^T M phi, so the loss against (W*, V*)
is the fourth moment

    loss = E[(phi^T Delta phi)^2],   Delta = M^T M - M*^T M*,

computed *exactly* from the fourth-moment tensor of phi (coordinates are
independent, and E[sigma(z)^s z^t] is a finite Gaussian moment sum). The
feature error up to rotation (docs/theory.md §1.6) is exact too:

    err^2 = min_U E||U S_2 - S*_2||^2 = min_U ||(U M - M*) Sigma^{1/2}||_F^2,

Sigma = E[phi phi^T], i.e. the rotation distance of the whitened weights
B = M Sigma^{1/2}. Why not G = ||V sigma(W x)||^2: there W is identifiable only
up to GL(k) (any invertible A in W -> A W is absorbed by V, by the lift
spanning of item 6), so no rotation distance can be controlled by the loss.

A bound follows from items 1 and 3: with L(D) = E[(phi~^T D phi~)^2] on
symmetric D (phi~ = Sigma^{-1/2} phi whitened) and lambda its smallest
eigenvalue, err^2 <= ||D_B||^2 / (2(sqrt2-1) sigma_k(B*)^2) <= loss /
(2(sqrt2-1) lambda sigma_k(B*)^2): the loss^{1/2} law, with a constant that
grows as sigma_k(B*) -> 0. :func:`study` measures which law the data supports.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.linalg
from scipy import stats
from scipy.special import comb

from theorycheck.errors import SpecError
from theorycheck.maths.gaussian import gaussian_moment
from theorycheck.maths.procrustes import PROCRUSTES_CONSTANT, rotation_distance
from theorycheck.validation import check_array, check_int, check_real


@lru_cache(maxsize=None)
def _unit_moment(s: int, t: int, c: int) -> float:
    """E[(z^2 - c)^s z^t] for z ~ N(0, 1)."""
    return float(sum(comb(s, j, exact=True) * (-c) ** (s - j) * gaussian_moment(2 * j + t)
                     for j in range(s + 1)))


@lru_cache(maxsize=16)
def phi_moments(d: int, centred: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(Sigma, M4): E[phi phi^T] (2d x 2d) and E[phi_a phi_b phi_c phi_e] ((2d)^4), exact."""
    d = check_int("d", d, min_value=1, max_value=10)
    c = 1 if centred else 0
    n = 2 * d
    coord = np.arange(n) % d
    is_sq = np.arange(n) < d

    def tensor(order: int) -> np.ndarray:
        idx = np.indices((n,) * order).reshape(order, -1)
        out = np.ones(idx.shape[1])
        for i in range(d):
            s = sum(((coord[idx[f]] == i) & is_sq[idx[f]]).astype(int) for f in range(order))
            t = sum(((coord[idx[f]] == i) & ~is_sq[idx[f]]).astype(int) for f in range(order))
            table = np.array([[_unit_moment(a, b, c) for b in range(order + 1)]
                              for a in range(order + 1)])
            out *= table[s, t]
        return out.reshape((n,) * order)

    sig, m4 = tensor(2), tensor(4)
    sig.setflags(write=False)
    m4.setflags(write=False)
    return sig, m4


def _split(M, d: int, k: int | None, name: str) -> np.ndarray:
    M = check_array(name, M, ndim=2)
    if M.shape[1] != 2 * d or (k is not None and M.shape[0] != k):
        raise SpecError(f"{name} has shape {M.shape}; expected ({k or 'k'}, {2 * d}) = [W, V]")
    return M


def stack(W, V) -> np.ndarray:
    """M = [W, V] from W (k x d, on sigma(x)) and V (k x d, on x)."""
    W = check_array("W", W, ndim=2)
    V = check_array("V", V, ndim=2)
    if W.shape != V.shape:
        raise SpecError(f"W has shape {W.shape} but V has shape {V.shape}; both must be (k, d)")
    return np.hstack([W, V])


def degree4_loss(M, M_star, centred: bool = True) -> float:
    """E[(G_M(x) - G_{M*}(x))^2] exactly, G_M = ||M phi(x)||^2."""
    M_star = check_array("M_star", M_star, ndim=2)
    d = M_star.shape[1] // 2
    M = _split(M, d, M_star.shape[0], "M")
    _, m4 = phi_moments(d, centred)
    D = M.T @ M - M_star.T @ M_star
    return float(np.einsum("ab,ce,abce->", D, D, m4))


def whiten(M, centred: bool = True) -> np.ndarray:
    """B = M Sigma^{1/2}, so that E||U S - S*||^2 = ||U B - B*||_F^2."""
    M = check_array("M", M, ndim=2)
    sig, _ = phi_moments(M.shape[1] // 2, centred)
    return M @ np.real(scipy.linalg.sqrtm(sig))


def feature_error(M, M_star, centred: bool = True) -> float:
    """min_U sqrt(E||U S_2(x) - S*_2(x)||^2), exact (docs/theory.md §1.6 with Procrustes)."""
    return rotation_distance(whiten(M, centred), whiten(M_star, centred))


@lru_cache(maxsize=16)
def loss_curvature(d: int, centred: bool = True) -> float:
    """lambda = min over symmetric D with ||D||_F = 1 of E[(phi~^T D phi~)^2], phi~ whitened."""
    sig, m4 = phi_moments(d, centred)
    n = 2 * d
    w = np.linalg.inv(np.real(scipy.linalg.sqrtm(sig)))
    m4w = np.einsum("ia,jb,kc,le,abce->ijkl", w, w, w, w, m4, optimize=True)
    iu = np.triu_indices(n)
    basis = []
    for a, b in zip(*iu):
        E = np.zeros((n, n))
        E[a, b] = E[b, a] = 1.0 if a == b else 1.0 / math.sqrt(2.0)
        basis.append(E)
    basis = np.array(basis)
    Q = np.einsum("pab,qce,abce->pq", basis, basis, m4w, optimize=True)
    return float(np.linalg.eigvalsh((Q + Q.T) / 2)[0])


def degree4_constant(d: int, centred: bool = True) -> float:
    """The proven constant C with err <= C * loss^{1/2} / sigma_k(B*) (items 1, 3 + curvature)."""
    return math.sqrt(PROCRUSTES_CONSTANT / loss_curvature(d, centred))


def draw_target(d: int, k: int, kappa: float, rng: np.random.Generator,
                centred: bool = True) -> np.ndarray:
    """M* = [W*, V*] whose whitened singular values are geometric on [1/kappa, kappa],
    rescaled so that E||S*_2||^2 = k (docs/theory.md §1.3 normalisation)."""
    d = check_int("d", d, min_value=1, max_value=10)
    k = check_int("k", k, min_value=1, max_value=2 * d)
    kappa = check_real("kappa", kappa, min_value=1.0)
    G = rng.standard_normal((k, 2 * d))
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    s = np.geomspace(kappa, 1.0 / kappa, k)
    B = (U * s) @ Vt
    B *= math.sqrt(k) / np.linalg.norm(B)
    sig, _ = phi_moments(d, centred)
    return B @ np.linalg.inv(np.real(scipy.linalg.sqrtm(sig)))


def perturb(M_star, eps: float, mix: float, rng: np.random.Generator,
            centred: bool = True) -> np.ndarray:
    """M with ||B - B*||_F = eps ||B*||_F: a random direction (mix = 0), or the adversarial
    one (mix = 1) that moves the weakest feature out of the row space of B*, or a blend."""
    eps = check_real("eps", eps, nonnegative=True)
    mix = check_real("mix", mix, min_value=0.0, max_value=1.0)
    M_star = check_array("M_star", M_star, ndim=2)
    B_star = whiten(M_star, centred)
    k, n = B_star.shape
    R = rng.standard_normal((k, n))
    R /= np.linalg.norm(R)
    U, _, Vt = np.linalg.svd(B_star)
    A = np.zeros((k, n))
    if n > k:
        A = np.outer(U[:, k - 1], Vt[k])  # weakest left singular vector -> orthogonal complement
    E = (1 - mix) * R + mix * A
    E *= eps * np.linalg.norm(B_star) / max(np.linalg.norm(E), 1e-300)
    sig, _ = phi_moments(n // 2, centred)
    return (B_star + E) @ np.linalg.inv(np.real(scipy.linalg.sqrtm(sig)))


@dataclass(frozen=True)
class StudyPoint:
    kappa: float
    d: int
    k: int
    eps: float
    mix: float
    loss: float
    err: float
    sigma_k: float


def study(kappas=(1.0, 2.0, 4.0, 8.0), eps=np.geomspace(1e-4, 1.0, 9), mixes=(0.0, 0.5, 1.0),
          dims=((3, 2), (4, 3)), seeds: int = 3, centred: bool = True, seed: int = 0) -> list[StudyPoint]:
    """Feature error and exact loss over instances near the target, per kappa."""
    out = []
    for kappa in kappas:
        for d, k in dims:
            for s in range(seeds):
                rng = np.random.default_rng([seed, s, d, k, int(1000 * kappa)])
                M_star = draw_target(d, k, kappa, rng, centred)
                sk = float(np.linalg.svd(whiten(M_star, centred), compute_uv=False)[k - 1])
                for e in eps:
                    for mix in mixes:
                        M = perturb(M_star, float(e), mix, rng, centred)
                        out.append(StudyPoint(kappa, d, k, float(e), mix,
                                              degree4_loss(M, M_star, centred),
                                              feature_error(M, M_star, centred), sk))
    return out


@dataclass(frozen=True)
class LawFit:
    kappa: float
    n: int
    exponent: float
    ci_low: float
    ci_high: float
    worst_half: float       # max err / loss^{1/2}
    worst_half_sk: float    # max err * sigma_k(B*) / loss^{1/2}
    worst_quarter: float    # max err / loss^{1/4}


def _ols_slope(x, y, axis=-1):
    """Least-squares slope of y on x along ``axis`` (vectorised for ``scipy.stats.bootstrap``);
    nan where x does not vary."""
    xc = x - x.mean(axis=axis, keepdims=True)
    yc = y - y.mean(axis=axis, keepdims=True)
    sxx = (xc * xc).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sxx > 0, (xc * yc).sum(axis=axis) / sxx, np.nan)


def fit_law(points, n_boot: int = 2000, seed: int = 0) -> LawFit:
    """OLS slope of log err on log loss (``scipy.stats.linregress``) with a 95% percentile
    bootstrap interval over the points (``scipy.stats.bootstrap``, pairs resampled), and the
    worst constants of the loss^{1/2} and loss^{1/4} laws (docs/theory.md §1.8.4, §4.3).

    Parameters
    ----------
    points : iterable
        Measured points with ``loss``, ``err``, ``sigma_k`` and ``kappa``; those with a zero
        loss or error are left out.
    n_boot : int
        Bootstrap resamples.
    seed : int
        Seed of the resampling: the same seed gives the same interval.

    Returns
    -------
    LawFit

    Raises
    ------
    SpecError
        Fewer than 3 usable points, or losses that do not vary.
    """
    pts = [p for p in points if p.loss > 0 and p.err > 0]
    if len(pts) < 3:
        raise SpecError(f"fit_law needs at least 3 points with loss > 0; got {len(pts)}")
    x = np.log([p.loss for p in pts])
    y = np.log([p.err for p in pts])
    if np.ptp(x) == 0:
        raise SpecError(f"fit_law needs points at different losses; all {len(pts)} have loss "
                        f"{pts[0].loss:g}")
    slope = float(stats.linregress(x, y).slope)
    with warnings.catch_warnings():   # a resample whose losses coincide has no slope (nan)
        warnings.simplefilter("ignore", RuntimeWarning)
        boot = stats.bootstrap((x, y), _ols_slope, paired=True, vectorized=True,
                               n_resamples=n_boot, batch=256, method="percentile",
                               confidence_level=0.95, random_state=np.random.default_rng(seed))
    lo, hi = boot.confidence_interval
    loss = np.array([p.loss for p in pts])
    err = np.array([p.err for p in pts])
    sk = np.array([p.sigma_k for p in pts])
    kap = sorted({p.kappa for p in pts})
    return LawFit(kap[0] if len(kap) == 1 else math.nan, len(pts), slope, float(lo), float(hi),
                  float(np.max(err / np.sqrt(loss))), float(np.max(err * sk / np.sqrt(loss))),
                  float(np.max(err / loss ** 0.25)))
