"""Deep label hierarchies of polynomial threshold functions (docs/theory.md §3.2).

Inputs are x uniform on {±1}^d, named ``x0 .. x{d-1}``. A hierarchy has r
levels of ±1 labels; each label is a polynomial threshold function (PTF)

    y = sign(p(parents)),   p = sum_S c_S prod_{j in S} parent_j,

with integer coefficients ``c_S``, degree ``max |S| <= K`` and bound
``max |c_S| <= M``. Labels are named ``y{level}_{j}``.

Conventions [R]:

* parents of a level-1 label are inputs; parents of a level-i label are labels
  of earlier levels or inputs (the residual stream carries both);
* monomials are multilinear (x^2 = 1 on ±1 values), written as sorted tuples of
  positions into the label's parent list;
* sign(0) = +1 in evaluation, but a valid hierarchy has no ties: ``verify_ptf``
  checks |p| >= 1 on every parent assignment (integer coefficients make the
  margin 1 automatic once p is never 0);
* the margin-normalised definition used by the value-based verifier
  (:func:`ptf_certificate`): a ±1 function is a (K, M)-PTF if some real
  polynomial of degree <= K with max |coefficient| <= M has y * p >= 1 on every
  parent assignment. An integer (K, M)-PTF satisfies it.

Families (:func:`generate`): ``parity`` (product of the parents), ``majority``
(sign of their sum, odd fan-in), ``junta`` (a random Boolean function of the
parents, written through its Walsh expansion), wired ``random`` or ``tree``.
The teacher model (:func:`teacher`) follows docs/theory.md §3.2's last item.

docs/theory.md §3.2b's lesson: composed labels may collapse to low-degree parities of
x. :func:`x_degree` computes each label's true degree in x exactly from its
Walsh spectrum on its input support, and ``generate(min_x_degree=...)`` redraws
wiring that collapses.
"""

from __future__ import annotations

import graphlib
import itertools
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Mapping, Sequence

import numpy as np

from theorycheck.errors import SpecError
from theorycheck.validation import check_array, check_choice, check_int

FAMILIES = ("parity", "majority", "junta")
WIRINGS = ("random", "tree")
MAX_DEGREE = 12
MAX_SUPPORT = 18


@dataclass(frozen=True)
class Label:
    """One label: ``sign(sum_S c_S prod_{j in S} parents[j])`` at ``level``.

    Parameters
    ----------
    name : str
        Unique name, e.g. ``y2_0``.
    level : int
        Its level, >= 1 (level-1 labels read x).
    parents : tuple of str
        Names of the inputs it reads (``x3`` or labels of lower levels).
    poly : tuple
        ``((S, c_S), ...)``: monomials as tuples of positions in ``parents`` with integer
        coefficients (docs/theory.md §3.2.1).
    """

    name: str
    level: int
    parents: tuple[str, ...]
    poly: tuple[tuple[tuple[int, ...], int], ...]

    @property
    def degree(self) -> int:
        return max((len(m) for m, _ in self.poly), default=0)

    @property
    def bound(self) -> int:
        return max((abs(c) for _, c in self.poly), default=0)

    def value(self, P: np.ndarray) -> np.ndarray:
        """The polynomial p on parent values ``P`` of shape (n, len(parents))."""
        out = np.zeros(P.shape[0], dtype=np.float64)
        for mono, c in self.poly:
            out += c * (np.prod(P[:, list(mono)], axis=1) if mono else 1.0)
        return out


def label(name: str, level: int, parents: Sequence[str],
          poly: Mapping[tuple[int, ...], int] | Sequence) -> Label:
    """Build a :class:`Label`, normalising monomials (sorted, x^2 = 1) and dropping zeros."""
    items = poly.items() if isinstance(poly, Mapping) else poly
    acc: dict[tuple[int, ...], int] = {}
    for mono, c in items:
        if isinstance(c, bool) or not float(c).is_integer():
            raise SpecError(f"label {name}: coefficient {c!r} of monomial {tuple(mono)} is not an "
                            f"integer; PTF coefficients are integers (scale the polynomial)")
        counts: dict[int, int] = {}
        for j in mono:
            counts[int(j)] = counts.get(int(j), 0) + 1
        m = tuple(sorted(j for j, k in counts.items() if k % 2))
        acc[m] = acc.get(m, 0) + int(c)
    terms = tuple(sorted(((m, c) for m, c in acc.items() if c), key=lambda t: (len(t[0]), t[0])))
    return Label(str(name), int(level), tuple(str(p) for p in parents), terms)


@dataclass(frozen=True)
class Hierarchy:
    """A validated label hierarchy over {±1}^d. Build with :func:`hierarchy`.

    Parameters
    ----------
    d : int
        Input dimension; inputs are in {±1}^d.
    K : int
        Degree bound of every label's PTF (docs/theory.md §3.2.1).
    M : int
        Coefficient bound of every label's PTF.
    labels : tuple of Label
        The labels, level by level.
    meta : mapping
        How the hierarchy was drawn (family, seed, ...); not compared.
    """

    d: int
    K: int
    M: int
    labels: tuple[Label, ...]
    meta: Mapping = field(default_factory=dict, compare=False)

    @property
    def r(self) -> int:
        return max(l.level for l in self.labels)

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(l.name for l in self.labels)

    @cached_property
    def column(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}

    def level(self, i: int) -> list[int]:
        """Column indices (into :meth:`evaluate`'s output) of the labels of level ``i``."""
        return [k for k, l in enumerate(self.labels) if l.level == i]

    def widths(self) -> list[int]:
        return [len(self.level(i)) for i in range(1, self.r + 1)]

    def __getitem__(self, name: str) -> Label:
        return self.labels[self.column[name]]

    def evaluate(self, X) -> np.ndarray:
        """All labels on inputs ``X`` (n, d) of ±1: an (n, #labels) float64 array of ±1,
        columns in level order (docs/theory.md §3.2, exact)."""
        X = check_array("X", X, ndim=2, shape=(None, self.d))
        if X.size and not np.all(np.abs(X) == 1):
            raise SpecError("X has entries other than ±1; the hierarchy is defined on {±1}^d")
        Y = np.empty((X.shape[0], len(self.labels)), dtype=np.float64)
        for k, lab in enumerate(self.labels):
            P = np.stack([self._node(X, Y, p) for p in lab.parents], axis=1)
            Y[:, k] = np.where(lab.value(P) >= 0, 1.0, -1.0)
        return Y

    def _node(self, X, Y, name: str) -> np.ndarray:
        if name in self.column:
            return Y[:, self.column[name]]
        return X[:, int(name[1:])]

    def support(self, name: str) -> tuple[int, ...]:
        """Input coordinates the label depends on through its ancestry."""
        out: set[int] = set()
        seen: set[str] = set()
        stack = [name]
        while stack:
            n = stack.pop()
            if n in seen:
                continue  # shared ancestors are walked once (the ancestry is a DAG, not a tree)
            seen.add(n)
            if n in self.column:
                stack.extend(self[n].parents)
            else:
                out.add(int(n[1:]))
        return tuple(sorted(out))

    def sympy(self, name: str):
        """The label as a sympy expression ``sign(p(parents))`` in its parents' symbols."""
        import sympy as sp
        lab = self[name]
        syms = sp.symbols(list(lab.parents)) if lab.parents else ()
        syms = syms if isinstance(syms, (list, tuple)) else (syms,)
        p = sum((c * sp.Mul(*(syms[j] for j in m)) for m, c in lab.poly), sp.Integer(0))
        return sp.sign(p)

    def display(self) -> str:
        """One line per label: ``y2_0 = sign(y1_3*y1_5)``."""
        return "\n".join(f"{l.name} = {self.sympy(l.name)}" for l in self.labels)


def input_names(d: int) -> tuple[str, ...]:
    return tuple(f"x{i}" for i in range(d))


def _require_parents(prev: Sequence[str], needs: str, k: int, knob: str, d: int, lev: int) -> None:
    """Raise when level ``lev`` cannot draw ``k`` distinct parents from ``prev`` (the inputs
    at level 1, else the labels of level lev - 1); ``needs`` starts the message."""
    if len(prev) >= k:
        return
    what = f"d={d} inputs" if lev == 1 else f"{len(prev)} labels at level {lev - 1}"
    fix = f"d >= {k}" if lev == 1 else f"labels_per_level >= {k}"
    raise SpecError(f"{needs} distinct parents but there are only {what}; use {fix} or a smaller {knob}")


def hierarchy(d: int, labels: Sequence[Label], *, K: int, M: int, meta=None) -> Hierarchy:
    """Validate and build a hierarchy (docs/theory.md §3.2). Errors name the offending label.

    Checks, in order: ranges of d, K, M; unique names; unknown parents; cycles;
    dependencies on the same or a later level; level-1 labels reading labels;
    degree <= K and 1 <= |c| <= M; monomial positions within the parent list.

    Parameters
    ----------
    d : int
        Input dimension.
    labels : sequence of Label
        The labels, in any order.
    K, M : int
        Degree and coefficient bounds.
    meta : mapping or None
        Provenance kept with the hierarchy.

    Returns
    -------
    Hierarchy

    Raises
    ------
    SpecError
        The first check that fails, naming the label.
    """
    d = check_int("d", d, min_value=1)
    K = check_int("K", K, min_value=1, max_value=MAX_DEGREE)
    M = check_int("M", M, min_value=1)
    labels = list(labels)
    if not labels:
        raise SpecError("labels=[] is invalid: a hierarchy needs at least one label; "
                        "give level-1 labels of the input")
    inputs = set(input_names(d))
    by_name: dict[str, Label] = {}
    for lab in labels:
        if lab.name in inputs:
            raise SpecError(f"label {lab.name}: the name is an input's; name labels y<level>_<j>")
        if lab.name in by_name:
            raise SpecError(f"label {lab.name} is defined twice; give each label a unique name")
        if isinstance(lab.level, bool) or lab.level < 1:
            raise SpecError(f"label {lab.name}: level={lab.level!r} is invalid; "
                            f"levels are 1, 2, ...")
        by_name[lab.name] = lab
    for lab in labels:
        if not lab.parents:
            raise SpecError(f"label {lab.name} has no parents; give it at least one input or label")
        if len(set(lab.parents)) != len(lab.parents):
            raise SpecError(f"label {lab.name} lists a parent twice ({list(lab.parents)}); "
                            f"list each parent once")
        for p in lab.parents:
            if p not in inputs and p not in by_name:
                xs = f"x0..x{d - 1}"
                raise SpecError(f"label {lab.name}: parent {p!r} is neither an input ({xs}) nor a "
                                f"label; use an existing name" +
                                (f" or d > {p[1:]}" if p[:1] == "x" and p[1:].isdigit() else ""))
    graph = {lab.name: [p for p in lab.parents if p in by_name] for lab in labels}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cyc = list(exc.args[1])
        raise SpecError(f"label {cyc[0]} depends on itself through the cycle "
                        f"{' <- '.join(cyc)}; a hierarchy must be acyclic") from None
    for lab in labels:
        for p in lab.parents:
            if p in by_name and by_name[p].level >= lab.level:
                where = "the same level" if by_name[p].level == lab.level else "a later level"
                raise SpecError(f"label {lab.name} (level {lab.level}) depends on {p} "
                                f"(level {by_name[p].level}), {where}; parents must be inputs or "
                                f"labels of earlier levels")
        if lab.level == 1 and any(p in by_name for p in lab.parents):
            raise SpecError(f"label {lab.name} is at level 1 but reads labels; level-1 labels "
                            f"are functions of the input only")
        if not lab.poly:
            raise SpecError(f"label {lab.name} has the zero polynomial; give it a nonzero PTF")
        for mono, c in lab.poly:
            if any(j < 0 or j >= len(lab.parents) for j in mono):
                raise SpecError(f"label {lab.name}: monomial {mono} refers to parent positions "
                                f"outside 0..{len(lab.parents) - 1}; index its parent list")
        if lab.degree > K:
            raise SpecError(f"label {lab.name} has degree {lab.degree} > K={K}; raise K or lower "
                            f"the label's degree")
        if lab.bound > M:
            raise SpecError(f"label {lab.name} has a coefficient of size {lab.bound} > M={M}; "
                            f"raise M or shrink the label's coefficients")
    levels = sorted({l.level for l in labels})
    if levels != list(range(1, len(levels) + 1)):
        missing = sorted(set(range(1, max(levels) + 1)) - set(levels))
        raise SpecError(f"levels {missing} have no labels; levels must be 1..r without gaps")
    del order
    ordered = tuple(sorted(labels, key=lambda l: l.level))
    return Hierarchy(d, K, M, ordered, dict(meta or {}))


# ----------------------------------------------------------------------------- families

def _majority_poly(k: int, signs: Sequence[int]) -> dict:
    """Integer Walsh expansion of maj(s_1 a_1, ..., s_k a_k) scaled by 2^(k-1), k odd."""
    return _table_poly(k, lambda A: np.sign(A @ np.asarray(signs, dtype=np.float64)))


def _table_poly(k: int, f: Callable[[np.ndarray], np.ndarray]) -> dict:
    """The multilinear polynomial of a ±1 function of k variables, integer-scaled by its gcd."""
    A = all_assignments(k)
    y = f(A)
    coeffs = walsh(y) * (1 << k)
    ints = np.rint(coeffs).astype(np.int64)
    g = int(np.gcd.reduce(np.abs(ints[ints != 0]))) if np.any(ints) else 1
    ints //= g
    return {tuple(j for j in range(k) if (s >> j) & 1): int(c) for s, c in enumerate(ints) if c}


def family_poly(family: str, k: int, rng: np.random.Generator | None = None) -> dict:
    """Polynomial of one label of ``family`` on k parents (see module docstring)."""
    if family == "parity":
        return {tuple(range(k)): 1}
    if family == "majority":
        return {(j,): 1 for j in range(k)}
    for _ in range(1000):
        table = rng.choice([-1.0, 1.0], size=1 << k)
        if abs(table.sum()) < (1 << k) and all(_depends_on(table, k, j) for j in range(k)):
            break
    else:  # pragma: no cover - k = 1 always succeeds quickly
        raise SpecError(f"could not draw a junta on {k} parents depending on all of them")
    idx = {tuple(a): t for a, t in zip(all_assignments(k).astype(int).tolist(), table)}
    return _table_poly(k, lambda A: np.array([idx[tuple(a)] for a in A.astype(int).tolist()]))


def _depends_on(table: np.ndarray, k: int, j: int) -> bool:
    idx = np.arange(1 << k)
    return bool(np.any(table[idx] != table[idx ^ (1 << j)]))


def family_degree_bound(family: str, k: int) -> tuple[int, int]:
    """(degree, bound) that every label of the family on k parents respects."""
    if family == "parity":
        return k, 1
    if family == "majority":
        return 1, 1
    return k, 1 << k


_LABEL_BYTES = 512          # a label's object, name, parents and polynomial
_LP_SECONDS = 2e-3          # a lower bound of one label's PTF linear program (measured ~50 ms)
_EVAL_SECONDS = 1e-9        # per input row, label and parent of an exact spectrum (lower bound)


def show_cost(d: int, r: int, labels_per_level: int, fan_in: int) -> tuple[float, float]:
    """``(bytes, seconds)`` of drawing a hierarchy and reporting it as ``theorycheck labels
    show`` does (exact x-degrees on supports of at most :data:`MAX_SUPPORT` inputs, the PTF
    check on 4096 inputs): the memory peak and a lower bound of the time. A level-l label's
    support is taken as min(d, fan_in^l)."""
    from theorycheck.budget import array_bytes

    n_labels = float(r) * labels_per_level
    mem = (float(d) + n_labels) * _LABEL_BYTES + array_bytes(4096, float(d) + n_labels, 2)
    secs = n_labels * _LP_SECONDS
    for lev in range(1, min(int(r), 64) + 1):
        supp = min(float(d), float(fan_in) ** lev)
        if supp <= MAX_SUPPORT:
            rows = 2.0 ** supp
            mem = max(mem, array_bytes(rows, float(d) + n_labels, 2))
            secs += labels_per_level * rows * n_labels * fan_in * _EVAL_SECONDS
    return mem, secs


def check_show_budget(d: int, r: int, labels_per_level: int, fan_in: int, *,
                      prefix: str = "") -> None:
    """Refuse (:class:`~theorycheck.errors.BudgetError`) a hierarchy whose drawing and report
    exceed the memory or time budget (:mod:`theorycheck.budget`), naming the size furthest
    above its default (spelt ``prefix + name``) and the largest value that fits."""
    from theorycheck.budget import check_memory_of, check_time_of

    names = {"d": prefix + "d", "r": prefix + "r", "labels_per_level":
             prefix + ("per-level" if prefix else "labels_per_level")}
    sizes = {names["d"]: d, names["r"]: r, names["labels_per_level"]: labels_per_level}
    ref = {names["d"]: 16, names["r"]: 3, names["labels_per_level"]: 8}

    def cost(s):
        return show_cost(s[names["d"]], s[names["r"]], s[names["labels_per_level"]], fan_in)

    check_memory_of(lambda s: cost(s)[0], sizes, ref, what="the hierarchy and its report")
    check_time_of(lambda s: cost(s)[1], sizes, ref, what="the hierarchy's exact degrees and PTF "
                                                         "checks")


def generate(d: int, r: int, labels_per_level: int | Sequence[int] = 8, *,
             family: str = "parity", fan_in: int = 2, wiring: str = "random", seed: int = 0,
             K: int | None = None, M: int | None = None,
             min_x_degree: int | Callable[[int], int] | None = None,
             max_tries: int = 200) -> Hierarchy:
    """A random hierarchy of one family (docs/theory.md §3.2, ready-made families).

    ``wiring="random"``: each label reads ``fan_in`` distinct random parents from
    the previous level (the input for level 1). ``"tree"``: label j of a level
    reads the consecutive block ``j*fan_in .. j*fan_in + fan_in - 1`` of the
    previous level (wrapping around when the level is narrower).
    ``min_x_degree`` (an int or a function of the level) redraws a label's
    random wiring until its true degree in x (:func:`x_degree`) reaches it,
    guarding against the collapse of docs/theory.md §3.2b.
    """
    d = check_int("d", d, min_value=1)
    r = check_int("r", r, min_value=1, max_value=64)
    family = check_choice("family", family, FAMILIES)
    wiring = check_choice("wiring", wiring, WIRINGS)
    fan_in = check_int("fan_in", fan_in, min_value=1, max_value=MAX_DEGREE)
    if family == "majority" and fan_in % 2 == 0:
        raise SpecError(f"fan_in={fan_in} is invalid for majority labels: an even vote can tie; "
                        f"use an odd fan_in")
    widths = [labels_per_level] * r if np.ndim(labels_per_level) == 0 else list(labels_per_level)
    if len(widths) != r:
        raise SpecError(f"labels_per_level has {len(widths)} entries for r={r} levels; give one "
                        f"width per level or a single int")
    widths = [check_int(f"labels_per_level[{i}]", w, min_value=1) for i, w in enumerate(widths)]
    from theorycheck.budget import check_memory_of
    check_memory_of(lambda s: (s["d"] + s["labels"]) * float(_LABEL_BYTES),
                    {"d": d, "labels": sum(widths)}, {"d": 16, "labels": 8 * r},
                    what="the hierarchy's inputs and labels")
    deg, bnd = family_degree_bound(family, fan_in)
    K = deg if K is None else check_int("K", K, min_value=1, max_value=MAX_DEGREE)
    M = bnd if M is None else check_int("M", M, min_value=1)
    rng = np.random.default_rng(seed)
    labels: list[Label] = []
    prev = list(input_names(d))
    for lev in range(1, r + 1):
        current = []
        for j in range(widths[lev - 1]):
            name = f"y{lev}_{j}"
            _require_parents(prev, f"label {name} needs {fan_in}", fan_in, "fan_in", d, lev)
            need = (min_x_degree(lev) if callable(min_x_degree) else min_x_degree) or 0
            for _ in range(max_tries):
                if wiring == "random":
                    parents = tuple(prev[i] for i in rng.choice(len(prev), fan_in, replace=False))
                else:
                    parents = tuple(prev[(j * fan_in + t) % len(prev)] for t in range(fan_in))
                lab = label(name, lev, parents, family_poly(family, fan_in, rng))
                if need <= 0 or _label_x_degree(d, labels + [lab], name) >= need:
                    break
                if wiring == "tree":
                    break
            else:
                raise SpecError(f"label {name}: no wiring in {max_tries} draws reaches degree "
                                f"{need} in x; lower min_x_degree or raise d")
            if need > 0 and _label_x_degree(d, labels + [lab], name) < need:
                raise SpecError(f"label {name}: tree wiring gives degree < {need} in x; lower "
                                f"min_x_degree or use wiring='random'")
            labels.append(lab)
            current.append(name)
        prev = current
    meta = {"family": family, "fan_in": fan_in, "wiring": wiring, "seed": seed,
            "widths": widths}
    return hierarchy(d, labels, K=K, M=M, meta=meta)


def _label_x_degree(d: int, labels: list[Label], name: str) -> int:
    sub = _subhierarchy(d, labels, name)
    deg = x_degree(sub, name)
    return -1 if deg is None else deg


def _subhierarchy(d: int, labels: list[Label], name: str) -> Hierarchy:
    by = {l.name: l for l in labels}
    keep, stack = set(), [name]
    while stack:
        n = stack.pop()
        if n in by and n not in keep:
            keep.add(n)
            stack.extend(by[n].parents)
    levels = sorted({by[n].level for n in keep})
    remap = {lv: i + 1 for i, lv in enumerate(levels)}
    labs = [Label(l.name, remap[l.level], l.parents, l.poly) for l in labels if l.name in keep]
    return Hierarchy(d, MAX_DEGREE, 1 << 30, tuple(sorted(labs, key=lambda l: l.level)))


# ----------------------------------------------------------------------------- Walsh spectrum

def all_assignments(k: int) -> np.ndarray:
    """All 2^k points of {±1}^k; row s has coordinate j = -1 iff bit j of s is set."""
    s = np.arange(1 << k)
    return np.where((s[:, None] >> np.arange(k)) & 1, -1.0, 1.0)


def walsh(values: np.ndarray) -> np.ndarray:
    """Walsh-Fourier coefficients f^(S) = E[f chi_S], S indexed by bitmask, for values on
    :func:`all_assignments` order (fast Walsh-Hadamard transform, exact in float64)."""
    f = np.array(values, dtype=np.float64)
    n = f.shape[0]
    k = n.bit_length() - 1
    if n != 1 << k:
        raise SpecError(f"values has length {n}; give 2^k values in all_assignments order")
    h = 1
    while h < n:
        f = f.reshape(-1, 2, h)
        f = np.stack([f[:, 0] + f[:, 1], f[:, 0] - f[:, 1]], axis=1).reshape(n)
        h *= 2
    return f / n


def spectrum(h: Hierarchy, name: str, max_support: int = MAX_SUPPORT) -> dict | None:
    """Exact Walsh spectrum of a label in x over its input support, or None when the support
    exceeds ``max_support``: ``{"support": coords, "coeffs": {tuple(S): c}}``."""
    supp = h.support(name)
    if len(supp) > max_support:
        return None
    A = all_assignments(len(supp))
    X = np.ones((A.shape[0], h.d))
    X[:, list(supp)] = A
    y = h.evaluate(X)[:, h.column[name]]
    c = walsh(y)
    nz = np.flatnonzero(np.abs(c) > 1e-9)
    return {"support": supp,
            "coeffs": {tuple(supp[j] for j in range(len(supp)) if (s >> j) & 1): float(c[s])
                       for s in nz}}


def x_degree(h: Hierarchy, name: str, max_support: int = MAX_SUPPORT) -> int | None:
    """The label's true degree as a polynomial in x (docs/theory.md §3.2b); None if its support is
    larger than ``max_support`` (not computed).

    Parameters
    ----------
    h : Hierarchy
        The hierarchy.
    name : str
        The label's name.
    max_support : int
        Largest number of input coordinates it may depend on for the exact computation.
    """
    sp_ = spectrum(h, name, max_support)
    if sp_ is None:
        return None
    return max((len(S) for S in sp_["coeffs"]), default=0)


def degree_report(h: Hierarchy, max_support: int = MAX_SUPPORT) -> list[dict]:
    """Per label: level, declared degree in its parents, support size, and true x-degree."""
    return [{"label": l.name, "level": l.level, "degree": l.degree, "bound": l.bound,
             "support": len(h.support(l.name)), "x_degree": x_degree(h, l.name, max_support)}
            for l in h.labels]


# ----------------------------------------------------------------------------- verification

def monomials(k: int, K: int) -> list[tuple[int, ...]]:
    return [m for deg in range(K + 1) for m in itertools.combinations(range(k), deg)]


def _distinct_rows(P: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct parent assignments of ``P`` and the label on each, or None when some
    assignment carries both labels (the label is then not a function of these parents)."""
    uniq, inv = np.unique(P, axis=0, return_inverse=True)
    inv = inv.ravel()
    pos = np.zeros(len(uniq), dtype=bool)
    neg = np.zeros(len(uniq), dtype=bool)
    pos[inv[y > 0]] = True
    neg[inv[y <= 0]] = True
    if np.any(pos & neg):
        return None
    return uniq, np.where(pos, 1, -1)


def ptf_certificate(P: np.ndarray, y: np.ndarray, K: int) -> float:
    """Smallest max-|coefficient| of a real degree-<=K polynomial p with y * p >= 1 on the rows
    of ``P`` (margin-normalised PTF bound, by linear programming); inf if none exists.

    Rows with the same parent assignment but different labels make it inf: the
    label is then not a function of those parents.
    """
    from scipy.optimize import linprog
    P = np.asarray(P, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    rows = _distinct_rows(P, y)
    if rows is None:
        return math.inf
    uniq, yu = rows
    yu = yu.astype(np.float64)
    monos = monomials(P.shape[1], K)
    Phi = np.stack([np.prod(uniq[:, list(m)], axis=1) if m else np.ones(len(uniq))
                    for m in monos], axis=1)
    n, q = Phi.shape
    c = np.r_[np.zeros(q), 1.0]
    A_ub = np.block([[-(yu[:, None] * Phi), np.zeros((n, 1))],
                     [np.eye(q), -np.ones((q, 1))],
                     [-np.eye(q), -np.ones((q, 1))]])
    b_ub = np.r_[-np.ones(n), np.zeros(2 * q)]
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=[(None, None)] * q + [(0, None)],
                  method="highs")
    return float(res.fun) if res.status == 0 else math.inf


def integer_margins(lab: Label, P: np.ndarray) -> np.ndarray:
    """The label's own integer polynomial on ±1 parent rows ``P``, exactly (int64).

    Parameters
    ----------
    lab : Label
    P : ndarray, shape (n, len(lab.parents))
        Parent values, each ±1.

    Returns
    -------
    ndarray of int64, shape (n,)
        p(P); with integer coefficients there is no rounding, and |p| <= sum |c_S|.

    Examples
    --------
    >>> lab = label("y1_0", 1, ["x0", "x1", "x2"], {(0,): 1, (1,): 1, (2,): 1})
    >>> integer_margins(lab, np.array([[1, 1, -1], [-1, -1, -1]]))
    array([ 1, -3])
    """
    U = np.asarray(P).astype(np.int64)
    out = np.zeros(U.shape[0], dtype=np.int64)
    for mono, c in lab.poly:
        out += c * (np.prod(U[:, list(mono)], axis=1) if mono else 1)
    return out


def verify_ptf(h: Hierarchy, X=None, Y=None, *, n_samples: int = 4096, seed: int = 0,
               tol: float = 1e-7, lp: str = "fallback") -> list[dict]:
    """Check that every label is a PTF of its parents with degree <= K and bound <= M.

    Two independent checks per label (docs/theory.md §3.2.1):

    * declared: the polynomial has degree <= K, |c| <= M, and |p| >= 1 on all
      2^#parents parent assignments (no ties);
    * values: on inputs ``X`` and label values ``Y`` (default: ``h.evaluate`` on
      ``n_samples`` uniform inputs; all 2^d inputs when d <= 12), the label is a
      function of its parents' values (no parent assignment seen with both labels), with a
      margin-normalised (K, M)-PTF certificate: a real polynomial of degree <= K and
      max |coefficient| <= M with y * p >= 1 on every distinct sampled parent assignment.

    The certificate is first the label's own integer polynomial, evaluated exactly in
    integer arithmetic on the distinct sampled rows (:func:`integer_margins`): when
    y * p >= 1 on all of them it is an exact primal certificate with bound ``lab.bound``
    (an upper bound on the least such bound). Only when it fails (the values disagree with
    the declared polynomial) is the least bound computed by linear programming
    (:func:`ptf_certificate`), which may still find another polynomial.

    Parameters
    ----------
    h : Hierarchy
    X, Y : ndarray, optional
        Inputs (n, d) and label values (n, #labels), ±1.
    n_samples, seed : int
        The default sample.
    tol : float
        Slack on the LP's bound.
    lp : {"fallback", "always"}
        ``"always"`` computes the least bound by linear programming for every label (slow:
        minutes per label with a dozen parents and fan-in 5), as an audit.

    Returns
    -------
    list of dict
        Per label: ``label``, ``level``, ``degree``, ``bound``, ``margin`` (min |p| over
        all parent assignments), ``certificate`` (the bound certified: ``bound`` by the
        integer polynomial, the LP optimum, or inf when the label is not a function of its
        parents), ``method`` (``"integer"``, ``"lp"``, or ``"function"`` when the function
        test already failed) and ``ok``.
    """
    lp = check_choice("lp", lp, ("fallback", "always"))
    if X is None:
        X = all_assignments(h.d) if h.d <= 12 else \
            np.random.default_rng(seed).choice([-1.0, 1.0], size=(n_samples, h.d))
    X = check_array("X", X, ndim=2, shape=(None, h.d))
    Y = h.evaluate(X) if Y is None else check_array("Y", Y, shape=(X.shape[0], len(h.labels)))
    out = []
    for k, lab in enumerate(h.labels):
        A = all_assignments(len(lab.parents))
        margin = float(np.min(np.abs(lab.value(A))))
        P = np.stack([h._node(X, Y, p) for p in lab.parents], axis=1)
        rows = _distinct_rows(P, Y[:, k])
        method = "integer"
        if rows is None:
            cert, method = math.inf, "function"
        elif (lp == "fallback" and np.all(np.abs(rows[0]) == 1)
              and np.all(rows[1] * integer_margins(lab, rows[0]) >= 1)):
            cert = float(lab.bound)
        else:
            cert, method = ptf_certificate(P, Y[:, k], h.K), "lp"
        declared_ok = lab.degree <= h.K and lab.bound <= h.M and margin >= 1.0
        out.append({"label": lab.name, "level": lab.level, "degree": lab.degree,
                    "bound": lab.bound, "margin": margin, "certificate": cert, "method": method,
                    "ok": bool(declared_ok and cert <= h.M + tol)})
    return out


# ----------------------------------------------------------------------------- teacher

@dataclass(frozen=True)
class Teacher:
    """A random circuit and the labels a teacher reveals about it (docs/theory.md §3.2, [R]).

    Layer i of the circuit has ``gates_per_layer`` gates; each gate is a
    majority of ``gate_fan_in`` random, randomly negated nodes of level i-1
    (level 0 is x; level i-1 >= 1 is the previous level's revealed labels: the
    teacher computes through what it is aware of). The level-i labels are
    majority votes over ``vote_size`` random gates of layer i.

    Parameters
    ----------
    d : int
        Input dimension.
    gates : tuple
        Per gate: the names of its inputs and their signs.
    layer_of_gate : tuple of int
        The circuit layer of each gate.
    votes : tuple of tuple of int
        Per label: the gates it takes the majority of.
    level_of_vote : tuple of int
        The level of each label.
    gate_fan_in : int
        Inputs per gate.
    """

    d: int
    gates: tuple[tuple[tuple[str, ...], tuple[int, ...]], ...]
    layer_of_gate: tuple[int, ...]
    votes: tuple[tuple[int, ...], ...]
    level_of_vote: tuple[int, ...]
    gate_fan_in: int

    def evaluate(self, X) -> np.ndarray:
        """Simulate the circuit: the labels (n, #labels), level order, ±1."""
        X = check_array("X", X, ndim=2, shape=(None, self.d))
        nodes = {f"x{i}": X[:, i] for i in range(self.d)}
        G = np.empty((X.shape[0], len(self.gates)))
        Y = np.empty((X.shape[0], len(self.votes)))
        r = max(self.level_of_vote)
        for lev in range(1, r + 1):
            for g, ((parents, signs), lg) in enumerate(zip(self.gates, self.layer_of_gate)):
                if lg == lev:
                    s = sum(sg * nodes[p] for p, sg in zip(parents, signs))
                    G[:, g] = np.sign(s)
            counter = 0
            for v, (gs, lv) in enumerate(zip(self.votes, self.level_of_vote)):
                if lv == lev:
                    Y[:, v] = np.sign(G[:, list(gs)].sum(axis=1))
                    nodes[f"y{lev}_{counter}"] = Y[:, v]
                    counter += 1
        return Y

    def hierarchy(self, K: int | None = None, M: int | None = None) -> Hierarchy:
        """The labels as a hierarchy: each label is sign(sum of its gates' Walsh polynomials),
        exact because a majority of an odd number of ±1 gates is never tied."""
        labels = []
        counter: dict[int, int] = {}
        for gs, lev in zip(self.votes, self.level_of_vote):
            j = counter.get(lev, 0)
            counter[lev] = j + 1
            parents = sorted({p for g in gs for p in self.gates[g][0]},
                             key=lambda n: (n[0], [int(t) for t in n[1:].split("_")]))
            pos = {p: i for i, p in enumerate(parents)}
            poly: dict = {}
            for g in gs:
                gp, signs = self.gates[g]
                for mono, c in _majority_poly(len(gp), signs).items():
                    m = tuple(sorted(pos[gp[t]] for t in mono))
                    poly[m] = poly.get(m, 0) + c
            labels.append(label(f"y{lev}_{j}", lev, parents, poly))
        K = self.gate_fan_in if K is None else K
        M = max(l.bound for l in labels) if M is None else M
        return hierarchy(self.d, labels, K=K, M=M, meta={"family": "teacher"})


def teacher(d: int, r: int, labels_per_level: int = 8, *, gates_per_layer: int = 8,
            gate_fan_in: int = 3, vote_size: int = 3, seed: int = 0) -> Teacher:
    """Draw a teacher model (docs/theory.md §3.2 last item); see :class:`Teacher`.

    Parameters
    ----------
    d : int
        Input dimension.
    r : int
        Levels (circuit layers).
    labels_per_level : int
        Labels revealed per level.
    gates_per_layer : int
        Gates per circuit layer.
    gate_fan_in : int
        Inputs per gate (odd, so majorities have no ties).
    vote_size : int
        Gates per label's majority vote (odd).
    seed : int
        Seed of the draw.

    Returns
    -------
    Teacher
    """
    d = check_int("d", d, min_value=1)
    r = check_int("r", r, min_value=1, max_value=64)
    m = check_int("labels_per_level", labels_per_level, min_value=1)
    w = check_int("gates_per_layer", gates_per_layer, min_value=1)
    t = check_int("gate_fan_in", gate_fan_in, min_value=1, max_value=MAX_DEGREE)
    v = check_int("vote_size", vote_size, min_value=1)
    for nm, val in (("gate_fan_in", t), ("vote_size", v)):
        if val % 2 == 0:
            raise SpecError(f"{nm}={val} is invalid: an even majority can tie; use an odd {nm}")
    if v > w:
        raise SpecError(f"vote_size={v} exceeds gates_per_layer={w}; use vote_size <= "
                        f"gates_per_layer")
    rng = np.random.default_rng(seed)
    gates, layer_of_gate, votes, level_of_vote = [], [], [], []
    prev = list(input_names(d))
    for lev in range(1, r + 1):
        _require_parents(prev, f"label y{lev}_0 needs gates of {t}", t, "gate_fan_in", d, lev)
        first = len(gates)
        for _ in range(w):
            parents = tuple(prev[i] for i in rng.choice(len(prev), t, replace=False))
            signs = tuple(int(s) for s in rng.choice([-1, 1], size=t))
            gates.append((parents, signs))
            layer_of_gate.append(lev)
        for _ in range(m):
            votes.append(tuple(int(first + g) for g in sorted(rng.choice(w, v, replace=False))))
            level_of_vote.append(lev)
        prev = [f"y{lev}_{j}" for j in range(m)]
    return Teacher(d, tuple(gates), tuple(layer_of_gate), tuple(votes), tuple(level_of_vote), t)
