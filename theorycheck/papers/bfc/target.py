"""The backward-feature-correction target G* (docs/theory.md §1.3), numeric core.

Layers 0 and 1 are fixed: G*_0(x) = x, G*_1(x) = sigma(x) (centred: x_i^2 - 1).
For l = 2..L, with connection set J_l that contains l-1:

    S*_l(x) = sum_{j in J_l} W*_{l,j} G*_j(x)     in R^{k_l}
    G*_l(x) = sigma(S*_l(x))
    G*(x)   = sum_l alpha_l * Sum(G*_l(x)) = sum_l alpha_l ||S*_l(x)||^2

Conventions [R] (configurable; defaults follow docs/theory.md §1.3 and the measured
reference setting of 1.6b):

* ``connections="chain"``: J_2 = {0, 1}, J_l = {l-1} for l >= 3 (1.6b);
  ``"dense"``: J_l = {0, ..., l-1} (DenseNet-like skips); or an explicit mapping.
* ``centred=True``: G*_1 = x^2 - 1, so every feature but G*_0 has mean zero at
  layer 1 (1.6b); ``False`` gives sigma(x) = x^2.
* Information gap: alpha_2 = 1 and alpha_{l+1} = alpha_l * d^{-delta}
  (``delta=0.25``), or an explicit ``alphas`` list.
* Weights: Gaussian, with the singular values of W*_{l,l-1} clipped to
  [m/kappa, m*kappa] around their median m (condition number <= kappa^2);
  then every layer is rescaled so that E||S*_l(x)||^2 = k_l. Layer 2's second
  moment is exact (closed form); deeper layers use a Monte Carlo estimate on
  2^16 inputs drawn from the spec's seed: reproducible, but S*_l^2 is
  heavy-tailed, so the achieved E||S*_l||^2 / k_l was measured within -2% to +11%
  of 1 at d = 3 (tighter as d grows). ``symbolic.layer_second_moments`` gives
  the exact value of any drawn target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from theorycheck.errors import SpecError
from theorycheck.maths.gaussian import sample_inputs
from theorycheck.validation import (check_array, check_bool, check_choice, check_int, check_real,
                                    renamed)

NORMALISATION_SAMPLES = 1 << 16


@dataclass(frozen=True)
class TargetSpec:
    """Everything that determines a target G*. Build with :func:`target_spec`."""

    d: int
    L: int
    widths: tuple[int, ...]
    connections: tuple[tuple[int, ...], ...]
    alphas: tuple[float, ...]
    kappa: float = 2.0
    seed: int = 0
    centred: bool = True
    dist: str = "gaussian"
    normalise: bool = True

    def width(self, j: int) -> int:
        """Dimension of G*_j: d for j in {0, 1}, k_j beyond."""
        return self.d if j <= 1 else self.widths[j - 2]

    def J(self, l: int) -> tuple[int, ...]:
        return self.connections[l - 2]

    def alpha(self, l: int) -> float:
        return self.alphas[l - 2]

    def to_dict(self) -> dict:
        return {"d": self.d, "L": self.L, "widths": list(self.widths),
                "connections": {str(l): list(self.J(l)) for l in range(2, self.L + 1)},
                "alphas": list(self.alphas), "kappa": self.kappa, "seed": self.seed,
                "centred": self.centred, "dist": self.dist, "normalise": self.normalise}


def target_spec(d: int = 16, L: int = 3, *, k_target: int | Sequence[int] | None = None,
                connections: str | Mapping[int, Sequence[int]] = "chain",
                alphas: Sequence[float] | None = None, delta: float | None = 0.25,
                kappa: float = 2.0, seed: int = 0, centred: bool = True,
                dist: str = "gaussian", normalise: bool = True,
                k: int | Sequence[int] | None = None) -> TargetSpec:
    """Validate and normalise a target specification (docs/theory.md §1.3).

    ``k_target`` is one width for every layer 2..L or a list of L-1 widths (default 2): the
    same name as the target width of :func:`~theorycheck.papers.bfc.training.train`, whose
    ``k`` is the learner's width. ``alphas`` (L-1 positive numbers for layers 2..L)
    overrides ``delta``.

    Parameters
    ----------
    d : int
        Input dimension.
    L : int
        Number of layers, 2..8.
    k_target : int or sequence of int
        Width k_l of layers 2..L (docs/theory.md §1.3.1).
    connections : str or mapping
        ``"chain"``, ``"dense"`` or ``{l: J_l}``.
    alphas : sequence of float or None
        alpha_2..alpha_L; None derives them from ``delta``.
    delta : float or None
        Information-gap exponent, alpha_(l+1) = alpha_l d^-delta (§1.3.3).
    kappa : float
        Condition bound of the blocks W*_(l,l-1) (§1.3.2).
    seed : int
        Seed of the weights.
    centred : bool
        G*_1 = x^2 - 1 (True) or x^2.
    dist : str
        ``"gaussian"`` or ``"sphere"``.
    normalise : bool
        Scale each layer to E||S*_l||^2 = k_l.
    k : int or sequence of int or None
        Deprecated name of ``k_target`` (a DeprecationWarning).

    Returns
    -------
    TargetSpec
    """
    k = renamed("target_spec", "k", k, "k_target", k_target, 2)
    d = check_int("d", d, min_value=1)
    L = check_int("L", L, min_value=2, max_value=8)
    if isinstance(k, (list, tuple)):
        if len(k) != L - 1:
            raise SpecError(f"widths={list(k)!r} is invalid: {len(k)} widths for layers 2..{L}; "
                            f"give {L - 1} widths (one per layer 2..L) or a single k")
        widths = tuple(check_int(f"widths[{i}]", w, min_value=1) for i, w in enumerate(k))
    else:
        widths = (check_int("k_target", k, min_value=1),) * (L - 1)
    conns = _connections(connections, L)
    if alphas is not None:
        alphas = tuple(alphas)
        if len(alphas) != L - 1:
            raise SpecError(f"alphas={list(alphas)!r} is invalid: {len(alphas)} values for layers "
                            f"2..{L}; give {L - 1} positive values")
        alphas = tuple(check_real(f"alphas[{i}]", a, positive=True) for i, a in enumerate(alphas))
    else:
        if delta is None:
            raise SpecError("alphas=None and delta=None: the information gap is undetermined; "
                            "pass delta > 0 or an explicit alphas list")
        delta = check_real("delta", delta, positive=True)
        alphas = tuple(float(d) ** (-delta * (l - 2)) for l in range(2, L + 1))
    kappa = check_real("kappa", kappa, min_value=1.0)
    seed = check_int("seed", seed, min_value=0, max_value=2**32 - 1)
    check_choice("dist", dist, ("gaussian", "sphere"))
    centred, normalise = check_bool("centred", centred), check_bool("normalise", normalise)
    return TargetSpec(d, L, widths, conns, alphas, kappa, seed, centred, dist, normalise)


def _connections(connections, L: int) -> tuple[tuple[int, ...], ...]:
    if isinstance(connections, str):
        check_choice("connections", connections, ("chain", "dense"))
        if connections == "dense":
            return tuple(tuple(range(l)) for l in range(2, L + 1))
        return tuple((0, 1) if l == 2 else (l - 1,) for l in range(2, L + 1))
    if not isinstance(connections, Mapping):
        raise SpecError(f"connections={connections!r} is invalid; pass 'chain', 'dense' or a "
                        f"mapping {{layer: [lower layers]}}")
    keys = {check_int("connections layer", l, error=SpecError) for l in connections}
    if keys != set(range(2, L + 1)):
        raise SpecError(f"connections has layers {sorted(keys)}; give J_l for exactly the layers "
                        f"2..{L}")
    out = []
    for l in range(2, L + 1):
        js = connections[l] if l in connections else connections[str(l)]
        js = tuple(sorted({check_int(f"J_{l} entry", j) for j in js}))
        bad = [j for j in js if j < 0 or j >= l]
        if bad:
            raise SpecError(f"J_{l}={list(js)!r} is invalid: layer(s) {bad} are not below {l}; "
                            f"J_{l} may only name layers 0..{l - 1}")
        if l - 1 not in js:
            raise SpecError(f"J_{l}={list(js)!r} is invalid: it must contain {l - 1} (each layer "
                            f"reads the one below it); add {l - 1}")
        out.append(js)
    return tuple(out)


@dataclass(frozen=True)
class BFCTarget:
    """A drawn target: its spec, the weights W*_{l,j} (``weights[(l, j)]`` of shape
    ``(k_l, width(j))``) and the information-gap coefficients alpha_l."""

    spec: TargetSpec
    weights: Mapping[tuple[int, int], np.ndarray]
    alphas: np.ndarray = field(repr=False)

    @property
    def d(self) -> int:
        return self.spec.d

    @property
    def L(self) -> int:
        return self.spec.L

    def layers(self, X: np.ndarray) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """Pre-activations S*_l (l >= 2) and features G*_l (l >= 0) on inputs ``X`` (n, d)."""
        X = check_array("X", X, shape=(None, self.d), ndim=2)
        return forward_layers(X, self.weights, self.spec)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """G*(X), shape (n,)."""
        S, _ = self.layers(X)
        return sum(a * np.einsum("nk,nk->n", S[l], S[l]) for l, a in zip(range(2, self.L + 1), self.alphas))

    def layer_terms(self, X: np.ndarray) -> dict[int, np.ndarray]:
        """alpha_l * Sum(G*_l(X)) for each l, shape (n,) each; they sum to G*(X)."""
        S, _ = self.layers(X)
        return {l: self.alphas[l - 2] * np.einsum("nk,nk->n", S[l], S[l]) for l in range(2, self.L + 1)}

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` inputs from the spec's distribution and their labels G*(x)."""
        X = sample_inputs(n, self.d, rng, self.spec.dist)
        return X, self(X)

    def __repr__(self) -> str:
        """One line: the sizes and coefficients, never the weights.

        Examples
        --------
        >>> build_target(d=4, L=3, k_target=2, alphas=[1.0, 0.5])
        BFCTarget(d=4, L=3, widths=(2, 2), alphas=(1.0, 0.5), dist='gaussian', seed=0)
        """
        s = self.spec
        alphas = tuple(float(f"{float(a):.4g}") for a in self.alphas)
        return (f"BFCTarget(d={s.d}, L={s.L}, widths={s.widths}, alphas={alphas}, "
                f"dist={s.dist!r}, seed={s.seed})")

    def _repr_html_(self) -> str:
        """The spec as a small table, with the shape of each weight block W*_{l,j}."""
        from theorycheck._display import fmt_num, html_table

        s = self.spec
        rows = [("d", s.d), ("L", s.L), ("widths k_2..k_L", s.widths),
                ("connections", ", ".join(f"J_{l} = {set(s.J(l))}" for l in range(2, s.L + 1))),
                ("alphas", ", ".join(fmt_num(float(a)) for a in self.alphas)),
                ("kappa", s.kappa), ("G*_1", "x^2 - 1" if s.centred else "x^2"),
                ("dist", s.dist), ("seed", s.seed),
                ("weights", ", ".join(f"W*_{l},{j}: {W.shape[0]}x{W.shape[1]}"
                                      for (l, j), W in sorted(self.weights.items())))]
        return html_table("BFCTarget G* (docs/theory.md §1.3)", rows)

    def with_alphas(self, alphas: Sequence[float]) -> "BFCTarget":
        """The same weights with other coefficients (for information-gap studies)."""
        spec = target_spec(self.d, self.L, k_target=list(self.spec.widths),
                           connections={l: self.spec.J(l) for l in range(2, self.L + 1)},
                           alphas=alphas, kappa=self.spec.kappa, seed=self.spec.seed,
                           centred=self.spec.centred, dist=self.spec.dist,
                           normalise=self.spec.normalise)
        return BFCTarget(spec, self.weights, np.asarray(spec.alphas, dtype=np.float64))


def forward_layers(X: np.ndarray, weights: Mapping[tuple[int, int], np.ndarray], spec: TargetSpec):
    G = {0: X, 1: X * X - 1.0 if spec.centred else X * X}
    S = {}
    for l in range(2, spec.L + 1):
        S[l] = sum(G[j] @ weights[(l, j)].T for j in spec.J(l))
        G[l] = S[l] * S[l]
    return S, G


def build_memory_bytes(spec: TargetSpec) -> float:
    """Peak bytes of :func:`build_target` for ``spec``: the weight blocks (and their SVD
    copies), plus the 2^16 Monte Carlo inputs and features of the normalisation of the layers
    without a closed form (layers >= 3, or any layer on the sphere)."""
    from theorycheck.budget import array_bytes

    weights = sum(3 * array_bytes(spec.width(l), spec.width(j))
                  for l in range(2, spec.L + 1) for j in spec.J(l))
    if not spec.normalise or (spec.L == 2 and spec.dist == "gaussian"):
        return weights
    return weights + array_bytes(NORMALISATION_SAMPLES, 4 * spec.d + 3 * sum(spec.widths))


def check_build_budget(spec: TargetSpec, name: str = "d") -> None:
    """Refuse (:class:`~theorycheck.errors.BudgetError`) a target whose drawing does not fit
    the memory budget (:mod:`theorycheck.budget`), naming ``name`` (the input dimension) and
    the largest value that fits."""
    from dataclasses import replace

    from theorycheck.budget import check_memory

    check_memory(lambda d: build_memory_bytes(replace(spec, d=d)), name, spec.d,
                 what="drawing and normalising G*", others="the widths k")


def build_target(spec: TargetSpec | None = None, **kwargs) -> BFCTarget:
    """Draw the weights of G* for ``spec`` (or for ``target_spec(**kwargs)``).

    Parameters
    ----------
    spec : TargetSpec or None
        A checked specification; None builds one from the keywords.
    **kwargs
        The keywords of :func:`target_spec`: ``d``, ``L``, ``k_target`` (the target's
        widths), ``connections``, ``alphas``, ``delta``, ``kappa``, ``seed``, ``centred``,
        ``dist``, ``normalise``.

    Returns
    -------
    BFCTarget

    Raises
    ------
    SpecError
        ``spec`` is not a :class:`TargetSpec`, or both ``spec`` and keywords are given.
    BudgetError
        The drawing would not fit the memory budget (:func:`check_build_budget`).
    """
    if spec is None:
        import inspect
        known = inspect.signature(target_spec).parameters
        unknown = sorted(set(kwargs) - set(known))
        if unknown:
            raise SpecError(f"build_target: unknown setting {unknown[0]!r}; valid settings: "
                            f"{', '.join(known)}")
        spec = target_spec(**kwargs)
    elif kwargs:
        raise SpecError(f"pass either a spec or keyword arguments, not both (got {sorted(kwargs)})")
    if not isinstance(spec, TargetSpec):
        raise SpecError(f"spec={spec!r} is invalid: a {type(spec).__name__}, not a TargetSpec; "
                        f"build one with target_spec(d, L, ...) or pass keywords "
                        f"build_target(d=..., L=...)")
    check_build_budget(spec)
    rng = np.random.default_rng([spec.seed, 0x7A46])
    weights: dict[tuple[int, int], np.ndarray] = {}
    for l in range(2, spec.L + 1):
        js = spec.J(l)
        for j in js:
            W = rng.standard_normal((spec.width(l), spec.width(j))) / math.sqrt(spec.width(j) * len(js))
            if j == l - 1:
                W = _condition(W, spec.kappa)
            weights[(l, j)] = W
        if spec.normalise:
            scale = math.sqrt(spec.width(l) / _second_moment(l, weights, spec))
            for j in js:
                weights[(l, j)] = weights[(l, j)] * scale
    for W in weights.values():
        W.setflags(write=False)
    return BFCTarget(spec, weights, np.asarray(spec.alphas, dtype=np.float64))


def _condition(W: np.ndarray, kappa: float) -> np.ndarray:
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    m = float(np.median(s))
    s = np.clip(s, m / kappa, m * kappa)
    return (U * s) @ Vt


def _second_moment(l: int, weights, spec: TargetSpec) -> float:
    """E||S*_l(x)||^2: closed form for layer 2 under Gaussian inputs, Monte Carlo otherwise."""
    if l == 2 and spec.dist == "gaussian":
        total = 0.0
        if 0 in spec.J(2):
            total += float(np.sum(weights[(2, 0)] ** 2))
        if 1 in spec.J(2):
            W1 = weights[(2, 1)]
            # centred: Cov(x^2 - 1) = 2I; raw: E[x_i^2 x_j^2] = 1 + 2*[i == j]
            total += 2.0 * float(np.sum(W1 ** 2)) + (0.0 if spec.centred else float(np.sum(W1.sum(1) ** 2)))
        return total
    rng = np.random.default_rng([spec.seed, 0x5EC0, l])
    X = sample_inputs(NORMALISATION_SAMPLES, spec.d, rng, spec.dist)
    partial = {key: W for key, W in weights.items() if key[0] <= l}
    sub = TargetSpec(spec.d, l, spec.widths[: l - 1], spec.connections[: l - 1], spec.alphas[: l - 1],
                     spec.kappa, spec.seed, spec.centred, spec.dist, spec.normalise)
    S, _ = forward_layers(X, partial, sub)
    return float(np.mean(np.einsum("nk,nk->n", S[l], S[l])))
