"""The public API checks argument types at its boundary: a wrong type or value raises a
:class:`~theorycheck.errors.TheorycheckError` (a ``ValueError``) with one line naming the
argument, never a raw ``TypeError`` / ``AttributeError`` from deep inside."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import theorycheck as tc
from theorycheck.errors import TheorycheckError


def _measure(inst):
    return tc.Measurement(1.0, 2.0)


def _pair(inst):
    return 1.0, 2.0


GOOD_CLAIM = dict(id="mine.ok", statement="s", paper="p", tag="M", ref="-", instances=[1])


def _claim(**over):
    return tc.claim(**{**GOOD_CLAIM, **over})(_measure)


def _lemma(**over):
    return tc.lemma(**{"id": "mine.l", "instances": st.integers(), **over})(_pair)


CASES = {
    # claim
    "claim id int": (lambda: _claim(id=5), "id=5"),
    "claim id None": (lambda: _claim(id=None), "id=None"),
    "claim id empty": (lambda: _claim(id=""), "id=''"),
    "claim statement int": (lambda: _claim(statement=3), "statement=3"),
    "claim paper None": (lambda: _claim(paper=None), "paper=None"),
    "claim ref list": (lambda: _claim(ref=["a"]), "ref=['a']"),
    "claim tag list": (lambda: _claim(tag=["M"]), "tag=['M']"),
    "claim tag lower": (lambda: _claim(tag="m"), "tag='m'"),
    "claim instances int": (lambda: _claim(instances=7), "instances=7"),
    "claim instances None": (lambda: _claim(instances=None), "instances=None"),
    "claim z zero": (lambda: _claim(z=0), "z=0"),
    "claim z str": (lambda: _claim(z="4"), "z='4'"),
    "claim z bool": (lambda: _claim(z=True), "z=True"),
    "claim max_examples 0": (lambda: _claim(max_examples=0), "max_examples"),
    "claim max_examples str": (lambda: _claim(max_examples="many"), "max_examples"),
    "claim decorates int": (lambda: tc.claim(**GOOD_CLAIM)(5), "not callable"),
    "claim unknown knob": (lambda: tc.claim(**GOOD_CLAIM, knob=1)(_measure), "knob"),
    "check scale": (lambda: _claim().check(scale="huge"), "scale='huge'"),
    "check seed -1": (lambda: _claim().check(seed=-1), "seed=-1"),
    "check seed str": (lambda: _claim().check(seed="zero"), "seed='zero'"),
    "check seed float": (lambda: _claim().check(seed=0.5), "seed=0.5"),
    "check max_examples": (lambda: _claim().check(max_examples=0), "max_examples=0"),
    "run_claim not a claim": (lambda: tc.run_claim("mine.ok"), "claim_='mine.ok'"),
    "select patterns": (lambda: tc.select([_claim()], ["nomatch"]), "nomatch"),
    # lemma
    "lemma id int": (lambda: _lemma(id=3), "id=3"),
    "lemma relation": (lambda: _lemma(relation="<"), "relation='<'"),
    "lemma relation list": (lambda: _lemma(relation=["<="]), "relation"),
    "lemma rtol negative": (lambda: _lemma(rtol=-1), "rtol=-1"),
    "lemma rtol str": (lambda: _lemma(rtol="tiny"), "rtol='tiny'"),
    "lemma atol bool": (lambda: _lemma(atol=True), "rtol/atol"),
    "lemma atol nan": (lambda: _lemma(atol=float("nan")), "atol=nan"),
    "lemma instances": (lambda: _lemma(instances=3.5), "instances=3.5"),
    "lemma tag": (lambda: _lemma(tag="Q"), "tag='Q'"),
    "lemma lhs only": (lambda: tc.lemma(id="mine.l", instances=[1], lhs=abs), "both lhs= and rhs="),
    "lemma lhs not callable": (lambda: tc.lemma(id="mine.l", instances=[1], lhs=1, rhs=2),
                               "lhs=1"),
    "lemma decorates a class": (lambda: tc.lemma(id="mine.l", instances=[1])(int), "class int"),
    "lemma decorates a number": (lambda: tc.lemma(id="mine.l", instances=[1])(3), "int"),
    # load_grid / expand_grid / run_sweep
    "load_grid int": (lambda: tc.load_grid(5), "path=5"),
    "load_grid None": (lambda: tc.load_grid(None), "path=None"),
    "load_grid list": (lambda: tc.load_grid(["g.toml"]), "path=['g.toml']"),
    "load_grid empty": (lambda: tc.load_grid(""), "path=''"),
    "load_grid folder": (lambda: tc.load_grid("."), "is a folder"),
    "load_grid missing": (lambda: tc.load_grid("missing.toml"), "does not exist"),
    "expand_grid list": (lambda: __import__("theorycheck.runs.sweep", fromlist=["x"])
                         .expand_grid([1]), "grid=[1]"),
    "run_sweep empty": (lambda: tc.run_sweep([], "s.sqlite"), "no runs"),
    # build_target / target_spec
    "build_target spec str": (lambda: tc.__getattr__("symbolic_target") and
                              __import__("theorycheck.papers.bfc.target", fromlist=["x"])
                              .build_target("d=4"), "spec='d=4'"),
    "build_target spec dict": (lambda: __import__("theorycheck.papers.bfc.target", fromlist=["x"])
                               .build_target({"d": 4}), "not a TargetSpec"),
    "build_target both": (lambda: __import__("theorycheck.papers.bfc.target", fromlist=["x"])
                          .build_target(_spec(), d=4), "not both"),
    "build_target d str": (lambda: _target(d="four"), "d='four'"),
    "build_target d float": (lambda: _target(d=4.5), "d=4.5"),
    "build_target d None": (lambda: _target(d=None), "d=None"),
    "build_target L": (lambda: _target(L=1), "L=1"),
    "build_target k list": (lambda: _target(k_target=[2, 2, 2]), "widths"),
    "build_target k str": (lambda: _target(k_target="two"), "k_target='two'"),
    "build_target alphas": (lambda: _target(alphas=[1.0, 0.5]), "alphas"),
    "build_target seed": (lambda: _target(seed=-1), "seed=-1"),
    "build_target kappa": (lambda: _target(kappa="x"), "kappa='x'"),
    "build_target connections": (lambda: _target(connections=5), "connections=5"),
    "build_target centred": (lambda: _target(centred="yes"), "centred='yes'"),
    "build_target unknown kw": (lambda: _target(width=3), "width"),
    "symbolic_target str": (lambda: tc.symbolic_target("G*"), "BFCTarget"),
    "symbolic_target line": (lambda: tc.symbolic_target(_small(), line="diagonal"), "line="),
    "verify_degrees": (lambda: tc.verify_degrees(None), "SymbolicTarget"),
    # init_learner / learner_spec
    "init_learner spec dict": (lambda: tc.init_learner({"d": 4}), "spec={'d': 4}"),
    "init_learner spec None": (lambda: tc.init_learner(None), "spec=None"),
    "init_learner target": (lambda: tc.init_learner(_lspec(), target="G"), "target='G'"),
    "init_learner scheme": (lambda: tc.init_learner(_lspec(), scheme="big"), "scheme='big'"),
    "init_learner rng": (lambda: tc.init_learner(_lspec(), rng="seed"), "rng='seed'"),
    "init_learner rng bool": (lambda: tc.init_learner(_lspec(), rng=True), "rng=True"),
    "init_learner dtype": (lambda: tc.init_learner(_lspec(), dtype="int8"), "dtype=int8"),
    "init_learner dtype junk": (lambda: tc.init_learner(_lspec(), dtype="junk"), "dtype='junk'"),
    "init_learner scale": (lambda: tc.init_learner(_lspec(), scale=-1.0), "scale=-1.0"),
    "init_learner planted": (lambda: tc.init_learner(_lspec(), scheme="planted"), "target"),
    "learner_spec d": (lambda: tc.learner_spec("x", tied=False), "d='x'"),
    "learner_spec m<k": (lambda: tc.learner_spec(4, 3, k=4, m=2, tied=False), "m=2"),
    "learner_spec tied m": (lambda: tc.learner_spec(4, 3, k=2, m=3, tied=True), "tied=True"),
    "learner_spec B": (lambda: tc.learner_spec(4, 3, B=-2, tied=False), "B=-2"),
    "learner_spec lift": (lambda: tc.learner_spec(4, 3, k=3, lift_rows=2, tied=False), "lift_rows=2"),
    # quadratic_target
    "quadratic_target d str": (lambda: tc.quadratic_target("x"), "d='x'"),
    "quadratic_target d 1": (lambda: tc.quadratic_target(1), "d=1"),
    "quadratic_target seed str": (lambda: tc.quadratic_target(4, seed="seed"), "seed='seed'"),
    "quadratic_target seed float": (lambda: tc.quadratic_target(4, seed=1.5), "seed=1.5"),
    "quadratic_target A str": (lambda: tc.quadratic_target(A="eye"), "A could not be read"),
    "quadratic_target A rect": (lambda: tc.quadratic_target(A=np.zeros((2, 3))), "square"),
    "quadratic_target A nan": (lambda: tc.quadratic_target(A=np.full((3, 3), np.nan)),
                               "non-finite"),
    "quadratic_target A vs d": (lambda: tc.quadratic_target(3, A=np.eye(4)), "d=3"),
    "quadratic_target rank": (lambda: tc.quadratic_target(4, rank=9), "rank=9"),
    "quadratic_target link": (lambda: tc.quadratic_target(4, link="x^2"), "link"),
    "quadratic_target dist": (lambda: tc.quadratic_target(4, dist=3), "dist=3"),
    "run_three_layer target": (lambda: tc.run_three_layer("t", 10, 10, np.random.default_rng()),
                               "target='t'"),
    "run_three_layer rng": (lambda: tc.run_three_layer(tc.quadratic_target(4), 10, 10, 0),
                            "rng=0"),
    "run_three_layer config": (lambda: tc.run_three_layer(tc.quadratic_target(4), 10, 10,
                                                          np.random.default_rng(), config={}),
                               "config={}"),
    "ThreeLayerConfig m1": (lambda: tc.ThreeLayerConfig(m1="wide"), "m1='wide'"),
    # kernels, span lemma, training, run kinds
    "make_kernel name": (lambda: tc.make_kernel("laplace", 3), "kernel='laplace'"),
    "make_kernel d": (lambda: tc.make_kernel("poly", "three"), "d='three'"),
    "fit_kernel_ridge spec": (lambda: tc.fit_kernel_ridge("poly", np.zeros((4, 2)), np.zeros(4),
                                                          np.random.default_rng()), "spec='poly'"),
    "fit_kernel_ridge lambdas": (lambda: tc.fit_kernel_ridge(tc.make_kernel("poly", 2),
                                                             np.zeros((4, 2)), np.zeros(4),
                                                             np.random.default_rng(), lambdas=1),
                                 "lambdas=1"),
    "fit_kernel_ridge Y": (lambda: tc.fit_kernel_ridge(tc.make_kernel("poly", 2), np.zeros((4, 2)),
                                                       np.zeros(3), np.random.default_rng()), "Y"),
    "span_experiment rng": (lambda: tc.span_experiment("poly", 3, 2, 10, 0), "rng=0"),
    "span_experiment kernel": (lambda: tc.span_experiment("ntk", 3, 2, 10,
                                                          np.random.default_rng()), "kernel='ntk'"),
    "span_experiment r": (lambda: tc.span_experiment("poly", 3, 2, 10, np.random.default_rng(),
                                                     r=-1), "r=-1"),
    "train cfg dict": (lambda: __import__("theorycheck.papers.bfc.training", fromlist=["x"])
                       .train({"d": 4}), "cfg={'d': 4}"),
    "train unknown": (lambda: __import__("theorycheck.papers.bfc.training", fromlist=["x"])
                      .train(depth=3), "depth"),
    "get_kind int": (lambda: tc.get_kind(3), "kind=3"),
    "get_kind unknown": (lambda: tc.get_kind("nope"), "kind='nope'"),
    "register_run_kind name": (lambda: tc.register_run_kind("a:b", _measure), "a:b"),
    "register_run_kind fn": (lambda: tc.register_run_kind("mine-k", 5), "fn=5"),
    "run_once kind": (lambda: tc.run_once("nope", {}, 0, "s.sqlite"), "kind='nope'"),
    "run_once config": (lambda: tc.run_once("target-energy", [1], 0, "s.sqlite"), "config"),
    "run_once seed": (lambda: tc.run_once("target-energy", {}, -1, "s.sqlite"), "seed=-1"),
    "run_once key": (lambda: tc.run_once("target-energy", {"dd": 1}, 0, "s.sqlite"), "'dd'"),
    "config_hash nan": (lambda: tc.config_hash("k", {"a": float("nan")}, 0), "non-finite"),
    "config_hash object": (lambda: tc.config_hash("k", {"a": object()}, 0), "JSON"),
    # label hierarchies
    "hierarchy family": (lambda: __import__("theorycheck.papers.labels.hierarchies",
                                            fromlist=["x"]).generate(8, 2, family="xor"),
                         "family='xor'"),
    "hierarchy d str": (lambda: __import__("theorycheck.papers.labels.hierarchies",
                                           fromlist=["x"]).generate("eight", 2), "d='eight'"),
    "hierarchy widths": (lambda: __import__("theorycheck.papers.labels.hierarchies",
                                            fromlist=["x"]).generate(8, 2, [2, 2, 2]),
                         "labels_per_level"),
    "teacher gate_fan_in": (lambda: tc.teacher(8, 2, gate_fan_in=2), "gate_fan_in=2"),
    # maths
    "gaussian_moment": (lambda: tc.gaussian_moment("two"), None),
    "sample_inputs dist": (lambda: tc.sample_inputs(4, 2, np.random.default_rng(), "cube"),
                           "dist='cube'"),
    "sample_inputs n": (lambda: tc.sample_inputs(0, 2, np.random.default_rng()), "n=0"),
    "mc_expectation n": (lambda: tc.mc_expectation(np.sum, 2, 1, np.random.default_rng()), "n=1"),
}


def _spec():
    from theorycheck.papers.bfc.target import target_spec
    return target_spec(3, 2)


def _target(**kw):
    from theorycheck.papers.bfc.target import build_target
    return build_target(**{"d": 3, "L": 2, **kw})


def _small():
    return _target()


def _lspec():
    return tc.learner_spec(3, 2, tied=False)


@pytest.mark.parametrize("case", list(CASES))
def test_api_refuses_with_one_line_naming_the_argument(case, tmp_path):
    fn, needle = CASES[case]
    try:
        fn()
    except TheorycheckError as exc:
        msg = str(exc)
        assert "\n" not in msg, msg
        if needle is not None:
            assert needle in msg, msg
    except Exception as exc:  # pragma: no cover - the failure this suite exists to catch
        pytest.fail(f"{case}: raised {type(exc).__name__}: {exc}, not a TheorycheckError")
    else:
        pytest.fail(f"{case}: accepted")
    assert not (tmp_path / "s.sqlite").exists()
