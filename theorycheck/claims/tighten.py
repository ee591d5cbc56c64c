"""How tight is a claim? The largest ratio a search finds, its witness and how it was found,
against the claim's stated constant (docs/lemmas.md, "Tightness"; docs/theory.md §0.2).

A claim's ratio is measured over bound, oriented so that 1 is the bound (above 1 a violation).
:func:`tighten` runs the claim's full search (hypothesis, targeted at the ratio, then the
optimiser phase, which for a claim that holds spends its whole budget climbing the ratio) and
reads off the worst instance. When the claim states its constant as a knob (``constant`` by
default), the constant the witness needs is reported beside it:

* ``<=`` bounds ``value <= c * b``: ratio ``r = value / (c b)``, so the witness needs ``c r``;
* ``>=`` bounds ``value >= c * b``: ``r = c b / value``, so the witness allows ``c / r``.

Either way the stated constant is loose by at most the factor ``1 / r`` *as far as the search
can tell*: a search finds lower bounds on the worst case, never the supremum itself.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from theorycheck.claims.engine import Claim, run_claim
from theorycheck.errors import ClaimError

#: A ratio within this of 1 is reported as tight.
TIGHT = 1e-3


@dataclass
class Tightness:
    """The worst case a search found for one claim.

    Parameters
    ----------
    claim_id, statement : str
        The claim.
    verdict : str
        The claim's verdict in this search (``fails``: the witness violates the bound).
    worst_ratio : float or None
        The largest measured ratio (None when nothing was measured).
    witness : str
        The instance that reached it, compactly printed.
    found_by : str or None
        ``random``, ``targeted``, ``optimiser``, ``grid``, ...
    relation : str or None
        ``<=`` or ``>=`` of the worst measurement.
    constant_name : str or None
        The knob holding the stated constant (None when the claim has none).
    constant : float or None
        The stated constant.
    needed : float or None
        The constant the witness needs (``<=``) or allows (``>=``).
    loose_by : float or None
        ``1 / worst_ratio``: the factor by which the bound exceeds the worst case found.
    instances, evaluations : int
        Instances measured by hypothesis, and by the optimiser phase.
    seconds : float
        Time of the search.
    scale : str
        ``quick`` or ``full``.
    seed : int
        Seed of the search.
    """

    claim_id: str
    statement: str
    verdict: str
    worst_ratio: float | None
    witness: str
    found_by: str | None
    relation: str | None
    constant_name: str | None
    constant: float | None
    needed: float | None
    loose_by: float | None
    instances: int
    evaluations: int
    seconds: float
    scale: str
    seed: int

    @property
    def reading(self) -> str:
        """One phrase: tight, loose by how much, or violated."""
        r = self.worst_ratio
        if r is None or math.isnan(r):
            return "nothing measured"
        if r > 1.0:
            return f"violated (ratio {r:.4g})"
        if r == 0:
            return "no deviation measured (ratio 0: an identity met exactly, or a bound never approached)"
        if r < 0:
            return "never approached (worst ratio < 0)"
        if r >= 1.0 - TIGHT:
            return "tight" + (f" ({self.constant_name} = {self.constant:.5g} is reached)"
                              if self.constant is not None else "")
        if self.constant is not None:
            return (f"loose by {1 / r:.3g}x: the witness needs {self.needed:.5g} where "
                    f"{self.constant:.5g} is stated")
        return f"loose by {1 / r:.3g}x"

    def line(self) -> str:
        r = "–" if self.worst_ratio is None else f"{self.worst_ratio:.4g}"
        return (f"{self.claim_id}: worst ratio {r} at {self.witness} "
                f"(found by {self.found_by or '–'}); {self.reading}")

    def to_dict(self) -> dict:
        return {**asdict(self), "reading": self.reading}


def _stated_constant(claim_: Claim, name: str | None) -> tuple[str | None, float | None]:
    if name is None:
        return None, None
    value = claim_.knobs.get(name)
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value)):
        return name, float(value)
    return None, None


def compact(instance, digits: int = 3, limit: int = 200) -> str:
    """A short, readable rendering of an instance: arrays to ``digits`` significant digits
    (zeros as 0), dict entries as ``key=value``."""
    def fmt(x) -> str:
        if isinstance(x, np.ndarray):
            if x.size == 0:
                return f"[] {x.shape}"
            if not np.any(x):
                return "0" if x.ndim == 0 else f"0 {x.shape}"
            return np.array2string(x, precision=digits, suppress_small=True, separator=", ",
                                   max_line_width=10 ** 6).replace("\n", "")
        if isinstance(x, dict):
            return "{" + ", ".join(f"{k}={fmt(v)}" for k, v in x.items()) + "}"
        if isinstance(x, (list, tuple)):
            return "(" + ", ".join(fmt(v) for v in x) + ")"
        if isinstance(x, float):
            return f"{x:.{digits}g}"
        return repr(x)
    text = fmt(instance)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def tighten(claim_: Claim, scale: str = "quick", seed: int = 0, *, max_examples: int | None = None,
            optimise: bool | int | None = None, constant: str | None = "constant") -> Tightness:
    """The worst ratio a full search finds for ``claim_``, its witness and how it was found,
    against the claim's stated constant.

    Parameters
    ----------
    claim_ : Claim
        The claim (for a lemma, its bound; for a claim with a ``constant`` knob, that knob
        is the stated constant).
    scale, seed, max_examples :
        As for :func:`~theorycheck.claims.engine.run_claim`.
    optimise : bool or int, optional
        The optimiser phase's budget (None: the claim's own). For a claim that holds, the
        whole budget goes into climbing the ratio.
    constant : str or None
        Name of the knob holding the stated constant (default ``"constant"``); None, or a
        claim without that knob, reports the ratio alone.

    Returns
    -------
    Tightness
        ``worst_ratio``, ``witness``, ``found_by``, ``needed`` (the constant the witness
        needs) and ``loose_by`` (``1 / worst_ratio``).
    """
    if not isinstance(claim_, Claim):
        raise ClaimError(f"tighten() takes a Claim, got {type(claim_).__name__}; find one with "
                         f"theorycheck.find_claim('ID')")
    res = run_claim(claim_, scale=scale, seed=seed, max_examples=max_examples, optimise=optimise)
    name, value = _stated_constant(claim_, constant)
    worst = res.worst or {}
    r = None if res.worst is None else float(res.worst_ratio)
    relation = worst.get("relation")
    needed = loose = None
    if r is not None and math.isfinite(r) and r > 0:
        loose = 1.0 / r
        if value is not None:
            needed = value * r if relation != ">=" else value / r
    witness = compact(res.worst_instance) if res.worst_instance is not None else worst.get("instance", "–")
    opt = res.optimiser or {}
    return Tightness(
        claim_id=claim_.id, statement=claim_.statement, verdict=res.verdict, worst_ratio=r,
        witness=witness, found_by=worst.get("found_by"), relation=relation,
        constant_name=name, constant=value, needed=needed, loose_by=loose,
        instances=res.instances, evaluations=int(opt.get("evaluations", 0) or 0),
        seconds=res.seconds, scale=scale, seed=seed)
