"""The results store and run registry: hashing, format checks, ownership,
curves without duplicates, interruption and resume, export, bad input."""

from __future__ import annotations

import csv
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from theorycheck.runs.kinds import kinds as _kinds

_kinds()  # loads the built-in kinds
from theorycheck.commands.results import export_table
from theorycheck.errors import TheorycheckError
from theorycheck.runs.kinds import Recorder, execute_run, get_kind
from theorycheck.runs.store import (SCHEMA_VERSION, LeaseLost, Store, StoreError, config_hash,
                               owner_id, runs_table)
from tests.sweep_kinds import WALK

ROOT = Path(__file__).resolve().parent.parent
WALK_KIND = "tests.sweep_kinds:WALK"


def _store(tmp_path, name="s.db") -> tuple[Store, str]:
    p = str(tmp_path / name)
    return Store(p), p


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# -- hashing and validation ---------------------------------------------------------------

def test_config_hash_is_canonical_and_sensitive():
    a = config_hash("k", {"d": 8, "L": 3}, 0)
    assert a == config_hash("k", {"L": 3, "d": 8}, 0)
    assert a != config_hash("k", {"d": 8, "L": 3}, 1)
    assert a != config_hash("k", {"d": 9, "L": 3}, 0)
    assert a != config_hash("k2", {"d": 8, "L": 3}, 0)
    assert len(a) == 64 and int(a, 16) >= 0


def test_defaults_filled_so_explicit_and_omitted_defaults_are_one_run():
    kind = get_kind("target-energy")
    assert kind.validate({"d": 8}) == kind.validate({"d": 8, "L": 3, "k": 2, "n": 8192})
    assert kind.validate({"d": "8"})["d"] == 8


def test_unknown_and_bad_config_keys_are_named():
    kind = get_kind("target-energy")
    with pytest.raises(TheorycheckError, match=r"config key 'dd' is unknown for run kind "
                                               r"'target-energy'; valid keys: L \(integer in 2..8"):
        kind.validate({"dd": 3})
    with pytest.raises(TheorycheckError, match=r"d=0 is invalid"):
        kind.validate({"d": 0})
    with pytest.raises(TheorycheckError, match=r"kind='nope' is unknown; registered kinds: .*claim"):
        get_kind("nope")
    with pytest.raises(TheorycheckError, match=r"claim id 'no.such' matches no claim"):
        get_kind("claim").validate({"claim": "no.such"})


# -- format -------------------------------------------------------------------------------

def test_store_is_wal_and_versioned(tmp_path):
    st, p = _store(tmp_path)
    st.close()
    con = sqlite3.connect(p)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    assert meta["format"] == "theorycheck-store" and meta["schema_version"] == str(SCHEMA_VERSION)
    con.close()


def test_non_store_files_are_rejected_untouched(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("not a database at all\n" * 10)
    before = text.read_bytes()
    with pytest.raises(StoreError, match="is not a theorycheck store"):
        Store(text)
    assert text.read_bytes() == before

    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    before = other.read_bytes()
    with pytest.raises(StoreError, match="SQLite file but not a theorycheck store"):
        Store(other)
    assert other.read_bytes() == before

    st, p = _store(tmp_path, "v.db")
    with st.transaction() as c:
        c.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    st.close()
    with pytest.raises(StoreError, match="schema version 99"):
        Store(p)
    with pytest.raises(StoreError, match="no store at"):
        Store(tmp_path / "absent.db", create=False)


# -- ownership / exactly-once -------------------------------------------------------------

def test_claim_ownership_transitions(tmp_path):
    st, _ = _store(tmp_path)
    (h,) = st.ensure([("k", {"a": 1}, 0)])
    assert st.ensure([("k", {"a": 1}, 0)]) == [h]
    a, b = owner_id(), owner_id()
    assert st.claim(h, a) == "claimed"
    assert st.claim(h, b) == "busy"  # a is this live process
    st.write_points(h, a, [("m", 1, 1.0), ("m", 2, 2.0)])
    st.write_points(h, a, [("m", 2, 2.5)])  # a repeated step replaces
    assert st.curves(h) == [(h, "m", 1, 1.0), (h, "m", 2, 2.5)]
    with pytest.raises(LeaseLost):
        st.finish(h, b, {"x": 1})
    st.finish(h, a, {"x": 1})
    assert st.claim(h, b) == "done"
    r = st.run(h)
    assert r["status"] == "done" and r["attempts"] == 1 and r["summary"] == {"x": 1}


def test_dead_or_expired_owner_is_taken_over_and_locked_out(tmp_path):
    st, _ = _store(tmp_path)
    h1, h2, h3 = st.ensure([("k", {"a": i}, 0) for i in range(3)])
    import socket
    dead = f"{socket.gethostname()}:{_dead_pid()}:0.000:deadbeef"
    with st.transaction() as c:
        c.execute("UPDATE runs SET status='running', owner=?, lease_until=? WHERE hash=?",
                  (dead, time.time() + 1e6, h1))
        c.execute("UPDATE runs SET status='running', owner='elsewhere:1:1.0:x', lease_until=? "
                  "WHERE hash=?", (time.time() + 1e6, h2))
        c.execute("UPDATE runs SET status='running', owner='elsewhere:1:1.0:x', lease_until=? "
                  "WHERE hash=?", (time.time() - 1, h3))
    me = owner_id()
    assert st.claim(h1, me) == "claimed"          # owner process is gone
    assert st.claim(h2, me) == "busy"             # other host, lease still valid
    assert st.claim(h3, me) == "claimed"          # other host, lease expired
    with pytest.raises(LeaseLost):                # the old owner can no longer write
        st.write_points(h3, "elsewhere:1:1.0:x", [("m", 1, 0.0)])
    assert st.run(h1)["attempts"] == 1 and st.curves(h3) == []


def test_failed_run_recorded_and_retried_only_on_request(tmp_path):
    st, p = _store(tmp_path)
    marker = tmp_path / "fail"
    marker.write_text("")
    cfg = WALK.validate({"steps": 5, "fail_marker": str(marker)})
    (h,) = st.ensure([(WALK_KIND, cfg, 0)])
    out = execute_run(p, h)
    assert out["status"] == "failed" and "marker" in out["error"]
    r = st.run(h)
    assert r["status"] == "failed" and "RuntimeError: walk failed at step 1" in r["error"]
    assert execute_run(p, h)["status"] == "skipped" and st.run(h)["attempts"] == 1
    marker.unlink()
    assert execute_run(p, h, retry_failed=True)["status"] == "done"
    r = st.run(h)
    assert r["status"] == "done" and r["attempts"] == 2 and r["error"] is None


# -- interruption and resume --------------------------------------------------------------

def test_interrupted_run_keeps_points_and_resumes_identically(tmp_path, monkeypatch):
    st, p = _store(tmp_path)
    ref, pref = _store(tmp_path, "ref.db")
    cfg = WALK.validate({"steps": 10, "checkpoint_every": 3})
    (h,) = ref.ensure([(WALK_KIND, cfg, 7)])
    execute_run(pref, h)

    st.ensure([(WALK_KIND, cfg, 7)])
    real_log = Recorder.log

    def log(self, step, **values):
        real_log(self, step, **values)
        if step == 7:
            raise KeyboardInterrupt

    monkeypatch.setattr(Recorder, "log", log)
    with pytest.raises(KeyboardInterrupt):
        execute_run(p, h)
    r = st.run(h)
    assert r["status"] == "queued" and r["checkpoint_step"] == 6 and st.integrity_ok()
    assert [s for _, m, s, _ in st.curves(h, "x")] == list(range(1, 8))  # nothing lost
    monkeypatch.setattr(Recorder, "log", real_log)
    assert execute_run(p, h)["status"] == "done"
    r, rr = st.run(h), ref.run(h)
    assert r["attempts"] == 2 and r["summary"] == rr["summary"]
    assert st.curves(h) == ref.curves(h)


def test_target_energy_resume_is_bit_identical(tmp_path, monkeypatch):
    kind = get_kind("target-energy")
    cfg = kind.validate({"d": 6, "L": 3, "n": 3000, "chunk": 1000})
    ref, pref = _store(tmp_path, "ref.db")
    (h,) = ref.ensure([("target-energy", cfg, 3)])
    execute_run(pref, h)

    st, p = _store(tmp_path)
    st.ensure([("target-energy", cfg, 3)])
    real_cp = Recorder.checkpoint
    calls = {"n": 0}

    def cp(self, step, state):
        real_cp(self, step, state)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(Recorder, "checkpoint", cp)
    with pytest.raises(KeyboardInterrupt):
        execute_run(p, h)
    assert st.run(h)["checkpoint_step"] == 2000
    monkeypatch.setattr(Recorder, "checkpoint", real_cp)
    execute_run(p, h)
    assert st.run(h)["summary"] == ref.run(h)["summary"]
    assert st.curves(h) == ref.curves(h)


def test_target_energy_measures_the_normalised_mean(tmp_path):
    """Layer 2 is normalised exactly (E||S*_2||^2 = k, target.py), so the MC mean of the
    layer-2 term must cover alpha_2 k = k; a wrong reference would be rejected."""
    st, p = _store(tmp_path)
    cfg = get_kind("target-energy").validate({"d": 10, "L": 3, "k": 3, "n": 40000, "chunk": 20000})
    (h,) = st.ensure([("target-energy", cfg, 1)])
    execute_run(p, h)
    s = st.run(h)["summary"]
    assert s["reference_mean_2"] == 3.0
    assert abs(s["mean_2"] - 3.0) < 5 * s["stderr_mean_2"]
    assert abs(s["mean_2"] - 3.3) > 5 * s["stderr_mean_2"]
    assert s["second_moment_2"] > s["mean_2"] ** 2  # Jensen, strict for a non-constant term


def test_ctrl_c_leaves_store_consistent_and_resume_finishes(tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text(f'[sweep]\nkind = "{WALK_KIND}"\nseeds = 3\n[base]\n'
                    f'step_seconds = 0.05\ncheckpoint_every = 5\n[grid]\nsteps = [24]\n')
    db = tmp_path / "r.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "theorycheck", "sweep", str(grid), "--store", str(db),
           "--serial", "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 30
    while time.time() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with Store(db, create=False) as st:
                    if st.status_counts()["done"] >= 1 and st.curves() and \
                            st.status_counts()["running"] == 1:
                        break
            except (StoreError, sqlite3.OperationalError):
                pass
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted; results written so far are kept" in err
    with Store(db, create=False) as st:
        assert st.integrity_ok()
        counts = st.status_counts()
        assert counts["running"] == 0 and counts["done"] >= 1 and counts["queued"] >= 1
        interrupted = [r for r in st.runs(status="queued") if r["checkpoint_step"]]
        kept = {r["hash"]: r["finished"] for r in st.runs(status="done")}
    res = subprocess.run(cmd + ["--resume"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    with Store(db, create=False) as st:
        assert st.status_counts()["done"] == 3
        for h, fin in kept.items():
            assert st.run(h)["finished"] == fin and st.run(h)["attempts"] == 1
        for r in interrupted:
            assert st.run(r["hash"])["attempts"] == 2
            assert len(st.curves(r["hash"], "x")) == 24


def test_run_once_finds_instead_of_recomputing(tmp_path):
    from theorycheck.runs.kinds import run_once
    db = tmp_path / "once.db"
    first = run_once(WALK_KIND, {"steps": 4}, 3, db)
    again = run_once(WALK_KIND, {"steps": 4, "checkpoint_every": 3}, 3, db)  # same run
    assert first["status"] == "done" and again["hash"] == first["hash"]
    assert again["attempts"] == 1 and again["finished"] == first["finished"]
    assert again["summary"] == first["summary"]


# -- export ------------------------------------------------------------------------------

def test_runs_table_and_csv_export(tmp_path):
    st, p = _store(tmp_path)
    hs = st.ensure([(WALK_KIND, WALK.validate({"steps": 3, "label": i}), i) for i in range(3)])
    for h in hs:
        execute_run(p, h)
    cols, rows = runs_table(st.runs())
    assert cols[:4] == ["hash", "kind", "seed", "status"]
    assert "config.label" in cols and "summary.x" in cols
    out = export_table(cols, rows, tmp_path / "runs.csv")
    with open(out) as fh:
        back = list(csv.DictReader(fh))
    assert sorted(r["hash"] for r in back) == sorted(hs)
    assert {r["status"] for r in back} == {"done"}
    xs = {r["hash"]: float(r["summary.x"]) for r in back}
    for h in hs:
        assert math.isclose(xs[h], st.run(h)["summary"]["x"], rel_tol=0, abs_tol=0)
    with pytest.raises(TheorycheckError, match="unknown suffix '.xlsx'"):
        export_table(cols, rows, tmp_path / "runs.xlsx")


def test_parquet_export(tmp_path):
    st, p = _store(tmp_path)
    hs = st.ensure([(WALK_KIND, WALK.validate({"steps": 2}), 0)])
    execute_run(p, hs[0])
    cols, rows = runs_table(st.runs())
    try:
        import pyarrow.parquet as pq
    except ImportError:
        with pytest.raises(TheorycheckError, match="Parquet export needs pyarrow"):
            export_table(cols, rows, tmp_path / "runs.parquet")
        pytest.skip("pyarrow is not installed: Parquet round trip not checked (CSV is); "
                    "pip install pyarrow to run it")
    out = export_table(cols, rows, tmp_path / "runs.parquet")
    t = pq.read_table(out).to_pydict()
    assert t["hash"] == hs and t["summary.x"][0] == st.run(hs[0])["summary"]["x"]


def test_results_cli_lists_filters_exports_and_rejects_non_store(tmp_path, capsys):
    from theorycheck.commands.main import main
    st, p = _store(tmp_path)
    hs = st.ensure([(WALK_KIND, WALK.validate({"steps": 2, "label": i}), 0) for i in range(2)])
    for h in hs:
        execute_run(p, h)
    assert main(["results", "--store", p, "--where", "label=1", "--export",
                 str(tmp_path / "one.csv")]) == 0
    with open(tmp_path / "one.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1 and rows[0]["config.label"] == "1"
    assert main(["results", "--store", p, "--curves", "--export", str(tmp_path / "c.csv")]) == 0
    with open(tmp_path / "c.csv") as fh:
        assert len(list(csv.DictReader(fh))) == 2 * 2 * 2  # runs x steps x metrics
    capsys.readouterr()
    assert main(["results", "--store", p, "--show", hs[0][:10]]) == 0
    shown = capsys.readouterr().out
    assert hs[0] in shown and '"curve_metrics"' in shown and '"x2"' in shown
    assert main(["results", "--store", p, "--status", "bogus"]) == 2
    assert "--status='bogus' is invalid" in capsys.readouterr().err
    bogus = tmp_path / "bogus.db"
    bogus.write_text("hello")
    assert main(["results", "--store", str(bogus)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is not a theorycheck store" in err


def test_finished_runs_reads_done_runs_of_one_kind_and_names_the_grid_when_missing(tmp_path):
    from theorycheck.errors import SpecError
    from theorycheck.runs.kinds import run_once
    from theorycheck.runs.store import Store, finished_runs

    db = tmp_path / "r.sqlite"
    with pytest.raises(SpecError, match="run 'theorycheck sweep g.toml --store"):
        finished_runs(db, "tests.sweep_kinds:WALK", grid="g.toml")
    run_once("tests.sweep_kinds:WALK", {"steps": 2}, 0, db)
    with Store(db) as st:
        st.ensure([("tests.sweep_kinds:WALK", {"steps": 3}, 1)])   # queued, never run
    rows = finished_runs(db, "tests.sweep_kinds:WALK", grid="g.toml")
    assert [(r["seed"], r["status"]) for r in rows] == [(0, "done")]
    assert finished_runs(db, "kernel-fit", grid="g.toml") == []
