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


# ------------------------------------------------------------------ fails beats error


def test_fails_wins_over_an_error_met_first_in_the_search():
    """An error on some instances must not hide a violation on others (docs/theory.md §0.2)."""
    @claim(id="toy.odd_raises", statement="even n <= 499", paper="toy", tag="M", ref="none",
           instances=st.integers(0, 1000), max_examples=300)
    def odd(n):
        if n % 2:
            raise RuntimeError("odd")
        return Measurement(n, 499)
    res = odd.check(seed=0)
    assert res.verdict == "fails", describe_result(res)
    assert res.counterexample == 500
    assert res.n_errors >= 1 and res.errors[0]["reason"] == "RuntimeError: odd"
    d = res.to_dict()
    assert d["counterexample"] == "500" and d["errors"][0]["reason"] == "RuntimeError: odd"


def test_fails_wins_over_an_error_on_a_grid():
    @claim(id="toy.grid_err", statement="n <= 1", paper="toy", tag="M", ref="none",
           instances=[0, 1, 2, 3])
    def g(n):
        if n == 1:
            raise ValueError("one")
        return Measurement(n, 1)
    res = g.check()
    assert res.verdict == "fails" and res.counterexample == 2
    assert res.instances == 4 and res.n_errors == 1
    assert res.errors[0]["instance"] == "1" and res.errors[0]["reason"] == "ValueError: one"


# ------------------------------------------------------------------ assume / reject


def test_assume_in_a_measure_discards_the_instance():
    from hypothesis import assume

    @claim(id="toy.assume", statement="n even => n/2 integral", paper="toy", tag="M", ref="none",
           instances=st.integers(0, 1000), max_examples=30)
    def half(n):
        assume(n % 2 == 0)
        return Measurement(n % 2, 0)
    res = half.check(seed=1)
    assert res.verdict == "holds", describe_result(res)
    assert res.discarded > 0 and res.n_errors == 0
    assert res.to_dict()["discarded"] == res.discarded


def test_reject_everything_is_inconclusive_with_a_reason():
    from hypothesis import reject

    @claim(id="toy.reject", statement="never measured", paper="toy", tag="M", ref="none",
           instances=st.integers(0, 10**6), max_examples=20)
    def never(n):
        reject()
    res = never.check()
    assert res.verdict == "inconclusive", describe_result(res)
    assert res.instances == 0 and res.discarded > 0
    assert "discarded" in res.reason and "no instance" in res.reason


def test_assume_on_a_grid_discards_and_heavy_discarding_is_noted():
    from hypothesis import assume

    @claim(id="toy.grid_assume", statement="n = 0", paper="toy", tag="M", ref="none",
           instances=list(range(20)))
    def only_zero(n):
        assume(n == 0)
        return Measurement(n, 0)
    res = only_zero.check()
    assert res.verdict == "holds" and res.instances == 1 and res.discarded == 19
    assert any("discarded 19 of 20" in n for n in res.notes)


# ------------------------------------------------------------------ malformed claims


def test_malformed_measure_is_an_error_row_with_the_reason():
    @claim(id="toy.scalar", statement="bad", paper="toy", tag="M", ref="none", instances=[1, 2])
    def bad(i):
        return 3.0
    res = bad.check()
    assert res.verdict == "error"
    assert "return a Measurement" in res.reason and "\n" not in res.reason


def test_missing_scale_is_an_error_row():
    @claim(id="toy.noscale", statement="s", paper="toy", tag="M", ref="none",
           instances={"quick": [1]})
    def one(i):
        return Measurement(0, 1)
    res = one.check(scale="full")
    assert res.verdict == "error" and "no instances for scale='full'" in res.reason


def test_all_error_claim_has_no_worst_ratio():
    @claim(id="toy.allerr", statement="s", paper="toy", tag="M", ref="none", instances=[1])
    def boom(i):
        raise RuntimeError("x")
    res = boom.check()
    assert res.verdict == "error" and res.worst is None
    assert res.to_dict()["worst_ratio"] is None


def test_runtime_warnings_are_captured_per_claim():
    import warnings

    import numpy as np

    @claim(id="toy.warn", statement="1/0 is inf", paper="toy", tag="M", ref="none", instances=[1])
    def w(i):
        return Measurement(float(np.isinf(np.float64(1.0) / np.float64(0.0))), 1)
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        res = w.check()
    assert res.verdict == "holds"
    assert not [x for x in leaked if issubclass(x.category, RuntimeWarning)]
    assert res.warnings and "divide by zero" in res.warnings[0]["message"]
    assert res.warnings[0]["category"] == "RuntimeWarning" and res.warnings[0]["count"] == 1
    assert res.to_dict()["warnings"] == res.warnings


# ------------------------------------------------------------------ effort


def _counting(max_examples=None):
    @claim(id="toy.count", statement="n >= 0", paper="toy", tag="M", ref="none",
           instances=st.integers(0, 10**9), max_examples=max_examples)
    def count(n):
        return Measurement(-n, 0)
    return count


def test_per_scale_effort_inherits_and_is_validated():
    assert _counting({"quick": 300}).max_examples == {"quick": 300, "full": 300}
    assert _counting(7).max_examples == {"quick": 7, "full": 7}
    with pytest.raises(ClaimError, match=r"unknown scale.*'quik'.*quick, full"):
        _counting({"quik": 3})
    for bad in (0, -1, {"quick": 0}, True, 2.5, {}):
        with pytest.raises(ClaimError, match="max_examples"):
            _counting(bad)
    with pytest.raises(ClaimError, match=r"max_examples=0 is invalid"):
        _counting(5).check(max_examples=0)


def test_effort_is_what_was_asked_for():
    assert _counting(12).check().instances == 12
    assert _counting({"quick": 5}).check(scale="full").instances == 5
    assert _counting(12).check(max_examples=3).instances == 3


def test_hypothesis_profile_sets_the_effort_when_the_claim_gives_none(monkeypatch):
    from hypothesis import settings
    previous = settings.get_current_profile_name()
    settings.register_profile("theorycheck-test-9", max_examples=9, deadline=None)
    settings.register_profile("theorycheck-test-4", max_examples=4, deadline=None)
    try:
        settings.load_profile("theorycheck-test-9")
        assert _counting().check().instances == 9
        assert _counting(6).check().instances == 6          # the claim's own effort wins
        monkeypatch.setenv("HYPOTHESIS_PROFILE", "theorycheck-test-4")
        assert _counting().check().instances == 4
    finally:
        settings.load_profile(previous)


# ------------------------------------------------------------------ example database


def _rare(limit=1000):
    @claim(id="toy.rare", statement="n <= limit", paper="toy", tag="M", ref="none",
           instances=st.integers(0, 2000), max_examples=200)
    def rare(n):
        return Measurement(n, limit)
    return rare


def test_example_database_replays_yesterdays_counterexample(tmp_path):
    db = tmp_path / ".hypothesis"
    first = _rare().check(seed=0, database=db)
    assert first.verdict == "fails" and first.counterexample == 1001
    assert _rare().check(seed=0, max_examples=1).verdict == "holds"  # one fresh draw misses it
    again = _rare().check(seed=0, max_examples=1, database=db)
    assert again.verdict == "fails" and again.counterexample == 1001


# ------------------------------------------------------------------ targeted search


def test_search_targets_the_worst_ratio_of_each_measurement(monkeypatch):
    import hypothesis
    seen = []
    real = hypothesis.target

    def spy(observation, *, label=""):
        seen.append((observation, label))
        return real(observation, label=label)
    monkeypatch.setattr(hypothesis, "target", spy)

    drawn = []

    @claim(id="toy.two", statement="two labels", paper="toy", tag="M", ref="none",
           instances=st.integers(0, 100), max_examples=10)
    def two(n):
        drawn.append(n)
        return [Measurement(n, 200, label="a"), Measurement(n, 400, label="a"),
                Measurement(200, n + 1, ">=", label="")]
    assert two.check().verdict == "holds"
    labels = {lab for _, lab in seen}
    assert labels == {"a", "measurement 2"}
    assert all(math.isfinite(o) for o, _ in seen)
    # one observation per label and instance: the worst ratio among that label's measurements
    assert [o for o, lab in seen if lab == "a"] == [n / 200 for n in drawn]
    assert [o for o, lab in seen if lab == "measurement 2"] == [(n + 1) / 200 for n in drawn]
    seen.clear()

    @claim(id="toy.grid_t", statement="grid", paper="toy", tag="M", ref="none", instances=[1, 2])
    def gridded(n):
        return Measurement(n, 3, label="g")
    assert gridded.check().verdict == "holds" and not seen


def test_targeting_climbs_to_a_violation_random_search_misses():
    @claim(id="toy.climb", statement="sum <= 1950", paper="toy", tag="M", ref="none",
           instances=st.lists(st.integers(0, 100), min_size=20, max_size=20), max_examples=300)
    def climb(xs):
        return Measurement(sum(xs), 1950, label="sum")
    res = climb.check(seed=0)
    assert res.verdict == "fails", describe_result(res)
