"""Claims: checkable statements from the papers, with verdicts that can fail.

A :class:`Claim` pairs a statement of ``docs/theory.md`` (tagged [A], [R] or [M])
with a way to draw instances and a ``measure`` that returns, for one instance,
a :class:`Measurement`: a measured value, the bound it must respect, and an
optional standard error. ``Claim.check`` runs the search and returns a
:class:`ClaimResult` whose verdict is (docs/theory.md §0.2)

* ``fails``: some instance violates its bound; hypothesis shrinks it, and the
  smallest failing instance is kept as the counterexample. A violation wins over
  errors met on other instances; those are still listed in ``errors``;
* ``error``: no violation, but the measurement raised (or the claim is malformed);
  the (shrunk) instance, the traceback and a one-line ``reason`` are kept;
* ``inconclusive``: no violation, but some error bar straddles the bound, or no
  instance could be measured at all (every draw was discarded);
* ``holds``: every measured instance respects its bound (error bars clear of it).

A measure may call ``hypothesis.assume`` or ``hypothesis.reject``: the instance is
discarded, not measured, and counted in ``ClaimResult.discarded``.

Instances come from a hypothesis strategy (searched, targeted at each measurement's
ratio, and shrunk) or from a parameter grid (a sequence, tried in order; list the
smallest cases first). Measures that need randomness declare an ``rng`` parameter;
they receive a generator seeded from ``(seed, digest(instance))`` so any instance
reproduces exactly from the report.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import hashlib
import inspect
import itertools
import math
import os
import re
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from theorycheck.claims import SCALES, TAGS, VERDICTS
from theorycheck.errors import ClaimError
from theorycheck.validation import check_int, short_repr
from theorycheck.jsonable import jsonable


@dataclass(frozen=True)
class Measurement:
    """One measured quantity against its bound.

    ``relation`` is ``"<="`` (value must not exceed bound) or ``">="``.
    With ``stderr > 0`` the verdict uses the band ``value ± z * stderr``:
    clear of the bound on the right side is ``holds``, clear on the wrong side
    is ``fails``, straddling it is ``inconclusive``.

    Parameters
    ----------
    value : float
        The measured quantity.
    bound : float
        What it is compared with.
    relation : str
        ``"<="`` or ``">="``.
    stderr : float
        Monte Carlo standard error of ``value`` (0 for an exact measurement).
    label : str
        A short name shown in reports.
    detail : mapping
        Extra numbers kept in the report (JSON-able).
    """

    value: float
    bound: float
    relation: str = "<="
    stderr: float = 0.0
    label: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.relation not in ("<=", ">="):
            raise ClaimError(f"relation={self.relation!r} is invalid; use '<=' or '>='")
        if not (self.stderr >= 0):
            raise ClaimError(f"stderr={self.stderr!r} is invalid; pass a non-negative standard error")

    @classmethod
    def close(cls, measured, reference, *, rtol: float = 0.0, atol: float = 0.0,
              stderr: float = 0.0, label: str = "", **detail) -> "Measurement":
        """``|measured - reference| <= atol + rtol * |reference|``."""
        measured, reference = float(measured), float(reference)
        return cls(abs(measured - reference), atol + rtol * abs(reference), "<=", stderr, label,
                   {"measured": measured, "reference": reference, **detail})

    @property
    def ratio(self) -> float:
        """Measured over bound, oriented so that ``ratio > 1`` means violated."""
        v, b = float(self.value), float(self.bound)
        if math.isnan(v) or math.isnan(b):
            return math.nan
        if self.relation == "<=":
            if b > 0:
                return v / b
            return 0.0 if v <= b else math.inf
        if v > 0 and b >= 0:
            return b / v
        return 0.0 if v >= b else math.inf

    def verdict(self, z: float) -> str:
        v, b, s = float(self.value), float(self.bound), z * float(self.stderr)
        if math.isnan(v) or math.isnan(b):
            return "fails"
        lo, hi = v - s, v + s
        if self.relation == "<=":
            return "holds" if hi <= b else ("fails" if lo > b else "inconclusive")
        return "holds" if lo >= b else ("fails" if hi < b else "inconclusive")

    def to_dict(self) -> dict:
        return {"value": float(self.value), "bound": float(self.bound), "relation": self.relation,
                "stderr": float(self.stderr), "ratio": self.ratio, "label": self.label,
                "detail": {k: jsonable(v) for k, v in self.detail.items()}}


@dataclass
class ClaimResult:
    """What a search found: the verdict and the evidence behind it (docs/theory.md §0.2).

    Parameters
    ----------
    claim_id, statement, paper, tag, ref : str
        The claim (see :class:`Claim`).
    scale : str
        ``quick`` or ``full``.
    seed : int
        Seed of the search.
    worst : dict or None
        The worst measurement (value, bound, relation, stderr, label).
    counterexample_measurements : list or None
        The measurements of the counterexample.
    seconds : float
        Wall time of the search.
    reproducer : str or None
        A Python snippet that re-measures the counterexample.
    worst_instance : object
        The instance that reached ``worst_ratio``.
    verdict : str
        ``holds``, ``fails``, ``inconclusive`` or ``error``.
    instances : int
        Instances measured, those whose measurement raised included; discarded ones are
        counted in ``discarded`` instead.
    worst_ratio : float
        The largest measured-over-bound ratio (above 1 is a violation); NaN when no
        measurement completed (``worst`` is then None).
    counterexample : object
        The shrunk failing instance (``fails``) or the shrunk instance whose
        measurement raised (``error``); None otherwise.
    traceback : str or None
        The traceback of ``error``.
    discarded : int
        Instances discarded by ``hypothesis.assume`` or ``hypothesis.reject`` in the
        measure.
    n_errors : int
        Measured instances whose measurement raised, whatever the verdict.
    errors : list of dict
        One entry per distinct reason (at most five): ``reason`` (one line),
        ``instance``, ``count`` and the ``traceback`` of its first occurrence.
    reason : str or None
        One line saying why the verdict is ``error``, or ``inconclusive`` for want of
        measured instances.
    notes : list of str
        One-line remarks: errors beside a violation, heavy discarding, a search that
        hypothesis cut short.
    warnings : list of dict
        Warnings raised while the claim ran (``category``, ``message``, ``where``,
        ``count``), captured instead of printed.
    max_examples : int or None
        The search effort of a hypothesis-driven claim (None for a grid).
    found_by : str or None
        How the counterexample was found: ``random`` (hypothesis's generation phase),
        ``targeted`` (its targeted phase, climbing ``hypothesis.target``), ``optimiser``
        (the optimiser phase, :mod:`theorycheck.claims.optimise`), ``database`` (replayed
        from the example database), ``explicit`` or ``grid``; None without one.
    optimiser : dict or None
        What the optimiser phase did (``evaluations``, ``starts``, ``best_ratio``,
        ``seconds``, ``budget``, ``errors``, ``simplified``) or why it did not run
        (``skipped``); None for a grid or when it was switched off.
    """

    claim_id: str
    statement: str
    paper: str
    tag: str
    ref: str
    scale: str
    seed: int
    verdict: str
    instances: int
    worst_ratio: float
    worst: dict | None
    counterexample: Any = None
    counterexample_measurements: list | None = None
    seconds: float = 0.0
    traceback: str | None = None
    reproducer: str | None = None
    discarded: int = 0
    n_errors: int = 0
    errors: list = field(default_factory=list)
    reason: str | None = None
    notes: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    max_examples: int | None = None
    found_by: str | None = None
    optimiser: dict | None = None
    worst_instance: Any = field(default=None, repr=False, compare=False)

    @property
    def counterexample_repr(self) -> str | None:
        return None if self.counterexample is None else _short_repr(self.counterexample)

    @property
    def note(self) -> str:
        """The reason and the notes, as one line ('' when there is nothing to say)."""
        return "; ".join(([self.reason] if self.reason else []) + list(self.notes))

    def to_dict(self) -> dict:
        return {
            "id": self.claim_id, "statement": self.statement, "paper": self.paper,
            "tag": self.tag, "ref": self.ref, "scale": self.scale, "seed": self.seed,
            "verdict": self.verdict, "instances": self.instances,
            "worst_ratio": None if self.worst is None else jsonable(self.worst_ratio),
            "worst": self.worst,
            "counterexample": None if self.counterexample is None else _full_repr(self.counterexample),
            "counterexample_measurements": self.counterexample_measurements,
            "seconds": round(self.seconds, 3), "traceback": self.traceback,
            "reproducer": self.reproducer, "reason": self.reason, "notes": list(self.notes),
            "discarded": self.discarded, "n_errors": self.n_errors, "errors": list(self.errors),
            "warnings": list(self.warnings), "max_examples": self.max_examples,
            "found_by": self.found_by, "optimiser": self.optimiser,
        }

    def __repr__(self) -> str:
        """One line: id, verdict, instances, worst ratio, time, and the counterexample or
        the reason when there is one; never the traceback.

        Examples
        --------
        >>> from theorycheck import Measurement, claim
        >>> c = claim(id="doc.x", statement="x <= 1", paper="-", tag="M", ref="-",
        ...           instances=[0, 2])(lambda x: Measurement(x, 1))
        >>> c.check()  # doctest: +ELLIPSIS
        ClaimResult('doc.x', fails, 2 instances, worst ratio 2, ...s, counterexample=2)
        """
        from theorycheck._display import REPR_LIMIT, brief, clip

        ratio = "n/a" if self.worst is None else f"{self.worst_ratio:.4g}"
        out = (f"ClaimResult({self.claim_id!r}, {self.verdict}, {self.instances} instances, "
               f"worst ratio {ratio}, {self.seconds:.2g}s")
        if self.verdict == "error":
            out += f", {clip(self.note or 'the measurement raised', 80)}"
            if self.counterexample is not None:
                out += f" on instance {brief(self.counterexample)}"
        elif self.counterexample is not None:
            out += f", counterexample={brief(self.counterexample)}"
        elif self.note:
            out += f", {clip(self.note, 80)}"
        return clip(out, REPR_LIMIT - 1) + ")"

    def _repr_html_(self) -> str:
        """The verdict, statement, reference, counterexample and reproducer as a table."""
        import html

        from theorycheck._display import Raw, html_table

        colour = {"holds": "green", "fails": "red", "inconclusive": "darkorange",
                  "error": "purple"}[self.verdict]
        ratio = "n/a" if self.worst is None else f"{self.worst_ratio:.4g}"
        rows = [("verdict", Raw(f"<b style='color:{colour}'>{self.verdict}</b>")),
                ("statement", self.statement), ("tag / ref", f"[{self.tag}] {self.ref}"),
                ("instances", self.instances), ("worst ratio", ratio),
                ("scale / seed", f"{self.scale} / {self.seed}"),
                ("seconds", f"{self.seconds:.3g}")]
        if self.note:
            rows.append(("note", self.note))
        if self.counterexample is not None:
            rows.append(("counterexample", self.counterexample_repr))
        if self.reproducer:
            rows.append(("reproducer", Raw(f"<pre>{html.escape(self.reproducer)}</pre>")))
        return html_table(f"ClaimResult {self.claim_id}", rows)


#: Effort of a claim that states none, when no hypothesis settings profile is in force.
DEFAULT_EFFORT = {"quick": 25, "full": 200}
#: Evaluations of the optimiser phase of a claim that states no ``optimise`` budget.
OPTIMISE_EVALS = {"quick": 1500, "full": 6000}
#: Unless a budget is asked for explicitly (``optimise=N``), the optimiser phase also stops
#: after this many times the search's own duration (at least OPTIMISE_MIN_SECONDS), so that a
#: slow measure does not multiply the time of a check.
OPTIMISE_TIME_FACTOR = 4.0
OPTIMISE_MIN_SECONDS = 10.0


@dataclass(frozen=True)
class Claim:
    """A checkable statement. Build one with the :func:`claim` decorator.

    ``knobs`` are keyword arguments passed to ``measure``; :meth:`variant`
    overrides them, which is how tests build broken variants (a wrong constant,
    a biased estimator) and see the claim report ``fails``.

    ``max_examples`` is the search effort: an int for every scale, a mapping
    ``{scale: int}`` (a scale left out inherits the largest value given), or None for
    :func:`default_effort`. Unknown scales and values below 1 are refused.

    ``optimise`` is the evaluation budget of the optimiser phase that follows the search
    (:mod:`theorycheck.claims.optimise`): None for :data:`OPTIMISE_EVALS`, an int or a
    mapping ``{scale: int}`` as for ``max_examples``, or False to skip the phase.

    Parameters
    ----------
    id : str
        Unique dotted id, e.g. ``gaussian.mc.agrees_with_exact``.
    statement : str
        The statement in prose, as in docs/theory.md.
    paper : str
        The paper (``bfc``, ``three_layer``, ``labels``) or any label for a user claim.
    tag : str
        ``A``, ``R`` or ``M`` (docs/theory.md §0.1).
    ref : str
        Its section in docs/theory.md, e.g. ``§1.8.1``.
    measure : callable
        ``measure(instance, [rng], **knobs)`` returning a :class:`Measurement` or a list of them.
    instances : strategy, sequence, mapping or callable
        A hypothesis strategy, a grid (sequence of instances), ``{scale: either}`` or
        ``scale -> either``.
    max_examples : int, mapping or None
        The search effort (see above).
    z : float
        Half-width, in standard errors, of the band of a Monte Carlo measurement
        (docs/theory.md §0.2).
    knobs : mapping
        Keyword arguments passed to ``measure`` (constants a broken variant overrides).
    optimise : int, mapping, bool or None
        The optimiser phase's budget (see above).
    shares : str or None
        Name of a per-process cache (e.g. memoised training runs) that this claim reuses
        with the other claims naming it. ``check -j N`` runs such claims one after another
        in one worker, in their order, so that each run is computed once
        (:mod:`theorycheck.claims.parallel`); the verdicts do not depend on it.
    """

    id: str
    statement: str
    paper: str
    tag: str
    ref: str
    measure: Callable[..., Any]
    instances: Any
    max_examples: Mapping[str, int] | int | None = None
    z: float = 4.0
    knobs: Mapping[str, Any] = field(default_factory=dict)
    optimise: Mapping[str, int] | int | bool | None = None
    shares: str | None = None

    def __post_init__(self):
        check_claim_fields(id=self.id, statement=self.statement, paper=self.paper, tag=self.tag,
                           ref=self.ref, instances=self.instances, z=self.z)
        if not callable(self.measure):
            raise ClaimError(f"claim {self.id}: measure={short_repr(self.measure)} is not callable; "
                             f"decorate a function measure(instance, ...)")
        if not isinstance(self.knobs, Mapping):
            raise ClaimError(f"claim {self.id}: knobs={short_repr(self.knobs)} is invalid; pass "
                             f"keyword knobs")
        if not self.id or any(c.isspace() for c in self.id):
            raise ClaimError(f"claim id={self.id!r} is invalid; use a dotted name without spaces")
        if self.shares is not None and (not isinstance(self.shares, str) or not self.shares.strip()):
            raise ClaimError(f"claim {self.id}: shares={short_repr(self.shares)} is invalid; pass "
                             f"the name of the cache it shares (a non-empty string) or None")
        if self.tag not in TAGS:
            raise ClaimError(f"claim {self.id}: tag={self.tag!r} is invalid; use one of A, R, M "
                             f"(docs/theory.md §0.1's tags)")
        object.__setattr__(self, "max_examples", _effort(self.max_examples, self.id))
        if self.optimise is not False:
            object.__setattr__(self, "optimise", _effort(
                None if self.optimise is True else self.optimise, self.id, "optimise"))
        params = inspect.signature(self.measure).parameters
        unknown = [k for k in self.knobs if k not in params
                   and not any(p.kind is p.VAR_KEYWORD for p in params.values())]
        if unknown:
            raise ClaimError(f"claim {self.id}: knob(s) {unknown} are not parameters of "
                             f"{self.measure.__name__}; add them to its signature")

    def __repr__(self) -> str:
        """One line: id, tag, reference and statement (clipped); never the instances.

        Examples
        --------
        >>> claim(id="doc.c", statement="x <= 1", paper="-", tag="M", ref="§1",
        ...       instances=[0])(lambda x: None)
        Claim('doc.c' [M] §1: x <= 1)
        """
        from theorycheck._display import clip
        return f"Claim({self.id!r} [{self.tag}] {clip(self.ref, 40)}: {clip(self.statement, 100)})"

    @property
    def module(self) -> str:
        return getattr(self.measure, "__module__", "")

    def variant(self, suffix: str = "variant", **knobs) -> "Claim":
        """The same claim with some knobs changed; its id gets ``[suffix]``."""
        return dataclasses.replace(self, id=f"{self.id}[{suffix}]", knobs={**self.knobs, **knobs})

    def instances_for(self, scale: str):
        inst = self.instances
        if isinstance(inst, Mapping):
            if scale not in inst:
                raise ClaimError(f"claim {self.id} has no instances for scale={scale!r}; "
                                 f"use one of {sorted(inst)}")
            inst = inst[scale]
        if callable(inst) and not _is_strategy(inst):
            inst = inst(scale)
        return inst

    def effort(self, scale: str) -> int:
        """The number of hypothesis examples this claim asks for at ``scale``."""
        if self.max_examples is not None:
            return self.max_examples[scale]
        return default_effort(scale)

    def optimise_budget(self, scale: str) -> int:
        """Evaluations of the optimiser phase at ``scale`` (0 when it is switched off)."""
        if self.optimise is False:
            return 0
        if self.optimise is not None:
            return self.optimise[scale]
        return OPTIMISE_EVALS[scale]

    def check(self, scale: str = "quick", seed: int = 0, max_examples: int | None = None,
              database=None, optimise: bool | int | None = None) -> ClaimResult:
        """Run the search; see :func:`run_claim`."""
        return run_claim(self, scale=scale, seed=seed, max_examples=max_examples, database=database,
                         optimise=optimise)

    def as_test(self, scale: str = "quick", seed: int = 0, expect: str = "holds"):
        """A pytest test function asserting this claim's verdict."""
        def test():
            res = self.check(scale=scale, seed=seed)
            assert res.verdict == expect, describe_result(res)
        test.__name__ = "test_" + self.id.replace(".", "_")
        return test


def _positive_int(name: str, value, fix: str) -> int:
    import numbers
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ClaimError(f"{name}={value!r} is invalid: it must be a whole number >= 1; {fix}")
    return int(value)


def _effort(max_examples, claim_id: str, name: str = "max_examples") -> dict | None:
    """Normalise a claim's ``max_examples`` (or ``optimise`` budget) to ``{scale: int}`` for
    every scale (or None)."""
    fix = (f"pass e.g. {name}=50 or {name}={{'quick': 25, 'full': 200}}"
           + (", or optimise=False to skip the optimiser" if name == "optimise" else ""))
    if max_examples is None:
        return None
    if isinstance(max_examples, Mapping):
        unknown = sorted(str(k) for k in max_examples if k not in SCALES)
        if unknown:
            raise ClaimError(f"claim {claim_id}: {name} has unknown scale key(s) "
                             f"{', '.join(map(repr, unknown))}; use {', '.join(SCALES)}")
        if not max_examples:
            raise ClaimError(f"claim {claim_id}: {name}={{}} is invalid: it names no scale; "
                             f"{fix}")
        given = {s: _positive_int(f"claim {claim_id}: {name}[{s!r}]", n, fix)
                 for s, n in max_examples.items()}
        top = max(given.values())
        return {s: given.get(s, top) for s in SCALES}
    n = _positive_int(f"claim {claim_id}: {name}", max_examples, fix)
    return {s: n for s in SCALES}


#: The effort per scale a ``check -j`` worker process inherits from its parent (whose settings
#: profile the worker never loaded); None everywhere else.
_PINNED_EFFORT: dict[str, int] | None = None


def default_effort(scale: str) -> int:
    """Effort of a claim that states no ``max_examples``.

    The hypothesis settings profile in force decides: the one named by the
    ``HYPOTHESIS_PROFILE`` environment variable when it is registered, else the loaded
    profile unless it is hypothesis's own ``default`` (a worker process of ``check -j`` uses
    its parent's). Its ``max_examples`` is the effort
    at ``quick``; ``full`` never drops below :data:`DEFAULT_EFFORT`. Without a profile,
    :data:`DEFAULT_EFFORT` applies.
    """
    import os

    from hypothesis import settings
    from hypothesis.errors import InvalidArgument

    if _PINNED_EFFORT is not None:
        return _PINNED_EFFORT[scale]
    profile = None
    name = os.environ.get("HYPOTHESIS_PROFILE")
    if name:
        try:
            profile = settings.get_profile(name)
        except InvalidArgument:
            profile = None
    if profile is None and getattr(settings, "_current_profile", "default") not in (None, "default"):
        profile = settings.default
    if profile is None:
        return DEFAULT_EFFORT[scale]
    n = int(profile.max_examples)
    return n if scale == "quick" else max(n, DEFAULT_EFFORT[scale])


def check_claim_fields(*, id, statement, paper, tag, ref, instances, z=4.0) -> None:
    """The argument checks of :func:`claim` (and :func:`~theorycheck.claims.lemmas.lemma`):
    one :class:`ClaimError` line naming the argument, before anything else reads it."""
    if not isinstance(id, str) or not id or any(c.isspace() for c in id):
        raise ClaimError(f"claim id={short_repr(id)} is invalid; use a dotted name without "
                         f"spaces, e.g. id='mine.am_gm'")
    for name, value in (("statement", statement), ("paper", paper), ("ref", ref)):
        if not isinstance(value, str):
            raise ClaimError(f"claim {id}: {name}={short_repr(value)} is invalid: a "
                             f"{type(value).__name__}, not a string; pass text")
    if not isinstance(tag, str) or tag not in TAGS:
        raise ClaimError(f"claim {id}: tag={short_repr(tag)} is invalid; use one of A, R, M "
                         f"(docs/theory.md §0.1's tags)")
    if not (_is_strategy(instances) or callable(instances)
            or isinstance(instances, (Mapping, list, tuple, range))):
        raise ClaimError(f"claim {id}: instances={short_repr(instances)} is invalid: a "
                         f"{type(instances).__name__}; give a hypothesis strategy, a list of "
                         f"instances, a mapping {{scale: either}} or a callable scale -> either")
    if isinstance(z, bool) or not isinstance(z, (int, float)) or not math.isfinite(z) or z <= 0:
        raise ClaimError(f"claim {id}: z={short_repr(z)} is invalid; pass a positive number of "
                         f"standard errors, e.g. z=4")


def claim(*, id: str, statement: str, paper: str, tag: str, ref: str, instances: Any,
          max_examples: Mapping[str, int] | int | None = None, z: float = 4.0,
          optimise: Mapping[str, int] | int | bool | None = None, shares: str | None = None,
          **knobs) -> Callable[[Callable], Claim]:
    """Decorator turning ``measure(instance, [rng], **knobs)`` into a :class:`Claim`.

    ``instances`` is a hypothesis strategy, a sequence of instances (a grid),
    a mapping ``{scale: either}``, or a callable ``scale -> either``.
    ``max_examples`` is an int, a mapping ``{scale: int}`` or None (see :class:`Claim`);
    ``optimise`` the optimiser phase's budget in the same forms, or False to skip it.
    ``statement`` is prose: it may be wrapped over lines (a triple-quoted string); every run
    of white space becomes one space.

    Parameters
    ----------
    id, statement, paper, tag, ref : str
        The claim's identity (see :class:`Claim`; ``ref`` is its section of docs/theory.md).
    instances : strategy, sequence, mapping or callable
        Where the instances come from (see above).
    max_examples : int, mapping or None
        The search effort.
    z : float
        Band half-width in standard errors for Monte Carlo measurements (docs/theory.md §0.2).
    optimise : int, mapping, bool or None
        The optimiser phase's budget, or False.
    shares : str or None
        Name of a per-process cache of runs this claim reuses with other claims (see
        :class:`Claim`).
    **knobs
        Constants passed to ``measure`` as keyword arguments (overridden by :meth:`Claim.variant`).

    Returns
    -------
    callable
        A decorator that turns ``measure`` into a :class:`Claim`.
    """
    check_claim_fields(id=id, statement=statement, paper=paper, tag=tag, ref=ref,
                       instances=instances, z=z)
    _effort(max_examples, id)  # refuse a bad effort at decoration, not at the first check
    if optimise is not False:
        _effort(None if optimise is True else optimise, id, "optimise")
    statement = " ".join(statement.split())

    def wrap(fn: Callable) -> Claim:
        if not callable(fn):
            raise ClaimError(f"claim {id}: @claim decorates {short_repr(fn)}, which is not "
                             f"callable; decorate a function measure(instance, ...)")
        return Claim(id=id, statement=statement, paper=paper, tag=tag, ref=ref, measure=fn,
                     instances=instances, z=z, knobs=knobs, max_examples=max_examples,
                     optimise=optimise, shares=shares)
    return wrap


def grid(**axes: Iterable) -> list[dict]:
    """Cartesian product of the axes as a list of dicts, in the given order.

    Parameters
    ----------
    **axes : iterable
        ``name=values``; the product is taken in keyword order.

    Returns
    -------
    list of dict
        One ``{name: value}`` per point, usable as a claim's ``instances``.
    """
    names = list(axes)
    return [dict(zip(names, vals)) for vals in itertools.product(*(list(axes[n]) for n in names))]


def instance_rng(instance: Any, seed: int) -> np.random.Generator:
    digest = hashlib.sha256(_digest_bytes(instance)).digest()
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int.from_bytes(digest[:8], "little")])


def evaluate(claim_: Claim, instance: Any, seed: int = 0) -> list[Measurement]:
    """Measure one instance; always returns a non-empty list of Measurements.

    Parameters
    ----------
    claim_ : Claim
        The claim whose ``measure`` is called.
    instance : object
        One instance, as the claim's strategy or grid produces it.
    seed : int
        Seed of the ``rng`` passed to a measure that takes one.

    Returns
    -------
    list of Measurement
    """
    kwargs = dict(claim_.knobs)
    if "rng" in inspect.signature(claim_.measure).parameters:
        kwargs["rng"] = instance_rng(instance, seed)
    out = claim_.measure(instance, **kwargs)
    ms = [out] if isinstance(out, Measurement) else list(out) if isinstance(out, (list, tuple)) else []
    if not ms or not all(isinstance(m, Measurement) for m in ms):
        raise ClaimError(f"claim {claim_.id}: measure returned {type(out).__name__}; "
                         f"return a Measurement or a non-empty list of them")
    return ms


def combine(ms: Sequence[Measurement], z: float) -> tuple[str, float, Measurement]:
    """Instance verdict (worst of its measurements), worst ratio, and worst measurement."""
    verdicts = [m.verdict(z) for m in ms]
    worst = max(ms, key=lambda m: math.inf if math.isnan(m.ratio) else m.ratio)
    verdict = "fails" if "fails" in verdicts else ("inconclusive" if "inconclusive" in verdicts else "holds")
    return verdict, worst.ratio, worst


class _Violation(Exception):
    pass


class _MeasureRaised(Exception):
    pass


#: Distinct error reasons kept per claim (every error is still counted).
MAX_ERROR_REASONS = 5
#: Fraction of discarded draws above which a result carries a note.
DISCARD_NOTE = 0.9


def _reason(tb: str, limit: int = 300) -> str:
    """The last line of a traceback (``Type: message``), as one line."""
    lines = [ln.strip() for ln in tb.strip().splitlines() if ln.strip()]
    line = lines[-1] if lines else "unknown error"
    line = re.sub(r"^[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*\.(\w+)(?=: |$)", r"\1", line)  # ClaimError, not a.b.ClaimError
    return line if len(line) <= limit else line[: limit - 3] + "..."


class _Search:
    """The state of one claim's search: counts, the worst ratio, the first failure and the
    errors. ``tally`` off re-measures without counting (the second, error-shrinking pass)."""

    def __init__(self, claim_: Claim, seed: int):
        from hypothesis.errors import UnsatisfiedAssumption
        self.claim, self.seed, self.discard_exc = claim_, seed, UnsatisfiedAssumption
        self.n = self.discarded = self.n_errors = 0
        self.worst_ratio, self.worst, self.worst_instance = -math.inf, None, None
        self.inconclusive = False
        self.fail = self.fail_ms = None
        self.error: tuple[Any, str] | None = None  # the latest (instance, traceback)
        self.errors: dict[str, dict] = {}
        self.tally = True
        self.found_by: str | None = None
        self.noisy = False            # some measurement carried a standard error
        self.starts: dict[tuple, list[tuple[float, Any]]] = {}   # best instances per structure
        self.structures: set[tuple] = set()                # every structure measured

    def measure(self, inst, source: str | None = None) -> tuple[tuple, list[Measurement] | None]:
        """Measure ``inst`` without counting it: its event (see :meth:`apply`) and its
        measurements (None when it raised). ``source`` names where the instance came from
        when not from the hypothesis search (``"grid"``, ``"optimiser"``). Re-raises
        hypothesis's discard exception."""
        try:
            ms = evaluate(self.claim, inst, self.seed)
        except self.discard_exc:
            raise
        except Exception:
            return ("error", inst, traceback.format_exc()), None
        verdict, ratio, worst = combine(ms, self.claim.z)
        fail_ms = [m.to_dict() for m in ms] if verdict == "fails" else None
        phase = None if source is not None else _hypothesis_phase()
        noisy = any(m.stderr > 0 for m in ms)
        return ("measured", inst, verdict, ratio, worst, fail_ms, source, phase, noisy), ms

    def apply(self, event: tuple) -> str:
        """Fold one instance's event into the counts; returns its verdict.

        Events are ``("discarded",)``, ``("error", instance, traceback)`` and
        ``("measured", instance, verdict, ratio, worst, fail_measurements, source, phase,
        noisy)``, with ``worst`` the worst :class:`Measurement` or already its report row (a
        dict), ``source`` None for the hypothesis search and ``phase`` the hypothesis phase
        that drew the instance. Folding a grid's
        events in instance order gives the same result however they were computed
        (:func:`run_grid_part`, :func:`merge_grid_parts`).
        """
        kind = event[0]
        if kind == "discarded":
            self.discarded += self.tally
            return "discarded"
        if kind == "error":
            _, inst, tb = event
            self.error = (inst, tb)
            if self.tally:
                self.n += 1
                self.n_errors += 1
                reason = _reason(tb)
                if reason in self.errors:
                    self.errors[reason]["count"] += 1
                elif len(self.errors) < MAX_ERROR_REASONS:
                    self.errors[reason] = {"reason": reason, "instance": _short_repr(inst),
                                           "count": 1, "traceback": tb}
            return "error"
        _, inst, verdict, ratio, worst, fail_ms, source, phase, noisy = event
        self.n += self.tally
        self.note_worst(inst, ratio, worst, source or phase)
        if verdict == "fails":
            if self.fail is None and self.found_by is None:
                self.found_by = source or phase
            self.fail, self.fail_ms = inst, fail_ms
        elif verdict == "inconclusive":
            self.inconclusive = True
        if self.tally and source is None:
            self.noisy = self.noisy or noisy
            self.remember(inst, ratio)
        return verdict

    def record(self, inst, found_by: str | None = None) -> tuple[str, list[Measurement] | None]:
        """Measure ``inst``: its verdict and measurements (None when it raised).

        A measure that calls ``hypothesis.assume``/``reject`` re-raises hypothesis's
        exception after counting the instance as discarded. ``found_by`` names a source
        other than the hypothesis search (the optimiser, a grid).
        """
        try:
            event, ms = self.measure(inst, found_by)
        except self.discard_exc:
            self.apply(("discarded",))
            raise
        return self.apply(event), ms

    def note_worst(self, inst, ratio: float, worst: Measurement, found_by: str | None) -> None:
        if math.isnan(ratio) or ratio > self.worst_ratio:
            self.worst_ratio, self.worst_instance = ratio, inst
            row = worst.to_dict() if isinstance(worst, Measurement) else worst
            self.worst = {"instance": _short_repr(inst), **row, "found_by": found_by}

    def remember(self, inst, ratio: float) -> None:
        """Keep the best instance of each structure: the optimiser's starting points."""
        from theorycheck.claims.optimise import signature
        try:
            sig = signature(inst)
        except Exception:  # noqa: BLE001 - an instance the optimiser cannot read
            return
        self.structures.add(sig)
        r = math.inf if math.isnan(ratio) else ratio
        best = self.starts.setdefault(sig, [])
        if len(best) < STARTS_PER_STRUCTURE or r > best[-1][0]:
            if any(_same_instance(inst, b) for _, b in best):
                return
            best.append((r, inst))
            best.sort(key=lambda t: -t[0])
            del best[STARTS_PER_STRUCTURE:]


#: Instances kept per instance structure as the optimiser's starting points.
STARTS_PER_STRUCTURE = 3


def _same_instance(a, b) -> bool:
    return a is b or _digest_bytes(a) == _digest_bytes(b)


_PHASES = {"generate": "random", "target": "targeted", "reuse": "database",
           "explicit": "explicit", "shrink": "random"}


def _hypothesis_phase() -> str | None:
    """The hypothesis phase running the current test case, as ``found_by`` reports it:
    ``random`` (generation), ``targeted``, ``database`` or ``explicit``; None outside a
    hypothesis run. Read from hypothesis's runner on the call stack (an internal attribute:
    a hypothesis that renamed it reports None)."""
    import sys
    frame = sys._getframe(1)
    while frame is not None:
        runner = frame.f_locals.get("self")
        if type(runner).__name__ == "ConjectureRunner":
            return _PHASES.get(getattr(runner, "_current_phase", ""), None)
        frame = frame.f_back
    return None


def _optimise_phase(claim_: Claim, srch: "_Search", strategy, registry, seed: int, budget: int,
                    deadline_s: float | None) -> dict:
    """Run the optimiser from the search's best instances; on a violation (re-verified by
    the plain measurement, then simplified) record it in ``srch`` as found by ``optimiser``.
    Returns the summary kept in ``ClaimResult.optimiser``."""
    from hypothesis.errors import UnsatisfiedAssumption

    from theorycheck.claims import optimise as opt

    t0 = time.perf_counter()

    def judge(inst):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ms = evaluate(claim_, inst, seed)
        except UnsatisfiedAssumption:
            raise opt._Discarded() from None
        verdict, ratio, _ = combine(ms, claim_.z)
        return verdict, ratio

    # structures the strategy draws that the search did not: one synthesised start each
    pool = dict(srch.starts)
    spent, synth_found = 0, None
    for inst in opt.synthesise(strategy, registry, srch.structures, seed)[: max(budget // 10, 1)]:
        spent += 1
        try:
            verdict, ratio = judge(inst)
        except Exception:  # noqa: BLE001 - discarded or raised: not a start
            continue
        if verdict == "fails":
            synth_found = inst
            break
        pool[opt.signature(inst)] = [(math.inf if math.isnan(ratio) else ratio, inst)]
    starts = opt.plan_starts(pool)

    deadline = None if deadline_s is None else t0 + deadline_s
    if synth_found is not None:
        out = opt.Outcome(instance=synth_found, searchable=True, starts=1,
                          infos={lf.path: lf.info for lf in opt.leaves(synth_found, registry)})
    else:
        out = opt.falsify(starts, registry, judge, budget=max(budget - spent, 1), seed=seed,
                          deadline=deadline)
    out.evaluations += spent
    info = {"budget": budget, "evaluations": out.evaluations, "starts": out.starts,
            "searchable": out.searchable, "best_ratio": None if out.best == -math.inf else out.best,
            "errors": out.errors, "simplified": False}
    if out.first_error:
        info["first_error"] = out.first_error
    if out.timed_out:
        info["stopped"] = (f"time cap ({deadline_s:.0f} s, {OPTIMISE_TIME_FACTOR:g} x the search's "
                           f"time) after {out.evaluations} evaluations; pass optimise=N (check "
                           f"--optimise-evals N) to spend the whole budget")
    if not out.searchable:
        info["skipped"] = ("no continuous part of the instances has a known domain (see "
                           "theorycheck.claims.optimise)")
    if out.best_instance is not None and out.best > srch.worst_ratio:
        try:
            srch.record(out.best_instance, found_by="optimiser")
        except Exception:  # noqa: BLE001 - re-measured for the worst-ratio row only
            pass
    if out.instance is not None and not opt.leaves_admit(out.instance, out.infos):
        info["unconfirmed"] = "the optimiser's violation lies outside the instance's domain"
    elif out.instance is not None:
        verdict, _ = srch.record(out.instance, found_by="optimiser")   # the plain measurement
        if verdict == "fails":
            srch.found_by = "optimiser"
            cex = srch.fail
            infos = out.infos
            lv = opt._rebuild(cex, infos)

            def still_fails(cand):
                try:
                    return judge(cand)[0] == "fails"
                except opt._Discarded:
                    return False

            def shapes_ok(cand):
                return opt.signature(cand) in srch.structures and opt.leaves_admit(cand, infos)

            simple, used = opt.simplify(cex, lv, still_fails, shapes_ok=shapes_ok, infos=infos)
            info["evaluations"] += used
            if simple is not cex:
                v2, _ = srch.record(simple, found_by="optimiser")
                info["simplified"] = v2 == "fails"
        else:
            info["unconfirmed"] = "the optimiser's violation did not reproduce when re-measured"
    info["seconds"] = round(time.perf_counter() - t0, 3)
    return info


def run_claim(claim_: Claim, scale: str = "quick", seed: int = 0,
              max_examples: int | None = None, database=None,
              optimise: bool | int | None = None) -> ClaimResult:
    """Search the claim's instances and return its verdict (docs/theory.md §0.2).

    Parameters
    ----------
    claim_ : Claim
        The claim.
    scale : str
        ``quick`` or ``full``: which instances, and the claim's effort for them.
    seed : int
        Seed of the hypothesis search and of every measure's ``rng``.
    max_examples : int, optional
        Search effort (>= 1), overriding the claim's; on a grid, the first
        ``max_examples`` instances.
    database : str, Path or hypothesis ExampleDatabase, optional
        Where failing examples are remembered between runs (a folder becomes a
        ``DirectoryBasedExampleDatabase``); they are replayed first on the next run.
        None (the default) remembers nothing.
    optimise : bool or int, optional
        The optimiser phase (docs/theory.md §0.2, :mod:`theorycheck.claims.optimise`): when
        the search found no violation, an optimiser climbs the ratio from the best
        instances, inside their domain. None (default) or True: the claim's own budget
        (``Claim.optimise_budget``); an int: that many evaluations; False: skip it. Grid
        claims and claims with Monte Carlo measurements (a standard error) never run it.

    Returns
    -------
    ClaimResult
        ``fails`` wins over ``error``: a violation found anywhere is reported, with the
        errors met on other instances in ``errors``. A malformed claim (a measure returning
        the wrong type, no instances for ``scale``) is an ``error`` with its ``reason``.
        Warnings raised meanwhile are captured into ``warnings``.

    Raises
    ------
    ClaimError
        For a bad ``scale``, ``max_examples`` or ``database`` (the call, not the claim).
    """
    if not isinstance(claim_, Claim):
        raise ClaimError(f"claim_={short_repr(claim_)} is invalid: a {type(claim_).__name__}, not "
                         f"a Claim; pass an object made by @theorycheck.claim or @theorycheck.lemma")
    max_examples = _check_call(scale, max_examples)
    seed = check_int("seed", seed, min_value=0, max_value=2**32 - 1, error=ClaimError)
    capped = True   # the optimiser's time cap applies unless a budget was asked for
    if optimise is None or optimise is True:
        budget = claim_.optimise_budget(scale) or (OPTIMISE_EVALS[scale] if optimise else 0)
    elif optimise is False:
        budget = 0
    else:
        budget = _positive_int("optimise", optimise, "pass a number of evaluations, True for "
                               "the claim's own budget, or False to skip the optimiser")
        capped = False
    db = _database(database)
    t0 = time.perf_counter()
    srch = _Search(claim_, seed)
    broken, notes, n_max, opt_info = None, [], None, None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            instances = claim_.instances_for(scale)
        except Exception:
            instances = None  # run_grid_part reports it
        if _is_strategy(instances):
            n_max = max_examples or claim_.effort(scale)
            key = f"theorycheck.claim:{claim_.id}".encode()
            registry = strategy = None
            if budget:
                from theorycheck.claims.optimise import Registry, annotate
                registry = Registry()
                strategy = annotate(instances, registry)
            broken, note = _search(strategy if strategy is not None else instances, srch, n_max,
                                   seed, db, key, raise_errors=False)
            if budget and broken is None and srch.fail is None:
                if srch.noisy:
                    opt_info = {"budget": budget, "evaluations": 0,
                                "skipped": "Monte Carlo measurements (a standard error): the "
                                           "optimiser would chase noise"}
                elif srch.starts:
                    cap = (max(OPTIMISE_MIN_SECONDS, OPTIMISE_TIME_FACTOR * (time.perf_counter() - t0))
                           if capped else None)
                    try:
                        opt_info = _optimise_phase(claim_, srch, instances, registry, seed, budget, cap)
                    except Exception:  # noqa: BLE001 - the phase is an extra: never lose the search
                        opt_info = {"budget": budget, "failed": _reason(traceback.format_exc())}
                        notes.append(f"the optimiser phase stopped: {opt_info['failed']}")
                    if opt_info.get("stopped"):
                        notes.append(f"optimiser: {opt_info['stopped']}")
            if broken is None and srch.fail is None and srch.n_errors:
                srch.tally = False  # shrink the error: same seed, now stopping at it
                broken, note = _search(strategy if strategy is not None else instances, srch, n_max,
                                       seed, db, key, raise_errors=True)
            notes += [note] if note else []
    if not _is_strategy(instances):  # a grid (or no instances at all): one part, all of it
        part = run_grid_part(claim_, scale, seed, max_examples=max_examples)
        part.seconds = time.perf_counter() - t0
        return merge_grid_parts(claim_, scale, seed, [part])
    return _result(claim_, scale, seed, srch, broken, notes, n_max, _warning_keys(caught),
                   time.perf_counter() - t0, opt_info)


def _check_call(scale: str, max_examples) -> int | None:
    if scale not in SCALES:
        raise ClaimError(f"scale={scale!r} is invalid; use one of {', '.join(SCALES)}")
    if max_examples is not None:
        max_examples = _positive_int("max_examples", max_examples,
                                     "pass a positive number of instances, or None for the claim's own")
    return max_examples


def _grid(claim_: Claim, scale: str, max_examples: int | None) -> tuple[list | None, str | None]:
    """``(instances, None)`` for a grid claim (its first ``max_examples``), ``(None, None)``
    for a strategy, ``(None, traceback)`` when the instances cannot be had. Warnings raised
    while building them go to the caller's ``catch_warnings``."""
    try:
        instances = claim_.instances_for(scale)
        if _is_strategy(instances):
            return None, None
        try:
            seq = list(instances)
        except TypeError:
            raise ClaimError(f"claim {claim_.id}: instances for scale {scale!r} are "
                             f"{type(instances).__name__}; give a hypothesis strategy or "
                             f"a list") from None
        if not seq:
            raise ClaimError(f"claim {claim_.id}: the instance grid for scale {scale!r} is "
                             f"empty; give at least one instance")
    except Exception:
        return None, traceback.format_exc()
    return (seq[:max_examples] if max_examples else seq), None


def grid_size(claim_: Claim, scale: str, max_examples: int | None = None) -> int | None:
    """How many instances a grid claim measures at ``scale``; None for a hypothesis
    strategy or a claim whose instances cannot be built (it runs whole)."""
    max_examples = _check_call(scale, max_examples)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seq, _ = _grid(claim_, scale, max_examples)
    return None if seq is None else len(seq)


@dataclass
class GridPart:
    """What measuring some instances of a grid claim found, instance by instance.

    Attributes
    ----------
    events : list of (int, tuple, list)
        Per measured index, in increasing order: the index, its event
        (``_Search.apply``) and the warnings it raised, as ``(category, message, where)``.
    preamble : list of tuple
        Warnings raised while building the grid (kept from the first part only).
    broken : str or None
        The traceback when the grid could not be built (the claim is then an ``error``).
    seconds : float
        Wall time of this part.
    """

    events: list = field(default_factory=list)
    preamble: list = field(default_factory=list)
    broken: str | None = None
    seconds: float = 0.0


def run_grid_part(claim_: Claim, scale: str = "quick", seed: int = 0,
                  indices: Sequence[int] | None = None,
                  max_examples: int | None = None) -> GridPart:
    """Measure the grid instances at ``indices`` (all when None) of a grid claim.

    The parts of one claim, computed anywhere (one process or several), merge into the
    claim's result with :func:`merge_grid_parts`; the merged result equals
    :func:`run_claim`'s whatever the split (docs/theory.md §0.2). Instances and
    measurements cross process boundaries by pickle, reported rows already rendered.
    """
    max_examples = _check_call(scale, max_examples)
    t0 = time.perf_counter()
    srch = _Search(claim_, seed)
    part = GridPart()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seq, part.broken = _grid(claim_, scale, max_examples)
        part.preamble = _warning_keys(caught)
        if seq is None:
            if part.broken is None:
                part.broken = ("ClaimError: claim {}: run_grid_part needs a grid claim, and its "
                               "instances are a hypothesis strategy".format(claim_.id))
            part.seconds = time.perf_counter() - t0
            return part
        for i in (range(len(seq)) if indices is None else sorted(indices)):
            if not 0 <= i < len(seq):
                raise ClaimError(f"claim {claim_.id}: instance index {i} is outside its grid of "
                                 f"{len(seq)} at scale {scale!r}")
            inst = seq[i]
            before = len(caught)
            try:
                event, _ = srch.measure(inst, "grid")
            except srch.discard_exc:
                event = ("discarded",)
            if event[0] == "measured":  # the report row rendered here, picklable
                event = event[:4] + (event[4].to_dict(),) + event[5:]
            part.events.append((i, event, _warning_keys(caught[before:])))
    part.seconds = time.perf_counter() - t0
    return part


def merge_grid_parts(claim_: Claim, scale: str, seed: int, parts: Sequence[GridPart]) -> ClaimResult:
    """The result of a grid claim from its parts (:func:`run_grid_part`): events are folded in
    instance order, the first failing instance is the counterexample, and ``seconds`` is the
    parts' total. Equal to :func:`run_claim` on the whole grid (timings aside)."""
    srch = _Search(claim_, seed)
    broken = next((p.broken for p in parts if p.broken is not None), None)
    keys = list(parts[0].preamble) if parts else []
    first_fail = None
    events = sorted((e for p in parts for e in p.events), key=lambda e: e[0])
    if len({e[0] for e in events}) != len(events):
        raise ClaimError(f"claim {claim_.id}: the grid parts overlap; give each instance index "
                         f"to one part")
    for _, event, ws in events:
        if srch.apply(event) == "fails" and first_fail is None:
            first_fail = (srch.fail, srch.fail_ms)
        keys += ws
    if first_fail is not None:
        srch.fail, srch.fail_ms = first_fail
    return _result(claim_, scale, seed, srch, broken, [], None, keys,
                   sum(p.seconds for p in parts))


def _result(claim_: Claim, scale: str, seed: int, srch: "_Search", broken: str | None,
            notes: list, n_max: int | None, warning_keys: list, seconds: float,
            opt_info: dict | None = None) -> ClaimResult:
    """The verdict and report of a finished search (docs/theory.md §0.2)."""
    reason = None
    cex = cex_ms = tb = None
    if srch.fail is not None:
        verdict, cex, cex_ms = "fails", srch.fail, srch.fail_ms
    elif broken is not None:
        verdict, tb, reason = "error", broken, _reason(broken)
    elif srch.n_errors:
        verdict, (cex, tb) = "error", srch.error
        reason = _reason(tb)
    elif srch.n == 0:
        verdict = "inconclusive"
        reason = (f"no instance was measured: all {srch.discarded} drawn instances were discarded "
                  f"(assume/reject); loosen the assumption or draw instances that satisfy it"
                  if srch.discarded else
                  "no instance could be drawn: the strategy rejected every draw; loosen its "
                  "filters or assumptions")
    else:
        verdict = "inconclusive" if srch.inconclusive else "holds"
    if srch.n_errors and verdict == "fails":
        first = next(iter(srch.errors.values()))
        notes.append(f"{srch.n_errors} other instance(s) raised, e.g. {first['reason']} "
                     f"(instance {first['instance']})")
    attempts = srch.n + srch.discarded
    if srch.n and srch.discarded > DISCARD_NOTE * attempts:
        notes.append(f"discarded {srch.discarded} of {attempts} drawn instances (assume/reject); "
                     f"the verdict rests on {srch.n} measured")
    return ClaimResult(
        claim_id=claim_.id, statement=claim_.statement, paper=claim_.paper, tag=claim_.tag,
        ref=claim_.ref, scale=scale, seed=seed, verdict=verdict, instances=srch.n,
        worst_ratio=srch.worst_ratio if srch.worst is not None else math.nan, worst=srch.worst,
        counterexample=cex, counterexample_measurements=cex_ms,
        seconds=seconds, traceback=tb,
        reproducer=None if cex is None else _reproducer(claim_, cex, seed),
        discarded=srch.discarded, n_errors=srch.n_errors, errors=list(srch.errors.values()),
        reason=reason, notes=notes, warnings=_warning_rows(warning_keys), max_examples=n_max,
        found_by=srch.found_by if cex is not None and verdict == "fails" else None,
        optimiser=opt_info, worst_instance=srch.worst_instance)


def _warning_keys(caught) -> list[tuple[str, str, str]]:
    """Caught warnings as ``(category, message, where)`` (picklable, in order)."""
    return [(w.category.__name__, str(w.message), f"{w.filename}:{w.lineno}") for w in caught]


def _warning_rows(keys, limit: int = 20) -> list[dict]:
    """Warnings ``(category, message, where)``, one row per distinct key with its count,
    the first ``limit`` keys in order of first occurrence."""
    rows: dict[tuple, dict] = {}
    for key in keys:
        if key in rows:
            rows[key]["count"] += 1
        elif len(rows) < limit:
            rows[key] = {"category": key[0], "message": key[1], "where": key[2], "count": 1}
    return list(rows.values())


def _database(database):
    """None, or a hypothesis example database for ``database`` (a folder or a database)."""
    if database is None:
        return None
    from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase
    if isinstance(database, ExampleDatabase):
        return database
    if isinstance(database, (str, os.PathLike)):
        return DirectoryBasedExampleDatabase(os.fspath(database))
    raise ClaimError(f"database={database!r} is invalid: not a folder or a hypothesis "
                     f"ExampleDatabase; pass a folder path, or None to remember nothing")


def reproduce(claim_: Claim, instance: Any, seed: int = 0) -> str:
    """Re-measure one instance, print its measurements and verdict, and return the verdict.

    This is what a saved reproducer script calls; the script exits 1 when the verdict is
    ``fails`` or ``error``. Besides the four verdicts (docs/theory.md §0.2) the result may
    be ``discarded`` (the measure rejected the instance with ``hypothesis.assume``).

    Parameters
    ----------
    claim_ : Claim
        The claim to re-measure.
    instance : object
        The saved instance (a counterexample).
    seed : int
        Seed of the measure's ``rng``.
    """
    from hypothesis.errors import UnsatisfiedAssumption
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # assume() outside a test
            ms = evaluate(claim_, instance, seed)
    except UnsatisfiedAssumption:
        print(f"{claim_.id}: verdict: discarded (the measure rejected this instance)")
        return "discarded"
    except Exception:
        tb = traceback.format_exc()
        print(tb.rstrip())
        print(f"{claim_.id}: verdict: error ({_reason(tb)})")
        return "error"
    for m in ms:
        band = f" ± {claim_.z:g}·{m.stderr:.3g}" if m.stderr else ""
        print(f"  {m.label or 'value'} = {m.value:.6g}{band} {m.relation} {m.bound:.6g}   "
              f"(ratio {m.ratio:.4g})")
    verdict = combine(ms, claim_.z)[0]
    print(f"{claim_.id}: verdict: {verdict}")
    return verdict


def _reproducer(claim_: Claim, instance: Any, seed: int) -> str:
    """A snippet that re-measures ``instance`` with the same knobs and seed.

    It binds ``verdict`` (see :func:`reproduce`); the claim is found by id on the
    ``claim = find_claim(...)`` line, which callers may point at a folder.
    """
    base_id = claim_.id.split("[")[0]
    lines = ["import numpy as np", "from theorycheck import find_claim, reproduce",
             f"claim = find_claim({base_id!r})"]
    if claim_.knobs:
        suffix = claim_.id[len(base_id) + 1:-1] if claim_.id != base_id else "variant"
        knobs = ", ".join(f"{k}={_full_repr(v)}" for k, v in claim_.knobs.items())
        lines.append(f"claim = claim.variant({suffix!r}, {knobs})")
    lines += [f"instance = {_full_repr(instance)}",
              f"verdict = reproduce(claim, instance, seed={seed})"]
    return "\n".join(lines)


#: Finite stand-in for an infinite ratio when it is handed to ``hypothesis.target``.
_TARGET_CAP = 1e300


def _aim(ms: Sequence[Measurement]) -> None:
    """Point hypothesis's targeted search at the bound: one ``target`` per label, the
    worst ratio among that label's measurements (clipped to be finite; NaN skipped).
    Called only from inside a hypothesis test."""
    import hypothesis
    best: dict[str, float] = {}
    for i, m in enumerate(ms):
        r = m.ratio
        if math.isnan(r):
            continue
        label = m.label or f"measurement {i}"
        best[label] = max(best.get(label, -_TARGET_CAP), min(max(r, -_TARGET_CAP), _TARGET_CAP))
    for label, score in best.items():
        hypothesis.target(score, label=label)


def _search(strategy, srch: _Search, n_max: int, seed: int, database, key: bytes, *,
            raise_errors: bool) -> tuple[str | None, str | None]:
    """One hypothesis search over ``strategy``, targeted at each measurement's ratio.

    A violation stops generation and is shrunk (the last failing instance recorded is the
    smallest). An error stops it only with ``raise_errors`` (the second pass, which shrinks
    the error once the first found no violation). Returns ``(traceback, note)``: the
    traceback when the strategy itself raised, a note when hypothesis gave up early.
    """
    import hypothesis
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis.errors import HypothesisException, Unsatisfiable
    from hypothesis.reporting import with_reporter

    def search(inst):
        v, ms = srch.record(inst)
        if ms:
            _aim(ms)
        if v == "fails":
            raise _Violation()
        if v == "error" and raise_errors:
            raise _MeasureRaised()

    search._hypothesis_internal_add_digest = key  # one database entry per claim
    test = settings(max_examples=n_max, deadline=None, database=database, derandomize=False,
                    suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target,
                            Phase.shrink],
                    print_blob=False, report_multiple_bugs=False)(
        hypothesis.seed(seed)(given(strategy)(search)))
    test._hypothesis_internal_database_key = key  # stable across theorycheck versions
    with with_reporter(lambda *_: None), _claim_constants(srch.claim.module):
        try:
            test()
        except (_Violation, _MeasureRaised, Unsatisfiable):
            pass  # recorded in srch; Unsatisfiable: every draw was discarded
        except HypothesisException as exc:
            return None, f"hypothesis stopped the search: {type(exc).__name__}: {exc}".splitlines()[0]
        except Exception:
            return traceback.format_exc(), None  # the strategy itself raised
    return None, None


@contextlib.contextmanager
def _claim_constants(module_name: str):
    """Hypothesis seeds its draws with literals from the *local* modules loaded at the time,
    so a search would depend on what else this process imported (other claims, the command
    line, a test runner, a worker's history). During a claim's search the pool is the
    literals of the claim's own module only: the same search in any process. Without the
    private hook (another hypothesis version) the search runs as hypothesis has it."""
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants, constants_from_module
        from hypothesis.internal.floats import float_to_int
        from sortedcontainers import SortedSet
        hook = providers._get_local_constants
        cache = providers.CONSTANTS_CACHE
    except (ImportError, AttributeError):  # pragma: no cover - other hypothesis versions
        yield
        return
    import sys
    pool = Constants(integers=SortedSet(), floats=SortedSet(key=float_to_int), bytes=SortedSet(),
                     strings=SortedSet())
    module = sys.modules.get(module_name)
    if module is not None and getattr(module, "__file__", None):
        pool = pool | constants_from_module(module)
    providers._get_local_constants = lambda: pool
    cache.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = hook
        cache.cache.clear()


def describe_result(res: ClaimResult) -> str:
    ratio = "–" if res.worst is None else f"{res.worst_ratio:.4g}"
    lines = [f"{res.claim_id}: {res.verdict} after {res.instances} instances "
             f"(worst ratio {ratio})" + (f", {res.discarded} discarded" if res.discarded else "")
             + (f"; found by {res.found_by}" if res.found_by else "")]
    if res.note:
        lines.append(f"  {res.note}")
    if res.counterexample is not None:
        lines.append(f"  counterexample: {res.counterexample_repr}")
    if res.counterexample_measurements:
        for m in res.counterexample_measurements:
            lines.append(f"    {m['label'] or 'value'} = {m['value']:.6g} {m['relation']} {m['bound']:.6g}?")
    if res.traceback:
        lines.append(res.traceback)
    return "\n".join(lines)


def select(claims: Sequence[Claim], patterns: Sequence[str] | None) -> list[Claim]:
    """Claims whose id matches any glob in ``patterns`` (all when empty).

    Parameters
    ----------
    claims : sequence of Claim
        The candidates (e.g. :func:`discover`'s result).
    patterns : sequence of str or None
        Ids or ``fnmatch`` globs, e.g. ``["gaussian.*"]``; None or empty selects all.

    Raises
    ------
    ClaimError
        A pattern matches no claim.
    """
    if not patterns:
        return list(claims)
    chosen, ids = [], [c.id for c in claims]
    for pat in patterns:
        hits = [c for c in claims if fnmatch.fnmatchcase(c.id, pat)]
        if not hits:
            close = [i for i in ids if pat.split("*")[0] and pat.split("*")[0] in i][:3]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ClaimError(f"claim id {pat!r} matches no claim{hint}; "
                             f"run 'theorycheck check --list' to see the ids")
        chosen.extend(c for c in hits if c not in chosen)
    return chosen


def _is_strategy(obj) -> bool:
    try:
        from hypothesis.strategies import SearchStrategy
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, SearchStrategy)


def _digest_bytes(obj) -> bytes:
    if isinstance(obj, np.ndarray):
        return b"nd" + str(obj.dtype).encode() + str(obj.shape).encode() + np.ascontiguousarray(obj).tobytes()
    if isinstance(obj, Mapping):
        return b"{" + b",".join(_digest_bytes(k) + b":" + _digest_bytes(obj[k])
                                for k in sorted(obj, key=repr)) + b"}"
    if isinstance(obj, (list, tuple)):
        return b"[" + b",".join(_digest_bytes(x) for x in obj) + b"]"
    if isinstance(obj, float):
        return repr(float(obj)).encode()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return type(obj).__name__.encode() + _digest_bytes(dataclasses.asdict(obj))
    return repr(obj).encode()


def _short_repr(obj, limit: int = 160) -> str:
    r = _full_repr(obj)
    return r if len(r) <= limit else r[: limit - 3] + "..."


def _full_repr(obj) -> str:
    if isinstance(obj, np.ndarray):
        return f"np.array({obj.tolist()!r})"
    if isinstance(obj, Mapping):
        return "{" + ", ".join(f"{k!r}: {_full_repr(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, tuple):
        inner = ", ".join(_full_repr(x) for x in obj)
        return f"({inner},)" if len(obj) == 1 else f"({inner})"
    if isinstance(obj, list):
        return "[" + ", ".join(_full_repr(x) for x in obj) + "]"
    return repr(obj)
