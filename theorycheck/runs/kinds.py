"""Run kinds and their execution against the results store (issue 4 item 3, issue 9).

A *run kind* is a function ``fn(config, seed, recorder) -> summary`` plus a schema of its
config keys. Register one with :func:`register_run_kind` (or the :func:`run_kind`
decorator); from then on ``theorycheck sweep`` can grid over it, and
:func:`execute_run` runs it exactly once per config hash, on any process that can import it.

Kinds are named either by their registered name (the built-ins of
``theorycheck.plugins``, or kinds registered by a module listed in a sweep's
``imports``), or by an import path ``"package.module:attribute"`` whose attribute is the
:class:`RunKind` returned by ``register_run_kind``; worker processes import that module
themselves, so a kind defined outside theorycheck needs no other wiring.

The ``recorder`` handed to ``fn`` writes diagnostic curves (``recorder.log(step, **values)``)
and checkpoints (``recorder.checkpoint(step, state)``; on a rerun of an interrupted run
``recorder.resume`` holds the last state, else None) to the store as they happen.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from theorycheck.errors import SpecError, TheorycheckError
from theorycheck.runs.store import DEFAULT_LEASE_S, LeaseLost, Store, owner_id
from theorycheck.validation import check_choice, check_int, check_real

_REQUIRED = object()


@dataclass(frozen=True)
class Param:
    """One config key of a run kind: its default (absent: required), a normaliser
    ``check(name, value) -> value`` that raises a one-line error, and its expected form."""

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


@dataclass(frozen=True)
class RunKind:
    name: str
    fn: Callable[[dict, int, "Recorder"], Mapping[str, Any] | None]
    schema: Mapping[str, Param]
    doc: str = ""

    def validate(self, config: Mapping[str, Any]) -> dict:
        """``config`` checked against the schema, defaults filled in, keys sorted: the form
        that is hashed, so omitting a default and spelling it out give the same run."""
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

    def expected(self) -> str:
        return ", ".join(self.schema[k].describe(k) for k in sorted(self.schema)) or "(none)"


_REGISTRY: dict[str, RunKind] = {}
_BUILTINS_LOADED = False


def register_run_kind(name: str, fn: Callable, schema: Mapping[str, Param] | None = None, *,
                      doc: str | None = None, replace: bool = False) -> RunKind:
    """Register ``fn(config, seed, recorder) -> summary dict`` as run kind ``name`` with the
    config ``schema`` ({key: Param}); returns the :class:`RunKind` (bind it at module level
    to make ``"module:attribute"`` names work on workers)."""
    if not isinstance(name, str) or not name or ":" in name:
        raise SpecError(f"run kind name {name!r} is invalid; use a non-empty name without ':'")
    if not callable(fn):
        raise SpecError(f"run kind {name!r}: fn={fn!r} is not callable; pass fn(config, seed, recorder)")
    schema = dict(schema or {})
    for k, p in schema.items():
        if not isinstance(p, Param):
            raise SpecError(f"run kind {name!r}: schema entry {k!r} is {p!r}; use theorycheck.runs.kinds."
                            f"integer/real/choice/boolean/text or Param")
    kind = RunKind(name, fn, schema, (doc or fn.__doc__ or "").strip())
    prev = _REGISTRY.get(name)
    ident = (getattr(fn, "__module__", None), getattr(fn, "__qualname__", None))
    if prev is not None and not replace and ident != (prev.fn.__module__, prev.fn.__qualname__):
        raise SpecError(f"run kind {name!r} is already registered by {prev.fn.__module__}; "
                        f"choose another name or pass replace=True")
    _REGISTRY[name] = kind
    return kind


def run_kind(name: str, schema: Mapping[str, Param] | None = None, *, doc: str | None = None):
    """Decorator form of :func:`register_run_kind`; the decorated name becomes the RunKind."""
    def wrap(fn):
        return register_run_kind(name, fn, schema, doc=doc)
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
    """The run kind called ``name`` (a registered name or ``"module:attribute"``)."""
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
    ``flush_every`` points or ``flush_s`` seconds, at each checkpoint, and at the end."""

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
                poll_s: float = 0.25) -> dict:
    """Run the stored run ``h`` exactly once: claim it, call its kind, record done/failed.

    Returns ``{"hash", "status", "seconds", "error"}`` with status ``done``/``failed``
    (executed here), ``skipped`` (already done, or failed and not retried). A run held by a
    live owner elsewhere is waited for; one whose owner died is taken over and resumed.
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
            summary = kind.fn(dict(row["config"]), int(row["seed"]), rec)
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


def run_once(kind: str, config: Mapping[str, Any], seed: int, store_path: str | os.PathLike, *,
             retry_failed: bool = False, threads: int = 1, lease_s: float = DEFAULT_LEASE_S) -> dict:
    """One run through the store, for commands outside sweeps (e.g. a trainer's CLI): validate
    ``config`` for ``kind``, record it, execute it here unless it is already done (an
    interrupted one resumes from its checkpoint), and return the stored run (``config``,
    ``summary``, ``status``, ``error``, ...)."""
    k = get_kind(kind)
    cfg = k.validate(config)
    seed = check_int("seed", seed, min_value=0, max_value=2**32 - 1)
    with Store(store_path) as st:
        (h,) = st.ensure([(kind, cfg, seed)])
        execute_run(str(store_path), h, retry_failed=retry_failed, threads=threads, lease_s=lease_s)
        return st.run(h)
