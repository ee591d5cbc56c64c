"""Run-kind configs derived from frozen dataclasses: bad values refused on the driver with one
line naming the key (before anything is stored), one check per run, typed configs handed to
the kind, progress passed as an argument, and the commands' shared plumbing (store path,
``--set`` values, TOML files)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import pytest

from theorycheck.commands import _common
from theorycheck.commands.main import main
from theorycheck.errors import SpecError
from theorycheck.runs import config as rc
from theorycheck.runs import kinds as rk
from theorycheck.runs.kinds import get_kind, register_run_kind, run_once, setting
from theorycheck.runs.store import Store
from theorycheck.runs.sweep import GridError, load_grid
from tests.sweep_kinds import LEGACY_WALK, WALK, WalkConfig

BAD_BFC_TRAIN = [
    ("lr = -1.0", "lr[0]=-1.0 is invalid"),
    ('batch = "many"', "batch='many' is invalid"),
    ("d = -5", "d=-5 is invalid"),
    ('mode = "bogus"', "mode='bogus' is invalid"),
    ('centred = "no"', "centred='no' is invalid: not a boolean; write centred = true or "
                       "centred = false"),
    ('tied = "false"', "tied='false' is invalid: not a boolean"),
]


def _bfc_grid(tmp_path, line: str, where: str = "base"):
    grid = tmp_path / "bad.toml"
    if where == "base":
        grid.write_text(f'[sweep]\nkind = "bfc-train"\n[base]\n{line}\n[grid]\nL = [2, 3]\n')
    else:
        grid.write_text(f'[sweep]\nkind = "bfc-train"\n[grid]\nL = [2]\n[[runs]]\n{line}\n')
    return grid


@pytest.mark.parametrize("line, needle", BAD_BFC_TRAIN)
def test_bad_bfc_train_grid_is_refused_by_load_grid(tmp_path, line, needle):
    for where in ("base", "runs"):
        with pytest.raises(GridError) as exc:
            load_grid(_bfc_grid(tmp_path, line, where))
        assert isinstance(exc.value, SpecError)
        msg = str(exc.value)
        assert needle in msg and "\n" not in msg, msg


@pytest.mark.parametrize("line, needle", BAD_BFC_TRAIN)
def test_bad_bfc_train_grid_exits_2_with_one_line_and_no_store(tmp_path, capsys, line, needle):
    grid = _bfc_grid(tmp_path, line)
    store = tmp_path / "s.sqlite"
    code = main(["sweep", str(grid), "--store", str(store), "--serial", "--no-progress"])
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("theorycheck sweep: error: ") and needle in err[0]
    assert not store.exists() and not list(tmp_path.glob("s.sqlite*"))
    assert captured.out == ""


def test_bad_grid_leaves_an_existing_store_untouched(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    run_once("tests.sweep_kinds:WALK", {"steps": 2}, 0, store)
    with Store(store) as st:
        before = [(r["hash"], r["status"], r["finished"]) for r in st.runs()]
    code = main(["sweep", str(_bfc_grid(tmp_path, "lr = -1.0")), "--store", str(store),
                 "--serial", "--no-progress"])
    assert code == 2 and "lr[0]=-1.0 is invalid" in capsys.readouterr().err
    with Store(store) as st:
        assert [(r["hash"], r["status"], r["finished"]) for r in st.runs()] == before


def test_good_bfc_train_grid_expands_to_the_train_commands_runs(tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text('[sweep]\nkind = "bfc-train"\n[base]\nd = 8\nsteps = 40\nlr = 3e-3\n'
                    '[grid]\nmode = ["e2e", "layerwise"]\n')
    runs = load_grid(grid).runs
    assert [r.config["steps"] for r in runs] == [[40, 40]] * 2
    assert [r.config["lr"] for r in runs] == [[3e-3, 3e-3]] * 2
    kind = get_kind("bfc-train")
    from theorycheck.papers.bfc.training import train_config
    cfg = train_config(d=8, steps=40, mode="layerwise")
    assert runs[1].config == kind.stored(cfg)  # the hash `theorycheck train` stores


# -- the dataclass schema -------------------------------------------------------------------

def test_schema_is_derived_from_the_dataclass():
    assert WALK.config is WalkConfig and WALK.takes_progress
    assert set(WALK.schema) == {f.name for f in dataclasses.fields(WalkConfig)}
    assert WALK.schema["steps"].describe("steps") == "steps (integer >= 1, default 10)"
    assert WALK.schema["step_seconds"].form == "real >= 0.0"
    assert WALK.validate({"steps": 4}) == {"checkpoint_every": 3, "fail_marker": "",
                                           "label": 0, "step_seconds": 0.0, "steps": 4}
    cfg = WALK.parse({"steps": 4})
    assert isinstance(cfg, WalkConfig) and cfg.steps == 4
    with pytest.raises(SpecError, match=r"config key 'stpes' is unknown for run kind "
                                        r"'test-walk'; valid keys: checkpoint_every"):
        WALK.validate({"stpes": 4})


def test_seed_field_is_the_run_seed_and_not_a_config_key():
    kind = get_kind("bfc-train")
    assert "seed" not in kind.schema
    cfg = kind.parse({"d": 8}, seed=7)
    assert cfg.seed == 7 and "seed" not in kind.stored(cfg)
    assert kind.build(kind.stored(cfg), 7) == cfg
    with pytest.raises(SpecError, match="config key 'seed' is unknown"):
        kind.parse({"seed": 3})
    with pytest.raises(SpecError, match="seed=-1 is invalid"):
        kind.parse({}, seed=-1)


def test_types_tuples_optionals_and_literals():
    @dataclass(frozen=True)
    class C:
        widths: tuple[int, ...] = setting((4,), min_value=1, min_len=1)
        n: int | None = setting(None, min_value=1)
        how: Literal["a", "b"] = "a"
        scale: float = setting(1.0, positive=True, allow_inf=True)

    assert rc.check_config(C, {"widths": [2, 3], "scale": float("inf")}, what="C") == \
        C((2, 3), None, "a", float("inf"))
    for bad, needle in [({"widths": []}, "widths=[] is invalid"),
                        ({"widths": [2, 0]}, "widths[1]=0 is invalid"),
                        ({"widths": "2,3"}, "widths='2,3' is invalid: not a list"),
                        ({"n": 0}, "n=0 is invalid"),
                        ({"how": "c"}, "how='c' is invalid: unknown option"),
                        ({"scale": -1}, "scale=-1 is invalid"),
                        ({"scale": True}, "scale=True is invalid")]:
        with pytest.raises(SpecError, match=needle.replace("[", r"\[").replace("]", r"\]")):
            rc.check_config(C, bad, what="C")


def test_registration_refuses_unusable_config_classes():
    @dataclass
    class Mutable:
        a: int = 1

    @dataclass(frozen=True)
    class Odd:
        a: dict = dataclasses.field(default_factory=dict)

    with pytest.raises(SpecError, match="config class Mutable is not frozen"):
        register_run_kind("test-mutable", lambda c, s, r: None, config=Mutable)
    with pytest.raises(SpecError, match="field 'a' has type"):
        register_run_kind("test-odd", lambda c, s, r: None, config=Odd)
    with pytest.raises(SpecError, match="not both"):
        register_run_kind("test-both", lambda c, s, r: None, {}, config=WalkConfig)


# -- one check per run; typed configs; progress ---------------------------------------------

def test_train_command_checks_the_config_once(tmp_path, monkeypatch, capsys):
    calls = []
    real = rk.check_config

    def counting(cls, values, **kw):
        calls.append(cls.__name__)
        return real(cls, values, **kw)

    monkeypatch.setattr(rk, "check_config", counting)
    store = tmp_path / "r.sqlite"
    argv = ["train", "--d", "8", "--steps", "20,20", "--batch", "16", "--set", "n_test=100",
            "--set", "eval_points=2", "--store", str(store)]
    assert main(argv) == 0
    assert calls == ["TrainConfig"]
    assert main(argv) == 0 and "found in" in capsys.readouterr().out
    assert calls == ["TrainConfig"] * 2


def test_execute_run_hands_the_kind_a_trusted_typed_config(tmp_path, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("a stored config was checked again")

    store = tmp_path / "s.sqlite"
    with Store(store) as st:
        (h,) = st.ensure([("tests.sweep_kinds:WALK", WALK.validate({"steps": 3}), 0)])
    monkeypatch.setattr(rk, "check_config", refuse)
    out = rk.execute_run(str(store), h)
    assert out["status"] == "done", out
    with Store(store) as st:
        assert st.run(h)["summary"]["steps"] == 3


def test_progress_is_passed_down_as_an_argument(tmp_path):
    seen = []
    row = run_once("tests.sweep_kinds:WALK", {"steps": 4}, 1, tmp_path / "s.sqlite",
                   progress=lambda step, x: seen.append(step))
    assert row["status"] == "done" and seen == [1, 2, 3, 4]
    cfg = WALK.parse({"steps": 4}, seed=1)
    again = run_once("tests.sweep_kinds:WALK", cfg, 1, tmp_path / "s.sqlite")
    assert again["hash"] == row["hash"]


def test_trainer_progress_reaches_train_through_run_once(tmp_path):
    from theorycheck.papers.bfc import training
    assert not hasattr(training, "PROGRESS")
    kind = get_kind("bfc-train")
    cfg = kind.parse({"d": 8, "steps": [10, 10], "batch": 16, "n_test": 100, "eval_points": 3}, 0)
    rows = []
    run = run_once("bfc-train", cfg, 0, tmp_path / "s.sqlite", progress=rows.append)
    assert run["status"] == "done" and rows and rows[-1]["step"] == 20
    with pytest.raises(SpecError, match="seed=0 but seed=1"):
        run_once("bfc-train", cfg, 1, tmp_path / "s.sqlite")


def test_param_dict_kinds_still_work(tmp_path):
    assert LEGACY_WALK.config is None
    row = run_once("tests.sweep_kinds:LEGACY_WALK", {"steps": 3}, 2, tmp_path / "s.sqlite")
    walk = run_once("tests.sweep_kinds:WALK", {"steps": 3}, 2, tmp_path / "s.sqlite")
    assert row["status"] == "done" and row["summary"] == walk["summary"]
    with pytest.raises(SpecError, match="steps=0 is invalid"):
        LEGACY_WALK.validate({"steps": 0})


# -- commands' shared plumbing --------------------------------------------------------------

def test_store_path_precedence(monkeypatch):
    monkeypatch.delenv(_common.STORE_ENV, raising=False)
    assert _common.store_path() == "theorycheck-results.sqlite"
    assert _common.store_path(None, "grid.sqlite") == "grid.sqlite"
    monkeypatch.setenv(_common.STORE_ENV, "env.sqlite")
    assert _common.store_path(None, "grid.sqlite") == "env.sqlite"
    assert _common.store_path("cli.sqlite", "grid.sqlite") == "cli.sqlite"


def test_commands_share_the_default_store(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(_common.STORE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    run_once("tests.sweep_kinds:WALK", {"steps": 2}, 0, "theorycheck-results.sqlite")
    assert main(["results", "--kind", "tests.sweep_kinds:WALK"]) == 0
    assert "1 runs in theorycheck-results.sqlite" in capsys.readouterr().out
    other = tmp_path / "elsewhere.sqlite"
    run_once("tests.sweep_kinds:WALK", {"steps": 2}, 0, other)
    run_once("tests.sweep_kinds:WALK", {"steps": 2}, 1, other)
    monkeypatch.setenv(_common.STORE_ENV, str(other))
    assert main(["results", "--kind", "tests.sweep_kinds:WALK"]) == 0
    out = "".join(capsys.readouterr().out.split())  # the table title wraps a long tmp path
    assert f"2runsin{other}" in out


@pytest.mark.parametrize("text, value", [
    ("3", 3), ("3e-3", 3e-3), ("-0.1", -0.1), ("true", True), ("false", False), ("none", None),
    ("chain", "chain"), ("two-layer", "two-layer"), ("False", "False"), ("no", "no"),
    ("3000,6000", [3000, 6000]), ("[128, 128]", [128, 128]), ('"quoted"', "quoted"),
    ("0.5,x", [0.5, "x"]),
])
def test_one_value_grammar(text, value):
    assert _common.parse_value(text) == value
    assert _common.parse_assignment(f"key={text}") == ("key", value)


def test_set_grammar_is_shared_by_train_and_labels(tmp_path, capsys):
    assert main(["train", "--set", "tied=no", "--store", str(tmp_path / "r.sqlite")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tied='no' is invalid: not a boolean" in err[0]
    assert main(["labels", "study", "--set", "kernel=False", "--serial", "--no-progress",
                 "--store", str(tmp_path / "l.sqlite")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "kernel='False' is invalid: not a boolean" in err[0]
    assert not (tmp_path / "l.sqlite").exists()
    with pytest.raises(SpecError, match="write KEY=VALUE"):
        _common.parse_assignment("nonsense")


def test_toml_files_fail_in_one_line(tmp_path, capsys):
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('d = 8\nconnections = "cha\xeen"\n'.encode("latin-1"))
    assert main(["train", "--config", str(bad), "--store", str(tmp_path / "r.sqlite")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not UTF-8 text (byte 0xee" in err[0]
    assert main(["sweep", str(bad), "--store", str(tmp_path / "r.sqlite")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "grid file" in err[0] and "is not UTF-8 text" in err[0]
    broken = tmp_path / "broken.toml"
    broken.write_text("[sweep\nkind = 1\n")
    assert main(["sweep", str(broken), "--store", str(tmp_path / "r.sqlite")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not valid TOML" in err[0]
    assert main(["train", "--config", str(tmp_path / "absent.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--config" in err[0] and "does not exist" in err[0]
    assert not (tmp_path / "r.sqlite").exists()


def test_int_lists():
    assert _common.int_list("--ds", "8, 12,16") == [8, 12, 16]
    with pytest.raises(SpecError, match="--ds='' is invalid: empty list"):
        _common.int_list("--ds", "")
    with pytest.raises(SpecError, match="--ds='x' is invalid: not an integer"):
        _common.int_list("--ds", "8,x")


def test_a_relative_store_path_follows_the_current_folder(tmp_path, monkeypatch):
    """The same relative store name in two folders is two stores, also in one process (the
    open-store cache once handed the second folder the first folder's connection)."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        row = run_once("tests.sweep_kinds:WALK", {"steps": 2}, 0, "theorycheck-results.sqlite")
        assert row["status"] == "done"
    for name in ("a", "b"):
        with Store(tmp_path / name / "theorycheck-results.sqlite", create=False) as st:
            assert len(st.runs()) == 1
