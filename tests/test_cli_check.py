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


MIXED = ("import numpy as np\nfrom hypothesis import strategies as st\nfrom theorycheck import lemma\n"
         "ok = lemma(id='m.ok', instances=st.integers(0, 9), lhs=lambda n: n, rhs=lambda n: 9)\n"
         "@lemma(id='m.scalar', instances=st.integers(0, 9))\n"
         "def scalar(n):\n    return 1.0\n"
         "@lemma(id='m.boom', instances=st.integers(0, 9))\n"
         "def boom(n):\n    raise ZeroDivisionError('the reason is here')\n"
         "@lemma(id='m.warns', instances=st.integers(1, 9), relation='>=')\n"
         "def warns(n):\n    return float(np.log(np.float64(0.0)) < 0), 1.0\n")


def test_malformed_lemma_is_an_error_row_and_the_others_run(tmp_path, capsys):
    import warnings
    (tmp_path / "mixed.py").write_text(MIXED)
    out = tmp_path / "rep"
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        assert main(["check", str(tmp_path), "--out", str(out)]) == 1
    assert not [w for w in leaked if issubclass(w.category, RuntimeWarning)]
    text = capsys.readouterr().out
    rows = {c["id"]: c for c in json.loads((out / "report.json").read_text())["claims"]}
    assert {i: r["verdict"] for i, r in rows.items()} == {
        "m.ok": "holds", "m.scalar": "error", "m.boom": "error", "m.warns": "holds"}
    # the reason of an error is on the console, one line; no ratio for an all-error claim
    assert "ZeroDivisionError: the reason is here" in text
    assert "return a tuple (lhs, rhs)" in text
    boom_row = next(line for line in text.splitlines() if "m.boom" in line and "│" in line)
    assert "–" in boom_row and "inf" not in boom_row
    assert rows["m.boom"]["worst_ratio"] is None
    assert "divide by zero" in rows["m.warns"]["warnings"][0]["message"]
    assert "RuntimeWarning" not in text


@pytest.mark.parametrize("value", ["0", "-3", "abc", "2.5"])
def test_max_examples_is_validated(value, capsys):
    assert main(["check", "-c", "gaussian.moments.*", "--max-examples", value]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--max-examples=" in err and "is invalid" in err


def test_max_examples_sets_the_effort(tmp_path):
    (tmp_path / "bad.py").write_text(BAD)
    out = tmp_path / "rep"
    main(["check", str(tmp_path), "--out", str(out), "--max-examples", "1", "--no-example-db"])
    row = json.loads((out / "report.json").read_text())["claims"][0]
    assert row["instances"] == 1 and row["verdict"] == "holds" and row["max_examples"] == 1


def test_failing_examples_are_replayed_from_the_out_folder(tmp_path):
    (tmp_path / "bad.py").write_text(BAD)
    out = tmp_path / "rep"
    assert main(["check", str(tmp_path), "--out", str(out)]) == 1
    assert (out / ".hypothesis").is_dir()
    assert main(["check", str(tmp_path), "--out", str(out), "--max-examples", "1"]) == 1
    row = json.loads((out / "report.json").read_text())["claims"][0]
    assert row["verdict"] == "fails" and row["counterexample"] == "6"


def test_user_folder_modules_import_each_other_relatively(tmp_path):
    from theorycheck.claims.discovery import discover

    folder = tmp_path / "myproofs"
    (folder / "sub").mkdir(parents=True)
    (folder / "helpers.py").write_text("BOUND = 2.0\n")
    (folder / "sub" / "__init__.py").write_text("")
    (folder / "sub" / "deep.py").write_text("FACTOR = 0.5\n")
    (folder / "mine.py").write_text(
        "from theorycheck import Measurement, claim, grid\n"
        "from .helpers import BOUND\n"
        "from .sub.deep import FACTOR\n\n"
        "@claim(id='mine.relative', statement='x/2 <= 2', paper='-', tag='M', ref='-',\n"
        "       instances=grid(x=[1.0, 4.0]))\n"
        "def relative(inst):\n"
        "    return Measurement(inst['x'] * FACTOR, BOUND)\n")
    (found,) = [c for c in discover(folder) if c.id == "mine.relative"]
    assert found.check().verdict == "holds"
