"""Sweeps on a real dask LocalCluster of 2 worker processes on loopback: a worker
killed with SIGKILL mid-sweep, the driver killed mid-sweep, failures and retries, results
identical to a serial run, and the bad inputs of the issue."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="dask[distributed] is in the test extra; "
                                          "pip install 'dask[distributed]' to run sweep tests")

from theorycheck.commands.main import main  # noqa: E402
from theorycheck.runs.store import Store  # noqa: E402
from theorycheck.runs.sweep import RunSpec, connect, expand_grid, load_grid, run_sweep  # noqa: E402
from tests.sweep_kinds import WALK  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WALK_KIND = "tests.sweep_kinds:WALK"


@pytest.fixture(scope="module")
def cluster():
    """The sweep engine's own LocalCluster: 2 single-threaded worker processes, loopback."""
    client, cluster = connect(None, workers=2, threads=1)
    try:
        yield client, cluster
    finally:
        client.close()
        cluster.close()


def _walks(n, steps, step_seconds, **extra):
    cfg = WALK.validate({"steps": steps, "step_seconds": step_seconds, "checkpoint_every": 3,
                         **extra})
    return [RunSpec(WALK_KIND, cfg, seed) for seed in range(n)]


def _reference(tmp_path, n, steps):
    """Serial, in-process results of the same walks (no sleeping; the walk does not depend
    on its duration), by seed."""
    specs = _walks(n, steps, 0.0)
    db = tmp_path / "serial.db"
    run_sweep(specs, db, serial=True)
    with Store(db) as st:
        return {r["seed"]: (r["summary"], [c[1:] for c in st.curves(r["hash"])]) for r in st.runs()}


def _assert_matches_reference(st: Store, ref: dict, steps: int):
    runs = st.runs()
    assert len(runs) == len(ref) == len({r["hash"] for r in runs})
    for r in runs:
        assert r["status"] == "done", r
        curve = [c[1:] for c in st.curves(r["hash"])]
        for metric in ("x", "x2"):
            assert [s for m, s, _ in curve if m == metric] == list(range(1, steps + 1))
        summary, ref_curve = ref[r["seed"]]
        assert r["summary"] == summary and curve == ref_curve


def _pinned_threads():
    from threadpoolctl import threadpool_info
    return sorted({i["num_threads"] for i in threadpool_info()}), os.environ.get("NUMBA_NUM_THREADS")


def test_kill_minus_9_worker_mid_sweep_loses_and_duplicates_nothing(cluster, tmp_path):
    client, clus = cluster
    assert clus.scheduler_address.startswith("tcp://127.0.0.1:")
    n, steps = 6, 12
    specs = _walks(n, steps, 0.08)
    db = tmp_path / "sweep.db"
    out = {}
    t = threading.Thread(target=lambda: out.update(res=run_sweep(specs, db, client=client)))
    t.start()
    victim = None
    deadline = time.time() + 30
    with Store(db) as st:
        while victim is None and time.time() < deadline:
            for r in st.runs(status="running"):
                if (r["checkpoint_step"] or 0) >= 3:
                    victim = r
                    break
            time.sleep(0.02)
        assert victim is not None, "no run reached a checkpoint while running"
        pid = int(victim["owner"].split(":")[-3])
        assert pid in client.run(os.getpid).values()
        os.kill(pid, signal.SIGKILL)
        t.join(90)
        assert not t.is_alive()
        res = out["res"]
        assert res.counts == {"queued": 0, "running": 0, "done": n, "failed": 0}
        assert st.integrity_ok()
        killed = st.run(victim["hash"])
        assert killed["attempts"] == 2  # taken over once, resumed from its checkpoint
        assert all(r["attempts"] == 1 for r in st.runs() if r["hash"] != victim["hash"])
        _assert_matches_reference(st, _reference(tmp_path, n, steps), steps)
    for threads, numba in client.run(_pinned_threads).values():
        assert threads in ([1], []) and numba == "1"


def test_driver_killed_mid_sweep_rerun_skips_finished_runs(cluster, tmp_path):
    client, _ = cluster
    n, steps = 6, 10
    grid = tmp_path / "grid.toml"
    grid.write_text(f'[sweep]\nkind = "{WALK_KIND}"\nseeds = {n}\n[base]\nstep_seconds = 0.1\n'
                    f'checkpoint_every = 3\n[grid]\nsteps = [{steps}]\n')
    db = tmp_path / "driver.db"
    proc = subprocess.Popen([sys.executable, "-m", "theorycheck", "sweep", str(grid), "--store",
                             str(db), "-j", "2", "--no-progress"], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    try:
        while time.time() < deadline and proc.poll() is None:
            if db.exists():
                with Store(db) as st:
                    c = st.status_counts()
                if c["done"] >= 2 and c["running"] >= 1:
                    break
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep finished before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its LocalCluster's workers
        proc.wait()
    for _ in range(100):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    with Store(db) as st:
        assert st.integrity_ok()
        before = {r["hash"]: r for r in st.runs()}
    finished = {h: r["finished"] for h, r in before.items() if r["status"] == "done"}
    interrupted = [h for h, r in before.items() if r["status"] == "running"]
    assert len(finished) >= 2 and interrupted
    res = run_sweep(load_grid(grid).runs, db, client=client)
    assert res.skipped == len(finished) and res.submitted == n - len(finished)
    with Store(db) as st:
        for h, fin in finished.items():
            r = st.run(h)
            assert r["finished"] == fin and r["attempts"] == 1
        for h in interrupted:
            assert st.run(h)["attempts"] == 2
        _assert_matches_reference(st, _reference(tmp_path, n, steps), steps)


def test_failed_runs_recorded_and_retried_on_request(cluster, tmp_path):
    client, _ = cluster
    marker = tmp_path / "fail-now"
    marker.write_text("")
    specs = _walks(2, 4, 0.0, fail_marker=str(marker))
    db = tmp_path / "fail.db"
    res = run_sweep(specs, db, client=client)
    assert res.counts["failed"] == 2
    with Store(db) as st:
        assert all("RuntimeError: walk failed at step 1" in r["error"] for r in st.runs())
    res = run_sweep(specs, db, client=client)
    assert res.submitted == 0 and res.counts["failed"] == 2
    marker.unlink()
    res = run_sweep(specs, db, client=client, retry_failed=True)
    assert res.submitted == 2 and res.counts["done"] == 2
    with Store(db) as st:
        assert all(r["attempts"] == 2 and r["error"] is None for r in st.runs())


def test_sweep_cli_end_to_end_and_rerun_is_free(tmp_path, capsys):
    grid = tmp_path / "g.toml"
    grid.write_text('[sweep]\nkind = "target-energy"\nseeds = [0, 1]\n[base]\nn = 512\n'
                    'chunk = 256\n[grid]\nd = [4, 6]\n[[runs]]\nkind = "claim"\n'
                    'claim = "gaussian.moments.double_factorial"\nseed = 0\n')
    db = tmp_path / "cli.db"
    assert main(["sweep", str(grid), "--store", str(db), "--serial", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "sweep summary (5 runs" in out and "5 submitted, 0 already recorded" in out
    assert main(["sweep", str(grid), "--store", str(db), "--serial", "--no-progress"]) == 0
    assert "0 submitted, 5 already recorded" in capsys.readouterr().out
    with Store(db) as st:
        claim = st.runs(kind="claim")[0]
        assert claim["summary"]["verdict"] == "holds" and claim["summary"]["instances"] > 0


def test_sweep_cli_on_an_existing_scheduler(cluster, tmp_path, capsys):
    client, clus = cluster
    grid = tmp_path / "g.toml"
    grid.write_text(f'[sweep]\nkind = "{WALK_KIND}"\nseeds = 4\n[grid]\nsteps = [5]\n')
    db = tmp_path / "remote.db"
    assert main(["sweep", str(grid), "--store", str(db), "--scheduler", clus.scheduler_address,
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "4 submitted, 0 already recorded; 2 worker(s)" in out
    with Store(db) as st:
        owners = {r["owner"].split(":")[1] for r in st.runs(status="done")}
        assert st.status_counts()["done"] == 4
    assert owners <= {str(p) for p in client.run(os.getpid).values()}


# -- grid expansion and bad input ----------------------------------------------------------

def test_grid_expansion_product_seeds_and_dedup():
    g = expand_grid({"sweep": {"kind": "target-energy", "seeds": 2},
                     "base": {"n": 100}, "grid": {"d": [4, 8], "L": [2, 3, 4]},
                     "runs": [{"d": 4, "L": 2, "n": 100, "seed": 0}, {"d": 5, "seeds": [9]}]})
    assert len(g.runs) == 2 * 3 * 2 + 1 and g.duplicates == 1
    assert {(r.config["d"], r.config["L"], r.seed) for r in g.runs[:12]} == {
        (d, L, s) for d in (4, 8) for L in (2, 3, 4) for s in (0, 1)}
    assert g.runs[-1].config["d"] == 5 and g.runs[-1].seed == 9 and g.runs[-1].config["n"] == 100


def _cli_error(tmp_path, capsys, text, *extra):
    grid = tmp_path / "bad.toml"
    grid.write_text(text)
    code = main(["sweep", str(grid), "--store", str(tmp_path / "bad.db"), "--no-progress", *extra])
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("theorycheck sweep: error: ")]
    assert code == 2 and len(errors) == 1 and errors[0] == lines[-1], lines
    return errors[0]


def test_unknown_grid_key_names_it_and_lists_valid_keys(tmp_path, capsys):
    err = _cli_error(tmp_path, capsys, '[sweep]\nkind = "target-energy"\n[grid]\ndd = [1, 2]\n')
    assert "grid key 'dd' is unknown for run kind 'target-energy'; valid keys: L (" in err
    err = _cli_error(tmp_path, capsys, '[sweep]\nkind = "target-energy"\n[gird]\nd = [1]\n')
    assert "top-level key 'gird' is unknown; valid keys: [sweep], [base], [grid], [runs]" in err
    err = _cli_error(tmp_path, capsys, '[sweep]\nkind = "target-energy"\nseed = 1\n[grid]\nd = [4]\n')
    assert "[sweep] key 'seed' is unknown; valid keys: kind, seeds, imports, store" in err
    err = _cli_error(tmp_path, capsys, '[sweep]\nkind = "nope"\n[grid]\nd = [4]\n')
    assert "kind='nope' is unknown" in err


def test_empty_grid_is_an_error(tmp_path, capsys):
    err = _cli_error(tmp_path, capsys, '[sweep]\nkind = "target-energy"\n')
    assert "defines no runs (the grid is empty)" in err
    err = _cli_error(tmp_path, capsys, '[sweep]\nkind = "target-energy"\n[grid]\nd = []\n')
    assert "grid axis 'd' is empty" in err
    err = _cli_error(tmp_path, capsys, '[sweep]\nkind = "target-energy"\nseeds = []\n[grid]\nd = [4]\n')
    assert "seeds=[] is empty" in err


def test_unreachable_scheduler_fails_clearly_within_10_s(tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    err = _cli_error(tmp_path, capsys, '[sweep]\nkind = "target-energy"\n[grid]\nd = [4]\n',
                     "--scheduler", f"tcp://127.0.0.1:{port}")
    assert time.perf_counter() - t0 < 10
    assert f"scheduler tcp://127.0.0.1:{port} did not answer within 5 s" in err
    err = _cli_error(tmp_path, capsys, '[sweep]\nkind = "target-energy"\n[grid]\nd = [4]\n',
                     "--scheduler", "localhost:8786")
    assert "--scheduler 'localhost:8786' is invalid; give an address such as tcp://" in err


def test_resume_without_a_store_is_refused(tmp_path, capsys):
    err = _cli_error(tmp_path, capsys, '[sweep]\nkind = "target-energy"\n[grid]\nd = [4]\n',
                     "--resume")
    assert "--resume: no store at" in err and not (tmp_path / "bad.db").exists()


def test_store_that_is_not_a_theorycheck_store(tmp_path, capsys):
    (tmp_path / "bad.db").write_text("id,value\n1,2\n")
    err = _cli_error(tmp_path, capsys, '[sweep]\nkind = "target-energy"\n[grid]\nd = [4]\n')
    assert "bad.db' is not a theorycheck store (not an SQLite file)" in err
    assert (tmp_path / "bad.db").read_text() == "id,value\n1,2\n"
