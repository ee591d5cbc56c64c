"""Benchmark the kernel scaling study (docs/theory.md §1.7): the per-cell serial path against
curves on a process pool, on the same grid in the same run.

    python benchmarks/bench_kernel_study.py [--ds 6,8] [--ns 16,...,4096] [--seeds 2]
        [--Ls 2,3] [--learners poly,gaussian] [--jobs 2]

Three timings of the same cells, one after the other:

* ``per-cell, process BLAS``: every (learner, L, d, N, seed) cell by ``run_kernel_task`` in
  this process with the BLAS threads the process starts with (what ``kernel scaling -j 1``
  did before curves and pools);
* ``per-cell, 1 BLAS thread``: the same, BLAS limited to one thread;
* ``curves, pool``: ``kernel_study`` through ``process_map(jobs)`` (curves sharing their data
  and Gram matrices, the costliest first, one BLAS thread per worker).

Prints wall and CPU seconds of each, the ratios, the load average before and after, and the
largest relative difference between the per-cell and the pooled errors (0 when identical).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_sweep import cpu_seconds  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ds", default="6,8")
    ap.add_argument("--ns", default="16,32,64,128,256,512,1024,2048,4096")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--Ls", default="2,3")
    ap.add_argument("--learners", default="poly,gaussian")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--skip-process-blas", action="store_true",
                    help="skip the per-cell run with the process's BLAS threads")
    a = ap.parse_args()
    import scipy.linalg  # noqa: F401  (scipy's BLAS loaded, so threadpoolctl sees it)
    from threadpoolctl import threadpool_info, threadpool_limits

    from theorycheck.papers.bfc.kernel_scaling import KernelTask, kernel_study, run_kernel_task
    from theorycheck.runs.pool import process_map
    ints = lambda t: [int(x) for x in t.split(",")]  # noqa: E731
    ds, ns, Ls, learners = ints(a.ds), ints(a.ns), ints(a.Ls), a.learners.split(",")
    seeds = list(range(a.seeds))
    tasks = [KernelTask(l, d, n, s, L=L) for L in Ls for l in learners for d in ds for n in ns
             for s in seeds]
    blas = sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
    print(f"{len(tasks)} cells: d={ds} N={ns} seeds={len(seeds)} L={Ls} learners={learners}; "
          f"process BLAS threads {blas}; load average before {os.getloadavg()}", flush=True)
    rows, results = [], {}

    def timed(name, fn):
        w0, c0 = time.perf_counter(), cpu_seconds()
        out = fn()
        rows.append((name, time.perf_counter() - w0, cpu_seconds() - c0))
        print(f"{name}: {rows[-1][1]:.1f} s wall, {rows[-1][2]:.1f} s CPU, load {os.getloadavg()}",
              flush=True)
        results[name] = [c.rel_mse for c in out]

    if not a.skip_process_blas:
        timed("per-cell, process BLAS", lambda: [run_kernel_task(t) for t in tasks])
    with threadpool_limits(1):
        timed("per-cell, 1 BLAS thread", lambda: [run_kernel_task(t) for t in tasks])

    def pooled():
        with process_map(a.jobs) as pmap:
            return kernel_study(ds, ns, seeds, Ls=Ls, learners=learners, map=pmap)
    timed(f"curves, pool of {a.jobs}", pooled)
    ref = results["per-cell, 1 BLAS thread"]
    new = results[f"curves, pool of {a.jobs}"]
    diff = max(abs(x - y) / max(abs(x), 1e-300) for x, y in zip(ref, new))
    base = rows[-1][1]
    print("\n| path | wall s | CPU s | wall / pooled |\n|---|---:|---:|---:|")
    for name, wall, cpu in rows:
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {wall / base:.2f} |")
    print(f"\nlargest relative difference of the errors, per-cell vs pooled: {diff:.3g}; "
          f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
