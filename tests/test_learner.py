"""The learner F (docs/theory.md §1.4): gradients (finite differences and a sympy
reference), agreement of the code paths, the planted oracle, truncation, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from theorycheck import NumericalError, SpecError
from theorycheck.papers.bfc import learner as Lr
from theorycheck.papers.bfc.target import build_target


# --------------------------------------------------------------------- strategies
@st.composite
def learners(draw, max_d=4, max_L=4):
    d = draw(st.integers(1, max_d))
    L = draw(st.integers(2, max_L))
    tied = draw(st.booleans())
    k = [draw(st.integers(1, 3)) for _ in range(L - 1)]
    m = None if tied else [kk + draw(st.integers(0, 2)) for kk in k]
    spec = Lr.learner_spec(d, L, k=k, m=m, connections=draw(st.sampled_from(["chain", "dense"])),
                           tied=tied, B=draw(st.sampled_from([0.7, 2.0, math.inf])),
                           centred=draw(st.booleans()), loss=draw(st.sampled_from(Lr.LOSSES)),
                           offsets=draw(st.booleans()), seed=draw(st.integers(0, 99)))
    n = draw(st.integers(1, 12))  # auto: loops below 8 samples, the fused BLAS kernel from 8
    return spec, n, draw(st.integers(0, 2**31))


def _instance(spec, n, seed, scale=0.6):
    """Parameters with O(1) entries and random offsets, a batch and labels."""
    rng = np.random.default_rng(seed)
    params = Lr.init_learner(spec, rng=rng, scale=scale * math.sqrt(3))
    params.theta[:] += 0.3 * rng.standard_normal(params.theta.size) * params.trainable_mask()
    X = rng.standard_normal((n, spec.d))
    y = (np.sign(rng.standard_normal(n)) + (rng.standard_normal(n) == 0) if spec.loss == "logistic"
         else rng.standard_normal(n))
    return params, X, y


def _blocks(params):
    """(name, index array into theta) for every trainable block K_{l,j}, W_{l,j}, b_{l,j}."""
    spec = params.spec
    idx = np.arange(params.theta.size)
    view = Lr.LearnerParams(spec, idx, params.R)
    mask = params.trainable_mask()
    out = []
    for l in range(2, spec.L + 1):
        for j in spec.J(l):
            out.append((f"K[{l},{j}]", view.K(l, j).ravel()))
            if not spec.tied:
                out.append((f"W[{l},{j}]", view.W(l, j).ravel()))
            if j >= 2 and spec.offsets:
                out.append((f"b[{l},{j}]", view.b(l, j).ravel()))
    return [(name, ix[mask[ix] == 1]) for name, ix in out]


REG = dict(lambda_tie=0.3, lambda_wd=0.05)


def _loss(params, theta, X, y):
    q = params.copy()
    q.theta[:] = theta
    return Lr.loss_and_grad(q, X, y, path="blas", **REG)[0]


# ---------------------------------------------------------------- finite differences
def _truncated(params, theta, X):
    q = params.copy()
    q.theta[:] = theta
    _, cache = Lr.forward(q, X, path="blas")
    return np.concatenate([(np.abs(Z) > q.spec.B).ravel() for Z in cache["Z"].values()])


def _kink_free_steps(params, X, v):
    steps = []
    for h in (1e-3, 1e-4, 1e-5):
        flags = [_truncated(params, params.theta + t * h * v, X) for t in (-2, 0, 2)]
        if all(np.array_equal(flags[1], f) for f in flags):
            steps.append(h)
    return steps


@given(learners())
@settings(deadline=None)
def test_gradient_matches_finite_differences_on_every_block(inst):
    spec, n, seed = inst
    params, X, y = _instance(spec, n, seed)
    rng = np.random.default_rng(seed + 1)
    grads = {p: Lr.loss_and_grad(params, X, y, path=p, **REG)[1] for p in ("loops", "fused", "blas")}
    loss = Lr.loss_and_grad(params, X, y, path="blas", **REG)[0]
    assume(loss < 1e8)  # deep O(1)-weight draws can reach 1e10, where FD resolves nothing
    for name, ix in _blocks(params):
        v = np.zeros(params.theta.size)
        v[ix] = rng.standard_normal(ix.size)
        # fourth-order central differences (truncation error O(h^4), rounding ~ eps |loss| / h):
        # the best of three steps must agree to 1e-6 relative, above the rounding floor
        # 100 eps |loss| / h that no difference quotient can resolve; steps whose stencil
        # crosses a kink of sigma_t (|z| = B, where the loss is only C^1) are not used
        errors = {path: [] for path in grads}
        for h in _kink_free_steps(params, X, v):
            th = params.theta
            fd = (-_loss(params, th + 2 * h * v, X, y) + 8 * _loss(params, th + h * v, X, y)
                  - 8 * _loss(params, th - h * v, X, y) + _loss(params, th - 2 * h * v, X, y)) / (12 * h)
            for path, g in grads.items():
                an = float(g @ v)
                floor = 100 * np.finfo(float).eps * loss / h
                errors[path].append(max(abs(an - fd) - floor, 0.0) / max(abs(an), abs(fd), 1e-12))
        assume(errors["blas"])
        for path, errs in errors.items():
            assert min(errs) < 1e-6, (name, path, errs)


def test_frozen_layers_get_zero_gradient_and_no_update():
    spec = Lr.learner_spec(3, 3, k=2, m=3, tied=False)
    params, X, y = _instance(spec, 5, 0)
    frozen = params.with_frozen([2])
    for path in ("loops", "fused", "blas"):
        _, g = Lr.loss_and_grad(frozen, X, y, path=path, **REG)
        _, g_all = Lr.loss_and_grad(params, X, y, path=path, **REG)
        assert not np.any(g[:frozen.M(2).size])
        assert np.linalg.norm(g_all[:frozen.M(2).size]) > 0
        q = frozen.copy()
        Lr.sgd_step(q, X, y, 0.01, path=path, lambda_wd=0.1)
        np.testing.assert_array_equal(q.M(2), frozen.M(2))
        assert not np.array_equal(q.M(3), frozen.M(3))


# ------------------------------------------------------------------- sympy reference
def _sympy_learner(spec, R, X, y, B):
    """Loss of F as a sympy expression of all trainable entries (independent of the kernels)."""
    def st_(z):
        if B == math.inf:
            return z ** 2
        return sp.Piecewise((z ** 2, sp.Abs(z) <= B), (2 * B * sp.Abs(z) - B ** 2, True))

    syms, blocks = [], {}
    for l in range(2, spec.L + 1):
        for j in spec.J(l):
            w = spec.phi_width(j)
            K = sp.Matrix(spec.k(l), w, lambda a, b: sp.Symbol(f"K{l}_{j}_{a}_{b}", real=True))
            W = K if spec.tied else sp.Matrix(spec.m[l - 2], w, lambda a, b: sp.Symbol(f"W{l}_{j}_{a}_{b}", real=True))
            bb = (sp.Matrix(w, 1, lambda a, _: sp.Symbol(f"b{l}_{j}_{a}", real=True)) if j >= 2
                  else sp.zeros(w, 1))
            blocks[(l, j)] = (K, W, bb)
            syms += list(K) + ([] if spec.tied else list(W)) + (list(bb) if j >= 2 else [])
    total = 0
    for x, yy in zip(X, y):
        phi = {0: sp.Matrix(x), 1: sp.Matrix([xi ** 2 - (1 if spec.centred else 0) for xi in x])}
        F = 0
        for l in range(2, spec.L + 1):
            S = sum((blocks[(l, j)][0] * (phi[j] - blocks[(l, j)][2]) for j in spec.J(l)),
                    sp.zeros(spec.k(l), 1))
            Z = sum((blocks[(l, j)][1] * (phi[j] - blocks[(l, j)][2]) for j in spec.J(l)),
                    sp.zeros(blocks[(l, spec.J(l)[0])][1].rows, 1))
            F += spec.alphas[l - 2] * sum(st_(z) for z in Z)
            if l < spec.L:
                U = sp.Matrix(R[l]) * S
                phi[l] = U.applyfunc(lambda u: u ** 2)
        total += (F - yy) ** 2
    return total / len(y), syms


def _theta_values(params, syms):
    vals = {}
    for l in range(2, params.spec.L + 1):
        for j in params.spec.J(l):
            for a, b in np.ndindex(params.K(l, j).shape):
                vals[f"K{l}_{j}_{a}_{b}"] = params.K(l, j)[a, b]
            if not params.spec.tied:
                for a, b in np.ndindex(params.W(l, j).shape):
                    vals[f"W{l}_{j}_{a}_{b}"] = params.W(l, j)[a, b]
            if j >= 2:
                for a in range(params.b(l, j).size):
                    vals[f"b{l}_{j}_{a}"] = params.b(l, j)[a]
    return [float(vals[s.name]) for s in syms]


@pytest.mark.parametrize("tied,B", [(False, math.inf), (True, math.inf), (False, 1.0)])
def test_gradient_matches_sympy_derivative(tied, B):
    spec = Lr.learner_spec(2, 3, k=2, m=None if tied else 3, tied=tied, B=B, lift_rows=3)
    params, X, y = _instance(spec, 2 if B == math.inf else 1, 7)
    expr, syms = _sympy_learner(spec, params.R, X, y, B)
    vals = _theta_values(params, syms)
    f = sp.lambdify(syms, [expr] + [sp.diff(expr, s) for s in syms], "math")
    out = np.array(f(*vals), dtype=float)
    ref_loss, ref_grad = out[0], out[1:]
    view = Lr.LearnerParams(spec, np.arange(params.theta.size), params.R)
    order = np.array([_index_of(view, s.name) for s in syms])
    for path in ("loops", "fused", "blas"):
        loss, g = Lr.loss_and_grad(params, X, y, path=path)
        assert loss == pytest.approx(ref_loss, rel=1e-10)
        np.testing.assert_allclose(g[order], ref_grad, rtol=1e-10, atol=1e-10 * np.abs(ref_grad).max())
    if B != math.inf:  # the instance must exercise the truncated branch
        _, cache = Lr.forward(params, X, path="blas")
        assert any(np.any(np.abs(Z) > B) for Z in cache["Z"].values())


def _index_of(view, name):
    kind, rest = name[0], name[1:].split("_")
    l, j = int(rest[0]), int(rest[1])
    if kind == "b":
        return int(view.b(l, j)[int(rest[2])])
    block = view.K(l, j) if kind == "K" else view.W(l, j)
    return int(block[int(rest[2]), int(rest[3])])


def test_gradient_matches_torch_autograd():
    torch = pytest.importorskip("torch", reason="torch not installed: autograd reference skipped "
                                "(the sympy reference above still runs)")
    spec = Lr.learner_spec(4, 3, k=3, m=5, B=1.5, tied=False)
    params, X, y = _instance(spec, 9, 3)
    M2, M3 = (torch.tensor(params.M(l), requires_grad=True) for l in (2, 3))
    b3 = torch.tensor(params.b(3), requires_grad=True)
    Xt, yt, R = torch.tensor(X), torch.tensor(y), torch.tensor(params.R[2])

    def st_(z):
        return torch.where(z.abs() <= 1.5, z * z, 3.0 * z.abs() - 2.25)
    P2 = torch.cat([Xt, Xt * Xt - 1], 1) @ M2.T
    P3 = ((P2[:, :3] @ R.T) ** 2 - b3) @ M3.T
    f = st_(P2[:, 3:]).sum(1) + spec.alphas[1] * st_(P3[:, 3:]).sum(1)
    ((f - yt) ** 2).mean().backward()
    for path in ("loops", "fused"):
        _, g = Lr.loss_and_grad(params, X, y, path=path)
        grad = Lr.LearnerParams(spec, g, params.R)
        for ours, ref in ((grad.M(2), M2.grad), (grad.M(3), M3.grad), (grad.b(3), b3.grad)):
            np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ path agreement
@pytest.mark.equivalence
@given(learners(max_d=5))
@settings(deadline=None)
def test_fastmath_kernels_agree_with_plain_blas_path(inst):
    spec, n, seed = inst
    params, X, y = _instance(spec, n, seed)
    l0, g0 = Lr.loss_and_grad(params, X, y, path="blas", **REG)
    tol = 1e-12 * (1 + np.abs(g0).max())
    f0, _ = Lr.forward(params, X, path="blas")
    for path in ("loops", "fused", "auto"):
        l1, g1 = Lr.loss_and_grad(params, X, y, path=path, **REG)
        assert l1 == pytest.approx(l0, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(g1, g0, rtol=1e-11, atol=tol)
        f1, _ = Lr.forward(params, X, path=path)
        np.testing.assert_allclose(f1, f0, rtol=1e-12, atol=1e-12)


@pytest.mark.equivalence
@pytest.mark.parametrize("path,n", [("loops", 1), ("loops", 3), ("loops", 8), ("fused", 8),
                                    ("fused", 64), ("blas", 8)])
def test_fused_sgd_step_equals_gradient_step(path, n):
    spec = Lr.learner_spec(4, 4, k=[3, 2, 2], m=[4, 3, 5], connections="dense", tied=False)
    params, X, y = _instance(spec, n, 1)
    params = params.with_frozen([3])
    _, g = Lr.loss_and_grad(params, X, y, lambda_wd=0.05, path="blas")
    expected = params.theta - 0.01 * g * params.trainable_mask()
    q = params.copy()
    Lr.sgd_step(q, X, y, 0.01, lambda_wd=0.05, path=path)
    np.testing.assert_allclose(q.theta, expected, rtol=1e-12, atol=1e-13)


@pytest.mark.equivalence
@pytest.mark.parametrize("B", [math.inf, 1e4, 0.5])
def test_fused_quadratic_identity_agrees_with_plain_blas_path(B):
    """A wide learner at a large batch: the fused kernel takes the quadratic identity
    dL/dW = 2 W IN^T diag(c) IN, and the quadratic form IN_s^T (W^T W) IN_s for F, where no
    entry can be truncated (B = inf, or B = 1e4 above every |W_r| |IN_s|) and the direct
    products where some are (B = 0.5); both must match the plain path."""
    from theorycheck.papers.bfc import learner_fused as LF
    spec = Lr.learner_spec(3, 3, k=2, m=40, B=B, tied=False)          # nin = 6 (layer 2) and 5 (layer 3)
    params, X, y = _instance(spec, 64, 2, scale=0.3)
    assert LF.quadratic_pays(64, 40, 6, True, False) and LF.quadratic_pays(64, 40, 5, True, True)
    assert LF.forward_quadratic_pays(64, 40, 6) and LF.forward_quadratic_pays(64, 40, 5)
    f, cache = Lr.forward(params, X, path="blas")
    assert any(np.any(np.abs(Z) > B) for Z in cache["Z"].values()) == (B == 0.5)
    if B == 1e4:
        for l, Z in cache["Z"].items():
            bound = (np.linalg.norm(params.W(l), axis=1).max()
                     * np.linalg.norm(cache["IN"][l], axis=1).max())
            assert bound <= B
    f1, _ = Lr.forward(params, X, path="fused")
    np.testing.assert_allclose(f1, f, rtol=1e-12)
    y = f * (1.0 + np.random.default_rng(3).standard_normal(f.size))   # residuals of both signs
    assert np.any(f > y) and np.any(f < y)
    _fused_step_agrees_with_plain(params, X, y)


@pytest.mark.equivalence
def test_fused_quadratic_identity_on_the_syrk_route():
    """The identity with Grams wide enough for syrk (64 inputs): forward, gradient and step
    agree with the plain path."""
    from theorycheck.papers.bfc import learner_fused as LF
    spec = Lr.learner_spec(32, 2, k=2, m=160, B=math.inf, tied=False)    # nin = 64
    params, X, y = _instance(spec, 256, 5, scale=0.2)
    assert LF.forward_quadratic_pays(256, 160, 64) and LF.quadratic_pays(256, 160, 64, True, False)
    assert not LF.syrk_loses(256, 64) and not LF.syrk_loses(160, 64)
    f, _ = Lr.forward(params, X, path="blas")
    np.testing.assert_allclose(Lr.forward(params, X, path="fused")[0], f, rtol=1e-12)
    y = f * (1.0 + np.random.default_rng(6).standard_normal(f.size))
    _fused_step_agrees_with_plain(params, X, y)


def _fused_step_agrees_with_plain(params, X, y):
    """Loss, gradient and one SGD step with weight decay: fused path against the plain one."""
    l0, g0 = Lr.loss_and_grad(params, X, y, path="blas", **REG)
    l1, g1 = Lr.loss_and_grad(params, X, y, path="fused", **REG)
    assert l1 == pytest.approx(l0, rel=1e-12)
    np.testing.assert_allclose(g1, g0, rtol=1e-11, atol=1e-12 * np.abs(g0).max())
    q0, q1 = params.copy(), params.copy()
    Lr.sgd_step(q0, X, y, 0.01, lambda_wd=0.05, path="blas")
    Lr.sgd_step(q1, X, y, 0.01, lambda_wd=0.05, path="fused")
    np.testing.assert_allclose(q1.theta, q0.theta, rtol=1e-12, atol=1e-13)


@pytest.mark.equivalence
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rows,nin,by_gemm", [(256, 38, True), (64, 96, False), (0, 20, True),
                                              (1024, 24, False)])
def test_sym_gram_is_the_gram_on_either_blas_route(rows, nin, by_gemm, dtype):
    """The fused step's Grams go through GEMM on narrow inputs and syrk (lower triangle,
    mirrored) otherwise; both must give alpha A^T A + beta C on the whole square, also for an
    empty A (the kernel's split into rows of positive and negative weight may leave one so)."""
    from theorycheck.papers.bfc import learner_fused as LF
    assert bool(LF.syrk_loses(rows, nin)) == by_gemm
    rng = np.random.default_rng(rows + nin)
    A = rng.standard_normal((rows, nin)).astype(dtype)
    C0 = rng.standard_normal((nin, nin)).astype(dtype)
    C0 = C0 + C0.T
    C = C0.copy()
    LF._sym_gram(A, C, -0.5, 2.0)
    expected = -0.5 * (A.astype(np.float64).T @ A) + 2.0 * C0
    tol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(C, expected, rtol=0, atol=tol * max(1.0, np.abs(expected).max()))


@pytest.mark.equivalence
def test_float32_agrees_with_float64():
    spec = Lr.learner_spec(6, 3, k=3, m=6, connections="dense", tied=False)
    p64, X, y = _instance(spec, 16, 4)
    p32 = Lr.LearnerParams(spec, p64.theta.astype(np.float32), p64.R)
    for path in ("loops", "fused", "blas"):
        l64, g64 = Lr.loss_and_grad(p64, X, y, path=path, **REG)
        l32, g32 = Lr.loss_and_grad(p32, X, y, path=path, **REG)
        assert g32.dtype == np.float32
        # float32 inputs and weights: relative error ~ 1e-7 per op, amplified by depth
        assert l32 == pytest.approx(l64, rel=1e-4)
        np.testing.assert_allclose(g32, g64, rtol=0, atol=1e-4 * np.abs(g64).max())
        q64, q32 = p64.copy(), Lr.LearnerParams(spec, p32.theta.copy(), p64.R)
        Lr.sgd_step(q64, X, y, 1e-2, lambda_wd=0.05, path=path)
        Lr.sgd_step(q32, X, y, 1e-2, lambda_wd=0.05, path=path)
        assert q32.theta.dtype == np.float32
        np.testing.assert_allclose(q32.theta, q64.theta, rtol=0, atol=1e-5 * np.abs(q64.theta).max())


# ------------------------------------------------------------------- planted oracle
@pytest.mark.parametrize("conn,tied,k,m,L", [("chain", False, 2, 4, 3), ("dense", False, 3, 5, 4),
                                            ("chain", True, 2, None, 4), ("dense", True, 3, None, 3)])
def test_planted_learner_reproduces_target(conn, tied, k, m, L):
    target = build_target(d=5, L=L, k_target=2, connections=conn)
    spec = Lr.learner_spec_for(target, k=k, m=m, tied=tied, B=math.inf)
    params = Lr.init_learner(spec, target, scheme="planted")
    X = np.random.default_rng(0).standard_normal((64, 5))
    ref = target(X)
    for path in ("loops", "fused", "blas"):
        f, _ = Lr.forward(params, X, path=path)
        np.testing.assert_allclose(f, ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())
        loss, _ = Lr.loss_and_grad(params, X, ref, path=path)
        assert loss <= 1e-18 * np.mean(ref ** 2)


def test_planted_learner_matches_independent_sympy_target():
    target = build_target(d=2, L=3, k_target=2)
    spec = Lr.learner_spec_for(target, m=3, B=math.inf, tied=False)
    params = Lr.init_learner(spec, target, scheme="planted")
    xs = sp.symbols("x0:2")
    G = {0: sp.Matrix(xs), 1: sp.Matrix([x ** 2 - 1 for x in xs])}
    Gstar = 0
    for l in (2, 3):
        S = sum((sp.Matrix(target.weights[(l, j)]) * G[j] for j in target.spec.J(l)), sp.zeros(2, 1))
        G[l] = S.applyfunc(lambda s: s ** 2)
        Gstar += target.alphas[l - 2] * sum(G[l])
    f = sp.lambdify(xs, sp.expand(Gstar), "math")
    X = np.random.default_rng(1).standard_normal((10, 2))
    ref = np.array([f(*x) for x in X])
    out, _ = Lr.forward(params, X, path="loops")
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())


# ---------------------------------------------------------------------- truncation
@pytest.mark.parametrize("path", ["loops", "fused", "blas"])
def test_truncation_at_the_boundary(path):
    B = 2.5
    spec = Lr.learner_spec(1, 2, k=1, tied=True, B=B, alphas=[1.0])
    params = Lr.init_learner(spec, scale=0.0)
    params.K(2, 0)[0, 0] = 1.0          # F(x) = sigma_t(x)
    eps = 1e-9
    xs = np.array([[B], [-B], [B - eps], [B + eps], [B + 1.0], [-(B + 3.0)], [0.3]])
    f, _ = Lr.forward(params, xs, path=path)
    expected = [B * B, B * B, (B - eps) ** 2, 2 * B * (B + eps) - B * B, B * B + 2 * B,
                B * B + 6 * B, 0.09]
    np.testing.assert_allclose(f, expected, rtol=1e-15, atol=1e-12)
    assert abs(f[3] - f[2]) < 1e-7                      # continuous across B
    for x, slope in ((B + 1.0, 2 * B), (-(B + 3.0), -2 * B), (B, 2 * B), (0.3, 0.6)):
        # dF/dK = sigma_t'(K x) x, with y = F - 1/2 so that d loss/dF = 1
        _, g = Lr.loss_and_grad(params, [[x]], [float(Lr.forward(params, [[x]])[0][0]) - 0.5],
                                path=path)
        assert g[0] == pytest.approx(slope * x, rel=1e-14)


# ---------------------------------------------------------------------- bad input
def test_bad_shapes_and_values_are_named():
    spec = Lr.learner_spec(3, 3, k=2, m=3, tied=False)
    params = Lr.init_learner(spec, rng=0)
    X, y = np.zeros((4, 3)), np.zeros(4)
    with pytest.raises(SpecError, match=r"X has shape \(4, 2\); expected \(\*, 3\)"):
        Lr.loss_and_grad(params, np.zeros((4, 2)), y)
    with pytest.raises(SpecError, match=r"y has shape \(5,\); expected \(4\)"):
        Lr.loss_and_grad(params, X, np.zeros(5))
    bad = X.copy()
    bad[2, 1] = np.nan
    with pytest.raises(NumericalError, match=r"X contains a non-finite value at index \(2, 1\)"):
        Lr.sgd_step(params, bad, y, 0.1)
    with pytest.raises(NumericalError, match=r"y contains a non-finite"):
        Lr.loss_and_grad(params, X, np.array([0, np.inf, 0, 0]))
    with pytest.raises(SpecError, match=r"lift_rows=2 for R_2 is invalid: R_2 must have shape \(p, 2\) "
                                        r"with p >= k\(k\+1\)/2 = 3"):
        Lr.learner_spec(3, 3, k=2, lift_rows=2, tied=False)
    with pytest.raises(SpecError, match=r"B=-1.0 is invalid: must be > 0"):
        Lr.learner_spec(3, 3, B=-1.0, tied=False)
    with pytest.raises(SpecError, match="m=1 for layer 2 is invalid"):
        Lr.learner_spec(3, 3, k=2, m=1, tied=False)
    with pytest.raises(SpecError, match="needs target"):
        Lr.init_learner(spec, scheme="planted")
    with pytest.raises(SpecError, match="lambda_tie=-1"):
        Lr.loss_and_grad(params, X, y, lambda_tie=-1)
    with pytest.raises(SpecError, match=r"theta has shape \(5,\) and dtype float64; expected a "
                                        r"contiguous float64 \(or float32\) array of shape \(\d+,\)"):
        Lr.loss_and_grad(Lr.LearnerParams(spec, np.zeros(5), params.R), X, y)
    with pytest.raises(SpecError, match=r"R\[2\] has shape \(3, 2\); expected \(5, 2\)"):
        Lr.forward(Lr.LearnerParams(spec, params.theta, {2: np.zeros((3, 2))}), X)
    bad_R = {2: params.R[2].copy()}
    bad_R[2][1, 1] = np.inf
    with pytest.raises(NumericalError, match=r"R\[2\] contains a non-finite value at index \(1, 1\)"):
        Lr.forward(Lr.LearnerParams(spec, params.theta, bad_R), X)
    with pytest.raises(SpecError, match="entries other than -1 and"):
        Lr.loss_and_grad(Lr.init_learner(Lr.learner_spec(3, 3, loss="logistic", tied=False)), X, y + 0.5)


@pytest.mark.parametrize("path", ["loops", "fused", "blas"])
def test_nan_hidden_in_a_batch_skipped_by_check_false_is_still_caught(path):
    spec = Lr.learner_spec(3, 3, k=2, m=3, tied=False)
    params = Lr.init_learner(spec, rng=0, scale=1.0)
    X = np.ones((40, 3))
    X[17, 0] = np.nan
    before = params.theta.copy()
    with pytest.raises(NumericalError, match=r"X contains a non-finite value at index \(17, 0\)"):
        Lr.sgd_step(params, X, np.zeros(40), 0.1, path=path, check=False)
    np.testing.assert_array_equal(params.theta, before)


@pytest.mark.parametrize("path", ["loops", "fused", "blas"])
def test_overflow_during_training_is_reported_not_propagated(path):
    spec = Lr.learner_spec(4, 3, k=2, m=3, B=math.inf, tied=False)
    params = Lr.init_learner(spec, rng=0, scale=1.0)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 4)), rng.standard_normal(8)
    with pytest.raises(NumericalError, match="not finite|overflowed"):
        for _ in range(200):
            Lr.sgd_step(params, X, y, 1e3, path=path)
            assert np.all(np.isfinite(params.theta))   # every step that returns is finite


@pytest.mark.parametrize("path", ["loops", "fused", "blas"])
def test_non_finite_loss_leaves_theta_untouched(path):
    spec = Lr.learner_spec(2, 3, k=2, m=3, B=math.inf, tied=False)
    params = Lr.init_learner(spec, rng=0, scale=1.0)
    params.M(3)[...] = 1e200                                   # F overflows to inf
    before = params.theta.copy()
    with pytest.raises(NumericalError, match=r"loss=inf is not finite: the network output overflowed"):
        Lr.sgd_step(params, np.ones((3, 2)), np.zeros(3), 0.1, path=path)
    np.testing.assert_array_equal(params.theta, before)


def test_numba_cache_dir_falls_back_for_read_only_installs(monkeypatch, tmp_path):
    from theorycheck import _numba_cache
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(_numba_cache.os, "access", lambda *a, **k: False)
    from numba.core import config
    monkeypatch.setattr(config, "CACHE_DIR", config.CACHE_DIR)
    chosen = _numba_cache.configure_numba_cache()
    assert chosen == str(tmp_path / "theorycheck" / "numba")
    assert (tmp_path / "theorycheck" / "numba").is_dir()
    assert config.CACHE_DIR == chosen
