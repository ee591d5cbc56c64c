"""Cold and warm start-up: numba compiles the kernels on first use after an install (cold)
and loads them from its cache afterwards (warm).

    python benchmarks/bench_startup.py [--rounds 3] [--claim GLOB ...] [--no-check]

Each probe runs in fresh processes that share one NUMBA_CACHE_DIR, empty before the first
(cold) run; the warm figure is the median of ``--rounds`` runs after it. Probes:

* learner import + first SGD step: ``import theorycheck.papers.bfc.learner`` and one step
  at batch 1 (loop kernel) and at batch 256 (fused BLAS kernel), each in its own process;
* ``theorycheck check`` (quick scale; all claims, or the ``--claim`` globs; ``--jobs`` is
  passed on as ``-j``), each run with a fresh report folder (no example database or claim
  times carried over). With several workers each worker process compiles the kernels its
  claims call, so a cold run compiles a kernel once per worker that uses it.

The load average is printed beside the results, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LEARNER = """
import time
t = time.perf_counter()
import numpy as np
from theorycheck.papers.bfc import learner as L
spec = L.learner_spec(64, 3, k=8, m=256, tied=False)
params = L.init_learner(spec, rng=0, scale=0.1)
rng = np.random.default_rng(0)
X, y = rng.standard_normal(({n}, 64)), rng.standard_normal({n})
L.sgd_step(params, X, y, 1e-4, lambda_wd=1e-4)
print(time.perf_counter() - t)
"""


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def _timed(cmd: list[str], env: dict, cwd: Path) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode not in (0, 1):     # check exits 1 when a claim fails: still a timing
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return wall


def probe(name: str, make_cmd, rounds: int) -> tuple[str, float, float]:
    """(name, cold seconds, median warm seconds) with a fresh numba cache."""
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as work:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache,
                   PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        cold = _timed(make_cmd(Path(work) / "cold"), env, ROOT)
        warm = [_timed(make_cmd(Path(work) / f"warm{i}"), env, ROOT) for i in range(rounds)]
    return name, cold, statistics.median(warm)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="warm runs per probe (median)")
    ap.add_argument("--claim", action="append", default=[], metavar="GLOB",
                    help="restrict `theorycheck check` to these claims (repeatable)")
    ap.add_argument("--jobs", "-j", default=None, metavar="N",
                    help="pass -j N to theorycheck check (default: its own, the cores available)")
    ap.add_argument("--no-check", action="store_true", help="only the learner probes")
    args = ap.parse_args(argv)
    print(f"load average before: {_load()}; {os.cpu_count()} CPUs")
    results = []
    for n in (1, 256):
        results.append(probe(f"learner import + first SGD step, batch {n}",
                             lambda _out, n=n: [sys.executable, "-c", LEARNER.format(n=n)],
                             args.rounds))
    if not args.no_check:
        sel = [a for c in args.claim for a in ("-c", c)]
        if args.jobs is not None:
            sel += ["-j", str(args.jobs)]
        label = ("theorycheck check (quick" + (f", -j {args.jobs}" if args.jobs else "")
                 + (f", {' '.join(args.claim)}" if args.claim else "") + ")")
        results.append(probe(label, lambda out: [sys.executable, "-m", "theorycheck", "check",
                                                 *sel, "--out", str(out)], args.rounds))
    print("\n| start-up | cold (empty numba cache) | warm (median) | cold / warm |")
    print("|---|---:|---:|---:|")
    for name, cold, warm in results:
        print(f"| {name} | {cold:.2f} s | {warm:.2f} s | {cold / warm:.2f} |")
    print(f"\nload average after: {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
