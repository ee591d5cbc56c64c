"""Benchmark the two solvers of a spectral ridge path (docs/kernels.md, "d = 8 at its cliff"):
one eigendecomposition (``SpectralPath``) against one Cholesky factorisation per penalty
(``CholeskyPath``), on the training Gram of the L = 3 polynomial kernel (degree 8, d = 8,
Gaussian inputs), every penalty of the spectral grid, one BLAS thread by default.

    python benchmarks/bench_ridge_path.py [--n 4000] [--threads 1]

Reports the seconds of each path (construction, the grid's floor and every solve) and their
ratio, measured in the same run, and the largest relative difference of the solutions.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--d", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    import numpy as np
    from threadpoolctl import threadpool_limits
    from theorycheck.maths.kernel_methods import gram, make_kernel, spectral_lambdas
    from theorycheck.maths.ridge import CholeskyPath, SpectralPath

    rng = np.random.default_rng(0)
    X = rng.standard_normal((a.n, a.d))
    K = gram(make_kernel("poly", a.d, q=8), X)
    y = rng.standard_normal(a.n)
    s = float(np.mean(np.diag(K)))
    out = {}
    with threadpool_limits(a.threads):
        for name, cls in (("cholesky", CholeskyPath), ("eigh", SpectralPath)):
            G = K.copy()
            t0 = time.perf_counter()
            path = cls(G, y, overwrite=True)
            lams = spectral_lambdas(path.largest, s)
            sols = [path.solve(a.n * lam * s) for lam in lams]
            out[name] = (time.perf_counter() - t0, lams, sols)
    (tc, lc, sc), (te, le, se) = out["cholesky"], out["eigh"]
    diff = max(float(np.linalg.norm(x - z) / np.linalg.norm(z)) for x, z in zip(sc, se))
    print(f"n={a.n} d={a.d} threads={a.threads}: {len(lc)} penalties (same grid: {lc == le}), "
          f"down to {lc[-1]:g}")
    print(f"one Cholesky per penalty: {tc:7.2f} s")
    print(f"one eigendecomposition:   {te:7.2f} s   ratio eigh / cholesky = {te / tc:.1f}")
    print(f"largest relative difference of the solutions: {diff:.1e}")


if __name__ == "__main__":
    main()
