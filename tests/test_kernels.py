"""Kernel methods, the span lemma and the scaling study (docs/theory.md §1.7)."""

import json
import math

import numpy as np
import pytest

from theorycheck.proofs import kernels as KC
from theorycheck.papers.bfc import learner as Lr
from theorycheck.commands.main import main
from theorycheck.errors import NumericalError, SpecError
from theorycheck.maths.kernel_methods import check_memory, fit_kernel_ridge, gram, gram_memory_bytes
from theorycheck.maths.ridge import kernel_ridge_solve
from theorycheck.papers.bfc.ntk import make_kernel, ntk_features
from theorycheck.papers.bfc.span_lemma import degree_q_sections, dim_q, multi_indices, span_experiment
from theorycheck.papers.bfc.target import build_target


# ------------------------------------------------------------------ empirical NTK features
def _learner(L, tied, d=5, B=16.0):
    t = build_target(d=d, L=L, k_target=2, seed=3)
    spec = Lr.learner_spec_for(t, k=3, tied=tied, m=None if tied else 4, B=B)
    return Lr.init_learner(spec, rng=np.random.default_rng(1), scale=0.6)


@pytest.mark.parametrize("L,tied,B", [(2, True, 16.0), (3, True, 16.0), (3, False, 1.5), (4, True, 16.0)])
def test_ntk_features_match_finite_differences(L, tied, B):
    P = _learner(L, tied, B=B)
    X = np.random.default_rng(2).standard_normal((4, P.spec.d))
    J = ntk_features(P, X)
    h = 1e-6
    Jfd = np.empty_like(J)
    for p in range(J.shape[1]):
        Q = P.copy()
        Q.theta[p] += h
        fp = Lr.forward(Q, X, path="blas")[0]
        Q.theta[p] -= 2 * h
        Jfd[:, p] = (fp - Lr.forward(Q, X, path="blas")[0]) / (2 * h)
    np.testing.assert_allclose(J, Jfd, atol=1e-6 * (1 + np.abs(J).max()))


@pytest.mark.parametrize("L,tied", [(2, True), (3, False)])
def test_ntk_features_contract_to_the_learner_gradient(L, tied):
    """J^T dloss/df equals the learner's own gradient (the fused loop kernel, another code path)."""
    P = _learner(L, tied)
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((7, P.spec.d)), rng.standard_normal(7)
    f = Lr.forward(P, X, path="blas")[0]
    _, g = Lr.loss_and_grad(P, X, y, path="loops")
    np.testing.assert_allclose(ntk_features(P, X).T @ (2 * (f - y) / 7), g, rtol=1e-10,
                               atol=1e-10 * np.abs(g).max())


def test_ntk_features_match_torch_autograd():
    torch = pytest.importorskip("torch", reason="torch not installed: autograd reference of the NTK "
                                "features skipped (finite differences above still run)")
    spec = Lr.learner_spec(4, 3, k=3, m=5, B=1.5, tied=False)
    P = Lr.init_learner(spec, rng=np.random.default_rng(5), scale=0.8)
    X = np.random.default_rng(6).standard_normal((3, 4))
    J = ntk_features(P, X)
    view = Lr.LearnerParams(spec, np.arange(P.theta.size, dtype=np.float64), P.R)
    R = torch.tensor(P.R[2])

    def st_(z):
        return torch.where(z.abs() <= 1.5, z * z, 3.0 * z.abs() - 2.25)
    for i in range(3):
        M2, M3 = (torch.tensor(P.M(l), requires_grad=True) for l in (2, 3))
        b3 = torch.tensor(P.b(3), requires_grad=True)
        x = torch.tensor(X[i:i + 1])
        P2 = torch.cat([x, x * x - 1], 1) @ M2.T
        P3 = ((P2[:, :3] @ R.T) ** 2 - b3) @ M3.T
        f = st_(P2[:, 3:]).sum() + spec.alphas[1] * st_(P3[:, 3:]).sum()
        f.backward()
        for idx, ref in ((view.M(2), M2.grad), (view.M(3), M3.grad), (view.b(3), b3.grad)):
            np.testing.assert_allclose(J[i, idx.astype(int).ravel()], ref.numpy().ravel(), rtol=1e-10,
                                       atol=1e-12)


# ------------------------------------------------------------------ Gram and ridge
@pytest.mark.equivalence
@pytest.mark.parametrize("name", ["poly", "gaussian", "rf"])
def test_blocked_gram_equals_one_block(name):
    rng = np.random.default_rng(0)
    X, Z = rng.standard_normal((37, 6)), rng.standard_normal((11, 6))
    spec = make_kernel(name, 6, q=3, m=50, rng=np.random.default_rng(1))
    np.testing.assert_allclose(gram(spec, X, Z, block=5), gram(spec, X, Z, block=1000), rtol=1e-13)
    K = gram(spec, X, block=4)
    np.testing.assert_allclose(K, K.T, rtol=1e-12, atol=1e-13)
    if name == "gaussian":
        ref = np.exp(-((X[:, None] - Z[None]) ** 2).sum(-1) / (2 * 6))
        np.testing.assert_allclose(gram(spec, X, Z), ref, rtol=1e-12)
    if name == "poly":
        np.testing.assert_allclose(gram(spec, X, Z), (1 + X @ Z.T / 6) ** 3, rtol=1e-13)


def test_cholesky_ridge_matches_a_dense_solve():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((40, 5)), rng.standard_normal(40)
    K = gram(make_kernel("poly", 5, q=2), X)
    lam = 1e-3
    s = np.mean(np.diag(K))
    ref = np.linalg.solve(K + 40 * lam * s * np.eye(40), y)
    np.testing.assert_allclose(kernel_ridge_solve(K, y, lam), ref, rtol=1e-9)


def test_poly_krr_recovers_a_polynomial_of_its_degree():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 3))
    f = lambda A: A[:, 0] * A[:, 1] - 0.5 * A[:, 2] ** 2 + A[:, 0]  # noqa: E731
    fit = fit_kernel_ridge(make_kernel("poly", 3, q=2), X, f(X), rng, lambdas=(1e-10, 1e-2))
    Xt = rng.standard_normal((200, 3))
    assert fit.lam == 1e-10
    np.testing.assert_allclose(fit(Xt), f(Xt), atol=1e-5)


def test_memory_budget_refuses_clearly():
    assert gram_memory_bytes(20000) >= 8 * 20000 ** 2
    with pytest.raises(SpecError, match=r"N=20000 needs .* GiB .* use N <= \d+"):
        check_memory(20000, budget_bytes=2 ** 30)
    check_memory(1000, budget_bytes=2 ** 30)
    with pytest.raises(SpecError, match="N=50000"):
        fit_kernel_ridge(make_kernel("gaussian", 2), np.zeros((50000, 2)), np.zeros(50000),
                         np.random.default_rng(0), memory_budget=2 ** 30)
    # the degree-4 polynomial kernel on R^2 has 15 features: solved in feature space, no Gram
    fit = fit_kernel_ridge(make_kernel("poly", 2), np.ones((50000, 2)), np.zeros(50000),
                           np.random.default_rng(0), memory_budget=2 ** 30)
    assert fit.alpha is None and fit.weights.shape == (15,)


def test_poly_features_reproduce_the_polynomial_kernel():
    from theorycheck.maths.kernel_methods import poly_feature_count, poly_features, poly_kernel
    rng = np.random.default_rng(7)
    for d, q in [(1, 1), (3, 2), (5, 4), (2, 5)]:
        A, B = rng.standard_normal((9, d)), rng.standard_normal((6, d))
        F = poly_features(A, q)
        assert F.shape == (9, poly_feature_count(d, q))
        K = poly_kernel(A, B, q)
        np.testing.assert_allclose(F @ poly_features(B, q).T, K, rtol=1e-12,
                                   atol=1e-13 * np.abs(K).max())


@pytest.mark.parametrize("name,d,n", [("poly", 4, 400), ("poly", 6, 900), ("rf", 5, 600)])
def test_feature_space_ridge_agrees_with_the_dual(monkeypatch, name, d, n):
    """The feature-space solve is the same predictor as the dual Cholesky solve: same penalty
    chosen, predictions equal to 1e-6 relative (the pinned dual numbers stay the reference)."""
    import theorycheck.maths.kernel_methods as km
    rng = np.random.default_rng(3)
    X = rng.standard_normal((n, d))
    Y = np.stack([np.sin(X[:, 0]) * X[:, 1] ** 2, X[:, -1] ** 3], axis=1) + 0.05 * rng.standard_normal((n, 2))
    Xt = rng.standard_normal((300, d))
    spec = km.make_kernel(name, d, m=64, rng=np.random.default_rng(1))
    primal = km.fit_kernel_ridge(spec, X, Y, np.random.default_rng(2))
    monkeypatch.setattr(km, "PRIMAL_MARGIN", -1.0)  # never cheaper: the dual
    dual = km.fit_kernel_ridge(spec, X, Y, np.random.default_rng(2))
    assert primal.weights is not None and dual.weights is None
    assert primal.lam == dual.lam
    np.testing.assert_allclose(primal.val_losses, dual.val_losses, rtol=1e-6)
    ref = dual(Xt)
    np.testing.assert_allclose(primal(Xt), ref, rtol=0, atol=1e-6 * np.abs(ref).max())


def test_the_cost_model_keeps_the_dual_where_it_is_cheaper():
    from theorycheck.maths.kernel_methods import primal_is_cheaper
    assert primal_is_cheaper(6554, 8192, 3060, 4)        # d = 14, q = 4 at N = 8192
    assert not primal_is_cheaper(77, 96, 210, 4)          # the pinned small cells
    assert not primal_is_cheaper(9600, 12000, 58905, 6)   # d = 32: more features than rows
    assert primal_is_cheaper(0, 50000, 15, 0)             # no validation, one fit


def test_bad_inputs_are_one_line_errors():
    X, y = np.random.default_rng(0).standard_normal((20, 3)), np.zeros(20)
    with pytest.raises(SpecError, match="ridge=0"):
        fit_kernel_ridge(make_kernel("poly", 3), X, y, np.random.default_rng(0), lambdas=(0.0,))
    with pytest.raises(SpecError, match="lam=-1"):
        kernel_ridge_solve(np.eye(3), np.zeros(3), -1.0)
    with pytest.raises(SpecError, match="kernel='laplace'"):
        make_kernel("laplace", 3)
    fit = fit_kernel_ridge(make_kernel("poly", 3), X, y, np.random.default_rng(0))
    with pytest.raises(SpecError, match="X has shape"):
        fit(np.zeros((4, 5)))
    with pytest.raises(SpecError, match="learner has d=5 but the data has d=3"):
        make_kernel("ntk", 3, learner=_learner(2, True))
    with pytest.raises(SpecError, match="needs the learner"):
        make_kernel("ntk", 3)
    with pytest.raises(NumericalError, match="not positive definite"):
        kernel_ridge_solve(-np.eye(3), np.zeros(3), 1e-8)


# ------------------------------------------------------------------ span lemma
def test_dimensions_of_the_degree_spaces():
    assert [dim_q(5, q) for q in range(5)] == [1, 5, 15, 35, 70]
    assert dim_q(32, 4) == math.comb(35, 4)
    al = multi_indices(4, 3)
    assert al.shape == (dim_q(4, 3), 4) and np.all(al.sum(1) == 3)
    assert len({tuple(a) for a in al}) == al.shape[0]


@pytest.mark.parametrize("kernel", ["poly", "gaussian"])
def test_degree_q_sections_match_monte_carlo_projections(kernel):
    """<K(x, .), h_alpha> by Monte Carlo over y ~ N(0, I) agrees with the exact sections."""
    from numpy.polynomial.hermite_e import hermeval
    rng = np.random.default_rng(7)
    d, q = 2, 2
    X = rng.standard_normal((2, d))
    C = degree_q_sections(kernel, X, q, degree=3)
    Y = rng.standard_normal((400000, d))
    spec = make_kernel(kernel, d, q=3)
    K = gram(spec, X, Y)
    for j, a in enumerate(multi_indices(d, q)):
        h = np.prod([hermeval(Y[:, i], [0] * a[i] + [1]) / math.sqrt(math.factorial(a[i]))
                     for i in range(d)], axis=0)
        mc = (K * h).mean(1)
        se = (K * h).std(1) / math.sqrt(Y.shape[0])
        assert np.all(np.abs(mc - C[:, j]) <= 5 * se + 1e-12), (kernel, a, mc, C[:, j], se)


def test_random_directions_residual_equals_dimension_count():
    r = span_experiment("poly", 4, 3, 10, np.random.default_rng(0), r=2.0, directions=4000)
    assert r.rank_U == 10 and r.D_q == 20
    assert r.exact == pytest.approx(4.0 * (1 - 10 / 20))
    assert abs(r.mc_mean - r.exact) < 5 * r.mc_stderr


def test_span_lemma_claim_holds_and_its_mutant_fails():
    assert KC.span_lemma.check(scale="quick").verdict == "holds"
    bad = KC.span_lemma.variant(with_factor=False).check(scale="quick")
    assert bad.verdict == "fails"


# ------------------------------------------------------------------ CLI and run kind
def test_cli_span_and_bad_kernel(capsys):
    assert main(["kernel", "span", "--kernel", "gaussian", "--d", "4", "--q", "2", "--N", "4"]) == 0
    out = capsys.readouterr().out
    assert "D_q=10" in out and "1 - N/D_q = 0.6000" in out
    assert main(["kernel", "span", "--kernel", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "kernel='nope'" in err[0]


def test_kernel_fit_run_kind_and_scaling_cli(tmp_path, capsys):
    from theorycheck.papers.bfc.kernel_scaling import KERNEL_FIT
    from theorycheck.papers.bfc.training import MemoryRecorder
    from theorycheck.runs.kinds import get_kind
    kind = get_kind("kernel-fit")
    assert kind is KERNEL_FIT
    cfg = KERNEL_FIT.parse({"learner": "poly", "d": 4, "L": 2, "N": 64, "q": 0, "bandwidth": 1.0,
                            "m": 16, "k_target": 2, "delta": 0.25, "steps": 10, "n_test": 200})
    out = KERNEL_FIT.fn(cfg, 0, MemoryRecorder())
    assert out["rel_mse"] >= 0 and out["ridge"] > 0
    js = tmp_path / "c.json"
    assert main(["kernel", "scaling", "--Ls", "2", "--ds", "4,5", "--ns", "16,64,256", "--seeds", "2",
                 "--learners", "poly,ntk", "--json", str(js)]) == 0
    assert "| poly | 2 |" in capsys.readouterr().out
    data = json.loads(js.read_text())
    assert len(data["cells"]) == 2 * 2 * 3 * 2
    png = tmp_path / "f.png"
    assert main(["kernel", "figure", "--json", str(js), "--out", str(png)]) == 0
    assert png.stat().st_size > 1000


# ------------------------------------------------------------------ scaling claim
def test_scaling_claim_holds_at_quick_scale():
    res = KC.kernel_exponent.check(scale="quick")
    assert res.verdict == "holds", res.worst


def test_scaling_claim_fails_when_it_demands_the_asymptotic_exponent():
    """margin=0 asks the kernel's finite-d exponent to reach q* = 4 itself: at d <= 10 the
    dimension count C(d+4, 4) grows only like d^3.1, so this variant must fail."""
    res = KC.kernel_exponent.variant(margin=0.0, degree=4).check(scale="quick")
    assert res.verdict == "fails"


def test_error_degree_of_the_depth_two_target():
    from theorycheck.papers.bfc.kernel_scaling import error_degree
    q, share = error_degree(6, 2, 0.01, n=4000)
    assert q == 4 and share[4] > 0.2


def test_full_scale_path_runs_through_the_sweep_engine(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.toml").write_text('[sweep]\nkind = "kernel-fit"\nseeds = 2\n[base]\nsteps = 30\n'
                                     'n_test = 200\n[grid]\nlearner = ["poly", "gaussian"]\nd = [4, 5]\n'
                                     'N = [16, 64, 256]\n')
    assert main(["sweep", "g.toml", "--serial", "--store", "s.db", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["kernel", "scaling", "--from-store", "s.db", "--Ls", "2", "--json", "c.json"]) == 0
    out = capsys.readouterr().out
    assert "| poly | 2 |" in out and "| gaussian | 2 |" in out
    assert len(json.loads((tmp_path / "c.json").read_text())["cells"]) == 2 * 2 * 3 * 2
    assert main(["kernel", "scaling", "--from-store", "missing.db"]) == 2
    monkeypatch.setenv("THEORYCHECK_STORE", "s.db")  # --from-store alone: the default store
    assert main(["kernel", "scaling", "--from-store", "--Ls", "2", "--json", "d.json"]) == 0
    assert len(json.loads((tmp_path / "d.json").read_text())["cells"]) == 2 * 2 * 3 * 2


def test_target_energy_by_degree_exact_and_monte_carlo_agree():
    from theorycheck.papers.bfc.span_lemma import target_energy_by_degree
    t = build_target(d=3, L=2, k_target=2, seed=1)
    exact, how = target_energy_by_degree(t)
    mc, how_mc = target_energy_by_degree(t, exact_max_d=2, n=40000, rng=np.random.default_rng(0))
    assert (how, how_mc) == ("exact", "mc") and exact.shape == (5,)
    np.testing.assert_allclose(mc, exact, atol=0.05 * exact.sum())
