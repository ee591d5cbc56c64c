"""The quadratic learner network F of docs/theory.md §1.4, as plain arrays and pure functions.

    Phi_0(x) = x,  Phi_1(x) = sigma(x)  (centred: x_i^2 - 1, as the target),
    Phi_j(x) = sigma(R_j S_j(x))   for j >= 2   (R_j fixed Gaussian, p_j x k_j)
    S_l(x)   = sum_{j in J_l} K_{l,j} (Phi_j(x) - b_{l,j})     width k_l
    F_l(x)   = sigma_t(sum_{j in J_l} W_{l,j} (Phi_j(x) - b_{l,j}))   width m_l
    F(x)     = sum_l alpha_l Sum(F_l(x))

Conventions [R] (configurable, defaults stated):

* ``sigma_t`` (truncated quadratic): z^2 for |z| <= B, 2B|z| - B^2 beyond
  (continuous and C^1). Default ``B = 16`` (features are O(1), so truncation is
  rare on Gaussian inputs); ``B = inf`` is the plain square.
* Lifts: ``p_j = k_j(k_j+1)/2 + 2`` rows, entries N(0, 1/k_j) (docs/theory.md §1.6b);
  ``p_j >= k_j(k_j+1)/2`` is required so sigma(R_j z) spans the quadratic forms
  of z (1.8 item 6).
* Offsets b_{l,j} (1.6b's trainable b_3) exist only on lifted inputs (j >= 2)
  and are subtracted inside layer l; ``offsets=False`` fixes them at 0.
* ``tied=True`` is the simplified learner K = W (m_l = k_l) that 1.6b measured:
  F = sum_l alpha_l Sum(sigma_t(S_l)); the tie regulariser is then identically 0.
* Loss (mean over the batch): ``"squared"``: (F - y)^2; ``"logistic"``:
  log(1 + exp(-y F)) with labels y in {-1, +1} (e.g. sign(G* - median)).
* Regularisers: lambda_tie * sum_l ||K_l^T K_l - W_l^T W_l||_F^2 with K_l, W_l
  the blocks of layer l side by side over J_l (1.4), and lambda_wd * sum_l
  (||K_l||_F^2 + ||W_l||_F^2); offsets are not decayed.
* alpha_l are fixed (not trained); default: the information-gap rule of 1.3.

All parameters live in one flat vector ``theta`` (views: :meth:`LearnerParams.K`,
``.W``, ``.M``, ``.b``); layer l's K_l and W_l are one row-major block
``M_l = [K_l; W_l]`` so both are read in one pass. Three numerically equivalent
code paths:

* ``path="loops"``: the fused numba loop kernel for online and small batches (one call
  does forward, loss, backward and, in sgd_step, the update; register-blocked loops,
  reassociating fastmath);
* ``path="fused"``: one numba call per step that makes every matrix product through BLAS
  on a kept workspace, with the element-wise work (sigma_t, its derivative, the loss
  gradient, the SGD update) fused into the passes and GEMMs that already touch the data,
  and the quadratic identity dL/dW = 2 W IN^T diag(c) IN where a layer has no truncated
  entry and it costs fewer flops (:mod:`theorycheck.papers.bfc.learner_fused`);
* ``path="blas"``: NumPy GEMMs plus one-pass IEEE numba element-wise kernels, the plain
  float64 reference the other two are tested against.

``path="auto"`` picks loops for batches of at most :data:`LOOPS_MAX_BATCH` samples and
fused beyond. float64 by default; float32 parameters (``init_learner(..., dtype=np.float32)``)
train in single precision on every path (BLAS sgemm; F, the loss and its derivative are
accumulated in float64); verification code stays float64.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from theorycheck.errors import NumericalError, SpecError
from theorycheck.papers.bfc import learner_fused as _fk
from theorycheck.papers.bfc import learner_numba as _k
from theorycheck.papers.bfc.target import BFCTarget, _connections
from theorycheck.validation import (check_array, check_bool, check_choice, check_int,
                                    check_real, short_repr as _short)

LOOPS_MAX_BATCH = 7
LOSSES = ("squared", "logistic")
PATHS = ("auto", "loops", "fused", "blas")


# ----------------------------------------------------------------------------- spec
@dataclass(frozen=True)
class LearnerSpec:
    """Architecture of F. Build with :func:`learner_spec` or :func:`learner_spec_for`.

    Parameters
    ----------
    d, L : int
        Input dimension and number of layers.
    widths, m : tuple of int
        k_l and m_l for l = 2..L.
    connections : tuple of tuple of int
        J_l for l = 2..L.
    alphas : tuple of float
        alpha_l for l = 2..L (docs/theory.md §1.3.3).
    B : float
        Truncation of the square (§1.4.3).
    lift_rows : tuple of int
        p_j for j = 2..L-1 (§1.4.1).
    centred, tied, offsets : bool
        Conventions of the module docstring.
    loss : str
        ``"squared"`` or ``"logistic"`` (§1.4.4).
    seed : int
        Seed of the fixed lifts.
    """

    d: int
    L: int
    widths: tuple[int, ...]          # k_l, l = 2..L
    m: tuple[int, ...]               # m_l, l = 2..L (== widths when tied)
    connections: tuple[tuple[int, ...], ...]
    alphas: tuple[float, ...]
    B: float = 16.0
    lift_rows: tuple[int, ...] = ()  # p_j, j = 2..L-1
    centred: bool = True
    tied: bool = False
    offsets: bool = True
    loss: str = "squared"
    seed: int = 0

    def k(self, l: int) -> int:
        return self.widths[l - 2]

    def J(self, l: int) -> tuple[int, ...]:
        return self.connections[l - 2]

    def phi_width(self, j: int) -> int:
        """Width of Phi_j: d for j in {0, 1}, p_j beyond."""
        return self.d if j <= 1 else self.lift_rows[j - 2]

    def nin(self, l: int) -> int:
        return sum(self.phi_width(j) for j in self.J(l))

    def rows(self, l: int) -> int:
        return self.k(l) if self.tied else self.k(l) + self.m[l - 2]

    def sizes(self) -> tuple[int, int, int]:
        """``(parameters, rows, columns)``: the length of theta (every K_l, W_l and offset),
        the summed rows of the layers (the width of the per-sample activations) and the
        summed widths of Phi_0..Phi_{L-1} (the per-sample features); for memory estimates."""
        params = sum(self.rows(l) * self.nin(l) + self.nin(l) for l in range(2, self.L + 1))
        rows = sum(self.rows(l) for l in range(2, self.L + 1))
        cols = sum(self.phi_width(j) for j in range(self.L))
        return params, rows, cols


def learner_spec(d: int = 16, L: int = 3, *, k: int | Sequence[int] = 2,
                 m: int | Sequence[int] | None = None,
                 connections: str | Mapping[int, Sequence[int]] = "chain",
                 alphas: Sequence[float] | None = None, delta: float = 0.25,
                 B: float = 16.0, lift_rows: int | Sequence[int] | None = None,
                 centred: bool = True, tied: bool | None = None, offsets: bool = True,
                 loss: str = "squared", seed: int = 0) -> LearnerSpec:
    """Validate a learner architecture (docs/theory.md §1.4; conventions in the module docstring).

    ``k``/``m``/``lift_rows`` are one value for every layer or one per layer
    (``m`` and ``k`` for l = 2..L, ``lift_rows`` for j = 2..L-1). ``m`` defaults to
    ``k`` (and must equal it when ``tied``); ``lift_rows`` defaults to k(k+1)/2 + 2.

    Parameters
    ----------
    d : int
        Input dimension.
    L : int
        Number of layers, >= 2.
    k : int or sequence of int
        Learner width k_l (the target's is ``k_target`` in training configs).
    m : int, sequence of int or None
        Wide width m_l; default ``k``.
    connections : str or mapping
        ``"chain"``, ``"dense"`` or ``{l: J_l}``.
    alphas : sequence of float or None
        alpha_2..alpha_L; None uses ``delta``.
    delta : float
        Information-gap exponent: alpha_(l+1) = alpha_l d^-delta (docs/theory.md §1.3.3).
    B : float
        Truncation of the square.
    lift_rows : int, sequence of int or None
        Rows p_j of the lifts.
    centred : bool
        Phi_1 = x^2 - 1 (True) or x^2.
    tied : bool or None
        K = W (m = k). Pass it: left out, it is False with a DeprecationWarning, and in the
        next release it becomes True, the default of ``TrainConfig`` (the learner that
        docs/theory.md §1.6b measured).
    offsets : bool
        Train the offsets b_{l,j}.
    loss : str
        ``"squared"`` or ``"logistic"``.
    seed : int
        Seed of the lifts.

    Returns
    -------
    LearnerSpec
    """
    if tied is None:
        import warnings
        warnings.warn("learner_spec(tied=...) left out is deprecated: it means tied=False here "
                      "but tied=True in TrainConfig, and becomes True in the next release; pass "
                      "tied=False (untied K, W) or tied=True (K = W)", DeprecationWarning,
                      stacklevel=2)
        tied = False
    d = check_int("d", d, min_value=1)
    L = check_int("L", L, min_value=2, max_value=8)
    widths = _per_layer("k", k, L - 1)
    ms = widths if m is None else _per_layer("m", m, L - 1)
    for l, (kl, ml) in enumerate(zip(widths, ms), start=2):
        if ml < kl:
            raise SpecError(f"m={ml} for layer {l} is invalid: the wide map needs m >= k_{l} = {kl}; "
                            f"use m >= {kl}")
        if tied and ml != kl:
            raise SpecError(f"m={ml} for layer {l} is invalid with tied=True (K = W needs m = k); "
                            f"drop m or pass tied=False")
    conns = _connections(connections, L)
    if alphas is None:
        delta = check_real("delta", delta, positive=True)
        alphas = tuple(float(d) ** (-delta * (l - 2)) for l in range(2, L + 1))
    else:
        alphas = tuple(alphas)
        if len(alphas) != L - 1:
            raise SpecError(f"alphas={list(alphas)!r} is invalid: {len(alphas)} values for layers "
                            f"2..{L}; give {L - 1}")
        alphas = tuple(check_real(f"alphas[{i}]", a) for i, a in enumerate(alphas))
    B = float(B) if B == math.inf else check_real("B", B, positive=True)
    if L > 2:
        lift = (tuple(w * (w + 1) // 2 + 2 for w in widths[:-1]) if lift_rows is None
                else _per_layer("lift_rows", lift_rows, L - 2))
        for j, (p, kj) in enumerate(zip(lift, widths), start=2):
            need = kj * (kj + 1) // 2
            if p < need:
                raise SpecError(f"lift_rows={p} for R_{j} is invalid: R_{j} must have shape "
                                f"(p, {kj}) with p >= k(k+1)/2 = {need} to span the quadratic "
                                f"forms (docs/theory.md §1.8.6); use lift_rows >= {need}")
    else:
        lift = ()
    check_choice("loss", loss, LOSSES)
    seed = check_int("seed", seed, min_value=0, max_value=2**32 - 1)
    return LearnerSpec(d, L, widths, tuple(ms), conns, alphas, B, lift,
                       check_bool("centred", centred), check_bool("tied", tied),
                       check_bool("offsets", offsets), loss, seed)


def learner_spec_for(target: BFCTarget, *, k: int | Sequence[int] | None = None,
                     m: int | Sequence[int] | None = None, **kwargs) -> LearnerSpec:
    """A learner matching ``target``'s d, L, connections, alphas and centring;
    widths default to the target's (over-parameterise with larger ``k``/``m``).

    Parameters
    ----------
    target : BFCTarget
        The target to match (docs/theory.md §1.3).
    k, m : int, sequence of int or None
        Learner widths; None: the target's widths.
    **kwargs
        Other :func:`learner_spec` arguments (``tied``, ``B``, ``loss``, ...).

    Returns
    -------
    LearnerSpec
    """
    s = target.spec
    return learner_spec(s.d, s.L, k=list(s.widths) if k is None else k, m=m,
                        connections={l: s.J(l) for l in range(2, s.L + 1)},
                        alphas=kwargs.pop("alphas", list(s.alphas)),
                        centred=kwargs.pop("centred", s.centred), **kwargs)


def _per_layer(name: str, value, n: int) -> tuple[int, ...]:
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) != n:
            raise SpecError(f"{name}={list(value)!r} is invalid: {len(value)} values; give {n} "
                            f"(one per layer) or a single value")
        return tuple(check_int(f"{name}[{i}]", v, min_value=1) for i, v in enumerate(value))
    return (check_int(name, value, min_value=1),) * n


# --------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class _Layout:
    lay: np.ndarray          # (L-1, 13) int64, see kernels.learner_kernels
    cols: np.ndarray         # int64
    lifted: np.ndarray       # uint8 per column: 0 from Phi_0/1, 1 lifted (offset trained), 2 lifted (offset off)
    ptot: int
    size: int                # len(theta)
    phi_off: dict            # j -> first column of Phi_j
    col_slices: dict         # l -> slice into the feature buffer if J_l is contiguous, else None


@functools.lru_cache(maxsize=64)
def _layout(spec: LearnerSpec) -> _Layout:
    phi_off, off = {}, 0
    for j in range(spec.L):
        phi_off[j] = off
        off += spec.phi_width(j)
    ptot = off
    rows_l, cols, lifted, col_slices = [], [], [], {}
    mo = io = qo = uo = ro = 0
    for l in range(2, spec.L + 1):
        mo_l = mo
        nin, rows, k = spec.nin(l), spec.rows(l), spec.k(l)
        co = len(cols)
        for j in spec.J(l):
            cols.extend(range(phi_off[j], phi_off[j] + spec.phi_width(j)))
            lifted.extend([(1 if spec.offsets else 2) if j >= 2 else 0] * spec.phi_width(j))
        lc = cols[co:]
        col_slices[l] = slice(lc[0], lc[-1] + 1) if lc == list(range(lc[0], lc[-1] + 1)) else None
        bo = mo + rows * nin
        p = spec.lift_rows[l - 2] if l < spec.L else 0
        rows_l.append((rows, k, nin, mo_l, bo, co, 0 if spec.tied else k, p, ro,
                       phi_off.get(l, 0), io, qo, uo))
        mo = bo + nin
        io, qo, uo, ro = io + nin, qo + rows, uo + p, ro + p * k
    return _Layout(np.asarray(rows_l, dtype=np.int64), np.asarray(cols, dtype=np.int64),
                   np.asarray(lifted, dtype=np.uint8), ptot, mo, phi_off, col_slices)


@dataclass(frozen=True)
class LayerSlots:
    """Where layer l lives in ``theta`` and in the feature buffer ``cache["Phi"]`` of
    :func:`forward` (every Phi_j side by side).

    ``M``: the slice of theta holding M_l = [K_l; W_l] row-major (rows x nin);
    ``b``: the slice holding the offsets b_l (nin); ``inputs``: the columns of
    ``cache["Phi"]`` feeding layer l, a slice when contiguous, else an index array;
    ``trained_offsets``: bool (nin,), the offsets that train (lifted inputs, offsets on);
    ``phi``: the columns of Phi_l = sigma(R_l S_l) (None for the top layer).
    """

    M: slice
    b: slice
    inputs: slice | np.ndarray
    trained_offsets: np.ndarray
    phi: slice | None


def layer_slots(spec: LearnerSpec, l: int) -> LayerSlots:
    """The :class:`LayerSlots` of layer ``l`` (2..L) of ``spec``.

    Examples
    --------
    >>> spec = learner_spec(4, 3, k=2, tied=False)
    >>> s = layer_slots(spec, 2)
    >>> s.M.stop - s.M.start == spec.rows(2) * spec.nin(2)
    True
    """
    l = check_int("layer", l, min_value=2, max_value=spec.L)
    lay = _layout(spec)
    rows, _, nin, mo, bo, co = (int(v) for v in lay.lay[l - 2, :6])
    sl = lay.col_slices[l]
    po = lay.phi_off.get(l)
    return LayerSlots(slice(mo, mo + rows * nin), slice(bo, bo + nin),
                      sl if sl is not None else lay.cols[co:co + nin].copy(),
                      lay.lifted[co:co + nin] == 1,
                      slice(po, po + spec.phi_width(l)) if l < spec.L else None)


# ------------------------------------------------------------------------- params
@dataclass
class LearnerParams:
    """Trainable ``theta`` (flat), fixed lifts ``R[j]`` (p_j x k_j) and frozen layers.

    Parameters
    ----------
    spec : LearnerSpec
        The architecture.
    theta : ndarray
        Every trainable parameter, flat (views: :meth:`K`, :meth:`W`, :meth:`b`).
    R : dict
        ``{j: R_j}``, the fixed lifts (docs/theory.md §1.4.1).
    frozen : frozenset of int
        Layers not trained.
    """

    spec: LearnerSpec
    theta: np.ndarray
    R: dict = field(default_factory=dict)
    frozen: frozenset = frozenset()

    def _row(self, l: int):
        if not 2 <= l <= self.spec.L:
            raise SpecError(f"layer l={l} is invalid; use 2..{self.spec.L}")
        return _layout(self.spec).lay[l - 2]

    def M(self, l: int) -> np.ndarray:
        """Layer l's block [K_l; W_l] (rows x nin), a view into theta."""
        rows, _, nin, mo = self._row(l)[:4]
        return self.theta[mo:mo + rows * nin].reshape(rows, nin)

    def _cols(self, l: int, j: int | None) -> slice:
        if j is None:
            return slice(None)
        if j not in self.spec.J(l):
            raise SpecError(f"j={j} is not in J_{l}={list(self.spec.J(l))}; choose one of them")
        start = sum(self.spec.phi_width(i) for i in self.spec.J(l) if i < j)
        return slice(start, start + self.spec.phi_width(j))

    def K(self, l: int, j: int | None = None) -> np.ndarray:
        """K_{l,j} (k_l x width(Phi_j)), or K_l over all of J_l when ``j`` is None (views)."""
        return self.M(l)[: self.spec.k(l), self._cols(l, j)]

    def W(self, l: int, j: int | None = None) -> np.ndarray:
        """W_{l,j} (m_l x width(Phi_j)); equals K when tied (views)."""
        zr = 0 if self.spec.tied else self.spec.k(l)
        return self.M(l)[zr:, self._cols(l, j)]

    def b(self, l: int, j: int | None = None) -> np.ndarray:
        """Offsets subtracted from Phi_j inside layer l (zero and untrained for j <= 1)."""
        rows, _, nin, mo, bo = self._row(l)[:5]
        return self.theta[bo:bo + nin][self._cols(l, j)]

    def copy(self) -> "LearnerParams":
        return replace(self, theta=self.theta.copy())

    def with_frozen(self, layers: Iterable[int]) -> "LearnerParams":
        """The same arrays with ``layers`` frozen (gradients zero, never updated)."""
        layers = frozenset(check_int("frozen layer", l, min_value=2, max_value=self.spec.L)
                           for l in layers)
        return replace(self, frozen=layers)

    def trainable_mask(self) -> np.ndarray:
        """1 where theta is trained: M_l and lifted offsets of the unfrozen layers."""
        return _mask(self.spec, self.frozen)

    @property
    def R_flat(self) -> np.ndarray:
        return _flat_R(self)

    def __repr__(self) -> str:
        """One line: the architecture and the parameter counts, never ``theta``.

        Examples
        --------
        >>> init_learner(learner_spec(4, 3, k=2, tied=False))  # doctest: +ELLIPSIS
        LearnerParams(d=4, L=3, k=(2, 2), m=(2, 2), lifts={2: (5, 2)}, theta: ... float64 (... trained), frozen=())
        """
        s = self.spec
        lifts = {j: tuple(R.shape) for j, R in sorted(self.R.items())}
        trained = int(self.trainable_mask().sum())
        return (f"LearnerParams(d={s.d}, L={s.L}, k={s.widths}, m={s.m}, lifts={lifts}, "
                f"theta: {self.theta.size} {self.theta.dtype} ({trained} trained), "
                f"frozen={tuple(sorted(self.frozen))})")

    def _repr_html_(self) -> str:
        """Per layer: the shapes of K_l, W_l and of the offsets, and whether it trains."""
        from theorycheck._display import html_grid

        s = self.spec
        rows = []
        for l in range(2, s.L + 1):
            rows.append([l, sorted(s.J(l)), f"{s.k(l)}x{s.nin(l)}",
                         "= K" if s.tied else f"{s.m[l - 2]}x{s.nin(l)}", s.nin(l),
                         "x".join(map(str, self.R[l].shape)) if l in self.R else "-",
                         "frozen" if l in self.frozen else "trained"])
        note = (f"theta: {self.theta.size} entries ({self.theta.dtype}), "
                f"{int(self.trainable_mask().sum())} trained; alphas {s.alphas}; "
                f"B = {s.B:g}, loss {s.loss} (docs/theory.md §1.4)")
        return html_grid(f"LearnerParams F (d={s.d}, L={s.L})",
                         ["layer l", "J_l", "K_l", "W_l", "offsets b_l", "lift R_l", ""], rows,
                         note=note)


@functools.lru_cache(maxsize=64)
def _mask(spec: LearnerSpec, frozen: frozenset) -> np.ndarray:
    lay = _layout(spec)
    mask = np.zeros(lay.size, dtype=np.uint8)
    for i, l in enumerate(range(2, spec.L + 1)):
        if l in frozen:
            continue
        rows, _, nin, mo, bo, co = lay.lay[i][:6]
        mask[mo:mo + rows * nin] = 1
        if spec.offsets:
            mask[bo:bo + nin] = lay.lifted[co:co + nin] == 1
    mask.setflags(write=False)
    return mask


@functools.lru_cache(maxsize=64)
def _update_codes(spec: LearnerSpec, frozen: frozenset) -> np.ndarray:
    """Per theta entry: 0 not trained, 1 trained (offsets), 2 trained and weight-decayed (M)."""
    codes = _mask(spec, frozen).copy()
    lay = _layout(spec)
    for i, l in enumerate(range(2, spec.L + 1)):
        if l not in frozen:
            rows, _, nin, mo = lay.lay[i][:4]
            codes[mo:mo + rows * nin] = 2
    codes.setflags(write=False)
    return codes


def _flat_R(params: LearnerParams) -> np.ndarray:
    key = tuple((j, id(R)) for j, R in params.R.items())
    cached = params.__dict__.get("_rflat")
    if cached is not None and cached[0] == key:
        return cached[1]
    spec = params.spec
    for j in range(2, spec.L):
        if j not in params.R:
            raise SpecError(f"R has no lift for layer {j}; pass R[{j}] of shape "
                            f"({spec.lift_rows[j - 2]}, {spec.k(j)})")
        check_array(f"R[{j}]", params.R[j], shape=(spec.lift_rows[j - 2], spec.k(j)), ndim=2)
    parts = [np.ascontiguousarray(params.R[j], dtype=np.float64).ravel() for j in range(2, spec.L)]
    flat = np.concatenate(parts) if parts else np.zeros(1)
    params.__dict__["_rflat"] = (key, flat)
    return flat


def draw_lift(rng: np.random.Generator, p: int, k: int, scale: float | None = None) -> np.ndarray:
    """A fixed lift R (p x k), entries N(0, scale^2), default scale 1/sqrt(k) (1.6b).
    Unvalidated on purpose: the lift-spanning claim feeds it p < k(k+1)/2 as a broken variant."""
    return rng.standard_normal((p, k)) * (1.0 / math.sqrt(k) if scale is None else scale)


def quadratic_design(R: np.ndarray) -> np.ndarray:
    """C (p x k(k+1)/2) with sigma(R z)_i = sum_{a<=b} C[i, ab] z_a z_b (docs/theory.md §1.8.6)."""
    p, k = R.shape
    a, b = np.triu_indices(k)
    return R[:, a] * R[:, b] * np.where(a == b, 1.0, 2.0)


def init_learner(spec: LearnerSpec, target: BFCTarget | None = None, scheme: str = "small",
                 rng: np.random.Generator | int | None = None, scale: float = 1e-3,
                 dtype=np.float64, frozen: Iterable[int] = ()) -> LearnerParams:
    """Parameters for ``spec``.

    ``scheme="small"``: K, W entries N(0, scale^2 / nin), offsets 0.
    ``scheme="planted"`` (needs ``target``): F = G* exactly (up to truncation):
    K_{l,j} = W*_{l,j} for j <= 1 and W*_{l,j} A_j for j >= 2, where A_j = E C_j^+
    reads sigma(S*_j) off the lift (C_j = quadratic_design(R_j), E picks the
    squares); extra rows of a wider learner are zero, and W_l is K_l padded
    with zero rows to m_l. Lifts R_j are drawn from ``spec.seed`` either way.

    Parameters
    ----------
    spec : LearnerSpec
        The architecture.
    target : BFCTarget or None
        Needed by ``scheme="planted"``.
    scheme : str
        ``"small"`` or ``"planted"``.
    rng : Generator, int or None
        Source of the initial weights.
    scale : float
        Standard deviation scale of ``"small"``.
    dtype : numpy dtype
        float64 (default) or float32.
    frozen : iterable of int
        Layers not trained.

    Returns
    -------
    LearnerParams
    """
    if not isinstance(spec, LearnerSpec):
        raise SpecError(f"spec={_short(spec)} is invalid: a {type(spec).__name__}, not a "
                        f"LearnerSpec; build one with learner_spec(d, L, ...) or "
                        f"learner_spec_for(target)")
    if target is not None and not isinstance(target, BFCTarget):
        raise SpecError(f"target={_short(target)} is invalid: a {type(target).__name__}, not a "
                        f"BFCTarget; pass build_target(...) or None")
    check_choice("scheme", scheme, ("small", "planted"))
    if rng is not None and not isinstance(rng, (np.random.Generator, int, np.integer)) \
            or isinstance(rng, bool):
        raise SpecError(f"rng={_short(rng)} is invalid: a {type(rng).__name__}; pass a "
                        f"numpy.random.Generator, an integer seed or None")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise SpecError(f"dtype={_short(dtype)} is invalid; use float64 (default) or "
                        f"float32") from None
    if dtype not in (np.float64, np.float32):
        raise SpecError(f"dtype={dtype} is invalid; use float64 (default) or float32")
    from theorycheck.budget import array_bytes, check_memory_of
    check_memory_of(lambda s: array_bytes(3 * replace(spec, d=s["d"]).sizes()[0]),
                    {"d": spec.d}, {"d": 16}, what="the learner's parameters")
    rng = np.random.default_rng(rng if rng is not None else [spec.seed, 0xF1])
    lift_rng = np.random.default_rng([spec.seed, 0x11F7])
    R = {j: draw_lift(lift_rng, spec.lift_rows[j - 2], spec.k(j)) for j in range(2, spec.L)}
    for Rj in R.values():
        Rj.setflags(write=False)
    lay = _layout(spec)
    params = LearnerParams(spec, np.zeros(lay.size, dtype=np.float64), R, frozenset())
    if scheme == "small":
        scale = check_real("scale", scale, nonnegative=True)
        for l in range(2, spec.L + 1):
            M = params.M(l)
            M[...] = rng.standard_normal(M.shape) * (scale / math.sqrt(M.shape[1]))
    else:
        _plant(params, target)
    params.theta = params.theta.astype(dtype)
    return params.with_frozen(frozen)


def _plant(params: LearnerParams, target: BFCTarget | None) -> None:
    spec = params.spec
    if target is None:
        raise SpecError("scheme='planted' needs target=<BFCTarget>; pass the target to copy")
    ts = target.spec
    if (ts.d, ts.L) != (spec.d, spec.L) or any(ts.J(l) != spec.J(l) for l in range(2, spec.L + 1)):
        raise SpecError(f"target (d={ts.d}, L={ts.L}) and learner (d={spec.d}, L={spec.L}) differ in "
                        f"shape or connections; build the learner with learner_spec_for(target)")
    if ts.centred != spec.centred or not np.allclose(ts.alphas, spec.alphas, rtol=0, atol=0):
        raise SpecError("target and learner differ in centring or alphas; build the learner with "
                        "learner_spec_for(target)")
    for l in range(2, spec.L + 1):
        if spec.k(l) < ts.width(l):
            raise SpecError(f"k_{l}={spec.k(l)} is too narrow to plant the target's width "
                            f"{ts.width(l)}; use k >= {ts.width(l)}")
    reads = {}
    for j in range(2, spec.L):
        C = quadratic_design(params.R[j])
        kj = spec.k(j)
        a, b = np.triu_indices(kj)
        E = np.zeros((ts.width(j), len(a)))
        for t, (aa, bb) in enumerate(zip(a, b)):
            if aa == bb and aa < ts.width(j):
                E[aa, t] = 1.0
        reads[j] = np.linalg.lstsq(C.T, E.T, rcond=None)[0].T      # E C^+, (k*_j x p_j)
    for l in range(2, spec.L + 1):
        kt = ts.width(l)
        K = params.K(l)
        for j in spec.J(l):
            Wt = np.asarray(target.weights[(l, j)], dtype=np.float64)
            params.K(l, j)[:kt] = Wt if j <= 1 else Wt @ reads[j]
        if not spec.tied:
            params.W(l)[:K.shape[0]] = K


# --------------------------------------------------------------------- evaluation
def _check_batch(params: LearnerParams, X, y=None, *, need_y: bool = True):
    spec = params.spec
    size = _layout(spec).size
    if not isinstance(params.theta, np.ndarray) or params.theta.shape != (size,) \
            or params.theta.dtype not in (np.float64, np.float32) or not params.theta.flags.c_contiguous:
        raise SpecError(f"theta has shape {np.shape(params.theta)} and dtype "
                        f"{getattr(params.theta, 'dtype', type(params.theta).__name__)}; expected a "
                        f"contiguous float64 (or float32) array of shape ({size},) for this spec")
    X = check_array("X", X, shape=(None, spec.d), ndim=2, dtype=params.theta.dtype)
    if X.shape[0] == 0:
        raise SpecError(f"X has shape {X.shape}; expected (n, {spec.d}) with n >= 1")
    if not need_y:
        return np.ascontiguousarray(X), None
    y = check_array("y", y, shape=(X.shape[0],), ndim=1, dtype=params.theta.dtype)
    if spec.loss == "logistic" and not np.all(np.abs(y) == 1):
        raise SpecError("y has entries other than -1 and +1; the logistic loss needs labels "
                        "sign(G* - median) in {-1, +1}")
    return np.ascontiguousarray(X), np.ascontiguousarray(y)


def _args(params: LearnerParams):
    (lay, cols, lifted, alphas, B, centred, loss), frozen, ptot = _static_args(params.spec,
                                                                             params.frozen)
    return (lay, cols, lifted, params.R_flat, alphas, B, centred, loss), frozen, ptot


@functools.lru_cache(maxsize=64)
def _static_args(spec: LearnerSpec, frozen_layers: frozenset):
    """The kernels' arguments that depend on the architecture only (built once: a step at
    batch 1 lasts tens of microseconds). Shared: the kernels never write them."""
    lay = _layout(spec)
    frozen = np.array([1 if l in frozen_layers else 0 for l in range(2, spec.L + 1)], dtype=np.uint8)
    alphas = np.asarray(spec.alphas, dtype=np.float64)
    return (lay.lay, lay.cols, lay.lifted, alphas, float(spec.B), bool(spec.centred),
            LOSSES.index(spec.loss)), frozen, lay.ptot


def _pick_path(path: str, n: int) -> str:
    check_choice("path", path, PATHS)
    if path == "auto":
        return "loops" if n <= LOOPS_MAX_BATCH else "fused"
    return path


def _fused_plan(params: LearnerParams, n: int) -> tuple:
    """The fused kernel's arguments besides theta, the batch and the step's scalars, kept on
    ``params`` for its batch size (looking them up again costs as much as a small GEMM):
    the layout, the lift in theta's dtype (for the BLAS products) and a workspace."""
    R64 = _flat_R(params)
    key = (n, params.theta.dtype, params.spec, params.frozen, id(R64))
    plan = params.__dict__.get("_fused_plan")
    if plan is not None and plan[0] == key:
        return plan[1]
    (lay, cols, lifted, alphas, B, centred, loss), frozen, ptot = _static_args(params.spec,
                                                                             params.frozen)
    dt = params.theta.dtype
    R = R64.astype(dt) if R64.dtype != dt else R64
    ws = _Workspace.for_batch(params.spec, n, dt)
    work = ws.arrays.get("fused")
    if work is None:
        work = ws.arrays["fused"] = np.empty(int(_fk.work_size(lay, n, ptot)), dtype=dt)
    args = ((lay, cols, lifted, R, alphas, B, centred, loss), (frozen, ptot), work)
    params.__dict__["_fused_plan"] = (key, args)
    return args


def _run_fused(params: LearnerParams, X, y, grad, mode: int, lr: float, wd: float,
               shift: float = 0.0):
    head, (frozen, ptot), work = _fused_plan(params, X.shape[0])
    f = np.empty(X.shape[0])
    loss = _fk.fused_steps(params.theta, grad, X, y, *head, mode, lr, wd, shift, frozen, ptot, f, work,
                           *_fk.no_pool(params.theta.dtype))
    return loss, f


def forward(params: LearnerParams, X, *, path: str = "auto"):
    """F(X), shape (n,), and the intermediate arrays: on the BLAS path a dict with
    ``S[l]`` (n, k_l), ``Z[l]`` (the wide pre-activation W_l(Phi - b), (n, m_l)),
    ``IN[l]`` (layer l's input Phi_J - b), ``U[l]`` = R_l S_l, ``pre[l]`` = [S_l, Z_l] and
    ``Phi`` (every Phi_j side by side); on the loop path (small batches) None.

    Parameters
    ----------
    params : LearnerParams
        The network.
    X : array_like, shape (n, d)
        Inputs.
    path : str
        ``"auto"``, ``"loops"`` or ``"blas"`` (module docstring).
    """
    X, _ = _check_batch(params, X, need_y=False)
    path = _pick_path(path, X.shape[0])
    if path == "loops":
        base, frozen, ptot = _args(params)
        f = np.empty(X.shape[0])
        _k.step(params.theta, params.theta[:0], X, f, *base, 2, 0.0, 0.0, frozen, ptot, f)
        return f, None
    if path == "fused":
        return _run_fused(params, X, np.zeros(X.shape[0], dtype=X.dtype), params.theta[:0], 2,
                          0.0, 0.0)[1], None
    f, cache = _blas_forward(params, X)
    return f, cache


class _Workspace:
    """Reusable scratch arrays of the BLAS path for one (spec, batch size, dtype): large
    temporaries freshly allocated every step cost a page fault per 4 KiB (about as much
    as the GEMMs at B = 512), so sgd_step keeps them, as PyTorch's and XLA's allocators do.
    Not thread-safe: one workspace per process and shape."""

    _cache: "dict[tuple, _Workspace]" = {}

    def __init__(self):
        self.arrays: dict = {}

    @classmethod
    def for_batch(cls, spec: LearnerSpec, n: int, dtype) -> "_Workspace":
        key = (spec, n, np.dtype(dtype))
        ws = cls._cache.get(key)
        if ws is None:
            if len(cls._cache) >= 8:
                cls._cache.pop(next(iter(cls._cache)))
            ws = cls._cache[key] = cls()
        return ws

    def get(self, name, shape, dtype, zero: bool = False) -> np.ndarray:
        arr = self.arrays.get(name)
        if arr is None or arr.shape != shape or arr.dtype != dtype:
            arr = self.arrays[name] = np.zeros(shape, dtype=dtype)
        elif zero:
            arr.fill(0)
        return arr


class _Fresh:
    """Allocates new arrays (results handed to the caller must not be reused)."""

    @staticmethod
    def get(name, shape, dtype, zero: bool = False) -> np.ndarray:
        return np.zeros(shape, dtype=dtype) if zero else np.empty(shape, dtype=dtype)


def _blas_forward(params: LearnerParams, X: np.ndarray, ws=_Fresh):
    spec, lay = params.spec, _layout(params.spec)
    n, dt = X.shape[0], params.theta.dtype
    phi = ws.get("phi", (n, lay.ptot), dt)
    phi[:, :spec.d] = X
    np.multiply(X, X, out=phi[:, spec.d:2 * spec.d])
    if spec.centred:
        phi[:, spec.d:2 * spec.d] -= 1.0
    f = ws.get("f", (n,), np.float64, zero=True)
    cache = {"S": {}, "Z": {}, "IN": {}, "U": {}, "pre": {}, "Phi": phi}
    for i, l in enumerate(range(2, spec.L + 1)):
        sl = lay.col_slices[l]
        cols = phi[:, sl] if sl is not None else phi[:, lay.cols[lay.lay[i, 5]:lay.lay[i, 5] + lay.lay[i, 2]]]
        if any(j >= 2 for j in spec.J(l)):       # offsets exist only on lifted inputs
            IN = np.subtract(cols, params.b(l), out=ws.get(f"IN{l}", cols.shape, dt))
        else:
            IN = cols
        pre = np.matmul(IN, params.M(l).T, out=ws.get(f"pre{l}", (n, spec.rows(l)), dt))
        k = spec.k(l)
        Z = pre if spec.tied else pre[:, k:]
        _k.out_sum(Z, float(spec.B), float(spec.alphas[i]), f)
        cache["IN"][l], cache["S"][l], cache["Z"][l], cache["pre"][l] = IN, pre[:, :k], Z, pre
        if l < spec.L:
            Rl = params.R[l].astype(dt, copy=False)
            U = np.matmul(pre[:, :k], Rl.T, out=ws.get(f"U{l}", (n, Rl.shape[0]), dt))
            cache["U"][l] = U
            po = lay.phi_off[l]
            np.multiply(U, U, out=phi[:, po:po + U.shape[1]])
    return f, cache


def tie_penalty(params: LearnerParams, with_grad: bool = False):
    """sum_l ||K_l^T K_l - W_l^T W_l||_F^2 and, if asked, its gradient w.r.t. theta
    (d/dK = 4 K D, d/dW = -4 W D with D = K^T K - W^T W)."""
    spec = params.spec
    total, grad = 0.0, (np.zeros(params.theta.shape, dtype=params.theta.dtype) if with_grad else None)
    if spec.tied:
        return (0.0, grad) if with_grad else 0.0
    view = LearnerParams(spec, grad, params.R) if with_grad else None
    for l in range(2, spec.L + 1):
        K, W = params.K(l).astype(np.float64), params.W(l).astype(np.float64)
        D = K.T @ K - W.T @ W
        total += float(np.sum(D * D))
        if with_grad:
            view.K(l)[...] = 4.0 * (K @ D)
            view.W(l)[...] = -4.0 * (W @ D)
    return (total, grad) if with_grad else total


def weight_decay_penalty(params: LearnerParams) -> float:
    """sum_l ||M_l||_F^2 (K and W; offsets excluded)."""
    return float(sum(np.sum(params.M(l).astype(np.float64) ** 2) for l in range(2, params.spec.L + 1)))


def _check_reg(tie: float, wd: float) -> tuple[float, float]:
    return (check_real("lambda_tie", tie, nonnegative=True), check_real("lambda_wd", wd, nonnegative=True))


def _raise_nonfinite(params: LearnerParams, X, y, loss) -> None:
    check_array("X", X, dtype=np.float64)
    check_array("y", y, dtype=np.float64)
    if not np.all(np.isfinite(params.theta)):
        bad = int(np.argwhere(~np.isfinite(params.theta))[0, 0])
        raise NumericalError(f"theta contains a non-finite value at index {bad}; the parameters "
                             f"diverged earlier: lower the learning rate or restart from a checkpoint")
    raise NumericalError(f"loss={loss!r} is not finite: the network output overflowed; lower the "
                         f"learning rate, add weight decay, or use a finite truncation B")


def loss_and_grad(params: LearnerParams, X, y, *, lambda_tie: float = 0.0, lambda_wd: float = 0.0,
                  path: str = "auto"):
    """(loss, grad): the batch loss plus regularisers, and its gradient with respect to
    ``theta`` (zero on frozen layers and on the untrained offsets). Raises
    :class:`NumericalError` when the loss is not finite (overflow, NaN input).

    Parameters
    ----------
    params : LearnerParams
        The network.
    X, y : array_like
        Batch inputs (n, d) and targets (n,).
    lambda_tie, lambda_wd : float
        Tie and weight-decay regularisers (docs/theory.md §1.4.2).
    path : str
        ``"auto"``, ``"loops"`` or ``"blas"``.
    """
    X, y = _check_batch(params, X, y)
    lambda_tie, lambda_wd = _check_reg(lambda_tie, lambda_wd)
    _, loss, grad = _loss_grad(params, X, y, lambda_tie, lambda_wd, path)
    return loss, grad


def _trainer_loss_grad(params: LearnerParams, lambda_tie: float, lambda_wd: float, n: int,
                       *, shifted: bool = False) -> Callable:
    """The trainer's ``loss_grad(X, y)`` -> (loss, grad), or with ``shifted``
    ``loss_grad(X, y, shift)`` -> (loss, grad, dshift): :func:`loss_and_grad` and
    :func:`loss_grad_shift` for batches of ``n`` rows that the trainer drew and checked
    itself, with the same numbers. The checks and the fused kernel's plan are done once
    here, not at every step (at small batches they cost as much as the step). ``params``
    must keep its ``theta`` and lifts while the function is used (the trainer updates theta
    in place)."""
    if shifted:
        return lambda X, y, shift: _loss_grad_shift(params, X, y, shift, lambda_tie, lambda_wd)
    if lambda_tie or lambda_wd or _pick_path("auto", n) != "fused":
        return lambda X, y: _loss_grad(params, X, y, lambda_tie, lambda_wd, "auto")[1:]
    head, (frozen, ptot), work = _fused_plan(params, n)
    theta, step, rest = params.theta, _fk.fused_steps, _fk.no_pool()

    def loss_grad(X, y):
        grad = np.empty_like(theta)
        loss = step(theta, grad, X, y, *head, 0, 0.0, 0.0, 0.0, frozen, ptot, np.empty(n), work, *rest)
        if not math.isfinite(loss):
            _raise_nonfinite(params, X, y, loss)
        return float(loss), grad
    return loss_grad


def _loss_grad(params, X, y, lambda_tie, lambda_wd, path, with_wd=True, ws=None):
    """(data loss, total loss, gradient); ``with_wd=False`` leaves weight decay out of both
    (sgd_step applies it inside the update kernel); ``ws``: BLAS-path workspace."""
    path = _pick_path(path, X.shape[0])
    if path == "loops":
        base, frozen, ptot = _args(params)
        grad = np.empty_like(params.theta)
        f = np.empty(X.shape[0])
        loss = _k.step(params.theta, grad, X, y, *base, 0, 0.0, 0.0, frozen, ptot, f)
    elif path == "fused":
        grad = np.empty_like(params.theta)
        loss = _run_fused(params, X, y, grad, 0, 0.0, 0.0)[0]
    else:
        loss, grad = _blas_loss_grad(params, X, y, ws)
    if not math.isfinite(loss):
        _raise_nonfinite(params, X, y, loss)
    data_loss = float(loss)
    if lambda_wd and with_wd:
        loss += lambda_wd * weight_decay_penalty(params)
        for l in range(2, params.spec.L + 1):
            if l not in params.frozen:
                _, _, nin, mo = _layout(params.spec).lay[l - 2][:4]
                grad[mo:mo + params.M(l).size] += 2.0 * lambda_wd * params.M(l).ravel()
    if lambda_tie:
        t, tg = tie_penalty(params, with_grad=True)
        loss += lambda_tie * t
        grad += lambda_tie * tg * params.trainable_mask()
    return data_loss, float(loss), grad


def loss_grad_shift(params: LearnerParams, X, y, shift: float, *, lambda_tie: float = 0.0,
                    lambda_wd: float = 0.0):
    """(loss, grad, dshift) of the loss of the shifted output F(x) - ``shift``: the loss of
    :func:`loss_and_grad` with a scalar output offset c = ``shift`` (the threshold a
    classifier sign(F - c) needs, since F >= 0; docs/theory.md §1.4.4), its gradient with
    respect to ``theta`` and its derivative with respect to c."""
    X, y = _check_batch(params, X, y)
    lambda_tie, lambda_wd = _check_reg(lambda_tie, lambda_wd)
    return _loss_grad_shift(params, X, y, check_real("shift", shift), lambda_tie, lambda_wd)


def _dloss(f: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    """d(mean loss)/d f_s, in NumPy (the kernels' ``_loss_and_dloss``, for the shift's
    derivative; NaN where f is not finite)."""
    from scipy.special import expit
    n = f.shape[0]
    if loss == "squared":
        return 2.0 * (f - y) / n
    return -y * expit(-(y * f)) / n


def _loss_grad_shift(params: LearnerParams, X: np.ndarray, y: np.ndarray, shift: float,
                     lambda_tie: float, lambda_wd: float):
    if _pick_path("auto", X.shape[0]) == "fused":
        grad = np.empty_like(params.theta)
        loss, f = _run_fused(params, X, y, grad, 0, 0.0, 0.0, shift)
        box = {"g": _dloss(f - shift if shift else f, y, params.spec.loss)}
    else:
        box = {}
        loss, grad = _blas_loss_grad(params, X, y, None, shift=shift, out=box)
    if not math.isfinite(loss):
        _raise_nonfinite(params, X, y, loss)
    if lambda_wd or lambda_tie:     # the regularisers do not depend on the shift
        data, total, g_total = _loss_grad(params, X, y, lambda_tie, lambda_wd, "blas")
        loss, grad = loss + (total - data), grad + (g_total - _loss_grad(params, X, y, 0.0, 0.0, "blas")[2])
    return float(loss), grad, -float(box["g"].sum())


def _blas_loss_grad(params: LearnerParams, X: np.ndarray, y: np.ndarray, ws=None, *,
                    shift: float = 0.0, out: dict | None = None):
    """BLAS path of the data loss and its gradient. With a workspace ``ws`` every
    temporary and the returned gradient are reused buffers (sgd_step only). The loss is that
    of F - ``shift``; ``out`` receives ``g`` (d loss / d F per sample)."""
    spec, lay = params.spec, _layout(params.spec)
    n, dt = X.shape[0], params.theta.dtype
    scratch = ws if ws is not None else _Fresh
    f, cache = _blas_forward(params, X, scratch)
    g = scratch.get("g", (n,), np.float64)
    fs = f - shift if shift else f
    loss = float(_k.loss_and_dloss(fs, np.asarray(y, dtype=np.float64), LOSSES.index(spec.loss), g))
    if out is not None:
        out["g"] = g
    grad = scratch.get("grad", params.theta.shape, dt, zero=True)
    if not math.isfinite(loss):
        return loss, grad
    view = LearnerParams(spec, grad, params.R)
    dphi = scratch.get("dphi", cache["Phi"].shape, dt, zero=True) if spec.L > 2 else None
    for i in range(spec.L - 2, -1, -1):
        l = i + 2
        k, pre, IN = spec.k(l), cache["pre"][l], cache["IN"][l]
        dpre = scratch.get(f"dpre{l}", pre.shape, dt)
        zr = 0 if spec.tied else k
        _k.out_grad(cache["Z"][l], float(spec.B), g * spec.alphas[i], dpre[:, zr:])
        if zr:
            dpre[:, :zr] = 0.0
        if l < spec.L:
            po = lay.phi_off[l]
            U = cache["U"][l]
            dU = np.multiply(U, dphi[:, po:po + U.shape[1]], out=scratch.get(f"dU{l}", U.shape, dt))
            dU *= 2.0
            dpre[:, :k] += dU @ params.R[l].astype(dt, copy=False)
        if l not in params.frozen:
            np.matmul(dpre.T, IN, out=view.M(l))
        if any(j >= 2 for j in spec.J(l)):
            din = np.matmul(dpre, params.M(l), out=scratch.get(f"din{l}", IN.shape, dt))
            co, nin = lay.lay[i, 5], lay.lay[i, 2]
            lifted = lay.lifted[co:co + nin] == 1
            if spec.offsets and l not in params.frozen:
                gb = view.b(l)
                gb[lifted] = -din[:, lifted].sum(axis=0)
            sl = lay.col_slices[l]
            if sl is not None:
                dphi[:, sl] += din
            else:
                np.add.at(dphi, (slice(None), lay.cols[co:co + nin]), din)
    return loss, grad


def sgd_step(params: LearnerParams, X, y, lr: float, *, lambda_tie: float = 0.0,
             lambda_wd: float = 0.0, path: str = "auto",
             check: bool = True) -> float:
    """One SGD step in place on ``params.theta``; returns the data loss of the batch
    before the step (without regularisers). With the loop path and no tie regulariser the
    update is fused into the backward pass (one walk over each parameter row).
    A non-finite loss raises :class:`NumericalError` and leaves theta untouched.
    ``check=False`` skips input validation (hot loops that validated once).

    Parameters
    ----------
    params : LearnerParams
        Updated in place.
    X, y : array_like
        Batch inputs (n, d) and targets (n,).
    lr : float
        Step size.
    lambda_tie, lambda_wd : float
        Regularisers.
    path : str
        ``"auto"``, ``"loops"`` or ``"blas"``.
    check : bool
        Validate the inputs.
    """
    if check:
        X, y = _check_batch(params, X, y)
        lambda_tie, lambda_wd = _check_reg(lambda_tie, lambda_wd)
        lr = check_real("lr", lr, positive=True)
    path = _pick_path(path, X.shape[0])
    if path in ("loops", "fused") and not lambda_tie:
        if path == "loops":
            base, frozen, ptot = _args(params)
            f = np.empty(X.shape[0])
            loss = _k.step(params.theta, params.theta[:0], X, y, *base, 1, float(lr),
                           float(lambda_wd), frozen, ptot, f)
        else:
            loss = _run_fused(params, X, y, params.theta[:0], 1, float(lr), float(lambda_wd))[0]
        if loss == -1.0:
            _raise_update_overflow(lr)
        if not math.isfinite(loss):
            _raise_nonfinite(params, X, y, loss)
        return float(loss)
    ws = _Workspace.for_batch(params.spec, X.shape[0], params.theta.dtype)
    loss, _, grad = _loss_grad(params, X, y, lambda_tie, lambda_wd, path, with_wd=False, ws=ws)
    if not _k.sgd_update(params.theta, grad, _update_codes(params.spec, params.frozen), float(lr),
                         1.0 - 2.0 * float(lr) * float(lambda_wd)):
        _raise_update_overflow(lr)
    return loss


def _raise_update_overflow(lr: float) -> None:
    raise NumericalError(f"the SGD step overflowed: some parameter is not finite after the update "
                         f"with lr={lr!r}; lower the learning rate or add weight decay (theta now holds "
                         f"the overflowed values: restart from a checkpoint)")


def warmup() -> None:
    """Compile (or load from numba's cache) every learner kernel for float64: the loop, fused
    and BLAS paths. Optional: each kernel compiles on its first call anyway."""
    spec = learner_spec(3, 3, k=2, m=3, tied=False)
    params = init_learner(spec, rng=0)
    X = np.random.default_rng(0).standard_normal((2, 3))
    y = np.zeros(2)
    for path in ("loops", "fused", "blas"):
        loss_and_grad(params, X, y, path=path)
        forward(params, X, path=path)
        sgd_step(params, X, y, 1e-3, path=path)
    tied = init_learner(learner_spec(3, 3, k=2, tied=True), rng=0)
    loss_and_grad(tied, X, y, path="blas")
