"""The ``claim`` run kind: check one claim at a seed and scale inside a sweep; the summary is
its verdict, worst ratio, instance count and seconds (docs/theory.md §0.2)."""

from __future__ import annotations

from dataclasses import dataclass

from theorycheck.claims.engine import SCALES
from theorycheck.runs.kinds import register_run_kind, setting


def _claim_id(name, value):
    from theorycheck.claims.discovery import find_claim
    find_claim(value)
    return value


@dataclass(frozen=True)
class ClaimRunConfig:
    """Config of the ``claim`` run kind."""

    claim: str = setting(check=_claim_id, help="claim id, as listed by 'theorycheck check --list'")
    scale: str = setting("quick", choices=SCALES, help="instance sizes and counts")


def run_claim_kind(config: ClaimRunConfig, seed: int, recorder) -> dict:
    """Check claim ``config.claim`` at ``config.scale`` and ``seed``."""
    from theorycheck.claims.discovery import find_claim
    res = find_claim(config.claim).check(scale=config.scale, seed=seed)
    return {"verdict": res.verdict, "worst_ratio": res.worst_ratio, "instances": res.instances,
            "seconds": round(res.seconds, 6)}


CLAIM = register_run_kind("claim", run_claim_kind, config=ClaimRunConfig)
