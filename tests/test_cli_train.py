"""`theorycheck train` / `plot`: store round trip, one-line errors, Ctrl-C and --resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from theorycheck.commands.main import main
from theorycheck.runs.store import Store

FAST = ["--d", "8", "--steps", "40,60", "--batch", "64", "--set", "n_test=500", "--set", "eval_points=5"]


def test_train_all_modes_then_found_not_recomputed_and_plot(tmp_path, capsys):
    store = str(tmp_path / "r.sqlite")
    assert main(["train", "--mode", "all", *FAST, "--store", store, "--plot", str(tmp_path / "f")]) == 0
    out = capsys.readouterr().out
    assert "e2e" in out and "layerwise" in out and "two-layer" in out
    assert (tmp_path / "f" / "bfc_loss.png").stat().st_size > 1000
    assert (tmp_path / "f" / "bfc_feature_error.png").stat().st_size > 1000
    with Store(store) as st:
        runs = st.runs(kind="bfc-train")
    assert len(runs) == 3 and all(r["status"] == "done" for r in runs)
    assert main(["train", "--mode", "e2e", *FAST, "--store", store]) == 0
    assert "found in" in capsys.readouterr().out
    h = [r for r in runs if r["config"]["mode"] == "e2e"][0]["hash"]
    assert main(["plot", h[:10], "--store", store, "--out", str(tmp_path / "g")]) == 0
    assert (tmp_path / "g" / "bfc_loss.png").exists()


def test_train_all_then_results_lists_the_three_runs_in_the_default_store(tmp_path, monkeypatch, capsys):
    """`theorycheck train --mode all && theorycheck results`, both with their defaults."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("THEORYCHECK_STORE", raising=False)
    assert main(["train", "--mode", "all", *FAST]) == 0
    capsys.readouterr()
    assert main(["results"]) == 0
    out = capsys.readouterr().out
    with Store(tmp_path / "theorycheck-results.sqlite") as st:
        runs = st.runs(kind="bfc-train")
    assert sorted(r["config"]["mode"] for r in runs) == ["e2e", "layerwise", "two-layer"]
    assert all(r["hash"][:8] in out for r in runs)
    assert out.count("bfc-train") >= 3


def test_toml_config(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text('mode = "layerwise"\nd = 8\nsteps = [40, 60]\nbatch = 64\nn_test = 500\n')
    assert main(["train", "--config", str(cfg), "--store", str(tmp_path / "r.sqlite")]) == 0
    assert "layerwise" in capsys.readouterr().out


@pytest.mark.parametrize("argv, needle", [
    (["--mode", "sideways"], "--mode 'sideways' is invalid"),
    (["--lr", "-0.1"], "lr[0]=-0.1 is invalid"),
    (["--steps", "0,10"], "steps[0]=0 is invalid"),
    (["--set", "learning_rate=3"], "unknown training setting 'learning_rate'"),
    (["--set", "batch=many"], "batch='many' is invalid"),
    (["--set", "nonsense"], "write KEY=VALUE"),
])
def test_bad_input_is_one_line(tmp_path, argv, needle, capsys):
    assert main(["train", *argv, "--store", str(tmp_path / "r.sqlite")]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_toml_unknown_key_and_wrong_type(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("d = 8\nwidth = 3\n")
    assert main(["train", "--config", str(bad), "--store", str(tmp_path / "r.sqlite")]) == 2
    assert "unknown training setting 'width'" in capsys.readouterr().err
    bad.write_text('d = "eight"\n')
    assert main(["train", "--config", str(bad), "--store", str(tmp_path / "r.sqlite")]) == 2
    assert "d='eight' is invalid" in capsys.readouterr().err
    bad.write_text("d = [\n")
    assert main(["train", "--config", str(bad), "--store", str(tmp_path / "r.sqlite")]) == 2
    assert "is not valid TOML" in capsys.readouterr().err


def test_ctrl_c_keeps_store_consistent_and_resume_matches_uninterrupted(tmp_path):
    # long enough that Ctrl-C lands mid-run (the trainer takes tens of microseconds per step
    # here, so a short run may finish between two polls and meet the signal at exit)
    args = ["--d", "8", "--steps", "30000,40000", "--batch", "64", "--set", "n_test=500",
            "--set", "eval_points=40"]
    store = str(tmp_path / "r.sqlite")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "theorycheck", "train", *args, "--store", store],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.1)
        if os.path.exists(store):
            with Store(store) as st:
                rows = st.runs(kind="bfc-train")
            if rows and (rows[0].get("checkpoint_step") or 0) >= 50:
                break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    with Store(store) as st:
        assert st.integrity_ok()
        (row,) = st.runs(kind="bfc-train")
        assert row["status"] == "queued" and row["checkpoint_step"] >= 50
        kept = len(st.curves(row["hash"]))
    assert kept > 0
    refused = subprocess.run([sys.executable, "-m", "theorycheck", "train", *args, "--store", store],
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "pass --resume" in refused.stderr
    assert main(["train", *args, "--store", store, "--resume"]) == 0
    other = str(tmp_path / "fresh.sqlite")
    assert main(["train", *args, "--store", other]) == 0
    with Store(store) as a, Store(other) as b:
        ra, rb = a.runs(kind="bfc-train")[0], b.runs(kind="bfc-train")[0]
        assert ra["hash"] == rb["hash"]
        assert ra["summary"]["final_test_loss"] == rb["summary"]["final_test_loss"]
        assert a.curves(ra["hash"]) == b.curves(rb["hash"])
