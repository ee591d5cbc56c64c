"""Benchmark the three-layer figures' computations (docs/theory.md §2.3): serial in this
process against worker processes, on the same cells in the same run.

    python benchmarks/bench_three_layer_figures.py [--seeds 2] [--jobs 2] [--scale 0.5]

The three parts of ``theorycheck three-layer figures``, at ``--scale`` times the command's
sample sizes and widths: the n1 ladder (d = 16), the matched-n comparison with the two-layer
baselines (d = 20) and the exponent sweep (d = 8, 12; through the sweep engine, serial
against a LocalCluster). Each part runs serially (``-j 1``, the command's default before) and
then on ``--jobs`` processes with one BLAS thread each (the default now). Prints wall and CPU
seconds, the ratio and the load average, and checks the two give the same numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_sweep import cpu_seconds  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--scale", type=float, default=0.5)
    a = ap.parse_args()
    import numpy as np

    from theorycheck.papers.three_layer.exponent_sweep import run_exponent_sweep
    from theorycheck.papers.three_layer.figures import ladder_data, matched_n_data
    from theorycheck.runs.pool import process_map

    k = a.scale
    seeds = list(range(a.seeds))
    n1s = [int(k * n) for n in (250, 500, 1000, 2000, 4000, 8000)]
    ns = [int(k * n) for n in (1000, 2000, 3000, 4000)]
    lad = dict(d=16, n1s=n1s, n2=int(k * 3000), seeds=seeds, m1=int(k * 2048))
    mat = dict(d=20, ns=ns, seeds=seeds, m1=int(k * 4096))
    exp_ns = [int(k * n) for n in (125, 250, 500, 1000, 2000, 4000)]
    print(f"scale {k}: ladder n1={n1s}, matched n={ns}, exponents d=[8, 12] n={exp_ns}, "
          f"{len(seeds)} seeds; load average before {os.getloadavg()}", flush=True)
    rows, out = [], {}

    def timed(part, mode, fn):
        w0, c0 = time.perf_counter(), cpu_seconds()
        out[(part, mode)] = fn()
        rows.append((part, mode, time.perf_counter() - w0, cpu_seconds() - c0))
        print(f"{part} {mode}: {rows[-1][2]:.1f} s wall, {rows[-1][3]:.1f} s CPU, load "
              f"{os.getloadavg()}", flush=True)

    for jobs in (1, a.jobs):
        mode = "serial" if jobs == 1 else f"{jobs} processes"
        with process_map(jobs) as pmap:
            timed("ladder", mode, lambda: ladder_data(**lad, map=pmap))
            timed("matched-n", mode, lambda: matched_n_data(**mat, map=pmap))
        with tempfile.TemporaryDirectory() as tmp:
            timed("exponents", mode, lambda: [c.rel_mse for c in run_exponent_sweep(
                [8, 12], exp_ns, seeds, Path(tmp) / "s.sqlite", serial=jobs == 1,
                workers=jobs)[1]])
    print("\n| part | serial wall s | parallel wall s | serial / parallel | CPU s serial, parallel |")
    print("|---|---:|---:|---:|---|")
    by = {(p, m): (w, c) for p, m, w, c in rows}
    par = f"{a.jobs} processes"
    tot = [0.0, 0.0]
    for part in ("ladder", "matched-n", "exponents"):
        (ws, cs), (wp, cp) = by[(part, "serial")], by[(part, par)]
        tot[0] += ws
        tot[1] += wp
        print(f"| {part} | {ws:.1f} | {wp:.1f} | {ws / wp:.2f} | {cs:.0f}, {cp:.0f} |")
    print(f"| all | {tot[0]:.1f} | {tot[1]:.1f} | {tot[0] / tot[1]:.2f} | |")

    def flat(v):
        if isinstance(v, dict):
            return np.concatenate([flat(v[key]) for key in sorted(v)])
        if isinstance(v, tuple):
            return np.concatenate([flat(x) for x in v])
        return np.ravel(np.asarray(v, dtype=float))
    diff = max(float(np.max(np.abs(flat(out[(p, "serial")]) - flat(out[(p, par)]))
                            / np.maximum(np.abs(flat(out[(p, "serial")])), 1e-300)))
               for p in ("ladder", "matched-n", "exponents"))
    print(f"\nlargest relative difference serial vs parallel: {diff:.3g}; load average after "
          f"{os.getloadavg()}")


if __name__ == "__main__":
    main()
