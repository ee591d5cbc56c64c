"""Benchmark kernel ridge regression (docs/theory.md §1.7): blocked Gram construction and the
Cholesky solve at N = 10,000, d = 32 (polynomial kernel, degree 4), on ``--threads`` cores.

    python benchmarks/bench_kernel.py [--N 10000] [--d 32] [--threads 2]

Reports seconds and GFLOP/s of each phase against the float64 GEMM peak measured in the same
run (a 3072^3 matmul, best of 4 before and 4 after the timed phases) with the same thread count. FLOP counts: Gram 2 N^2 d (the
GEMM) plus 3 N^2 for the element-wise (1 + t/d)^4; Cholesky N^3/3; two triangular solves 2 N^2.
Also times one full fit with the ridge chosen by validation (4 candidates on an 80/20 split,
then the refit on all N).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, default=10000)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-validation", action="store_true")
    a = ap.parse_args()
    import numpy as np
    from threadpoolctl import threadpool_limits
    from theorycheck.maths.kernel_methods import fit_kernel_ridge, gram, make_kernel
    from theorycheck.maths.ridge import kernel_ridge_solve

    with threadpool_limits(a.threads):
        M = np.random.default_rng(0).standard_normal((3072, 3072))

        def gemm_peak():
            best = 0.0
            for _ in range(4):
                t = time.perf_counter()
                M @ M
                best = max(best, 2 * 3072 ** 3 / (time.perf_counter() - t) / 1e9)
            return best
        peak = gemm_peak()
        rng = np.random.default_rng(1)
        X = rng.standard_normal((a.N, a.d))
        y = rng.standard_normal(a.N)
        spec = make_kernel("poly", a.d, q=4)
        t0 = time.perf_counter()
        K = gram(spec, X)
        t1 = time.perf_counter()
        kernel_ridge_solve(K, y, 1e-6, overwrite=True)
        t2 = time.perf_counter()
        del K
        peak = max(peak, gemm_peak())   # best of before and after: the machine is shared
        g_gram = (2 * a.N ** 2 * a.d + 3 * a.N ** 2) / (t1 - t0) / 1e9
        g_sol = (a.N ** 3 / 3 + 2 * a.N ** 2) / (t2 - t1) / 1e9
        print(f"N={a.N} d={a.d} threads={a.threads} (cpu count {os.cpu_count()}); float64 GEMM peak "
              f"{peak:.1f} GFLOP/s")
        print(f"Gram (blocked):      {t1 - t0:6.2f} s  {g_gram:6.1f} GFLOP/s  ({g_gram / peak:.0%} of peak)")
        print(f"Cholesky + solves:   {t2 - t1:6.2f} s  {g_sol:6.1f} GFLOP/s  ({g_sol / peak:.0%} of peak)")
        print(f"Gram + solve total:  {t2 - t0:6.2f} s")
        if not a.no_validation:
            t = time.perf_counter()
            fit = fit_kernel_ridge(spec, X, y, np.random.default_rng(2))
            print(f"fit with ridge chosen by validation (4 candidates + refit): "
                  f"{time.perf_counter() - t:6.2f} s (chose {fit.lam:g})")


if __name__ == "__main__":
    main()
