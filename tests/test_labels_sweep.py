"""The depth study of docs/theory.md §3.3 through the sweep engine: the
``label-depth`` run kind, a tiny grid in serial mode, resumption from the store, and agreement
of the store path with the in-process path."""

from __future__ import annotations

from pathlib import Path

import pytest

from theorycheck.commands.main import main
from theorycheck.papers.labels.depth_gap import depth_study, format_table, gap_table, level_table
from theorycheck.errors import SpecError, TheorycheckError
from theorycheck.papers.labels.depth_sweep import (KIND, check_one_study, depth_study_sweep, load_results,
                                     study_specs)
from theorycheck.runs.kinds import get_kind, kinds
from theorycheck.runs.store import Store
from theorycheck.runs.sweep import RunSpec, load_grid

ROOT = Path(__file__).resolve().parent.parent
TINY = {"d": 8, "n": 300, "n_test": 300, "width": 64, "labels_per_level": 4,
        "min_x_degree_per_level": 1, "mlp_hidden": (16,), "mlp_epochs": 2}
RS, SEEDS = [1, 2], [0, 1]


def _without_seconds(rows):
    return [{k: v for k, v in row.items() if not k.endswith("_s")} for row in rows]


def test_kind_is_builtin_and_validates_config():
    kind = get_kind(KIND)
    assert KIND in kinds()
    cfg = kind.validate({"r": 2, "mlp_hidden": [32, 32], "min_x_degree_per_level": 2})
    assert cfg["mlp_hidden"] == [32, 32] and cfg["min_x_degree_per_level"] == 2.0
    with pytest.raises(SpecError, match=r"mlp_hidden='32,32' is invalid: not a list; write "
                                        r"mlp_hidden = \[\.\.\.\]"):
        kind.validate({"r": 2, "mlp_hidden": "32,32"})
    with pytest.raises(SpecError, match=r"hints='false' is invalid: not a boolean; write hints = "
                                        r"true or hints = false"):
        kind.validate({"r": 2, "hints": "false"})
    assert cfg["d"] == 16 and cfg["width"] == 512
    with pytest.raises(SpecError, match="config key 'widht' is unknown for run kind 'label-depth'"):
        kind.validate({"r": 2, "widht": 64})
    with pytest.raises(SpecError, match="config key 'r' is required"):
        kind.validate({"d": 8})
    with pytest.raises(SpecError, match=r"r=0 is invalid"):
        kind.validate({"r": 0})
    with pytest.raises(SpecError, match=r"writeback='relu' is invalid"):
        kind.validate({"r": 1, "writeback": "relu"})
    with pytest.raises(SpecError, match=r"mlp_hidden=\[\] is invalid"):
        kind.validate({"r": 1, "mlp_hidden": []})
    with pytest.raises(SpecError, match="'kernal' is unknown"):
        study_specs([1], [0], {"kernal": False})


def test_grid_file_is_the_quick_study():
    grid = load_grid(ROOT / "examples" / "label_depth.toml")
    specs = study_specs([1, 2, 3], range(5))
    assert len(grid.runs) == 15
    assert {s.hash for s in grid.runs} == {s.hash for s in specs}


def test_one_study_only():
    specs = study_specs([1], [0], TINY) + study_specs([2], [0], {**TINY, "width": 32})
    with pytest.raises(SpecError, match="setting 'width' varies"):
        check_one_study(specs)
    with pytest.raises(SpecError, match="run kind 'claim' is not 'label-depth'"):
        check_one_study([RunSpec("claim", {"claim": "x", "scale": "quick"}, 0)])


@pytest.mark.equivalence
def test_serial_sweep_records_resumes_and_matches_in_process(tmp_path):
    db = tmp_path / "labels.db"
    results, res = depth_study_sweep(RS, SEEDS, TINY, db, serial=True)
    assert (res.submitted, res.skipped, res.counts["done"]) == (4, 0, 4)
    with Store(db) as st:
        runs = st.runs(kind=KIND)
        assert sorted((r["config"]["r"], r["seed"]) for r in runs) == [(1, 0), (1, 1), (2, 0), (2, 1)]
        assert all(r["status"] == "done" and r["attempts"] == 1 for r in runs)
        two = next(r for r in runs if r["config"]["r"] == 2)
        metrics = {(m, step) for _, m, step, _ in st.curves(two["hash"])}
        assert metrics == {(f"error_level_{t}", b) for t in (1, 2) for b in (1, 2)}
        assert {"top_layerwise", "top_kernel", "top_mlp", "level_2_inherited"} <= set(two["summary"])

    again, res2 = depth_study_sweep(RS, SEEDS, TINY, db, serial=True)
    assert (res2.submitted, res2.skipped, res2.outcomes) == (0, 4, [])
    with Store(db) as st:
        assert all(r["attempts"] == 1 for r in st.runs(kind=KIND))
    assert again == results

    ref = depth_study(RS, SEEDS, TINY)
    for a, b in zip(results, ref):
        assert (a["r"], a["seed"]) == (b["r"], b["seed"])
        assert a["per_level"] == b["per_level"] and a["after_block"] == b["after_block"]
        assert a["top"] == b["top"]
    assert _without_seconds(gap_table(results)) == _without_seconds(gap_table(ref))
    assert level_table(results, 2) == level_table(ref, 2)


def test_load_results_names_a_missing_run(tmp_path):
    db = tmp_path / "empty.db"
    Store(db).close()
    with pytest.raises(TheorycheckError, match=r"\(r=1, seed=0\) is missing"):
        load_results(db, study_specs([1], [0], TINY))


def _cli(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_study_through_the_store(tmp_path, capsys):
    db = str(tmp_path / "cli.db")
    flags = ["labels", "study", "--r", "1", "2", "--seeds", "2", "--mlp-hidden", "16",
             "--mlp-epochs", "2"] + [f"--set={k}={v}" for k, v in TINY.items()
                                     if k not in ("mlp_hidden", "mlp_epochs")]
    code, out, _ = _cli(flags + ["--store", db, "--serial", "--no-progress"], capsys)
    assert code == 0 and "4 run now, 0 already recorded" in out
    table = out[out.index("| r |"):]
    code, out2, _ = _cli(flags + ["--store", db, "--serial", "--no-progress"], capsys)
    assert code == 0 and "0 run now, 4 already recorded" in out2
    code, out3, _ = _cli(flags + ["--in-process"], capsys)
    assert code == 0 and "(in process, no store)" in out3

    def errors_only(text):
        return [line.rsplit("|", 4)[0] for line in text.splitlines() if line.startswith("| ")]
    assert errors_only(out3[out3.index("| r |"):]) == errors_only(table)
    assert errors_only(out2[out2.index("| r |"):]) == errors_only(table)

    code, _, err = _cli(["labels", "study", "--grid", "examples/label_depth.toml", "--r", "2"],
                        capsys)
    assert code == 2 and "--r cannot be combined with --grid" in err


@pytest.mark.slow
@pytest.mark.equivalence
def test_dask_workers_match_serial(tmp_path):
    """Two LocalCluster worker processes record the same errors as the serial path."""
    pytest.importorskip("distributed", reason="dask[distributed] is in the test extra")
    serial, _ = depth_study_sweep(RS, SEEDS, TINY, tmp_path / "serial.db", serial=True)
    par, res = depth_study_sweep(RS, SEEDS, TINY, tmp_path / "dask.db", workers=2)
    assert res.workers == 2 and res.counts["done"] == 4
    assert [(a["per_level"], a["after_block"], a["top"]) for a in par] == \
        [(a["per_level"], a["after_block"], a["top"]) for a in serial]
