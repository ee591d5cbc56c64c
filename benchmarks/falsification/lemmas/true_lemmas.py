"""TRUE but numerically delicate lemmas: each has equality cases a search will approach
(orthogonal rows, commuting pairs, diagonal matrices, Hadamard vertices), or an
ill-conditioned corner where the computed sides carry large rounding, so a careless
tolerance (or a search that pushes into rounding noise) reports a false alarm.

Written like ``false_lemmas``: ``lhs <= rhs`` with the float slack inside ``rhs`` and
``rtol = atol = 0``; every slack is a rounding bound for the computation it covers, stated
next to it. Homogeneous statements are evaluated on the instance scaled to unit max-entry,
because hypothesis draws entries like 1e-300 whose squares underflow.
"""

from __future__ import annotations

import numpy as np

from theorycheck import lemma

import corpus_strategies as cs

EPS = np.finfo(np.float64).eps


def _norm2(A) -> float:
    return float(np.linalg.norm(A, 2)) if A.size else 0.0


def _unit(A):
    s = float(np.abs(A).max()) if A.size else 0.0
    return A / s if s > 0 else A


def _flush(A, rel: float = 1e-150):
    """A with the entries below ``rel`` times its largest set to 0. The rounding bounds of the
    eigensolvers assume no underflow; entries of 1e-160 next to entries of 1 make subnormal
    squares in LAPACK's tridiagonal reduction, and eigvalsh then returned -0.74999995 for
    -0.75 (a search found that matrix). Flushing them keeps the instance a member of the
    statement's domain, at a distance far below every slack."""
    s = float(np.abs(A).max()) if A.size else 0.0
    return np.where(np.abs(A) < rel * s, 0.0, A) if s > 0 else A


def _sym_fn(A, f):
    lam, V = np.linalg.eigh((A + A.T) / 2.0)
    return (V * f(lam)) @ V.T


@lemma(id="falsify.true.hadamard_inequality", instances=cs.square(-10.0, 10.0, n=(1, 6)))
def hadamard_inequality(A):
    """|det A| <= prod_i ||a_i|| (rows). Equality for orthogonal rows, which diagonal and
    permutation-like draws give exactly. Rows are scaled to unit max-entry first (both sides
    scale alike); LU's relative error on det is ~ n eps times the growth factor <= 2^(n-1)."""
    n = len(A)
    s = np.abs(A).max(axis=1)
    if np.any(s == 0):
        return 0.0, 0.0
    A = A / s[:, None]
    bound = np.prod(np.linalg.norm(A, axis=1))
    return abs(np.linalg.det(A)), bound * (1 + 8 * n * 2.0 ** n * EPS)


@lemma(id="falsify.true.hadamard_det_box", instances=cs.square(-1.0, 1.0, n=(1, 6)))
def hadamard_det_box(A):
    """|det A| <= n^(n/2) for A in [-1, 1]^(n x n); equality exactly at Hadamard matrices
    (n = 1, 2, 4), which are vertices of the box."""
    n = len(A)
    return abs(np.linalg.det(A)), n ** (n / 2.0) * (1 + 8 * n * 2.0 ** n * EPS)


@lemma(id="falsify.true.boettcher_wenzel", instances=cs.square_pair(-10.0, 10.0, -10.0, 10.0, n=(1, 5)))
def boettcher_wenzel(inst):
    """||AB - BA||_F <= sqrt(2) ||A||_F ||B||_F, sharp at embedded 2 x 2 pairs (A = E12,
    B = E21 gives equality exactly). Evaluated on A, B scaled to unit max-entry."""
    A, B = (_unit(M) for M in inst)
    n = len(A)
    lhs = np.linalg.norm(A @ B - B @ A)
    return lhs, np.sqrt(2) * np.linalg.norm(A) * np.linalg.norm(B) * (1 + 4 * n * EPS) + 4 * n * n * EPS


@lemma(id="falsify.true.golden_thompson", instances=cs.square_pair(-2.0, 2.0, -2.0, 2.0, n=(1, 4)))
def golden_thompson(inst):
    """tr exp(A + B) <= tr(exp(A) exp(B)) for symmetric A, B (symmetrised draws). Equality
    when A and B commute (diagonal, scalar or equal draws). Both sides are positive and each
    exponential is accurate to ~ n eps relative to its largest entry."""
    A, B = (_flush((M + M.T) / 2.0) for M in inst)
    n = len(A)
    lhs = np.trace(_sym_fn(A + B, np.exp))
    rhs = np.trace(_sym_fn(A, np.exp) @ _sym_fn(B, np.exp))
    return lhs, rhs + 64 * n * EPS * (abs(lhs) + abs(rhs))


@lemma(id="falsify.true.weyl_upper", instances=cs.square_pair(-10.0, 10.0, -10.0, 10.0, n=(1, 5)))
def weyl_upper(inst):
    """lambda_i(A + B) <= lambda_i(A) + lambda_max(B) for every i, symmetric A, B. Equality
    for B = c I; eigenvalues are accurate to ~ n eps ||.||."""
    s = max(float(np.abs(inst[0]).max()), float(np.abs(inst[1]).max()), 1e-300)
    A, B = (_flush((M + M.T) / (2.0 * s)) for M in inst)
    n = len(A)
    lhs = np.linalg.eigvalsh(A + B)
    rhs = np.linalg.eigvalsh(A) + np.linalg.eigvalsh(B)[-1]
    return lhs, rhs + 32 * n * EPS * (_norm2(A) + _norm2(B))


@lemma(id="falsify.true.cauchy_interlacing", instances=cs.square(-10.0, 10.0, n=(2, 6)))
def cauchy_interlacing(M):
    """For symmetric A and its leading (n-1) x (n-1) block A', lambda_i(A) <= mu_i <=
    lambda_{i+1}(A). Equality for block-diagonal and diagonal draws."""
    A = _flush(_unit((M + M.T) / 2.0))
    n = len(A)
    lam, mu = np.linalg.eigvalsh(A), np.linalg.eigvalsh(A[:-1, :-1])
    lhs = np.concatenate([lam[:-1] - mu, mu - lam[1:]])
    return lhs, 32 * n * EPS * max(_norm2(A), 1e-300)


@lemma(id="falsify.true.neumann_bound", instances=cs.square_and_scalar(-1.0, 1.0, 1e-6, 1.0))
def neumann_bound(inst):
    """||(I - A)^-1|| <= 1 / (1 - ||A||) for ||A|| < 1, with A = M / (||M|| + t), t >= 1e-6.
    Equality for A = c I and other normal A with ||A|| an eigenvalue; near ||A|| = 1 both sides
    blow up and the inverse carries relative error ~ cond(I - A) eps <= 2 eps / (1 - ||A||)."""
    M, t = inst
    M = _unit(M)
    n = len(M)
    A = M / (_norm2(M) + t)
    gap = 1.0 - _norm2(A)
    lhs = _norm2(np.linalg.inv(np.eye(n) - A))
    return lhs, (1.0 / gap) * (1 + 64 * n * EPS * (2.0 / gap + 1.0))


@lemma(id="falsify.true.inverse_perturbation", instances=cs.square_pair(-1.0, 1.0, -1e-3, 1e-3))
def inverse_perturbation(inst):
    """||(A + E)^-1 - A^-1|| <= ||A^-1||^2 ||E|| / (1 - ||A^-1|| ||E||) when
    ||A^-1|| ||E|| <= 1/2 and cond(A) <= 1e8. Equality for 1 x 1 with E of sign opposite to A;
    each computed inverse is off by ~ cond eps ||inverse||, the slack."""
    A, E = inst
    s = np.abs(A).max()
    if s == 0.0:
        return 0.0, 0.0
    A, E = A / s, E / s
    if not np.all(np.isfinite(E)) or np.linalg.cond(A) > 1e8:
        return 0.0, 0.0
    Ai = np.linalg.inv(A)
    q = _norm2(Ai) * _norm2(E)
    if q > 0.5:
        return 0.0, 0.0
    Bi = np.linalg.inv(A + E)
    n = len(A)
    slack = 128 * n * EPS * (np.linalg.cond(A) * _norm2(Ai) + np.linalg.cond(A + E) * _norm2(Bi))
    return _norm2(Bi - Ai), _norm2(Ai) ** 2 * _norm2(E) / (1 - q) + slack


@lemma(id="falsify.true.varah_bound", instances=cs.square_and_vector(-1.0, 1.0, 1e-6, 1.0))
def varah_bound(inst):
    """||A^-1||_inf <= 1 / min_i (|a_ii| - sum_{j != i} |a_ij|) for strictly row diagonally
    dominant A, built as M with its diagonal replaced by +-(off-diagonal row sum + d_i),
    d_i >= 1e-6. Equality for diagonal draws; near margin 1e-6 the inverse has cond ~ 1e6."""
    M, d = inst
    A = M.copy()
    n = len(A)
    off = np.abs(A).sum(axis=1) - np.abs(np.diag(A))
    sign = np.where(np.diag(M) < 0, -1.0, 1.0)
    A[np.diag_indices(n)] = sign * (off + d)
    margin = np.abs(np.diag(A)) - (np.abs(A).sum(axis=1) - np.abs(np.diag(A)))
    delta = margin.min()
    if not delta > 0:
        return 0.0, 0.0
    lhs = np.abs(np.linalg.inv(A)).sum(axis=1).max()
    cond = np.abs(A).sum(axis=1).max() / delta
    return lhs, (1.0 / delta) * (1 + 64 * n * EPS * (cond + 1.0))


@lemma(id="falsify.true.loewner_heinz_sqrt", instances=cs.square_pair(-1.0, 1.0, -1.0, 1.0))
def loewner_heinz_sqrt(inst):
    """A >= B >= 0 implies sqrt(A) >= sqrt(B) (operator monotonicity of the square root), with
    B = X X^T and A = B + Y Y^T. Delicate at singular B: an eigenvalue error of eps ||A||
    becomes sqrt(eps ||A||) after the square root, the slack."""
    s = max(float(np.abs(inst[0]).max()), float(np.abs(inst[1]).max()), 1e-300)
    X, Y = _flush(inst[0] / s), _flush(inst[1] / s)   # sqrt(A) scales like s: compare at unit scale
    B = X @ X.T
    A = B + Y @ Y.T
    n = len(A)
    root = lambda M: _sym_fn(M, lambda lam: np.sqrt(np.clip(lam, 0.0, None)))  # noqa: E731
    worst = -np.linalg.eigvalsh(root(A) - root(B))[0]
    nA = _norm2(A)
    return worst, 2 * np.sqrt(64 * n * EPS * nA) + 64 * n * EPS * np.sqrt(nA)


@lemma(id="falsify.true.inverse_antitone", instances=cs.square_pair(-1.0, 1.0, -1.0, 1.0))
def inverse_antitone(inst):
    """A >= B > 0 implies B^-1 >= A^-1, with B = X X^T (cond(B) <= 1e8) and A = B + Y Y^T.
    Equality where Y Y^T = 0; the inverses carry ~ cond eps relative error."""
    X, Y = (_flush(_unit(M)) for M in inst)
    B = X @ X.T
    A = B + Y @ Y.T
    if np.linalg.cond(B) > 1e8:
        return 0.0, 0.0
    n = len(A)
    Bi, Ai = np.linalg.inv(B), np.linalg.inv(A)
    worst = -np.linalg.eigvalsh((Bi + Bi.T) / 2 - (Ai + Ai.T) / 2)[0]
    return worst, 128 * n * EPS * np.linalg.cond(B) * _norm2(Bi)


@lemma(id="falsify.true.trace_free_radius", instances=cs.square(-10.0, 10.0, n=(1, 6)))
def trace_free_radius(M):
    """For trace-free A (A = M - tr(M)/n I), rho(A) <= sqrt((n-1)/n) ||A||_F, with equality at
    diag(n-1, -1, ..., -1). Eigenvalues of non-normal A are computed inaccurately (a nilpotent
    Jordan block gives rho ~ eps^(1/n)), but only far from the equality case, which is normal.
    A is rescaled after the subtraction: M = I + 1e-233 (J - I) leaves only 1e-233 entries,
    whose squares underflow (a search found exactly that)."""
    M = _unit(M)
    n = len(M)
    A = M - np.trace(M) / n * np.eye(n)
    A[-1, -1] = -np.sum(np.diag(A)[:-1])   # trace 0 up to one rounding of A's own scale
    A = _unit(A)                           # the subtraction can leave only tiny entries
    rho = np.abs(np.linalg.eigvals(A)).max()
    F = np.linalg.norm(A)
    return rho, np.sqrt((n - 1) / n) * F * (1 + 1e-9) + 64 * n * EPS * F


@lemma(id="falsify.true.riesz_thorin", instances=cs.rect(-10.0, 10.0))
def riesz_thorin(A):
    """||A||_2 <= sqrt(||A||_1 ||A||_inf) (Schur's test), with equality for matrices whose
    |A| is a rank-one pattern times a permutation, e.g. constant or diagonal draws."""
    A = _unit(A)
    n = max(A.shape)
    one, inf = np.abs(A).sum(axis=0).max(), np.abs(A).sum(axis=1).max()
    return _norm2(A), np.sqrt(one * inf) * (1 + 8 * n * EPS)


TRUTH = {
    "falsify.true.hadamard_inequality": True,
    "falsify.true.hadamard_det_box": True,
    "falsify.true.boettcher_wenzel": True,
    "falsify.true.golden_thompson": True,
    "falsify.true.weyl_upper": True,
    "falsify.true.cauchy_interlacing": True,
    "falsify.true.neumann_bound": True,
    "falsify.true.inverse_perturbation": True,
    "falsify.true.varah_bound": True,
    "falsify.true.loewner_heinz_sqrt": True,
    "falsify.true.inverse_antitone": True,
    "falsify.true.trace_free_radius": True,
    "falsify.true.riesz_thorin": True,
}

UNIFORM = {
    "falsify.true.hadamard_inequality": lambda g: cs.u_square(g, -10, 10, n=(1, 6)),
    "falsify.true.hadamard_det_box": lambda g: cs.u_square(g, -1, 1, n=(1, 6)),
    "falsify.true.boettcher_wenzel": lambda g: cs.u_square_pair(g, -10, 10, -10, 10, n=(1, 5)),
    "falsify.true.golden_thompson": lambda g: cs.u_square_pair(g, -2, 2, -2, 2, n=(1, 4)),
    "falsify.true.weyl_upper": lambda g: cs.u_square_pair(g, -10, 10, -10, 10, n=(1, 5)),
    "falsify.true.cauchy_interlacing": lambda g: cs.u_square(g, -10, 10, n=(2, 6)),
    "falsify.true.neumann_bound": lambda g: cs.u_square_and_scalar(g, -1, 1, 1e-6, 1.0),
    "falsify.true.inverse_perturbation": lambda g: cs.u_square_pair(g, -1, 1, -1e-3, 1e-3),
    "falsify.true.varah_bound": lambda g: cs.u_square_and_vector(g, -1, 1, 1e-6, 1.0),
    "falsify.true.loewner_heinz_sqrt": lambda g: cs.u_square_pair(g, -1, 1, -1, 1),
    "falsify.true.inverse_antitone": lambda g: cs.u_square_pair(g, -1, 1, -1, 1),
    "falsify.true.trace_free_radius": lambda g: cs.u_square(g, -10, 10, n=(1, 6)),
    "falsify.true.riesz_thorin": lambda g: cs.u_rect(g, -10, 10),
}


# an instance where each lemma is tight (equality in exact arithmetic); the corpus test checks
# that the lemma holds there and that lhs is within 1e-9 of rhs
_H2 = np.array([[1.0, 1.0], [1.0, -1.0]])

TIGHT = {
    "falsify.true.hadamard_inequality": np.diag([2.0, -3.0]),
    "falsify.true.hadamard_det_box": np.kron(_H2, _H2),
    "falsify.true.boettcher_wenzel": (np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [1.0, 0.0]])),
    "falsify.true.golden_thompson": (np.diag([1.0, -1.0]), np.diag([1.0, -1.0])),
    "falsify.true.weyl_upper": (np.diag([1.0, 2.0]), 3.0 * np.eye(2)),
    "falsify.true.cauchy_interlacing": np.diag([1.0, 2.0, 3.0]),
    "falsify.true.neumann_bound": (0.5 * np.eye(3), 0.25),
    "falsify.true.inverse_perturbation": (np.array([[1.0]]), np.array([[-1e-3]])),
    "falsify.true.varah_bound": (np.diag([0.5, -0.3]), np.array([0.1, 0.2])),
    "falsify.true.loewner_heinz_sqrt": (np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros((2, 2))),
    "falsify.true.inverse_antitone": (np.eye(3), np.zeros((3, 3))),
    "falsify.true.trace_free_radius": np.diag([3.0, -1.0, -1.0, -1.0]),
    "falsify.true.riesz_thorin": np.ones((2, 3)),
}
