"""Every built-in claim holds at ``--scale full``, one test per claim (docs/theory.md §0.2).

A calibration that holds only at the quick sizes must not land: two claims once failed at full
scale only (a Gaussian quadrature compared with an absolute tolerance, a probe that an earlier
block already predicted). The whole library at full scale takes tens of minutes, so these
tests are marked ``slow``; run them with ``pytest -m slow tests/test_full_scale.py -n 2``.
"""

from __future__ import annotations

import pytest

from theorycheck.claims.discovery import discover
from theorycheck.claims.engine import describe_result

CLAIMS = {c.id: c for c in discover()}


def test_the_library_is_collected():
    assert len(CLAIMS) >= 30 and all(c.instances_for("full") is not None for c in CLAIMS.values())


@pytest.mark.slow
@pytest.mark.parametrize("claim_id", sorted(CLAIMS))
def test_claim_holds_at_full_scale(claim_id):
    res = CLAIMS[claim_id].check(scale="full")
    assert res.verdict == "holds", describe_result(res)
