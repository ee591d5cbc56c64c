"""The shared mathematics of theorycheck.maths: conventions that several papers rely on."""

from __future__ import annotations

import numpy as np
import pytest

from theorycheck.maths.kernel_methods import (fit_kernel_ridge, gaussian_kernel, gram, make_kernel,
                                              relu_random_features)
from theorycheck.maths.metrics import relative_mse
from theorycheck.maths.optim import adam, apply_updates, optimiser, sgd
from theorycheck.maths.ridge import kernel_ridge_solve, ridge_solve
from theorycheck.errors import SpecError


def test_adam_matches_its_formula_and_keeps_decimal_complements():
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(5)
    ref, m, v = theta.copy(), np.zeros(5), np.zeros(5)
    opt = adam()
    state = opt.init(theta)
    for t in range(1, 4):
        g = rng.standard_normal(5)
        scale = 0.01 * np.array([1.0, 1.0, 0.0, 1.0, 1.0])
        updates, state = opt.update(g, state, scale)
        apply_updates(theta, updates)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        ref -= scale * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-12)
        assert state.count == t
    np.testing.assert_allclose(theta, ref, rtol=1e-14)
    assert theta[2] == ref[2]


@pytest.mark.parametrize("per_entry", [True, False])
def test_adam_kernel_gives_the_numpy_expressions_bits(per_entry):
    """The one-pass Adam kernel against the NumPy expressions it replaces, bit for bit, over
    gradients spanning 11 decades (a contraction into fused multiply-adds would show)."""
    rng = np.random.default_rng(3)
    opt = adam()
    theta = rng.standard_normal(301)
    state = opt.init(theta)
    m, v = np.zeros(301), np.zeros(301)
    for t in range(1, 40):
        g = rng.standard_normal(301) * 10.0 ** rng.uniform(-8, 3, 301)
        scale = (3e-3 * (rng.uniform(size=301) > 0.3)) if per_entry else 3e-3
        updates, state = opt.update(g, state, scale)
        m *= 0.9
        m += 0.1 * g
        v *= 0.999
        v += 0.001 * g * g
        ref = scale * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-12)
        assert np.array_equal(updates, ref)
        assert np.array_equal(state.moments[0], m) and np.array_equal(state.moments[1], v)


def test_adam_takes_the_numpy_path_for_other_arrays():
    opt = adam()
    theta = np.zeros((2, 3), dtype=np.float32)
    updates, state = opt.update(np.ones((2, 3), dtype=np.float32), opt.init(theta), 0.5)
    assert updates.shape == (2, 3) and state.count == 1
    np.testing.assert_allclose(updates, 0.5, rtol=1e-5)


def test_sgd_and_optimiser_names():
    updates, state = sgd().update(np.array([1.0, -2.0]), sgd().init(np.zeros(2)), 0.5)
    assert updates.tolist() == [0.5, -1.0] and state.count == 1 and state.moments == ()
    assert optimiser("adam").name == "adam"
    with pytest.raises(SpecError, match="optimizer='rmsprop'"):
        optimiser("rmsprop")


def test_relative_mse_defaults_to_the_variance():
    y = np.array([1.0, 2.0, 3.0])
    assert relative_mse(np.full(3, 2.0), y) == 1.0
    assert relative_mse(y + 1.0, y, energy=2.0) == 0.5


@pytest.mark.equivalence
def test_lam_scale_none_is_the_absolute_penalty_and_mean_diag_is_scale_free():
    rng = np.random.default_rng(1)
    Phi, y = rng.standard_normal((30, 5)), rng.standard_normal(30)
    a = ridge_solve(Phi, y, 0.1, lam_scale="none")
    ref = np.linalg.solve(Phi.T @ Phi / 30 + 0.1 * np.eye(5), Phi.T @ y / 30)
    np.testing.assert_allclose(a, ref, rtol=1e-12)
    np.testing.assert_allclose(3.0 * ridge_solve(3.0 * Phi, y, 0.1), ridge_solve(Phi, y, 0.1), rtol=1e-12)
    K = Phi @ Phi.T
    np.testing.assert_allclose(kernel_ridge_solve(K, y, 0.1, lam_scale="none"),
                               np.linalg.solve(K + 30 * 0.1 * np.eye(30), y), rtol=1e-10)
    with pytest.raises(SpecError, match="lam_scale='trace'"):
        ridge_solve(Phi, y, 0.1, lam_scale="trace")


def test_gaussian_bandwidth_is_the_squared_length_scale_per_dimension():
    A, B = np.zeros((1, 4)), np.array([[1.0, 1.0, 0.0, 0.0]])
    sigma = 0.5
    assert gaussian_kernel(A, B, sigma ** 2)[0, 0] == pytest.approx(np.exp(-2.0 / (2 * sigma ** 2 * 4)))


def test_relu_features_are_averages_over_units():
    X = np.random.default_rng(2).standard_normal((6, 3))
    phi = relu_random_features(3, 400, np.random.default_rng(3))(X)
    assert phi.shape == (6, 400)
    K = gram(make_kernel("rf", 3, m=400, rng=np.random.default_rng(3)), X)
    np.testing.assert_allclose(K, phi @ phi.T, rtol=1e-13)


def test_kernel_ridge_chooses_among_kernels_with_a_given_loss():
    rng = np.random.default_rng(4)
    X = rng.choice([-1.0, 1.0], (200, 5))
    Y = (X[:, :1] * X[:, 1:2])
    specs = [make_kernel("gaussian", 5, bandwidth=b) for b in (100.0, 0.5)]
    calls = []

    def loss(pred, y):
        calls.append(pred.shape)
        return float(np.mean(np.sign(pred) != y))

    fit = fit_kernel_ridge(specs, X, Y, rng, lambdas=(1e-4, 1e-2), loss=loss, lam_scale="none")
    assert len(fit.val_losses) == 4 and len(calls) == 4 and calls[0] == (40, 1)
    assert fit.spec.bandwidth == 0.5 and fit.predict(X).shape == (200, 1)
    assert fit.seconds > 0


# ------------------------------------------------------------------ ridge solvers at scale
def _poly_gram(n, d=8, seed=0):
    X = np.random.default_rng(seed).standard_normal((n, d))
    return (1.0 + X @ X.T / d) ** 3, np.sin(X[:, :2])


@pytest.mark.parametrize("lam", [1e-6, 1e-3, 1e-1])
def test_mixed_precision_kernel_ridge_agrees_with_float64(monkeypatch, lam):
    """Above MIXED_MIN_N rows the Cholesky runs in float32 with float64 refinement; the
    solution is the float64 Cholesky's up to rounding amplified by the conditioning."""
    import theorycheck.maths.ridge as R
    K, Y = _poly_gram(2100)
    calls = []
    real = R.solve_spd_mixed
    monkeypatch.setattr(R, "solve_spd_mixed", lambda *a, **k: calls.append(1) or real(*a, **k))
    mixed = R.kernel_ridge_solve(K, Y, lam)
    monkeypatch.setattr(R, "MIXED_MIN_N", 10 ** 9)
    plain = R.kernel_ridge_solve(K, Y, lam)
    assert calls == [1]
    np.testing.assert_allclose(mixed, plain, rtol=0, atol=1e-9 * np.abs(plain).max())
    np.testing.assert_allclose(K @ mixed, K @ plain, rtol=0, atol=1e-9 * np.abs(Y).max())


def test_mixed_precision_falls_back_to_float64(monkeypatch):
    import theorycheck.maths.ridge as R
    K, Y = _poly_gram(2100)
    plain = R._cholesky_solve(K + 2100 * 1e-3 * np.mean(np.diag(K)) * np.eye(2100), Y, 1e-3)
    # a tiny penalty: the condition number bound rules float32 out before trying it
    assert not R._mixed_ok(2100, R._cond_bound(2100.0, 2100 * 1e-9))
    # refinement that cannot converge in the steps allowed: the float64 solve, same numbers
    monkeypatch.setattr(R, "MIXED_MAX_ITER", -1)
    assert R.solve_spd_mixed(K, Y, shift=1.0) is None
    np.testing.assert_array_equal(R.kernel_ridge_solve(K, Y, 1e-3), plain)
    assert R.solve_spd_mixed(-np.eye(3), np.ones(3)) is None  # not positive definite


def test_ridge_path_is_ridge_solve_bit_for_bit():
    from theorycheck.maths.ridge import RidgePath, ridge_solve
    rng = np.random.default_rng(4)
    for shape in ((60, 12), (12, 60)):
        Phi, Y = rng.standard_normal(shape), rng.standard_normal((shape[0], 2))
        path = RidgePath(Phi, Y, lam_scale="none")
        for lam in (1e-4, 0.3):
            assert np.array_equal(path.solve(lam), ridge_solve(Phi, Y, lam, lam_scale="none"))
