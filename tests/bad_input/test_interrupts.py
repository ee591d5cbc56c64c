"""Ctrl-C and the error boundary of ``theorycheck.commands.main``: an interrupted command
exits 130 with one line saying what was kept (``check`` writes the verdicts it has, atomically),
also while its modules are importing; every expected failure type becomes one line and exit
status 2; only a bug prints a traceback (exit 3, with a line saying so), and ``--debug`` shows
the traceback of anything. Signals use subprocesses; everything else runs in-process."""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ._cli import Unchanged, assert_one_line, refused, run

ROOT = Path(__file__).resolve().parents[2]

SLOW_CLAIMS = '''
import os, time
from theorycheck import Measurement, claim

@claim(id="mine.a_quick", statement="quick", paper="-", tag="M", ref="-", instances=[1, 2])
def quick(inst):
    return Measurement(1.0, 2.0)

@claim(id="mine.b_slow", statement="slow", paper="-", tag="M", ref="-", instances=[1])
def slow(inst):
    open(os.environ["STARTED"], "w").close()
    time.sleep(60)
    return Measurement(1.0, 2.0)
'''


def _spawn(argv, cwd, env_extra=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "theorycheck", *argv], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline and not path.exists() and proc.poll() is None:
        time.sleep(0.05)
    assert path.exists(), proc.communicate(timeout=5)


def _interrupt(proc):
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def test_interrupted_check_writes_the_verdicts_so_far(tmp_path):
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "mine.py").write_text(SLOW_CLAIMS)
    started = tmp_path / "started"
    proc = _spawn(["check", "claims", "--out", "report", "--no-example-db", "-j", "1"], tmp_path,
                  {"STARTED": str(started)})
    _wait_for(started, proc)
    code, out, err = _interrupt(proc)
    line = assert_one_line(code, out, err, ("interrupted", "1 of 2 claims checked",
                                            "report.json"), status=130)
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert [c["id"] for c in report["claims"]] == ["mine.a_quick"]
    assert report["claims"][0]["verdict"] == "holds"
    assert (tmp_path / "report" / "report.md").exists()
    assert not [p for p in (tmp_path / "report").iterdir() if p.name.startswith(".report")], line


def test_check_interrupted_before_any_verdict_keeps_the_earlier_report(tmp_path):
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "mine.py").write_text(
        SLOW_CLAIMS.replace('"mine.a_quick"', '"mine.z_quick"'))
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.json").write_text('{"earlier": true}\n')
    started = tmp_path / "started"
    with Unchanged(tmp_path / "report"):
        proc = _spawn(["check", "claims", "--out", "report", "--no-example-db", "-c",
                       "mine.b_slow"], tmp_path, {"STARTED": str(started)})
        _wait_for(started, proc)
        code, out, err = _interrupt(proc)
    assert_one_line(code, out, err, ("interrupted", "no claim finished", "no report written"),
                    status=130)


def test_interrupted_long_command_is_one_line(tmp_path):
    proc = _spawn(["target", "--d", "6", "--L", "4"], tmp_path)
    time.sleep(4.0)  # inside the exact expansion (about a minute), or still importing
    code, out, err = _interrupt(proc)
    assert_one_line(code, out, err, "interrupted", status=130)


def test_interrupt_while_importing_the_command_modules(monkeypatch, capsys):
    import theorycheck.commands.main as m

    def interrupted(name, *a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(m.importlib, "import_module", interrupted)
    code, out, err = run(["target"], capsys)
    assert_one_line(code, out, err, ("theorycheck target: interrupted",), status=130)


@pytest.mark.parametrize("command", ["target", "train", "results", "sweep", "check"])
def test_interrupt_inside_a_command(command, monkeypatch, capsys):
    import importlib
    mod = importlib.import_module(f"theorycheck.commands.{command}")

    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(mod, "run", interrupted)
    argv = {"sweep": ["sweep", "g.toml"], "check": ["check"]}.get(command, [command])
    code, out, err = run(argv, capsys)
    assert_one_line(code, out, err, (f"theorycheck {command}: interrupted",), status=130)


def _raiser(exc):
    def raise_it(args):
        raise exc
    return raise_it


EXPECTED = [
    (PermissionError(errno.EACCES, "Permission denied", "out/report.json"),
     ("cannot use 'out/report.json'", "Permission denied", "permissions")),
    (IsADirectoryError(errno.EISDIR, "Is a directory", "x"), ("'x'", "is a folder")),
    (NotADirectoryError(errno.ENOTDIR, "Not a directory", "f/x"), ("not a folder",)),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "gone.toml"),
     ("'gone.toml'", "does not exist")),
    (OSError(errno.ENOSPC, "No space left on device", "big.csv"), ("disk is full",)),
    (OSError(errno.EROFS, "Read-only file system", "/ro/x"), ("read-only",)),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), ("not UTF-8", "0xff")),
    (MemoryError("Unable to allocate 488. GiB for an array"), ("out of memory", "488",
                                                               "--memory-budget")),
    (MemoryError(), ("out of memory",)),
    (sqlite3.DatabaseError("database disk image is malformed"), ("malformed", "--check")),
    (sqlite3.OperationalError("database is locked"), ("locked",)),
    (json.JSONDecodeError("Expecting value", "{x", 1), ("JSON", "Expecting value")),
]


@pytest.mark.parametrize("exc, needle", EXPECTED, ids=[type(e).__name__ + str(i)
                                                       for i, (e, _) in enumerate(EXPECTED)])
def test_expected_failures_are_one_line(exc, needle, monkeypatch, capsys):
    import theorycheck.commands.target as target
    monkeypatch.setattr(target, "run", _raiser(exc))
    refused(["target"], capsys, ("theorycheck target: error:",) + needle)


def test_a_bug_prints_the_traceback_and_says_so(monkeypatch, capsys):
    import theorycheck.commands.target as target
    monkeypatch.setattr(target, "run", _raiser(ZeroDivisionError("division by zero")))
    code, out, err = run(["target"], capsys)
    assert code == 3 and "Traceback" in err
    last = err.strip().splitlines()[-1]
    assert "internal error: ZeroDivisionError" in last and "bug in theorycheck" in last
    assert "report it" in last


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback_of_an_expected_failure(where, capsys):
    argv = ["--debug", "target", "--d", "x"] if where == "before" else ["target", "--d", "x",
                                                                        "--debug"]
    code, out, err = run(argv, capsys)
    assert code == 2 and "Traceback" in err
    assert err.strip().splitlines()[-1].startswith("theorycheck target: error: --d='x'")


def test_broken_pipe_is_quiet(monkeypatch, capsys):
    import theorycheck.commands.target as target
    monkeypatch.setattr(target, "run", _raiser(BrokenPipeError(errno.EPIPE, "Broken pipe")))
    monkeypatch.setattr("theorycheck.commands.main._quiet_stdout", lambda: None)
    code, out, err = run(["target"], capsys)
    assert code == 1 and not err.strip()
