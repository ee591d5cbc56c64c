"""The claims engine: verdicts, shrinking, grids, errors, variants, discovery."""

from __future__ import annotations

import math

import pytest
from hypothesis import strategies as st

from theorycheck import Measurement, claim, discover, find_claim, grid, select
from theorycheck.claims.engine import describe_result
from theorycheck.errors import ClaimError


def test_measurement_verdict_bands():
    assert Measurement(1.0, 2.0).verdict(4) == "holds"
    assert Measurement(3.0, 2.0).verdict(4) == "fails"
    assert Measurement(1.9, 2.0, stderr=0.1).verdict(4) == "inconclusive"
    assert Measurement(3.0, 2.0, ">=").verdict(4) == "holds"
    assert Measurement(1.0, 2.0, ">=").verdict(4) == "fails"
    assert Measurement(math.nan, 1.0).verdict(4) == "fails"


def test_measurement_ratio_orientation():
    assert Measurement(1.0, 2.0).ratio == 0.5
    assert Measurement(4.0, 2.0, ">=").ratio == 0.5
    assert Measurement(0.0, 0.0).ratio == 0.0
    assert Measurement(1e-3, 0.0).ratio == math.inf


def test_bad_relation_and_tag_are_rejected():
    with pytest.raises(ClaimError, match="relation"):
        Measurement(1.0, 1.0, "<")
    with pytest.raises(ClaimError, match="tag"):
        claim(id="x", statement="s", paper="p", tag="Z", ref="r", instances=[1])(lambda i: None)


def _square_claim(limit):
    @claim(id="toy.square", statement="n^2 <= limit", paper="toy", tag="M", ref="none",
           instances=st.integers(0, 1000), max_examples=200, limit=limit)
    def square(n, *, limit):
        return Measurement(n * n, limit)
    return square


def test_hypothesis_search_shrinks_to_smallest_counterexample():
    res = _square_claim(100).check(seed=3)
    assert res.verdict == "fails"
    assert res.counterexample == 11  # the smallest n with n^2 > 100
    assert "instance = 11" in res.reproducer


def test_claim_holds_when_bound_respected():
    res = _square_claim(10**7).check(seed=3)
    assert res.verdict == "holds", describe_result(res)
    assert 0 <= res.worst_ratio <= 1
    assert res.instances > 10


def test_variant_overrides_knobs_and_renames():
    c = _square_claim(10**7)
    v = c.variant("tight", limit=4)
    assert v.id == "toy.square[tight]"
    assert v.check().verdict == "fails"
    with pytest.raises(ClaimError, match="not parameters"):
        c.variant(nonsense=1)


def test_grid_claim_first_failure_is_reported():
    @claim(id="toy.grid", statement="a*b <= 6", paper="toy", tag="M", ref="none",
           instances=grid(a=[1, 2, 3], b=[1, 2, 3]))
    def prod(inst):
        return Measurement(inst["a"] * inst["b"], 6)
    res = prod.check()
    assert res.verdict == "fails"
    assert res.counterexample == {"a": 3, "b": 3}
    assert res.instances == 9


def test_inconclusive_when_error_bars_straddle():
    @claim(id="toy.mc", statement="noisy", paper="toy", tag="M", ref="none", instances=[1, 2])
    def noisy(i):
        return Measurement(1.0, 1.05, stderr=0.1)
    assert noisy.check().verdict == "inconclusive"


def test_raising_measure_is_an_error_row_with_traceback():
    @claim(id="toy.raise", statement="raises on big n", paper="toy", tag="M", ref="none",
           instances=st.integers(0, 100), max_examples=100)
    def boom(n):
        if n > 7:
            raise RuntimeError("boom")
        return Measurement(0, 1)
    res = boom.check(seed=1)
    assert res.verdict == "error"
    assert res.counterexample == 8
    assert "RuntimeError: boom" in res.traceback


def test_measure_must_return_measurements():
    @claim(id="toy.bad", statement="bad", paper="toy", tag="M", ref="none", instances=[1])
    def bad(i):
        return 3.0
    with pytest.raises(ClaimError, match="return a Measurement"):
        bad.check()


def test_same_seed_same_result_and_rng_is_per_instance():
    @claim(id="toy.rng", statement="rng", paper="toy", tag="M", ref="none",
           instances=st.integers(0, 5), max_examples=20)
    def r(n, *, rng):
        return Measurement(float(rng.random()), 2.0)
    a, b = r.check(seed=5), r.check(seed=5)
    assert a.worst == b.worst


def test_select_globs_and_unknown_ids():
    claims = discover()
    assert select(claims, ["gaussian.*"])
    with pytest.raises(ClaimError, match="matches no claim"):
        select(claims, ["no.such.claim"])
    with pytest.raises(ClaimError, match="matches no claim"):
        find_claim("no.such.claim")


def test_discover_user_folder(tmp_path):
    (tmp_path / "mine.py").write_text(
        "from theorycheck import claim, Measurement\n"
        "@claim(id='user.one', statement='1 <= 2', paper='me', tag='M', ref='-', instances=[0])\n"
        "def one(i):\n    return Measurement(1, 2)\n")
    claims = discover(tmp_path)
    assert [c.id for c in claims] == ["user.one"]
    assert claims[0].check().verdict == "holds"


def test_discover_missing_folder_is_clear(tmp_path):
    with pytest.raises(ClaimError, match="does not exist"):
        discover(tmp_path / "nope")


def test_as_test_builds_a_pytest_function():
    t = _square_claim(10).as_test(expect="fails")
    t()
    with pytest.raises(AssertionError):
        _square_claim(10).as_test()()
