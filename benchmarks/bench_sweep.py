"""Sweep engine timing: 40 short runs serially vs on a 2-worker
LocalCluster, and the engine's overhead per run measured with near-zero-work runs.

    python benchmarks/bench_sweep.py [--runs 40] [--workers 2] [--repeat 3] [--n 65536]

Workload: the built-in ``target-energy`` run kind (build G* for d=16, L=3, then Monte Carlo
moments of each layer term over ``n`` samples): real, CPU-bound toolkit work, one BLAS
thread per run. Every repetition uses a fresh store, so nothing is skipped.

Figures (medians over ``--repeat``):

* serial: ``run_sweep(serial=True)``, in this process, same store writes as the workers;
* parallel (warm): the sweep on an already started, warmed-up cluster;
* parallel (cold): the first sweep, including LocalCluster start-up and the workers' first
  imports (measured once);
* serial and warm-parallel repetitions are interleaved so both see the same background load;
  "paired" ratios divide each parallel time by the serial time measured just before it;
* overhead per run: wall time per run of a sweep of ``--zero-runs`` near-zero-work runs
  (d=2, L=2, n=2) on the cluster, minus nothing: it includes the run body and its store
  transactions, so it bounds the scheduling overhead from above. ``x workers`` is the same
  per worker slot.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from theorycheck.runs.kinds import get_kind  # noqa: E402
from theorycheck.runs.sweep import RunSpec, connect, run_sweep  # noqa: E402


def specs(n_runs: int, **config) -> list[RunSpec]:
    cfg = get_kind("target-energy").validate(config)
    return [RunSpec("target-energy", cfg, seed) for seed in range(n_runs)]


def _spin(q, secs: float) -> None:
    t, c = time.perf_counter(), time.process_time()
    while time.perf_counter() - t < secs:
        pass
    q.put((time.process_time() - c) / (time.perf_counter() - t))


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its finished children so far."""
    import resource
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def cpu_available(n_procs: int, secs: float = 1.0) -> list[float]:
    """CPU share each of ``n_procs`` busy-looping processes gets right now (1.0 = a free core)."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    ps = [ctx.Process(target=_spin, args=(q, secs)) for _ in range(n_procs)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    return sorted(round(q.get(), 2) for _ in ps)


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n", type=int, default=65536, help="MC samples per run")
    ap.add_argument("--zero-runs", type=int, default=200)
    args = ap.parse_args()

    work = specs(args.runs, d=16, L=3, n=args.n, chunk=16384)
    zero = specs(args.zero_runs, d=2, L=2, k=1, n=2, chunk=2)
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    t0 = time.perf_counter()
    run_sweep(zero, tmp / "zero-serial.db", serial=True)
    zero_serial = (time.perf_counter() - t0) / args.zero_runs
    counter = iter(range(10**6))

    def fresh() -> Path:
        return tmp / f"s{next(counter)}.db"

    probe_before = (cpu_available(1), cpu_available(args.workers))
    run_sweep(work[:2], fresh(), serial=True)  # warm imports / caches in this process
    t = time.perf_counter()
    client, cluster = connect(None, workers=args.workers, threads=1)
    try:
        run_sweep(work, fresh(), client=client)
        cold = time.perf_counter() - t
        serial, warm, over, share_s, share_w = [], [], [], [], []
        for _ in range(args.repeat):  # interleaved, so both see the same background load
            t, c = time.perf_counter(), time.process_time()
            run_sweep(work, fresh(), serial=True)
            serial.append(time.perf_counter() - t)
            share_s.append((time.process_time() - c) / serial[-1])
            c0 = sum(client.run(_cpu_seconds).values())
            t = time.perf_counter()
            run_sweep(work, fresh(), client=client)
            warm.append(time.perf_counter() - t)
            share_w.append((sum(client.run(_cpu_seconds).values()) - c0) / warm[-1] / args.workers)
            t = time.perf_counter()
            res = run_sweep(zero, fresh(), client=client)
            over.append((time.perf_counter() - t) / args.zero_runs)
            assert res.counts["done"] == args.zero_runs
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)


    probe_after = (cpu_available(1), cpu_available(args.workers))
    med = statistics.median
    s, w, o = med(serial), med(warm), med(over)
    pairs = sorted(x / y for x, y in zip(warm, serial))
    cores = len(os.sched_getaffinity(0))
    load = os.getloadavg()[0]
    print(f"sweep timing: {args.runs} target-energy runs (d=16, L=3, n={args.n}); "
          f"{args.workers} workers x 1 thread; {cores} cores; load average {load:.1f} "
          f"(shared machine); medians of {args.repeat}")
    print(f"free CPU probe (share of a core per busy-looping process; 1.0 = idle): 1 process "
          f"{probe_before[0]} -> {probe_after[0]}, {args.workers} processes {probe_before[1]} -> "
          f"{probe_after[1]} (before -> after)")
    print("| configuration | wall s (median) | all repeats | ratio to serial |")
    print("|---|---|---|---|")
    print(f"| serial, in-process | {s:.2f} | {', '.join(f'{x:.2f}' for x in serial)} | 1.00 |")
    print(f"| {args.workers} workers, warm cluster | {w:.2f} | {', '.join(f'{x:.2f}' for x in warm)} "
          f"| {w / s:.2f} (paired: median {med(pairs):.2f}, best {pairs[0]:.2f}) |")
    print(f"| {args.workers} workers, first sweep incl. cluster start | {cold:.2f} | (once) "
          f"| {cold / s:.2f} |")
    print(f"CPU share actually obtained (CPU s / wall s, median): serial process "
          f"{med(share_s):.2f} of a core; each worker {med(share_w):.2f} of a core; with no other "
          f"load both would be ~1.0")
    cpu_serial = [w * x for w, x in zip(serial, share_s)]
    cpu_par = [w * x * args.workers for w, x in zip(warm, share_w)]
    proj = med([p / args.workers / q for p, q in zip(cpu_par, cpu_serial)])
    print(f"CPU seconds per sweep (median): serial {med(cpu_serial):.2f}, workers together "
          f"{med(cpu_par):.2f}; projected ratio on {args.workers} otherwise idle cores "
          f"(workers' CPU s / {args.workers} / serial CPU s; a projection, not a measurement): "
          f"{proj:.2f}")
    print(f"engine time per near-zero run ({args.zero_runs} runs): {1000 * o:.1f} ms on the "
          f"cluster ({1000 * o * args.workers:.1f} ms x {args.workers} worker slots), "
          f"{1000 * zero_serial:.1f} ms serial in-process; "
          f"all repeats: {', '.join(f'{1000 * x:.1f}' for x in over)} ms")


if __name__ == "__main__":
    main()
