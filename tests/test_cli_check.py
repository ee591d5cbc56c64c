"""`theorycheck check`: table, reports, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from theorycheck.commands.main import main

GOOD = ("from theorycheck import claim, Measurement\n"
        "@claim(id='user.good', statement='1 <= 2', paper='me', tag='M', ref='-', instances=[0, 1])\n"
        "def good(i):\n    return Measurement(1, 2)\n")
BAD = ("from theorycheck import claim, Measurement\n"
       "from hypothesis import strategies as st\n"
       "@claim(id='user.bad', statement='n <= 5', paper='me', tag='M', ref='-',\n"
       "       instances=st.integers(0, 100), max_examples=50)\n"
       "def bad(n):\n    return Measurement(n, 5)\n")


def test_user_folder_holds_writes_reports(tmp_path, capsys):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "good.py").write_text(GOOD)
    out = tmp_path / "rep"
    assert main(["check", str(tmp_path / "p"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "user.good" in text and "holds" in text
    data = json.loads((out / "report.json").read_text())
    assert data["summary"]["holds"] == 1
    assert data["claims"][0]["instances"] == 2
    assert "| `user.good` |" in (out / "report.md").read_text()


def test_failing_claim_exits_1_with_counterexample(tmp_path, capsys):
    (tmp_path / "bad.py").write_text(BAD)
    out = tmp_path / "rep"
    assert main(["check", str(tmp_path), "--out", str(out)]) == 1
    text = capsys.readouterr().out
    assert "fails" in text and "instance = 6" in text
    data = json.loads((out / "report.json").read_text())
    assert data["claims"][0]["counterexample"] == "6"


@pytest.mark.parametrize("argv, needle", [
    (["check", "-c", "no.such.claim"], "'no.such.claim' matches no claim"),
    (["check", "--seed", "abc"], "--seed='abc' is invalid"),
    (["check", "/no/such/folder"], "does not exist"),
])
def test_bad_input_is_one_line(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_argparse_errors_are_one_line():
    proc = subprocess.run([sys.executable, "-m", "theorycheck", "check", "--scale", "huge"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "invalid choice: 'huge'" in proc.stderr


def test_list_and_selection(capsys):
    assert main(["check", "--list", "-c", "gaussian.*"]) == 0
    out = capsys.readouterr().out
    assert "gaussian.mc.agrees_with_exact" in out


def test_builtin_selection_runs(tmp_path, capsys):
    assert main(["check", "-c", "gaussian.moments.*", "--out", str(tmp_path)]) == 0
    assert "gaussian.moments.double_factorial" in capsys.readouterr().out
