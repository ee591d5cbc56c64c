"""The learner's invariant claims hold, and their broken variants fail (docs/theory.md §1.8.2, §1.8.6)."""

from __future__ import annotations

import dataclasses

from hypothesis import strategies as st

from theorycheck.proofs.learner_invariants import isometry_invariance, lift_spanning

test_isometry_invariance_holds = isometry_invariance.as_test()
test_lift_spanning_holds = lift_spanning.as_test()


def test_isometry_invariance_fails_for_a_non_orthogonal_map():
    res = isometry_invariance.variant("not_orthogonal", orthogonal=False).check()
    assert res.verdict == "fails", res


def test_lift_spanning_fails_with_too_few_rows():
    broken = lift_spanning.variant("short_lift", rows_offset=-1)
    # k >= 2 with no spare rows: p = k(k+1)/2 - 1 cannot span the k(k+1)/2 quadratic forms
    broken = dataclasses.replace(broken, instances=st.tuples(st.integers(2, 4), st.just(0),
                                                             st.integers(0, 9)))
    res = broken.check()
    assert res.verdict == "fails", res
