"""``theorycheck target``: its output, and one-line errors (exit 2) for nonsense specs."""

from __future__ import annotations

import pytest

from theorycheck.commands.main import main
from theorycheck.errors import SpecError
from theorycheck.papers.bfc.target import target_spec


def test_target_d4_L3_shows_degree_8_and_energy_table(capsys):
    assert main(["target", "--d", "4", "--L", "3"]) == 0
    out = capsys.readouterr().out
    assert "all degrees as expected" in out
    assert "Energy by Hermite degree" in out and "(Gaussian moments)" in out
    deg_rows = [line for line in out.splitlines() if line.strip().startswith("│    G*")]
    assert deg_rows and "8" in deg_rows[0].split("│")[6] and "8" in deg_rows[0].split("│")[7]
    assert "G*(x) =" in out and "more terms" in out


def test_target_alpha_sweep(capsys):
    assert main(["target", "--d", "3", "--L", "3", "--no-expand", "--sweep", "1,0.25"]) == 0
    out = capsys.readouterr().out
    assert "alpha_3 sweep" in out and out.count("exactly") >= 2
    assert main(["target", "--d", "12", "--L", "3", "--sweep", "1"]) == 2
    assert "--sweep needs exact energies" in capsys.readouterr().err


def test_target_latex_and_wide_input(capsys):
    assert main(["target", "--d", "2", "--L", "2", "--latex"]) == 0
    out = capsys.readouterr().out
    assert r"\begin{aligned}" in out and r"\begin{array}" in out and "G^*(x) =" in out
    assert main(["target", "--d", "10", "--L", "2", "--samples", "2000", "--no-expand"]) == 0
    out = capsys.readouterr().out
    assert "random line" in out and "Monte Carlo" in out and "G*(x) =" not in out


@pytest.mark.parametrize("argv, needle", [
    (["--L", "1"], "--L=1"),
    (["--d", "0"], "--d=0"),
    (["--k-target", "0"], "--k-target=0"),
    (["--k-target", "2.5"], "--k-target='2.5'"),
    (["--d", "2.5"], "--d='2.5'"),
    (["--alphas", "1,-1"], "--alphas='-1'"),
    (["--alphas", "1"], "alphas=[1.0]"),
    (["--delta", "0"], "--delta='0'"),
    (["--connections", "2:0,1;3:1"], "must contain 2"),
    (["--connections", "2:0,1;3:2,3"], "not below 3"),
    (["--connections", "ring"], "connections='ring'"),
])
def test_nonsense_specs_give_one_line(capsys, argv, needle):
    assert main(["target", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_unknown_claim_id_is_one_line(capsys):
    assert main(["check", "-c", "bfc.target.nonsense"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bfc.target.nonsense" in err


def test_api_raises_value_error_subclass():
    with pytest.raises(ValueError):
        target_spec(4, 3, connections={2: [0, 1], 3: [1]})
    with pytest.raises(SpecError, match="alphas"):
        target_spec(4, 3, alphas=[1.0, 0.0])
