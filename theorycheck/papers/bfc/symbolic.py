"""Exact symbolic form of the target G* (docs/theory.md §1.3) and its verifiers.

:func:`symbolic_target` turns a drawn :class:`~theorycheck.papers.bfc.target.BFCTarget` into
exact polynomials S*_l, G*_l and G* in x0..x_{d-1}, and an *abstract* form of each
layer in the layer symbols ``G{j}_{i}`` (the i-th component of G*_j). Three
verifiers check the docs/theory.md §1.3 bookkeeping:

* :func:`verify_degrees` (a): deg S*_l = max_{j in J_l} deg G*_j = 2^{l-1},
  deg G*_l = 2^l, deg G* = 2^L, component by component, so a planted cancellation
  (:func:`plant_cancellation`) is detected;
* :func:`verify_structure` (b): each G*_l is a homogeneous quadratic of the
  components of G*_j, j in J_l only, that reproduces the concrete polynomial exactly,
  and no weight block W*_{l,j} with j not in J_l exists;
* :func:`energy_by_degree_table` / :func:`verify_gap` (c): the alpha ratios and the
  Hermite energy by degree of G* and of each layer term alpha_l Sum(G*_l).

Conventions [R]:

* Float weights are converted to exact rationals (``float.as_integer_ratio``, which is
  exact), so every polynomial here is *the* polynomial the float64 evaluator
  computes, and a cancellation is an exact zero.
* Arithmetic uses sympy's sparse polynomial ring QQ[x0..x_{d-1}] (``PolyElement``),
  which is sympy's Poly arithmetic over QQ without the dense recursive
  representation; ``.poly(...)`` converts to ``sympy.Poly`` for users.
* The build uses every weight block present for a layer (not only those named by
  J_l), so a forbidden block changes the polynomials and the structure check sees it.
* Degree of the zero polynomial: -inf.
* Wide inputs: ``symbolic_target(target, line=...)`` restricts every polynomial to a
  line x = u + t v with integer u, v (``line="random"`` draws them from ``seed``),
  i.e. builds exact polynomials in one variable t. A restriction never raises the
  degree, and keeps it for every v off the zero set of the top homogeneous part, so
  degrees and structure can be verified for any d at the cost of a univariate build;
  Hermite energies need the full polynomial (or the Monte Carlo estimator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import sympy as sp
from sympy import QQ
from sympy.polys.rings import PolyElement, PolyRing

from theorycheck.errors import SpecError
from theorycheck.maths.hermite import energy_by_degree
from theorycheck.papers.bfc.target import BFCTarget
from theorycheck.validation import check_int

NEG_INF = -math.inf


def exact(value: float):
    """The exact rational value of a float, as an element of QQ."""
    num, den = float(value).as_integer_ratio()
    return QQ(num, den)


def total_degree(p: PolyElement) -> float:
    """Total degree of ``p``; -inf for the zero polynomial."""
    return max((sum(m) for m in p.itermonoms()), default=NEG_INF) if p else NEG_INF


def _fmt_deg(v) -> str:
    return "-inf" if v == NEG_INF else str(int(v))


def _layer_names(spec) -> list[str]:
    return [f"G{j}_{i}" for j in range(spec.L + 1) for i in range(spec.width(j))]


@dataclass(eq=False)
class SymbolicTarget:
    """Exact polynomials of a target (docs/theory.md §1.3).

    ``S[l]`` (l >= 2) and ``G[l]`` (l >= 0) are tuples of ``PolyElement`` over QQ in
    ``ring``; ``terms[l]`` = alpha_l Sum(G*_l); ``G_star`` = sum of the terms;
    ``abstract[l]`` is G*_l as homogeneous quadratics in ``layer_ring`` (layer symbols).

    Parameters
    ----------
    target : BFCTarget
        The numeric target.
    ring, layer_ring : PolyRing
        Rings over QQ of the inputs (or t on a line) and of the layer symbols.
    alphas : tuple
        Exact alpha_l.
    S, G, terms : dict
        Per layer, as above.
    G_star : PolyElement
        The whole target.
    abstract : dict
        Per layer, G*_l in layer symbols.
    blocks : dict
        The exact weight blocks.
    line : tuple or None
        ``(u, v)`` of a line restriction, or None.
    """

    target: BFCTarget
    ring: PolyRing
    layer_ring: PolyRing
    alphas: tuple
    S: dict
    G: dict
    terms: dict
    G_star: PolyElement
    abstract: dict
    blocks: dict = field(default_factory=dict)
    line: tuple | None = None

    @property
    def spec(self):
        return self.target.spec

    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(self.ring.symbols)

    def poly(self, p: PolyElement) -> sp.Poly:
        """A ``PolyElement`` of this target as a ``sympy.Poly`` in its ring's symbols over QQ."""
        return sp.Poly.from_dict(dict(p.items()) or {(0,) * len(self.symbols): 0}, *self.symbols, domain=QQ)

    def expr(self, p: PolyElement | None = None, digits: int | None = None) -> sp.Expr:
        """``p`` (default G*) as a sympy expression; ``digits`` rounds coefficients for display."""
        p = self.G_star if p is None else p
        if digits is None:
            return p.as_expr()
        terms = [sp.Float(float(c), digits) * sp.Mul(*(s ** e for s, e in zip(p.ring.symbols, m)))
                 for m, c in p.terms()]
        return sp.Add(*terms)

    def degrees(self) -> "DegreeReport":
        return verify_degrees(self)

    def structure(self) -> "StructureReport":
        return verify_structure(self)

    def energy(self) -> "EnergyTable":
        return energy_by_degree_table(self)

    def gap(self, delta: float | None = None) -> "GapReport":
        return verify_gap(self, delta)

    def __repr__(self) -> str:
        s = self.spec
        where = "" if self.line is None else ", restricted to the line x = u + t v"
        lines = [f"SymbolicTarget(d={s.d}, L={s.L}, widths={list(s.widths)}, "
                 f"{'centred' if s.centred else 'raw'}, {len(self.G_star.terms())} terms in G*{where})"]
        lines.append("  G*_0 = x;  G*_1 = " + ("x^2 - 1" if s.centred else "x^2"))
        for l in range(2, s.L + 1):
            lines.append(f"  G*_{l} = sigma(S*_{l}),  S*_{l} = " + " + ".join(
                f"W*_{l},{j} G*_{j}" for j in sorted(self.blocks.get(l, s.J(l))))
                + f"   deg S*_{l} = {_fmt_deg(max(total_degree(p) for p in self.S[l]))}"
                + f", alpha_{l} = {float(self.alphas[l - 2]):.4g}")
        lines.append(f"  G* = sum_l alpha_l ||S*_l||^2, degree {_fmt_deg(total_degree(self.G_star))}")
        return "\n".join(lines)

    def latex_names(self) -> dict:
        """LaTeX names of this target's symbols, for ``sympy.latex(..., symbol_names=...)``.

        sympy would typeset the layer symbol ``G2_0`` (component 0 of G*_2) as
        :math:`G_{20}`; here it is ``G_{2,0}``. The input symbols ``x0, x1, ...`` keep
        sympy's ``x_{0}, x_{1}, ...``.

        Returns
        -------
        dict
            ``{sympy.Symbol: str}`` for the layer symbols of ``layer_ring``.

        Examples
        --------
        >>> from theorycheck.papers.bfc.target import build_target
        >>> sym = symbolic_target(build_target(d=2, L=2, k_target=1))
        >>> sorted(sym.latex_names().values())[:2]
        ['G_{0,0}', 'G_{0,1}']
        """
        out = {}
        for sym in self.layer_ring.symbols:
            layer, _, comp = str(sym)[1:].partition("_")
            out[sym] = f"G_{{{layer},{comp}}}"
        return out

    def latex(self, p: PolyElement | None = None, digits: int | None = None) -> str:
        """``p`` (default G*) in LaTeX, with readable symbol names (:meth:`latex_names`).

        Parameters
        ----------
        p : PolyElement, optional
            A polynomial of ``ring`` (``S[l][i]``, ``G[l][i]``, ``terms[l]``, ``G_star``) or
            of ``layer_ring`` (``abstract[l][i]``); default ``G_star``.
        digits : int, optional
            Round coefficients to this many significant digits (exact rationals otherwise).

        Returns
        -------
        str
            Every term of ``p``: nothing is omitted.

        Examples
        --------
        >>> from theorycheck.papers.bfc.target import build_target
        >>> sym = symbolic_target(build_target(d=2, L=2, k_target=1))
        >>> "G_{1,0}" in sym.latex(sym.abstract[2][0], digits=3)
        True
        """
        return sp.latex(self.expr(p, digits), symbol_names=self.latex_names())

    def _latex(self, printer=None) -> str:
        """sympy's printing protocol: ``sympy.latex(sym)`` gives the layer equations
        (docs/theory.md §1.3) as an ``aligned`` block."""
        s = self.spec
        rows = [r"G^*_0 &= x, \quad G^*_1 = " + (r"x^{\odot 2} - 1" if s.centred else r"x^{\odot 2}")]
        for l in range(2, s.L + 1):
            rhs = " + ".join(f"W^*_{{{l},{j}}} G^*_{{{j}}}" for j in sorted(self.blocks.get(l, s.J(l))))
            rows.append(rf"G^*_{{{l}}} &= \sigma(S^*_{{{l}}}),\quad S^*_{{{l}}} = {rhs}"
                        rf"\quad (\deg S^*_{{{l}}} = {_fmt_deg(max(total_degree(p) for p in self.S[l]))},"
                        rf"\ \alpha_{{{l}}} = {float(self.alphas[l - 2]):.4g})")
        rows.append(r"G^* &= \textstyle\sum_\ell \alpha_\ell \|S^*_\ell\|^2 \quad (\deg = "
                    + _fmt_deg(total_degree(self.G_star)) + ")")
        return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"

    def _repr_latex_(self) -> str:
        return "$" + self._latex() + "$"


# Cost model of symbolic_target, calibrated on one core (d = 300, L = 3: 44 s, 0.9 GB): the
# abstract form squares a linear form in the n_l layer symbols feeding layer l, i.e. about
# k_l n_l^2 / 2 monomials of n_vars exponents each.
_SECONDS_PER_EXPONENT = 2e-8   # a lower bound (measured: 1e-7)
_BYTES_PER_EXPONENT = 8


def expansion_terms(d: int, L: int) -> int:
    """An upper bound of the number of terms of G* expanded in d variables: the monomials of
    degree <= 2^L, C(d + 2^L, 2^L)."""
    from theorycheck.budget import monomials
    return monomials(d, 2 ** L)


def symbolic_cost(spec, blocks=None) -> tuple[float, float]:
    """``(bytes, seconds)`` of the abstract form of :func:`symbolic_target` (the layer
    symbols), a lower bound of the seconds; ``blocks``: ``{l: sources}`` (default J_l)."""
    n_vars = sum(spec.width(j) for j in range(spec.L + 1))
    mono = prods = 0.0
    for l in range(2, spec.L + 1):
        n_l = float(sum(spec.width(j) for j in (blocks or {}).get(l, spec.J(l))))
        mono += spec.width(l) * n_l * (n_l + 1) / 2
        prods += spec.width(l) * n_l * n_l
    return (mono * (_BYTES_PER_EXPONENT * n_vars + 200),
            prods * n_vars * _SECONDS_PER_EXPONENT)


def check_symbolic_budget(spec, line, *, name: str = "d", expand_fix: str | None = None) -> None:
    """Refuse (:class:`~theorycheck.errors.BudgetError`) a :func:`symbolic_target` build that
    does not fit: more than :data:`theorycheck.budget.MAX_TERMS` terms when expanded in x
    (``line`` None), or an abstract form beyond the memory or time budget."""
    from dataclasses import replace

    from theorycheck import budget

    if line is None:
        budget.check_terms(
            expansion_terms(spec.d, spec.L),
            what=f"the exact expansion of G* (degree {2 ** spec.L} in {spec.d} variables)",
            fix=expand_fix or "restrict it to a line (line='random') or lower L or d")
    budget.check_memory(lambda d: symbolic_cost(replace(spec, d=d))[0], name, spec.d,
                        what="the exact layer polynomials", others="the widths k")
    budget.check_time(lambda d: symbolic_cost(replace(spec, d=d))[1], name, spec.d,
                      what="the exact layer polynomials")


def symbolic_target(target: BFCTarget, line=None, seed: int = 0) -> SymbolicTarget:
    """Build the exact polynomials of ``target`` (docs/theory.md §1.3).

    ``line``: None (polynomials in x0..x_{d-1}), ``"random"`` or a pair ``(u, v)`` of
    integer vectors (polynomials in t on the line x = u + t v; see the module docstring).

    Parameters
    ----------
    target : BFCTarget
        From :func:`theorycheck.papers.bfc.target.build_target`.
    line : None, str or tuple
        Restrict to a line (see above).
    seed : int
        Seed of a ``"random"`` line.

    Returns
    -------
    SymbolicTarget

    Raises
    ------
    BudgetError
        The build exceeds the term limit, the memory or the time budget
        (:func:`check_symbolic_budget`).
    """
    if not isinstance(target, BFCTarget):
        raise SpecError(f"target of type {type(target).__name__} is invalid; pass a BFCTarget "
                        f"(theorycheck.papers.bfc.target.build_target(...))")
    spec = target.spec
    check_symbolic_budget(spec, line)
    d, L = spec.d, spec.L
    if line is None:
        R = PolyRing([f"x{i}" for i in range(d)], QQ)
        xs = R.gens
    else:
        if isinstance(line, str):
            if line != "random":
                raise SpecError(f"line={line!r} is invalid; pass None, 'random' or a pair (u, v)")
            rng = np.random.default_rng([check_int("seed", seed, min_value=0), 0x11E])
            line = (rng.integers(-3, 4, d), rng.integers(1, 6, d) * rng.choice([-1, 1], d))
        u, v = (tuple(int(check_int("line entry", a)) for a in np.asarray(w).reshape(-1)) for w in line)
        if len(u) != d or len(v) != d:
            raise SpecError(f"line has vectors of length {len(u)}, {len(v)}; give two length-{d} "
                            f"integer vectors (u, v)")
        line = (u, v)
        R = PolyRing(["t"], QQ)
        t = R.gens[0]
        xs = tuple(R(QQ(a)) + t.mul_ground(QQ(b)) for a, b in zip(u, v))
    one = R.one
    G = {0: tuple(xs), 1: tuple(x * x - one if spec.centred else x * x for x in xs)}
    S, terms = {}, {}
    alphas = tuple(exact(a) for a in target.alphas)
    names = _layer_names(spec)
    LR = PolyRing(names, QQ)
    index = {n: i for i, n in enumerate(names)}
    blocks: dict[int, tuple[int, ...]] = {}
    for (l, j) in target.weights:
        if not (isinstance(l, (int, np.integer)) and 2 <= l <= L and 0 <= j < l):
            raise SpecError(f"weight block W*_{(l, j)} is invalid: blocks are (l, j) with "
                            f"2 <= l <= {L} and 0 <= j < l; remove it")
        blocks.setdefault(int(l), ())
        blocks[int(l)] = tuple(sorted(set(blocks[int(l)]) | {int(j)}))
    abstract = {}
    for l in range(2, L + 1):
        rows, arows = [], []
        for i in range(spec.width(l)):
            s, a = R.zero, LR.zero
            for j in blocks.get(l, ()):
                W = np.asarray(target.weights[(l, j)], dtype=np.float64)
                if W.shape != (spec.width(l), spec.width(j)):
                    raise SpecError(f"weight block W*_{l},{j} has shape {W.shape}; expected "
                                    f"{(spec.width(l), spec.width(j))}")
                for c in range(W.shape[1]):
                    if W[i, c] != 0.0:
                        w = exact(W[i, c])
                        s += G[j][c].mul_ground(w)
                        a += LR.gens[index[f"G{j}_{c}"]].mul_ground(w)
            rows.append(s)
            arows.append(a * a)
        S[l] = tuple(rows)
        G[l] = tuple(p * p for p in rows)
        abstract[l] = tuple(arows)
        terms[l] = sum((p for p in G[l]), R.zero).mul_ground(alphas[l - 2])
    G_star = sum(terms.values(), R.zero)
    return SymbolicTarget(target, R, LR, alphas, S, G, terms, G_star, abstract, blocks, line)


def layer_second_moments(sym: SymbolicTarget) -> dict[int, sp.Rational]:
    """Exact E||S*_l(x)||^2 under N(0, I_d) for each l >= 2 (Isserlis; docs/theory.md §1.3 "each
    layer's features O(1)": build_target rescales so that this is k_l)."""
    from theorycheck.maths.gaussian import expectation

    if sym.line is not None:
        raise SpecError("this SymbolicTarget is restricted to a line; build it with line=None")
    return {l: sum((expectation(sym.poly(p * p)) for p in sym.S[l]), sp.Integer(0)) for l in sym.S}


def plant_cancellation(target: BFCTarget, layer: int | None = None) -> BFCTarget:
    """A copy of ``target`` whose layer ``layer`` (default L) loses its top degree.

    The rows of the top block W*_{l-1,l-2} are made equal, so the components of
    G*_{l-1} share their top-degree part, and each row of W*_{l,l-1} is made to sum to
    zero, so that part cancels in S*_l: deg S*_l < 2^{l-1} although every block is
    nonzero. Needs 3 <= layer <= L and width k_{l-1} >= 2.

    Parameters
    ----------
    target : BFCTarget
        The target to copy.
    layer : int or None
        Layer whose top degree cancels; default L.

    Returns
    -------
    BFCTarget
    """
    spec = target.spec
    l = spec.L if layer is None else check_int("layer", layer, min_value=3, max_value=spec.L)
    if spec.L < 3:
        raise SpecError(f"L={spec.L} is invalid for a planted cancellation: layer 2's top part "
                        f"W*_2,1 sigma(x) cannot cancel; use L >= 3")
    if spec.width(l - 1) < 2:
        raise SpecError(f"k_{l - 1}={spec.width(l - 1)} is invalid for a planted cancellation: "
                        f"a zero-sum row needs width >= 2; use k >= 2")
    weights = {key: np.array(W, dtype=np.float64) for key, W in target.weights.items()}
    top = weights[(l - 1, l - 2)]
    top[:] = top[0]
    W = weights[(l, l - 1)]
    # dyadic entries (multiples of 2^-20) so the zero row sums are exact in float64
    W[:] = np.round(W * 2.0 ** 20) / 2.0 ** 20
    W[:, -1] = -W[:, :-1].sum(axis=1)
    for V in weights.values():
        V.setflags(write=False)
    return BFCTarget(spec, weights, target.alphas)


def with_forbidden_block(target: BFCTarget, layer: int, source: int, seed: int = 0) -> BFCTarget:
    """A copy of ``target`` with an extra weight block W*_{layer,source}, source not in J_layer.

    A broken target for the structure verifier (docs/theory.md §1.3: S*_l reads only J_l).
    """
    spec = target.spec
    layer = check_int("layer", layer, min_value=2, max_value=spec.L)
    source = check_int("source", source, min_value=0, max_value=layer - 1)
    if source in spec.J(layer):
        raise SpecError(f"source={source} is in J_{layer}={list(spec.J(layer))}; pick a layer "
                        f"below {layer} that J_{layer} does not name")
    rng = np.random.default_rng(seed)
    weights = dict(target.weights)
    weights[(layer, source)] = rng.standard_normal((spec.width(layer), spec.width(source)))
    return BFCTarget(spec, weights, target.alphas)


# ----------------------------------------------------------------------------- reports

class _Table:
    """A small result table with a text repr and a LaTeX repr for notebooks."""

    title: str = ""
    header: tuple[str, ...] = ()

    def rows(self) -> list[list[str]]:  # pragma: no cover - overridden
        raise NotImplementedError

    def footer(self) -> str:
        return ""

    def __repr__(self) -> str:
        rows = [list(self.header)] + self.rows()
        widths = [max(len(r[c]) for r in rows) for c in range(len(self.header))]
        fmt = lambda r: "  ".join(v.rjust(w) for v, w in zip(r, widths))
        out = [self.title, fmt(rows[0]), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows[1:]]
        foot = self.footer()
        return "\n".join(out + ([foot] if foot else []))

    def _repr_latex_(self) -> str:
        def cell(v: str) -> str:
            v = v.replace("-inf", r"-\infty").replace("+-", r"\pm").replace("d^-delta", "d^{-delta}")
            return r"\mathrm{" + v.replace("*", "^*").replace(" ", r"\ ") + "}"
        body = r" \\ ".join(" & ".join(cell(v) for v in r) for r in self.rows())
        head = " & ".join(cell(h) for h in self.header)
        foot = self.footer()
        return (r"$\begin{array}{" + "r" * len(self.header) + "}" + head + r" \\ \hline " + body
                + r"\end{array}$" + (" " + foot if foot else ""))


@dataclass(frozen=True)
class LayerDegree:
    layer: int
    J: tuple[int, ...]
    deg_S: tuple  # per component
    deg_G: tuple
    bookkeeping_S: float  # max_{j in J_l} deg G*_j (actual lower degrees)
    expected_S: int  # 2^{l-1}
    expected_G: int  # 2^l

    @property
    def ok(self) -> bool:
        return (all(v == self.expected_S for v in self.deg_S)
                and all(v == self.expected_G for v in self.deg_G))


@dataclass(frozen=True, repr=False)
class DegreeReport(_Table):
    """Per-layer degrees of a target against the bookkeeping of docs/theory.md §1.3."""

    layers: tuple[LayerDegree, ...]
    deg_G_star: float
    expected: int
    title = "Degrees (docs/theory.md §1.3 degree bookkeeping)"
    header = ("layer", "J_l", "deg S*_l", "max_J deg G*_j", "expected", "deg G*_l", "expected", "ok")

    @property
    def ok(self) -> bool:
        return self.deg_G_star == self.expected and all(r.ok for r in self.layers)

    @property
    def shortfalls(self) -> list[str]:
        out = [f"S*_{r.layer}[{i}] has degree {_fmt_deg(v)} < {r.expected_S}"
               for r in self.layers for i, v in enumerate(r.deg_S) if v != r.expected_S]
        if self.deg_G_star != self.expected:
            out.append(f"G* has degree {_fmt_deg(self.deg_G_star)} < {self.expected}")
        return out

    def rows(self):
        span = lambda vs: _fmt_deg(min(vs)) if min(vs) == max(vs) else f"{_fmt_deg(min(vs))}..{_fmt_deg(max(vs))}"
        out = [["0", "-", "-", "-", "-", "1", "1", "yes"], ["1", "-", "-", "-", "-", "2", "2", "yes"]]
        for r in self.layers:
            out.append([str(r.layer), ",".join(map(str, r.J)), span(r.deg_S), _fmt_deg(r.bookkeeping_S),
                        str(r.expected_S), span(r.deg_G), str(r.expected_G), "yes" if r.ok else "NO"])
        out.append(["G*", "-", "-", "-", "-", _fmt_deg(self.deg_G_star), str(self.expected),
                    "yes" if self.deg_G_star == self.expected else "NO"])
        return out

    def footer(self):
        return "all degrees as expected" if self.ok else "cancellation: " + "; ".join(self.shortfalls)


def _check_sym(sym) -> None:
    if not isinstance(sym, SymbolicTarget):
        raise SpecError(f"sym={sym!r:.60} is invalid: a {type(sym).__name__}, not a "
                        f"SymbolicTarget; build one with symbolic_target(build_target(...))")


def verify_degrees(sym: SymbolicTarget) -> DegreeReport:
    """Degree verifier (docs/theory.md §1.3.4).

    Parameters
    ----------
    sym : SymbolicTarget
        The exact target.

    Returns
    -------
    DegreeReport
        deg S*_l, deg G*_l and deg G* against 2^(l-1), 2^l and 2^L (docs/theory.md §1.3.4).
    """
    _check_sym(sym)
    spec = sym.spec
    deg_G = {0: 1, 1: 2}
    rows = []
    for l in range(2, spec.L + 1):
        dS = tuple(total_degree(p) for p in sym.S[l])
        dG = tuple(total_degree(p) for p in sym.G[l])
        rows.append(LayerDegree(l, tuple(sym.blocks.get(l, ())), dS, dG,
                                max((deg_G[j] for j in sym.blocks.get(l, ())), default=NEG_INF),
                                2 ** (l - 1), 2 ** l))
        deg_G[l] = max(dG)
    return DegreeReport(tuple(rows), total_degree(sym.G_star), 2 ** spec.L)


@dataclass(frozen=True)
class LayerStructure:
    layer: int
    J: tuple[int, ...]
    blocks: tuple[int, ...]  # weight blocks present
    reads: tuple[int, ...]  # layers the abstract form uses
    homogeneous_quadratic: bool
    reproduces: bool  # abstract form at the concrete G*_j equals G*_l exactly
    in_span: bool | None = None  # S*_l in span{G*_j components, j in J_l} (None: not checked)

    @property
    def ok(self) -> bool:
        allowed = set(self.J)
        return (set(self.blocks) <= allowed and set(self.reads) <= allowed
                and self.layer - 1 in self.reads and self.homogeneous_quadratic and self.reproduces
                and self.in_span is not False)


@dataclass(frozen=True, repr=False)
class StructureReport(_Table):
    """Which lower layers each layer reads, against the connection sets J_l."""

    layers: tuple[LayerStructure, ...]
    title = "Structure (docs/theory.md §1.3: G*_l = sigma(sum_{j in J_l} W*_l,j G*_j))"
    header = ("layer", "J_l", "weight blocks", "reads", "quadratic", "exact", "in span", "ok")

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.layers)

    @property
    def violations(self) -> int:
        return sum(not r.ok for r in self.layers)

    def rows(self):
        j = lambda t: ",".join(map(str, t)) or "-"
        yn = lambda v: "-" if v is None else ("yes" if v else "NO")
        return [[str(r.layer), j(r.J), j(r.blocks), j(r.reads), yn(r.homogeneous_quadratic),
                 yn(r.reproduces), yn(r.in_span), yn(r.ok)] for r in self.layers]

    def footer(self):
        return "every layer reads only J_l" if self.ok else f"{self.violations} layer(s) violate J_l"


def in_span(targets: Sequence[PolyElement], basis: Sequence[PolyElement]) -> bool:
    """Whether every polynomial of ``targets`` is a linear combination of ``basis`` (exact rank
    comparison over QQ of the coefficient matrices)."""
    from sympy.polys.matrices import DomainMatrix

    monoms = sorted({m for p in list(targets) + list(basis) for m in p.itermonoms()})
    if not monoms:
        return True
    index = {m: i for i, m in enumerate(monoms)}

    def matrix(polys):
        rows = [[QQ.zero] * len(monoms) for _ in polys]
        for r, p in enumerate(polys):
            for m, c in p.terms():
                rows[r][index[m]] = QQ.convert(c)
        return DomainMatrix(rows, (len(polys), len(monoms)), QQ)

    if not basis:
        return all(not p for p in targets)
    B = matrix(list(basis))
    return matrix(list(basis) + list(targets)).rank() == B.rank()


def verify_structure(sym: SymbolicTarget) -> StructureReport:
    """Structure verifier (docs/theory.md §1.3): each G*_l is a quadratic of G*_j, j in J_l only.

    Three independent checks per layer: the weight blocks present are within J_l; the
    abstract form (in layer symbols) is a homogeneous quadratic reading J_l only and, with
    the concrete G*_j substituted, equals G*_l exactly; and, without using the weights,
    every component of S*_l lies in the QQ-span of the components of G*_j, j in J_l (exact
    rank test; skipped on a line restriction, where the span test is too weak).

    Parameters
    ----------
    sym : SymbolicTarget
        The exact target.

    Returns
    -------
    StructureReport
        One row per layer (docs/theory.md §1.3).
    """
    _check_sym(sym)
    spec = sym.spec
    names = [str(s) for s in sym.layer_ring.symbols]
    layer_of = [int(n[1:].split("_")[0]) for n in names]
    comp_of = [int(n.split("_")[1]) for n in names]
    rows = []
    for l in range(2, spec.L + 1):
        reads, quadratic, reproduces = set(), True, True
        for i, a in enumerate(sym.abstract[l]):
            value = sym.ring.zero
            for monom, coeff in a.terms():
                if sum(monom) != 2:
                    quadratic = False
                term = sym.ring.one.mul_ground(coeff)
                for v, e in enumerate(monom):
                    if e:
                        reads.add(layer_of[v])
                        term *= sym.G[layer_of[v]][comp_of[v]] ** e
                value += term
            if value != sym.G[l][i]:
                reproduces = False
        span = None if sym.line is not None else \
            in_span(sym.S[l], [g for j in spec.J(l) for g in sym.G[j]])
        rows.append(LayerStructure(l, spec.J(l), tuple(sym.blocks.get(l, ())), tuple(sorted(reads)),
                                   quadratic, reproduces, span))
    return StructureReport(tuple(rows))


@dataclass(frozen=True, repr=False)
class EnergyTable(_Table):
    """Hermite energy by degree of G* and of each layer term alpha_l Sum(G*_l).

    ``total[q]`` = energy_q(G*); ``by_layer[l][q]`` = energy_q(alpha_l Sum G*_l).
    Exact rationals (``method="exact"``) or Monte Carlo means (``stderr`` set).
    """

    alphas: tuple
    total: tuple
    by_layer: Mapping[int, tuple]
    method: str = "exact"
    stderr: tuple | None = None
    n_samples: int | None = None

    @property
    def title(self):
        how = "exact (Gaussian moments)" if self.method == "exact" else \
            f"Monte Carlo, {self.n_samples} samples (Mehler estimator)"
        return f"Energy by Hermite degree, ||P_q G*||^2, {how}"

    @property
    def header(self):
        cols = ["q", "G*"] + (["+-"] if self.stderr is not None else [])
        return tuple(cols + [f"a_{l} Sum G*_{l}" for l in sorted(self.by_layer)])

    def rows(self):
        out = []
        for q in range(len(self.total)):
            r = [str(q), f"{float(self.total[q]):.6g}"]
            if self.stderr is not None:
                r.append(f"{float(self.stderr[q]):.2g}")
            r += [f"{float(e[q]):.6g}" if q < len(e) else "0" for l, e in sorted(self.by_layer.items())]
            out.append(r)
        return out

    def footer(self):
        return "alphas: " + ", ".join(f"a_{l}={float(a):.4g}" for l, a in zip(range(2, 2 + len(self.alphas)), self.alphas))

    def at(self, q: int):
        return self.total[q]


def energy_by_degree_table(sym: SymbolicTarget) -> EnergyTable:
    """Exact energy by degree of G* and of each layer term (docs/theory.md §1.3.5)."""
    _check_sym(sym)
    if sym.line is not None:
        raise SpecError("this SymbolicTarget is restricted to a line; Hermite energies need the "
                        "full polynomial: build it with line=None, or use mc_energy_table")
    D = 2 ** sym.spec.L
    total = energy_by_degree(sym.G_star, D)
    by_layer = {l: energy_by_degree(t, D) for l, t in sym.terms.items()}
    return EnergyTable(tuple(QQ.to_sympy(a) for a in sym.alphas), total, by_layer)


_MC_BATCH = 16384            # the batch of theorycheck.maths.hermite.mc_energy_by_degree
_MC_SECONDS_PER_UNIT = 1e-8  # per sample, evaluation and input dimension: a lower bound
                             # (measured 6e-8 to 2e-7)


def mc_energy_cost(spec, n: int) -> tuple[float, float]:
    """``(bytes, seconds)`` of :func:`mc_energy_table` with ``n`` samples: a batch of complex
    inputs and features, and a lower bound of the time (one pass per layer term and the
    total, 2^L + 2 evaluations per sample)."""
    from theorycheck.budget import array_bytes

    b = min(int(n), _MC_BATCH)
    mem = array_bytes(b, 8 * spec.d + 4 * sum(spec.widths), itemsize=16)
    evals = spec.L * float(n) * (2 ** spec.L + 2)
    return mem, evals * spec.d * _MC_SECONDS_PER_UNIT


def check_mc_energy_budget(spec, n: int, *, name_n: str = "n", name_d: str = "d") -> None:
    """Refuse (:class:`~theorycheck.errors.BudgetError`) a Monte Carlo energy table beyond the
    memory budget (naming ``name_d``) or the time budget (naming ``name_n``)."""
    from dataclasses import replace

    from theorycheck import budget

    budget.check_memory(lambda d: mc_energy_cost(replace(spec, d=d), n)[0], name_d, spec.d,
                        what="a Monte Carlo batch of the energy estimator", others="the widths k")
    budget.check_time(lambda m: mc_energy_cost(spec, m)[1], name_n, n, lo=2,
                      what="the Monte Carlo energies")


def mc_energy_table(target: BFCTarget, n: int, rng: np.random.Generator) -> EnergyTable:
    """Monte Carlo energy by degree for inputs too wide to expand (docs/theory.md §1.3; [R] Mehler
    estimator of :func:`theorycheck.maths.hermite.mc_energy_by_degree`).

    Raises
    ------
    BudgetError
        The estimate exceeds the memory or time budget (:func:`check_mc_energy_budget`).
    """
    from theorycheck.maths.hermite import mc_energy_by_degree
    from theorycheck.papers.bfc.target import forward_layers

    if not isinstance(target, BFCTarget):
        raise SpecError(f"target of type {type(target).__name__} is invalid; pass a BFCTarget "
                        f"(theorycheck.papers.bfc.target.build_target(...))")
    n = check_int("n", n, min_value=2)
    spec = target.spec
    check_mc_energy_budget(spec, n)
    D = 2 ** spec.L

    def term(l):
        def f(X):
            S, _ = forward_layers(X, target.weights, spec)
            return target.alphas[l - 2] * np.einsum("nk,nk->n", S[l], S[l])
        return f

    def total(X):
        S, _ = forward_layers(X, target.weights, spec)
        return sum(a * np.einsum("nk,nk->n", S[l], S[l]) for l, a in zip(range(2, spec.L + 1), target.alphas))

    seed = int(rng.integers(2**63))
    est = mc_energy_by_degree(total, spec.d, D, n, np.random.default_rng(seed))
    by_layer = {l: tuple(mc_energy_by_degree(term(l), spec.d, D, n, np.random.default_rng(seed)).mean)
                for l in range(2, spec.L + 1)}
    return EnergyTable(tuple(float(a) for a in target.alphas), tuple(est.mean), by_layer,
                       method="mc", stderr=tuple(est.stderr), n_samples=est.n)


@dataclass(frozen=True, repr=False)
class GapReport(_Table):
    """The information gap (docs/theory.md §1.3): alpha ratios against d^-delta, and at each
    degree 2^l the share of the energy carried by the layer-l term."""

    d: int
    delta: float | None
    alphas: tuple
    energy: EnergyTable
    title = "Information gap (docs/theory.md §1.3)"
    header = ("l", "alpha_l", "ratio", "d^-delta", "q=2^l", "energy_q G*", "layer l", "max other", "ok")

    def layer_rows(self):
        out = []
        L = len(self.alphas) + 1
        for l in range(2, L + 1):
            q = 2 ** l
            own = float(self.energy.by_layer[l][q])
            others = [float(self.energy.by_layer[m][q]) for m in self.energy.by_layer if m != l]
            other = max(others, default=0.0)
            ratio = None if l == 2 else float(self.alphas[l - 2]) / float(self.alphas[l - 3])
            out.append((l, float(self.alphas[l - 2]), ratio, q, float(self.energy.total[q]), own, other))
        return out

    @property
    def bound(self) -> float:
        return math.inf if self.delta is None else float(self.d) ** (-self.delta)

    @staticmethod
    def _row_ok(ratio, own, other, bound) -> bool:
        return (ratio is None or ratio <= bound * (1 + 1e-12)) and own > other

    @property
    def ok(self) -> bool:
        return all(self._row_ok(r[2], r[5], r[6], self.bound) for r in self.layer_rows())

    def rows(self):
        return [[str(l), f"{a:.4g}", "-" if ratio is None else f"{ratio:.4g}",
                 "-" if self.delta is None else f"{self.bound:.4g}",
                 str(q), f"{tot:.6g}", f"{own:.6g}", f"{other:.6g}",
                 "yes" if self._row_ok(ratio, own, other, self.bound) else "NO"]
                for l, a, ratio, q, tot, own, other in self.layer_rows()]

    def footer(self):
        note = ("ratio = alpha_l/alpha_(l-1); layer l / max other: energy_q of the layer-l term "
                "alpha_l Sum G*_l / of the largest other term. ")
        if self.ok:
            return note + "Gap respected: each degree 2^l is carried mainly by the layer-l term."
        bad = [f"l={l}: " + ("ratio > d^-delta" if not (ratio is None or ratio <= self.bound * (1 + 1e-12))
                             else f"a higher layer carries more degree-{q} energy")
               for l, a, ratio, q, tot, own, other in self.layer_rows()
               if not self._row_ok(ratio, own, other, self.bound)]
        return note + "Gap not visible: " + "; ".join(bad) + "."


def verify_gap(sym: SymbolicTarget, delta: float | None = None,
               energy: EnergyTable | None = None) -> GapReport:
    """Information-gap verifier (docs/theory.md §1.3.3): alpha_{l+1}/alpha_l <= d^-delta (skipped when
    ``delta`` is None) and, at each degree q = 2^l, energy_q(alpha_l Sum G*_l) exceeds
    energy_q of every other layer term. The top degree 2^L is reached by layer L alone.

    Parameters
    ----------
    sym : SymbolicTarget
        The exact target.
    delta : float or None
        The gap exponent to check (docs/theory.md §1.3.3).
    energy : EnergyTable or None
        Energies by degree, if already computed.

    Returns
    -------
    GapReport
    """
    _check_sym(sym)
    return GapReport(sym.spec.d, None if delta is None else float(delta),
                     tuple(QQ.to_sympy(a) for a in sym.alphas),
                     energy if energy is not None else energy_by_degree_table(sym))


@dataclass(frozen=True, repr=False)
class AlphaSweep(_Table):
    """Energy at degrees 2^L and 2^(L-1) as alpha_L varies, other alphas fixed (docs/theory.md §1.3
    information gap). ``exact_scaling[i]`` is the exact rational test
    energy_{2^L}(G*) == alpha_L^2 energy_{2^L}(G* with alpha_L = 1)."""

    L: int
    values: tuple
    top: tuple
    exact_scaling: tuple
    below_total: tuple
    below_own: tuple
    below_top_term: tuple

    @property
    def title(self):
        return f"alpha_{self.L} sweep: degree {2 ** self.L} and degree {2 ** (self.L - 1)} energies"

    @property
    def header(self):
        q, p, L = 2 ** self.L, 2 ** (self.L - 1), self.L
        return (f"alpha_{L}", f"e_{q}(G*)", "a^2 law", f"e_{p}(G*)", f"layer {L - 1}", f"layer {L}",
                f"share {L - 1}")

    def rows(self):
        return [[f"{v:.4g}", f"{float(t):.6g}", "exactly" if ok else "NO", f"{float(b):.6g}",
                 f"{float(o):.6g}", f"{float(u):.6g}", f"{float(o) / float(b):.3f}" if b else "-"]
                for v, t, ok, b, o, u in zip(self.values, self.top, self.exact_scaling, self.below_total,
                                             self.below_own, self.below_top_term)]

    def footer(self):
        L, q, p = self.L, 2 ** self.L, 2 ** (self.L - 1)
        note = (f"e_q = energy_q; a^2 law: e_{q}(G*) == alpha_{L}^2 e_{q}(G* at alpha_{L} = 1) in exact "
                f"rationals; layer j: e_{p} of the term alpha_j Sum G*_j; share {L - 1}: its fraction "
                f"of e_{p}(G*). ")
        return note + (f"Degree {q} is reached by the layer-{L} term alone, so its energy scales "
                       f"exactly as alpha_{L}^2." if all(self.exact_scaling)
                       else "The top-degree energy does NOT scale as alpha_L^2.")


def alpha_sweep(target: BFCTarget, values: Sequence[float]) -> AlphaSweep:
    """Exact energies of G* at degrees 2^L and 2^(L-1) for each alpha_L in ``values``."""
    if not isinstance(target, BFCTarget):
        raise SpecError(f"target={target!r:.60} is invalid: a {type(target).__name__}, not a "
                        f"BFCTarget; pass build_target(...)")
    L = target.L
    values = tuple(float(v) for v in values)
    fixed = [float(a) for a in target.alphas[:-1]]
    q, p = 2 ** L, 2 ** (L - 1)
    unit = energy_by_degree_table(symbolic_target(target.with_alphas(fixed + [1.0]))).total[q]
    rows = []
    for v in values:
        tab = energy_by_degree_table(symbolic_target(target.with_alphas(fixed + [v])))
        a = QQ.to_sympy(exact(v))
        rows.append((tab.total[q], tab.total[q] == a ** 2 * unit, tab.total[p],
                     tab.by_layer[L - 1][p], tab.by_layer[L][p]))
    return AlphaSweep(L, values, *(tuple(c) for c in zip(*rows)))
