"""The ``claim`` run kind: check one claim at a seed and scale inside a sweep; the summary is
its verdict, worst ratio, instance count and seconds (docs/theory.md §0.2)."""

from __future__ import annotations

from theorycheck.claims.engine import SCALES
from theorycheck.runs.kinds import choice, register_run_kind, text


def _claim_id(name, value):
    from theorycheck.claims.discovery import find_claim
    find_claim(value)
    return value


def run_claim_kind(config: dict, seed: int, recorder) -> dict:
    """Check claim ``config['claim']`` at ``scale`` and ``seed``."""
    from theorycheck.claims.discovery import find_claim
    res = find_claim(config["claim"]).check(scale=config["scale"], seed=seed)
    return {"verdict": res.verdict, "worst_ratio": res.worst_ratio, "instances": res.instances,
            "seconds": round(res.seconds, 6)}


CLAIM = register_run_kind("claim", run_claim_kind, {
    "claim": text(help="claim id, as listed by 'theorycheck check --list'", check=_claim_id),
    "scale": choice(SCALES, "quick", help="instance sizes and counts"),
})


