"""Grid files that cannot become runs: the structure of the file ([sweep], [base], [grid],
[[runs]]), and bad values of every built-in run kind's keys, in the base, on an axis and in
an explicit run. The driver refuses each with one line naming the file, the key and the fix
(exit status 2) before anything is stored: an existing store stays byte-identical and a new
one is not created."""

from __future__ import annotations

import pytest

from ._cli import Unchanged, make_store, refused

TE = '[sweep]\nkind = "target-energy"\n'

STRUCTURE = [
    ("", "defines no runs"),
    ("[sweep]\n", "defines no runs"),
    ('bogus = 1\n' + TE + "[grid]\nd = [2]\n", "top-level key 'bogus' is unknown"),
    ('[sweep]\nkind = "target-energy"\ncolour = "red"\n[grid]\nd = [2]\n',
     "[sweep] key 'colour' is unknown"),
    ('sweep = 3\n[grid]\nd = [2]\n', "'sweep' must be a table"),
    (TE + "[grid]\n", "[grid] has no axes"),
    (TE + "[grid]\nd = []\n", "grid axis 'd' is empty"),
    ("grid = 5\n" + TE, "'grid' must be a table"),
    ('[grid]\nd = [2]\n', "needs a run kind"),
    ('[sweep]\nkind = "no-such-kind"\n[grid]\nd = [2]\n', "kind='no-such-kind' is unknown"),
    ('[sweep]\nkind = 5\n[grid]\nd = [2]\n', "kind=5 is invalid"),
    ('[sweep]\nkind = "nomodule_xyz:KIND"\n[grid]\nd = [2]\n', "could not import run-kind module"),
    ('[sweep]\nkind = "theorycheck.errors:SpecError"\n[grid]\nd = [2]\n', "not a RunKind"),
    (TE + "seeds = 0\n[grid]\nd = [2]\n", "seeds=0 is invalid"),
    (TE + "seeds = -3\n[grid]\nd = [2]\n", "seeds=-3 is invalid"),
    (TE + "seeds = []\n[grid]\nd = [2]\n", "seeds=[] is empty"),
    (TE + 'seeds = "all"\n[grid]\nd = [2]\n', "seeds='all' is invalid"),
    (TE + "seeds = [-1]\n[grid]\nd = [2]\n", "seed=-1 is invalid"),
    (TE + "seeds = [1.5]\n[grid]\nd = [2]\n", "seed=1.5 is invalid"),
    (TE + "seeds = [4294967296]\n[grid]\nd = [2]\n", "seed=4294967296 is invalid"),
    (TE + "seeds = true\n[grid]\nd = [2]\n", "seeds=True is invalid"),
    (TE + "seeds = 2\n[grid]\nd = [2]\nseed = [0, 1]\n", "seeds are given twice"),
    (TE + "[grid]\nd = [2]\nseed = [-1]\n", "seed=-1 is invalid"),
    (TE + "imports = [5]\n[grid]\nd = [2]\n", "imports=[5] is invalid"),
    (TE + 'imports = ["no_such_module_xyz"]\n[grid]\nd = [2]\n', "could not import"),
    (TE + "store = 5\n[grid]\nd = [2]\n", "store=5 is invalid"),
    ("base = 3\n" + TE + "[grid]\nd = [2]\n", "'base' must be a table"),
    (TE + "[base]\ncolour = 1\n[grid]\nd = [2]\n", "[base] key 'colour' is unknown"),
    (TE + "[grid]\ncolour = [1]\n", "grid key 'colour' is unknown"),
    ("runs = 5\n" + TE, "'runs' must be an array of tables"),
    ("runs = []\n" + TE, "[[runs]] is empty"),
    ("[[runs]]\nd = 2\n", "[[runs]] entry 0 has no kind"),
    (TE + "[[runs]]\nd = 2\nseed = 1\nseeds = [2]\n", "gives both seed and seeds"),
    (TE + "[[runs]]\ncolour = 2\n", "[[runs]] entry 0 key 'colour' is unknown"),
    (TE + "[[runs]]\nd = 2\n[[runs]]\nd = -2\n", "[[runs]] entry 1"),
    (TE + '[[runs]]\nkind = "nope"\nd = 2\n', "kind='nope' is unknown"),
]


@pytest.mark.parametrize("text, needle", STRUCTURE, ids=[n for _, n in STRUCTURE])
def test_grid_structure_refused(text, needle, capsys, tmp_path):
    (tmp_path / "g.toml").write_text(text)
    store = make_store(tmp_path / "s.sqlite")
    with Unchanged(tmp_path):
        refused(["sweep", "g.toml", "--store", store, "--serial", "--no-progress"], capsys,
                ("g.toml", needle) if not any(w in needle for w in ("import", "kind=", "RunKind"))
                else needle)


BAD_VALUES = {
    "target-energy": [
        ("d", "0"), ("d", '"x"'), ("d", "1.5"), ("d", "true"), ("L", "1"), ("L", "9"),
        ("k", "0"), ("connections", '"ring"'), ("connections", "3"), ("delta", "0"),
        ("delta", "-1.0"), ("delta", "nan"), ("delta", "inf"), ("kappa", "0.5"),
        ("centred", '"yes"'), ("centred", "1"), ("dist", '"cube"'), ("n", "1"), ("chunk", "1"),
    ],
    "bfc-train": [
        ("mode", '"bogus"'), ("d", "-5"), ("L", "9"), ("k", "0"), ("k_target", "0"),
        ("steps", "0"), ("steps", "[1, 2, 3]"), ("lr", "-1.0"), ("lr", '"fast"'),
        ("batch", '"many"'), ("N", "0"), ("optimizer", '"lbfgs"'), ("schedule", '"bogus"'),
        ("tied", '"false"'), ("centred", '"no"'), ("B", "-1.0"), ("freeze", "[9]"),
        ("lambda_wd", "-1.0"), ("n_test", "5"), ("eval_points", "1"), ("init_scale", "0.0"),
        ("m", "0"), ("two_layer_width", "0"),
    ],
    "kernel-fit": [
        ("learner", '"svm"'), ("d", "1"), ("L", "5"), ("N", "4"), ("q", "-1"),
        ("bandwidth", "0.0"), ("m", "0"), ("k_target", "0"), ("delta", "0.0"), ("steps", "0"),
        ("n_test", "10"),
    ],
    "three-layer-fit": [
        ("learner", '"svm"'), ("d", "1"), ("n", "4"), ("dist", '"cube"'), ("m1", "0"),
        ("m2", "0"), ("sigma1", '"gelu"'), ("frac1", "1.5"), ("frac1", "0.0"), ("n_test", "5"),
        ("gd_m", "0"), ("gd_steps", "0"),
    ],
    "label-depth": [
        ("r", "0"), ("r", "13"), ("d", "0"), ("labels_per_level", "0"), ("n", "1"),
        ("n_test", "0"), ("width", "0"), ("lam", "0.0"), ("label_gain", "-1.0"),
        ("writeback", '"relu"'), ("train_on", '"both"'), ("hints", '"yes"'),
        ("family", '"xor"'), ("fan_in", "0"), ("kernel", "1"), ("mlp", '"no"'),
        ("mlp_hidden", "[]"), ("mlp_hidden", "[0]"), ("mlp_epochs", "0"),
        ("zero_readout", '"false"'), ("min_x_degree_per_level", "-1.0"),
    ],
}

REQUIRED = {"three-layer-fit": 'learner = "three_layer"\nd = 8\nn = 64\n', "label-depth": "r = 1\n"}
CASES = [(kind, key, value, where) for kind, rows in BAD_VALUES.items() for key, value in rows
         for where in ("base", "axis", "runs")]


def _grid(kind: str, key: str, value: str, where: str) -> str:
    req = REQUIRED.get(kind, "")
    req_lines = "".join(ln + "\n" for ln in req.splitlines() if not ln.startswith(f"{key} ="))
    head = f'[sweep]\nkind = "{kind}"\n'
    if where == "base":
        return head + f"[base]\n{req_lines}{key} = {value}\n[[runs]]\n"
    if where == "axis":
        return head + (f"[base]\n{req_lines}" if req_lines else "") + f"[grid]\n{key} = [{value}]\n"
    return head + f"[[runs]]\n{req_lines}{key} = {value}\n"


@pytest.mark.parametrize("kind, key, value, where", CASES,
                         ids=[f"{k}-{key}={v}-{w}" for k, key, v, w in CASES])
def test_bad_run_kind_value_refused(kind, key, value, where, capsys, tmp_path):
    text = _grid(kind, key, value, where)
    if where == "base":
        text += "".join(ln + "\n" for ln in REQUIRED.get(kind, "").splitlines()
                        if not ln.startswith(f"{key} =")) or "seed = 0\n"
    (tmp_path / "g.toml").write_text(text)
    with Unchanged(tmp_path):
        refused(["sweep", "g.toml", "--store", "new.sqlite", "--serial", "--no-progress"], capsys,
                ("g.toml", key))
    assert not (tmp_path / "new.sqlite").exists()
