"""One eigendecomposition for a whole ridge path, the spectral penalty grid that reaches the
interpolation regime, and exact Hermite energies by least squares (docs/theory.md §1.3, §4.4)."""

import math

import numpy as np
import pytest

from theorycheck.errors import NumericalError
from theorycheck.maths import kernel_methods as km
from theorycheck.maths.hermite import energy_by_degree, lstsq_energy_by_degree
from theorycheck.maths.ridge import EIGH_MIN_PENALTIES, SpectralPath, kernel_ridge_solve


def test_spectral_path_solves_every_shift_like_cholesky():
    X = np.random.default_rng(0).standard_normal((80, 5))
    G, y = km.poly_kernel(X, X, 3), np.random.default_rng(1).standard_normal((80, 2))
    path = SpectralPath(G.copy(), y, overwrite=True)
    for mu in (1e-2, 1.0, 100.0):  # condition numbers up to about 1e8
        np.testing.assert_allclose(path.solve(mu), np.linalg.solve(G + mu * np.eye(80), y), rtol=1e-6)


def test_long_grid_uses_one_eigendecomposition_with_the_cholesky_losses():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((120, 3))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    lams = tuple(10.0 ** -k for k in range(1, EIGH_MIN_PENALTIES + 1))
    spec = km.make_kernel("gaussian", 3)
    fit = km.fit_kernel_ridge(spec, X, y, np.random.default_rng(3), lambdas=lams)
    from theorycheck.maths.ridge import split_indices
    tr, va = split_indices(120, 0.2, np.random.default_rng(3))
    Ktr, Kva = km.gram(spec, X[tr]), km.gram(spec, X[va], X[tr])
    ref = [np.mean((Kva @ kernel_ridge_solve(Ktr, y[tr], lam) - y[va]) ** 2) for lam in lams]
    np.testing.assert_allclose(fit.val_losses, ref, rtol=1e-6)


def _poly_fit_error(lambdas):
    rng = np.random.default_rng(4)
    X, Xt = rng.standard_normal((90, 3)), rng.standard_normal((200, 3))
    f = lambda A: A[:, 0] * A[:, 1] + A[:, 2] ** 2 - 0.5 * A[:, 0]  # noqa: E731
    fit = km.fit_kernel_ridge(km.make_kernel("poly", 3, q=2), X, f(X), np.random.default_rng(5),
                              lambdas=lambdas)
    return float(np.mean((fit(Xt) - f(Xt)) ** 2) / np.var(f(Xt))), fit.lam


def test_spectral_grid_reaches_the_interpolation_regime():
    """A degree-2 target in the span of the degree-2 polynomial kernel (10 features, 72
    training rows): the spectral grid goes below the fixed grid's 1e-8 floor and fits to
    rounding; the grid cut at 1e-8 (the broken variant) stays orders of magnitude above."""
    err, lam = _poly_fit_error(km.SPECTRAL)
    cut, _ = _poly_fit_error(km.LAMBDAS)
    assert lam < 1e-8 and err < 1e-12
    assert cut > 1e3 * err


def test_spectral_grid_stops_at_the_rounding_floor():
    lams = km.spectral_lambdas(largest=5e3, scale=2.0)
    eps = np.finfo(float).eps
    assert lams[0] == km.SPECTRAL_TOP and all(a / b == pytest.approx(10) for a, b in zip(lams, lams[1:]))
    assert lams[-1] >= eps * 5e3 / 2.0 > lams[-1] / 10


def test_refit_below_choleskys_reach_falls_back_to_the_eigendecomposition():
    X = np.random.default_rng(6).standard_normal((40, 2))
    K = km.poly_kernel(X, X, 2)          # rank 6: K + 1e-30 I is singular in float64
    with pytest.raises(NumericalError):
        kernel_ridge_solve(K, X[:, 0], 1e-30)
    fit = km.fit_kernel_ridge(km.make_kernel("gaussian", 2), X, X[:, 0], None, lambdas=(1e-30,))
    assert np.all(np.isfinite(fit.alpha))


def test_least_squares_energies_equal_the_exact_hermite_energies():
    import sympy as sp
    x = sp.symbols("x0:3")
    p = x[0] ** 2 * x[1] - 3 * x[2] ** 4 + x[0] * x[1] * x[2] + 2
    exact = [float(e) for e in energy_by_degree(sp.Poly(p, *x), 4)]
    f = sp.lambdify([x], p, "numpy")
    got = lstsq_energy_by_degree(lambda X: f(X.T), 3, 4, np.random.default_rng(7))
    np.testing.assert_allclose(got.energy[:, 0], exact, rtol=1e-9, atol=1e-9)
    assert got.residual[0] < 1e-10
    low = lstsq_energy_by_degree(lambda X: f(X.T), 3, 3, np.random.default_rng(7))
    assert low.residual[0] > 1e-3       # a degree-4 function is not in the degree-3 basis
    assert math.comb(3 + 4, 4) * 2 == got.n


# ------------------------------------------------------------------ one Cholesky per penalty
def test_cholesky_path_solves_like_the_spectral_path_in_both_precisions():
    """n = 2100 >= MIXED_MIN_N: the large shifts go through float32 + refinement, the small
    ones through float64; both agree with the eigendecomposition, and so does the top
    eigenvalue (Lanczos against eigh)."""
    from theorycheck.maths.ridge import MIXED_MIN_N, CholeskyPath, _cond_bound, _mixed_ok
    rng = np.random.default_rng(8)
    X = rng.standard_normal((2100, 4))
    G, y = km.poly_kernel(X, X, 3), rng.standard_normal(2100)
    assert G.shape[0] >= MIXED_MIN_N
    path, ref = CholeskyPath(G, y), SpectralPath(G.copy(), y, overwrite=True)
    trace = float(np.trace(G))
    shifts = [trace * 10.0 ** -k for k in (1, 3, 7, 9)]
    assert [_mixed_ok(2100, _cond_bound(trace, mu)) for mu in shifts] == [True, True, False, False]
    for mu in shifts:  # normwise, to rounding amplified by the condition number (trace + mu) / mu
        x, want = path.solve(mu), ref.solve(mu)
        bound = 100 * np.finfo(float).eps * (trace + mu) / mu
        assert np.linalg.norm(x - want) <= bound * np.linalg.norm(want)
    assert path.largest == pytest.approx(ref.largest, rel=1e-12)
    assert path.fallback is None


def test_cholesky_path_falls_back_to_one_eigendecomposition_below_its_reach():
    from theorycheck.maths.ridge import CholeskyPath
    X = np.random.default_rng(9).standard_normal((40, 2))
    K = km.poly_kernel(X, X, 2)          # rank 6: K + 1e-30 I is singular in float64
    path = CholeskyPath(K.copy(), X[:, 0])
    path.solve(1.0)
    assert path.fallback is None
    tiny = path.solve(1e-30)
    assert path.fallback is not None and np.all(np.isfinite(tiny))
    np.testing.assert_allclose(path.solve(1.0), SpectralPath(K.copy(), X[:, 0]).solve(1.0), rtol=1e-9)


@pytest.mark.parametrize("d, ns", [(4, (448, 560, 640, 1024)), (5, (1280,))])
def test_cholesky_solver_chooses_the_ridge_and_error_of_the_eigendecomposition(d, ns):
    """The L = 3 polynomial kernel (degree 8, C(d + 8, 8) = 495 / 1287 functions) on both
    sides of its cliff, through the dual (N = 448, 560, 640, 1280) and the feature space
    (N = 1024): the same spectral grid, the same chosen penalty, the same validation losses
    and test error to rounding."""
    from theorycheck.papers.bfc.kernel_scaling import KernelTask, run_kernel_curve
    cells = {s: run_kernel_curve([KernelTask("poly", d, n, 0, L=3, ridge_grid="spectral", n_test=1000,
                                             ridge_solver=s) for n in ns]) for s in ("eigh", "cholesky")}
    for a, b in zip(cells["eigh"], cells["cholesky"]):
        assert a.ridge == b.ridge
        assert b.rel_mse == pytest.approx(a.rel_mse, rel=1e-4, abs=1e-9)
    assert max(c.rel_mse for c in cells["eigh"]) > 0.01 or d == 5


def test_unknown_path_solver_is_refused_in_one_line():
    from theorycheck.errors import SpecError
    X = np.random.default_rng(10).standard_normal((20, 2))
    with pytest.raises(SpecError, match="path_solver"):
        km.fit_kernel_ridge(km.make_kernel("gaussian", 2), X, X[:, 0], np.random.default_rng(0),
                            lambdas=km.SPECTRAL, path_solver="qr")
