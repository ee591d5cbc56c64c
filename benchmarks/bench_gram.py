"""Where a symmetric rank-k update (BLAS ``syrk``) beats a GEMM for ``A^T A``.

    python benchmarks/bench_gram.py [--rows 64,128,256,512,1024] [--nin 16,38,48,64,96,128]

The learner's fused step (docs/theory.md §1.4) forms the Grams of the quadratic identity,
``W^T W`` and ``IN^T diag(c) IN``, with ``syrk``: half the flops of the GEMM. On narrow inputs
OpenBLAS's ``syrk`` is slower than its GEMM all the same; this prints both, one thread, for
each shape and dtype, and the ratio behind ``syrk_loses`` in
:mod:`theorycheck.papers.bfc.learner_fused` (which the kernel follows). Each time is the best of three runs of about 0.1 s, through the same
numba-callable BLAS wrappers the kernel uses.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=_sizes(0), default="64,128,256,512,1024",
                    help="comma-separated row counts >= 0 (default: %(default)s)")
    ap.add_argument("--nin", type=_sizes(1), default="16,38,48,64,96,128",
                    help="comma-separated column counts >= 1 (default: %(default)s)")
    ap.add_argument("--dtypes", type=_dtypes, default="float64,float32",
                    help="float64 and/or float32 (default: %(default)s)")
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    sys.path.insert(0, str(ROOT))
    import numpy as np
    from numba import njit
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
    from theorycheck.papers.bfc.learner_blas import gram, mm
    from theorycheck.papers.bfc.learner_fused import syrk_loses

    @njit
    def by_syrk(reps, A, C):
        for _ in range(reps):
            gram(A, C, 1.0, 0.0)

    @njit
    def by_gemm(reps, A, C):
        for _ in range(reps):
            mm(A, True, A, False, C, 1.0, 0.0)

    def seconds(fn, A, C):
        fn(2, A, C)
        reps = 4
        while True:
            t0 = time.perf_counter()
            fn(reps, A, C)
            if time.perf_counter() - t0 > 0.1:
                break
            reps *= 4
        best = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn(reps, A, C)
            best.append((time.perf_counter() - t0) / reps)
        return min(best)

    rng = np.random.default_rng(0)
    print("A^T A for A of shape (rows, nin), one thread; 'kernel takes': the learner's fused "
          "step's choice (syrk_loses)")
    print("| dtype | rows | nin | syrk µs | GEMM µs | syrk / GEMM | kernel takes |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for dtype in args.dtypes:
        for rows in args.rows:
            for nin in args.nin:
                A = rng.standard_normal((rows, nin)).astype(dtype)
                C = np.zeros((nin, nin), dtype)
                a, b = seconds(by_syrk, A, C), seconds(by_gemm, A, C)
                takes = "GEMM" if syrk_loses(rows, nin) else "syrk"
                print(f"| {dtype} | {rows} | {nin} | {a * 1e6:.1f} | {b * 1e6:.1f} | {a / b:.2f} "
                      f"| {takes} |")
    return 0


def _sizes(least: int):
    def parse(text: str) -> list[int]:
        try:
            values = [int(v) for v in text.split(",")]
        except ValueError:
            values = []
        if not values or min(values) < least:
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers "
                                             f">= {least}; pass e.g. 128,256")
        return values
    return parse


def _dtypes(text: str) -> list[str]:
    values = text.split(",")
    if not set(values) <= {"float64", "float32"}:
        raise argparse.ArgumentTypeError(f"{text!r} names a dtype other than float64 and float32; "
                                         f"pass float64, float32 or both")
    return values


if __name__ == "__main__":
    raise SystemExit(main())
