"""Running many claims at once: ``theorycheck check -j N`` (docs/theory.md §0.2).

The claims run in ``N`` worker processes started with the ``spawn`` method (numba's and
BLAS's threads do not survive ``fork``), each pinned to one BLAS thread
(:func:`theorycheck.runs.kinds.pin_threads`). With ``N = 1`` they run in this process, with
BLAS pinned to one thread as well, so the numbers do not depend on ``N``.

What runs where
---------------
* A claim searched by hypothesis is one task: its search is sequential.
* A grid claim is split into parts (:func:`plan`), each a strided subset of its instances,
  measured by :func:`theorycheck.claims.engine.run_grid_part`; the parts are merged in
  instance order by :func:`theorycheck.claims.engine.merge_grid_parts` into one
  :class:`~theorycheck.claims.engine.ClaimResult`, equal to the one a single process
  computes (verdict, counts, worst instance, counterexample, warnings; only ``seconds``,
  the sum of the parts' times, differs).
* Claims that name the same ``shares`` cache (:class:`~theorycheck.claims.engine.Claim`)
  form one task and run whole, in their order, in one worker: the runs they share are
  computed once, as with ``-j 1``.
* Tasks are started longest first, by the claim's ``seconds`` in the previous report of the
  same scale (:func:`previous_seconds`); claims without one start first, in their order.

Workers receive a claim's id and the folder it was discovered from, and rediscover it
(claims hold their measure functions, which do not pickle by reference). A worker that
dies (killed, out of memory) fails the tasks it held; each is retried once, alone, and a
second death makes its claim an ``error`` naming the crash.

Ctrl-C stops the workers and raises :class:`CheckInterrupted` carrying the results of the
claims that finished, so the caller can still write its report.
"""

from __future__ import annotations

import collections
import contextlib
import json
import math
import os
import pickle
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from theorycheck.claims.engine import (SCALES, Claim, ClaimResult, GridPart, default_effort,
                                       grid_size, merge_grid_parts,
                                       run_claim, run_grid_part)
from theorycheck.errors import ClaimError

#: A part shorter than this (seconds, by the previous report) is not split further: each
#: part pays the per-process costs (imports, caches) again.
MIN_PART_SECONDS = 2.0
#: Parts per worker the longest claims are cut into, so that no part is much longer than
#: ``total / (PARTS_PER_JOB * jobs)``.
PARTS_PER_JOB = 3


def default_jobs() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    count = getattr(os, "process_cpu_count", None)  # Python >= 3.13
    if count is not None:
        return max(1, count() or 1)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


#: File in the report folder keeping every claim's latest seconds per scale, across runs of
#: any selection (report.json only holds the last run's claims).
TIMES_FILE = ".theorycheck-times.json"


def previous_seconds(out: str | Path, scale: str) -> dict[str, float]:
    """``{claim id: seconds}`` known for ``scale`` in the report folder ``out``: the times
    file (:data:`TIMES_FILE`), updated by the latest run's report.json when that was written
    at ``scale``. Empty when neither is there or readable. ``out`` may also name a
    report.json."""
    out = Path(out)
    folder, report = (out.parent, out) if out.suffix == ".json" else (out, out / "report.json")
    times: dict[str, float] = {}
    try:
        times.update({str(k): float(v) for k, v in
                      json.loads((folder / TIMES_FILE).read_text()).get(scale, {}).items()})
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    try:
        data = json.loads(report.read_text())
        if data.get("meta", {}).get("scale") == scale:
            times.update({str(c["id"]): float(c["seconds"]) for c in data.get("claims", [])
                          if isinstance(c.get("seconds"), (int, float))})
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass
    return times


def record_seconds(out: str | Path, scale: str, results: Sequence[ClaimResult]) -> Path:
    """Merge the results' seconds into the report folder's :data:`TIMES_FILE` (for the
    order of the next run at ``scale``)."""
    from theorycheck.atomic import atomic_write_json
    path = Path(out) / TIMES_FILE
    try:
        data = json.loads(path.read_text())
        data = data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        data = {}
    data.setdefault(scale, {}).update({r.claim_id: round(r.seconds, 3) for r in results})
    return atomic_write_json(path, data)


@dataclass(frozen=True)
class Task:
    """One unit of work: a whole claim (``indices`` None) or a part of a grid claim."""

    claim: int                         # index into the selected claims
    part: int                          # 0-based
    parts: int                         # parts of this claim
    indices: tuple[int, ...] | None    # grid instances of this part; None: the whole claim
    estimate: float                    # seconds expected; inf when unknown
    also: tuple[int, ...] = ()         # claims run after ``claim`` in the same worker (shares)

    @property
    def members(self) -> tuple[int, ...]:
        """The claims whose results this task gives."""
        return (self.claim,) + self.also

    def label(self, claims: Sequence[Claim]) -> str:
        cid = " + ".join(claims[i].id for i in self.members)
        return cid if self.parts == 1 else f"{cid} [{self.part + 1}/{self.parts}]"


def plan(claims: Sequence[Claim], scale: str, *, jobs: int, max_examples: int | None = None,
         previous: Mapping[str, float] | None = None) -> list[Task]:
    """The tasks of a run, in the order to start them (longest first).

    Parameters
    ----------
    claims : sequence of Claim
    scale : str
    jobs : int
        Worker processes; with 1 no claim is split.
    max_examples : int, optional
        As in :func:`~theorycheck.claims.engine.run_claim` (a grid's first N instances).
    previous : mapping, optional
        ``{claim id: seconds}`` of an earlier run at the same scale.

    Returns
    -------
    list of Task
        A grid claim of n instances and expected time T is cut into
        ``min(n, ceil(T / max(total / (3 jobs), 2 s)))`` parts (``min(n, jobs)`` when T is
        unknown); part k holds instances k, k + parts, k + 2 parts, ... so that the parts of a
        grid listed small-to-large cost about the same. Claims naming the same ``shares``
        cache are one task, never split, expected to cost the sum of their times.
    """
    previous = dict(previous or {})
    known = [previous[c.id] for c in claims if c.id in previous]
    target = max(sum(known) / (PARTS_PER_JOB * max(jobs, 1)), MIN_PART_SECONDS)
    tasks: list[Task] = []
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(claims):
        if c.shares is not None and jobs > 1:
            groups.setdefault(c.shares, []).append(i)
    for members in groups.values():
        est = sum(previous.get(claims[i].id, math.inf) for i in members)
        tasks.append(Task(members[0], 0, 1, None, est, tuple(members[1:])))
    grouped = {i for members in groups.values() for i in members}
    for i, c in enumerate(claims):
        if i in grouped:
            continue
        est = previous.get(c.id, math.inf)
        n = grid_size(c, scale, max_examples) if jobs > 1 else None
        if not n or n < 2:
            tasks.append(Task(i, 0, 1, None, est))
            continue
        parts = min(n, jobs) if math.isinf(est) else min(n, max(1, math.ceil(est / target)))
        if parts == 1:
            tasks.append(Task(i, 0, 1, None, est))
            continue
        for k in range(parts):
            idx = tuple(range(k, n, parts))
            tasks.append(Task(i, k, parts, idx, est * len(idx) / n))
    # longest first; unknown (inf) first of all, each group in the claims' order
    return sorted(tasks, key=lambda t: (-t.estimate, t.claim))


class CheckInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_claims`; ``results`` are the claims that finished, in the
    order they were selected."""

    def __init__(self, results: list[ClaimResult], total: int):
        super().__init__(f"interrupted: {len(results)} of {total} claims finished")
        self.results = results
        self.total = total


class Progress:
    """What :func:`run_claims` reports as it goes; subclass and override (all no-ops)."""

    def started(self, token: int, label: str) -> None:
        """A task started (``token`` is unique for the run)."""

    def finished(self, token: int) -> None:
        """The task ``token`` finished (or was given up)."""

    def claim_done(self, result: ClaimResult) -> None:
        """A claim's result is complete (all its parts merged)."""

    def tick(self) -> None:
        """Called about twice a second while tasks run."""


def run_claims(claims: Sequence[Claim], *, scale: str = "quick", seed: int = 0,
               max_examples: int | None = None, database=None,
               optimise: bool | int | None = None, jobs: int = 1,
               source: str | Path | None = None, previous: Mapping[str, float] | None = None,
               progress: Progress | None = None, workers: "Workers | None" = None) -> list[ClaimResult]:
    """Run ``claims`` on ``jobs`` processes; their results in the claims' order.

    Parameters
    ----------
    claims : sequence of Claim
        With ``jobs > 1`` each must be found by id in ``discover(source)`` (workers
        rediscover it there).
    scale, seed, max_examples, database, optimise :
        As in :func:`~theorycheck.claims.engine.run_claim` (``database``: a folder).
    jobs : int
        Worker processes (>= 1); 1 runs everything here.
    source : str or Path, optional
        The folder the claims were discovered from (None: the built-in library).
    previous : mapping, optional
        ``{claim id: seconds}`` of an earlier run (:func:`previous_seconds`), for the order.
    progress : Progress, optional
    workers : Workers, optional
        Worker processes started earlier (:func:`start_workers`) for ``jobs`` and ``source``;
        they are used (``jobs > 1``) or stopped.

    Returns
    -------
    list of ClaimResult
        Equal to ``[run_claim(c, ...) for c in claims]`` apart from ``seconds``.

    Raises
    ------
    CheckInterrupted
        On Ctrl-C, with the results of the claims that finished.
    """
    progress = progress or Progress()
    jobs = max(1, int(jobs))
    tasks = plan(claims, scale, jobs=jobs, max_examples=max_examples, previous=previous)
    if jobs == 1 or len(tasks) == 1:
        if workers is not None:
            workers.close()
        return _run_here(claims, tasks, scale, seed, max_examples, database, optimise, progress)
    known = {c.id: c for c in _discover(source)}
    stray = [c.id for c in claims if known.get(c.id) is not c]
    ready = None
    if workers is not None:
        if stray or (workers.jobs, workers.source) != (jobs, None if source is None else os.fspath(source)):
            workers.close()
        else:
            ready = workers.take()
    if stray:
        raise ClaimError(f"claim(s) {stray[:3]} are not those discovered from "
                         f"{source or 'the built-in library'}; worker processes could not find "
                         f"them; run them with jobs=1")
    return _Pool(claims, tasks, scale, seed, max_examples, database, optimise, jobs, source,
                 progress, ready).run()


class Workers:
    """``jobs`` worker processes started before the claims are discovered and planned
    (:func:`start_workers`): each imports the engine and discovers the claims of ``source``
    while this process does the same, so the first tasks do not wait for them.
    :func:`run_claims` takes them over (``workers=``) or stops them."""

    def __init__(self, jobs: int, source: str | Path | None = None):
        self.jobs = int(jobs)
        self.source = None if source is None else os.fspath(source)
        self.executor = _executor(self.jobs, self.source)
        for _ in range(self.jobs):      # a spawn-context pool starts one process per submit
            self.executor.submit(os.getpid)

    def take(self):
        """The executor, handed over once; None after :meth:`close`."""
        ex, self.executor = self.executor, None
        return ex

    def close(self) -> None:
        """Stop the workers (nothing of theirs is running)."""
        ex = self.take()
        if ex is not None:
            ex.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def start_workers(jobs: int, source: str | Path | None = None):
    """Start ``jobs`` worker processes for claims found in ``source`` now, to hand to
    :func:`run_claims`; workers not handed over are stopped on exit.

    Parameters
    ----------
    jobs : int
        Worker processes; 1 or fewer starts none.
    source : str or Path, optional
        The folder the claims will be discovered from (None: the built-in library).

    Yields
    ------
    Workers or None
        None when ``jobs <= 1``.

    Examples
    --------
    >>> with start_workers(1) as workers:
    ...     print(workers)
    None
    """
    workers = Workers(jobs, source) if jobs > 1 else None
    try:
        yield workers
    finally:
        if workers is not None:
            workers.close()


def _executor(jobs: int, source: str | None):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker,
                               initargs=({s: default_effort(s) for s in SCALES}, source))


def _discover(source):
    from theorycheck.claims.discovery import discover
    return discover(source)


@contextlib.contextmanager
def one_blas_thread():
    """BLAS (every loaded library, and those loaded meanwhile) and numba on one thread in this
    process, as in a worker; the previous limits come back on exit (a library first loaded
    inside keeps one thread)."""
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update({k: "1" for k in names})
    numba, numba_threads = None, None
    try:
        import sys
        numba = sys.modules.get("numba")
        if numba is not None:
            numba_threads = numba.get_num_threads()
            numba.set_num_threads(1)
    except Exception:
        numba = None
    try:
        try:
            from threadpoolctl import threadpool_limits
            limits = threadpool_limits(limits=1)
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            limits = contextlib.nullcontext()
        with limits:
            yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if numba is not None:
            with contextlib.suppress(Exception):
                numba.set_num_threads(numba_threads)


def _run_here(claims, tasks, scale, seed, max_examples, database, optimise, progress) -> list[ClaimResult]:
    """Every claim in this process, whole, in the planned order; results in the claims' order."""
    results: dict[int, ClaimResult] = {}
    try:
        with one_blas_thread():
            for token, t in enumerate(tasks):
                progress.started(token, claims[t.claim].id)
                res = run_claim(claims[t.claim], scale=scale, seed=seed,
                                max_examples=max_examples, database=database, optimise=optimise)
                results[t.claim] = res
                progress.finished(token)
                progress.claim_done(res)
    except KeyboardInterrupt:
        raise CheckInterrupted([results[i] for i in sorted(results)], len(claims)) from None
    return [results[i] for i in range(len(claims))]


# ------------------------------------------------------------------ worker side
_WORKER_CLAIMS: dict = {}


def _init_worker(efforts: dict[str, int], source: str | None = None) -> None:
    """Worker start: ignore Ctrl-C (the parent stops the workers), pin one BLAS thread,
    search with the parent's default effort (its hypothesis profile is not loaded here), and
    discover the claims of ``source`` (an error there is reported by the first task)."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from theorycheck.claims import engine
    engine._PINNED_EFFORT = dict(efforts)
    from theorycheck.runs.kinds import pin_threads
    pin_threads(1)
    with contextlib.suppress(Exception):
        _worker_claims(source)
    import sys
    if "coverage" not in sys.modules:     # coverage writes its data at exit
        import atexit
        atexit.register(_exit_now)


def _exit_now() -> None:
    """A worker's exit without the interpreter's teardown (half a second with numba, SciPy and
    SymPy loaded, which the parent waits for): the parent stops a worker only when it has
    sent back every result (written to the pipe synchronously), and multiprocessing has
    flushed the standard streams before the exit handlers run."""
    os._exit(0)


def _worker_claims(source) -> dict[str, Claim]:
    key = None if source is None else str(source)
    if key not in _WORKER_CLAIMS:
        _WORKER_CLAIMS[key] = {c.id: c for c in _discover(source)}
    return _WORKER_CLAIMS[key]


def _worker_claim(source, claim_id: str) -> Claim:
    try:
        return _worker_claims(source)[claim_id]
    except KeyError:
        where = source or "the built-in library"
        raise ClaimError(f"claim id {claim_id!r} is not found from {where} in a worker "
                         f"process") from None


class _Repr:
    """Stands for an object that does not pickle, by its repr (for the report)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _portable(obj):
    from theorycheck.claims.engine import _full_repr
    try:
        pickle.dumps(obj)
        return obj
    except Exception:
        return _Repr(_full_repr(obj))


def _work(source, claim_id, scale: str, seed: int, max_examples, database, optimise,
          indices):
    """One task in a worker: a ClaimResult (whole claim), a list of them (a tuple of claim
    ids sharing a cache, run in order) or a GridPart."""
    if isinstance(claim_id, tuple):
        return [_work(source, one, scale, seed, max_examples, database, optimise, None)
                for one in claim_id]
    c = _worker_claim(source, claim_id)
    if indices is None:
        res = run_claim(c, scale=scale, seed=seed, max_examples=max_examples, database=database,
                        optimise=optimise)
        res.counterexample = _portable(res.counterexample)
        res.worst_instance = _portable(res.worst_instance)
        return res
    part = run_grid_part(c, scale, seed, indices, max_examples)
    part.events = [(i, ev if ev[0] == "discarded" or ev[1] is None
                    else (ev[0], _portable(ev[1]), *ev[2:]), ws) for i, ev, ws in part.events]
    return part


# ------------------------------------------------------------------ parent side
def _crash_result(claim_: Claim, scale: str, seed: int, tb: str) -> ClaimResult:
    """An ``error`` result for a claim whose task could not run (its traceback)."""
    return merge_grid_parts(claim_, scale, seed, [GridPart(broken=tb)])


class _Pool:
    """The parent's loop: at most ``jobs`` tasks in flight, merged as they finish."""

    def __init__(self, claims, tasks, scale, seed, max_examples, database, optimise, jobs, source,
                 progress, ready=None):
        self.claims, self.scale, self.seed = claims, scale, seed
        self.max_examples, self.jobs, self.progress = max_examples, jobs, progress
        self.optimise = optimise
        self.database = None if database is None else (
            os.fspath(database) if isinstance(database, (str, os.PathLike)) else database)
        self.source = None if source is None else os.fspath(source)
        self.pending = collections.deque(tasks)
        self.parts: dict[int, dict[int, GridPart]] = collections.defaultdict(dict)
        self.results: dict[int, ClaimResult] = {}
        self.closed: set[int] = set()          # claims whose result is final
        self.deaths: collections.Counter = collections.Counter()
        self.solo: set[Task] = set()           # retried after a worker died: run alone
        self.tokens = 0
        self.ready = ready                     # an executor started earlier (Workers)

    def _executor(self):
        ex, self.ready = self.ready, None
        return ex or _executor(min(self.jobs, len(self.pending) or 1), self.source)

    def run(self) -> list[ClaimResult]:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool
        ex = self._executor()
        running: dict = {}
        try:
            while self.pending or running:
                while self.pending and len(running) < self.jobs:
                    t = self.pending[0]
                    if t.claim in self.closed:
                        self.pending.popleft()
                        continue
                    if running and (t in self.solo or any(r in self.solo for r, _ in running.values())):
                        break
                    self.pending.popleft()
                    token = self.tokens
                    self.tokens += 1
                    ids = tuple(self.claims[i].id for i in t.members)
                    fut = ex.submit(_work, self.source, ids if t.also else ids[0], self.scale, self.seed,
                                    self.max_examples, self.database, self.optimise, t.indices)
                    running[fut] = (t, token)
                    self.progress.started(token, t.label(self.claims))
                done, _ = wait(list(running), timeout=0.5, return_when=FIRST_COMPLETED)
                self.progress.tick()
                broken = False
                for fut in done:
                    t, token = running.pop(fut)
                    self.progress.finished(token)
                    try:
                        out = fut.result()
                    except BrokenProcessPool as exc:
                        broken = True
                        self._died(t, exc)
                        continue
                    except Exception as exc:  # the task itself could not run
                        tb = "".join(traceback.format_exception(exc))
                        for i in t.members:
                            self._give(i, _crash_result(self.claims[i], self.scale, self.seed, tb))
                        continue
                    self._collect(t, out)
                if broken:
                    for fut, (t, token) in list(running.items()):
                        self.progress.finished(token)
                        self._died(t, None)
                    running.clear()
                    _stop(ex)
                    ex = self._executor()
        except KeyboardInterrupt:
            _stop(ex)
            raise CheckInterrupted([self.results[i] for i in sorted(self.results)],
                                   len(self.claims)) from None
        except BaseException:
            _stop(ex)
            raise
        ex.shutdown(wait=True)
        return [self.results[i] for i in range(len(self.claims))]

    def _died(self, t: Task, exc) -> None:
        if t.claim in self.closed:
            return
        self.deaths[t] += 1
        if self.deaths[t] >= 2:
            tb = (f"BrokenProcessPool: the worker process measuring {t.label(self.claims)} died "
                  f"twice ({exc or 'the process pool broke'}); it may have run out of memory "
                  f"or crashed in native code; run it alone with -j 1 to see more")
            for i in t.members:
                self._give(i, _crash_result(self.claims[i], self.scale, self.seed, tb))
            return
        self.solo.add(t)
        self.pending.appendleft(t)

    def _collect(self, t: Task, out) -> None:
        if t.claim in self.closed:
            return
        if t.also:
            for i, res in zip(t.members, out):
                self._give(i, res)
            return
        if t.indices is None:
            self._give(t.claim, out)
            return
        self.parts[t.claim][t.part] = out
        if len(self.parts[t.claim]) == t.parts:
            parts = [self.parts[t.claim][k] for k in range(t.parts)]
            del self.parts[t.claim]
            self._give(t.claim, merge_grid_parts(self.claims[t.claim], self.scale, self.seed, parts))

    def _give(self, i: int, res: ClaimResult) -> None:
        self.results[i] = res
        self.closed.add(i)  # any part of it still queued is dropped
        self.parts.pop(i, None)
        self.progress.claim_done(res)


def _stop(ex) -> None:
    """Stop an executor now: terminate its workers, cancel what is queued."""
    procs = list(getattr(ex, "_processes", {}).values())
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    with contextlib.suppress(Exception):
        ex.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=5)
