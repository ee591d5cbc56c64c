"""Run kinds and their execution against the results store.

A *run kind* is a function ``fn(config, seed, recorder) -> summary`` and the config class it
takes. Register one with :func:`register_run_kind` (or the :func:`run_kind` decorator)::

    @dataclass(frozen=True)
    class WalkConfig:
        steps: int = setting(10, min_value=1, help="steps of the walk")

    def walk(config: WalkConfig, seed: int, recorder, progress=None) -> dict: ...

    WALK = register_run_kind("walk", walk, config=WalkConfig)

From then on ``theorycheck sweep`` can grid over it, and :func:`execute_run` runs it exactly
once per config hash, on any process that can import it. The kind's schema (keys, types,
defaults, bounds, choices, help) is derived from the frozen dataclass (see
:mod:`theorycheck.runs.config`); configs are checked once, where they enter (the sweep
driver's :func:`~theorycheck.runs.sweep.expand_grid`, or :func:`run_once`), and ``fn``
receives the typed, checked config object. A kind registered with a ``{key: Param}`` schema
instead (helpers :func:`integer`, :func:`real`, :func:`choice`, :func:`boolean`, :func:`text`)
keeps working and receives a dict.

Kinds are named either by their registered name (the built-ins of
``theorycheck.plugins``, or kinds registered by a module listed in a sweep's
``imports``), or by an import path ``"package.module:attribute"`` whose attribute is the
:class:`RunKind` returned by ``register_run_kind``; worker processes import that module
themselves, so a kind defined outside theorycheck needs no other wiring.

The ``recorder`` handed to ``fn`` writes diagnostic curves (``recorder.log(step, **values)``)
and checkpoints (``recorder.checkpoint(step, state)``; on a rerun of an interrupted run
``recorder.resume`` holds the last state, else None) to the store as they happen. A ``fn``
with a ``progress`` parameter also receives the caller's progress callback (``None`` inside
sweep workers); what it passes to it is the kind's own business (``bfc-train``: each
diagnostic row).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from theorycheck.errors import SpecError, TheorycheckError
from theorycheck.runs.config import (SEED_FIELD, check_config, fields_of, from_stored, has_seed,
                                     stored_form, to_json)
from theorycheck.runs.config import param, setting  # noqa: F401  (the registration API)
from theorycheck.runs.store import DEFAULT_LEASE_S, LeaseLost, Store, config_hash, owner_id
from theorycheck.validation import check_choice, check_int, check_real

_REQUIRED = object()


@dataclass(frozen=True)
class Param:
    """One config key of a run kind: its default (absent: required), a normaliser
    ``check(name, value) -> value`` that raises a one-line error, and its expected form.

    Kinds registered with ``config=`` get these derived from their dataclass; a hand-written
    ``{key: Param}`` schema (helpers below) is kept for kinds outside theorycheck."""

    form: str
    default: Any = _REQUIRED
    check: Callable[[str, Any], Any] | None = None
    help: str = ""

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def describe(self, name: str) -> str:
        return f"{name} ({self.form}" + ("" if self.required else f", default {self.default!r}") + ")"


def integer(default=_REQUIRED, *, min_value=None, max_value=None, help="") -> Param:
    if min_value is not None and max_value is not None:
        bounds = f"in {min_value}..{max_value}"
    else:
        bounds = f">= {min_value}" if min_value is not None else (
            f"<= {max_value}" if max_value is not None else "")
    return Param("integer" + (f" {bounds}" if bounds else ""), default,
                 lambda n, v: check_int(n, v, min_value=min_value, max_value=max_value), help)


def real(default=_REQUIRED, *, positive=False, min_value=None, max_value=None, help="") -> Param:
    form = "real > 0" if positive else "real" + (f" >= {min_value}" if min_value is not None else "")
    return Param(form, default, lambda n, v: check_real(n, v, positive=positive, min_value=min_value,
                                                        max_value=max_value), help)


def choice(options, default=_REQUIRED, help="") -> Param:
    options = tuple(options)
    return Param("one of " + "/".join(options), default, lambda n, v: check_choice(n, v, options), help)


def boolean(default=_REQUIRED, help="") -> Param:
    def check(n, v):
        if not isinstance(v, bool):
            raise SpecError(f"{n}={v!r} is invalid: not a boolean; write {n} = true or false")
        return v
    return Param("true/false", default, check, help)


def text(default=_REQUIRED, help="", check: Callable[[str, Any], Any] | None = None) -> Param:
    def check_text(n, v):
        if not isinstance(v, str):
            raise SpecError(f"{n}={v!r} is invalid: not a string; quote it")
        return check(n, v) if check else v
    return Param("string", default, check_text, help)


SEED_MAX = 2**32 - 1


@dataclass(frozen=True)
class RunKind:
    """A registered run kind.

    Parameters
    ----------
    name : str
        The registered name.
    fn : callable
        ``fn(config, seed, recorder[, progress=None]) -> summary dict or None``.
    schema : Mapping[str, Param]
        The config keys (derived from ``config`` when that is given).
    doc : str
        One-line description.
    config : type or None
        The frozen config dataclass ``fn`` receives an instance of; None for a kind
        registered with a ``{key: Param}`` schema (``fn`` then receives a dict).
    takes_progress : bool
        Whether ``fn`` accepts a ``progress`` keyword.
    """

    name: str
    fn: Callable[..., Mapping[str, Any] | None]
    schema: Mapping[str, Param]
    doc: str = ""
    config: type | None = None
    takes_progress: bool = False

    def validate(self, config: Mapping[str, Any]) -> dict:
        """``config`` checked against the schema, defaults filled in, keys sorted: the form
        that is hashed and stored, so omitting a default and spelling it out give the same
        run. Raises a one-line :class:`SpecError` naming the bad key."""
        if self.config is not None:
            return self.stored(self.parse(config))
        if not isinstance(config, Mapping):
            raise SpecError(f"config for run kind {self.name!r} is {type(config).__name__}; "
                            f"give a table of keys: {self.expected()}")
        unknown = sorted(set(config) - set(self.schema))
        if unknown:
            raise SpecError(f"config key {unknown[0]!r} is unknown for run kind {self.name!r}; "
                            f"valid keys: {self.expected()}")
        out = {}
        for key in sorted(self.schema):
            p = self.schema[key]
            if key in config:
                out[key] = p.check(key, config[key]) if p.check else config[key]
            elif p.required:
                raise SpecError(f"config key {key!r} is required for run kind {self.name!r}; "
                                f"add {p.describe(key)}")
            else:
                out[key] = p.default
        return out

    def parse(self, config: Mapping[str, Any], seed: int = 0):
        """The checked, typed config object of ``config`` for a run with ``seed`` (the one
        check, at the boundary); a dict for a ``Param``-schema kind."""
        if self.config is None:
            return self.validate(config)
        seed = check_int("seed", seed, min_value=0, max_value=SEED_MAX)
        fixed = {SEED_FIELD: seed} if has_seed(self.config) else {}
        return check_config(self.config, config, what=f"run kind {self.name!r}", fixed=fixed)

    def stored(self, config) -> dict:
        """The stored (hashed) form of a config object returned by :meth:`parse`; no checks."""
        if self.config is None:
            return {k: config[k] for k in sorted(config)}
        return stored_form(config)

    def build(self, stored: Mapping[str, Any], seed: int):
        """The config object of a stored config, as ``fn`` receives it; no checks (a stored
        config was checked when it was recorded)."""
        if self.config is None:
            return dict(stored)
        fixed = {SEED_FIELD: int(seed)} if has_seed(self.config) else {}
        try:
            return from_stored(self.config, stored, **fixed)
        except TypeError as exc:
            raise SpecError(f"stored config {dict(stored)!r} does not fit run kind {self.name!r} "
                            f"({exc}); it was recorded by another version: rerun it in a new "
                            f"store") from None

    def check_budget(self, stored: Mapping[str, Any], seed: int) -> None:
        """Refuse (:class:`~theorycheck.errors.BudgetError`) a run whose config class's
        ``budget()`` method finds it beyond the budgets of :mod:`theorycheck.budget`; called
        before a run is recorded or started, never for a run already done. Kinds without a
        ``budget`` method have no budget."""
        if self.config is None or not hasattr(self.config, "budget"):
            return
        self.build(stored, seed).budget()

    def expected(self) -> str:
        return ", ".join(self.schema[k].describe(k) for k in sorted(self.schema)) or "(none)"


def _schema_from(cls: type) -> dict[str, Param]:
    """The ``{key: Param}`` view of a config dataclass (its ``seed`` field left out)."""
    out = {}
    for name, f in fields_of(cls).items():
        if name == SEED_FIELD:
            continue
        default = _REQUIRED if f.required else to_json(f.convert(name, f.default))
        out[name] = Param(f.form, default, f.convert, f.help)
    return out


def _takes_progress(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "progress" or p.kind is p.VAR_KEYWORD for p in params)


_REGISTRY: dict[str, RunKind] = {}
_BUILTINS_LOADED = False


def register_run_kind(name: str, fn: Callable, schema: Mapping[str, Param] | None = None, *,
                      config: type | None = None, doc: str | None = None,
                      replace: bool = False) -> RunKind:
    """Register ``fn`` as run kind ``name``.

    Parameters
    ----------
    name : str
        The kind's name (no ``:``).
    fn : callable
        ``fn(config, seed, recorder) -> summary dict or None``; may take ``progress=None``.
    schema : Mapping[str, Param], optional
        For kinds outside theorycheck only: a ``{key: Param}`` schema (``fn`` gets a dict).
    config : type, optional
        The frozen config dataclass (see :mod:`theorycheck.runs.config`); ``fn`` gets an
        instance, checked once where the run entered. Give ``config`` or ``schema``.
    doc : str, optional
        One-line description (default: ``fn``'s docstring).
    replace : bool
        Allow replacing a kind registered by another function.

    Returns
    -------
    RunKind
        Bind it at module level to make ``"module:attribute"`` names work on workers.
    """
    if not isinstance(name, str) or not name or ":" in name:
        raise SpecError(f"run kind name {name!r} is invalid; use a non-empty name without ':'")
    if not callable(fn):
        raise SpecError(f"run kind {name!r}: fn={fn!r} is not callable; pass fn(config, seed, recorder)")
    if config is not None and schema is not None:
        raise SpecError(f"run kind {name!r}: give config=SomeConfig or a schema, not both")
    if config is not None:
        schema = _schema_from(config)
    else:
        schema = dict(schema or {})
        for k, p in schema.items():
            if not isinstance(p, Param):
                raise SpecError(f"run kind {name!r}: schema entry {k!r} is {p!r}; use "
                                f"theorycheck.runs.kinds.integer/real/choice/boolean/text or Param, "
                                f"or register with config=<frozen dataclass>")
    kind = RunKind(name, fn, schema, (doc or fn.__doc__ or "").strip(), config, _takes_progress(fn))
    prev = _REGISTRY.get(name)
    ident = (getattr(fn, "__module__", None), getattr(fn, "__qualname__", None))
    if prev is not None and not replace and ident != (prev.fn.__module__, prev.fn.__qualname__):
        raise SpecError(f"run kind {name!r} is already registered by {prev.fn.__module__}; "
                        f"choose another name or pass replace=True")
    _REGISTRY[name] = kind
    return kind


def run_kind(name: str, schema: Mapping[str, Param] | None = None, *, config: type | None = None,
             doc: str | None = None):
    """Decorator form of :func:`register_run_kind`; the decorated name becomes the RunKind.

    Parameters
    ----------
    name : str
        The kind's name.
    schema : mapping or None
        ``{key: Param}``, when no ``config`` dataclass is given.
    config : type or None
        A frozen dataclass of settings.
    doc : str or None
        One-line description (default: the function's first line).
    """
    def wrap(fn):
        return register_run_kind(name, fn, schema, config=config, doc=doc)
    return wrap


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        from theorycheck.entry_points import load_group
        load_group("theorycheck.run_kinds")


def import_modules(modules) -> None:
    for mod in modules or ():
        try:
            importlib.import_module(mod)
        except Exception as exc:
            raise SpecError(f"could not import run-kind module {mod!r}: {type(exc).__name__}: "
                            f"{exc}; make it importable (PYTHONPATH) on the driver and workers") from None


def kinds() -> dict[str, RunKind]:
    _load_builtins()
    return dict(_REGISTRY)


def get_kind(name: str) -> RunKind:
    """The run kind called ``name`` (a registered name or ``"module:attribute"``).

    Parameters
    ----------
    name : str
        E.g. ``"bfc-train"``, or ``"package.module:ATTRIBUTE"``.

    Returns
    -------
    RunKind
    """
    _load_builtins()
    if not isinstance(name, str):
        raise SpecError(f"kind={name!r} is invalid; give a run kind name such as 'target-energy'")
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        mod, _, attr = name.partition(":")
        import_modules([mod])
        obj = getattr(sys.modules[mod], attr, None)
        if isinstance(obj, RunKind):
            return obj
        raise SpecError(f"kind={name!r} is invalid: {mod}.{attr} is "
                        f"{'missing' if obj is None else type(obj).__name__}, not a RunKind; "
                        f"bind the result of register_run_kind to {attr}")
    raise SpecError(f"kind={name!r} is unknown; registered kinds: {', '.join(sorted(_REGISTRY))} "
                    f"(or 'module:attribute' naming a RunKind)")


# -- recording ------------------------------------------------------------------------------

class Recorder:
    """What a run kind writes through. Points are buffered and committed every
    ``flush_every`` points or ``flush_s`` seconds, at each checkpoint, and at the end.

    Parameters
    ----------
    store : Store
        The open results store.
    h : str
        The run's hash.
    owner : str
        This process's lease owner id.
    seed : int
        The run's seed.
    config : dict
        The run's config.
    resume : object
        The last checkpoint's state, or None.
    resume_step : int or None
        Its step.
    lease_s : float
        Seconds the lease lasts without a heartbeat.
    flush_every : int
        Points buffered before a commit.
    flush_s : float
        Seconds between commits.
    """

    def __init__(self, store: Store, h: str, owner: str, *, seed: int, config: dict,
                 resume: Any = None, resume_step: int | None = None,
                 lease_s: float = DEFAULT_LEASE_S, flush_every: int = 512, flush_s: float = 2.0):
        self.store, self.hash, self.owner = store, h, owner
        self.seed, self.config = seed, config
        self.resume, self.resume_step = resume, resume_step
        self.lease_s, self.flush_every, self.flush_s = lease_s, flush_every, flush_s
        self._buf: list[tuple[str, int, float]] = []
        self._last = time.monotonic()
        self.lost = threading.Event()

    def log(self, step: int, **values: float) -> None:
        """Record ``metric = value`` at ``step`` for each keyword."""
        if self.lost.is_set():
            raise LeaseLost(f"run {self.hash[:12]} was taken over by another worker; stopping")
        step = int(step)
        self._buf.extend((m, step, float(v)) for m, v in values.items())
        if len(self._buf) >= self.flush_every or time.monotonic() - self._last > self.flush_s:
            self.flush()

    def checkpoint(self, step: int, state: Any) -> None:
        """Commit the points logged so far together with a JSON-able ``state`` at ``step``."""
        self.store.write_points(self.hash, self.owner, self._buf, (step, state), self.lease_s)
        self._buf = []
        self._last = time.monotonic()

    def flush(self) -> None:
        self.store.write_points(self.hash, self.owner, self._buf, None, self.lease_s)
        self._buf = []
        self._last = time.monotonic()


# -- execution (driver-side serial, or inside a dask worker) --------------------------------

_STORES: dict[str, Store] = {}
_PINNED: int | None = None


def _store(path: str) -> Store:
    st = _STORES.get(path)
    if st is None:
        st = _STORES[path] = Store(path, create=False)
    return st


def pin_threads(threads: int) -> None:
    """Limit BLAS/OpenMP (threadpoolctl) and numba to ``threads`` threads in this process,
    so that parallel workers do not oversubscribe the cores."""
    global _PINNED
    threads = int(threads)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    if "numba" not in sys.modules:
        # After numba is imported its thread count is fixed: numba re-reads the environment at
        # every compilation and raises if NUMBA_NUM_THREADS no longer matches the launched pool,
        # so from then on only the runtime mask below may change.
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
    if _PINNED != threads:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # only the env variables then (the sweep extra installs it)
            threadpool_limits = None
        if threadpool_limits is not None:
            threadpool_limits(limits=threads)
        _PINNED = threads
    numba = sys.modules.get("numba")
    if numba is not None:
        try:
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        except Exception:
            pass


def execute_run(store_path: str, h: str, *, lease_s: float = DEFAULT_LEASE_S,
                retry_failed: bool = False, threads: int = 1, imports=(),
                poll_s: float = 0.25, progress: Callable | None = None) -> dict:
    """Run the stored run ``h`` exactly once: claim it, call its kind, record done/failed.

    The stored config is trusted (it was checked when it was recorded): it is rebuilt into
    the kind's config object and handed to the kind's function, with ``progress`` when the
    function takes it.

    Returns ``{"hash", "status", "seconds", "error"}`` with status ``done``/``failed``
    (executed here), ``skipped`` (already done, or failed and not retried). A run held by a
    live owner elsewhere is waited for; one whose owner died is taken over and resumed.

    Parameters
    ----------
    store_path : str
        The results store.
    h : str
        The run's hash.
    lease_s : float
        Lease length in seconds.
    retry_failed : bool
        Run a failed run again.
    threads : int
        BLAS/numba threads inside the run.
    imports : sequence of str
        Modules that register run kinds.
    poll_s : float
        Seconds between checks on a run held elsewhere.
    progress : callable or None
        Passed to a kind that takes it.
    """
    t0 = time.perf_counter()
    store = _store(store_path)
    pin_threads(threads)
    owner = owner_id()
    while True:
        state = store.claim(h, owner, lease_s=lease_s, retry_failed=retry_failed)
        if state == "claimed":
            break
        if state in ("done", "failed"):
            return {"hash": h, "status": "skipped", "seconds": 0.0, "error": None, "was": state}
        if state == "missing":
            raise TheorycheckError(f"run {h[:12]} is not in store {store_path!r}; the sweep "
                                   f"driver inserts runs before submitting them")
        time.sleep(poll_s)
    row = store.run(h)
    rec = Recorder(store, h, owner, seed=row["seed"], config=row["config"],
                   resume=row["checkpoint"], resume_step=row["checkpoint_step"], lease_s=lease_s)
    stop = threading.Event()

    def beat():
        while not stop.wait(lease_s / 3):
            try:
                store.heartbeat(h, owner, lease_s)
            except LeaseLost:
                rec.lost.set()
                return
            except Exception:
                pass

    hb = threading.Thread(target=beat, daemon=True, name=f"theorycheck-heartbeat-{h[:8]}")
    hb.start()
    try:
        try:
            import_modules(imports)
            kind = get_kind(row["kind"])
            seed = int(row["seed"])
            extra = {"progress": progress} if kind.takes_progress else {}
            summary = kind.fn(kind.build(row["config"], seed), seed, rec, **extra)
            if summary is not None and not isinstance(summary, Mapping):
                raise TheorycheckError(f"run kind {kind.name!r} returned {type(summary).__name__}; "
                                       f"return a dict summary or None")
            rec.flush()
            store.finish(h, owner, summary)
        except LeaseLost:
            return {"hash": h, "status": "lost", "seconds": time.perf_counter() - t0, "error": None}
        except (KeyboardInterrupt, SystemExit):
            try:
                rec.flush()
            finally:
                store.release(h, owner)
            raise
        except Exception as exc:
            err = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            try:
                rec.flush()
            except Exception:
                pass
            store.fail(h, owner, err)
            return {"hash": h, "status": "failed", "seconds": time.perf_counter() - t0,
                    "error": f"{type(exc).__name__}: {exc}"}
        return {"hash": h, "status": "done", "seconds": time.perf_counter() - t0, "error": None}
    finally:
        stop.set()
        hb.join()


def run_task(h: str, *, store_path: str, **kw) -> dict:
    """:func:`execute_run` with the run hash first: the function a sweep maps over its runs."""
    return execute_run(store_path, h, **kw)


def run_once(kind: str, config, seed: int, store_path: str | os.PathLike, *,
             retry_failed: bool = False, threads: int = 1, lease_s: float = DEFAULT_LEASE_S,
             progress: Callable | None = None) -> dict:
    """One run through the store, for commands outside sweeps (e.g. a trainer's CLI).

    Parameters
    ----------
    kind : str
        The run kind's name.
    config : Mapping or config object
        A mapping of config keys is checked here (the boundary) together with ``seed``; an
        instance of the kind's config class (from ``RunKind.parse``) was checked already and
        is trusted.
    seed : int
        The run's seed.
    store_path : path
        The results store.
    retry_failed, threads, lease_s
        As for :func:`execute_run`.
    progress : callable, optional
        Passed to the kind's function (if it takes ``progress``) while it runs here.

    Returns
    -------
    dict
        The stored run (``hash``, ``config``, ``summary``, ``status``, ``error``, ...): found,
        not recomputed, if already done; resumed from its checkpoint if interrupted.
    """
    k = get_kind(kind)
    if k.config is not None and isinstance(config, k.config):
        seed = int(seed)
        if has_seed(k.config) and getattr(config, SEED_FIELD) != seed:
            raise SpecError(f"run_once: the config object holds seed={getattr(config, SEED_FIELD)} "
                            f"but seed={seed} was passed; parse it with the run's seed")
        cfg = k.stored(config)
    else:
        cfg = k.stored(k.parse(config, seed))  # the one check of config (and seed)
        seed = (check_int("seed", seed, min_value=0, max_value=SEED_MAX) if k.config is None
                else int(seed))
    h = config_hash(kind, cfg, seed)
    if Path(store_path).is_file() and Path(store_path).stat().st_size > 0:
        with Store(store_path, create=False) as st:
            row = st.run(h)
    else:
        row = None
    if row is None or (row["status"] != "done" and (row["status"] != "failed" or retry_failed)):
        k.check_budget(cfg, seed)  # before the run is recorded or started
    with Store(store_path) as st:
        (h,) = st.ensure([(kind, cfg, seed)])
        execute_run(str(store_path), h, retry_failed=retry_failed, threads=threads, lease_s=lease_s,
                    progress=progress)
        return st.run(h)
