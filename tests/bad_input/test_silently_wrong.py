"""Values that used to be taken for something else: booleans spelt as text, choices outside
their list, integers that are not integers, a matrix whose size disagrees with --d, a
negative span-lemma bound, an empty claim folder, ``--out ''``, ``--resume`` with nothing to
resume, a negative seed through the API, NaN and inf stored alike, a kernel fitted on data
of another dimension. Every one is refused with one line naming the value (exit status 2),
or, where a value is meaningful, reported correctly."""

from __future__ import annotations

import numpy as np
import pytest

from theorycheck.errors import TheorycheckError

from ._cli import Unchanged, make_store, refused, run

CLI_VALUES = [
    # target
    (["target", "--d", "x"], "--d='x' is invalid"),
    (["target", "--d", "0"], "--d=0 is invalid"),
    (["target", "--d", "-3"], "--d=-3 is invalid"),
    (["target", "--d", "1.5"], "--d='1.5' is invalid"),
    (["target", "--d", "inf"], "--d='inf' is invalid"),
    (["target", "--d", "nan"], "--d='nan' is invalid"),
    (["target", "--d", "1e400"], "too large"),
    (["target", "--d", "true"], "--d='true' is invalid"),
    (["target", "--L", "1"], "--L=1 is invalid"),
    (["target", "--L", "9"], "L=9 is invalid"),
    (["target", "--k-target", "0"], "--k-target=0 is invalid"),
    (["target", "--k-target", "2,2,2"], "widths=[2, 2, 2] is invalid"),
    (["target", "--k-target", ","], "--k-target=',' is invalid"),
    (["target", "--connections", "ring"], "connections='ring' is invalid"),
    (["target", "--connections", "2:0,1;3:5"], "J_3=[5] is invalid"),
    (["target", "--connections", "2:0,1;3:0"], "it must contain 2"),
    (["target", "--connections", "2:0,1"], "give J_l for exactly the layers"),
    (["target", "--alphas", "1,-1"], "--alphas='-1' is invalid"),
    (["target", "--alphas", "1"], "alphas=[1.0] is invalid"),
    (["target", "--alphas", "x,y"], "--alphas='x' is invalid"),
    (["target", "--delta", "0"], "--delta='0' is invalid"),
    (["target", "--delta", "nan"], "not finite"),
    (["target", "--kappa", "0.5"], "--kappa='0.5' is invalid"),
    (["target", "--seed", "-1"], "--seed=-1 is invalid"),
    (["target", "--seed", "4294967296"], "seed=4294967296 is invalid"),
    (["target", "--dist", "cube"], "--dist='cube' is invalid"),
    (["target", "--exact-max-d", "0"], "--exact-max-d=0 is invalid"),
    (["target", "--samples", "1"], "--samples=1 is invalid"),
    (["target", "--sweep", "x"], "--sweep='x' is invalid"),
    (["target", "--d", "9", "--sweep", "0.5"], "--sweep needs exact energies"),
    # train
    (["train", "--mode", "bogus"], "--mode 'bogus' is invalid"),
    (["train", "--mode", ""], "--mode '' is invalid"),
    (["train", "--seed", "-1"], "--seed=-1 is invalid"),
    (["train", "--d", "x"], "d='x' is invalid"),
    (["train", "--L", "9"], "L=9 is invalid"),
    (["train", "--k", "0"], "k=0 is invalid"),
    (["train", "--steps", "0"], "steps"),
    (["train", "--steps", "1,2,3"], "3 values for 2 stages"),
    (["train", "--lr", "0"], "lr"),
    (["train", "--lr", "-1e-3"], "lr"),
    (["train", "--batch", "0"], "batch=0 is invalid"),
    (["train", "--N", "0"], "N=0 is invalid"),
    (["train", "--delta", "0"], "delta=0 is invalid"),
    (["train", "--connections", "ring"], "connections='ring' is invalid"),
    (["train", "--set", "tied=False"], "tied='False' is invalid: not a boolean"),
    (["train", "--set", "tied=yes"], "tied='yes' is invalid: not a boolean"),
    (["train", "--set", "centred=1"], "centred=1 is invalid: not a boolean"),
    (["train", "--set", "centred=0"], "centred=0 is invalid: not a boolean"),
    (["train", "--set", "bogus=1"], "unknown training setting 'bogus'"),
    (["train", "--set", "noequals"], "--set 'noequals' is invalid"),
    (["train", "--set", "=1"], "--set '=1' is invalid"),
    (["train", "--set", "optimizer=lbfgs"], "optimizer='lbfgs' is invalid"),
    (["train", "--set", "schedule=bogus"], "schedule='bogus' is invalid"),
    (["train", "--set", "B=-1"], "B=-1 is invalid"),
    (["train", "--set", "freeze=[9]"], "freeze=9 is invalid"),
    (["train", "--set", "lambda_wd=-1"], "lambda_wd=-1 is invalid"),
    (["train", "--set", "n_test=5"], "n_test=5 is invalid"),
    (["train", "--set", "eval_points=1"], "eval_points=1 is invalid"),
    (["train", "--set", "mode=bogus"], "--mode 'bogus' is invalid"),
    (["train", "--set", "init_scale=nan"], "init_scale=nan is invalid"),
    (["train", "--k-target", "0"], "k_target=0 is invalid"),
    (["train", "--target-seed", "-1"], "target_seed=-1 is invalid"),
    # three-layer
    (["three-layer", "--sigma1", "gelu"], "--sigma1='gelu' is invalid"),
    (["three-layer", "--dist", "cube"], "--dist='cube' is invalid"),
    (["three-layer", "--n2", "3"], "--n2=3 is invalid"),
    (["three-layer", "--n1", "0"], "--n1=0 is invalid"),
    (["three-layer", "--m1", "0"], "--m1=0 is invalid"),
    (["three-layer", "--m2", "x"], "--m2='x' is invalid"),
    (["three-layer", "--rank", "1"], "--rank=1 is invalid"),
    (["three-layer", "--rank", "100"], "--rank=100 is invalid"),
    (["three-layer", "--d", "1"], "--d=1 is invalid"),
    (["three-layer", "--seed", "-1"], "--seed=-1 is invalid"),
    (["three-layer", "exponents", "--ds", "x"], "--ds='x' is invalid"),
    (["three-layer", "exponents", "--ns", ""], "--ns='' is invalid"),
    (["three-layer", "exponents", "--seeds", "1"], "--seeds=1 is invalid"),
    (["three-layer", "exponents", "--eps", "0"], "--eps='0' is invalid"),
    (["three-layer", "exponents", "--learners", "svm"], "--learners='svm' is invalid"),
    (["three-layer", "exponents", "--jobs", "0"], "--jobs=0 is invalid"),
    # kernel
    (["kernel", "span", "--kernel", "laplace"], "--kernel='laplace' is invalid"),
    (["kernel", "span", "--d", "0"], "--d=0 is invalid"),
    (["kernel", "span", "--q", "0"], "--q=0 is invalid"),
    (["kernel", "span", "--N", "0"], "--N=0 is invalid"),
    (["kernel", "span", "--seed", "-1"], "--seed=-1 is invalid"),
    (["kernel", "span", "--d", "40", "--q", "6"], "too large for the exact basis"),
    (["kernel", "span", "--d", "1e9", "--q", "1e9"], "~ 10^602059986"),
    (["kernel", "scaling", "--ds", "x"], "ds='x' is invalid"),
    (["kernel", "scaling", "--seeds", "1"], "seeds=1 is invalid"),
    (["kernel", "scaling", "--learners", "svm"], "--learners='svm' is invalid"),
    (["kernel", "scaling", "--jobs", "0"], "jobs=0 is invalid"),
    (["kernel", "scaling", "--steps", "0"], "steps=0 is invalid"),
    (["kernel", "scaling", "--eps", "-1"], "eps='-1' is invalid"),
    # labels
    (["labels", "show", "--family", "xor"], "--family='xor' is invalid"),
    (["labels", "show", "--wiring", "star"], "--wiring='star' is invalid"),
    (["labels", "show", "--d", "0"], "--d=0 is invalid"),
    (["labels", "show", "--r", "0"], "--r=0 is invalid"),
    (["labels", "show", "--r", "100"], "--r=100 is invalid"),
    (["labels", "show", "--per-level", "0"], "--per-level=0 is invalid"),
    (["labels", "show", "--fan-in", "0"], "--fan-in=0 is invalid"),
    (["labels", "show", "--fan-in", "13"], "fan_in=13 is invalid"),
    (["labels", "show", "--family", "majority"], "fan_in=2 is invalid for majority"),
    (["labels", "show", "--family", "teacher", "--fan-in", "3", "--vote-size", "2"],
     "vote_size=2 is invalid"),
    (["labels", "show", "--min-x-degree", "-1"], "--min-x-degree=-1 is invalid"),
    (["labels", "show", "--seed", "-1"], "--seed=-1 is invalid"),
    (["labels", "study", "--scale", "huge"], "--scale='huge' is invalid"),
    (["labels", "study", "--r", "0"], "--r=0 is invalid"),
    (["labels", "study", "--r", "13"], "--r=13 is invalid"),
    (["labels", "study", "--r", "5"], "--r 5 is invalid at --scale quick"),
    (["labels", "study", "--seeds", "0"], "--seeds=0 is invalid"),
    (["labels", "study", "--mlp-epochs", "0"], "--mlp-epochs=0 is invalid"),
    (["labels", "study", "--mlp-hidden", "x"], "--mlp-hidden='x' is invalid"),
    (["labels", "study", "--set", "bogus=1"], "--set 'bogus=1' is invalid"),
    (["labels", "study", "--set", "r=2"], "--set 'r=2' is invalid"),
    (["labels", "study", "--set", "hints=yes"], "hints='yes' is invalid: not a boolean"),
    (["labels", "study", "--set", "kernel=False"], "kernel='False' is invalid: not a boolean"),
    (["labels", "study", "-j", "0", "--r", "1", "--seeds", "1"], "--jobs=0 is invalid"),
    (["labels", "study", "--grid", "g.toml", "--r", "2"], "--r cannot be combined with --grid"),
    (["labels", "study", "--grid", "g.toml", "--in-process"], "--in-process cannot be combined"),
    # results
    (["results", "--kind", "\U0001f4a5"], "--kind='\U0001f4a5' is invalid"),
    (["results", "--kind", "bogus"], "--kind='bogus' is invalid"),
    (["results", "--kind", ""], "--kind='' is invalid"),
    (["results", "--status", "bogus"], "--status='bogus' is invalid"),
    (["results", "--status", ""], "--status='' is invalid"),
    (["results", "--status", "\U0001f4a5"], "--status='\U0001f4a5' is invalid"),
    (["results", "--limit", "-1"], "--limit=-1 is invalid"),
    (["results", "--limit", "x"], "--limit='x' is invalid"),
    (["results", "--where", "noequals"], "--where 'noequals' is invalid"),
    (["results", "--show", ""], "--show '' is invalid"),
    (["results", "--show", "zzz"], "--show 'zzz' matches 0 runs"),
    # sweep
    (["sweep", "g.toml", "-j", "0"], "--jobs=0 is invalid"),
    (["sweep", "g.toml", "--threads-per-worker", "0"], "--threads-per-worker=0 is invalid"),
    (["sweep", "g.toml", "--lease", "0"], "--lease='0' is invalid"),
    (["sweep", "g.toml", "--lease", "nan"], "not finite"),
    (["sweep", "g.toml", "--connect-timeout", "100"], "--connect-timeout='100' is invalid"),
    (["sweep", "g.toml", "--listen", "no-such-host.invalid"], "--listen='no-such-host.invalid'"),
    (["sweep", "g.toml", "--listen", "203.0.113.7"], "not an address of this machine"),
    (["sweep", "g.toml", "--listen", ""], "--listen='' is invalid"),
    (["sweep", "g.toml", "--scheduler", "localhost:8786"], "--scheduler 'localhost:8786'"),
    # check
    (["check", "claims", "--seed", "-1"], "--seed=-1 is invalid"),
    (["check", "claims", "--seed", "x"], "--seed='x' is invalid"),
    (["check", "claims", "--seed", "4294967296"], "--seed=4294967296 is invalid"),
    (["check", "claims", "--max-examples", "0"], "--max-examples=0 is invalid"),
    (["check", "claims", "-c", "nomatch.*"], "matches no claim"),
    (["check", "claims", "--out", ""], "--out='' is invalid"),
    (["check", "claims", "--out", " "], "--out=' ' is invalid"),
    # argparse
    (["nonsense"], "invalid choice"),
    (["target", "--bogus"], "unrecognized arguments"),
    (["check", "--scale", "huge"], "invalid choice"),
    (["kernel", "spin"], "invalid choice"),
    (["three-layer", "walk"], "invalid choice"),
    (["results", "--limit"], "expected one argument"),
]

CLAIM = '''
from theorycheck import Measurement, claim

@claim(id="mine.tiny", statement="1 <= 2", paper="-", tag="M", ref="-", instances=[1, 2])
def tiny(inst):
    return Measurement(1.0, 2.0)
'''


@pytest.mark.parametrize("argv, needle", CLI_VALUES, ids=[" ".join(a) for a, _ in CLI_VALUES])
def test_cli_value_refused(argv, needle, capsys, tmp_path):
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "mine.py").write_text(CLAIM)
    (tmp_path / "g.toml").write_text('[sweep]\nkind = "target-energy"\n[grid]\nd = [2]\nn = [4]\n')
    make_store(tmp_path / "theorycheck-results.sqlite")
    with Unchanged(tmp_path):
        refused(argv, capsys, needle)


def test_matrix_size_differing_from_d_never_changes_d(capsys, tmp_path):
    np.save(tmp_path / "A.npy", np.eye(5))
    refused(["three-layer", "--matrix", "A.npy", "--d", "16"], capsys,
            ("--d=16 is invalid", "5 x 5", "drop --d or pass --d 5"))


@pytest.mark.parametrize("argv", [
    ["kernel", "span", "--N", "50", "--d", "2", "--q", "2"],
    ["kernel", "span", "--N", "10", "--d", "2", "--q", "1"],
    ["kernel", "span", "--N", "30", "--d", "3", "--q", "2", "--kernel", "gaussian"],
])
def test_span_bound_is_never_negative(argv, capsys):
    code, out, err = run(argv, capsys)
    assert code == 0 and not err.strip()
    bound = out.split("span-lemma bound")[1]
    assert "= 0 (vacuous" in bound and "-" not in bound.split("=")[1].split("(")[0]
    assert "-0.0000" not in out


def test_an_empty_claim_folder_is_exit_2(capsys, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.py").write_text("x = 1\n")
    refused(["check", "mine"], capsys, "defines no claims")
    assert not (tmp_path / "theorycheck-report").exists()


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "x", True, None])
def test_claim_check_seed_refused_like_the_cli(seed):
    from theorycheck import Measurement, claim
    from theorycheck.errors import ClaimError

    @claim(id="mine.s", statement="s", paper="-", tag="M", ref="-", instances=[1])
    def c(inst):
        return Measurement(1.0, 2.0)

    with pytest.raises(ClaimError, match="seed="):
        c.check(seed=seed)


@pytest.mark.parametrize("name, kwargs, needle", [
    ("target_spec", dict(centred="no"), "centred='no' is invalid: not a boolean"),
    ("target_spec", dict(normalise=1), "normalise=1 is invalid: not a boolean"),
    ("target_spec", dict(dist="cube"), "dist='cube' is invalid"),
    ("target_spec", dict(connections=["chain"]), "connections=['chain'] is invalid"),
    ("learner_spec", dict(tied="no"), "tied='no' is invalid: not a boolean"),
    ("learner_spec", dict(centred=0), "centred=0 is invalid: not a boolean"),
    ("learner_spec", dict(offsets="yes"), "offsets='yes' is invalid: not a boolean"),
    ("learner_spec", dict(loss="hinge"), "loss='hinge' is invalid"),
    ("quadratic_target", dict(normalise="yes"), "normalise='yes' is invalid: not a boolean"),
    ("quadratic_target", dict(dist="cube"), "dist='cube' is invalid"),
    ("quadratic_target", dict(d=4, A=np.eye(5)), "d=4 is invalid: A has shape (5, 5)"),
    ("train_config", dict(tied="False"), "tied='False' is invalid: not a boolean"),
    ("train_config", dict(mode="E2E"), "mode='E2E' is invalid"),
])
def test_api_booleans_and_choices_are_strict(name, kwargs, needle):
    import theorycheck.papers.bfc.learner as learner
    import theorycheck.papers.bfc.target as target
    import theorycheck.papers.bfc.training as training
    import theorycheck.papers.three_layer.quadratic_features as qf
    fn = {"target_spec": target.target_spec, "learner_spec": learner.learner_spec,
          "quadratic_target": qf.quadratic_target, "train_config": training.train_config}[name]
    with pytest.raises(TheorycheckError) as info:
        fn(**kwargs)
    assert needle in str(info.value)


@pytest.mark.parametrize("kernel, d_kernel, d_data", [("poly", 5, 3), ("gaussian", 2, 4),
                                                      ("rf", 5, 3)])
def test_kernel_of_another_dimension_is_refused(kernel, d_kernel, d_data):
    from theorycheck.maths.kernel_methods import fit_kernel_ridge, make_kernel
    X = np.random.default_rng(0).standard_normal((20, d_data))
    with pytest.raises(TheorycheckError, match=f"has d={d_data} columns but the {kernel} kernel "
                                               f"was made for d={d_kernel}"):
        fit_kernel_ridge(make_kernel(kernel, d_kernel), X, X[:, 0], np.random.default_rng(0))


@pytest.mark.parametrize("text", ["1e9", "2.5e3", " 12 ", "1E2"])
def test_integers_in_scientific_notation_are_read_exactly(text):
    from theorycheck.validation import check_int
    assert check_int("n", text) == int(float(text))


@pytest.mark.parametrize("value", ["1.5", "1e-3", "inf", "-inf", "nan", "0x10", "", "1e101",
                                   True, False, None, [1], 2.5, float("nan")])
def test_integers_that_are_not(value):
    from theorycheck.validation import check_int
    with pytest.raises(TheorycheckError) as info:
        check_int("n", value)
    assert str(info.value).startswith("n=") and "\n" not in str(info.value)


@pytest.mark.parametrize("value", ["yes", "no", "true", "False", 0, 1, None, [True]])
def test_booleans_that_are_not(value):
    from theorycheck.validation import check_bool
    with pytest.raises(TheorycheckError, match="not a boolean"):
        check_bool("flag", value)


@pytest.mark.parametrize("value", [1, ["a"], {"a": 1}, b"a", None, "A"])
def test_choices_compare_exactly(value):
    from theorycheck.validation import check_choice
    with pytest.raises(TheorycheckError, match="unknown option"):
        check_choice("pick", value, ("a", "b"))
