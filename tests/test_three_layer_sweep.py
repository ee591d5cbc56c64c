"""The three-layer exponent study through the sweep engine: the
``three-layer-fit`` run kind, a tiny grid run serially into a store, reruns that skip,
and the fit reading back exactly what the store holds."""

from __future__ import annotations

import math

import pytest

from theorycheck.commands.main import main
from theorycheck.errors import SpecError
from theorycheck.runs.kinds import get_kind
from theorycheck.papers.three_layer.exponent_study import (ExponentTask, exponent_rows, exponent_study,
                                         run_exponent_task)
from theorycheck.runs.store import Store, owner_id
from theorycheck.runs.sweep import RunSpec, load_grid
from theorycheck.papers.three_layer.exponent_sweep import (KIND, cells_from_store, exponent_specs,
                                           run_exponent_sweep)

TINY = dict(m1=64, m2=16, n_test=100, gd_m=8, gd_steps=20)
DS, NS, SEEDS = [4, 6], [20, 40], [0, 1]
LEARNERS = ["three_layer", "poly_krr"]


def test_kind_is_a_builtin_and_validates_its_config():
    kind = get_kind(KIND)
    cfg = kind.validate({"learner": "relu_rf", "d": 8, "n": 100})
    assert cfg["m1"] == 2048 and cfg["dist"] == "sphere" and cfg["frac1"] == 0.8
    with pytest.raises(SpecError, match="'width' is unknown.*valid keys:.*learner"):
        kind.validate({"learner": "relu_rf", "d": 8, "n": 100, "width": 3})
    with pytest.raises(SpecError, match="'learner' is required"):
        kind.validate({"d": 8, "n": 100})
    with pytest.raises(SpecError, match="learner='cnn'"):
        kind.validate({"learner": "cnn", "d": 8, "n": 100})
    with pytest.raises(SpecError, match="n=4"):
        kind.validate({"learner": "poly_krr", "d": 8, "n": 4})


def test_tiny_grid_runs_serially_into_the_store_and_rerun_skips(tmp_path):
    db = tmp_path / "s.db"
    rows, cells, res = run_exponent_sweep(DS, NS, SEEDS, db, learners=LEARNERS, serial=True, **TINY)
    n = len(LEARNERS) * len(DS) * len(NS) * len(SEEDS)
    assert (res.submitted, res.skipped, res.counts["done"]) == (n, 0, n)
    with Store(db) as st:
        runs = st.runs(kind=KIND)
    assert len(runs) == n and all(r["status"] == "done" for r in runs)
    for r in runs:
        s = r["summary"]
        assert 0 < s["rel_mse"] < 100
        assert ("corr" in s) == (r["config"]["learner"] == "three_layer")
    # each stored cell is the in-process cell of the same task, bit for bit
    for r in runs[:: 5]:
        ref = run_exponent_task(ExponentTask(seed=r["seed"], **r["config"]))
        assert r["summary"]["rel_mse"] == ref.rel_mse
        assert r["summary"].get("corr") == ref.corr
    again_rows, again_cells, again = run_exponent_sweep(DS, NS, SEEDS, db, learners=LEARNERS,
                                                         serial=True, **TINY)
    assert (again.submitted, again.skipped, again.outcomes) == (0, n, [])
    assert {c.task: c.rel_mse for c in again_cells} == {c.task: c.rel_mse for c in cells}
    # the same fit as the in-process study on the same cells
    _, direct = exponent_study(DS, NS, SEEDS, learners=LEARNERS, **TINY)
    for a, b in zip(exponent_rows(direct, 0.5), sorted(rows, key=lambda r: LEARNERS.index(r.learner))):
        assert a.learner == b.learner and a.censored == b.censored
        assert a.per_seed == pytest.approx(b.per_seed, rel=1e-12)


def test_fit_reads_back_what_the_store_holds(tmp_path):
    """Summaries planted in the store with loss = 1 / (1 + n / d^e) give back exponent e
    exactly (N_required = d^e for eps = 1/2), and the sweep runs nothing."""
    db = tmp_path / "planted.db"
    ds, ns, seeds = [8, 16, 32], [2 ** k for k in range(4, 18)], [0, 1, 2]
    planted = {"three_layer": 1.5, "poly_krr": 3.0}
    specs = exponent_specs(ds, ns, seeds, learners=list(planted))
    me = owner_id()
    with Store(db) as st:
        hashes = st.ensure((s.kind, s.config, s.seed) for s in specs)
        for s, h in zip(specs, hashes):
            e = planted[s.config["learner"]] + 0.01 * s.seed
            rel = 1.0 / (1.0 + (s.config["n"] / s.config["d"] ** e) ** 3)
            assert st.claim(h, me) == "claimed"
            st.finish(h, me, {"rel_mse": rel})
    rows, cells, res = run_exponent_sweep(ds, ns, seeds, db, learners=list(planted), eps=0.5,
                                          serial=True)
    assert res.submitted == 0 and len(cells) == len(specs)
    for r in rows:
        # log-linear interpolation of a smooth curve: the slope is exact up to grid error
        assert r.exponent == pytest.approx(planted[r.learner] + 0.01, abs=0.02)
        assert r.seeds_fitted == 3 and r.censored == 0
        assert r.lo < r.exponent < r.hi
    # a corrupted stored value changes the fit: the rows come from the store
    with Store(db) as st:
        st._conn.execute("UPDATE runs SET summary = ? WHERE hash = ?",
                         ('{"rel_mse": 0.0}', specs[0].hash))
        st._conn.commit()
    first = specs[0]
    before = {r.learner: r for r in rows}[first.config["learner"]]
    after = {r.learner: r for r in exponent_rows(cells_from_store(db, specs), 0.5)}[first.config["learner"]]
    assert first.config["n"] == ns[0]  # now below eps at the smallest n: left-censored
    assert math.isfinite(before.n_required[first.seed][first.config["d"]])
    assert math.isnan(after.n_required[first.seed][first.config["d"]])
    assert after.censored == before.censored + 1


def test_missing_runs_and_non_product_grids_are_refused(tmp_path):
    db = tmp_path / "m.db"
    specs = exponent_specs(DS, NS, SEEDS, learners=["poly_krr"], **TINY)
    with Store(db) as st:
        st.ensure((s.kind, s.config, s.seed) for s in specs)
    with pytest.raises(Exception, match=r"8 of 8 runs of the study are not done.*queued"):
        cells_from_store(db, specs)
    with pytest.raises(SpecError, match="not the full product"):
        run_exponent_sweep(None, None, None, db, specs=specs[:-1], serial=True)
    other = [RunSpec("claim", {"claim": "x", "scale": "quick"}, 0)]
    with pytest.raises(SpecError, match="must use kind"):
        run_exponent_sweep(None, None, None, db, specs=other, serial=True)


def test_grid_file_matches_the_cli_grid_and_cli_reruns_for_free(tmp_path, capsys):
    grid = load_grid("examples/three_layer_exponents.toml")
    ref = exponent_specs([8, 12, 16, 20], [125, 250, 500, 1000, 2000, 4000], range(5),
                         learners=["three_layer", "poly_krr", "relu_rf", "two_layer_gd"])
    assert len(grid.runs) >= 5 * 4 * 2 * 2
    assert {s.hash for s in grid.runs} == {s.hash for s in ref}
    g = tmp_path / "g.toml"
    g.write_text('[sweep]\nkind = "three-layer-fit"\nseeds = 2\n[base]\nm1 = 64\nm2 = 16\n'
                 'n_test = 100\n[grid]\nlearner = ["three_layer", "relu_rf"]\nd = [4, 6]\n'
                 'n = [20, 40]\n')
    args = ["three-layer", "exponents", "--grid", str(g), "--store", str(tmp_path / "c.db"),
            "--out", str(tmp_path / "out"), "--eps", "0.9", "--serial"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "16 cells in store" in out and "16 run (serial), 0 already recorded" in out
    assert "| three_layer |" in out and "| relu_rf |" in out
    assert main(args) == 0
    assert "0 run (serial), 16 already recorded" in capsys.readouterr().out
    assert (tmp_path / "out" / "three_layer_exponents.json").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('[sweep]\nkind = "three-layer-fit"\n[grid]\nlearner = ["relu_rf"]\nd = [4, 6]\n'
                   'n = [20, 40]\nwidth = [3]\n')
    assert main(["three-layer", "exponents", "--grid", str(bad), "--store",
                 str(tmp_path / "b.db"), "--serial"]) == 2
    assert "grid key 'width' is unknown" in capsys.readouterr().err
