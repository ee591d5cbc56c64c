"""The kernel solve factors in place and cannot crash (docs/kernels.md "A kernel solve that
cannot crash"): no hidden n x n copy for row-major Gram matrices, one BLAS thread for large n."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import theorycheck
from theorycheck.maths import ridge
from theorycheck.maths.ridge import kernel_ridge_solve


def _spd(n, seed=0):
    X = np.random.default_rng(seed).standard_normal((n, 30))
    return X @ X.T / 30.0 + np.eye(n)


def test_row_major_gram_is_factored_in_place_without_a_copy():
    n = 1500
    K = _spd(n)
    y = np.random.default_rng(1).standard_normal(n)
    ref = np.linalg.solve(K + n * 1e-3 * np.mean(np.diag(K)) * np.eye(n), y)
    assert K.flags.c_contiguous
    tracemalloc.start()
    alpha = kernel_ridge_solve(K, y, 1e-3, overwrite=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert np.allclose(alpha, ref, rtol=1e-8, atol=1e-10)
    assert peak < 0.1 * 8 * n * n, peak          # an n x n copy would be 8 n^2 bytes
    # the factor overwrote K (one triangle holds the Cholesky factor)
    assert not np.allclose(K, _spd(n))


def test_large_orders_factor_with_one_blas_thread():
    from threadpoolctl import threadpool_info
    with ridge._safe_blas(100):
        small = [i["num_threads"] for i in threadpool_info()]
    with ridge._safe_blas(ridge.ONE_THREAD_N):
        large = {i["internal_api"]: i["num_threads"] for i in threadpool_info()}
    assert small == [i["num_threads"] for i in threadpool_info()]
    if any(i["internal_api"] == "openblas" and i["num_threads"] > 1 for i in threadpool_info()):
        assert large.get("openblas") == 1


_CHILD = """
import numpy as np
from threadpoolctl import threadpool_limits
from theorycheck.maths.ridge import kernel_ridge_solve
n = {n}
X = np.random.default_rng(0).standard_normal((n, 40))
K = X @ X.T / 40.0
K[np.diag_indices(n)] += 1.0
y = np.ones(n)
with threadpool_limits(2):
    a = kernel_ridge_solve(K, y, 1e-6, lam_scale="none", overwrite=True)
K = X @ X.T / 40.0
K[np.diag_indices(n)] += 1.0 + n * 1e-6
print("residual", float(np.abs(K @ a - y).max()))
"""


@pytest.mark.slow
def test_kernel_solve_at_n_16000_with_two_threads_does_not_crash():
    """In a subprocess: scipy's bundled OpenBLAS segfaulted here (rc -11) before the fix."""
    root = str(Path(theorycheck.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(_CHILD.format(n=16_000))],
                         capture_output=True, text=True, env=env, timeout=1800)
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    assert float(out.stdout.split()[-1]) < 1e-6


def test_every_factorisation_path_takes_the_one_thread_guard(monkeypatch):
    """float32 Cholesky (mixed precision), float64 Cholesky and the eigendecomposition of a
    ridge path all run under the guard once n reaches ONE_THREAD_N (lowered here)."""
    import scipy.linalg
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return max(i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openblas")

    seen = {}

    def spy(name, fn):
        def wrapped(*a, **k):
            seen[name] = blas_threads()
            return fn(*a, **k)
        return wrapped

    monkeypatch.setattr(ridge, "ONE_THREAD_N", 64)
    monkeypatch.setattr(scipy.linalg.lapack, "spotrf", spy("spotrf", scipy.linalg.lapack.spotrf))
    monkeypatch.setattr(ridge, "cho_factor", spy("cho_factor", ridge.cho_factor))
    monkeypatch.setattr(scipy.linalg, "eigh", spy("eigh", scipy.linalg.eigh))
    K, y = _spd(100), np.ones(100)
    with threadpool_limits(2):
        if blas_threads() < 2:
            pytest.skip("no multi-threaded OpenBLAS loaded")
        assert ridge.solve_spd_mixed(K, y, shift=1.0) is not None
        ridge._cholesky_solve(K.copy(), y, 1.0)
        ridge.SpectralPath(K, y)
    assert seen == {"spotrf": 1, "cho_factor": 1, "eigh": 1}


_FIT_CHILD = """
import resource
import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits
threadpool_limits(2)
from theorycheck.maths.kernel_methods import fit_kernel_ridge, gram_memory_bytes, make_kernel
n = {n}
rng = np.random.default_rng(0)
X = rng.standard_normal((n, 8))
y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
fit = fit_kernel_ridge(make_kernel("gaussian", 8), X, y, rng, lambdas=(1e-6,))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print("bytes", peak - base, gram_memory_bytes(n), float(np.mean((fit(X[:500]) - y[:500]) ** 2)))
"""


@pytest.mark.slow
def test_kernel_fit_at_n_20000_with_two_threads_fits_its_memory_estimate():
    """In a subprocess (a crash is a failed test, not a dead suite): a gaussian-kernel fit at
    N = 20,000 with two BLAS threads takes the float32 Cholesky path under the one-thread
    guard, and its peak memory is within 10% of gram_memory_bytes (docs/kernels.md)."""
    root = str(Path(theorycheck.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(_FIT_CHILD.format(n=20_000))],
                         capture_output=True, text=True, env=env, timeout=3600)
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    used, estimate, train_mse = (float(v) for v in out.stdout.split()[-3:])
    assert abs(used - estimate) <= 0.1 * estimate, (used, estimate)
    assert train_mse < 1e-2
