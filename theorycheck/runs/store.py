"""The results store: one SQLite file holding every run, its config, seed, code version,
diagnostic curves and checkpoints (sweeps write here too).

Design:

* One file, WAL journal, ``busy_timeout`` and ``BEGIN IMMEDIATE`` write transactions, so
  several processes (dask workers, a driver, ``theorycheck results``) share it safely, and a
  process killed mid-write leaves the last committed state intact.
* A run is keyed by :func:`config_hash`, the SHA-256 of the canonical JSON of
  ``{kind, config, seed}`` (sorted keys, no whitespace, NaN rejected). A repeated run finds
  its row instead of recomputing.
* Status moves ``queued -> running -> done | failed`` through conditional UPDATEs: a worker
  *claims* a run only if it is queued, failed-and-retried, or running under an owner that is
  gone (its process no longer exists on this host, or its lease expired without heartbeat).
  Only the current owner may write curves, checkpoints or the final status, so a run is
  recorded exactly once however often it is (re)scheduled.
* Curves are long-format rows ``(hash, metric, step, value)`` with a primary key on
  ``(hash, metric, step)``: re-recording a step after a resume replaces it, never duplicates it.
  A checkpoint (JSON state + step) is committed in the same transaction as the points logged
  before it, so a resumed run continues exactly where its recorded curve ends.
* A ``meta`` table marks the file as a theorycheck store with its schema version; any other
  file is rejected with a one-line :class:`StoreError` before anything is written to it.
* Opening checks the layout too: a store of another schema version, a damaged one (a
  non-integer version, a missing table or column, a corrupted page, damaged JSON in a row)
  is refused with one line saying what is wrong and what to do
  (``theorycheck results --store PATH --check`` runs SQLite's ``PRAGMA integrity_check`` and
  lists the readable runs: :func:`check_store`). A store in a folder this process cannot
  write (or a read-only file) is opened read-only (``read_only=True``, for the reading
  commands) or refused (``create=True``, for the writing ones).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from theorycheck.errors import TheorycheckError
from theorycheck.runs import STATUSES
from theorycheck.jsonable import jsonable

FORMAT = "theorycheck-store"
SCHEMA_VERSION = 1
DEFAULT_LEASE_S = 60.0

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    code_version TEXT,
    owner TEXT,
    lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    summary TEXT,
    checkpoint TEXT,
    checkpoint_step INTEGER,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    seconds REAL
);
CREATE INDEX runs_status ON runs (status);
CREATE INDEX runs_kind ON runs (kind);
CREATE TABLE curves (
    hash TEXT NOT NULL REFERENCES runs (hash),
    metric TEXT NOT NULL,
    step INTEGER NOT NULL,
    value REAL,
    PRIMARY KEY (hash, metric, step)
) WITHOUT ROWID;
"""

RUN_COLUMNS = ("hash", "kind", "seed", "status", "code_version", "attempts", "error",
               "created", "started", "finished", "seconds", "checkpoint_step", "owner",
               "lease_until")
TABLE_COLUMNS = {
    "runs": RUN_COLUMNS + ("config", "summary", "checkpoint"),
    "curves": ("hash", "metric", "step", "value"),
    "meta": ("key", "value"),
}
CHECK_HINT = "run 'theorycheck results --store {path} --check' to see which runs are readable"


class StoreError(TheorycheckError):
    """A store file that is missing, not a theorycheck store, or of another schema version.

    Parameters
    ----------
    message : str
        One line naming the bad value and the fix (the CLI prints it as is).
    """


class LeaseLost(TheorycheckError):
    """This process no longer owns the run (another worker reclaimed it after a lost lease)."""


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, compact separators, finite numbers only."""
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False,
                          ensure_ascii=True)
    except ValueError as exc:
        raise TheorycheckError(f"config {obj!r} holds a non-finite number ({exc}); "
                               f"use finite values in run configs") from None
    except TypeError as exc:
        raise TheorycheckError(f"config {obj!r} is not JSON-serialisable ({exc}); "
                               f"use numbers, strings, booleans, lists and tables") from None


def config_hash(kind: str, config: Mapping[str, Any], seed: int) -> str:
    """SHA-256 (hex) of the canonical JSON of ``{kind, config, seed}``: the run's key.

    Parameters
    ----------
    kind : str
        The run kind.
    config : mapping
        Its full config.
    seed : int
        The run's seed.

    Returns
    -------
    str
    """
    payload = canonical_json({"kind": kind, "config": dict(config), "seed": int(seed)})
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


@lru_cache(maxsize=1)
def code_version() -> str:
    """``theorycheck <version>`` plus ``git describe --always --dirty`` of the source tree
    when it is a git checkout."""
    from theorycheck._version import __version__
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty", "--tags"],
                             capture_output=True, text=True, timeout=5)
        desc = out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        desc = ""
    return f"theorycheck {__version__}" + (f" ({desc})" if desc else "")


def _process_start(pid: int) -> float | None:
    """The start time of live process ``pid``; None if it does not exist, is a zombie (killed,
    not yet reaped), or psutil is unavailable."""
    try:
        import psutil
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc.create_time()
    except Exception:
        return None


def owner_id() -> str:
    """``host:pid:start-time:nonce`` for this process (nonce distinguishes Recorder sessions)."""
    pid = os.getpid()
    start = _process_start(pid)
    return f"{socket.gethostname()}:{pid}:{start if start is not None else 0:.3f}:{uuid.uuid4().hex[:8]}"


def _is_zombie(pid: int) -> bool:
    try:
        import psutil
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except Exception:
        return False


def owner_alive(owner: str | None) -> bool | None:
    """True/False when ``owner`` ran on this host and its process is/is not alive; None when
    it ran elsewhere (then only its lease can tell)."""
    if not owner:
        return False
    try:
        host, pid, start, _ = owner.rsplit(":", 3)
        pid, start = int(pid), float(start)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    now_start = _process_start(pid)
    if now_start is None:
        if _is_zombie(pid):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return start == 0 or abs(now_start - start) < 0.01


@dataclass
class _Shared:
    key: tuple
    conn: sqlite3.Connection
    lock: threading.RLock
    users: int = 0


_SHARED: dict[tuple, _Shared] = {}
_SHARED_LOCK = threading.Lock()


def folder_writable(path: Path) -> bool:
    """Whether this process may create files next to ``path`` (SQLite's journal and WAL
    files) and write ``path`` itself when it exists."""
    folder = path.resolve().parent
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    return not path.exists() or os.access(path, os.R_OK | os.W_OK)


def _connect(path: Path, timeout_s: float, read_only: bool) -> sqlite3.Connection:
    if not read_only:
        return sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None,
                               check_same_thread=False)
    from urllib.parse import quote
    # a folder we cannot write holds no live writer of ours: read it as an immutable snapshot
    # (a WAL store needs its -shm file otherwise, which we could not create)
    flags = "mode=ro" + ("" if os.access(path.resolve().parent, os.W_OK) else "&immutable=1")
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?{flags}", uri=True,
                           timeout=timeout_s, isolation_level=None, check_same_thread=False)


def _open_shared(path: Path, timeout_s: float, read_only: bool = False) -> _Shared:
    """One SQLite connection per process and file, shared by every Store on it: several
    connections of one process to a WAL file can hit spurious I/O errors when other
    processes open and close it concurrently, so a process keeps exactly one."""
    key = (os.getpid(), str(path.resolve()), read_only)
    with _SHARED_LOCK:
        sh = _SHARED.get(key)
        if sh is None:
            # Read the header only while this process holds no connection to the file:
            # closing any descriptor of a file drops all of the process's POSIX locks on it.
            try:
                with open(path, "rb") as fh:
                    header = fh.read(16)
            except OSError as exc:
                from theorycheck.errors import os_error_message
                raise StoreError(os_error_message(exc, str(path), "read the store")) from None
            if header != b"SQLite format 3\x00":
                raise StoreError(f"{str(path)!r} is not a theorycheck store (not an SQLite "
                                 f"file); pass a new path or a store written by theorycheck")
            conn = _connect(path, timeout_s, read_only)
            try:
                _check_format(conn, path)
                conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
                if not read_only:
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise _damaged(path, exc) from None
            except StoreError:
                conn.close()
                raise
            sh = _SHARED[key] = _Shared(key, conn, threading.RLock())
        sh.users += 1
        return sh


def _damaged(path: Path, exc: BaseException) -> StoreError:
    """The one line for an SQLite error while reading a store."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return StoreError(f"store {str(path)!r} is locked by another process ({text}); wait for "
                          f"it to finish or raise the timeout")
    if isinstance(exc, sqlite3.OperationalError) and ("readonly" in text or "read-only" in text):
        return StoreError(f"store {str(path)!r} cannot be written ({text}); check the "
                          f"permissions of the file and its folder, or copy it elsewhere")
    return StoreError(f"store {str(path)!r} is damaged ({text}); "
                      + CHECK_HINT.format(path=str(path)))


def _release_shared(sh: _Shared) -> None:
    with _SHARED_LOCK:
        sh.users -= 1
        if sh.users <= 0 and _SHARED.get(sh.key) is sh:
            del _SHARED[sh.key]
            with sh.lock:
                sh.conn.close()


def _check_format(conn: sqlite3.Connection, path: Path) -> None:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "meta" not in tables:
        raise StoreError(f"{str(path)!r} is an SQLite file but not a theorycheck store "
                         f"(no meta table); pass a new path or a store written by theorycheck")
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("format") != FORMAT:
        raise StoreError(f"{str(path)!r} is an SQLite file but not a theorycheck store "
                         f"(format={meta.get('format')!r}); pass a new path")
    raw = meta.get("schema_version")
    try:
        version = int(str(raw).strip())
    except ValueError:
        raise StoreError(f"store {str(path)!r} is damaged: its schema version {raw!r} is not an "
                         f"integer; restore it from a copy or pass a new --store path") from None
    if version != SCHEMA_VERSION:
        raise StoreError(f"{str(path)!r} has store schema version {version}; this theorycheck "
                         f"reads version {SCHEMA_VERSION}; export it with the theorycheck that "
                         f"wrote it, or pass a new --store path")
    for table, cols in TABLE_COLUMNS.items():
        if table not in tables:
            raise StoreError(f"store {str(path)!r} is damaged: it has no {table!r} table; "
                             f"restore it from a copy or pass a new --store path")
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        missing = [c for c in cols if c not in have]
        if missing:
            raise StoreError(f"store {str(path)!r} has an older or damaged layout: table "
                             f"{table!r} lacks column(s) {', '.join(missing)}; export it with the "
                             f"theorycheck that wrote it, or pass a new --store path")


class Store:
    """A theorycheck results store at ``path``.

    Parameters
    ----------
    path : path
        The store file (created when ``create`` and absent).
    create : bool
        Create the store when it does not exist (the writing commands); without it a missing
        store is refused, and a store in a folder this process cannot write is opened
        read-only (the reading commands; :attr:`read_only` tells).
    timeout_s : float
        How long to wait for another process's write lock.

    Raises
    ------
    StoreError
        One line: the path is not a store file, the store is of another schema version or
        damaged, or (``create``) it cannot be written.
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = True, timeout_s: float = 60.0):
        if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
            raise StoreError(f"path={path!r:.60} is invalid: a {type(path).__name__}; pass the "
                             f"store file path as a string or pathlib.Path")
        if not isinstance(create, bool):
            raise StoreError(f"create={create!r:.60} is invalid: not a boolean; pass True or False")
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) \
                or not math.isfinite(timeout_s) or timeout_s <= 0:
            raise StoreError(f"timeout_s={timeout_s!r:.60} is invalid; pass a positive number of "
                             f"seconds")
        self.path = Path(path)
        self._closed = True
        if not str(path).strip():
            raise StoreError("store path '' is invalid: an empty path; pass a file path such as "
                             "results.sqlite")
        if self.path.is_dir():
            raise StoreError(f"store path {str(self.path)!r} is a folder; pass a file path "
                             f"such as results.db")
        try:
            exists = self.path.exists() and self.path.stat().st_size > 0
        except OSError as exc:
            from theorycheck.errors import os_error_message
            raise StoreError(os_error_message(exc, str(self.path), "open the store")) from None
        if not exists and not create:
            raise StoreError(f"no store at {str(self.path)!r}; run a sweep first or pass "
                             f"--store with an existing results file")
        parent = self.path.parent
        if not exists and str(parent) and parent.exists() and not parent.is_dir():
            raise StoreError(f"store path {str(self.path)!r} is invalid: {str(parent)!r} is a "
                             f"file, not a folder; pass another --store path")
        if not exists and parent and not parent.exists():
            raise StoreError(f"store folder {str(self.path.parent)!r} does not exist; create it "
                             f"or pass another --store path")
        self.read_only = not folder_writable(self.path)
        if self.read_only and create:
            what = ("its folder" if not os.access(self.path.resolve().parent, os.W_OK)
                    else "the file")
            raise StoreError(f"store {str(self.path)!r} cannot be written ({what} is read-only); "
                             f"check the permissions or pass another --store path")
        if not exists:
            try:
                self._create(timeout_s)
            except OSError as exc:
                from theorycheck.errors import os_error_message
                raise StoreError(os_error_message(exc, str(self.path), "create the store")) from None
            except sqlite3.Error as exc:
                raise StoreError(f"cannot create the store {str(self.path)!r} ({exc}); check the "
                                 f"folder's permissions and free space, or pass another --store "
                                 f"path") from None
        self._shared = _open_shared(self.path, timeout_s, self.read_only)
        self._conn, self._lock = self._shared.conn, self._shared.lock
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    def _create(self, timeout_s: float) -> None:
        """Build the schema in a private file, then link it into place: a concurrent opener
        sees either no file or a complete store, never a half-initialised one, and two
        concurrent creators end up sharing one file."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        con = sqlite3.connect(str(tmp), timeout=timeout_s, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("BEGIN IMMEDIATE")
            for stmt in _SCHEMA.strip().split(";"):
                if stmt.strip():
                    con.execute(stmt)
            con.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                            [("format", FORMAT), ("schema_version", str(SCHEMA_VERSION)),
                             ("created", repr(time.time()))])
            con.execute("COMMIT")
        finally:
            con.close()
        try:
            os.link(tmp, self.path)  # atomic: fails if another process created it first
        except FileExistsError:
            pass
        except OSError:  # a filesystem without hard links
            if not self.path.exists():
                os.replace(tmp, self.path)
        finally:
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.unlink(f"{tmp}{suffix}")
                except FileNotFoundError:
                    pass

    def __repr__(self) -> str:
        """One line: the file and the number of runs by status.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> Store(pathlib.Path(tempfile.mkdtemp()) / "r.sqlite")  # doctest: +ELLIPSIS
        Store('.../r.sqlite', 0 runs)
        """
        if self._closed:
            return f"Store({str(self.path)!r}, closed)"
        counts = {k: v for k, v in self.status_counts().items() if v}
        n = sum(counts.values())
        by = ": " + ", ".join(f"{v} {k}" for k, v in counts.items()) if counts else ""
        return f"Store({str(self.path)!r}, {n} runs{by})"

    def _repr_html_(self) -> str:
        """The runs by kind and status (docs/sweeps.md)."""
        from theorycheck._display import html_grid

        if self._closed:
            return html_grid(f"Store {self.path} (closed)", [], [])
        with self._lock:
            rows = self._conn.execute("SELECT kind, status, count(*), sum(seconds) FROM runs "
                                      "GROUP BY kind, status ORDER BY kind, status").fetchall()
        return html_grid(f"Store {self.path}", ["kind", "status", "runs", "seconds"],
                         [[k, st, n, "" if sec is None else f"{sec:.1f}"] for k, st, n, sec in rows])

    def close(self) -> None:
        if not getattr(self, "_closed", True):
            self._closed = True
            _release_shared(self._shared)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self):
        """A write transaction (BEGIN IMMEDIATE): all of it commits, or none of it."""
        if self.read_only:
            raise StoreError(f"store {str(self.path)!r} was opened read-only (its folder or file "
                             f"is not writable); check the permissions or copy it elsewhere")
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise _damaged(self.path, exc) from None
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    # -- runs --------------------------------------------------------------------------------

    def ensure(self, specs: Iterable[tuple[str, Mapping[str, Any], int]]) -> list[str]:
        """Insert each ``(kind, config, seed)`` as queued unless already present; return the
        hashes in order. One transaction."""
        now = time.time()
        out, rows = [], []
        for kind, config, seed in specs:
            h = config_hash(kind, config, seed)
            out.append(h)
            rows.append((h, kind, canonical_json(dict(config)), int(seed), now))
        with self.transaction() as c:
            c.executemany("INSERT OR IGNORE INTO runs (hash, kind, config, seed, status, created) "
                          "VALUES (?, ?, ?, ?, 'queued', ?)", rows)
        return out

    def claim(self, h: str, owner: str, *, lease_s: float = DEFAULT_LEASE_S,
              retry_failed: bool = False) -> str:
        """Try to become the owner of run ``h``. Returns ``'claimed'``, ``'done'``,
        ``'failed'`` (not retried), ``'busy'`` (a live owner holds it) or ``'missing'``."""
        now = time.time()
        with self.transaction() as c:
            row = c.execute("SELECT status, owner, lease_until FROM runs WHERE hash=?", (h,)).fetchone()
            if row is None:
                return "missing"
            status, cur_owner, lease_until = row
            if status == "done":
                return "done"
            if status == "failed" and not retry_failed:
                return "failed"
            if status == "running":
                alive = owner_alive(cur_owner)
                expired = lease_until is None or lease_until < now
                if alive is True and not expired:
                    return "busy"
                if alive is None and not expired:
                    return "busy"
            c.execute("UPDATE runs SET status='running', owner=?, lease_until=?, "
                      "attempts=attempts+1, started=?, finished=NULL, seconds=NULL, error=NULL, "
                      "code_version=? WHERE hash=? AND status=?",
                      (owner, now + lease_s, now, code_version(), h, status))
            return "claimed"

    def _owned(self, c, h: str, owner: str, lease_s: float | None) -> None:
        if lease_s is None:
            cur = c.execute("SELECT 1 FROM runs WHERE hash=? AND owner=? AND status='running'",
                            (h, owner)).fetchone()
            ok = cur is not None
        else:
            ok = c.execute("UPDATE runs SET lease_until=? WHERE hash=? AND owner=? AND "
                           "status='running'", (time.time() + lease_s, h, owner)).rowcount == 1
        if not ok:
            raise LeaseLost(f"run {h[:12]} is no longer owned by this process (its lease was "
                            f"taken over); its results are recorded by the new owner")

    def heartbeat(self, h: str, owner: str, lease_s: float = DEFAULT_LEASE_S) -> None:
        with self.transaction() as c:
            self._owned(c, h, owner, lease_s)

    def write_points(self, h: str, owner: str, points: Iterable[tuple[str, int, float]],
                     checkpoint: tuple[int, Any] | None = None,
                     lease_s: float = DEFAULT_LEASE_S) -> None:
        """Append curve points ``(metric, step, value)`` (a repeated step replaces its value)
        and optionally a checkpoint ``(step, state)``, atomically, as the run's owner."""
        rows = [(h, str(m), int(s), _real(v)) for m, s, v in points]
        with self.transaction() as c:
            self._owned(c, h, owner, lease_s)
            c.executemany("INSERT OR REPLACE INTO curves (hash, metric, step, value) "
                          "VALUES (?, ?, ?, ?)", rows)
            if checkpoint is not None:
                step, state = checkpoint
                c.execute("UPDATE runs SET checkpoint=?, checkpoint_step=? WHERE hash=?",
                          (canonical_json(state), int(step), h))

    def finish(self, h: str, owner: str, summary: Mapping[str, Any] | None) -> None:
        now = time.time()
        with self.transaction() as c:
            self._owned(c, h, owner, None)
            c.execute("UPDATE runs SET status='done', summary=?, finished=?, seconds=?-started, "
                      "lease_until=NULL WHERE hash=?",
                      (canonical_json(jsonable(dict(summary or {}))), now, now, h))

    def fail(self, h: str, owner: str, error: str) -> None:
        now = time.time()
        with self.transaction() as c:
            self._owned(c, h, owner, None)
            c.execute("UPDATE runs SET status='failed', error=?, finished=?, seconds=?-started, "
                      "lease_until=NULL WHERE hash=?", (error, now, now, h))

    def release(self, h: str, owner: str) -> None:
        """Give a claimed run back to the queue (interrupted: e.g. Ctrl-C); checkpoint kept."""
        with self.transaction() as c:
            c.execute("UPDATE runs SET status='queued', owner=NULL, lease_until=NULL "
                      "WHERE hash=? AND owner=? AND status='running'", (h, owner))

    # -- reading -----------------------------------------------------------------------------

    def run(self, h: str) -> dict | None:
        rows = self.runs(hashes=[h])
        return rows[0] if rows else None

    def runs(self, *, hashes: Iterable[str] | None = None, kind: str | None = None,
             status: str | None = None) -> list[dict]:
        """Runs as dicts with ``config`` and ``summary`` decoded."""
        if hashes is not None:
            hashes = list(hashes)
            if not hashes:
                return []
        q, args = _select(f"SELECT {', '.join(RUN_COLUMNS)}, config, summary, checkpoint FROM runs",
                          kind=kind, status=status, hash=hashes)
        q += " ORDER BY created, hash"
        rows = self._query(q, args)
        return [self._decode(r) for r in rows]

    def _query(self, q: str, args=()) -> list:
        with self._lock:
            try:
                return self._conn.execute(q, args).fetchall()
            except sqlite3.DatabaseError as exc:
                raise _damaged(self.path, exc) from None

    def _decode(self, r) -> dict:
        d = StoredRun(zip(RUN_COLUMNS, r[: len(RUN_COLUMNS)]))
        for key, raw in (("config", r[-3]), ("summary", r[-2]), ("checkpoint", r[-1])):
            try:
                d[key] = None if raw is None and key != "config" else json.loads(raw)
            except (TypeError, ValueError) as exc:
                raise StoreError(f"run {str(d['hash'])[:12]} in store {str(self.path)!r} has "
                                 f"damaged JSON in its {key} ({' '.join(str(exc).split())}); "
                                 + CHECK_HINT.format(path=str(self.path))) from None
        return d

    def status_counts(self, hashes: Iterable[str] | None = None) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        if hashes is None:
            rows = self._query("SELECT status, count(*) FROM runs GROUP BY status")
        else:
            hashes = list(hashes)
            rows = []
            for i in range(0, len(hashes), 500):
                chunk = hashes[i:i + 500]
                rows += self._query(
                    f"SELECT status, count(*) FROM runs WHERE hash IN ({', '.join('?' * len(chunk))}) "
                    f"GROUP BY status", chunk)
        for s, n in rows:
            counts[s] = counts.get(s, 0) + n
        return counts

    def curves(self, h: str | None = None, metric: str | None = None) -> list[tuple[str, str, int, float]]:
        """``(hash, metric, step, value)`` rows ordered by hash, metric, step."""
        q, args = _select("SELECT hash, metric, step, value FROM curves", hash=h, metric=metric)
        return self._query(q + " ORDER BY hash, metric, step", args)

    def integrity_ok(self) -> bool:
        return self._query("PRAGMA integrity_check")[0][0] == "ok"


def finished_runs(path, kind: str, *, grid: str) -> list[dict]:
    """The finished runs of ``kind`` in the store at ``path``, for a study's report.

    Parameters
    ----------
    path : str or Path
        The results store.
    kind : str
        The run kind.
    grid : str
        The grid file whose sweep records such runs; the error for a missing store names it.

    Returns
    -------
    list of dict
        :meth:`Store.runs` rows with status ``done``.

    Raises
    ------
    SpecError
        When no store exists at ``path``.
    """
    from theorycheck.errors import SpecError
    if not Path(path).is_file():
        raise SpecError(f"store {path} does not exist; run 'theorycheck sweep {grid} --store {path}' "
                        f"first")
    with Store(path, create=False) as st:
        return st.runs(kind=kind, status="done")


class StoredRun(dict):
    """One run of a :class:`Store`: a plain ``dict`` (``hash``, ``kind``, ``seed``,
    ``status``, ``config``, ``summary``, ``checkpoint``, times...) with a short repr.

    Examples
    --------
    >>> StoredRun(hash="ab" * 32, kind="walk", seed=0, status="done", seconds=1.5,
    ...           config={"n": 3}, summary={"loss": 0.25})
    StoredRun(walk abababab, seed 0, done, 1.5s, config n=3, summary loss=0.25)
    """

    def __repr__(self) -> str:
        from theorycheck._display import REPR_LIMIT, clip

        sec = self.get("seconds")
        parts = [f"{self.get('kind')} {str(self.get('hash'))[:8]}", f"seed {self.get('seed')}",
                 str(self.get("status"))]
        if sec is not None:
            parts.append(f"{sec:.3g}s")
        if self.get("error"):
            parts.append(f"error: {clip(self['error'], 60)}")
        parts.append("config " + _brief(self.get("config")))
        if self.get("summary"):
            parts.append("summary " + _brief(self["summary"]))
        return clip("StoredRun(" + ", ".join(parts), REPR_LIMIT - 1) + ")"

    def _repr_html_(self) -> str:
        from theorycheck._display import html_table

        rows = [(k, self.get(k)) for k in ("hash", "kind", "seed", "status", "seconds", "error",
                                           "attempts", "code_version") if self.get(k) is not None]
        rows += [(f"config.{k}", v) for k, v in (self.get("config") or {}).items()]
        rows += [(f"summary.{k}", v) for k, v in (self.get("summary") or {}).items()]
        if self.get("checkpoint") is not None:
            rows.append(("checkpoint", f"at step {self.get('checkpoint_step')}"))
        return html_table(f"StoredRun {str(self.get('hash'))[:12]}", rows)


def _brief(d, limit: int = 4) -> str:
    """``k=v`` for the first ``limit`` scalar entries of ``d`` (numbers to 4 digits)."""
    from theorycheck._display import clip, fmt_num

    if not isinstance(d, Mapping) or not d:
        return "{}"
    items = [f"{k}={fmt_num(v)}" for k, v in d.items() if not isinstance(v, (list, dict))]
    more = len(d) - min(len(items), limit)
    return clip(" ".join(items[:limit]), 100) + (f" (+{more} keys)" if more > 0 else "")


def _real(v) -> float | None:
    """A curve value as stored: a float, +-inf as SQLite's +-Inf, NaN as NULL (SQLite has no
    NaN), so a NaN and an infinity stay distinguishable."""
    v = float(v)
    return None if math.isnan(v) else v


def run_is_live(row: Mapping[str, Any]) -> bool:
    """Whether a ``running`` run is held by a live owner: its process exists on this host, or
    it ran on another host and its lease has not expired."""
    if row.get("status") != "running":
        return False
    alive = owner_alive(row.get("owner"))
    lease = row.get("lease_until")
    return alive is True or (alive is None and lease is not None and lease > time.time())


def describe_owner(row: Mapping[str, Any]) -> str:
    """How a ``running`` run stands: ``"running (pid 123 on host, since 12:00:01)"`` when its
    owner is alive (or on another host with a live lease), else ``"interrupted (...)"``."""
    owner, started = row.get("owner"), row.get("started")
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if started else "?"
    try:
        host, pid, _, _ = str(owner).rsplit(":", 3)
    except ValueError:
        host, pid = "?", "?"
    if run_is_live(row):
        return f"running (pid {pid} on {host}, since {since})"
    return f"interrupted (its process {pid} on {host} is gone; started {since})"


def check_store(path: str | os.PathLike) -> dict:
    """Diagnose the store at ``path`` without trusting it: SQLite's ``PRAGMA
    integrity_check``, the format checks of :class:`Store`, and every run's row decoded on
    its own.

    Returns
    -------
    dict
        ``{"path", "integrity": [lines], "format": None or the refusal, "readable": [hash],
        "damaged": [(hash or rowid, reason)], "curves": count or None}``.
    """
    path = Path(path)
    out: dict = {"path": str(path), "integrity": [], "format": None, "readable": [],
                 "damaged": [], "curves": None}
    if not path.is_file():
        raise StoreError(f"no store at {str(path)!r}; pass --store with an existing results file")
    with open(path, "rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise StoreError(f"{str(path)!r} is not a theorycheck store (not an SQLite file); "
                             f"nothing to check")
    conn = _connect(path, 5.0, read_only=True)
    try:
        try:
            out["integrity"] = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        except sqlite3.DatabaseError as exc:
            out["integrity"] = [f"integrity_check failed: {exc}"]
        try:
            _check_format(conn, path)
        except (StoreError, sqlite3.DatabaseError) as exc:
            out["format"] = " ".join(str(exc).split())
        try:
            rowids = [r[0] for r in conn.execute("SELECT rowid FROM runs ORDER BY rowid")]
        except sqlite3.DatabaseError as exc:
            out["damaged"].append(("runs", f"the runs table cannot be read ({exc})"))
            rowids = []
        cols = ", ".join(RUN_COLUMNS) + ", config, summary, checkpoint"
        for rid in rowids:
            try:
                r = conn.execute(f"SELECT {cols} FROM runs WHERE rowid=?", (rid,)).fetchone()
            except sqlite3.DatabaseError as exc:
                out["damaged"].append((f"rowid {rid}", f"unreadable ({exc})"))
                continue
            h = str(r[0])
            problems = []
            for key, raw in (("config", r[-3]), ("summary", r[-2]), ("checkpoint", r[-1])):
                if raw is None and key != "config":
                    continue
                try:
                    json.loads(raw)
                except (TypeError, ValueError) as exc:
                    problems.append(f"damaged JSON in {key} ({' '.join(str(exc).split())})")
            if r[3] not in STATUSES:
                problems.append(f"unknown status {r[3]!r}")
            if problems:
                out["damaged"].append((h, "; ".join(problems)))
            else:
                out["readable"].append(h)
        try:
            out["curves"] = conn.execute("SELECT count(*) FROM curves").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            out["damaged"].append(("curves", f"the curves table cannot be read ({exc})"))
    finally:
        conn.close()
    return out


# -- flat tables for export -----------------------------------------------------------------

def runs_table(runs: list[dict]) -> tuple[list[str], list[list[Any]]]:
    """Runs as one flat table: the run columns, then ``config.<key>`` and ``summary.<key>``
    columns (nested values as JSON text), ready for CSV or Parquet."""
    base = ["hash", "kind", "seed", "status", "code_version", "attempts", "seconds", "error",
            "started", "finished"]
    ckeys = sorted({k for r in runs for k in r["config"]})
    skeys = sorted({k for r in runs for k in (r["summary"] or {})})
    cols = base + [f"config.{k}" for k in ckeys] + [f"summary.{k}" for k in skeys]
    rows = []
    for r in runs:
        row = [r[c] for c in base]
        row += [_scalar(r["config"].get(k)) for k in ckeys]
        row += [_scalar((r["summary"] or {}).get(k)) for k in skeys]
        rows.append(row)
    return cols, rows


def _scalar(v):
    if isinstance(v, (dict, list)):
        return canonical_json(v)
    return v


def _select(query: str, **conditions) -> tuple[str, list]:
    """``query`` with a WHERE clause for each condition that is not None: a list or tuple
    matches any of its values, anything else must be equal."""
    where, args = [], []
    for column, value in conditions.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            where.append(f"{column} IN ({', '.join('?' * len(value))})")
            args.extend(value)
        else:
            where.append(f"{column} = ?")
            args.append(value)
    return (query + " WHERE " + " AND ".join(where) if where else query), args
