"""Results stores that are not what they should be: another schema version, damaged (a
non-integer version, a missing table or column, corrupted pages, damaged JSON in a row), in
a read-only folder, or holding a run that another live process owns. Every command that
opens the store refuses with one line saying what is wrong and what to do, and leaves the
file byte-identical; ``theorycheck results --check`` says which runs are readable."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

from ._cli import Unchanged, assert_one_line, checkpoint_wal, make_store, refused, run

WALK = "tests.sweep_kinds:WALK"


def _sql(path, *statements) -> None:
    con = sqlite3.connect(path)
    for stmt in statements:
        con.execute(stmt)
    con.commit()
    con.close()
    checkpoint_wal(path)


def _not_sqlite(p):
    p.write_text("hash,kind\nabc,walk\n")


def _other_sqlite(p):
    _sql(str(p), "CREATE TABLE t (a)")


def _version(value):
    def damage(p):
        make_store(p)
        _sql(str(p), f"UPDATE meta SET value={value!r} WHERE key='schema_version'")
    return damage


def _no_format(p):
    make_store(p)
    _sql(str(p), "DELETE FROM meta WHERE key='format'")


def _drop(table):
    def damage(p):
        make_store(p)
        _sql(str(p), "PRAGMA foreign_keys=OFF", f"DROP TABLE {table}")
    return damage


def _old_columns(p):
    make_store(p)
    _sql(str(p), "ALTER TABLE runs DROP COLUMN owner")


def _corrupt_pages(p):
    make_store(p)
    data = bytearray(p.read_bytes())
    for i in range(4096, len(data)):
        data[i] = (i * 37) % 251
    p.write_bytes(bytes(data))


def _truncated(p):
    make_store(p)
    p.write_bytes(p.read_bytes()[:5000])


def _zeroed(p):
    make_store(p)
    data = p.read_bytes()
    p.write_bytes(data[:100] + bytes(len(data) - 100))


def _bad_json(column):
    def damage(p):
        make_store(p)
        _sql(str(p), f"UPDATE runs SET {column} = '{{not json' WHERE rowid = "
                     f"(SELECT min(rowid) FROM runs)")
    return damage


STRUCTURAL = {
    "not an SQLite file": (_not_sqlite, "not an SQLite file"),
    "another SQLite file": (_other_sqlite, "not a theorycheck store"),
    "schema version 99": (_version("99"), "schema version 99"),
    "schema version 0": (_version("0"), "schema version 0"),
    "non-integer version": (_version("two"), "is not an integer"),
    "empty version": (_version(""), "is not an integer"),
    "no format": (_no_format, "not a theorycheck store"),
    "no runs table": (_drop("runs"), "no 'runs' table"),
    "no curves table": (_drop("curves"), "no 'curves' table"),
    "older columns": (_old_columns, "lacks column(s) owner"),
    "corrupted pages": (_corrupt_pages, "damaged"),
    "truncated": (_truncated, "damaged"),
    "zeroed pages": (_zeroed, "store"),
}

COMMANDS = {
    "results": ["results"],
    "results --show": ["results", "--show", "ab"],
    "results --curves": ["results", "--curves", "--export", "c.csv"],
    "results --kind": ["results", "--kind", WALK],
    "plot": ["plot", "abc"],
    "train": ["train", "--steps", "1,1", "--set", "n_test=100"],
    "sweep": ["sweep", "g.toml", "--serial", "--no-progress"],
    "labels study": ["labels", "study", "--r", "1", "--seeds", "1", "--serial", "--no-progress"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("damage", list(STRUCTURAL))
def test_damaged_store_is_refused_in_one_line_untouched(damage, command, capsys, tmp_path):
    make, needle = STRUCTURAL[damage]
    store = tmp_path / "s.sqlite"
    make(store)
    (tmp_path / "g.toml").write_text('[sweep]\nkind = "target-energy"\n[grid]\nd = [2]\nn = [4]\n')
    with Unchanged(store, tmp_path / "s.sqlite-wal", tmp_path / "c.csv"):
        line = refused(COMMANDS[command] + ["--store", str(store)], capsys, "s.sqlite")
    assert needle in line or "damaged" in line, line


READING = {
    "results": ["results"],
    "results --curves": ["results", "--curves"],
    "results --where": ["results", "--where", "label=1"],
    "results --export": ["results", "--export", "x.csv"],
    "results --status": ["results", "--status", "done"],
}


@pytest.mark.parametrize("command", list(READING))
@pytest.mark.parametrize("column", ["config", "summary", "checkpoint"])
def test_damaged_json_in_a_row_names_the_run(column, command, capsys, tmp_path):
    store = tmp_path / "s.sqlite"
    _bad_json(column)(store)
    with Unchanged(store, tmp_path / "x.csv"):
        refused(READING[command] + ["--store", str(store)], capsys,
                ("damaged JSON in its", column, "--check"))


@pytest.mark.parametrize("damage", ["bad config", "bad summary", "corrupted pages", "schema 99"])
def test_results_check_reports_readable_runs(damage, capsys, tmp_path):
    store = tmp_path / "s.sqlite"
    {"bad config": _bad_json("config"), "bad summary": _bad_json("summary"),
     "corrupted pages": _corrupt_pages, "schema 99": _version("99")}[damage](store)
    with Unchanged(store):
        code, out, err = run(["results", "--store", str(store), "--check"], capsys)
    assert code == 1 and "Traceback" not in out + err, err
    assert "integrity_check" in out
    if damage.startswith("bad"):
        assert "1 run(s) readable, 1 damaged" in out and "damaged JSON" in out
    if damage == "schema 99":
        assert "schema version 99" in out and "2 run(s) readable" in out


def test_results_check_of_a_healthy_store(capsys, tmp_path):
    store = make_store(tmp_path / "s.sqlite")
    code, out, err = run(["results", "--store", store, "--check"], capsys)
    assert code == 0 and "integrity_check ok" in out and "2 run(s) readable, 0 damaged" in out


@pytest.mark.parametrize("path, needle", [
    ("folder", "is a folder"), ("a-file/s.sqlite", "is a file, not a folder"),
    ("no/such/folder/s.sqlite", "does not exist"), ("", "empty"),
])
@pytest.mark.parametrize("command", ["train", "sweep", "results", "plot"])
def test_store_paths_that_cannot_be_a_store(path, needle, command, capsys, tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "g.toml").write_text('[sweep]\nkind = "target-energy"\n[grid]\nd = [2]\nn = [4]\n')
    argv = {"train": ["train", "--steps", "1,1"], "sweep": ["sweep", "g.toml", "--serial"],
            "results": ["results"], "plot": ["plot", "ab"]}[command]
    with Unchanged(tmp_path):
        line = refused(argv + [f"--store={path}"], capsys, "")
    if command in ("train", "sweep") or path not in ("", "no/such/folder/s.sqlite"):
        assert needle in line or "does not exist" in line or "no store" in line, line


@pytest.fixture
def read_only_folder(monkeypatch, tmp_path):
    """A folder this process cannot write: real permissions when not root; as root (which
    ignores them) os.access says so, which is what theorycheck consults before writing."""
    ro = tmp_path / "ro"
    ro.mkdir()
    make_store(ro / "s.sqlite")
    real = os.access

    def access(path, mode, *a, **k):
        p = os.path.abspath(path)
        if mode & os.W_OK and (p == str(ro) or p.startswith(str(ro) + os.sep)):
            return False
        return real(path, mode, *a, **k)

    monkeypatch.setattr(os, "access", access)
    return ro


@pytest.mark.parametrize("argv", [
    ["train", "--steps", "1,1"], ["sweep", "g.toml", "--serial", "--no-progress"],
    ["labels", "study", "--r", "1", "--seeds", "1", "--serial", "--no-progress"],
])
def test_writing_to_a_store_in_a_read_only_folder_is_refused(argv, read_only_folder, capsys,
                                                              tmp_path):
    store = str(read_only_folder / "s.sqlite")
    (tmp_path / "g.toml").write_text('[sweep]\nkind = "target-energy"\n[grid]\nd = [2]\nn = [4]\n')
    with Unchanged(read_only_folder):
        refused(argv + ["--store", store], capsys, ("cannot be written", "read-only"))


@pytest.mark.parametrize("argv", [["results"], ["results", "--curves"], ["results", "--check"]])
def test_reading_a_store_in_a_read_only_folder_opens_it_read_only(argv, read_only_folder, capsys):
    store = str(read_only_folder / "s.sqlite")
    with Unchanged(read_only_folder):
        code, out, err = run(argv + ["--store", store], capsys)
    assert code == 0 and "Traceback" not in err
    assert len([ln for ln in err.splitlines() if ln.strip()]) <= 1
    if argv == ["results"]:
        assert "read-only" in err and "2 runs" in out


def _live_owner():
    psutil = pytest.importorskip("psutil")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            start = psutil.Process(proc.pid).create_time()
            break
        except psutil.Error:
            time.sleep(0.05)
    return proc, f"{socket.gethostname()}:{proc.pid}:{start:.3f}:feedbeef"


def test_a_live_run_of_another_process_is_reported_as_running(capsys, tmp_path):
    from theorycheck.runs.kinds import get_kind
    from theorycheck.runs.store import Store
    kind = get_kind("bfc-train")
    cfg = kind.parse({"mode": "e2e", "steps": [1, 1], "n_test": 100}, 0)
    store = str(tmp_path / "s.sqlite")
    proc, owner = _live_owner()
    try:
        with Store(store) as st:
            (h,) = st.ensure([(kind.name, kind.stored(cfg), 0)])
            assert st.claim(h, owner) == "claimed"
            st.write_points(h, owner, [("loss", 1, 1.0)], (1, {"step": 1}))
        checkpoint_wal(store)
        with Unchanged(store):
            line = refused(["train", "--steps", "1,1", "--set", "n_test=100", "--store", store],
                           capsys, ("is running (pid", str(proc.pid), "since"))
            assert "interrupted" not in line
            code, out, _ = run(["results", "--store", store], capsys)
            assert code == 0 and f"running (pid {proc.pid}" in " ".join(out.split())
    finally:
        proc.kill()
        proc.wait()
    code, out, _ = run(["results", "--store", store], capsys)
    assert code == 0 and "interrupted" in " ".join(out.split())


def test_nan_and_inf_curve_values_stay_distinguishable(tmp_path):
    from theorycheck.runs.store import Store, owner_id
    me = owner_id()
    with Store(tmp_path / "s.sqlite") as st:
        (h,) = st.ensure([(WALK, {"steps": 1}, 0)])
        st.claim(h, me)
        st.write_points(h, me, [("a", 1, float("nan")), ("b", 1, float("inf")),
                                ("c", 1, float("-inf")), ("d", 1, 2.0)])
        values = {m: v for _, m, _, v in st.curves(h)}
    assert values["a"] is None and values["b"] == float("inf") and values["c"] == float("-inf")
    assert values["d"] == 2.0


def test_resume_on_a_fresh_store_is_refused(capsys, tmp_path):
    refused(["train", "--steps", "1,1", "--resume", "--store", "fresh.sqlite"], capsys,
            ("--resume: no store at", "fresh.sqlite"))
    assert not (tmp_path / "fresh.sqlite").exists()
    store = make_store(tmp_path / "s.sqlite")
    with Unchanged(store):
        refused(["train", "--steps", "1,1", "--resume", "--store", store], capsys,
                ("--resume", "has no checkpoint"))


@pytest.mark.parametrize("api", ["path int", "path None", "path list", "create str", "timeout"])
def test_store_api_argument_types(api, tmp_path):
    from theorycheck.runs.store import Store, StoreError
    kw = {"path int": dict(path=5), "path None": dict(path=None), "path list": dict(path=["a"]),
          "create str": dict(path=tmp_path / "s.db", create="yes"),
          "timeout": dict(path=tmp_path / "s.db", timeout_s=-1)}[api]
    with pytest.raises(StoreError) as info:
        Store(**kw)
    assert "\n" not in str(info.value) and list(kw)[-1] in str(info.value)
    assert not (tmp_path / "s.db").exists()
