"""Three-layer feature learning (docs/theory.md §2.2, §2.3): targets and oracles, the
layer-wise learner, its middle-layer gradient, ridge solves, baselines, the
exponent study, the CLI's bad-input messages, and failing variants of the claims."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.linalg
import sympy as sp
from hypothesis import given, strategies as st

from theorycheck.maths.kernel_methods import poly_kernel
from theorycheck.papers.three_layer.baselines import (TwoLayerParams, fit_poly_krr, two_layer_gradients,
                                   two_layer_loss)
from theorycheck.claims.engine import evaluate
from theorycheck.commands.main import main
from theorycheck.errors import SpecError
from theorycheck.maths.gaussian import expectation, sample_inputs
from theorycheck.papers.three_layer.quadratic_features import (correlation, quadratic_moments, quadratic_target,
                                            random_quadratic_matrix, single_index_target,
                                            sphere_expectation, validate_quadratic_matrix,
                                            variance_oracle)
from theorycheck.maths.ridge import kernel_ridge_solve, ridge_solve, select_ridge
from theorycheck.maths.exponents import fit_exponent, required_n
from theorycheck.papers.three_layer.exponent_study import ExponentCell, ExponentTask, exponent_rows, exponent_study
from theorycheck.papers.three_layer.learner import (ThreeLayerConfig, fit_three_layer, first_layer_mean,
                                     init_network, learned_feature, middle_layer_gradient,
                                     middle_layer_loss, n1_ladder, run_three_layer, stage1)

import theorycheck.proofs.three_layer as P


# ---------------------------------------------------------------- targets and oracles


def test_variance_oracle_values():
    assert variance_oracle(10, "gaussian") == 2.0
    assert variance_oracle(10, "sphere") == pytest.approx(20 / 12)
    assert variance_oracle(4, "sphere", 3.0) == pytest.approx(6 * 4 / 6)


@pytest.mark.parametrize("dist", ["gaussian", "sphere"])
def test_moments_match_sympy_exactly(dist):
    A = np.array([[1, 2, 0], [2, -3, 1], [0, 1, 2]], dtype=float)  # symmetric, trace 0
    xs = sp.symbols("x0:3")
    x = sp.Matrix(xs)
    h = sp.expand((x.T * sp.Matrix(A.astype(int).tolist()) * x)[0])
    E = expectation if dist == "gaussian" else sphere_expectation
    exact = [float(E(sp.expand(h ** k), xs)) for k in range(5)]
    np.testing.assert_allclose(quadratic_moments(A, 4, dist), exact, rtol=1e-12, atol=1e-12)
    assert exact[2] - exact[1] ** 2 == pytest.approx(variance_oracle(3, dist, float(np.sum(A * A))))


def test_sphere_expectation_known_values():
    xs = sp.symbols("x0:3")
    assert sphere_expectation(xs[0] ** 2, xs) == 1
    assert sphere_expectation(xs[0] ** 4, xs) == sp.Rational(9, 5)
    assert sphere_expectation(xs[0] ** 2 * xs[1] ** 2, xs) == sp.Rational(3, 5)
    assert sphere_expectation(xs[0] ** 3 + xs[1], xs) == 0


def test_sphere_moments_against_monte_carlo():
    rng = np.random.default_rng(0)
    A = random_quadratic_matrix(6, rng)
    h = np.einsum("ni,ij,nj->n", *(lambda X: (X, A, X))(sample_inputs(200000, 6, rng, "sphere")))
    m = quadratic_moments(A, 3, "sphere")
    for k in (2, 3):
        se = np.std(h ** k) / math.sqrt(h.size)
        assert abs(np.mean(h ** k) - m[k]) < 5 * se


@given(d=st.integers(2, 12), seed=st.integers(0, 2**31), rank=st.one_of(st.none(), st.integers(2, 12)))
def test_random_matrix_is_symmetric_tracefree_unit(d, seed, rank):
    rank = None if rank is None else min(rank, d)
    A = random_quadratic_matrix(d, np.random.default_rng(seed), rank)
    assert np.allclose(A, A.T)
    assert abs(np.trace(A)) < 1e-12
    assert np.linalg.norm(A) == pytest.approx(1.0)
    if rank is not None:
        assert np.linalg.matrix_rank(A, tol=1e-10) == rank
    validate_quadratic_matrix(A)


def test_bad_matrix_is_rejected_with_the_fix():
    with pytest.raises(SpecError, match=r"not symmetric.*normalise=True"):
        validate_quadratic_matrix(np.arange(9.0).reshape(3, 3))
    with pytest.raises(SpecError, match="not trace-free"):
        validate_quadratic_matrix(np.eye(3) / math.sqrt(3))
    with pytest.raises(SpecError, match="not 1"):
        validate_quadratic_matrix(np.diag([2.0, -2.0]))
    with pytest.raises(SpecError, match="square"):
        validate_quadratic_matrix(np.zeros((2, 3)))
    with pytest.raises(SpecError, match="multiple of the identity"), pytest.warns(UserWarning):
        validate_quadratic_matrix(np.eye(3), normalise=True)


def test_normalise_warns_and_fixes():
    with pytest.warns(UserWarning, match="normalised"):
        A = validate_quadratic_matrix(np.arange(9.0).reshape(3, 3), normalise=True)
    assert np.allclose(A, A.T) and abs(np.trace(A)) < 1e-12
    assert np.linalg.norm(A) == pytest.approx(1.0)


def test_target_is_centred_and_symbolic():
    t = quadratic_target(5, seed=1)
    X, y = t.sample(200000, np.random.default_rng(2))
    assert abs(y.mean()) < 5 * y.std() / math.sqrt(y.size)
    expr = t.symbolic()
    assert isinstance(expr, sp.Eq) and len(expr.rhs.free_symbols) == 5
    f = sp.lambdify(sp.symbols("x0:5"), expr.rhs)
    assert f(*X[0]) == pytest.approx(y[0], abs=0.05)  # entries rounded to 3 digits
    assert "g^*" in t._repr_latex_() and "d=5" in repr(t)
    s = single_index_target(5, seed=1, dist="gaussian")
    _, ys = s.sample(200000, np.random.default_rng(3))
    assert abs(ys.mean()) < 5 * ys.std() / math.sqrt(ys.size)
    with pytest.raises(SpecError, match="not 1"):
        single_index_target(beta=[1.0, 1.0])


def test_bad_link_is_rejected():
    with pytest.raises(SpecError, match="non-constant"):
        quadratic_target(4, link=[1.0])


# ---------------------------------------------------------------- learner


def test_first_layer_mean_exact():
    rng = np.random.default_rng(0)
    for dist in ("sphere", "gaussian"):
        z = sample_inputs(400000, 7, rng, dist)[:, 0]
        for s1, f in (("abs", np.abs), ("relu", lambda u: np.maximum(u, 0))):
            vals = f(z)
            assert abs(vals.mean() - first_layer_mean(s1, 7, dist)) < 5 * vals.std() / math.sqrt(z.size)


def _tiny(seed=0, n=5, d=3, m1=4, m2=3):
    rng = np.random.default_rng(seed)
    H1 = rng.standard_normal((n, m1))
    W = rng.standard_normal((m2, m1))
    b = rng.standard_normal(m2)
    a = rng.choice([-1.0, 1.0], m2)
    y = rng.standard_normal(n)
    return W, b, a, H1, y


@pytest.mark.parametrize("sigma2", ["softplus", "relu"])
def test_middle_layer_gradient_finite_differences(sigma2):
    W, b, a, H1, y = _tiny(1)
    G = middle_layer_gradient(W, b, a, H1, y, sigma2, weight_decay=0.3)
    eps = 1e-6
    num = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += eps
        Wm[idx] -= eps
        num[idx] = (middle_layer_loss(Wp, b, a, H1, y, sigma2, 0.3)
                    - middle_layer_loss(Wm, b, a, H1, y, sigma2, 0.3)) / (2 * eps)
    np.testing.assert_allclose(G, num, rtol=1e-6, atol=1e-8)


def test_middle_layer_gradient_matches_sympy():
    W, b, a, H1, y = _tiny(2, n=3, m1=3, m2=2)
    Ws = sp.Matrix(2, 3, lambda i, j: sp.Symbol(f"w{i}{j}"))
    sp_softplus = lambda z: sp.log(1 + sp.exp(z))  # noqa: E731
    loss = 0
    for i in range(3):
        f = sum(a[j] * sp_softplus(sum(Ws[j, k] * H1[i, k] for k in range(3)) + b[j]) for j in range(2))
        loss += (f - y[i]) ** 2 / (2 * 3)
    loss += sp.Rational(1, 2) * sp.Rational(1, 5) * sum(w ** 2 for w in Ws)
    subs = {Ws[j, k]: W[j, k] for j in range(2) for k in range(3)}
    ref = np.array([[float(sp.diff(loss, Ws[j, k]).evalf(subs=subs)) for k in range(3)] for j in range(2)])
    np.testing.assert_allclose(middle_layer_gradient(W, b, a, H1, y, "softplus", 0.2), ref, rtol=1e-10)


def test_stage1_from_zero_is_the_kernel_feature():
    """From W = 0, b = 0: phi(x) = (1/n1) sum_i y_i <s(x_i), s(x)> / m1 (docs/theory.md §2.2)."""
    t = quadratic_target(6, seed=0)
    rng = np.random.default_rng(0)
    X1, y1 = t.sample(50, rng)
    Xt, _ = t.sample(20, rng)
    cfg = ThreeLayerConfig(m1=32, m2=8, eta=0.7)
    net = stage1(init_network(6, cfg, rng), X1, y1)
    S1, St = net.first_layer(X1), net.first_layer(Xt)
    ref = (St @ S1.T @ y1) / len(y1) / cfg.m1
    np.testing.assert_allclose(learned_feature(net, Xt), 0.7 * ref, rtol=1e-10)
    np.testing.assert_allclose(net.W, 0.7 * np.outer(net.a1, S1.T @ y1 / len(y1)), rtol=1e-10)


def test_shapes_and_determinism():
    t = quadratic_target(8, seed=3)
    cfg = ThreeLayerConfig(m1=64, m2=16)
    r1 = run_three_layer(t, 200, 100, np.random.default_rng(5), config=cfg, n_test=100)
    r2 = run_three_layer(t, 200, 100, np.random.default_rng(5), config=cfg, n_test=100)
    assert r1 == r2
    rng = np.random.default_rng(0)
    X1, y1 = t.sample(40, rng)
    X2, y2 = t.sample(30, rng)
    net = fit_three_layer(X1, y1, X2, y2, rng, cfg)
    assert net.V.shape == (64, 8) and net.W.shape == (16, 64) and net.a.shape == (16,)
    assert np.allclose(np.linalg.norm(net.V, axis=1), 1.0)
    assert net(X2).shape == (30,) and net.hidden(X2).shape == (30, 16)


def test_batched_evaluation_equals_unbatched():
    t = quadratic_target(5, seed=0)
    rng = np.random.default_rng(0)
    X1, y1 = t.sample(60, rng)
    X2, y2 = t.sample(40, rng)
    net = fit_three_layer(X1, y1, X2, y2, np.random.default_rng(1), ThreeLayerConfig(m1=16, m2=8))
    from dataclasses import replace
    small = replace(net, config=replace(net.config, batch=7))
    np.testing.assert_allclose(small(X2), net(X2), rtol=1e-12)


def test_bad_learner_inputs():
    t = quadratic_target(4, seed=0)
    rng = np.random.default_rng(0)
    with pytest.raises(SpecError, match="n1=0"):
        run_three_layer(t, 0, 100, rng)
    with pytest.raises(SpecError, match="n2=0"):
        run_three_layer(t, 100, 0, rng)
    with pytest.raises(SpecError, match="m1=0"):
        ThreeLayerConfig(m1=0)
    with pytest.raises(SpecError, match="m2=0"):
        ThreeLayerConfig(m2=0)
    with pytest.raises(SpecError, match="sigma1"):
        ThreeLayerConfig(sigma1="gelu")


def test_frozen_middle_layer_learns_nothing():
    t = quadratic_target(8, seed=0)
    r = run_three_layer(t, 500, 400, np.random.default_rng(0), config=ThreeLayerConfig(m1=128, eta=0.0))
    assert r.corr == 0.0 and r.rel_mse > 0.9


def test_even_activation_beats_relu_on_the_feature():
    t = quadratic_target(12, seed=0)
    runs = {s: n1_ladder(t, [3000], 400, np.random.default_rng(0),
                         config=ThreeLayerConfig(m1=512, m2=32, sigma1=s))[0].corr
            for s in ("abs", "relu", "tanh")}
    assert runs["abs"] > runs["relu"] + 0.2
    assert abs(runs["tanh"]) < 0.2


def test_correlation_of_constant_is_zero():
    assert correlation(np.ones(5), np.arange(5.0)) == 0.0
    assert correlation(np.arange(5.0), 2 * np.arange(5.0) + 1) == pytest.approx(1.0)


# ---------------------------------------------------------------- ridge and baselines


@pytest.mark.equivalence
@pytest.mark.parametrize("shape", [(40, 10), (10, 40)])
def test_ridge_matches_scipy_reference(shape):
    rng = np.random.default_rng(0)
    Phi = rng.standard_normal(shape)
    y = rng.standard_normal(shape[0])
    lam = 0.05
    n, p = shape
    s = np.sum(Phi * Phi) / (n * p)
    ref = scipy.linalg.solve(Phi.T @ Phi + n * lam * s * np.eye(p), Phi.T @ y, assume_a="pos")
    np.testing.assert_allclose(ridge_solve(Phi, y, lam), ref, rtol=1e-8, atol=1e-10)


@pytest.mark.equivalence
def test_kernel_ridge_matches_scipy_and_primal():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 4))
    y = rng.standard_normal(30)
    K = poly_kernel(X, X, 2)
    alpha = kernel_ridge_solve(K, y, 1e-3)
    s = np.mean(np.diag(K))
    ref = scipy.linalg.solve(K + 30 * 1e-3 * s * np.eye(30), y, assume_a="pos")
    np.testing.assert_allclose(alpha, ref, rtol=1e-8)
    a, choice = select_ridge(X, y, rng, lambdas=(1e-3, 1e-1))
    assert choice.lam in (1e-3, 1e-1) and a.shape == (4,)


def test_ridge_rejects_bad_penalty():
    with pytest.raises(SpecError, match="lam"):
        ridge_solve(np.eye(3), np.ones(3), 0.0)


def test_two_layer_gradients_finite_differences_and_loop():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3))
    y = rng.standard_normal(6)
    p = TwoLayerParams(rng.standard_normal((4, 3)), rng.standard_normal(4), rng.standard_normal(4))
    g = two_layer_gradients(p, X, y)
    eps = 1e-6
    for name in ("W", "b", "a"):
        arr = getattr(p, name)
        num = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            plus, minus = [TwoLayerParams(p.W.copy(), p.b.copy(), p.a.copy()) for _ in range(2)]
            getattr(plus, name)[idx] += eps
            getattr(minus, name)[idx] -= eps
            num[idx] = (two_layer_loss(plus, X, y) - two_layer_loss(minus, X, y)) / (2 * eps)
        np.testing.assert_allclose(getattr(g, name), num, rtol=1e-5, atol=1e-8)
    # plain loop reference (independent of the vectorised code)
    m, gW = 4, np.zeros((4, 3))
    for i in range(6):
        z = p.W @ X[i] + p.b
        r = (np.maximum(z, 0) @ p.a / 2.0 - y[i]) / 6
        for j in range(m):
            if z[j] > 0:
                gW[j] += r * p.a[j] / 2.0 * X[i]
    np.testing.assert_allclose(g.W, gW, rtol=1e-12)


def test_poly_krr_learns_a_quadratic():
    t = quadratic_target(4, seed=0, link=[0.0, 1.0])
    rng = np.random.default_rng(0)
    X, y = t.sample(300, rng)
    Xt, yt = t.sample(200, rng)
    pred = fit_poly_krr(X, y, rng, degree=2)(Xt)
    assert np.mean((pred - yt) ** 2) / np.var(yt) < 0.05


# ---------------------------------------------------------------- exponent study


def test_required_n_and_fit():
    assert required_n([100, 200, 400], [0.9, 0.6, 0.3], 0.6) == pytest.approx(200)
    assert required_n([100, 200, 400], [0.9, 0.7, 0.5], 0.6) == pytest.approx(200 * math.sqrt(2))
    assert math.isnan(required_n([100, 200], [0.9, 0.8], 0.5))
    assert math.isnan(required_n([100, 200], [0.4, 0.3], 0.5))  # left-censored
    assert fit_exponent([4, 8, 16], [16, 64, 256]) == pytest.approx(2.0)


def test_exponent_rows_recover_a_planted_exponent():
    cells = []
    for s, noise in enumerate([0.9, 1.0, 1.1]):
        for d in (4, 8, 16):
            for n in (1, 10, 100, 1000, 10000, 100000):
                n_half = noise * d ** 2.5  # loss = 1 / (1 + n / n_half): crosses 0.5 at n_half
                cells.append(ExponentCell(ExponentTask("relu_rf", d, n, s), 1 / (1 + n / n_half)))
    (row,) = exponent_rows(cells, 0.5)
    assert row.lo <= 2.5 <= row.hi and abs(row.exponent - 2.5) < 0.35 and row.censored == 0


def test_exponent_study_uses_the_given_map_and_checks_input():
    calls = []

    def spy_map(f, tasks):
        tasks = list(tasks)
        calls.append(len(tasks))
        return map(f, tasks)
    rows, cells = exponent_study([4, 6], [40, 80], [0, 1], learners=["relu_rf"], map=spy_map,
                                 n_test=50)
    assert calls == [8] and len(cells) == 8 and rows[0].learner == "relu_rf"
    with pytest.raises(SpecError, match="at least 2"):
        exponent_study([4], [40, 80], [0, 1])
    with pytest.raises(SpecError, match="learner"):
        exponent_study([4, 6], [40, 80], [0, 1], learners=["nope"])


# ---------------------------------------------------------------- CLI


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    bad = tmp_path / "A.npy"
    np.save(bad, np.arange(16.0).reshape(4, 4))
    assert main(["three-layer", "--matrix", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not symmetric" in err[0] and "--normalise" in err[0]
    for args, word in ((["--n1", "0"], "--n1=0"), (["--n2", "0"], "--n2=0"),
                       (["--m1", "0"], "--m1=0"), (["--sigma1", "gelu"], "--sigma1")):
        assert main(["three-layer", *args]) == 2
        assert word in capsys.readouterr().err


def test_cli_runs_small(tmp_path, capsys):
    good = tmp_path / "A.npy"
    np.save(good, np.arange(16.0).reshape(4, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["three-layer", "--matrix", str(good), "--normalise", "--n1", "200",
                     "--n2", "100", "--m1", "32", "--m2", "8"]) == 0
    out = capsys.readouterr().out
    assert "normalised" in out and "corr(phi, x^T A x)=" in out


# ---------------------------------------------------------------- claims: failing variants


def test_oracle_claim_fails_with_a_wrong_oracle():
    wrong = lambda d, dist, frob2: 2.0 * frob2  # noqa: E731  (Gaussian formula on the sphere)
    res = P.variance_exact.variant("gaussian_formula", oracle=wrong).check()
    assert res.verdict == "fails" and res.counterexample["dist"] == "sphere"
    assert P.variance_exact.variant("trace", trace_free=False).check().verdict == "fails"
    assert P.variance_exact.check().verdict == "holds"


def test_oracle_mc_claim_fails_with_a_wrong_oracle():
    wrong = lambda d, dist, frob2: 2.0 * frob2  # noqa: E731
    assert P.variance_mc.variant("wrong", oracle=wrong).check().verdict == "fails"


def test_correlation_claim_fails_with_a_frozen_middle_layer():
    frozen = P.correlation_rises.variant("frozen", eta=0.0)
    ms = evaluate(frozen, {**P.QUICK_B, "seeds": 3, "n1s": (400, 1600), "n2": 1000})
    assert [m.verdict(frozen.z) for m in ms] == ["fails", "fails", "fails"]


def test_correlation_claim_fails_with_an_odd_activation():
    ms = evaluate(P.correlation_rises.variant("odd", sigma1="tanh"),
                  {**P.QUICK_B, "seeds": 3, "n1s": (400, 3200)})
    assert any(m.verdict(4.0) == "fails" for m in ms)


def test_beats_claim_fails_when_frozen_or_too_demanding():
    """The natural control, a frozen middle layer (eta=0: the same random features and
    read-out, no learned feature), loses to the baselines at every d; a factor of 3 is more
    than the ladder's top rung gives."""
    cheap = {**P.QUICK_C, "ds": (8, 12), "seeds": 3}
    frozen = P.beats_two_layer.variant("frozen", eta=0.0, baselines=("relu_rf",))
    ms = evaluate(frozen, cheap)
    top = [m for m in ms if m.label.startswith("log(best")][0]
    assert top.verdict(frozen.z) == "fails"
    assert max(top.detail["d12"]["three_layer_mse"]) > 0.9
    demanding = P.beats_two_layer.variant("x3", factor=3.0, baselines=("relu_rf",))
    top = [m for m in evaluate(demanding, cheap) if m.label.startswith("log(best")][0]
    assert top.verdict(demanding.z) == "fails"


def test_beats_claim_catches_an_under_trained_gd_baseline():
    """20 steps of GD: the validation loss is still falling when the budget ends, so the
    convergence check must fail (an under-trained baseline would overstate the gap)."""
    short = P.beats_two_layer.variant("gd20", baselines=("two_layer_gd",))
    ms = evaluate(short, {**P.QUICK_C, "ds": (8,), "seeds": 2, "gd": {"m": 32, "steps": 20}})
    gd = [m for m in ms if m.label.startswith("GD")][0]
    assert gd.verdict(short.z) == "fails" and gd.value > 0.01


def test_gd_convergence_diagnostics():
    from theorycheck.papers.three_layer.baselines import gd_convergence

    # validation best at step 40, flat afterwards: converged
    hist = [(0, 1.0, 1.0), (20, 0.5, 0.6), (40, 0.4, 0.5), (60, 0.3, 0.55), (80, 0.2, 0.6)]
    c = gd_convergence(hist)
    assert c["val_rel_gain"] == 0.0 and c["best_step"] == 40 and c["steps"] == 80
    assert c["train_rel_change"] == pytest.approx((0.3 - 0.2) / 0.3)
    # still improving in the last quarter: (0.5 - 0.4) / 0.5
    hist[-1] = (80, 0.2, 0.4)
    assert gd_convergence(hist)["val_rel_gain"] == pytest.approx(0.2)


def test_run_baseline_info_does_not_change_the_result():
    from theorycheck.papers.three_layer.baselines import run_baseline

    t = quadratic_target(6, seed=0)
    a = run_baseline("two_layer_gd", t, 200, np.random.default_rng(1), n_test=100, m=16, steps=40)
    info = {}
    b = run_baseline("two_layer_gd", t, 200, np.random.default_rng(1), n_test=100, m=16, steps=40,
                     info=info)
    assert a == b and info["steps"] == 40 and "val_rel_gain" in info


@pytest.mark.slow
@pytest.mark.parametrize("claim_", [P.correlation_rises, P.beats_two_layer])
def test_claims_hold_at_quick_scale(claim_):
    res = claim_.check(scale="quick")
    assert res.verdict == "holds", res.worst


@pytest.mark.slow
def test_beats_two_layer_at_full_scale():
    """d = 8, 16, 32 at n = 8 d^2, 3 seeds (about 10 minutes on one core): the ladder whose
    top rung (KRR at n = 8192) the quick scale cannot afford."""
    res = P.beats_two_layer.check(scale="full")
    assert res.verdict == "holds", res.worst


def test_shared_first_layer_features_give_the_recomputed_numbers():
    """The n1 ladder and one run reuse sigma1(VX) - shift across calls; every consumer must give
    the bits it gives when it recomputes the features in row batches (batch not dividing n)."""
    from theorycheck.papers.three_layer.learner import (ThreeLayerConfig, init_network, learned_feature,
                                                        stage1, stage2)
    rng = np.random.default_rng(5)
    cfg = ThreeLayerConfig(m1=96, m2=24, batch=37)
    net = init_network(6, cfg, rng, "sphere")
    X1, X = rng.standard_normal((50, 6)), rng.standard_normal((101, 6))
    net = stage1(net, X1, X1[:, 0] * X1[:, 1])
    H = net.shared_features(X)
    assert H.shape == (101, 96)
    a = stage2(net, X, X[:, 2] ** 2, np.random.default_rng(1))
    b = stage2(net, X, X[:, 2] ** 2, np.random.default_rng(1), H)
    assert np.array_equal(a.b, b.b) and np.array_equal(a.a, b.a)
    assert np.array_equal(a(X), a(X, H)) and np.array_equal(learned_feature(a, X), learned_feature(a, X, H))


def test_shared_features_are_not_kept_beyond_their_memory_cap(monkeypatch):
    from theorycheck.papers.three_layer import learner as TL
    net = TL.init_network(4, TL.ThreeLayerConfig(m1=64, m2=8), np.random.default_rng(0), "sphere")
    X = np.random.default_rng(1).standard_normal((40, 4))
    assert net.shared_features(X) is not None
    monkeypatch.setattr(TL, "SHARED_FEATURE_BYTES", 8 * 40 * 64 - 1)
    assert net.shared_features(X) is None
    assert TL._shared_bytes(40, 64) == 0


def test_middle_layer_gradient_at_zero_weights_skips_only_a_zero_product():
    from theorycheck.papers.three_layer.learner import middle_layer_gradient
    rng = np.random.default_rng(2)
    H1, y = rng.standard_normal((40, 12)), rng.standard_normal(40)
    W, b, a = np.zeros((5, 12)), rng.standard_normal(5), rng.choice([-1.0, 1.0], 5)
    fast = middle_layer_gradient(W, b, a, H1, y, "relu", 0.1)
    Z = H1 @ W.T + b
    r = np.maximum(Z, 0.0) @ a - y
    ref = ((r[:, None] * (Z >= 0)) * a[None, :]).T @ H1 / 40 + 0.1 * W
    assert np.array_equal(fast, ref)
    H1[3, 4] = np.inf          # inf * 0 is NaN: the product is not skipped
    assert np.isnan(middle_layer_gradient(W, b, a, H1, y, "relu")).any()


def test_gd_gradient_pass_agrees_with_two_layer_gradients():
    from theorycheck.papers.three_layer.baselines import _Gradients
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((57, 5)), rng.standard_normal(57)
    p = TwoLayerParams(rng.standard_normal((23, 5)), rng.standard_normal(23), rng.standard_normal(23))
    ref, fast = two_layer_gradients(p, X, y), _Gradients(X, y, 23)(p)
    for name in ("W", "b", "a"):
        np.testing.assert_allclose(getattr(fast, name), getattr(ref, name), rtol=1e-12, atol=1e-15)
    again = _Gradients(X, y, 23)
    again(TwoLayerParams(p.W + 1.0, p.b, p.a))          # the work arrays keep nothing between calls
    assert np.array_equal(again(p).W, fast.W)
