"""Helpers of the bad-input suite: run the CLI in-process and check its refusal."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from theorycheck.commands.main import main


def run(argv, capsys) -> tuple[int, str, str]:
    """``theorycheck ARGV`` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(code, out, err, needle, status: int = 2) -> str:
    """The refusal contract: ``status``, one line on stderr containing ``needle`` (a string
    or a tuple of strings that must all appear), no traceback anywhere."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in out + err, err
    assert code == status, f"exit {code}, stderr: {err!r}"
    assert len(lines) == 1, f"{len(lines)} lines on stderr: {err!r}"
    for n in (needle if isinstance(needle, tuple) else (needle,)):
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"
    return lines[0]


def refused(argv, capsys, needle, status: int = 2) -> str:
    """Run ``argv`` and assert the refusal contract; returns the error line."""
    return assert_one_line(*run(argv, capsys), needle, status=status)


def digest_tree(*paths) -> dict:
    """{path: sha256} of every file under ``paths`` (files or folders); missing paths map to
    None, so a file that appears is a difference too."""
    out = {}
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file():
                    out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
        elif p.exists():
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[str(p)] = None
    return out


class Unchanged:
    """``with Unchanged(folder):`` asserts no file under ``folder`` changed, appeared or
    vanished (the results store, its -wal/-shm files and any report)."""

    def __init__(self, *paths):
        self.paths = paths

    def __enter__(self):
        self.before = digest_tree(*self.paths)
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            after = digest_tree(*self.paths)
            assert after == self.before, (
                f"files changed: {sorted(set(after.items()) ^ set(self.before.items()))[:4]}")
        return False


def make_store(path, runs: int = 2, kind: str = "tests.sweep_kinds:WALK") -> str:
    """A small real store at ``path``: ``runs`` finished walk runs with curves, written
    through the store API in this process, then folded into one file (no -wal/-shm) and
    closed, so later byte comparisons see only what a command changes."""
    from theorycheck.runs.store import Store, owner_id
    from tests.sweep_kinds import WALK

    me = owner_id()
    with Store(path) as st:
        hs = st.ensure([(kind, WALK.validate({"steps": 2, "label": i}), 0) for i in range(runs)])
        for i, h in enumerate(hs):
            assert st.claim(h, me) == "claimed"
            st.write_points(h, me, [("x", 1, 0.5 + i), ("x", 2, 1.5 + i)], (2, {"x": 1.0}))
            st.finish(h, me, {"x": 1.5 + i, "label": i})
    checkpoint_wal(path)
    return str(path)


def checkpoint_wal(path) -> None:
    """Fold the WAL into the main file so the store is one file (byte comparisons)."""
    import sqlite3
    con = sqlite3.connect(str(path))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}") and os.path.getsize(f"{path}{suffix}") == 0:
            os.unlink(f"{path}{suffix}")
