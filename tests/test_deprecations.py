"""Renamed names: one meaning per name across the API, the old names kept one release with a
DeprecationWarning (Python) or a one-line notice (command line) that names the replacement."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import theorycheck as tc
from theorycheck.errors import SpecError


def _no_warning(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        return fn()


def test_target_width_is_k_target_everywhere():
    import inspect

    from theorycheck.papers.bfc.target import build_target, target_spec
    from theorycheck.papers.bfc.training import TrainConfig

    assert "k_target" in inspect.signature(target_spec).parameters
    assert "k_target" in TrainConfig.__dataclass_fields__ and "k" in TrainConfig.__dataclass_fields__
    new = _no_warning(lambda: build_target(d=3, L=3, k_target=2, seed=1))
    with pytest.warns(DeprecationWarning, match=r"target_spec\(k=\.\.\.\) is deprecated.*use k_target="):
        old = build_target(d=3, L=3, k=2, seed=1)
    assert old.spec == new.spec
    with pytest.raises(SpecError, match="pass only k_target"):
        build_target(d=3, L=3, k=2, k_target=2)


@pytest.mark.parametrize("name", ["quadratic_target", "single_index_target"])
def test_target_builders_take_seed(name):
    from theorycheck.papers.three_layer import quadratic_features as qf

    build = getattr(qf, name)
    new = _no_warning(lambda: build(5, seed=3))
    with pytest.warns(DeprecationWarning, match=rf"{name}\(rng=\.\.\.\) is deprecated.*use seed="):
        old = build(5, rng=3)
    field = "A" if name == "quadratic_target" else "beta"
    assert np.array_equal(getattr(old, field), getattr(new, field))
    assert not np.array_equal(getattr(build(5, seed=4), field), getattr(new, field))


def test_learner_spec_asks_for_tied():
    from theorycheck.papers.bfc.learner import learner_spec

    with pytest.warns(DeprecationWarning, match=r"tied=True in TrainConfig.*pass tied=False"):
        spec = learner_spec(4, 3, k=2)
    assert spec.tied is False
    assert _no_warning(lambda: learner_spec(4, 3, k=2, tied=True)).tied is True


def test_evaluate_is_evaluate_claim():
    assert "evaluate_claim" in tc.__all__ and "evaluate" not in tc.__all__
    with pytest.warns(DeprecationWarning, match=r"theorycheck.evaluate is deprecated.*evaluate_claim"):
        old = tc.evaluate
    assert old is _no_warning(lambda: tc.evaluate_claim)
    with pytest.warns(DeprecationWarning):   # every use warns, not only the first
        tc.evaluate


def test_cli_old_target_width_flag(capsys):
    from theorycheck.commands.main import build_parser

    args = build_parser().parse_args(["target", "--k", "3"])
    assert args.k_target == "3"
    err = capsys.readouterr().err
    assert "DeprecationWarning: --k is deprecated" in err and "use --k-target" in err
