"""Optimised falsification: after the hypothesis search, a numerical optimiser climbs the
violation ratio from the most critical instances found, inside each instance's domain
(docs/theory.md §0.2).

Which parts of an instance are searched
---------------------------------------
The engine hands hypothesis an *annotated* copy of the claim's strategy (:func:`annotate`):
every continuous leaf it can read a domain for is tagged as it is drawn, so the optimiser
knows, for each array or float of an instance, the set it was drawn from. The rule:

1. A leaf drawn by a :mod:`theorycheck.strategies` factory is searched in that factory's
   domain (``s.domain.of(A)``): the optimiser moves ``theta`` and builds
   ``domain.from_params(theta)`` (projected back when the domain is a relaxation,
   ``exact=False``). Sign matrices are discrete: only their entries' sign flips are tried.
2. A float array drawn by ``hypothesis.extra.numpy.arrays(float dtype, shape,
   elements=st.floats(lo, hi))``, or a float drawn by ``st.floats(lo, hi)``, is searched in
   the box ``[lo, hi]`` read from the strategy, entry by entry, through the chart
   ``c + w sin(theta)`` (smooth, onto the closed box). A side the strategy leaves unbounded
   is taken from the observed instance: ``-+2 max|x|`` over the starting instance's float
   entries (1 when they are all 0); any box is inside an unbounded domain, and this one
   keeps the search at the scale hypothesis drew.
3. Tuples, fixed dictionaries, ``one_of`` and ``flatmap`` are looked through (a flatmap's
   inner strategy is annotated when it is built, so arrays whose shape is drawn first are
   covered). Everything else is left fixed: integers, booleans, strings, shapes, and any
   value built by ``st.composite``, ``.map`` or ``.filter`` (its domain is unknown; moving
   it could leave the set the statement quantifies over), unless the strategy declares its
   leaves with :func:`theorycheck.strategies.with_domains`.

A claim is *searchable* when at least one leaf of its best instances is covered.

What the phase does
-------------------
:func:`falsify` starts from the best instances of each instance *structure* (the shapes of
its leaves; :func:`plan_starts`), plus one random member of every structure the strategy
draws but the search did not (:func:`synthesise`). The first ``k`` starts (3) get a third
each of the budget left; a start ends after two rounds without progress, handing on what it
did not spend; budget left at the end goes to kicking the best end point of every structure
again. From each start it alternates

* a *vertex pass*: every entry in turn is set to its box's bounds, to 0 and to its nearest
  integer, keeping a change that raises the ratio (a tie only for a move to 0 or an integer:
  a walk along a plateau toward exact zeros);
* a *near-repeat pass*: a row (column) moved toward another, ``1 - 10^-k`` of the way, the
  direction in which a matrix becomes nearly singular;
* *Powell's method* (``scipy.optimize.minimize``, derivative-free, ``maxfev`` bounded) on
  ``-asinh(ratio)`` over ``theta``, abandoned after a few line searches without a rise;
* a random kick of some coordinates when a round stalls (basin hopping, seeded by the
  claim's seed).

Every evaluation is the claim's own ``measure`` on a float64 instance; the first whose
verdict is ``fails`` stops the phase. :func:`simplify` then rounds the counterexample
(entries to 0, to integers and signs, to fewer significant digits; rows and columns
dropped where the domain allows) while it still fails. docs/lemmas.md, "Optimised
falsification", has the measurements behind these choices.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

#: Each of the first starts gets 1/TOP_K of the budget left (the engine's budget is
#: ``theorycheck.claims.engine.OPTIMISE_EVALS``).
TOP_K = 3
#: Evaluations spent simplifying a counterexample, at most.
SIMPLIFY_EVALS = 400


# --------------------------------------------------------------------------- leaf domains


@dataclass(frozen=True)
class LeafInfo:
    """The set one continuous leaf was drawn from.

    ``kind`` is ``"box"`` (entries independent in ``[lo, hi]``; a None side is taken from
    the observed instance) or ``"domain"`` (a :class:`~theorycheck.strategies.MatrixDomains`
    in ``family``). ``source`` names the strategy, for reports.
    """

    kind: str
    lo: float | None = None
    hi: float | None = None
    family: Any = None
    source: str = ""


class Registry:
    """Maps drawn objects (by identity) to the :class:`LeafInfo` of the strategy that drew
    them. Objects are kept alive while the registry lives, so identities stay unique."""

    def __init__(self, limit: int = 200_000):
        self._seen: dict[int, tuple[Any, LeafInfo | None]] = {}
        self.limit = limit

    def tagger(self, info: LeafInfo) -> Callable[[Any], Any]:
        def tag(x):
            if len(self._seen) < self.limit:
                old = self._seen.get(id(x))
                if old is not None and old[0] is x and old[1] != info:
                    self._seen[id(x)] = (x, None)  # one object, two strategies: ambiguous
                else:
                    self._seen[id(x)] = (x, info)
            return x
        return tag

    def lookup(self, x) -> LeafInfo | None:
        entry = self._seen.get(id(x))
        return entry[1] if entry is not None and entry[0] is x else None

    def __len__(self) -> int:
        return len(self._seen)


def _unwrap(s):
    """The strategy a LazyStrategy stands for (hypothesis builds most strategies lazily)."""
    for _ in range(20):
        inner = getattr(s, "wrapped_strategy", None)
        if inner is None or inner is s:
            return s
        s = inner
    return s


def _flatmap_parts(inner):
    """``(base, expand)`` of a FlatMapStrategy (the base's attribute name changed across
    hypothesis versions)."""
    base = getattr(inner, "base", None)
    if base is None:
        base = inner.flatmapped_strategy
    return base, inner.expand


def _float_bounds(elements) -> tuple[float | None, float | None] | None:
    """``(lo, hi)`` of a plain ``st.floats`` strategy (None for an infinite side), or None
    when ``elements`` is anything else (mapped, filtered, integers, a union...)."""
    inner = _unwrap(elements)
    if type(inner).__name__ != "FloatStrategy":
        return None
    lo, hi = getattr(inner, "min_value", None), getattr(inner, "max_value", None)
    try:
        lo = None if lo is None or not math.isfinite(float(lo)) else float(lo)
        hi = None if hi is None or not math.isfinite(float(hi)) else float(hi)
    except (TypeError, ValueError):
        return None
    if lo is not None and hi is not None and not lo < hi:
        return None  # a single value: nothing to search
    return lo, hi


def _declared_tagger(declared: Mapping, registry: Registry) -> Callable[[Any], Any]:
    """Registers the leaves a strategy declared with ``theorycheck.strategies.with_domains``."""
    from theorycheck.strategies import MatrixDomains

    infos = {}
    for key, dom in declared.items():
        if isinstance(dom, MatrixDomains):
            infos[key] = LeafInfo("domain", family=dom, source=f"declared {key} ({dom.name})")
        else:
            infos[key] = LeafInfo("box", dom[0], dom[1],
                                  source=f"declared {key} in [{_fmt(dom[0])}, {_fmt(dom[1], '+inf')}]")

    def tag(inst):
        if isinstance(inst, Mapping):
            for key, info in infos.items():
                if key in inst:
                    registry.tagger(info)(inst[key])
        return inst
    return tag


def _fmt(v, inf: str = "-inf") -> str:
    return inf if v is None else f"{v:g}"


def annotate(strategy, registry: Registry, _depth: int = 0):
    """A strategy drawing exactly what ``strategy`` draws, whose continuous leaves are
    recorded in ``registry`` with their domain (see the module docstring for the rule).
    Parts without such leaves are returned unchanged (the same object)."""
    from hypothesis import strategies as st

    from theorycheck.strategies import MatrixDomains

    if _depth > 40:
        return strategy
    declared = getattr(strategy, "leaf_domains", None)
    if isinstance(declared, Mapping) and declared:
        return strategy.map(_declared_tagger(declared, registry))
    fam = getattr(strategy, "domain", None)
    if isinstance(fam, MatrixDomains):
        return strategy.map(registry.tagger(LeafInfo("domain", family=fam,
                                                     source=f"theorycheck.strategies ({fam.name})")))
    inner = _unwrap(strategy)
    kind = type(inner).__name__
    try:
        if kind == "ArrayStrategy":
            if np.dtype(inner.dtype).kind != "f":
                return strategy
            box = _float_bounds(inner.element_strategy)
            if box is None:
                return strategy
            return strategy.map(registry.tagger(LeafInfo(
                "box", *box, source=f"arrays(elements=floats({_fmt(box[0])}, {_fmt(box[1])}))")))
        if kind == "FloatStrategy":
            box = _float_bounds(inner)
            if box is None:
                return strategy
            return strategy.map(registry.tagger(LeafInfo(
                "box", *box, source=f"floats({_fmt(box[0])}, {_fmt(box[1])})")))
        if kind == "TupleStrategy":
            old = tuple(inner.element_strategies)
            new = tuple(annotate(s, registry, _depth + 1) for s in old)
            return strategy if all(a is b for a, b in zip(old, new)) else st.tuples(*new)
        if kind == "FixedDictStrategy":
            mapping, optional = dict(inner.mapping), dict(getattr(inner, "optional", None) or {})
            new_m = {k: annotate(v, registry, _depth + 1) for k, v in mapping.items()}
            new_o = {k: annotate(v, registry, _depth + 1) for k, v in optional.items()}
            if all(new_m[k] is mapping[k] for k in mapping) and all(new_o[k] is optional[k] for k in optional):
                return strategy
            return st.fixed_dictionaries(new_m, optional=new_o or None)
        if kind == "OneOfStrategy":
            old = list(inner.original_strategies)
            new = [annotate(s, registry, _depth + 1) for s in old]
            return strategy if all(a is b for a, b in zip(old, new)) else st.one_of(*new)
        if kind == "FlatMapStrategy":
            base, expand = _flatmap_parts(inner)
            new_base = annotate(base, registry, _depth + 1)
            return new_base.flatmap(lambda v: annotate(expand(v), registry, _depth + 1))
    except AttributeError:  # a hypothesis whose internals moved: search without annotation
        return strategy
    return strategy


# ---------------------------------------------------------------- structures not yet drawn

#: At most this many structures are synthesised per claim.
MAX_SYNTHESISED = 32
_ENUM_LIMIT = 32


class _Opaque(Exception):
    """A part of a strategy whose draws the optimiser cannot construct."""


def _values(s) -> list:
    """Every value of a small discrete strategy (integers in a short range, sampled_from,
    just, booleans, tuples of those); raises _Opaque otherwise."""
    inner = _unwrap(s)
    kind = type(inner).__name__
    if kind == "IntegersStrategy":
        a, b = getattr(inner, "start", None), getattr(inner, "end", None)
        if a is None or b is None or b - a + 1 > _ENUM_LIMIT:
            raise _Opaque()
        return list(range(a, b + 1))
    if kind in ("SampledFromStrategy", "JustStrategy"):
        if getattr(inner, "_transformations", ()) or len(inner.elements) > _ENUM_LIMIT:
            raise _Opaque()
        return list(inner.elements)
    if kind == "BooleansStrategy":
        return [False, True]
    if kind == "TupleStrategy":
        out = [()]
        for e in inner.element_strategies:
            out = [t + (v,) for t in out for v in _values(e)]
            if len(out) > _ENUM_LIMIT * _ENUM_LIMIT:
                raise _Opaque()
        return out
    raise _Opaque()


def _makers(s, registry: Registry, depth: int = 0) -> list[Callable[[Any], Any]]:
    """One maker ``rng -> instance`` per structure ``s`` can draw, each building an instance
    of that structure whose continuous leaves are random members of their domain (and
    registered with it). Raises _Opaque when a part of ``s`` is neither a known leaf nor a
    container or small discrete choice the optimiser can enumerate."""
    from theorycheck.strategies import MatrixDomains

    if depth > 20:
        raise _Opaque()
    fam = getattr(s, "domain", None)
    if isinstance(fam, MatrixDomains):
        info = LeafInfo("domain", family=fam, source=f"theorycheck.strategies ({fam.name})")

        def from_domain(shape):
            def make(rng):
                dom = fam(shape)
                if dom.name == "sign":
                    A = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
                else:
                    A = dom.from_params(rng.standard_normal(dom.p))
                    A = A if dom.exact else dom.project(A)
                return registry.tagger(info)(A)
            return make
        return [from_domain(sh) for sh in fam.shapes[:_ENUM_LIMIT]]
    inner = _unwrap(s)
    kind = type(inner).__name__
    if kind in ("ArrayStrategy", "FloatStrategy"):
        box = _float_bounds(inner.element_strategy if kind == "ArrayStrategy" else inner)
        if box is None or (kind == "ArrayStrategy" and np.dtype(inner.dtype).kind != "f"):
            raise _Opaque()
        info = LeafInfo("box", *box)
        lo = box[0] if box[0] is not None else -(abs(box[1]) if box[1] is not None else 1.0) - 1.0
        hi = box[1] if box[1] is not None else abs(lo) + 1.0
        if kind == "FloatStrategy":
            return [lambda rng: registry.tagger(info)(float(rng.uniform(lo, hi)))]
        shape, dtype = tuple(inner.shape), inner.dtype
        return [lambda rng: registry.tagger(info)(rng.uniform(lo, hi, shape).astype(dtype))]
    if kind in ("TupleStrategy", "FixedDictStrategy"):
        if kind == "FixedDictStrategy" and getattr(inner, "optional", None):
            raise _Opaque()
        keys = list(range(len(inner.element_strategies))) if kind == "TupleStrategy" else list(inner.mapping)
        parts = [_makers(e, registry, depth + 1) for e in
                 (inner.element_strategies if kind == "TupleStrategy" else inner.mapping.values())]
        combos = [()]
        for ms in parts:
            combos = [c + (m,) for c in combos for m in ms][: _ENUM_LIMIT * 4]

        def build(combo):
            if kind == "TupleStrategy":
                return lambda rng: tuple(m(rng) for m in combo)
            return lambda rng: {k: m(rng) for k, m in zip(keys, combo)}
        return [build(c) for c in combos]
    if kind == "OneOfStrategy":
        return [m for b in inner.original_strategies for m in _makers(b, registry, depth + 1)]
    if kind == "FlatMapStrategy":
        base, expand = _flatmap_parts(inner)
        out = []
        for v in _values(base):
            out += _makers(expand(v), registry, depth + 1)
            if len(out) > _ENUM_LIMIT * 4:
                break
        return out
    if kind in ("IntegersStrategy", "SampledFromStrategy", "JustStrategy", "BooleansStrategy"):
        vals = _values(inner)
        return [(lambda v: (lambda rng: v))(v) for v in vals]
    raise _Opaque()


def synthesise(strategy, registry: Registry, seen: set, seed: int = 0,
               limit: int = MAX_SYNTHESISED) -> list:
    """Instances of the structures ``strategy`` can draw but the search did not (their
    signatures are not in ``seen``): one per structure, continuous leaves drawn uniformly
    from their domain, registered in ``registry``. Empty when part of the strategy is
    opaque (see the module docstring). Lets the optimiser reach dimensions that a short
    hypothesis search, which favours small examples, never drew."""
    try:
        makers = _makers(strategy, registry)
    except (_Opaque, AttributeError, TypeError, ValueError):
        return []
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x5E])
    out, sigs = [], set(seen)
    for make in makers:
        try:
            inst = make(rng)
        except Exception:  # noqa: BLE001 - a user expand() that refuses this value
            continue
        sig = signature(inst)
        if sig not in sigs:
            sigs.add(sig)
            out.append(inst)
            if len(out) >= limit:
                break
    return out


# ------------------------------------------------------------------------ instance leaves


def _walk(obj, path=()):
    """(path, value) for every float ndarray and float of a (nested) instance."""
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "f":
            yield path, obj
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _walk(v, path + (k,))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _walk(v, path + (i,))
    elif isinstance(obj, float):
        yield path, obj


def _replace(obj, values: Mapping[tuple, Any], path=()):
    """``obj`` with the leaves at ``values``' paths replaced (containers rebuilt)."""
    if path in values:
        return values[path]
    if isinstance(obj, Mapping):
        return type(obj)({k: _replace(v, values, path + (k,)) for k, v in obj.items()}) \
            if type(obj) is dict else {k: _replace(v, values, path + (k,)) for k, v in obj.items()}
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(_replace(v, values, path + (i,)) for i, v in enumerate(obj))
    if isinstance(obj, tuple):  # a namedtuple
        return type(obj)(*(_replace(v, values, path + (i,)) for i, v in enumerate(obj)))
    if isinstance(obj, list):
        return [_replace(v, values, path + (i,)) for i, v in enumerate(obj)]
    return obj


def signature(obj) -> tuple:
    """The structure of an instance: containers, keys, leaf types and array shapes."""
    if isinstance(obj, np.ndarray):
        return ("a", obj.shape, obj.dtype.str)
    if isinstance(obj, Mapping):
        return ("d",) + tuple((repr(k), signature(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return ("t" if isinstance(obj, tuple) else "l",) + tuple(signature(v) for v in obj)
    return (type(obj).__name__,)


@dataclass
class _Leaf:
    """One searchable leaf of a starting instance: its chart and its discrete moves."""

    path: tuple
    value: Any                      # the starting value (ndarray or float)
    info: LeafInfo
    p: int = 0                      # continuous parameters
    theta0: np.ndarray | None = None
    lo: float | None = None         # the box entries are snapped to (None: no box)
    hi: float | None = None
    dom: Any = None                 # the MatrixDomain, for domain leaves
    discrete_only: bool = False

    @property
    def is_float(self) -> bool:
        return not isinstance(self.value, np.ndarray)

    @property
    def shape(self):
        return () if self.is_float else self.value.shape

    def build(self, theta: np.ndarray):
        """The leaf's value at ``theta`` (float64, inside the domain)."""
        if self.info.kind == "box":
            c, w = (self.lo + self.hi) / 2.0, (self.hi - self.lo) / 2.0
            x = np.clip(c + w * np.sin(theta), self.lo, self.hi)
            return float(x[0]) if self.is_float else x.reshape(self.shape)
        A = self.dom.from_params(theta)
        return A if self.dom.exact else self.dom.project(A)

    def admit(self, value):
        """``value`` made a member of the leaf's domain, or None when it cannot be."""
        if self.info.kind == "box":
            arr = np.asarray(value, dtype=np.float64)
            if not np.all(np.isfinite(arr)) or arr.min() < self.lo or arr.max() > self.hi:
                return None
            return float(arr) if self.is_float else arr.reshape(np.shape(value))
        try:
            A = self.dom.project(np.asarray(value, dtype=np.float64))
        except Exception:
            return None
        return A if self.dom.contains(A) else None

    def candidates(self, x: float) -> list[float]:
        """Values an entry currently ``x`` is snapped to in the vertex pass."""
        out = []
        if self.lo is not None:
            out += [self.lo, self.hi]
            if self.lo <= 0.0 <= self.hi:
                out.append(0.0)
            r = float(np.round(x))
            if self.lo <= r <= self.hi:
                out.append(r)
        else:
            out += [0.0, float(np.round(x)), 1.0, -1.0]
        seen, res = set(), []
        for v in out:
            if v != x and v not in seen:
                seen.add(v)
                res.append(v)
        return res


def _leaf(path, value, info: LeafInfo, scale: float = 0.0) -> _Leaf | None:
    """The searchable leaf for ``value`` drawn as ``info`` says, or None (left fixed).
    ``scale`` is the largest magnitude among the instance's float entries (the observed
    bound of an unbounded side is twice the larger of it and the leaf's own)."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        return None
    if info.kind == "box":
        m = max(float(np.abs(arr).max()), float(scale))
        m = 2.0 * m if m > 0 else 1.0
        lo = info.lo if info.lo is not None else -max(m, abs(info.hi or 0.0))
        hi = info.hi if info.hi is not None else max(m, abs(info.lo or 0.0))
        lo, hi = min(lo, float(arr.min())), max(hi, float(arr.max()))
        if not hi > lo:
            return None
        c, w = (lo + hi) / 2.0, (hi - lo) / 2.0
        theta0 = np.arcsin(np.clip((arr.ravel() - c) / w, -1.0, 1.0))
        return _Leaf(path, value, info, p=arr.size, theta0=theta0, lo=lo, hi=hi)
    if arr.ndim != 2:
        return None
    try:
        dom = info.family.of(arr)
    except Exception:
        return None  # a shape the family does not draw
    box = dom.box
    leaf = _Leaf(path, arr, info, dom=dom, lo=None if box is None else box[0],
                 hi=None if box is None else box[1])
    if dom.name == "sign":
        leaf.discrete_only = True
        return leaf
    try:
        theta0 = dom.to_params(arr)
    except Exception:
        theta0 = None
    if theta0 is not None and np.all(np.isfinite(theta0)) and dom.p > 0:
        leaf.p, leaf.theta0 = dom.p, np.asarray(theta0, dtype=np.float64)
    return leaf


def leaves(instance, registry: Registry) -> list[_Leaf]:
    """The searchable leaves of ``instance`` (those drawn by an annotated strategy)."""
    out, scale = [], instance_scale(instance)
    for path, value in _walk(instance):
        info = registry.lookup(value)
        if info is not None:
            leaf = _leaf(path, value, info, scale)
            if leaf is not None:
                out.append(leaf)
    return out


# --------------------------------------------------------------------------- the search


class _Found(Exception):
    def __init__(self, instance, ratio):
        super().__init__()
        self.instance, self.ratio = instance, ratio


class _Exhausted(Exception):
    pass


@dataclass
class Outcome:
    """What the optimiser phase did.

    ``instance`` is the re-verified (and simplified) counterexample, or None; ``best`` the
    largest ratio reached and ``best_instance`` where; ``evaluations`` the measure calls
    (simplification included); ``starts`` the starting instances used; ``searchable`` whether
    any start had a leaf to move; ``errors`` the evaluations whose measure raised;
    ``simplified`` whether simplification changed the counterexample.
    """

    instance: Any = None
    ratio: float = -math.inf
    best: float = -math.inf
    best_instance: Any = None
    evaluations: int = 0
    starts: int = 0
    searchable: bool = False
    errors: int = 0
    first_error: str | None = None
    simplified: bool = False
    infos: dict = field(default_factory=dict)
    timed_out: bool = False
    seconds: float = 0.0
    history: list = field(default_factory=list)


def _squash(r: float) -> float:
    """The objective: a monotone, log-like transform of the ratio (NaN and errors are -inf)."""
    if math.isnan(r):
        return math.inf  # a NaN measurement fails (Measurement.verdict); the search stops on it
    return math.asinh(max(min(r, 1e300), -1e300))


class _Evaluator:
    """Counts and caches evaluations, tracks the best ratio, stops at the first violation."""

    def __init__(self, judge: Callable[[Any], tuple[str, float]], budget: int, outcome: Outcome,
                 deadline: float | None):
        self.judge, self.budget, self.out, self.deadline = judge, budget, outcome, deadline

    def __call__(self, instance) -> float:
        if self.out.evaluations >= self.budget:
            raise _Exhausted()
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.out.timed_out = True
            raise _Exhausted()
        self.out.evaluations += 1
        try:
            verdict, ratio = self.judge(instance)
        except _Discarded:
            return -math.inf
        except Exception as exc:  # noqa: BLE001 - the measure raised on this instance
            self.out.errors += 1
            if self.out.first_error is None:
                self.out.first_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            return -math.inf
        if verdict == "fails":
            raise _Found(instance, ratio)
        if not math.isnan(ratio) and ratio > self.out.best:
            self.out.best, self.out.best_instance = ratio, instance
        return ratio


class _Discarded(Exception):
    pass


class _Point:
    """A starting instance with its leaves, and the instance at any parameter vector."""

    def __init__(self, instance, leaves_: list[_Leaf]):
        self.instance, self.leaves = instance, leaves_
        self.cont = [lf for lf in leaves_ if lf.p > 0]
        self.offsets = np.cumsum([0] + [lf.p for lf in self.cont])
        self.p = int(self.offsets[-1])

    def theta0(self) -> np.ndarray:
        return np.concatenate([lf.theta0 for lf in self.cont]) if self.cont else np.zeros(0)

    def build(self, theta: np.ndarray, values: dict | None = None):
        vals = dict(values or {})
        for lf, a, b in zip(self.cont, self.offsets[:-1], self.offsets[1:]):
            vals[lf.path] = lf.build(theta[a:b])
        return _replace(self.instance, vals)


def _vertex_pass(point: _Point, inst, r: float, ev: _Evaluator, rng, sweeps: int = 2):
    """Coordinate moves to the bounds, 0 and the nearest integer; keeps a move that raises the
    ratio, or ties it on the way to 0 or an integer (a plateau walk toward exact zeros)."""
    for _ in range(sweeps):
        improved = False
        for lf in point.leaves:
            cur = _get(inst, lf.path)
            arr = np.array(cur, dtype=np.float64).reshape(-1)
            for idx in rng.permutation(arr.size):
                base = _get(inst, lf.path)
                flat = np.array(base, dtype=np.float64).reshape(-1)
                x = float(flat[idx])
                for v in lf.candidates(x):
                    trial = flat.copy()
                    trial[idx] = v
                    val = lf.admit(trial[0] if lf.is_float else trial.reshape(lf.shape))
                    if val is None:
                        continue
                    cand = _replace(inst, {lf.path: val})
                    rc = ev(cand)
                    # a tie is kept only for a simplifying move (to 0 or an integer): a
                    # walk along a plateau toward exact zeros and integer patterns
                    if rc > r or (rc == r and (v == 0.0 or v == round(x))):
                        improved = improved or rc > r
                        inst, r = cand, rc
                        break
        if not improved:
            break
    return inst, r


#: How close the near-repeat moves bring one row (column) to another: 1 - 10^-k.
_NEAR = (1, 2, 4, 6, 8, 10, 12)


def _repeat_pass(point: _Point, inst, r: float, ev: _Evaluator, rng):
    """Rank-drop moves: row (column) j of a matrix leaf replaced by
    ``(1 - a) row_j + a row_i`` with ``a = 1 - 10^-k`` for growing k, so that the matrix
    approaches one with a repeated row without reaching it (where lemmas about
    near-singular matrices break, and their guards do not yet apply). Convex combinations
    stay in a box; a structured domain gets them projected. Keeps the best that raises the
    ratio; per pair, stops at the first k that does not."""
    for lf in point.leaves:
        if lf.is_float or lf.discrete_only or np.ndim(lf.value) != 2:
            continue
        for axis in (0, 1):
            A = np.asarray(_get(inst, lf.path), dtype=np.float64)
            n = A.shape[axis]
            pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
            for t in rng.permutation(len(pairs)):
                i, j = pairs[t]
                A = np.asarray(_get(inst, lf.path), dtype=np.float64)
                Ai, Aj = (A[i], A[j]) if axis == 0 else (A[:, i], A[:, j])
                if np.array_equal(Ai, Aj):
                    continue
                best, prev = None, r
                for k in _NEAR:
                    a = 1.0 - 10.0 ** -k
                    B = A.copy()
                    if axis == 0:
                        B[j] = (1 - a) * Aj + a * Ai
                    else:
                        B[:, j] = (1 - a) * Aj + a * Ai
                    val = lf.admit(B)
                    if val is None:
                        break
                    cand = _replace(inst, {lf.path: val})
                    rc = ev(cand)
                    if rc <= prev:
                        break
                    best, prev = cand, rc
                if best is not None:
                    inst, r = best, prev
    return inst, r


def _get(obj, path):
    for k in path:
        obj = obj[k]
    return obj


def _theta_of(point: _Point, inst) -> np.ndarray | None:
    """Parameters of ``inst`` (a variant of the point's instance) in the point's charts."""
    parts = []
    for lf in point.cont:
        v = np.asarray(_get(inst, lf.path), dtype=np.float64)
        if lf.info.kind == "box":
            c, w = (lf.lo + lf.hi) / 2.0, (lf.hi - lf.lo) / 2.0
            parts.append(np.arcsin(np.clip((v.ravel() - c) / w, -1.0, 1.0)))
        else:
            t = lf.dom.to_params(v)
            if t is None or not np.all(np.isfinite(t)):
                return None
            parts.append(np.asarray(t, dtype=np.float64))
    return np.concatenate(parts) if parts else np.zeros(0)


def _powell(point: _Point, inst, r: float, ev: _Evaluator, maxfev: int):
    """Powell's method on -asinh(ratio) from ``inst``; returns the best instance and ratio."""
    from scipy.optimize import minimize

    theta0 = _theta_of(point, inst)
    if theta0 is None or theta0.size == 0 or maxfev <= 0:
        return inst, r
    # box entries at a bound sit at a stationary point of the chart (theta = +-pi/2), where a
    # line search cannot leave them: the vertex pass moves those, Powell the others
    free = np.ones(theta0.size, dtype=bool)
    for lf, a, b in zip(point.cont, point.offsets[:-1], point.offsets[1:]):
        if lf.info.kind == "box" or getattr(lf.dom, "name", "") == "box":   # the same sin chart
            free[a:b] = np.abs(np.abs(theta0[a:b]) - np.pi / 2) > 1e-12
    if not free.any():
        return inst, r
    fixed = {lf.path: _get(inst, lf.path) for lf in point.leaves if lf.p == 0}
    best = [inst, r]
    calls = [0]
    patience = 3 * int(free.sum()) + 30   # a few line searches

    def f(sub):
        theta = theta0.copy()
        theta[free] = sub
        cand = point.build(theta, fixed)
        rc = ev(cand)
        calls[0] += 1
        if rc > best[1]:
            best[0], best[1] = cand, rc
        elif best[1] == r and calls[0] > patience:
            raise _Stalled()     # a plateau: a sweep of line searches found no rise
        return -_squash(rc) if rc > -math.inf else 1e300

    try:
        if LOCAL_METHOD == "nelder-mead":
            minimize(f, theta0[free], method="Nelder-Mead",
                     options={"maxfev": int(maxfev), "xatol": 1e-9, "fatol": 1e-12, "adaptive": True})
        elif LOCAL_METHOD == "differential-evolution":
            from scipy.optimize import differential_evolution
            x0 = theta0[free]
            # box charts are periodic: one period around the start covers the box
            bounds = [(t - np.pi, t + np.pi) for t in x0]
            pop = 8
            differential_evolution(f, bounds, x0=x0, popsize=pop, init="sobol", polish=False,
                                   maxiter=max(int(maxfev) // (pop * len(x0)) - 1, 1), tol=0,
                                   seed=int(abs(theta0.sum() * 1e6)) % (2 ** 32))
        else:
            minimize(f, theta0[free], method="Powell",
                     options={"maxfev": int(maxfev), "xtol": 1e-6, "ftol": 1e-10, "disp": False})
    except _Stalled:
        pass
    return best[0], best[1]


#: The local optimiser of the continuous step: ``"powell"`` (the default; see the module
#: docstring), or ``"nelder-mead"`` / ``"differential-evolution"`` for comparison
#: (``benchmarks/falsification/ablation.py``).
LOCAL_METHOD = "powell"
#: Whether the discrete moves (vertex pass, near-repeat pass) run beside the local optimiser.
DISCRETE_MOVES = True


class _Stalled(Exception):
    pass


def _kick(point: _Point, inst, rng, frac: float = 0.3):
    """A random move of a few coordinates (basin hopping): entries to random values of the
    box, or domain parameters perturbed by N(0, 1)."""
    vals = {}
    for lf in point.leaves:
        v = np.array(_get(inst, lf.path), dtype=np.float64)
        if lf.info.kind == "box" or lf.discrete_only:
            flat = v.reshape(-1)
            m = max(1, int(frac * flat.size))
            idx = rng.choice(flat.size, size=min(m, flat.size), replace=False)
            if lf.lo is not None:
                flat[idx] = rng.uniform(lf.lo, lf.hi, size=len(idx))
                if lf.discrete_only:
                    flat[idx] = np.where(rng.random(len(idx)) < 0.5, lf.lo, lf.hi)
            else:
                flat[idx] = rng.standard_normal(len(idx))
            got = lf.admit(flat[0] if lf.is_float else flat.reshape(lf.shape))
        else:
            t = lf.dom.to_params(v) if lf.p else None
            if t is None:
                continue
            t = np.asarray(t, dtype=np.float64).copy()
            m = max(1, int(frac * t.size))
            idx = rng.choice(t.size, size=min(m, t.size), replace=False)
            t[idx] += rng.standard_normal(len(idx))
            got = lf.build(t)
        if got is not None:
            vals[lf.path] = got
    return _replace(inst, vals)


def _climb(point: _Point, inst, cur: float, ev: _Evaluator, rng, stop_at: int):
    """Vertex pass, near-repeat pass and Powell, repeated while they make progress; a stall
    gets one random kick (kept when it ends no worse). Ends after two stalls in a row or at
    ``stop_at`` evaluations. Returns the best ``(instance, ratio)``."""
    out = ev.out
    stalls, start = 0, cur
    while out.evaluations < stop_at and stalls < 2:
        before = cur
        if DISCRETE_MOVES:
            inst, cur = _vertex_pass(point, inst, cur, ev, rng)
            inst, cur = _repeat_pass(point, inst, cur, ev, rng)
        if point.p:
            inst, cur = _powell(point, inst, cur, ev, min(stop_at - out.evaluations, 20 * point.p + 100))
        if cur > before:
            stalls = 0
            continue
        stalls += 1
        if out.evaluations < stop_at:   # a plateau since the start: restart anywhere
            kicked = _kick(point, inst, rng, frac=1.0 if cur <= start else 0.3)
            rk = ev(kicked)
            if DISCRETE_MOVES:
                kicked, rk = _vertex_pass(point, kicked, rk, ev, rng, sweeps=1)
            if point.p:
                kicked, rk = _powell(point, kicked, rk, ev,
                                     min(stop_at - out.evaluations, 20 * point.p + 100))
            if rk >= cur:
                inst, cur = kicked, rk
    return inst, cur


def plan_starts(pool: Mapping[tuple, Sequence[tuple[float, Any]]], limit: int = 12) -> list[tuple[float, Any]]:
    """Starting points from the search's best instances per structure (``pool``: structure
    -> ``(ratio, instance)``, best first): the best of every structure (best ratio first),
    then the second best of every structure, and so on, ``limit`` in all."""
    ranked = sorted(pool.values(), key=lambda lst: -lst[0][0])
    out, depth = [], 0
    while len(out) < limit and any(depth < len(lst) for lst in ranked):
        out += [lst[depth] for lst in ranked if depth < len(lst)]
        depth += 1
    return out[:limit]


def falsify(starts: Sequence[tuple[float, Any]], registry: Registry,
            judge: Callable[[Any], tuple[str, float]], *, budget: int, seed: int = 0,
            k: int = TOP_K, deadline: float | None = None) -> Outcome:
    """Maximise the violation ratio from ``starts`` (``(ratio, instance)``, best first).

    ``judge(instance)`` returns the instance's ``(verdict, ratio)`` and raises
    ``_Discarded`` for a discarded instance. Each start gets ``1/k`` of the budget left (the
    last ones all of it); a start ends after two rounds without progress, handing what it
    did not spend to the next. Stops at the first instance judged ``fails`` (returned in
    ``Outcome.instance``, not yet re-verified or simplified), after ``budget`` evaluations,
    or at ``deadline`` (``time.perf_counter()``).
    """
    t0 = time.perf_counter()
    out = Outcome()
    ev = _Evaluator(judge, budget, out, deadline)
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x0F7])
    points = []
    for r, inst in starts:
        lv = leaves(inst, registry)
        if lv:
            points.append(_Point(inst, lv))
    out.searchable = bool(points)
    point = None
    try:
        state = []
        for i, point in enumerate(points):       # every start, a share of the budget each
            out.starts += 1
            left = budget - out.evaluations
            stop_at = out.evaluations + max(left // max(1, min(k, len(points) - i)), 1)
            inst, cur = point.instance, ev(point.instance)
            state.append(_climb(point, inst, cur, ev, rng, stop_at))
        # budget left: the best end point of every structure is kicked and climbed again, in turn
        best: dict[tuple, int] = {}
        for i, point in enumerate(points):
            sig = signature(point.instance)
            if sig not in best or state[i][1] > state[best[sig]][1]:
                best[sig] = i
        ring = sorted(best.values(), key=lambda i: -state[i][1])
        while ring and out.evaluations < budget:
            for i in ring:
                point = points[i]
                inst, cur = state[i]
                kicked = _kick(point, inst, rng)
                stop_at = out.evaluations + max((budget - out.evaluations) // max(1, min(k, len(ring))), 1)
                got = _climb(point, kicked, ev(kicked), ev, rng, stop_at)
                if got[1] >= cur:
                    state[i] = got
        out.history = [cur for _, cur in state]
    except _Found as found:
        out.instance, out.ratio = found.instance, found.ratio
        out.infos = {lf.path: lf.info for lf in point.leaves}
    except _Exhausted:
        pass
    out.seconds = time.perf_counter() - t0
    return out


# ------------------------------------------------------------------------ simplification


def _round_sig(x: np.ndarray, digits: int) -> np.ndarray:
    """``x`` rounded to ``digits`` significant digits (0 stays 0)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(x == 0, 0, np.floor(np.log10(np.abs(np.where(x == 0, 1, x)))))
    scale = 10.0 ** (digits - 1 - mag)
    return np.where(x == 0, 0.0, np.round(x * scale) / scale)


def simplify(instance, leaves_: list[_Leaf], still_fails: Callable[[Any], bool], *,
             budget: int = SIMPLIFY_EVALS, shapes_ok: Callable[[Any], bool] | None = None,
             infos: Mapping[tuple, LeafInfo] | None = None):
    """A simpler instance that still fails.

    In order: rows and columns dropped (when ``shapes_ok`` accepts the smaller instance:
    the engine asks that the search drew an instance of that structure and that every
    leaf's domain holds the smaller value); every leaf rounded to the fewest significant
    digits that keep it failing; then entry by entry to 0, the nearest integer, its sign,
    and 1-3 significant digits. No move leaves a leaf's domain. At most ``budget`` calls of
    ``still_fails``. Returns ``(instance, calls)``.
    """
    used = [0]

    def ok(cand) -> bool:
        if used[0] >= budget:
            return False
        used[0] += 1
        try:
            return bool(still_fails(cand))
        except Exception:  # noqa: BLE001
            return False

    infos = dict(infos) if infos is not None else {lf.path: lf.info for lf in leaves_}
    inst = instance
    # 1. drop rows / columns (the same index along every axis of one length, or one axis)
    if shapes_ok is not None:
        changed = True
        while changed and used[0] < budget:
            changed = False
            for cand in _drops(inst, [lf.path for lf in leaves_ if not lf.is_float]):
                if shapes_ok(cand) and ok(cand):
                    inst, changed = cand, True
                    break
    current = _rebuild(inst, infos) if inst is not instance else list(leaves_)
    # 2. whole leaves to fewer significant digits
    for lf in current:
        for digits in range(1, 16):
            v = _get(inst, lf.path)
            r = _round_sig(v, digits)
            new = lf.admit(float(r) if lf.is_float else r)
            if new is None or _same(new, v):
                continue
            cand = _replace(inst, {lf.path: new})
            if ok(cand):
                inst = cand
                break
    # 3. entry by entry: 0, integer, sign, fewer digits
    for lf in current:
        size = int(np.size(_get(inst, lf.path)))
        for idx in range(size):
            cur = np.array(_get(inst, lf.path), dtype=np.float64).reshape(-1)
            x = float(cur[idx])
            opts = [0.0, float(np.round(x)), float(np.sign(x))] + \
                [float(_round_sig(np.array([x]), d)[0]) for d in (1, 2, 3)]
            for o in dict.fromkeys(opts):
                if o == x:
                    continue
                trial = cur.copy()
                trial[idx] = o
                new = lf.admit(float(trial[0]) if lf.is_float else trial.reshape(lf.shape))
                if new is None:
                    continue
                cand = _replace(inst, {lf.path: new})
                if ok(cand):
                    inst = cand
                    break
    return inst, used[0]


def instance_scale(instance) -> float:
    """The largest magnitude among an instance's finite float entries (0 when none)."""
    m = 0.0
    for _, value in _walk(instance):
        arr = np.abs(np.asarray(value, dtype=np.float64))
        arr = arr[np.isfinite(arr)]
        if arr.size:
            m = max(m, float(arr.max()))
    return m


def _rebuild(inst, infos: Mapping[tuple, LeafInfo]) -> list[_Leaf]:
    """The searchable leaves of a variant of an instance whose leaves had ``infos``."""
    out, scale = [], instance_scale(inst)
    for path, value in _walk(inst):
        if path in infos:
            lf = _leaf(path, value, infos[path], scale)
            if lf is not None:
                out.append(lf)
    return out


def leaves_admit(inst, infos: Mapping[tuple, LeafInfo]) -> bool:
    """Whether every leaf of ``inst`` at a path of ``infos`` lies in its domain (a box, or
    a matrix family that draws its shape and contains it)."""
    for path, value in _walk(inst):
        info = infos.get(path)
        if info is None:
            continue
        arr = np.asarray(value, dtype=np.float64)
        if info.kind == "box":
            if (info.lo is not None and arr.min() < info.lo) or (info.hi is not None and arr.max() > info.hi):
                return False
            continue
        try:
            if not info.family.of(arr).contains(arr):
                return False
        except Exception:  # noqa: BLE001 - a shape the family does not draw
            return False
    return True


def _same(a, b) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b))


def _drops(inst, paths: Sequence[tuple]) -> Iterable[Any]:
    """Instances with one index removed: along every axis (of the array leaves at ``paths``)
    that has a given length, then along one axis of one leaf."""
    arrays = [(p, None) for p in paths]
    lengths = sorted({n for p, _ in arrays for n in np.shape(_get(inst, p)) if n > 1}, reverse=True)
    for n in lengths:
        for i in range(n - 1, -1, -1):
            vals = {}
            for p, _ in arrays:
                A = np.asarray(_get(inst, p))
                for ax in range(A.ndim):
                    if A.shape[ax] == n:
                        A = np.delete(A, i, axis=ax)
                vals[p] = A
            yield _replace(inst, vals)
    for p, _ in arrays:
        A = np.asarray(_get(inst, p))
        for ax in range(A.ndim):
            if A.shape[ax] > 1:
                for i in range(A.shape[ax] - 1, -1, -1):
                    yield _replace(inst, {p: np.delete(A, i, axis=ax)})
