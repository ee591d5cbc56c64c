"""Exponents with bracketed N_required (theorycheck.maths.exponents.fit_row_bracketed,
docs/kernels.md "The exponent over d = 6, 8, 10")."""

import math

import numpy as np
import pytest

from theorycheck.maths.exponents import fit_exponent, fit_row, fit_row_bracketed, seed_interval

NS = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000]


def _curves(req):
    """Curves linear in log n crossing 0 exactly at n = req[(d, seed)] (None: never)."""
    return {k: (NS, [math.log(r / n) if r else 1.0 for n in NS]) for k, r in req.items()}


def test_a_point_bracket_is_the_measured_fit():
    req = {(d, s): d ** (2 + 0.1 * s) for d in (2, 4, 8) for s in range(3)}
    full = fit_row("t", [2, 4, 8], range(3), _curves(req), 0.0)
    cut = {k: (v if k[0] != 8 else None) for k, v in req.items()}
    b = fit_row_bracketed("t", [2, 4, 8], range(3), _curves(cut), 0.0,
                          {(8, s): (req[(8, s)], req[(8, s)]) for s in range(3)})
    assert b.mean_lo == pytest.approx(full.exponent) == pytest.approx(b.mean_hi)
    assert (b.lo, b.hi) == pytest.approx((full.lo, full.hi))
    assert b.censored == 0 and b.seeds_fitted == 3


@pytest.mark.parametrize("joint", [True, False])
def test_the_interval_covers_every_choice_inside_the_brackets(joint):
    """The reported [lo, hi] and mean range contain the t-interval and mean of every choice of
    the bracketed values (random interior points; joint: one shared position)."""
    rng = np.random.default_rng(0)
    ds, seeds = [6, 8, 10], range(3)
    req = {(d, s): 30 * d ** 3 * rng.uniform(0.7, 1.4) for d in (6, 8) for s in seeds}
    brackets = {(10, s): (1e4 * rng.uniform(1, 2), 5e4 * rng.uniform(1, 2)) for s in seeds}
    row = fit_row_bracketed("t", ds, seeds, _curves(req), 0.0, brackets, joint=joint)
    for _ in range(300):
        t = rng.uniform(size=3) if not joint else np.full(3, rng.uniform())
        n10 = {s: math.exp((1 - t[s]) * math.log(brackets[(10, s)][0]) + t[s] * math.log(brackets[(10, s)][1]))
               for s in seeds}
        per = [fit_exponent(ds, [req[(6, s)], req[(8, s)], n10[s]]) for s in seeds]
        m, lo, hi = seed_interval(per)
        assert row.mean_lo - 1e-12 <= m <= row.mean_hi + 1e-12
        assert row.lo - 1e-12 <= lo and hi <= row.hi + 1e-12
    assert row.corners == (2 if joint else 8)


def test_the_independent_rule_is_wider_than_the_joint_one():
    rng = np.random.default_rng(1)
    req = {(d, s): 30 * d ** 3 * rng.uniform(0.9, 1.1) for d in (6, 8) for s in range(3)}
    brackets = {(10, s): (2e4, 6e4) for s in range(3)}
    joint = fit_row_bracketed("t", [6, 8, 10], range(3), _curves(req), 0.0, brackets)
    free = fit_row_bracketed("t", [6, 8, 10], range(3), _curves(req), 0.0, brackets, joint=False)
    assert free.lo < joint.lo and free.hi > joint.hi
    assert (free.mean_lo, free.mean_hi) == pytest.approx((joint.mean_lo, joint.mean_hi))


def test_a_measured_crossing_takes_precedence_and_bad_brackets_are_refused():
    req = {(d, 0): d ** 2 for d in (2, 4, 8)} | {(d, 1): d ** 2 for d in (2, 4, 8)}
    row = fit_row_bracketed("t", [2, 4, 8], [0, 1], _curves(req), 0.0, {(8, 0): (1.0, 2.0)})
    assert row.mean_lo == pytest.approx(2.0) == pytest.approx(row.mean_hi)
    assert row.n_required[0][8] == pytest.approx(64)
    with pytest.raises(ValueError, match="lo <= hi"):
        fit_row_bracketed("t", [2, 4, 8], [0, 1], _curves(req), 0.0, {(8, 0): (3.0, 2.0)})
