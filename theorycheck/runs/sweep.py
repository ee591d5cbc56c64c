"""Parameter sweeps on dask.distributed, resumable and exactly-once through the results
store.

A grid file (TOML) names a run kind and the configs to run::

    [sweep]
    kind = "target-energy"     # a registered kind or "module:attribute"
    seeds = [0, 1, 2]          # or an integer N for seeds 0..N-1 (default [0])
    imports = []               # modules to import (on driver and workers) that register kinds
    store = "my-results.sqlite"  # optional store path (--store and THEORYCHECK_STORE override it)

    [base]                     # config keys shared by every run
    n = 4096

    [grid]                     # axes; their Cartesian product (x seeds) is the run list
    d = [8, 16]
    L = [3, 4]

    [[runs]]                   # and/or explicit runs (base applies; kind/seed/seeds optional)
    d = 32
    seed = 7

Every run is checked against its kind's schema on the driver (the one check: a bad value
stops the sweep with a one-line :class:`GridError` naming the key, before anything is
stored), inserted into the store as ``queued`` (keyed by its config hash), and only runs
not yet ``done`` (and, with ``retry_failed``, ``failed`` ones) are submitted. Workers claim runs through the store, so
re-running a sweep, killing a worker or killing the driver neither loses a finished result
nor records one twice.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from theorycheck.errors import SpecError, TheorycheckError
from theorycheck.runs.kinds import RunKind, execute_run, get_kind, import_modules, run_task
from theorycheck.runs.store import DEFAULT_LEASE_S, Store, canonical_json, config_hash, owner_id
from theorycheck.tomlfile import read_toml

TOP_KEYS = ("sweep", "base", "grid", "runs")
SWEEP_KEYS = ("kind", "seeds", "imports", "store")
RUN_EXTRA_KEYS = ("kind", "seed", "seeds")
_ADDRESS = re.compile(r"^(tcp|tls|ucx|ws|wss)://[^\s:/]+(:\d+)?/?$")


class GridError(SpecError):
    """A grid file that cannot be expanded into runs.

    Parameters
    ----------
    message : str
        One line naming the bad value and the fix (the CLI prints it as is).
    """


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: a run kind, its config and a seed (the store keys it by
    :func:`~theorycheck.runs.store.config_hash`).

    Parameters
    ----------
    kind : str
        A registered run kind.
    config : dict
        Its config.
    seed : int
        The run's seed.
    """
    kind: str
    config: dict
    seed: int

    @property
    def hash(self) -> str:
        return config_hash(self.kind, self.config, self.seed)


@dataclass
class Grid:
    runs: list[RunSpec]
    imports: tuple[str, ...] = ()
    store: str | None = None
    source: str = ""
    duplicates: int = 0


def load_grid(path: str | os.PathLike) -> Grid:
    """Read and expand a grid file (see the module docstring): every run's config is checked
    here, on the driver, so a bad value stops the sweep before anything is stored.

    Parameters
    ----------
    path : str or PathLike
        A TOML grid file.

    Returns
    -------
    Grid

    Raises
    ------
    GridError
        A bad key or value, naming it.
    """
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise GridError(f"path={path!r:.60} is invalid: a {type(path).__name__}; pass the grid "
                        f"file's path as a string or pathlib.Path")
    if not str(path).strip():
        raise GridError("path='' is invalid: an empty path; pass a .toml grid file")
    if os.path.isdir(path):
        raise GridError(f"grid file {str(path)!r} is a folder; pass a .toml file with a [sweep] "
                        f"table")
    data = read_toml(path, what="grid file", hint="pass a .toml file with a [sweep] table",
                     error=GridError)
    return expand_grid(data, source=str(path))


def _seeds(value, where: str) -> list[int]:
    from theorycheck.validation import check_int
    if isinstance(value, int) and not isinstance(value, bool):
        n = check_int(f"{where} seeds", value, min_value=1, error=GridError)
        check_grid_size({}, n, where)
        return list(range(n))
    if not isinstance(value, list):
        raise GridError(f"{where} seeds={value!r} is invalid; give a list of seeds or a count N")
    if not value:
        raise GridError(f"{where} seeds=[] is empty; give at least one seed")
    return [check_int(f"{where} seed", s, min_value=0, max_value=2**32 - 1, error=GridError)
            for s in value]


def _unknown(key, where: str, valid) -> GridError:
    return GridError(f"{where} key {key!r} is unknown; valid keys: {', '.join(valid)}")


def expand_grid(data: dict, source: str = "<grid>") -> Grid:
    """Expand a parsed grid into validated, de-duplicated :class:`RunSpec` s."""
    if not isinstance(data, dict):
        raise GridError(f"grid={data!r:.60} is invalid: a {type(data).__name__}; pass the table "
                        f"of a grid file ({{'sweep': {{...}}, 'grid': {{...}}}})")
    for key in data:
        if key not in TOP_KEYS:
            raise _unknown(key, f"{source}: top-level", [f"[{k}]" for k in TOP_KEYS])
    sweep = data.get("sweep", {})
    if not isinstance(sweep, dict):
        raise GridError(f"{source}: 'sweep' must be a table [sweep]; write [sweep] kind = \"...\"")
    for key in sweep:
        if key not in SWEEP_KEYS:
            raise _unknown(key, f"{source}: [sweep]", SWEEP_KEYS)
    imports = sweep.get("imports", [])
    if isinstance(imports, str):
        imports = [imports]
    if not isinstance(imports, list) or not all(isinstance(m, str) for m in imports):
        raise GridError(f"{source}: [sweep] imports={imports!r} is invalid; give a list of module names")
    import_modules(imports)
    store = sweep.get("store")
    if store is not None and not isinstance(store, str):
        raise GridError(f"{source}: [sweep] store={store!r} is invalid; give a file path string")
    default_kind = sweep.get("kind")
    seeds = _seeds(sweep["seeds"], f"{source}: [sweep]") if "seeds" in sweep else [0]
    base = data.get("base", {})
    grid = data.get("grid")
    runs = data.get("runs")
    if not isinstance(base, dict):
        raise GridError(f"{source}: 'base' must be a table [base] of config keys")
    if grid is None and runs is None:
        raise GridError(f"{source} defines no runs (the grid is empty); add a [grid] table of "
                        f"axes or [[runs]] entries")
    specs: list[RunSpec] = []
    if grid is not None:
        if not isinstance(grid, dict):
            raise GridError(f"{source}: 'grid' must be a table [grid] of axes (key = [values])")
        if not grid:
            raise GridError(f"{source}: [grid] has no axes (the grid is empty); add axes such as "
                            f"d = [8, 16] or remove [grid]")
        if default_kind is None:
            raise GridError(f"{source}: [grid] needs a run kind; add kind = \"...\" to [sweep]")
        kind = get_kind(default_kind)
        axes, grid_seeds = {}, seeds
        for key, values in grid.items():
            if not isinstance(values, list):
                values = [values]
            if not values:
                raise GridError(f"{source}: grid axis {key!r} is empty (the grid is empty); give "
                                f"it at least one value")
            if key == "seed":
                if "seeds" in sweep:
                    raise GridError(f"{source}: seeds are given twice ([sweep] seeds and grid axis "
                                    f"'seed'); keep one")
                grid_seeds = _seeds(values, f"{source}: [grid]")
                continue
            if key not in kind.schema:
                raise GridError(f"{source}: grid key {key!r} is unknown for run kind "
                                f"{kind.name!r}; valid keys: {kind.expected()}")
            axes[key] = values
        _check_base(base, kind, source)
        check_grid_size(axes, len(grid_seeds), source)
        names = list(axes)
        for combo in itertools.product(*(axes[k] for k in names)):
            config = {**base, **dict(zip(names, combo))}
            cfg = _validate(kind, config, f"{source}: grid point {dict(zip(names, combo))}")
            specs.extend(RunSpec(default_kind, cfg, s) for s in grid_seeds)
    if runs is not None:
        if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
            raise GridError(f"{source}: 'runs' must be an array of tables [[runs]]")
        if not runs:
            raise GridError(f"{source}: [[runs]] is empty (the grid is empty); add entries")
        for i, entry in enumerate(runs):
            kind_name = entry.get("kind", default_kind)
            if kind_name is None:
                raise GridError(f"{source}: [[runs]] entry {i} has no kind; add kind = \"...\" to "
                                f"it or to [sweep]")
            kind = get_kind(kind_name)
            if "seed" in entry and "seeds" in entry:
                raise GridError(f"{source}: [[runs]] entry {i} gives both seed and seeds; keep one")
            run_seeds = (_seeds([entry["seed"]], f"{source}: [[runs]] entry {i}") if "seed" in entry
                         else _seeds(entry["seeds"], f"{source}: [[runs]] entry {i}")
                         if "seeds" in entry else seeds)
            config = {k: v for k, v in entry.items() if k not in RUN_EXTRA_KEYS}
            for key in config:
                if key not in kind.schema:
                    raise GridError(f"{source}: [[runs]] entry {i} key {key!r} is unknown for run "
                                    f"kind {kind.name!r}; valid keys: kind, seed, seeds, "
                                    f"{kind.expected()}")
            if kind_name == default_kind:
                _check_base(base, kind, source)
                config = {**base, **config}
            cfg = _validate(kind, config, f"{source}: [[runs]] entry {i}")
            specs.extend(RunSpec(kind_name, cfg, s) for s in run_seeds)
    seen, unique = set(), []
    for s in specs:
        h = s.hash
        if h not in seen:
            seen.add(h)
            unique.append(s)
    return Grid(unique, tuple(imports), store, source, len(specs) - len(unique))


RUN_BYTES = 4096  # memory per run of a sweep: its spec, checked config, hash and store row


def check_grid_size(axes: dict, n_seeds: int, source: str = "<grid>") -> None:
    """Refuse (:class:`~theorycheck.errors.BudgetError`) a grid whose runs (the product of
    its axes' lengths times the seeds, computed before anything is expanded) do not fit the
    memory budget at :data:`RUN_BYTES` per run; the message names the axes and the largest
    number of runs that fits."""
    from theorycheck.budget import BUDGET_FIX, fmt_bytes, fmt_count, memory_budget
    from theorycheck.errors import BudgetError

    n = n_seeds
    for values in axes.values():
        n *= len(values)
    budget, src = memory_budget()
    if n * RUN_BYTES <= budget:
        return
    shape = " x ".join([f"{k}: {len(v)}" for k, v in axes.items()] + [f"seeds: {n_seeds}"])
    raise BudgetError(f"{source}: the grid has {fmt_count(n)} runs ({shape}), needing "
                      f"{fmt_bytes(n * RUN_BYTES)} to expand and record but the memory budget is "
                      f"{fmt_bytes(budget)} ({src}); use at most {budget // RUN_BYTES} runs "
                      f"(shorten the axes or split the sweep), {BUDGET_FIX}")


def _check_base(base: dict, kind: RunKind, source: str) -> None:
    for key in base:
        if key not in kind.schema:
            raise GridError(f"{source}: [base] key {key!r} is unknown for run kind {kind.name!r}; "
                            f"valid keys: {kind.expected()}")


def _validate(kind: RunKind, config: dict, where: str) -> dict:
    try:
        return kind.validate(config)
    except TheorycheckError as exc:
        raise GridError(f"{where}: {exc}") from None


# -- execution ------------------------------------------------------------------------------

@dataclass
class SweepResult:
    hashes: list[str]
    submitted: int
    skipped: int
    counts: dict[str, int] = field(default_factory=dict)
    outcomes: list[dict] = field(default_factory=list)
    wall_s: float = 0.0
    workers: int = 0


def connect(scheduler: str | None, *, workers: int, threads: int = 1, listen: str = "127.0.0.1",
            timeout_s: float = 5.0):
    """A dask Client: to ``scheduler`` (``tcp://host:port``, error within ``timeout_s``) or to
    a new LocalCluster of ``workers`` single-threaded processes bound to ``listen``.
    Returns ``(client, cluster_or_None)``."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise TheorycheckError("sweeps on dask need dask[distributed]; pip install "
                               "'theorycheck[sweep]', or pass --serial") from None
    if scheduler is not None:
        if not isinstance(scheduler, str) or not _ADDRESS.match(scheduler):
            raise TheorycheckError(f"--scheduler {scheduler!r} is invalid; give an address such "
                                   f"as tcp://10.0.0.5:8786")
        try:
            client = Client(scheduler, timeout=timeout_s, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise TheorycheckError(f"scheduler {scheduler} did not answer within {timeout_s:g} s "
                                   f"({type(exc).__name__}); start one with 'dask scheduler' or "
                                   f"omit --scheduler for a local cluster") from None
        return client, None
    env = {v: str(threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                     "NUMBA_NUM_THREADS")}
    # dask sets MALLOC_TRIM_THRESHOLD_ for its workers by default; that disables glibc's
    # adaptive mmap threshold, so every array of a few MB is mmapped and page-faulted afresh,
    # which made numpy-heavy runs ~1.7x more CPU-costly in workers than in one process.
    import dask
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host=listen, dashboard_address=None,
                               silence_logs=logging.CRITICAL, env=env)
    return Client(cluster, set_as_default=False), cluster


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


def run_sweep(specs: Sequence[RunSpec], store_path: str | os.PathLike, *,
              scheduler: str | None = None, client=None, workers: int | None = None,
              serial: bool = False, retry_failed: bool = False, threads: int = 1,
              lease_s: float = DEFAULT_LEASE_S, imports: Sequence[str] = (),
              listen: str = "127.0.0.1", connect_timeout_s: float = 5.0,
              progress=None) -> SweepResult:
    """Record ``specs`` in the store and execute the ones not yet done.

    ``serial`` runs them one by one in this process (the reference for "identical to a
    serial run"); otherwise on ``client``, on the cluster at ``scheduler``, or on a new
    LocalCluster. ``progress(counts, total)`` is called as runs finish.

    Parameters
    ----------
    specs : sequence of RunSpec
        The runs.
    store_path : str or PathLike
        The results store.
    scheduler : str or None
        Address of a running dask scheduler.
    client : distributed.Client or None
        A client to use.
    workers : int or None
        Local worker processes.
    serial : bool
        Run in this process.
    retry_failed : bool
        Run failed runs again.
    threads : int
        Threads per run.
    lease_s : float
        Lease length in seconds.
    imports : sequence of str
        Modules that register run kinds.
    listen : str
        Host of a new LocalCluster.
    connect_timeout_s : float
        Seconds to reach ``scheduler``.
    progress : callable or None
        ``progress(counts, total)``.

    Returns
    -------
    SweepResult
    """
    t0 = time.perf_counter()
    if not specs:
        raise GridError("the sweep has no runs (the grid is empty); add grid axes or [[runs]]")
    store_path = str(Path(store_path).resolve())
    check_budgets(specs, store_path, retry_failed)  # before anything is recorded
    store = Store(store_path)
    try:
        hashes = store.ensure((s.kind, s.config, s.seed) for s in specs)
        rows = {r["hash"]: r["status"] for r in store.runs(hashes=hashes)}
        todo = [h for h in hashes if rows[h] != "done" and (rows[h] != "failed" or retry_failed)]
        result = SweepResult(hashes, len(todo), len(hashes) - len(todo))
        kw = dict(lease_s=lease_s, retry_failed=retry_failed, threads=threads, imports=tuple(imports))

        def tick():
            if progress is not None:
                progress(store.status_counts(hashes), len(hashes))

        tick()
        if todo and serial:
            result.workers = 1
            for h in todo:
                result.outcomes.append(execute_run(store_path, h, **kw))
                tick()
        elif todo:
            result.outcomes, result.workers = _run_dask(todo, store_path, store, kw, client,
                                                        scheduler, workers, threads, listen,
                                                        connect_timeout_s, tick)
        result.counts = store.status_counts(hashes)
        result.wall_s = time.perf_counter() - t0
        return result
    finally:
        store.close()


def check_budgets(specs: Sequence[RunSpec], store_path=None, retry_failed: bool = False) -> None:
    """Refuse (:class:`~theorycheck.errors.BudgetError`, naming the run) the first run that
    is still to be done and whose kind finds it beyond the budgets of
    :mod:`theorycheck.budget` (:meth:`~theorycheck.runs.kinds.RunKind.check_budget`); runs
    already done in the store at ``store_path`` (or failed, unless retried) are not checked.
    Nothing is written: a refused sweep leaves the store as it was (or absent)."""
    from theorycheck.errors import BudgetError

    done = {}
    hashes = [s.hash for s in specs]
    if store_path is not None and os.path.isfile(store_path) and os.path.getsize(store_path) > 0:
        with Store(store_path, create=False) as store:
            for i in range(0, len(hashes), 500):
                for r in store.runs(hashes=hashes[i:i + 500]):
                    done[r["hash"]] = r["status"]
    seen = set()
    for s, h in zip(specs, hashes):
        status = done.get(h)
        if status == "done" or (status == "failed" and not retry_failed):
            continue
        key = (s.kind, canonical_json(s.config))
        if key in seen:
            continue
        seen.add(key)
        kind = get_kind(s.kind)
        try:
            kind.check_budget(s.config, s.seed)
        except BudgetError as exc:
            changed = {k: v for k, v in s.config.items()
                       if k not in kind.schema or kind.schema[k].default != v}
            shown = ", ".join(f"{k}={v}" for k, v in changed.items()) or "defaults"
            raise BudgetError(f"run {s.kind} ({shown[:120]}, seed {s.seed}): {exc}") from None


def _run_dask(todo, store_path, store, kw, client, scheduler, workers, threads, listen,
              timeout_s, tick):
    own = client is None
    cluster = None
    if own:
        client, cluster = connect(scheduler, workers=workers or default_workers(), threads=threads,
                                  listen=listen, timeout_s=timeout_s)
    from distributed import as_completed
    try:
        n_workers = len(client.scheduler_info().get("workers", {}))
        token = uuid.uuid4().hex[:8]
        futures = client.map(run_task, todo, key=[f"theorycheck-run-{h[:16]}-{token}" for h in todo],
                             store_path=store_path, **kw)
        by_key = dict(zip((f.key for f in futures), todo))
        outcomes = []
        stop = threading.Event()

        def refresh():  # keeps "running" and the ETA live between completions
            while not stop.wait(0.5):
                tick()

        th = threading.Thread(target=refresh, daemon=True, name="theorycheck-sweep-progress")
        th.start()
        try:
            for f in as_completed(futures, loop=client.loop):
                outcomes.append(_outcome(f, by_key[f.key], store))
                tick()
        finally:
            stop.set()
            th.join()
        return outcomes, n_workers
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()


def _outcome(future, h: str, store: Store) -> dict:
    """The task's own report, or, when dask gave up on it (e.g. its workers kept dying), a
    failure recorded in the store by the driver if no live owner holds the run."""
    try:
        return future.result()
    except Exception as exc:
        err = f"{type(exc).__name__}: {exc}"
        me = owner_id()
        if store.claim(h, me, lease_s=DEFAULT_LEASE_S) == "claimed":
            store.fail(h, me, f"{err} (reported by the sweep driver; the task never completed)")
        return {"hash": h, "status": "failed", "seconds": math.nan, "error": err}
