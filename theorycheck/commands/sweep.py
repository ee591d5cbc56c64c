"""``theorycheck sweep GRID.toml``: run a parameter grid on dask.distributed into the store."""

from __future__ import annotations

import math
import os
import sys

from theorycheck.commands._common import SweepProgress, add_jobs_argument, add_store_argument, store_path
from theorycheck.commands._common import console as _console

from theorycheck.errors import TheorycheckError
from theorycheck.validation import check_int, check_real


def add_parser(sub) -> None:
    p = sub.add_parser("sweep", help="run a grid of runs on dask (local cluster or --scheduler)",
                       description="Expand GRID.toml into runs, record them in the results store "
                                   "and execute those not yet done on dask.distributed. Re-running "
                                   "skips recorded runs. Exit status 1 if any run failed.")
    p.add_argument("grid", help="grid file (TOML): [sweep] kind/seeds, [base], [grid] axes, [[runs]]")
    add_store_argument(p, grid=True)
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="an existing dask scheduler (default: start a LocalCluster)")
    add_jobs_argument(p, deprecated=("--workers",),
                      help="LocalCluster worker processes (default: the cores available)")
    p.add_argument("--threads-per-worker", default=1, dest="threads",
                   help="BLAS/OpenMP/numba threads per run (default: 1)")
    p.add_argument("--listen", default="127.0.0.1",
                   help="interface the local scheduler binds to (default: loopback)")
    p.add_argument("--serial", action="store_true",
                   help="run one at a time in this process (no dask)")
    p.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    p.add_argument("--resume", action="store_true",
                   help="continue a sweep in an existing store (error if the store is missing); "
                        "recorded runs are skipped, interrupted ones resume from their checkpoint")
    p.add_argument("--lease", default=60, help="seconds a silent worker keeps a run (default: 60)")
    p.add_argument("--connect-timeout", default=5, help="seconds to reach --scheduler (default: 5)")
    p.add_argument("--no-progress", action="store_true", help="no live progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from theorycheck.runs.store import Store
    from theorycheck.runs.sweep import load_grid, run_sweep

    from theorycheck.commands._common import worker_count
    threads = check_int("--threads-per-worker", args.threads, min_value=1, max_value=1024)
    workers = None if args.jobs is None else worker_count("--jobs", args.jobs)
    lease = check_real("--lease", args.lease, positive=True)
    timeout = check_real("--connect-timeout", args.connect_timeout, positive=True, max_value=10)
    if args.scheduler is not None:
        from theorycheck.runs.sweep import _ADDRESS
        if not _ADDRESS.match(args.scheduler):
            raise TheorycheckError(f"--scheduler {args.scheduler!r} is invalid; give an address "
                                   f"such as tcp://10.0.0.5:8786")
    elif not args.serial:
        _check_listen(args.listen)
    grid = load_grid(args.grid)  # checks every run's config: nothing is stored before this
    store = store_path(args.store, grid.store)
    if args.resume and not (os.path.exists(store) and os.path.getsize(store) > 0):
        raise TheorycheckError(f"--resume: no store at {store!r} to resume; pass the store of "
                               f"the interrupted sweep with --store, or drop --resume")
    from theorycheck.runs.sweep import check_budgets
    check_budgets(grid.runs, store, args.retry_failed)  # sizes, before anything is recorded
    Store(store).close()  # reject a non-store file before any cluster starts
    console = _console()
    n = len(grid.runs)
    print(f"sweep {grid.source}: {n} runs" + (f" ({grid.duplicates} duplicates merged)"
                                               if grid.duplicates else "")
          + f"; store {store}", file=sys.stderr, flush=True)
    with SweepProgress(n, enabled=not args.no_progress) as bar:
        res = run_sweep(grid.runs, store, scheduler=args.scheduler, workers=workers,
                        serial=args.serial, retry_failed=args.retry_failed, threads=threads,
                        lease_s=lease, imports=grid.imports, listen=args.listen,
                        connect_timeout_s=timeout, progress=bar.update)
    summary_table(res, store, console)
    return 1 if res.counts.get("failed") else 0


def summary_table(res, store_path: str, console) -> None:
    from rich.table import Table

    from theorycheck.runs.store import Store
    with Store(store_path, create=False) as st:
        rows = st.runs(hashes=res.hashes)
    table = Table(title=f"sweep summary ({len(rows)} runs, store {store_path})")
    for col in ("kind", "runs", "done", "failed", "queued/running", "ran now", "skipped",
                "mean run s"):
        table.add_column(col, justify="right" if col != "kind" else "left")
    ran = {o["hash"] for o in res.outcomes if o["status"] in ("done", "failed")}
    for kind in sorted({r["kind"] for r in rows}):
        rs = [r for r in rows if r["kind"] == kind]
        secs = [r["seconds"] for r in rs if r["status"] == "done" and r["seconds"] is not None]
        table.add_row(kind, str(len(rs)), str(sum(r["status"] == "done" for r in rs)),
                      str(sum(r["status"] == "failed" for r in rs)),
                      str(sum(r["status"] in ("queued", "running") for r in rs)),
                      str(sum(r["hash"] in ran for r in rs)),
                      str(sum(r["hash"] not in ran for r in rs)),
                      f"{sum(secs) / len(secs):.3f}" if secs else "-")
    console.print(table)
    failed = [r for r in rows if r["status"] == "failed"]
    if failed:
        ft = Table(title="failed runs (rerun with --retry-failed)")
        for col in ("hash", "seed", "config", "error"):
            ft.add_column(col)
        for r in failed[:20]:
            cfg = ", ".join(f"{k}={v}" for k, v in r["config"].items())
            ft.add_row(r["hash"][:12], str(r["seed"]), cfg[:60], (r["error"] or "").splitlines()[0][:80])
        console.print(ft)
    wall = res.wall_s
    console.print(f"{res.submitted} submitted, {res.skipped} already recorded; "
                  f"{res.workers} worker(s); wall {wall:.2f} s"
                  + ("" if not res.submitted or math.isnan(wall) else
                     f" ({1000 * wall / res.submitted:.0f} ms per submitted run)"), highlight=False)


def _check_listen(host: str) -> None:
    """``--listen`` must name an interface of this machine (checked before any cluster)."""
    import socket
    fix = "pass an address of this machine, e.g. --listen 127.0.0.1"
    if not host or not host.strip():
        raise TheorycheckError(f"--listen='' is invalid: an empty address; {fix}")
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError, OSError):
        raise TheorycheckError(f"--listen={host!r} is invalid: not a known host or address; "
                               f"{fix}") from None
    for family, _, _, _, addr in infos:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.bind((addr[0], 0))
            return
        except OSError:
            continue
    raise TheorycheckError(f"--listen={host!r} is invalid: not an address of this machine; {fix}")
