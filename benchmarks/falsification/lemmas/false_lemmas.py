"""FALSE lemmas whose counterexamples are rare under uniform sampling.

Each is stated the way a user would state it (a dropped precondition, a constant checked on
small cases only, a bound that fails only at a corner), with generic strategies from
``corpus_strategies``. Every lemma is written as ``lhs <= rhs`` with its float slack inside
``rhs`` and ``rtol = atol = 0``, so that a plain hypothesis test can assert ``lhs <= rhs``.

``TRUTH`` marks every lemma false; ``WITNESS`` holds one known counterexample per lemma
(checked by the corpus test); ``UNIFORM`` draws the same shapes with uniform entries, to
measure how rare a counterexample is (``run.py --uniform N``).
"""

from __future__ import annotations

import numpy as np

from theorycheck import lemma

import corpus_strategies as cs

EPS = np.finfo(np.float64).eps


def _norm2(A) -> float:
    return float(np.linalg.norm(A, 2)) if A.size else 0.0


def _unit(A):
    """A / max |A[i, j]| (A itself when zero): for homogeneous statements, so that entries
    like 1e-300 (which hypothesis draws) do not underflow in norms and products."""
    s = float(np.abs(A).max()) if A.size else 0.0
    return A / s if s > 0 else A


# -------------------------------------------------------------- sign-pattern extremes


@lemma(id="falsify.false.det_pm1_box", instances=cs.square(-1.0, 1.0))
def det_pm1_box(A):
    """|det A| <= 2^(n-1) for A in [-1, 1]^(n x n). Checked for n <= 3 (max |det| is 1, 2,
    4), false from n = 4: a Hadamard matrix has |det| = 16 > 8 (and 48 > 16 at n = 5)."""
    n = len(A)
    return abs(np.linalg.det(A)), 2.0 ** (n - 1) * (1 + 1e-9)


@lemma(id="falsify.false.det_01_box", instances=cs.square(0.0, 1.0))
def det_01_box(A):
    """|det A| <= max(1, n - 1) for A in [0, 1]^(n x n). The maximal 0/1 determinants are
    1, 1, 2, 3 for n <= 4, then 5 at n = 5: false only at n = 5, near a few 0/1 patterns."""
    n = len(A)
    return abs(np.linalg.det(A)), max(1.0, n - 1.0) * (1 + 1e-9)


@lemma(id="falsify.false.commutator_constant_one",
       instances=cs.square_pair(-1.0, 1.0, -1.0, 1.0, n=(4, 6)))
def commutator_constant_one(inst):
    """||AB - BA||_F <= ||A||_F ||B||_F for n >= 4, a constant guessed from random trials
    (ratio above 1 in about 1 in 700 uniform pairs at n = 4, fewer beyond). The sharp
    constant is sqrt(2) for every n >= 2 (Boettcher-Wenzel), reached by embedded 2 x 2
    pairs such as A = E12, B = E21."""
    A, B = inst
    A = A / max(np.abs(A).max(), 1e-300)      # both sides are homogeneous: scale first
    B = B / max(np.abs(B).max(), 1e-300)
    lhs = np.linalg.norm(A @ B - B @ A)
    return lhs, np.linalg.norm(A) * np.linalg.norm(B) * (1 + 1e-12) + 1e-14


@lemma(id="falsify.false.unit_diagonal_half_psd", instances=cs.square(-0.5, 0.5))
def unit_diagonal_half_psd(M):
    """A symmetric matrix with unit diagonal and off-diagonal entries in [-1/2, 1/2] is
    positive semidefinite. True for n <= 3 (Gershgorin), false from n = 4: off-diagonals
    near -1/2 give the eigenvalue 1 - (n - 1)/2 < 0."""
    A = (M + M.T) / 2.0
    np.fill_diagonal(A, 1.0)
    return -np.linalg.eigvalsh(A)[0], 1e-12


# ------------------------------------------------------------- dropped preconditions


@lemma(id="falsify.false.inverse_perturbation_no_smallness",
       instances=cs.square_pair(-1.0, 1.0, -1e-3, 1e-3))
def inverse_perturbation_no_smallness(inst):
    """||(A + E)^-1 - A^-1|| <= 2 ||A^-1||^2 ||E|| for invertible A and A + E. The bound
    needs ||A^-1|| ||E|| <= 1/2; with ||E|| <= 4e-3 that fails only for sigma_min(A) below
    about 1e-2 with E pointing the right way."""
    A, E = inst
    s = np.abs(A).max()
    if s == 0.0:
        return 0.0, 0.0
    A, E = A / s, E / s                       # both sides scale like 1/s
    B = A + E
    if not np.all(np.isfinite(B)) or np.linalg.cond(A) > 1e12 or np.linalg.cond(B) > 1e12:
        return 0.0, 0.0
    Ai, Bi = np.linalg.inv(A), np.linalg.inv(B)
    n = len(A)
    slack = 128 * n * EPS * (np.linalg.cond(A) * _norm2(Ai) + np.linalg.cond(B) * _norm2(Bi))
    return _norm2(Bi - Ai), 2 * _norm2(Ai) ** 2 * _norm2(E) + slack


@lemma(id="falsify.false.pinv_perturbation_no_rank",
       instances=cs.rect_pair(-1.0, 1.0, -1e-3, 1e-3))
def pinv_perturbation_no_rank(inst):
    """||(A + E)^+ - A^+|| <= 3 ||A^+||^2 ||E|| when ||A^+|| ||E|| <= 1/2 (Wedin's bound
    without its condition rank(A + E) = rank(A)). Generic A has full rank and keeps it;
    a rank-deficient A perturbed off its rank breaks it."""
    A, E = inst
    s = float(np.abs(A).max())
    if s > 0:
        A, E = A / s, E / s                   # both sides scale like 1/s
    if not np.all(np.isfinite(E)):
        return 0.0, 0.0
    Ap = np.linalg.pinv(A)
    if not _norm2(Ap) * _norm2(E) <= 0.5 or not _norm2(Ap) <= 1e12:
        return 0.0, 0.0
    Bp = np.linalg.pinv(A + E)
    if not np.all(np.isfinite(Bp)) or not _norm2(Bp) <= 1e150:
        return 0.0, 0.0
    slack = 1e-10 * (1 + _norm2(Ap)) ** 2
    return _norm2(Bp - Ap), 3 * _norm2(Ap) ** 2 * _norm2(E) + slack


@lemma(id="falsify.false.psd_triple_trace", instances=cs.square_triple(-1.0, 1.0, n=(4, 6)))
def psd_triple_trace(inst):
    """tr(ABC) >= 0 for positive semidefinite A = XX^T, B = YY^T, C = ZZ^T, n >= 4 (true
    for two factors: tr(AB) >= 0). Random Gram matrices are nearly aligned (a negative trace
    in about 1 in 500 uniform draws at n = 4, fewer beyond); rank-one factors at obtuse
    angles give tr = (x.y)(y.z)(z.x) < 0."""
    X, Y, Z = (_unit(M) for M in inst)
    A, B, C = X @ X.T, Y @ Y.T, Z @ Z.T
    scale = max(1e-300, np.linalg.norm(A) * np.linalg.norm(B) * np.linalg.norm(C))
    return -np.trace(A @ B @ C) / scale, 1e-12


@lemma(id="falsify.false.eigenvector_stability_no_gap",
       instances=cs.square_pair(-1.0, 1.0, -1e-6, 1e-6, n=(2, 5)))
def eigenvector_stability_no_gap(inst):
    """For symmetric A != 0 with entries in [-1, 1] and a symmetric perturbation E with
    entries in [-1e-6, 1e-6], the top eigenvector moves by sin(angle) <= 1e3 ||E||. Davis-Kahan
    gives 2 ||E|| / (lambda_1 - lambda_2): the claim drops the gap and fails when
    lambda_1 - lambda_2 < 2e-3, rare for random symmetric matrices (eigenvalues repel)."""
    X, Y = inst
    A, E = (X + X.T) / 2.0, (Y + Y.T) / 2.0
    if not A.any():
        return 0.0, 0.0
    v = np.linalg.eigh(A)[1][:, -1]
    w = np.linalg.eigh(A + E)[1][:, -1]
    sin = np.linalg.norm(w - (w @ v) * v)
    return sin, 1e3 * _norm2(E) + 1e-9


@lemma(id="falsify.false.stochastic_spectral_gap", instances=cs.square(0.0, 1.0, n=(2, 5)))
def stochastic_spectral_gap(M):
    """Every row-stochastic matrix P has |lambda_2(P)| < 1 (dropped: P primitive). Positive
    entries make P primitive; the counterexamples (block or cyclic zero patterns) sit on the
    boundary of the box."""
    rows = M.sum(axis=1)
    if np.any(rows <= 0):
        return 0.0, 0.0
    P = M / rows[:, None]
    lam = np.sort(np.abs(np.linalg.eigvals(P)))[::-1]
    return lam[1], 1 - 1e-9


@lemma(id="falsify.false.rank_of_product", instances=cs.chain(-10.0, 10.0))
def rank_of_product(inst):
    """rank(AB) = min(rank A, rank B). Holds for generic A, B; fails when the column space
    of B meets the null space of A, which needs rank-deficient structure."""
    A, B = _unit(inst[0]), _unit(inst[1])   # ranks are scale-free; avoid underflow in A @ B
    r = np.linalg.matrix_rank
    return float(abs(r(A @ B) - min(r(A), r(B)))), 0.0


# ---------------------------------------------------------------- near-singular numerics


@lemma(id="falsify.false.solve_forward_error", instances=cs.system(-1.0, 1.0))
def solve_forward_error(inst):
    """np.linalg.solve recovers x from b = A x to 1e-8 relative error whenever A has full
    numerical rank. The forward error grows like cond(A) eps: false for cond(A) >~ 1e8."""
    A, x = _unit(inst[0]), _unit(inst[1])    # solve is scale-equivariant in A and in x
    if np.linalg.matrix_rank(A) < len(A) or not np.any(x):
        return 0.0, 0.0
    xs = np.linalg.solve(A, A @ x)
    return np.linalg.norm(xs - x) / np.linalg.norm(x), 1e-8


@lemma(id="falsify.false.gram_schmidt_orthogonal", instances=cs.tall(-1.0, 1.0))
def gram_schmidt_orthogonal(A):
    """Classical Gram-Schmidt on a full-column-rank A returns Q with |Q^T Q - I| <= 1e-8.
    CGS loses orthogonality like eps cond(A)^2: false for nearly dependent columns."""
    m, k = A.shape
    if np.linalg.matrix_rank(A) < k:
        return 0.0, 0.0
    A = A / np.abs(A).max(axis=0)              # CGS is invariant under column scaling
    Q = np.zeros((m, k))
    for j in range(k):
        v = A[:, j] - Q[:, :j] @ (Q[:, :j].T @ A[:, j])
        Q[:, j] = v / np.linalg.norm(v)
    return np.abs(Q.T @ Q - np.eye(k)).max(), 1e-8


@lemma(id="falsify.false.power_iteration_no_gap", instances=cs.square(-1.0, 1.0, n=(2, 5)))
def power_iteration_no_gap(M):
    """2048 steps of power iteration from the all-ones vector (computed as 11 normalised
    squarings of A) give the spectral radius of a symmetric A to 1e-6 relative error.
    Dropped: a gap |lambda_1| > |lambda_2| (false when |lambda_2| / |lambda_1| > 0.993, e.g.
    lambda_max = -lambda_min) and a start vector not orthogonal to the top eigenvector."""
    A = _unit((M + M.T) / 2.0)
    rho = np.abs(np.linalg.eigvalsh(A)).max()
    if rho == 0.0:
        return 0.0, 0.0
    P = A / _norm2(A)
    for _ in range(11):
        P = P @ P
        P /= _norm2(P)
    x = P @ np.ones(len(A))
    if not np.any(x):
        return 1.0, 1e-6                         # the start vector is annihilated
    x /= np.linalg.norm(x)
    return abs(np.linalg.norm(A @ x) - rho) / rho, 1e-6


TRUTH = {
    "falsify.false.det_pm1_box": False,
    "falsify.false.det_01_box": False,
    "falsify.false.commutator_constant_one": False,
    "falsify.false.unit_diagonal_half_psd": False,
    "falsify.false.inverse_perturbation_no_smallness": False,
    "falsify.false.pinv_perturbation_no_rank": False,
    "falsify.false.psd_triple_trace": False,
    "falsify.false.eigenvector_stability_no_gap": False,
    "falsify.false.stochastic_spectral_gap": False,
    "falsify.false.rank_of_product": False,
    "falsify.false.solve_forward_error": False,
    "falsify.false.gram_schmidt_orthogonal": False,
    "falsify.false.power_iteration_no_gap": False,
}

UNIFORM = {
    "falsify.false.det_pm1_box": lambda g: cs.u_square(g, -1, 1),
    "falsify.false.det_01_box": lambda g: cs.u_square(g, 0, 1),
    "falsify.false.commutator_constant_one": lambda g: cs.u_square_pair(g, -1, 1, -1, 1, n=(4, 6)),
    "falsify.false.unit_diagonal_half_psd": lambda g: cs.u_square(g, -0.5, 0.5),
    "falsify.false.inverse_perturbation_no_smallness": lambda g: cs.u_square_pair(g, -1, 1, -1e-3, 1e-3),
    "falsify.false.pinv_perturbation_no_rank": lambda g: cs.u_rect_pair(g, -1, 1, -1e-3, 1e-3),
    "falsify.false.psd_triple_trace": lambda g: cs.u_square_triple(g, -1, 1, n=(4, 6)),
    "falsify.false.eigenvector_stability_no_gap": lambda g: cs.u_square_pair(g, -1, 1, -1e-6, 1e-6, n=(2, 5)),
    "falsify.false.stochastic_spectral_gap": lambda g: cs.u_square(g, 0, 1, n=(2, 5)),
    "falsify.false.rank_of_product": lambda g: cs.u_chain(g, -10, 10),
    "falsify.false.solve_forward_error": lambda g: cs.u_system(g, -1, 1),
    "falsify.false.gram_schmidt_orthogonal": lambda g: cs.u_tall(g, -1, 1),
    "falsify.false.power_iteration_no_gap": lambda g: cs.u_square(g, -1, 1, n=(2, 5)),
}


# one known counterexample per lemma (tests/test_falsification_corpus.py checks each fails)
_H2 = np.array([[1.0, 1.0], [1.0, -1.0]])


def _e(n, i, j):
    M = np.zeros((n, n))
    M[i, j] = 1.0
    return M


def _first_column(v):
    return np.c_[np.asarray(v, dtype=float), np.zeros((len(v), len(v) - 1))]


WITNESS = {
    # Sylvester's Hadamard matrix: |det| = 16 > 2^3
    "falsify.false.det_pm1_box": np.kron(_H2, _H2),
    # a 0/1 matrix of the maximal determinant 5 at n = 5
    "falsify.false.det_01_box": np.array([[1, 1, 0, 1, 0], [0, 0, 1, 1, 0], [0, 1, 1, 0, 1],
                                          [1, 0, 0, 1, 1], [1, 0, 1, 0, 0]], dtype=float),
    # [E12, E21] = E11 - E22: ratio sqrt(2)
    "falsify.false.commutator_constant_one": (_e(4, 0, 1), _e(4, 1, 0)),
    # I - (J - I)/2 has the eigenvalue -1/2
    "falsify.false.unit_diagonal_half_psd": np.full((4, 4), -0.5),
    # ||A^-1|| ||E|| = 0.9: lhs 9000 > rhs 1800
    "falsify.false.inverse_perturbation_no_smallness": (np.diag([1.0, 1e-3]), np.diag([0.0, -9e-4])),
    # rank 1 -> rank 2: ||(A + E)^+|| = 1000
    "falsify.false.pinv_perturbation_no_rank": (np.diag([1.0, 0.0]), np.diag([0.0, 1e-3])),
    # rank-one factors x, y, z with (x.y)(y.z)(z.x) = -1/4
    "falsify.false.psd_triple_trace": (_first_column([1.0, 0, 0, 0]), _first_column([1.0, 1, 0, 0]),
                                       _first_column([-0.5, 1, 0, 0])),
    # a double top eigenvalue: the eigenvector jumps by 90 degrees
    "falsify.false.eigenvector_stability_no_gap": (np.eye(2), np.diag([1e-6, 0.0])),
    # a permutation: eigenvalues +1 and -1
    "falsify.false.stochastic_spectral_gap": np.array([[0.0, 1.0], [1.0, 0.0]]),
    # A B = 0 with rank A = rank B = 1
    "falsify.false.rank_of_product": (np.array([[1.0, 0.0]]), np.array([[0.0], [1.0]])),
    # cond(A) = 2.6e10: relative forward error 8e-7
    "falsify.false.solve_forward_error": (np.array([[0.8, 0.6], [0.6000000001, 0.45]]),
                                          np.array([0.3, -0.7])),
    # Laeuchli's matrix: CGS returns columns 60 degrees apart
    "falsify.false.gram_schmidt_orthogonal": np.array([[1.0, 1.0, 1.0], [1e-8, 0, 0], [0, 1e-8, 0],
                                                       [0, 0, 1e-8]]),
    # |lambda_2 / lambda_1| = 0.999: relative error 1.6e-5 after 2048 steps
    "falsify.false.power_iteration_no_gap": np.diag([1.0, -0.999]),
}
