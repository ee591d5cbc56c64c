"""The lemma library of docs/theory.md §1.8 (items 1-6; item 7 lives in gaussian_moments.py).

Every claim draws its instances from a hypothesis strategy that includes the
awkward cases: rank-deficient and near-degenerate matrices (condition up to
1e6), W = 0, W = -W*, a dropped row, perturbations from 1e-6 to 10 of the
target's norm. Knobs name the constants and terms of each statement, so that
``tests/test_mutants.py`` can build mutated lemmas (constant halved, wrong sign,
missing term, too few Monte Carlo samples) and see them caught.

sympy, scipy and the maths modules are imported inside the functions that use them, so that
listing the claims stays cheap.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from theorycheck.claims.engine import Measurement, claim
from theorycheck.strategies import REAL, with_domains

PAPER = "Allen-Zhu & Li, Backward Feature Correction (arXiv 2001.04413)"

#: The constants of items 3 and 4, as in ``theorycheck.maths.procrustes`` (written out so that
#: building the claims imports neither it nor scipy; tests/test_import_cost.py checks that the
#: two agree): 1 / (2 (sqrt2 - 1)) and 1 / (4 (sqrt2 - 1)).
PROCRUSTES_CONSTANT = 1.0 / (2.0 * (math.sqrt(2.0) - 1.0))
CRITICAL_CONSTANT = 1.0 / (4.0 * (math.sqrt(2.0) - 1.0))

# ---------------------------------------------------------------- strategies


def _quarters(shape):
    """Integer arrays / 4: exact in binary, so sympy sees the same numbers as numpy."""
    from hypothesis.extra.numpy import arrays  # ~30 ms; only needed once instances are drawn

    return arrays(np.int64, shape, elements=st.integers(-8, 8)).map(lambda a: a / 4.0)


@st.composite
def matrix_pairs(draw, max_d: int = 4):
    """(A, B) in R^{d x d}, general or structured: rank one, B = A, B = A^T, A skew."""
    d = draw(st.integers(1, max_d))
    A, B = draw(_quarters((d, d))), draw(_quarters((d, d)))
    mode = draw(st.sampled_from(["general", "rank_one", "equal", "transpose", "skew"]))
    if mode == "rank_one":
        A = np.outer(A[:, 0], B[0])
    elif mode == "equal":
        B = A.copy()
    elif mode == "transpose":
        B = A.T.copy()
    elif mode == "skew":
        A = A - A.T
    return {"mode": mode, "A": A, "B": B}


@st.composite
def layer_weights(draw, max_k: int = 3, max_n: int = 4):
    """(W, W*) in R^{k x n}, quarter-integer entries, W* possibly rank-deficient."""
    k = draw(st.integers(1, max_k))
    n = draw(st.integers(1, max_n))
    W, Ws = draw(_quarters((k, n))), draw(_quarters((k, n)))
    if draw(st.booleans()):
        W = Ws + W / 16.0  # near the target
    return {"W": W, "W_star": Ws}


def conditioned(k: int, n: int, kappa: float, rng: np.random.Generator) -> np.ndarray:
    """A k x n matrix of rank k whose singular values are geometric on [1/kappa, kappa]."""
    U, _, Vt = np.linalg.svd(rng.standard_normal((k, n)), full_matrices=False)
    return (U * np.geomspace(kappa, 1.0 / kappa, k)) @ Vt


MODES = ("random", "zero", "drop_row", "rotated", "complement", "negate")


@st.composite
def near_target(draw, max_k: int = 4, max_n: int = 6):
    """(W, W*) with rank W* = k (docs/theory.md §1.8.3's precondition), conditioning kappa up
    to 1e3 (singular-value ratio 1e6), overall scale 1e-3..1e3, and W drawn as: W* plus a
    random perturbation of relative size eps in [1e-6, 10]; a near-zero W; W* with its last
    row dropped (rank-deficient W); a rotated W*; W* pushed out of its row space along its
    weakest direction; or -W*."""
    k = draw(st.integers(1, max_k))
    n = draw(st.integers(k, max_n))
    kappa = draw(st.sampled_from([1.0, 2.0, 10.0, 100.0, 1000.0]))
    mode = draw(st.sampled_from(MODES))
    eps = 10.0 ** draw(st.floats(-6, 1))
    scale = 10.0 ** draw(st.floats(-3, 3))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    Ws = conditioned(k, n, kappa, rng) * scale
    E = rng.standard_normal((k, n))
    E *= eps * np.linalg.norm(Ws) / np.linalg.norm(E)
    if mode == "random":
        W = Ws + E
    elif mode == "zero":
        W = E * 1e-3
    elif mode == "drop_row":
        W = Ws.copy()
        W[-1] = 0.0
    elif mode == "rotated":
        Q, _ = np.linalg.qr(rng.standard_normal((k, k)))
        W = Q @ Ws + E * 1e-3
    elif mode == "complement":
        U, _, Vt = np.linalg.svd(Ws)
        D = np.outer(U[:, -1], Vt[k]) if n > k else E / np.linalg.norm(E)
        W = Ws + eps * np.linalg.norm(Ws) * D
    else:
        W = -Ws
    return {"k": k, "n": n, "kappa": kappa, "mode": mode, "eps": eps, "scale": scale,
            "seed": seed, "W_star": Ws, "W": W}


def near_target_searchable(max_k: int = 4, max_n: int = 6):
    """:func:`near_target`, with W declared free for the optimiser phase: the lemmas of items
    3 and 4 hold for every real W (only W* carries a precondition, rank k), so the optimiser
    may move W anywhere while W* stays as drawn (docs/lemmas.md, "Tightness")."""
    return with_domains(near_target(max_k, max_n), W=REAL)


def _rounding(inst) -> dict:
    """Float64 error bounds of the computed quantities of items 3 and 4 at this instance.

    ``dist`` (a rotation distance): its rotation comes from an SVD, whose error grows with the
    condition number of W*; the computed ||W - U W*||_F is off by about
    eps kappa(W*) (||W|| + ||W*||) (a factor 64 of headroom). ``gap`` (||W'W - W*'W*||_F):
    each Gram entry is a sum of k products, off by gamma_{k+2} of the sum of their
    magnitudes (``theorycheck.tolerance.gamma``), so the gap is off by at most
    gamma_{k+2} (||W||_F^2 + ||W*||_F^2), however much the two Gram matrices cancel.
    ``trace`` (||W||_F^2 - ||W*||_F^2): a sum of the squared entries
    (``theorycheck.tolerance.summation``). ``sigma`` (sigma_k(W*)): singular values are
    perfectly conditioned, so a backward-stable SVD is off by ``backward_stable(n) ||W*||_2``.
    """
    from theorycheck.tolerance import EPS, backward_stable, gamma, summation

    W, W_star = inst["W"], inst["W_star"]
    k, n = W_star.shape
    kappa = np.linalg.cond(W_star) if np.all(np.isfinite(W_star)) else np.inf
    norms = float(np.sum(W * W)) + float(np.sum(W_star * W_star))
    return {"dist": 64 * EPS * (1 + kappa) * (np.linalg.norm(W) + np.linalg.norm(W_star)),
            "gap": gamma(k + 2, k=4.0) * norms,
            "trace": summation(np.concatenate([(W * W).ravel(), (W_star * W_star).ravel()])),
            "sigma": backward_stable(max(k, n)) * float(np.linalg.norm(W_star, 2))}


def _distance_bound(square: float, sk: float, sigma_power: float, err: dict) -> float:
    """The bound on the computed dist^2 implied by ``dist^2 <= square / sigma_k^p`` in exact
    arithmetic, ``square`` already computed from the rounded-up inputs: sigma_k rounded down
    by its error and the distance's own error added. At an equality case of the lemma the
    computed sides differ by a few ulps either way (item 3's constant is attained:
    W orthogonal to a rank-one W* with ||W|| = sqrt(sqrt2 - 1) ||W*||), so a slack relative to
    the sides is needed, not only an absolute one: without it the optimiser phase, which
    climbs to that equality case, would report rounding as a violation."""
    s = sk - err["sigma"]
    if s <= 0:
        return math.inf   # sigma_k indistinguishable from 0: W* is numerically rank-deficient
    return (math.sqrt(square / s ** sigma_power) + err["dist"]) ** 2


# ---------------------------------------------------------------- item 1


def _rational_matrix(M):
    import sympy as sp

    return sp.Matrix(M.shape[0], M.shape[1], [sp.Rational(float(v)) for v in M.ravel()])


def _quadratic_form(M, xs):
    import sympy as sp

    x = sp.Matrix(xs)
    return sp.expand((x.T * _rational_matrix(M) * x)[0, 0])


def quadratic_gap_formula(A, B, *, c_frob=2.0, trace_sign=1.0, trace_term=True) -> float:
    """2 ||A_s - B_s||_F^2 + (tr(A - B))^2 (docs/theory.md §1.8.1), with mutable parts."""
    D = (A - B + (A - B).T) / 2
    return c_frob * float(np.sum(D * D)) + (trace_sign * float(np.trace(A - B)) ** 2
                                            if trace_term else 0.0)


@claim(id="bfc.lemma.quadratic_moments.exact", tag="M", ref="docs/theory.md §1.8.1", paper=PAPER,
       statement="""E[x'Ax] = tr A, E[(x'Ax)(x'Bx)] = 2 tr(A_s B_s) + tr A tr B and E[(x'Ax -
                 x'Bx)^2] = 2||A_s - B_s||_F^2 + tr(A-B)^2, exactly (sympy Isserlis)""",
       instances={"quick": matrix_pairs(3), "full": matrix_pairs(5)},
       max_examples={"quick": 60, "full": 300}, c_frob=2.0, trace_sign=1.0, trace_term=True)
def quadratic_moments_exact(inst, *, c_frob, trace_sign, trace_term):
    import sympy as sp

    from theorycheck.maths.gaussian import expectation

    A, B = inst["A"], inst["B"]
    d = A.shape[0]
    xs = sp.symbols(f"x0:{d}")
    qa, qb = _quadratic_form(A, xs), _quadratic_form(B, xs)
    As, Bs = (A + A.T) / 2, (B + B.T) / 2
    cross = c_frob * float(np.trace(As @ Bs)) + (trace_sign * float(np.trace(A) * np.trace(B))
                                                 if trace_term else 0.0)
    tol = dict(rtol=1e-12, atol=1e-12)
    return [
        Measurement.close(float(expectation(qa, xs)), float(np.trace(A)), label="E[x'Ax] - tr A", **tol),
        Measurement.close(float(expectation(qa * qb, xs)), cross, label="E[(x'Ax)(x'Bx)]", **tol),
        Measurement.close(float(expectation((qa - qb) ** 2, xs)),
                          quadratic_gap_formula(A, B, c_frob=c_frob, trace_sign=trace_sign,
                                                trace_term=trace_term),
                          label="E[(x'Ax - x'Bx)^2]", **tol),
    ]


@claim(id="bfc.lemma.quadratic_moments.single_layer", tag="M", ref="docs/theory.md §1.8.1",
       paper=PAPER,
       statement="""E[(||Wx||^2 - ||W*x||^2)^2] = 2||W'W - W*'W*||_F^2 + (||W||_F^2 -
                 ||W*||_F^2)^2, exactly (sympy Isserlis)""",
       instances={"quick": layer_weights(3, 3), "full": layer_weights(4, 5)},
       max_examples={"quick": 60, "full": 300}, c_frob=2.0, trace_sign=1.0, trace_term=True)
def single_layer_identity(inst, *, c_frob, trace_sign, trace_term):
    import sympy as sp

    from theorycheck.maths.gaussian import expectation
    from theorycheck.maths.procrustes import gram_gap

    W, Ws = inst["W"], inst["W_star"]
    xs = sp.symbols(f"x0:{W.shape[1]}")
    x = sp.Matrix(xs)
    g = sp.expand(((_rational_matrix(W) * x).T * (_rational_matrix(W) * x))[0, 0]
                  - ((_rational_matrix(Ws) * x).T * (_rational_matrix(Ws) * x))[0, 0])
    exact = float(expectation(g ** 2, xs)) if g != 0 else 0.0
    formula = c_frob * gram_gap(W, Ws) ** 2 + (
        trace_sign * (float(np.sum(W * W)) - float(np.sum(Ws * Ws))) ** 2 if trace_term else 0.0)
    return Measurement.close(exact, formula, rtol=1e-12, atol=1e-12, label="loss - formula")


@st.composite
def float_matrix_pairs(draw, max_d: int = 5):
    d = draw(st.integers(1, max_d))
    seed = draw(st.integers(0, 2 ** 16))
    mode = draw(st.sampled_from(["general", "rank_one", "near_equal", "scaled_identity"]))
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((d, d)), rng.standard_normal((d, d))
    if mode == "rank_one":
        A = np.outer(A[:, 0], B[0])
    elif mode == "near_equal":
        B = A + 1e-3 * B
    elif mode == "scaled_identity":
        A, B = np.eye(d) * (1 + abs(A[0, 0])), np.zeros((d, d))
    return {"mode": mode, "seed": seed, "A": A, "B": B}


@claim(id="bfc.lemma.quadratic_moments.monte_carlo", tag="M", ref="docs/theory.md §1.8.1",
       paper=PAPER,
       statement="""Monte Carlo E[(x'Ax - x'Bx)^2] is within 10% of 2||A_s - B_s||_F^2 + tr(A-B)^2,
                 with 4-sigma error bars clear of that band""",
       instances={"quick": float_matrix_pairs(4), "full": float_matrix_pairs(6)},
       max_examples={"quick": 40, "full": 200},
       n_samples=100_000, c_frob=2.0, trace_sign=1.0, trace_term=True)
def quadratic_moments_mc(inst, *, rng, n_samples, c_frob, trace_sign, trace_term):
    from theorycheck.maths.gaussian import mc_expectation

    A, B = inst["A"], inst["B"]
    D = A - B

    def f(X):
        return np.einsum("ni,ij,nj->n", X, D, X) ** 2

    est = mc_expectation(f, A.shape[0], n_samples, rng)
    ref = quadratic_gap_formula(A, B, c_frob=c_frob, trace_sign=trace_sign, trace_term=trace_term)
    return Measurement.close(est.mean, ref, rtol=0.1, atol=1e-12, stderr=est.stderr,
                             label="|MC - formula|", n=est.n)


# ---------------------------------------------------------------- item 2


@st.composite
def isometry_instances(draw):
    k = draw(st.integers(1, 4))
    n = draw(st.integers(1, 6))
    m = draw(st.integers(k, 6))
    seed = draw(st.integers(0, 2 ** 16))
    kappa = draw(st.sampled_from([1.0, 10.0, 1e3]))
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((k, n))
    U_, s, Vt = np.linalg.svd(W, full_matrices=False)
    s = np.geomspace(kappa, 1 / kappa, len(s))
    if draw(st.booleans()):
        s[-1] = 0.0  # rank-deficient W
    return {"seed": seed, "kappa": kappa, "W": (U_ * s) @ Vt, "m": m,
            "U": np.linalg.qr(rng.standard_normal((k, k)))[0],
            "Q": np.linalg.qr(rng.standard_normal((m, m)))[0],
            "R": np.linalg.qr(rng.standard_normal((n, n)))[0],
            "Z": rng.standard_normal((16, n))}


def _sum_sigma(M, Z):
    return np.sum((Z @ M.T) ** 2, axis=1)


@claim(id="bfc.lemma.isometry_invariance", tag="M", ref="docs/theory.md §1.8.2", paper=PAPER,
       statement="""U'U = I => Sum(sigma(UWz)) = Sum(sigma(Wz)); K'K = W'W (K = Q[W; 0], Q
                 orthogonal) => Sum(sigma(Kz)) = Sum(sigma(Wz)) for all z""",
       instances={"quick": isometry_instances(), "full": isometry_instances()},
       max_examples={"quick": 100, "full": 500}, side="left", scale=1.0)
def isometry_invariance(inst, *, side, scale):
    W, Z, U = inst["W"], inst["Z"], inst["U"] * scale
    k, n = W.shape
    UW = U @ W if side == "left" else W @ inst["R"]
    K = inst["Q"] @ np.vstack([W, np.zeros((inst["m"] - k, n))]) * scale
    base = _sum_sigma(W, Z)
    tol = 1e-12 * (1.0 + np.sum(W * W) * np.sum(Z * Z, axis=1))
    e1 = np.abs(_sum_sigma(UW, Z) - base) - tol
    e2 = np.abs(_sum_sigma(K, Z) - base) - tol
    return [Measurement(float(e1.max()), 0.0, label="|Sum sigma(UWz) - Sum sigma(Wz)| - tol"),
            Measurement(float(e2.max()), 0.0, label="|Sum sigma(Kz) - Sum sigma(Wz)| - tol")]


# ---------------------------------------------------------------- item 3


@claim(id="bfc.lemma.procrustes_gram", tag="M", ref="docs/theory.md §1.8.3 (Tu et al. 2016, Lemma 5.4)",
       paper=PAPER,
       statement="""rank W* = k => min_U ||W - UW*||_F^2 <= ||W'W - W*'W*||_F^2 / (2(sqrt2-1)
                 sigma_k(W*)^2)""",
       instances={"quick": near_target_searchable(), "full": near_target_searchable(6, 10)},
       max_examples={"quick": 400, "full": 2000}, constant=PROCRUSTES_CONSTANT, sigma_power=2.0)
def procrustes_gram(inst, *, constant, sigma_power):
    from theorycheck.maths.procrustes import gram_gap, rotation_distance, sigma_min

    W, Ws = inst["W"], inst["W_star"]
    dist2 = rotation_distance(W, Ws) ** 2
    gap = gram_gap(W, Ws)
    gap2 = gap ** 2
    sk = sigma_min(Ws)
    err = _rounding(inst)
    bound = _distance_bound(constant * (gap + err["gap"]) ** 2, sk, sigma_power, err)
    return Measurement(dist2, bound, label="dist^2",
                       detail={"empirical_constant": dist2 * sk ** 2 / gap2 if gap2 > 0 else 0.0,
                               "sigma_k": sk})


# ---------------------------------------------------------------- item 4


@claim(id="bfc.lemma.critical_single_layer", tag="M", ref="docs/theory.md §1.8.4", paper=PAPER,
       statement="""rank W* = k => min_U ||W - UW*||_F <= sqrt(loss) / (sigma_k(W*)
                 sqrt(4(sqrt2-1))), loss = E[(||Wx||^2 - ||W*x||^2)^2]""",
       instances={"quick": near_target_searchable(), "full": near_target_searchable(6, 10)},
       max_examples={"quick": 400, "full": 2000},
       constant=CRITICAL_CONSTANT, trace_sign=1.0, trace_term=True)
def critical_single_layer(inst, *, constant, trace_sign, trace_term):
    from theorycheck.maths.procrustes import gram_gap, rotation_distance, sigma_min

    W, Ws = inst["W"], inst["W_star"]
    dist2 = rotation_distance(W, Ws) ** 2
    tr = float(np.sum(W * W)) - float(np.sum(Ws * Ws))
    gap = gram_gap(W, Ws)
    loss = 2.0 * gap ** 2 + (trace_sign * tr * tr if trace_term else 0.0)
    sk = sigma_min(Ws)
    err = _rounding(inst)
    # the loss with its inputs rounded up (the trace term by its sign: a mutant may subtract it)
    tr_up = abs(tr) + err["trace"] if trace_sign > 0 else max(abs(tr) - err["trace"], 0.0)
    loss_up = 2.0 * (gap + err["gap"]) ** 2 + (trace_sign * tr_up * tr_up if trace_term else 0.0)
    bound = _distance_bound(constant * max(loss_up, 0.0), sk, 2.0, err)
    return Measurement(dist2, bound, label="dist^2",
                       detail={"empirical_constant": dist2 * sk ** 2 / loss if loss > 0 else 0.0,
                               "loss": loss, "sigma_k": sk})


# ---------------------------------------------------------------- item 5


@st.composite
def top_degree_polys(draw, max_d: int = 3):
    """(d, q, terms) with q in {2, 4, 8}: a random top part plus random lower terms, or a pure
    Hermite polynomial sum c_alpha He_alpha (where the bound is an equality)."""
    q = draw(st.sampled_from([2, 4, 8]))
    d = draw(st.integers(1, max_d if q < 8 else min(max_d, 3)))
    mode = draw(st.sampled_from(["hermite", "random"]))

    def monomial(deg):
        fs = draw(st.lists(st.integers(0, d - 1), min_size=deg, max_size=deg))
        return tuple(fs.count(i) for i in range(d))

    top = [(draw(st.integers(-3, 3).filter(bool)), monomial(q)) for _ in range(draw(st.integers(1, 3)))]
    lower = [(draw(st.integers(-3, 3).filter(bool)), monomial(draw(st.integers(0, q - 1))))
             for _ in range(draw(st.integers(0, 3)))] if mode == "random" else []
    return {"d": d, "q": q, "mode": mode, "top": top, "lower": lower}


def _build_top_poly(inst):
    import sympy as sp

    xs = sp.symbols(f"x0:{inst['d']}")
    if inst["mode"] == "hermite":
        p = sum(c * sp.Mul(*(sp.hermite_prob(a, x) for x, a in zip(xs, al))) for c, al in inst["top"])
    else:
        p = sum(c * sp.Mul(*(x ** a for x, a in zip(xs, al))) for c, al in inst["top"] + inst["lower"])
    return xs, sp.Poly(sp.expand(p), *xs)


@claim(id="bfc.lemma.top_degree_hermite", tag="M", ref="docs/theory.md §1.8.5", paper=PAPER,
       statement="""deg p = q in {2, 4, 8} with top part <T, x^q> => E[p(x)^2] >= q! ||Sym T||_F^2
                 (exact, sympy; equality for pure Hermite polynomials)""",
       instances={"quick": top_degree_polys(3), "full": top_degree_polys(4)},
       max_examples={"quick": 80, "full": 300}, constant=1.0, symmetrise=True, top_only=True)
def top_degree_hermite(inst, *, constant, symmetrise, top_only):
    from theorycheck.maths.gaussian import expectation
    from theorycheck.maths.topdegree import top_energy

    xs, p = _build_top_poly(inst)
    if p.is_zero:
        return Measurement(0.0, 0.0, ">=", label="E[p^2] (p = 0)")
    second = float(expectation(p * p))
    if top_only:
        bound = top_energy(p, symmetrise=symmetrise)
    else:  # mutant: every monomial's coefficient counted as if it were top degree
        bound = sum(float(c) ** 2 * math.prod(math.factorial(a) for a in m) for m, c in p.terms())
    return Measurement(second, constant * bound * (1 - 1e-12), ">=", label="E[p^2]",
                       detail={"q": p.total_degree(), "top_energy": bound})


# ---------------------------------------------------------------- item 6


@st.composite
def lift_instances(draw):
    k = draw(st.integers(1, 4))
    extra = draw(st.integers(0, 3))
    seed = draw(st.integers(0, 2 ** 16))
    return {"k": k, "extra": extra, "seed": seed}


def _quad_coeffs(L):
    """Rows: coefficients of (L_r . z)^2 in the monomials z_a z_b, a <= b."""
    k = L.shape[1]
    iu = np.triu_indices(k)
    C = L[:, :, None] * L[:, None, :]
    C = C + np.transpose(C, (0, 2, 1)) - C * np.eye(k)[None]
    return C[:, iu[0], iu[1]]


@claim(id="bfc.lemma.lift_spanning", tag="M", ref="docs/theory.md §1.8.6", paper=PAPER,
       statement="""random R in R^{p x k}, p >= k(k+1)/2: sigma(Rz) spans the quadratic forms of z,
                 so sigma(U'z) = C sigma(Rz) for any orthogonal U""",
       instances={"quick": lift_instances(), "full": lift_instances()},
       max_examples={"quick": 60, "full": 300}, p_offset=0, activation="square")
def lift_spanning(inst, *, rng, p_offset, activation):
    k = inst["k"]
    p = k * (k + 1) // 2 + inst["extra"] + p_offset
    r = np.random.default_rng(inst["seed"])
    R = r.standard_normal((max(p, 0), k))
    U = np.linalg.qr(r.standard_normal((k, k)))[0]
    act = (lambda v: v ** 2) if activation == "square" else (lambda v: v)  # the lift's sigma
    if p == 0:
        return Measurement(math.inf, 1e-8, label="relative residual (p = 0)")
    # fit C from samples and test on fresh ones (the map is identified by its values)
    Zfit, Ztest = rng.standard_normal((4 * p + 4 * k * k, k)), rng.standard_normal((64, k))
    F = act(Zfit @ R.T)
    Y = (Zfit @ U) ** 2
    C, *_ = np.linalg.lstsq(F, Y, rcond=None)
    pred, true = act(Ztest @ R.T) @ C, (Ztest @ U) ** 2
    resid = float(np.linalg.norm(pred - true) / np.linalg.norm(true))
    s = np.linalg.svd(_quad_coeffs(R), compute_uv=False)
    rel_smin = float(s[-1] / s[0]) if len(s) >= k * (k + 1) // 2 else 0.0
    return [Measurement(resid, 1e-8, label="relative residual of sigma(U'z) - C sigma(Rz)"),
            Measurement(rel_smin, 1e-12, ">=", label="sigma_min/sigma_max of the lift design")]
