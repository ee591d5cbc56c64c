"""``theorycheck check`` wall time with one worker against two, measured in the same run.

    python benchmarks/bench_check.py [--scale quick] [--repeat 2] [--jobs 2] [-c GLOB ...]

Each repetition runs ``check -j 1`` and ``check -j N`` back to back as subprocesses (fresh
interpreters, as a user runs them), alternating which goes first, so both see the same
background load; the ratio of each pair is reported, never asserted (a shared machine makes
wall times noisy: read the CPU share column). Before the timed repetitions one untimed run
of each warms the disk caches and numba's compile cache and leaves a report in each output
folder, so the timed ``-j N`` runs schedule longest first from the previous times, as a
user's second run does.

Columns: wall seconds of each run, the sum of the claims' own seconds (CPU-bound work
plus worker start-up, as in the report), the ratio wall(-j N) / wall(-j 1) of the pair,
and the CPU share two busy processes got just before the pair (1.0 each on an idle
2-core machine; docs/performance.md).

The reports of the last pair are compared claim by claim (verdicts and worst ratios): a
difference is printed, since the report must not depend on ``-j``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_sweep import cpu_available  # noqa: E402


def run_check(jobs: int, out: Path, scale: str, claims: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    cmd = [sys.executable, "-m", "theorycheck", "check", "--scale", scale, "-j", str(jobs),
           "--out", str(out), "--no-example-db"] + [a for c in claims for a in ("-c", c)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"check -j {jobs} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    report = json.loads((out / "report.json").read_text())
    return {"wall": wall, "claims_s": sum(c["seconds"] for c in report["claims"]),
            "report": report}


def same_report(a: dict, b: dict) -> list[str]:
    diffs = []
    for x, y in zip(a["claims"], b["claims"]):
        for key in ("id", "verdict", "instances", "worst_ratio", "counterexample"):
            if x.get(key) != y.get(key):
                diffs.append(f"{x['id']}: {key} {x.get(key)!r} != {y.get(key)!r}")
    if len(a["claims"]) != len(b["claims"]):
        diffs.append(f"{len(a['claims'])} claims != {len(b['claims'])}")
    return diffs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="quick", choices=("quick", "full"))
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("-c", "--claim", action="append", default=[])
    ap.add_argument("--json", default=None, help="write the measurements here")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench_check_"))
    outs = {1: tmp / "j1", args.jobs: tmp / f"j{args.jobs}"}
    print(f"warm-up: one run of each ({args.scale} scale)...", flush=True)
    for j, out in outs.items():
        run_check(j, out, args.scale, args.claim)
    rows = []
    for rep in range(args.repeat):
        share = cpu_available(2)
        order = [1, args.jobs] if rep % 2 == 0 else [args.jobs, 1]
        res = {j: run_check(j, outs[j], args.scale, args.claim) for j in order}
        rows.append({"rep": rep, "cpu_share": share, "load": os.getloadavg()[0],
                     **{f"wall_j{j}": r["wall"] for j, r in res.items()},
                     **{f"claims_s_j{j}": r["claims_s"] for j, r in res.items()},
                     "ratio": res[args.jobs]["wall"] / res[1]["wall"]})
        last = res
        r = rows[-1]
        print(f"rep {rep}: -j 1 {r['wall_j1']:.1f}s (claims {r['claims_s_j1']:.1f}s), "
              f"-j {args.jobs} {r[f'wall_j{args.jobs}']:.1f}s (claims "
              f"{r[f'claims_s_j{args.jobs}']:.1f}s), ratio {r['ratio']:.2f}, CPU share "
              f"{', '.join(f'{s:.2f}' for s in share)}, load {r['load']:.1f}", flush=True)
    diffs = same_report(last[1]["report"], last[args.jobs]["report"])
    print(f"median ratio -j {args.jobs} / -j 1: {statistics.median(r['ratio'] for r in rows):.2f} "
          f"over {len(rows)} pairs; reports {'identical' if not diffs else 'DIFFER'}")
    for d in diffs:
        print("  " + d)
    if args.json:
        Path(args.json).write_text(json.dumps({"scale": args.scale, "jobs": args.jobs,
                                               "rows": rows, "diffs": diffs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
