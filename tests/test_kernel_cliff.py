"""The L = 3 polynomial kernel's cliff: the interpolation size, the brackets of N_required
where it is not measured, and the bracketed exponent (docs/kernels.md, "The exponent over
d = 6, 8, 10")."""

import json
import math

import numpy as np
import pytest

from theorycheck.commands.main import main
from theorycheck.papers.bfc import kernel_scaling as ks
from theorycheck.papers.bfc.span_lemma import every_kernel_bound


def test_interpolation_size_is_the_feature_count_over_the_training_share():
    assert ks.interpolation_n(6, 3) == math.comb(14, 8) / 0.8
    assert ks.interpolation_n(10, 2) == math.comb(14, 4) / 0.8
    assert ks.interpolation_n(8, 3, val_frac=0.5) == 2 * math.comb(16, 8)


def test_above_the_interpolation_size_the_degree_eight_kernel_recovers_the_target():
    """d = 3, L = 3: C(11, 8) = 165 features. At 1.5 x p / 0.8 every seed's error is at
    rounding level (the ridgeless limit is G* itself); at half of it every seed is far above
    eps = 0.01 (the contrast: the same method without enough rows)."""
    n = math.ceil(ks.interpolation_n(3, 3))
    for seed in range(3):
        half, above = ks.run_kernel_curve([ks.KernelTask("poly", 3, m, seed, L=3, ridge_grid="spectral",
                                                         ridge_solver="cholesky", n_test=1000)
                                           for m in (n // 2, int(1.5 * n))])
        assert above.rel_mse < 1e-6 < 0.01 < half.rel_mse


def test_brackets_run_from_the_every_kernel_bound_to_the_interpolation_size():
    b = ks.cliff_brackets(6, 3, [0, 1], 0.01)
    assert set(b) == {(6, 0), (6, 1)}
    for s in (0, 1):
        lo, hi = b[(6, s)]
        assert lo == pytest.approx(every_kernel_bound(6, 3, seed=s, exact_max_d=6).n_required(0.01))
        assert 0 < lo < hi == ks.interpolation_n(6, 3)


def _cells(shift):
    """Synthetic poly cells, L = 3 at d = 4, 5 (crossing eps = 0.01 at N = 5 d^3 (1 + shift s))."""
    cells = []
    for d in (4, 5):
        for s in range(3):
            req = 5 * d ** 3 * (1 + shift * s)
            for n in (64, 128, 256, 512, 1024, 2048):
                task = ks.KernelTask("poly", d, n, s, L=3, ridge_grid="spectral")
                cells.append(ks.KernelCell(task, float(0.01 * req / n), 0.0, 1e-9))
    return cells


def test_bracketed_rows_add_the_unmeasured_d_with_its_brackets():
    rows = ks.bracketed_rows(_cells(0.1), 0.01, [6])
    r = rows[3]
    assert r.seeds_fitted == 3 and r.corners == 2 and r.censored == 0
    assert r.n_required[0][4] == pytest.approx(320, rel=0.1)
    assert r.n_required[1][6] == ks.cliff_brackets(6, 3, [1], 0.01)[(6, 1)]
    assert r.lo <= r.mean_lo < r.mean_hi <= r.hi
    table = ks.format_bracketed_table(rows, 0.01)
    assert "| poly | 3 | 4, 5, 6 | 3 |" in table and "d=6: [" in table


def test_kernel_figure_prints_the_bracketed_exponent(tmp_path, capsys):
    js = tmp_path / "c.json"
    js.write_text(json.dumps({"eps": 0.01, "cells": ks.cells_to_records(_cells(0.1))}))
    assert main(["kernel", "figure", "--json", str(js), "--eps", "0.01", "--bracket-ds", "6",
                 "--out", str(tmp_path / "f.png")]) == 0
    out = capsys.readouterr().out
    assert "95% interval over the brackets" in out and "| poly | 3 | 4, 5, 6 |" in out
    assert main(["kernel", "figure", "--json", str(js), "--bracket-ds", "x",
                 "--out", str(tmp_path / "f.png")]) == 2
    assert "--bracket-ds" in capsys.readouterr().err


def test_the_sweep_engine_runs_the_spectral_grid_with_either_solver(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.toml").write_text('[sweep]\nkind = "kernel-fit"\nseeds = 1\n[base]\nlearner = "poly"\n'
                                     'L = 3\nd = 3\nn_test = 300\nridge_grid = "spectral"\n[grid]\n'
                                     'N = [150]\nridge_solver = ["eigh", "cholesky"]\n')
    assert main(["sweep", "g.toml", "--serial", "--store", "s.db", "--no-progress"]) == 0
    cells = ks.cells_from_store("s.db")
    assert sorted(c.task.ridge_solver for c in cells) == ["cholesky", "eigh"]
    assert {c.task.ridge_grid for c in cells} == {"spectral"}
    direct = ks.run_kernel_task(cells[0].task)
    assert cells[0].rel_mse == pytest.approx(direct.rel_mse, rel=1e-9)
    assert cells[0].rel_mse == pytest.approx(cells[1].rel_mse, rel=1e-4, abs=1e-9)
