"""Regression pins: the numbers the shared numerics (ridge and kernel ridge, kernels, Adam,
exponent fitting, NTK features) gave before they were merged into ``theorycheck.maths``.

Pins compared with ``==`` are bit-for-bit. Pins compared with a relative tolerance come from
code whose floating-point order changed when the conventions were unified (the polynomial
kernel by repeated squaring, the labels paper's residual ridge in the shared solver); the tolerance
is far below what any table in docs/ prints.

OpenBLAS's last bits depend on its thread count, so every pin runs with one BLAS thread
(numpy's and scipy's); the numbers were recorded that way from the code before the merge.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg  # noqa: F401  (scipy's BLAS is loaded before it is limited)
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def close(got, want, rel):
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float),
                               rtol=rel, atol=0.0)


def test_maths_ridge_solvers_are_pinned():
    from theorycheck.maths.ridge import kernel_ridge_solve, ridge_solve, select_ridge
    rng = np.random.default_rng(11)
    got = {}
    for tag, shape in (("primal", (40, 10)), ("dual", (10, 40))):
        Phi, y = rng.standard_normal(shape), rng.standard_normal(shape[0])
        got[tag] = ridge_solve(Phi, y, 0.05)[:3].tolist()
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)
    got["krr"] = kernel_ridge_solve((1.0 + X @ X.T / 4) ** 2, y, 1e-3)[:3].tolist()
    a, choice = select_ridge(X, y, np.random.default_rng(3), lambdas=(1e-3, 1e-1))
    got["select"] = a.tolist() + [choice.lam] + list(choice.val_losses)
    assert got == {
        "primal": [-0.2343270834023315, 0.060767118589422735, 0.263228090099538],
        "dual": [0.006910631024174031, -0.08099826546965289, 0.11542872417333905],
        "krr": [4.819164799207474, -3.3238317798030916, 0.6072831073327564],
        "select": [-0.21867748319530755, 0.04411700922781019, 0.0011810114865017714,
                   0.3733617114790743, 0.1, 0.4224134173579508, 0.40889866753204274]}


def test_bfc_kernel_study_cells_are_pinned():
    from theorycheck.papers.bfc.kernel_scaling import KernelTask, run_kernel_task
    want = {"poly": (0.5023530270472412, 0.0001), "gaussian": (0.7792884677093965, 1e-08),
            "rf": (0.7286968209389433, 0.0001), "ntk": (0.6286903233132938, 0.01)}
    for name, (rel_mse, ridge) in want.items():
        cell = run_kernel_task(KernelTask(name, 6, 96, 1, m=64, n_test=300, bandwidth=0.5))
        assert (cell.rel_mse, cell.ridge) == (rel_mse, ridge), name


def test_three_layer_study_cells_are_pinned():
    from theorycheck.papers.three_layer.exponent_study import ExponentTask, run_exponent_task

    def cell(name):
        return run_exponent_task(ExponentTask(name, 6, 200, 2, m1=256, m2=32, n_test=300)).rel_mse

    assert cell("three_layer") == 0.15799916044948525
    assert cell("relu_rf") == 0.2931048123512131
    close(cell("poly_krr"), 0.004918684458104139, 1e-7)


def test_labels_study_cell_and_baselines_are_pinned():
    from theorycheck.papers.labels.depth_gap import run_task
    from theorycheck.papers.labels.residual import fit_kernel_ridge, fit_residual
    res = run_task({"r": 2, "seed": 1, "d": 8, "labels_per_level": 3, "n": 300, "n_test": 300,
                    "width": 48, "mlp": False})
    assert res["per_level"] == [
        {"level": 1, "error": 0.09444444444444444, "added": 0.09444444444444444, "inherited": 0.0},
        {"level": 2, "error": 0.14555555555555555, "added": 0.021111111111111112,
         "inherited": 0.12444444444444444}]
    assert res["after_block"] == [[0.09444444444444444, 0.41888888888888887],
                                  [0.09444444444444444, 0.14555555555555555]]
    assert res["top"] == {"layerwise": 0.14555555555555555, "kernel": 0.09777777777777778}
    rng = np.random.default_rng(5)
    X, Xt = rng.choice([-1.0, 1.0], (250, 6)), rng.choice([-1.0, 1.0], (40, 6))
    Y = np.stack([X[:, 0] * X[:, 1], X[:, 2]], axis=1)
    kr = fit_kernel_ridge(X, Y, seed=2)
    assert kr.lam == 0.0001
    assert kr.predict(Xt)[:4].tolist() == [[0.995185578519493, 0.9975585862574425],
                                           [0.9823542584230416, 0.9847513257694994],
                                           [-0.9940924155215285, -0.996571657582126],
                                           [0.9910555732662174, -0.9942162992108364]]
    learner = fit_residual(X, Y, [[0], [1]], width=32, seed=4)
    close([u[:3, 0] for u in learner.Us],
          [[1.0847369166040648, 0.466234084143438, 1.7745953288314724],
           [-0.21962691028038622, -0.021517162451651257, 0.5967678023426498]], 1e-9)


@pytest.mark.parametrize("optimizer,lr,want", [
    ("adam", 3e-3, {"last": {"step": 70, "stage": 3, "train_loss": 327.06355815747133,
                             "test_loss": 109.75383934621405, "rel_loss": 2.4235852851918263,
                             "err_lin_2": 0.6228503105721406, "err_rot_2": 0.7965789364936651,
                             "err_lin_3": 0.4896849066298657, "err_rot_3": 0.7864966662160702},
                    "theta": [-0.04014062076726398, 0.048875494205200216, -0.03235434463533106,
                              0.022382489048535573, 0.04170382465872517],
                    "theta_sum": -0.48669257574575453}),
    ("sgd", 1e-4, {"last": {"step": 70, "stage": 3, "train_loss": 338.2841930885662,
                            "test_loss": 116.4384102171501, "rel_loss": 2.5711940403581792,
                            "err_lin_2": 0.5808108742801069, "err_rot_2": 0.8196398750339987,
                            "err_lin_3": 0.4263807946303638, "err_rot_3": 0.9543089556684329},
                   "theta": [-0.004623842139936012, 0.011210480846439072, 0.003593193056390514,
                             0.004150448477028121, 0.015615207745379632],
                   "theta_sum": 0.26169392711809336}),
])
def test_short_training_run_is_pinned_bit_for_bit(optimizer, lr, want):
    from theorycheck.papers.bfc.training import train
    r = train(d=8, L=3, k=4, steps=(30, 40), batch=32, n_test=300, eval_points=4,
              optimizer=optimizer, lr=lr)
    assert {"last": r.curves[-1], "theta": r.params.theta[:5].tolist(),
            "theta_sum": float(np.sum(r.params.theta))} == want


def test_ntk_features_are_pinned_bit_for_bit():
    from theorycheck.papers.bfc import learner as Lr
    from theorycheck.papers.bfc.ntk import ntk_features
    from theorycheck.papers.bfc.target import build_target
    want = {(3, True): [60.63486898761238, 110870.10688600403,
                        [-0.38491645216184817, 0.10947766130847426, -0.2603214213096101,
                         -0.09460395207893961]],
            (3, False): [-35.20004729928068, 9278.017805206491,
                         [-0.04317085516904328, 0.012278623670277525, -0.029196721297927896,
                          -0.010610441540445593]],
            (4, True): [270.54716758103274, 28607333.03630349,
                        [-0.3861905558233604, 0.10984004095824895, -0.2611831056418797,
                         -0.09491709858400671]]}
    for (L, tied), w in want.items():
        t = build_target(d=5, L=L, k_target=2, seed=3)
        spec = Lr.learner_spec_for(t, k=3, tied=tied, m=None if tied else 4, B=16.0)
        P = Lr.init_learner(spec, rng=np.random.default_rng(1), scale=0.6)
        J = ntk_features(P, np.random.default_rng(2).standard_normal((6, 5)))
        assert [float(J.sum()), float((J * J).sum()), J[1, :4].tolist()] == w, (L, tied)


def test_exponent_fit_row_is_pinned():
    from theorycheck.maths.exponents import fit_row
    rng = np.random.default_rng(0)
    ds, seeds, ns = [4, 6, 8, 10], [0, 1, 2], [16, 32, 64, 128, 256, 512, 1024]
    curves = {}
    for d in ds:
        for s in seeds:
            c = 0.4 * d ** 1.7 * np.exp(0.1 * rng.standard_normal())
            curves[(d, s)] = (ns, [min(2.0, c / n) for n in ns])
    del curves[(10, 2)]
    r = fit_row("x", ds, seeds, curves, 0.5)
    assert [r.exponent, r.lo, r.hi, r.seeds_fitted, r.censored] + r.per_seed == [
        1.3370876411238888, 0.8701047381198352, 1.8040705441279423, 3, 5,
        1.4817387734893974, 1.1245988058165628, 1.4049253440657063]   # slopes by scipy.stats.linregress
