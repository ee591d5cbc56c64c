"""Claims: checkable statements from the papers, with verdicts that can fail.

A :class:`Claim` pairs a statement from ``THEORY.md`` (tagged [A], [R] or [M])
with a way to draw instances and a ``measure`` that returns, for one instance,
a :class:`Measurement`: a measured value, the bound it must respect, and an
optional standard error. ``Claim.check`` runs the search and returns a
:class:`ClaimResult` whose verdict is

* ``holds``: every instance respects its bound (with error bars clear of it);
* ``fails``: some instance violates its bound; hypothesis shrinks it, and the
  smallest failing instance is kept as the counterexample;
* ``inconclusive``: no violation, but some error bar straddles the bound;
* ``error``: the measurement raised; the (shrunk) instance and traceback are kept.

Instances come from a hypothesis strategy (searched and shrunk) or from a
parameter grid (a sequence, tried in order; list the smallest cases first).
Measures that need randomness declare an ``rng`` parameter; they receive a
generator seeded from ``(seed, digest(instance))`` so any instance reproduces
exactly from the report.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import inspect
import itertools
import math
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from theorycheck.errors import ClaimError
from theorycheck.validation import check_int, short_repr

SCALES = ("quick", "full")
VERDICTS = ("holds", "fails", "inconclusive", "error")
TAGS = ("A", "R", "M")


@dataclass(frozen=True)
class Measurement:
    """One measured quantity against its bound.

    ``relation`` is ``"<="`` (value must not exceed bound) or ``">="``.
    With ``stderr > 0`` the verdict uses the band ``value ± z * stderr``:
    clear of the bound on the right side is ``holds``, clear on the wrong side
    is ``fails``, straddling it is ``inconclusive``.
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
                "detail": {k: _jsonable(v) for k, v in self.detail.items()}}


@dataclass
class ClaimResult:
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

    @property
    def counterexample_repr(self) -> str | None:
        return None if self.counterexample is None else _short_repr(self.counterexample)

    def to_dict(self) -> dict:
        return {
            "id": self.claim_id, "statement": self.statement, "paper": self.paper,
            "tag": self.tag, "ref": self.ref, "scale": self.scale, "seed": self.seed,
            "verdict": self.verdict, "instances": self.instances,
            "worst_ratio": _jsonable(self.worst_ratio), "worst": self.worst,
            "counterexample": None if self.counterexample is None else _full_repr(self.counterexample),
            "counterexample_measurements": self.counterexample_measurements,
            "seconds": round(self.seconds, 3), "traceback": self.traceback,
            "reproducer": self.reproducer,
        }


@dataclass(frozen=True)
class Claim:
    """A checkable statement. Build one with the :func:`claim` decorator.

    ``knobs`` are keyword arguments passed to ``measure``; :meth:`variant`
    overrides them, which is how tests build broken variants (a wrong constant,
    a biased estimator) and see the claim report ``fails``.
    """

    id: str
    statement: str
    paper: str
    tag: str
    ref: str
    measure: Callable[..., Any]
    instances: Any
    max_examples: Mapping[str, int] = field(default_factory=lambda: {"quick": 25, "full": 200})
    z: float = 4.0
    knobs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        check_claim_fields(id=self.id, statement=self.statement, paper=self.paper, tag=self.tag,
                           ref=self.ref, instances=self.instances, z=self.z)
        if not callable(self.measure):
            raise ClaimError(f"claim {self.id}: measure={short_repr(self.measure)} is not callable; "
                             f"decorate a function measure(instance, ...)")
        if not isinstance(self.max_examples, Mapping):
            raise ClaimError(f"claim {self.id}: max_examples={short_repr(self.max_examples)} is "
                             f"invalid; pass an integer or a mapping {{scale: integer}}")
        for scale, n in self.max_examples.items():
            check_int(f"claim {self.id}: max_examples[{scale!r}]", n, min_value=1, error=ClaimError)
        if not isinstance(self.knobs, Mapping):
            raise ClaimError(f"claim {self.id}: knobs={short_repr(self.knobs)} is invalid; pass "
                             f"keyword knobs")
        if not self.id or any(c.isspace() for c in self.id):
            raise ClaimError(f"claim id={self.id!r} is invalid; use a dotted name without spaces")
        if self.tag not in TAGS:
            raise ClaimError(f"claim {self.id}: tag={self.tag!r} is invalid; use one of A, R, M "
                             f"(THEORY.md's tags)")
        params = inspect.signature(self.measure).parameters
        unknown = [k for k in self.knobs if k not in params
                   and not any(p.kind is p.VAR_KEYWORD for p in params.values())]
        if unknown:
            raise ClaimError(f"claim {self.id}: knob(s) {unknown} are not parameters of "
                             f"{self.measure.__name__}; add them to its signature")

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

    def check(self, scale: str = "quick", seed: int = 0, max_examples: int | None = None) -> ClaimResult:
        return run_claim(self, scale=scale, seed=seed, max_examples=max_examples)

    def as_test(self, scale: str = "quick", seed: int = 0, expect: str = "holds"):
        """A pytest test function asserting this claim's verdict."""
        def test():
            res = self.check(scale=scale, seed=seed)
            assert res.verdict == expect, describe_result(res)
        test.__name__ = "test_" + self.id.replace(".", "_")
        return test


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
                         f"(abstract, reconstruction, standard mathematics)")
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
          **knobs) -> Callable[[Callable], Claim]:
    """Decorator turning ``measure(instance, [rng], **knobs)`` into a :class:`Claim`.

    ``instances`` is a hypothesis strategy, a sequence of instances (a grid),
    a mapping ``{scale: either}``, or a callable ``scale -> either``. Wrong argument types
    raise one :class:`~theorycheck.errors.ClaimError` line naming the argument.
    """
    check_claim_fields(id=id, statement=statement, paper=paper, tag=tag, ref=ref,
                       instances=instances, z=z)
    if isinstance(max_examples, bool):
        raise ClaimError(f"claim {id}: max_examples={max_examples!r} is invalid; pass an integer "
                         f">= 1 or a mapping {{scale: integer}}")
    if isinstance(max_examples, int):
        max_examples = {s: check_int("max_examples", max_examples, min_value=1, error=ClaimError)
                        for s in SCALES}
    elif max_examples is not None and not isinstance(max_examples, Mapping):
        raise ClaimError(f"claim {id}: max_examples={short_repr(max_examples)} is invalid; pass "
                         f"an integer >= 1 or a mapping {{scale: integer}}")

    def wrap(fn: Callable) -> Claim:
        if not callable(fn):
            raise ClaimError(f"claim {id}: @claim decorates {short_repr(fn)}, which is not "
                             f"callable; decorate a function measure(instance, ...)")
        return Claim(id=id, statement=statement, paper=paper, tag=tag, ref=ref, measure=fn,
                     instances=instances, z=z, knobs=knobs,
                     max_examples=max_examples or {"quick": 25, "full": 200})
    return wrap


def grid(**axes: Iterable) -> list[dict]:
    """Cartesian product of the axes as a list of dicts, in the given order."""
    names = list(axes)
    return [dict(zip(names, vals)) for vals in itertools.product(*(list(axes[n]) for n in names))]


def instance_rng(instance: Any, seed: int) -> np.random.Generator:
    digest = hashlib.sha256(_digest_bytes(instance)).digest()
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int.from_bytes(digest[:8], "little")])


def evaluate(claim_: Claim, instance: Any, seed: int = 0) -> list[Measurement]:
    """Measure one instance; always returns a non-empty list of Measurements."""
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


def run_claim(claim_: Claim, scale: str = "quick", seed: int = 0,
              max_examples: int | None = None) -> ClaimResult:
    """Search the claim's instances and return its verdict."""
    if not isinstance(claim_, Claim):
        raise ClaimError(f"claim_={claim_!r:.60} is invalid: a {type(claim_).__name__}, not a "
                         f"Claim; pass an object made by @theorycheck.claim or @theorycheck.lemma")
    if scale not in SCALES:
        raise ClaimError(f"scale={scale!r} is invalid; use one of {', '.join(SCALES)}")
    seed = check_int("seed", seed, min_value=0, max_value=2**32 - 1, error=ClaimError)
    if max_examples is not None:
        max_examples = check_int("max_examples", max_examples, min_value=1, error=ClaimError)
    t0 = time.perf_counter()
    instances = claim_.instances_for(scale)
    n_max = max_examples or claim_.max_examples.get(scale) or 25
    state = {"n": 0, "worst_ratio": -math.inf, "worst": None, "inconclusive": False,
             "fail": None, "fail_ms": None, "error": None, "error_inst": None}

    def record(inst) -> str:
        state["n"] += 1
        try:
            ms = evaluate(claim_, inst, seed)
        except ClaimError:
            raise
        except Exception:
            state["error"] = traceback.format_exc()
            state["error_inst"] = inst
            return "error"
        verdict, ratio, worst = combine(ms, claim_.z)
        if math.isnan(ratio) or ratio > state["worst_ratio"]:
            state["worst_ratio"] = ratio
            state["worst"] = {"instance": _short_repr(inst), **worst.to_dict()}
        if verdict == "fails":
            state["fail"], state["fail_ms"] = inst, [m.to_dict() for m in ms]
        elif verdict == "inconclusive":
            state["inconclusive"] = True
        return verdict

    if _is_strategy(instances):
        _search(instances, record, n_max, seed)
    else:
        try:
            seq = list(instances)
        except TypeError:
            raise ClaimError(f"claim {claim_.id}: instances for scale {scale!r} are "
                             f"{type(instances).__name__}; give a hypothesis strategy or a list") from None
        if not seq:
            raise ClaimError(f"claim {claim_.id}: the instance grid for scale {scale!r} is empty; "
                             f"give at least one instance")
        first_fail = None
        for inst in seq[:n_max] if max_examples else seq:
            v = record(inst)
            if v == "error":
                break
            if v == "fails" and first_fail is None:
                first_fail = (inst, state["fail_ms"])
        if first_fail is not None:
            state["fail"], state["fail_ms"] = first_fail

    if state["error"] is not None:
        verdict, cex, cex_ms = "error", state["error_inst"], None
    elif state["fail"] is not None:
        verdict, cex, cex_ms = "fails", state["fail"], state["fail_ms"]
    else:
        verdict = "inconclusive" if state["inconclusive"] else "holds"
        cex = cex_ms = None
    return ClaimResult(
        claim_id=claim_.id, statement=claim_.statement, paper=claim_.paper, tag=claim_.tag,
        ref=claim_.ref, scale=scale, seed=seed, verdict=verdict, instances=state["n"],
        worst_ratio=state["worst_ratio"] if state["n"] else math.nan, worst=state["worst"],
        counterexample=cex, counterexample_measurements=cex_ms,
        seconds=time.perf_counter() - t0, traceback=state["error"],
        reproducer=None if cex is None else _reproducer(claim_, cex, seed))


def _reproducer(claim_: Claim, instance: Any, seed: int) -> str:
    """A snippet that re-measures ``instance`` with the same knobs and seed."""
    knobs = ", ".join(f"{k}={_full_repr(v)}" for k, v in claim_.knobs.items())
    base_id = claim_.id.split("[")[0]
    return (f"import numpy as np\n"
            f"from theorycheck import evaluate, find_claim\n"
            f"claim = find_claim({base_id!r})" + (f".variant({knobs})" if knobs else "") + "\n"
            f"instance = {_full_repr(instance)}\n"
            f"print(evaluate(claim, instance, seed={seed}))")


def _search(strategy, record, n_max: int, seed: int) -> None:
    """Hypothesis search; a failing instance is shrunk, and the last one recorded is the smallest."""
    import hypothesis
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis.reporting import with_reporter

    @settings(max_examples=n_max, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
              phases=[Phase.explicit, Phase.generate, Phase.shrink], print_blob=False,
              report_multiple_bugs=False)
    @hypothesis.seed(seed)
    @given(strategy)
    def search(inst):
        v = record(inst)
        if v == "fails":
            raise _Violation()
        if v == "error":
            raise _MeasureRaised()

    with with_reporter(lambda *_: None):
        try:
            search()
        except (_Violation, _MeasureRaised):
            pass


def describe_result(res: ClaimResult) -> str:
    lines = [f"{res.claim_id}: {res.verdict} after {res.instances} instances "
             f"(worst ratio {res.worst_ratio:.4g})"]
    if res.counterexample is not None:
        lines.append(f"  counterexample: {res.counterexample_repr}")
    if res.counterexample_measurements:
        for m in res.counterexample_measurements:
            lines.append(f"    {m['label'] or 'value'} = {m['value']:.6g} {m['relation']} {m['bound']:.6g}?")
    if res.traceback:
        lines.append(res.traceback)
    return "\n".join(lines)


def select(claims: Sequence[Claim], patterns: Sequence[str] | None) -> list[Claim]:
    """Claims whose id matches any glob in ``patterns`` (all when empty)."""
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


def _jsonable(v):
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (int, str, bool)) or v is None:
        return v
    return repr(v)
