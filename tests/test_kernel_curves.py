"""Learning curves of the kernel study and the three-layer figures, run as shared-data curves
on worker processes, give the cells the per-cell serial path gives (docs/theory.md §1.7, §2.3)."""

import numpy as np
import pytest

from theorycheck.errors import SpecError
from theorycheck.maths.kernel_methods import GramPool, fit_kernel_ridge, gram, make_kernel
from theorycheck.papers.bfc.kernel_scaling import (KernelTask, curve_key, kernel_study,
                                                    run_kernel_curve, run_kernel_task)
from theorycheck.runs.pool import process_map

NS = (32, 96, 256, 512)


@pytest.mark.parametrize("learner,L,d", [("poly", 2, 6), ("poly", 3, 6), ("gaussian", 3, 6)])
def test_curve_equals_per_cell_fits(learner, L, d):
    tasks = [KernelTask(learner, d, n, 1, L=L, n_test=300) for n in NS]
    old = [run_kernel_task(t) for t in tasks]
    new = run_kernel_curve(tasks)
    assert [c.task for c in new] == tasks
    assert [c.ridge for c in new] == [c.ridge for c in old]
    np.testing.assert_allclose([c.rel_mse for c in new], [c.rel_mse for c in old], rtol=1e-9)


def test_curve_refuses_cells_of_two_curves():
    with pytest.raises(SpecError, match="one curve"):
        run_kernel_curve([KernelTask("poly", 6, 32, 0), KernelTask("poly", 6, 32, 1)])
    assert curve_key(KernelTask("poly", 6, 32, 0)) == curve_key(KernelTask("poly", 6, 64, 0))


def test_pool_serves_the_leading_rows_only():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = X[:, 0] * X[:, 1]
    spec = make_kernel("gaussian", 3)
    pool = GramPool(X, X[:20])
    fit = fit_kernel_ridge(spec, X[:40], y[:40], np.random.default_rng(1), pool=pool)
    ref = fit_kernel_ridge(spec, X[:40], y[:40], np.random.default_rng(1))
    np.testing.assert_allclose(pool.predict(fit), ref(X[:20]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(pool.gram(spec, [3, 1], [0, 2]), gram(spec, X[[3, 1]], X[[0, 2]]))
    with pytest.raises(SpecError, match="first rows"):  # a pool of other data is refused
        fit_kernel_ridge(spec, X[1:41], y[1:41], np.random.default_rng(1), pool=pool)


def test_study_on_two_processes_equals_serial():
    opts = dict(Ls=(2,), learners=("poly", "gaussian"), n_test=300)
    serial = kernel_study((6,), (32, 64), (0, 1), **opts)
    with process_map(2) as pmap:
        pooled = kernel_study((6,), (32, 64), (0, 1), map=pmap, **opts)
    assert [(c.task, c.ridge) for c in pooled] == [(c.task, c.ridge) for c in serial]
    # workers use one BLAS thread: sums may be ordered differently than in this process
    np.testing.assert_allclose([c.rel_mse for c in pooled], [c.rel_mse for c in serial], rtol=1e-10)
    assert [c.task.n for c in serial] == [32, 32, 64, 64] * 2  # (learner, d, N, seed) order


def test_three_layer_figure_data_on_two_processes_equals_serial():
    from theorycheck.papers.three_layer.figures import ladder_data, matched_n_data
    lad = dict(d=6, n1s=[60, 120], n2=80, seeds=[0, 1], m1=32, m2=8)
    mat = dict(d=6, ns=[100, 160], seeds=[0, 1], baselines=("relu_rf",), m1=32, m2=8)
    with process_map(2) as pmap:
        lad2, mat2 = ladder_data(**lad, map=pmap), matched_n_data(**mat, map=pmap)
    lad1, mat1 = ladder_data(**lad), matched_n_data(**mat)
    assert not np.array_equal(lad1["abs"][1], lad1["relu"][1])  # the comparison can fail
    for s1 in lad1:
        for a, b in zip(lad1[s1], lad2[s1]):
            np.testing.assert_allclose(a, b, rtol=1e-10)
    assert mat1.keys() == mat2.keys()
    for k in mat1:
        np.testing.assert_allclose(mat1[k], mat2[k], rtol=1e-10)
