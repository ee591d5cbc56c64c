"""Hypothesis strategies for matrices that reach the corners lemmas break on, and the domain
each one draws from, for a numerical optimiser.

Every factory returns an ordinary hypothesis strategy of ``float64`` arrays, so it composes
with ``st.tuples``, ``.map`` and ``@given``. Each one puts deliberate probability mass (40-65%
of draws, depending on the family) on named corner cases: the zero matrix, a dropped rank,
repeated rows, extreme sign patterns (Hadamard-like), ill-conditioning, repeated eigenvalues.
The rest are generic draws. Entries are decoded from hypothesis-drawn bytes, so examples
shrink toward zero (and dimensions toward their minimum), and no strategy ever produces a
subnormal or a 1e-300-sized entry: generic entries sit on a 2**-23 grid of the family's
scale, the corners shrink it by at most about 1e-15 (the conditioned family's 1/cond) times
rounding, scales and box limits are confined to [1e-100, 1e100], and the log-scale family
refuses magnitudes below 1e-150.

The domain
----------
Each strategy carries ``strategy.domain``, a :class:`MatrixDomains`: one
:class:`MatrixDomain` per shape the strategy can draw. A domain describes the set of
matrices the strategy draws from (a superset of its draws, closed under the family's
structure) so that an optimiser can search it::

    s = orthogonal_matrices((2, 5))
    dom = s.domain((3, 3))              # or s.domain.of(A) for a drawn A
    theta = np.zeros(dom.p)             # an unconstrained vector in R^p
    Q = dom.from_params(theta)          # smooth map R^p -> the domain (here expm(skew(theta)))
    dom.to_params(Q)                    # a theta with from_params(theta) == Q, or None
    dom.contains(Q)                     # membership up to a float64 tolerance
    dom.project(M)                      # a nearby member of the domain, for any M of that shape
    dom.box, dom.constraints            # entry bounds (or None) and the invariants, in words

``from_params`` is smooth in ``theta``, defined on all of R^p, and lands in the domain when
``dom.exact`` is true. Two families are not the image of a smooth map (sign matrices are
discrete; the log-scale family skips the gap around zero): their ``exact`` is false,
``from_params`` lands in a relaxation (the box their members are the vertices or a subset
of), and ``project`` rounds back into the domain. ``dom.surjective`` is false where the chart
reaches only part of the domain (orthogonal matrices with ``det=None``: the chart covers
det = +1; the other component is ``from_params(theta) @ diag(-1, 1, ..., 1)``).

Arguments are checked when the factory is called; a bad one raises
:class:`StrategyArgumentError` (a :class:`~theorycheck.errors.SpecError` and a hypothesis
``InvalidArgument``) whose one-line message names the value and the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from theorycheck.errors import SpecError

__all__ = [
    "MatrixDomain", "MatrixDomains", "StrategyArgumentError", "domain_of",
    "box_matrices", "log_matrices", "gaussian_matrices", "symmetric_matrices", "psd_matrices",
    "orthogonal_matrices", "low_rank_matrices", "conditioned_matrices", "sign_matrices",
    "trace_free_matrices", "with_domains", "REAL",
]

MAX_SIDE = 32          # 3 bytes per entry: a 32 x 32 draw is 3 KiB of hypothesis's 8 KiB buffer
MIN_MAGNITUDE = 1e-150  # a product of two entries stays a normal float64
MAX_MAGNITUDE = 1e150
MAX_COND = 1e15         # beyond ~1/eps, sigma_min is below float64 resolution of sigma_max
MIN_SCALE, MAX_SCALE = 1e-100, 1e100   # scales and bounds: corners stay far from subnormals
_EPS = float(np.finfo(np.float64).eps)
_GRID = float(2 ** 23)  # generic entries are multiples of scale / 2**23


class StrategyArgumentError(SpecError, InvalidArgument):
    """A strategy factory argument that cannot work; the message names it and the fix.

    Parameters
    ----------
    message : str
        One line naming the bad value and the fix (the CLI prints it as is).
    """


# ------------------------------------------------------------------------------- domain


@dataclass(frozen=True)
class MatrixDomain:
    """The set of ``shape`` matrices one strategy draws from, as an optimiser sees it.

    Parameters
    ----------
    name : str
        The family (``"orthogonal"``, ``"psd"``, ...).
    shape : tuple of int
        ``(rows, cols)`` of every member.
    p : int
        Number of unconstrained parameters of the chart.
    box : tuple of float or None
        ``(lo, hi)`` bounds every entry of every member respects, or None when unbounded.
    constraints : tuple of str
        The invariants that define the domain, in words (``"A == A.T"``, ``"rank <= 2"``).
    exact : bool
        True when ``from_params`` always lands in the domain; False when it lands in a
        relaxation (see ``project``).
    surjective : bool
        True when every member is ``from_params(theta)`` for some theta.

    Methods
    -------
    from_params(theta) -> ndarray
        Smooth map from R^p to the domain (or its relaxation when ``exact`` is False).
    to_params(A) -> ndarray or None
        A theta with ``from_params(theta) == A`` (to float64 tolerance), or None when the
        family has no cheap inverse or ``A`` is outside the chart's image.
    contains(A, tol=1e-9) -> bool
        Whether ``A`` satisfies every constraint, with tolerance ``tol`` relative to ``A``'s
        scale (plus the rounding a float64 computation of the invariant incurs).
    project(A) -> ndarray
        A member of the domain near ``A`` (clip, symmetrise, eigenvalue clip, polar factor,
        truncated SVD, rounding to signs ...).
    """

    name: str
    shape: tuple[int, int]
    p: int
    box: tuple[float, float] | None
    constraints: tuple[str, ...]
    exact: bool
    surjective: bool
    _from: Callable[[np.ndarray], np.ndarray] = field(repr=False, compare=False)
    _to: Callable[[np.ndarray], np.ndarray | None] | None = field(repr=False, compare=False)
    _contains: Callable[[np.ndarray, float], bool] = field(repr=False, compare=False)
    _project: Callable[[np.ndarray], np.ndarray] = field(repr=False, compare=False)

    def from_params(self, theta) -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (self.p,):
            raise StrategyArgumentError(
                f"{self.name} domain {self.shape}: theta has shape {theta.shape}; pass a 1-d "
                f"array of length p={self.p}")
        if not np.all(np.isfinite(theta)):
            raise StrategyArgumentError(f"{self.name} domain {self.shape}: theta has non-finite "
                                        f"entries; pass a finite vector")
        return self._from(theta)

    def to_params(self, A) -> np.ndarray | None:
        A = self._matrix(A)
        if self._to is None:
            return None
        theta = self._to(A)
        return None if theta is None else np.asarray(theta, dtype=np.float64)

    def contains(self, A, tol: float = 1e-9) -> bool:
        A = np.asarray(A, dtype=np.float64)
        if A.shape != self.shape or not np.all(np.isfinite(A)):
            return False
        if self.box is not None:
            lo, hi = self.box
            slack = tol * max(1.0, abs(lo), abs(hi))
            if A.min() < lo - slack or A.max() > hi + slack:
                return False
        return bool(self._contains(A, float(tol)))

    def project(self, A) -> np.ndarray:
        return self._project(self._matrix(A))

    def _matrix(self, A) -> np.ndarray:
        A = np.asarray(A, dtype=np.float64)
        if A.shape != self.shape:
            raise StrategyArgumentError(f"{self.name} domain {self.shape}: got a matrix of shape "
                                        f"{A.shape}; pass one of shape {self.shape}")
        return A


@dataclass(frozen=True)
class MatrixDomains:
    """The domains of one strategy, one per shape it can draw.

    ``family(shape)`` returns the :class:`MatrixDomain` for ``shape`` (``family()`` when the
    strategy has a single shape), ``family.of(A)`` the one for ``A``'s shape, ``family.shapes``
    every shape, and iterating yields every domain.

    Parameters
    ----------
    name : str
        The family.
    shapes : tuple of (int, int)
        Every shape the strategy draws.
    _build : callable
        ``shape -> MatrixDomain``.
    _cache : dict
        Built domains.
    """

    name: str
    shapes: tuple[tuple[int, int], ...]
    _build: Callable[[tuple[int, int]], MatrixDomain] = field(repr=False, compare=False)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __call__(self, shape: Sequence[int] | None = None) -> MatrixDomain:
        if shape is None:
            if len(self.shapes) != 1:
                raise StrategyArgumentError(
                    f"{self.name} strategy draws {len(self.shapes)} shapes; pass one, e.g. "
                    f"domain({self.shapes[0]})")
            shape = self.shapes[0]
        key = tuple(int(s) for s in shape)
        if key not in self.shapes:
            raise StrategyArgumentError(f"shape={tuple(shape)!r} is not drawn by this {self.name} "
                                        f"strategy; pass one of {_shape_list(self.shapes)}")
        if key not in self._cache:
            self._cache[key] = self._build(key)
        return self._cache[key]

    def of(self, A) -> MatrixDomain:
        return self(np.shape(A))

    def __iter__(self) -> Iterator[MatrixDomain]:
        return (self(s) for s in self.shapes)

    def __len__(self) -> int:
        return len(self.shapes)


def domain_of(strategy) -> MatrixDomains:
    """The :class:`MatrixDomains` of a strategy built by this module.

    Parameters
    ----------
    strategy : SearchStrategy
        A strategy from this module (``gaussian_matrices``, ``psd_matrices``, ...).

    Returns
    -------
    MatrixDomains

    Raises
    ------
    StrategyArgumentError
        The strategy carries no domain.
    """
    fam = getattr(strategy, "domain", None)
    if not isinstance(fam, MatrixDomains):
        raise StrategyArgumentError(
            f"{strategy!r} carries no matrix domain; use a strategy from "
            f"theorycheck.strategies directly (.map/.filter/st.tuples drop the domain)")
    return fam


#: The domain of a real-valued leaf with no bound (for :func:`with_domains`).
REAL = (None, None)


def with_domains(strategy, **leaves):
    """Declare, for the optimiser, the domains of named leaves of a strategy that draws dicts.

    The engine's optimiser phase (``theorycheck.claims.optimise``, docs/theory.md §0.2)
    searches only the parts of an instance whose domain it knows; a value built inside
    ``st.composite`` is opaque to it.
    Naming a key here says that *every* value of that shape in the given set is an instance
    of the claim (with the other keys as drawn), so the optimiser may move it there.

    Parameters
    ----------
    strategy : SearchStrategy
        A strategy drawing dicts (e.g. an ``st.composite``).
    **leaves
        ``key=domain`` with domain :data:`REAL` (an unbounded real array or float: the
        optimiser keeps to twice the instance's largest entry), a ``(lo, hi)`` box (None for
        an unbounded side), or the ``.domain`` of a strategy of this module.

    Returns
    -------
    SearchStrategy
        ``strategy`` itself, carrying ``strategy.leaf_domains``.

    Examples
    --------
    >>> from hypothesis import strategies as st
    >>> s = with_domains(st.fixed_dictionaries({"x": st.just(1.0)}), x=REAL)
    >>> s.leaf_domains
    {'x': (None, None)}
    """
    if not leaves:
        _fail("with_domains() names no leaf; pass e.g. with_domains(s, W=REAL)")
    out = {}
    for key, dom in leaves.items():
        if isinstance(dom, MatrixDomains):
            out[key] = dom
            continue
        if not (isinstance(dom, tuple) and len(dom) == 2):
            _fail(f"{key}={dom!r} is invalid: not a domain; pass REAL, a (lo, hi) box or a "
                  f"strategy's .domain")
        lo = None if dom[0] is None else _real(f"{key} lower bound", dom[0])
        hi = None if dom[1] is None else _real(f"{key} upper bound", dom[1])
        if lo is not None and hi is not None and not lo < hi:
            _fail(f"{key}={dom!r} is invalid: lower bound {lo!r} >= upper bound {hi!r}; pass "
                  f"(lo, hi) with lo < hi")
        out[key] = (lo, hi)
    strategy.leaf_domains = out
    return strategy


def _shape_list(shapes) -> str:
    return ", ".join(map(str, shapes[:6])) + (", ..." if len(shapes) > 6 else "")


# ------------------------------------------------------------------------- validation


def _fail(msg: str):
    raise StrategyArgumentError(msg)


def _sides(name: str, value, low: int = 1) -> tuple[int, int]:
    """An int or (min, max) pair of ints in [low, MAX_SIDE]."""
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)
    if is_int(value):
        lo = hi = int(value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(map(is_int, value)):
        lo, hi = int(value[0]), int(value[1])
    else:
        _fail(f"{name}={value!r} is invalid: not an int or a (min, max) pair of ints; pass e.g. "
              f"{name}=3 or {name}=(1, 4)")
    if lo < low:
        _fail(f"{name}={value!r} is invalid: sides must be >= {low}; pass e.g. {name}=({low}, "
              f"{max(hi, low)})")
    if hi < lo:
        _fail(f"{name}={value!r} is invalid: min {lo} > max {hi}; pass {name}=({hi}, {lo})")
    if hi > MAX_SIDE:
        _fail(f"{name}={value!r} is invalid: sides above {MAX_SIDE} overrun hypothesis's "
              f"per-example buffer; pass a max <= {MAX_SIDE}")
    return lo, hi


def _real(name: str, value, *, positive: bool = False, minimum: float | None = None,
          maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        _fail(f"{name}={value!r} is invalid: not a real number; pass a finite float")
    v = float(value)
    if not math.isfinite(v):
        _fail(f"{name}={value!r} is invalid: not finite; pass a finite float")
    if positive and v <= 0:
        _fail(f"{name}={value!r} is invalid: must be > 0; pass e.g. {name}=1.0")
    if minimum is not None and v < minimum:
        _fail(f"{name}={value!r} is invalid: below {minimum:g}; pass {name} >= {minimum:g}")
    if maximum is not None and v > maximum:
        _fail(f"{name}={value!r} is invalid: above {maximum:g}; pass {name} <= {maximum:g}")
    return v


def _scale(name: str, value) -> float:
    return _real(name, value, positive=True, minimum=MIN_SCALE, maximum=MAX_SCALE)


def _shapes(rows: tuple[int, int], cols: tuple[int, int] | None) -> tuple[tuple[int, int], ...]:
    if cols is None:
        return tuple((n, n) for n in range(rows[0], rows[1] + 1))
    return tuple((r, c) for r in range(rows[0], rows[1] + 1) for c in range(cols[0], cols[1] + 1))


def _shape_strategy(rows, cols):
    if cols is None:
        return st.integers(*rows).map(lambda n: (n, n))
    return st.tuples(st.integers(*rows), st.integers(*cols))


# ------------------------------------------------------------------- raw draws (bytes)


def _decode(raw: bytes) -> np.ndarray:
    """3 bytes per value -> integers z in [0, 2**24), big-endian so that shrinking bytes
    shrinks z."""
    b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int64)
    return (b[:, 0] << 16) | (b[:, 1] << 8) | b[:, 2]


def _signed(draw, count: int) -> np.ndarray:
    """``count`` values in [-1, 1] on a 2**-23 grid (zigzag order: shrinks toward 0)."""
    z = _decode(draw(st.binary(min_size=3 * count, max_size=3 * count)))
    mag = ((z + 1) // 2).astype(np.float64) / _GRID
    return np.where(z % 2 == 1, -mag, mag)


def _unit(draw, count: int) -> np.ndarray:
    """``count`` values in [0, 1) on a 2**-24 grid (shrinks toward 0)."""
    return _decode(draw(st.binary(min_size=3 * count, max_size=3 * count))).astype(np.float64) / 2.0 ** 24


def _gaussian(draw, shape) -> np.ndarray:
    """Box-Muller on grid uniforms: N(0, 1)-like entries, |x| <= 5.8, shrinking toward 0."""
    count = int(np.prod(shape))
    u = _unit(draw, 2 * count)
    r = np.sqrt(-2.0 * np.log1p(-u[:count]))
    return (r * np.cos(2.0 * np.pi * u[count:])).reshape(shape)


def _haar(draw, n: int) -> np.ndarray:
    """Q of the QR of a Gaussian-like matrix, signs fixed so that diag(R) > 0 (Haar-like)."""
    if n == 1:
        return np.ones((1, 1))
    G = _gaussian(draw, (n, n))
    if np.linalg.matrix_rank(G) < n:    # shrunk draws (zeros) are rank-deficient
        G = G + np.eye(n)
    Q, R = np.linalg.qr(G)
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def _case(names_weights: Sequence[tuple[str, int]]):
    return st.sampled_from([n for n, w in names_weights for _ in range(w)])


def _sylvester(n: int) -> np.ndarray | None:
    """Sylvester's Hadamard matrix when n is a power of two, else None."""
    if n & (n - 1):
        return None
    H = np.ones((1, 1))
    while H.shape[0] < n:
        H = np.block([[H, H], [H, -H]])
    return H


def _sign_extreme(n: int) -> np.ndarray:
    """A +-1 matrix of large |det|: Hadamard for n = 1, 2, 4, 8, ...; J - 2I otherwise (the
    maximum for n = 3 and 5: |det| = 4 and 48)."""
    H = _sylvester(n)
    return H if H is not None else np.ones((n, n)) - 2.0 * np.eye(n)


def _shuffle_signs(draw, M: np.ndarray) -> np.ndarray:
    """M with rows and columns permuted and sign-flipped (|det| and the spectrum of |M| kept)."""
    r, c = M.shape
    pr = draw(st.permutations(range(r)))
    pc = draw(st.permutations(range(c)))
    sr = np.where(_unit(draw, r) < 0.5, 1.0, -1.0)
    sc = np.where(_unit(draw, c) < 0.5, 1.0, -1.0)
    return (M[np.ix_(pr, pc)] * sr[:, None]) * sc[None, :]


def _attach(strategy, family: MatrixDomains):
    strategy.domain = family
    # st.tuples, st.one_of and friends keep the strategy hypothesis builds lazily, not this
    # wrapper: the domain rides on both, so that it survives composition
    inner = getattr(strategy, "wrapped_strategy", None)
    if inner is not None and inner is not strategy:
        inner.domain = family
    return strategy


def _sym(A: np.ndarray) -> np.ndarray:
    return (A + A.T) / 2.0


# ----------------------------------------------------------------------- linear algebra


def _skew(theta: np.ndarray, n: int) -> np.ndarray:
    S = np.zeros((n, n))
    S[np.triu_indices(n, 1)] = theta
    return S - S.T


def _expm_skew(S: np.ndarray) -> np.ndarray:
    """exp(S) for real skew S, via the Hermitian eigendecomposition of -iS (orthogonal to
    ~1e-15)."""
    n = S.shape[0]
    if n == 1:
        return np.ones((1, 1))
    lam, V = np.linalg.eigh(-1j * S)
    return ((V * np.exp(1j * lam)) @ V.conj().T).real


def _log_special_orthogonal(Q: np.ndarray) -> np.ndarray | None:
    """A real skew S with exp(S) = Q for Q in SO(n), or None (eigenvalue -1, or Q not
    orthogonal)."""
    n = Q.shape[0]
    if n == 1:
        return np.zeros((1, 1)) if Q[0, 0] > 0 else None
    # C = sym(Q) and K = skew(Q) commute (Q is normal); a generic real combination of C and
    # -iK is Hermitian with the eigenvectors of Q and (generically) distinct eigenvalues
    a = 0.7390851332151607
    C, K = (Q + Q.T) / 2.0, (Q - Q.T) / 2.0
    _, V = np.linalg.eigh(math.cos(a) * C + math.sin(a) * (-1j * K))
    D = V.conj().T @ Q @ V
    phi = np.angle(np.diag(D))
    L = (V * (1j * phi)) @ V.conj().T
    if np.abs(L.imag).max() > 1e-8:
        return None
    S = (L.real - L.real.T) / 2.0
    if np.abs(_expm_skew(S) - Q).max() > 1e-8 * n:
        return None
    return S


def _polar(A: np.ndarray) -> np.ndarray:
    U, _, Vt = np.linalg.svd(A)
    return U @ Vt


def _tol(A: np.ndarray, tol: float) -> float:
    """Absolute slack: tol times A's scale plus the rounding of a float64 computation on it."""
    scale = max(1.0, float(np.abs(A).max()) if A.size else 1.0)
    return tol * scale + 64 * _EPS * max(A.shape) * scale


# --------------------------------------------------------------------------- box family


def box_matrices(rows, cols=None, *, min_value: float = -1.0, max_value: float = 1.0):
    """Matrices with entries in ``[min_value, max_value]``.

    Parameters
    ----------
    rows : int or (int, int)
        Number of rows, or an inclusive range to draw it from (1 to 32).
    cols : int or (int, int), optional
        Number of columns, or a range; None (default) draws square matrices.
    min_value, max_value : float
        Entry bounds, finite, ``min_value < max_value``.

    Returns
    -------
    SearchStrategy of ndarray
        ``float64`` arrays; ``.domain`` is their :class:`MatrixDomains`.

    Corner cases (about half of all draws)
        the zero matrix (the midpoint matrix when 0 is outside the box); a box vertex
        (every entry at a bound, random pattern); a Hadamard-like vertex (square: Sylvester
        for n = 2^k, J - 2I otherwise, rows/columns permuted and sign-flipped: extreme |det|);
        a constant matrix (rank one); repeated rows (rank drop); a row repeated up to a 2^-30
        relative perturbation (near-singular); a single non-zero entry.

    Domain
        ``p = rows * cols``; ``from_params(theta) = c + w sin(theta)`` with ``c, w`` the box's
        centre and half-width: smooth, periodic and onto the closed box (vertices included,
        which a tanh map would never reach). ``to_params`` is ``arcsin``; ``project`` clips.

    Examples
    --------
    >>> s = box_matrices((1, 4), min_value=-1, max_value=1)
    >>> dom = s.domain((4, 4))
    >>> dom.p, dom.box
    (16, (-1.0, 1.0))
    >>> float(dom.from_params(np.full(16, np.pi / 2))[0, 0])
    1.0
    """
    rr = _sides("rows", rows)
    cr = None if cols is None else _sides("cols", cols)
    lo = _real("min_value", min_value)
    hi = _real("max_value", max_value)
    if not lo < hi:
        _fail(f"min_value={min_value!r} must be below max_value={max_value!r}; pass "
              f"min_value < max_value (for a constant matrix use st.just)")
    for name, v in (("min_value", lo), ("max_value", hi)):
        if abs(v) > MAX_SCALE:
            _fail(f"{name}={v!r} is invalid: beyond +-{MAX_SCALE:g}; pass |{name}| <= {MAX_SCALE:g}")
    if hi - lo < MIN_SCALE:
        _fail(f"max_value - min_value = {hi - lo:g} is invalid: below {MIN_SCALE:g} the grid "
              f"of entries nears subnormals; pass a box at least {MIN_SCALE:g} wide")
    c, w = (lo + hi) / 2.0, (hi - lo) / 2.0
    zero = 0.0 if lo <= 0.0 <= hi else c

    def clip(A):
        return np.clip(A, lo, hi)

    @st.composite
    def draw_box(draw):
        r, k = draw(_shape_strategy(rr, cr))
        case = draw(_case([("generic", 8), ("zero", 1), ("vertex", 1), ("extreme", 1),
                           ("constant", 1), ("repeated_rows", 1), ("near_repeated", 1),
                           ("single", 1)]))
        U = _signed(draw, r * k).reshape(r, k)
        if case == "zero":
            return np.full((r, k), zero)
        if case == "vertex":
            return np.where(U >= 0, hi, lo)
        if case == "extreme":
            S = _shuffle_signs(draw, _sign_extreme(r)) if r == k else np.where(U >= 0, 1.0, -1.0)
            return clip(c + w * S)
        if case == "constant":
            return np.full((r, k), clip(c + w * U[0, 0]))
        if case in ("repeated_rows", "near_repeated") and r > 1:
            src = draw(st.integers(0, r - 2))
            U[-1] = U[src]
            if case == "near_repeated":
                U[-1] = np.clip(U[-1] + 2.0 ** -30 * _signed(draw, k), -1.0, 1.0)
        if case == "single":
            A = np.full((r, k), zero)
            A[draw(st.integers(0, r - 1)), draw(st.integers(0, k - 1))] = hi if U[0, 0] >= 0 else lo
            return A
        return clip(c + w * U)

    def build(shape):
        return MatrixDomain(
            name="box", shape=shape, p=shape[0] * shape[1], box=(lo, hi),
            constraints=(f"{lo:g} <= A[i, j] <= {hi:g}",), exact=True, surjective=True,
            _from=lambda t: clip(c + w * np.sin(t.reshape(shape))),
            _to=lambda A: np.arcsin(np.clip((A - c) / w, -1.0, 1.0)).ravel(),
            _contains=lambda A, tol: True, _project=clip)

    return _attach(draw_box(), MatrixDomains("box", _shapes(rr, cr), build))


def log_matrices(rows, cols=None, *, min_magnitude: float = 1e-6, max_magnitude: float = 1e6,
                 allow_zero: bool = True):
    """Matrices whose non-zero entries have magnitudes log-uniform in
    ``[min_magnitude, max_magnitude]`` and random signs: wide dynamic range, no subnormals.

    Parameters
    ----------
    rows, cols : int or (int, int)
        As in :func:`box_matrices`.
    min_magnitude, max_magnitude : float
        Magnitude range, ``1e-150 <= min_magnitude <= max_magnitude <= 1e150`` (so that the
        product of two entries, as in a norm or a determinant of a 2 x 2, stays a normal
        float64).
    allow_zero : bool
        Whether entries may be exactly 0 (the zero and sparse corners).

    Returns
    -------
    SearchStrategy of ndarray
        ``.domain`` is their :class:`MatrixDomains`.

    Corner cases (about 60% of draws)
        the zero matrix and a sparse matrix (when ``allow_zero``); every entry at
        ``min_magnitude``; every entry at ``max_magnitude``; rows at wildly different scales
        (each row at the smallest or largest magnitude: ill-conditioning by scaling);
        repeated rows.

    Domain
        A relaxation (``exact=False``): ``from_params(theta) = max_magnitude sin(theta)``
        covers the box ``[-max, max]``; ``project`` snaps entries below ``min_magnitude`` to 0
        (or to +-``min_magnitude`` when zeros are not allowed). ``to_params`` is ``arcsin``.

    Examples
    --------
    >>> s = log_matrices(3, min_magnitude=1e-3, max_magnitude=1e3)
    >>> dom = s.domain()
    >>> dom.exact, dom.box
    (False, (-1000.0, 1000.0))
    """
    rr = _sides("rows", rows)
    cr = None if cols is None else _sides("cols", cols)
    lo = _real("min_magnitude", min_magnitude, positive=True)
    hi = _real("max_magnitude", max_magnitude, positive=True)
    if lo < MIN_MAGNITUDE:
        _fail(f"min_magnitude={min_magnitude!r} is invalid: below {MIN_MAGNITUDE:g}, products "
              f"of two entries underflow to subnormals; pass min_magnitude >= {MIN_MAGNITUDE:g}")
    if hi > MAX_MAGNITUDE:
        _fail(f"max_magnitude={max_magnitude!r} is invalid: above {MAX_MAGNITUDE:g}, products "
              f"of two entries overflow; pass max_magnitude <= {MAX_MAGNITUDE:g}")
    if lo > hi:
        _fail(f"min_magnitude={min_magnitude!r} exceeds max_magnitude={max_magnitude!r}; pass "
              f"min_magnitude <= max_magnitude")
    if not isinstance(allow_zero, bool):
        _fail(f"allow_zero={allow_zero!r} is invalid; pass True or False")
    llo, lhi = math.log10(lo), math.log10(hi)

    def snap(A):
        mag = np.clip(np.abs(A), lo, hi)
        sign = np.where(A < 0, -1.0, 1.0)
        if allow_zero:
            return np.where(np.abs(A) < lo / 2.0, 0.0, sign * mag)
        return sign * mag

    cases = [("generic", 4), ("all_min", 1), ("all_max", 1), ("row_scales", 1),
             ("repeated_rows", 1)] + ([("zero", 1), ("sparse", 1)] if allow_zero else [])

    @st.composite
    def draw_log(draw):
        r, k = draw(_shape_strategy(rr, cr))
        case = draw(_case(cases))
        sign = np.where(_unit(draw, r * k).reshape(r, k) < 0.5, 1.0, -1.0)
        expo = llo + (lhi - llo) * _unit(draw, r * k).reshape(r, k)
        A = sign * np.clip(10.0 ** expo, lo, hi)
        if case == "zero":
            return np.zeros((r, k))
        if case == "all_min":
            return sign * lo
        if case == "all_max":
            return sign * hi
        if case == "row_scales":
            big = _unit(draw, r) < 0.5
            return sign * np.where(big[:, None], hi, lo)
        if case == "repeated_rows" and r > 1:
            A[-1] = A[draw(st.integers(0, r - 2))]
        if case == "sparse":
            A = np.where(_unit(draw, r * k).reshape(r, k) < 0.8, 0.0, A)
        return A

    def contains(A, tol):
        mag = np.abs(A)
        ok = (mag >= lo * (1 - tol)) | ((mag == 0) if allow_zero else False)
        return bool(np.all(ok))

    def build(shape):
        return MatrixDomain(
            name="log", shape=shape, p=shape[0] * shape[1], box=(-hi, hi),
            constraints=(f"|A[i, j]| in [{lo:g}, {hi:g}]" + (" or A[i, j] == 0" if allow_zero else ""),),
            exact=False, surjective=True,
            _from=lambda t: hi * np.sin(t.reshape(shape)),
            _to=lambda A: np.arcsin(np.clip(A / hi, -1.0, 1.0)).ravel(),
            _contains=contains, _project=snap)

    return _attach(draw_log(), MatrixDomains("log", _shapes(rr, cr), build))


def gaussian_matrices(rows, cols=None, *, scale: float = 1.0):
    """Matrices with independent N(0, scale^2)-like entries (Box-Muller on hypothesis-drawn
    uniforms: bounded by 5.8 scale, shrinking toward the zero matrix).

    Parameters
    ----------
    rows, cols : int or (int, int)
        As in :func:`box_matrices`.
    scale : float
        Standard deviation of the entries, > 0.

    Returns
    -------
    SearchStrategy of ndarray
        ``.domain`` is their :class:`MatrixDomains`.

    Corner cases (about 40% of draws)
        the zero matrix; a rank-one outer product of Gaussian vectors; repeated rows; one
        row scaled by 1e-8 (near rank drop).

    Domain
        All of R^(rows x cols): ``p = rows * cols``, ``from_params`` reshapes theta,
        ``box`` is None.

    Examples
    --------
    >>> dom = gaussian_matrices(2, 3).domain()
    >>> dom.from_params(np.arange(6.0)).shape
    (2, 3)
    """
    rr = _sides("rows", rows)
    cr = None if cols is None else _sides("cols", cols)
    sc = _scale("scale", scale)

    @st.composite
    def draw_gaussian(draw):
        r, k = draw(_shape_strategy(rr, cr))
        case = draw(_case([("generic", 6), ("zero", 1), ("rank_one", 1), ("repeated_rows", 1),
                           ("small_row", 1)]))
        G = sc * _gaussian(draw, (r, k))
        if case == "zero":
            return np.zeros((r, k))
        if case == "rank_one":
            return np.outer(G[:, 0], G[0]) / sc
        if case == "repeated_rows" and r > 1:
            G[-1] = G[draw(st.integers(0, r - 2))]
        if case == "small_row":
            G[-1] *= 1e-8
        return G

    def build(shape):
        return MatrixDomain(
            name="gaussian", shape=shape, p=shape[0] * shape[1], box=None,
            constraints=("finite",), exact=True, surjective=True,
            _from=lambda t: t.reshape(shape).copy(), _to=lambda A: A.ravel().copy(),
            _contains=lambda A, tol: True, _project=lambda A: A.copy())

    return _attach(draw_gaussian(), MatrixDomains("gaussian", _shapes(rr, cr), build))


# -------------------------------------------------------------------- symmetric families


def symmetric_matrices(n, *, bound: float = 1.0):
    """Symmetric matrices with entries in ``[-bound, bound]``.

    Parameters
    ----------
    n : int or (int, int)
        Side, or a range to draw it from.
    bound : float
        Entry bound, > 0.

    Returns
    -------
    SearchStrategy of ndarray
        Exactly symmetric ``float64`` arrays; ``.domain`` is their :class:`MatrixDomains`.

    Corner cases (about half of draws)
        the zero matrix; a diagonal matrix; a multiple of the identity (one eigenvalue of
        multiplicity n); a rank-one sign pattern +-bound s s^T; a symmetric sign vertex; a
        Householder reflection bound (I - 2 v v^T) (eigenvalues +-bound: |lambda_1| =
        |lambda_n|, the power-iteration trap); Q diag(lambda) Q^T with a repeated top
        eigenvalue; the same with the top two eigenvalues 1e-9 bound apart (a near-zero
        spectral gap).

    Domain
        ``p = n (n + 1) / 2`` (the upper triangle), ``from_params = bound sin(theta)`` placed
        symmetrically; ``box = (-bound, bound)``; ``project`` symmetrises and clips.

    Examples
    --------
    >>> dom = symmetric_matrices(3).domain()
    >>> A = dom.from_params(np.linspace(-1, 1, dom.p))
    >>> bool(np.array_equal(A, A.T))
    True
    """
    nr = _sides("n", n)
    b = _scale("bound", bound)

    def spectral(draw, m, lams):
        Q = _haar(draw, m)
        return np.clip(_sym((Q * lams) @ Q.T), -b, b)

    @st.composite
    def draw_symmetric(draw):
        m = draw(st.integers(*nr))
        case = draw(_case([("generic", 8), ("zero", 1), ("diagonal", 1), ("scalar", 1),
                           ("rank_one", 1), ("vertex", 1), ("reflection", 1), ("repeated", 1),
                           ("near_gap", 1)]))
        U = _signed(draw, m * m).reshape(m, m)
        if case == "zero":
            return np.zeros((m, m))
        if case == "diagonal":
            return np.diag(b * np.diag(U))
        if case == "scalar":
            return b * U[0, 0] * np.eye(m)
        if case == "rank_one":
            s = np.where(U[0] >= 0, 1.0, -1.0)
            return (b if U[1 % m, 0] >= 0 else -b) * np.outer(s, s)
        if case == "vertex":
            V = np.where(np.triu(U) >= 0, b, -b)
            return np.triu(V) + np.triu(V, 1).T
        if case == "reflection":
            v = U[0] if np.any(U[0]) else np.ones(m)
            return np.clip(b * (np.eye(m) - 2.0 * np.outer(v, v) / (v @ v)), -b, b)
        if case == "repeated":
            lams = b * np.sort(U[0])[::-1]
            lams[: max(2, m // 2)] = lams[0]
            return spectral(draw, m, lams)
        if case == "near_gap":
            lams = b * np.sort(U[0])[::-1] * 0.5
            lams[0] = b
            if m > 1:
                lams[1] = b * (1.0 - 1e-9)
            return spectral(draw, m, lams)
        V = b * U
        return np.triu(V) + np.triu(V, 1).T

    def build(shape):
        m = shape[0]
        iu = np.triu_indices(m)

        def from_params(t):
            A = np.zeros(shape)
            A[iu] = b * np.sin(t)
            return np.triu(A) + np.triu(A, 1).T

        return MatrixDomain(
            name="symmetric", shape=shape, p=m * (m + 1) // 2, box=(-b, b),
            constraints=("A == A.T", f"|A[i, j]| <= {b:g}"), exact=True, surjective=True,
            _from=from_params, _to=lambda A: np.arcsin(np.clip(A[iu] / b, -1.0, 1.0)),
            _contains=lambda A, tol: bool(np.abs(A - A.T).max() <= _tol(A, tol)),
            _project=lambda A: np.clip(_sym(A), -b, b))

    return _attach(draw_symmetric(), MatrixDomains("symmetric", _shapes(nr, None), build))


def psd_matrices(n, *, rank: int | None = None, scale: float = 1.0):
    """Symmetric positive semidefinite matrices ``F F^T`` with ``F`` of shape ``n x r``.

    Parameters
    ----------
    n : int or (int, int)
        Side, or a range to draw it from.
    rank : int, optional
        Largest rank r (``min(rank, n)`` for each drawn n); None (default): full rank n.
    scale : float
        Largest eigenvalue of the draws is at most about ``scale`` (entries of F are in
        ``[-sqrt(scale / r), sqrt(scale / r)]``), > 0.

    Returns
    -------
    SearchStrategy of ndarray
        Exactly symmetric arrays with eigenvalues >= 0 up to rounding (about 1e-16 scale);
        ``.domain`` is their :class:`MatrixDomains`.

    Corner cases (about half of draws)
        the zero matrix; rank one; a rank drop (one column of F zeroed); ``scale`` times the
        identity or an orthogonal projector (one repeated eigenvalue); ill-conditioned:
        eigenvalues geometric from ``scale`` down to ``1e-12 scale``; singular with a
        ``1e-12``-relative eigenvalue next to an exact 0.

    Domain
        ``p = n r``; ``from_params(theta) = F F^T`` with ``F = theta.reshape(n, r)`` (onto
        the PSD matrices of rank <= r; ``box`` None); ``to_params`` takes ``F = V sqrt(L)``
        from the top r eigenpairs (exact on the domain); ``project`` clips eigenvalues at 0
        and keeps the top r.

    Examples
    --------
    >>> dom = psd_matrices(4, rank=2).domain()
    >>> dom.p
    8
    >>> bool(np.linalg.eigvalsh(dom.from_params(np.ones(8))).min() > -1e-12)
    True
    """
    nr = _sides("n", n)
    if rank is not None:
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or rank < 1:
            _fail(f"rank={rank!r} is invalid: pass a positive int (or None for full rank)")
        rank = int(rank)
    sc = _scale("scale", scale)

    def r_of(m):
        return m if rank is None else min(rank, m)

    @st.composite
    def draw_psd(draw):
        m = draw(st.integers(*nr))
        r = r_of(m)
        case = draw(_case([("generic", 6), ("zero", 1), ("rank_one", 1), ("rank_drop", 1),
                           ("projector", 1), ("ill_conditioned", 1), ("singular_edge", 1)]))
        F = math.sqrt(sc / r) * _signed(draw, m * r).reshape(m, r)
        if case == "zero":
            return np.zeros((m, m))
        if case == "rank_one":
            F = F[:, :1] * math.sqrt(r)
        elif case == "rank_drop" and r > 1:
            F[:, draw(st.integers(0, r - 1))] = 0.0
        elif case in ("projector", "ill_conditioned", "singular_edge"):
            Q = _haar(draw, m)[:, :r]
            if case == "projector":
                lams = np.full(r, sc)
            elif case == "ill_conditioned":
                lams = sc * np.geomspace(1.0, 1e-12, r)
            else:
                lams = np.zeros(r)
                lams[0] = sc
                if r > 1:
                    lams[1] = 1e-12 * sc
            return _sym((Q * lams) @ Q.T)
        return _sym(F @ F.T)

    def build(shape):
        m = shape[0]
        r = r_of(m)

        def to_params(A):
            lam, V = np.linalg.eigh(_sym(A))
            lam, V = np.clip(lam[::-1][:r], 0.0, None), V[:, ::-1][:, :r]
            return (V * np.sqrt(lam)).ravel()

        def contains(A, tol):
            if np.abs(A - A.T).max() > _tol(A, tol):
                return False
            lam = np.linalg.eigvalsh(_sym(A))[::-1]
            slack = _tol(A, tol)
            return bool(lam[-1] >= -slack and (r == m or np.all(np.abs(lam[r:]) <= slack)))

        def project(A):
            lam, V = np.linalg.eigh(_sym(A))
            lam, V = np.clip(lam[::-1][:r], 0.0, None), V[:, ::-1][:, :r]
            return _sym((V * lam) @ V.T)

        return MatrixDomain(
            name="psd", shape=shape, p=m * r, box=None,
            constraints=("A == A.T", "eigenvalues >= 0") + ((f"rank <= {r}",) if r < m else ()),
            exact=True, surjective=True,
            _from=lambda t: _sym(t.reshape(m, r) @ t.reshape(m, r).T), _to=to_params,
            _contains=contains, _project=project)

    return _attach(draw_psd(), MatrixDomains("psd", _shapes(nr, None), build))


def trace_free_matrices(n, *, bound: float = 1.0):
    """Square matrices with trace 0: ``M - (tr M / n) I`` for M with entries in
    ``[-bound, bound]`` (off-diagonal entries stay in the box, diagonal ones within
    ``2 bound``).

    Parameters
    ----------
    n : int or (int, int)
        Side, or a range to draw it from (n = 1 gives the zero matrix).
    bound : float
        Entry bound of M, > 0.

    Returns
    -------
    SearchStrategy of ndarray
        ``.domain`` is their :class:`MatrixDomains`.

    Corner cases (about 40% of draws)
        the zero matrix; a nilpotent (strictly upper triangular) matrix: all eigenvalues 0
        but A != 0; a skew-symmetric matrix; a trace-free diagonal; a rank-one nilpotent
        ``u v^T`` with ``v . u = 0``.

    Domain
        ``p = n^2 - 1``: theta fills every entry but ``A[n-1, n-1]``, which is minus the sum
        of the other diagonal entries; ``box`` None; ``project`` subtracts ``tr A / n``.

    Examples
    --------
    >>> dom = trace_free_matrices(3).domain()
    >>> float(np.trace(dom.from_params(np.arange(8.0))))
    0.0
    """
    nr = _sides("n", n)
    b = _scale("bound", bound)

    def free(M):
        m = M.shape[0]
        A = M - np.trace(M) / m * np.eye(m)
        A[-1, -1] = -np.sum(np.diag(A)[:-1])
        return A

    @st.composite
    def draw_trace_free(draw):
        m = draw(st.integers(*nr))
        case = draw(_case([("generic", 6), ("zero", 1), ("nilpotent", 1), ("skew", 1),
                           ("diagonal", 1), ("rank_one_nilpotent", 1)]))
        M = b * _signed(draw, m * m).reshape(m, m)
        if case == "zero" or m == 1:
            return np.zeros((m, m))
        if case == "nilpotent":
            return np.triu(M, 1)
        if case == "skew":
            return (M - M.T) / 2.0
        if case == "diagonal":
            return free(np.diag(np.diag(M)))
        if case == "rank_one_nilpotent":
            u, v = M[0].copy(), M[1].copy()
            if u @ u > 0:
                v = v - (v @ u) / (u @ u) * u
            A = np.outer(u, v)
            return free(A)
        return free(M)

    def build(shape):
        m = shape[0]
        mask = np.ones(shape, dtype=bool)
        mask[-1, -1] = False

        def from_params(t):
            A = np.zeros(shape)
            A[mask] = t
            A[-1, -1] = -np.trace(A)
            return A

        return MatrixDomain(
            name="trace_free", shape=shape, p=m * m - 1, box=None,
            constraints=("trace(A) == 0",), exact=True, surjective=True,
            _from=from_params, _to=lambda A: A[mask].copy(),
            _contains=lambda A, tol: bool(abs(np.trace(A)) <= _tol(A, tol) * m),
            _project=lambda A: free(A.copy()))

    return _attach(draw_trace_free(), MatrixDomains("trace_free", _shapes(nr, None), build))


# ------------------------------------------------------------------ orthogonal families


def orthogonal_matrices(n, *, det: int | None = None):
    """Orthogonal matrices (``Q^T Q = I``), Haar-like by default.

    Parameters
    ----------
    n : int or (int, int)
        Side, or a range to draw it from.
    det : {None, 1, -1}
        Restrict to rotations (+1) or reflections (-1); None draws both.

    Returns
    -------
    SearchStrategy of ndarray
        ``float64`` arrays orthogonal to about 1e-15; ``.domain`` is their
        :class:`MatrixDomains`.

    Corner cases (about 60% of draws)
        the identity; minus the identity; a permutation; a signed permutation; a
        Householder reflection (det -1); a half-turn in a random plane (eigenvalue -1 twice,
        det +1: where the matrix logarithm is not unique); a rotation 1e-8 from the identity.
        Generic draws are the Q of a QR of a Gaussian-like matrix with signs fixed
        (diag R > 0), which is Haar distributed for exactly Gaussian input. With ``det`` set,
        a draw of the other sign has its first column negated.

    Domain
        ``p = n (n - 1) / 2``; ``from_params(theta) = expm(skew(theta))`` (times
        ``diag(-1, 1, ..., 1)`` when ``det=-1``), computed from the Hermitian
        eigendecomposition of ``-i skew(theta)``; ``to_params`` is the matrix logarithm (None
        at an eigenvalue -1, where it is not unique, or for the other determinant);
        ``project`` is the polar factor (with ``det`` enforced). With ``det=None`` the chart
        covers the rotations only (``surjective=False``).

    Examples
    --------
    >>> dom = orthogonal_matrices(3).domain()
    >>> Q = dom.from_params(np.array([0.1, -2.0, 0.5]))
    >>> bool(np.allclose(Q.T @ Q, np.eye(3)))
    True
    >>> bool(np.allclose(dom.from_params(dom.to_params(Q)), Q))
    True
    """
    nr = _sides("n", n)
    if det not in (None, 1, -1) or isinstance(det, bool):
        _fail(f"det={det!r} is invalid; pass None (both), 1 (rotations) or -1 (reflections)")

    @st.composite
    def draw_orthogonal(draw):
        m = draw(st.integers(*nr))
        case = draw(_case([("generic", 5), ("identity", 1), ("minus_identity", 1),
                           ("permutation", 1), ("signed_permutation", 1), ("householder", 1),
                           ("half_turn", 1), ("near_identity", 1)]))
        if case == "identity":
            Q = np.eye(m)
        elif case == "minus_identity":
            Q = -np.eye(m)
        elif case in ("permutation", "signed_permutation"):
            Q = np.eye(m)[list(draw(st.permutations(range(m))))]
            if case == "signed_permutation":
                Q = Q * np.where(_unit(draw, m) < 0.5, 1.0, -1.0)
        elif case == "householder":
            v = _gaussian(draw, (m,))
            v = v if v @ v > 0 else np.ones(m)
            Q = np.eye(m) - 2.0 * np.outer(v, v) / (v @ v)
        elif case == "half_turn" and m > 1:
            P = _haar(draw, m)[:, :2]
            Q = np.eye(m) - 2.0 * P @ P.T
        elif case == "near_identity":
            Q = _expm_skew(1e-8 * _skew(_signed(draw, m * (m - 1) // 2), m))
        else:
            Q = _haar(draw, m)
        if det is not None and np.linalg.det(Q) * det < 0:
            Q = Q.copy()
            Q[:, 0] = -Q[:, 0]
        return Q

    def build(shape):
        m = shape[0]
        iu = np.triu_indices(m, 1)
        R = np.eye(m)
        if det == -1:
            R[0, 0] = -1.0

        def from_params(t):
            return _expm_skew(_skew(t, m)) @ R

        def to_params(Q):
            S = _log_special_orthogonal(Q @ R)
            return None if S is None else S[iu].copy()

        def contains(Q, tol):
            if np.abs(Q.T @ Q - np.eye(m)).max() > tol + 64 * _EPS * m:
                return False
            return det is None or np.linalg.det(Q) * det > 0

        def project(A):
            Q = _polar(A)
            if det is not None and np.linalg.det(Q) * det < 0:
                U, _, Vt = np.linalg.svd(A)
                U[:, -1] = -U[:, -1]
                Q = U @ Vt
            return Q

        return MatrixDomain(
            name="orthogonal", shape=shape, p=m * (m - 1) // 2, box=(-1.0, 1.0),
            constraints=("A.T @ A == I",) + (() if det is None else (f"det(A) == {det}",)),
            exact=True, surjective=det is not None,
            _from=from_params, _to=to_params, _contains=contains, _project=project)

    return _attach(draw_orthogonal(), MatrixDomains("orthogonal", _shapes(nr, None), build))


def low_rank_matrices(rows, cols=None, *, rank=1, scale: float = 1.0):
    """Matrices ``U V^T`` of rank at most r, from factors ``U`` (rows x r) and ``V`` (cols x r).

    Parameters
    ----------
    rows, cols : int or (int, int)
        As in :func:`box_matrices`.
    rank : int or (int, int)
        Rank r, or a range to draw it from; each draw uses ``min(r, rows, cols)``.
    scale : float
        Factor entries are in ``[-sqrt(scale), sqrt(scale)]``, > 0.

    Returns
    -------
    SearchStrategy of ndarray
        ``.domain`` is their :class:`MatrixDomains`.

    Corner cases (about half of draws)
        the zero matrix; rank r - 1 (a factor column zeroed); near rank r - 1 (a factor
        column scaled by 1e-10); repeated rows (equal rows of U); aligned factors (every
        column of U equal: rank one whatever r).

    Domain
        For a shape, the matrices of rank <= r_max (the largest rank the strategy draws
        there): ``p = r_max (rows + cols)``, ``from_params(theta) = U V^T`` with ``U, V``
        unpacked from theta; ``to_params`` splits the truncated SVD as ``U sqrt(S)``,
        ``V sqrt(S)``; ``project`` is the truncated SVD.

    Examples
    --------
    >>> dom = low_rank_matrices(4, 5, rank=2).domain()
    >>> dom.p
    18
    >>> int(np.linalg.matrix_rank(dom.from_params(np.arange(18.0))))
    2
    """
    rr = _sides("rows", rows)
    cr = None if cols is None else _sides("cols", cols)
    kr = _sides("rank", rank)
    sc = _scale("scale", scale)
    root = math.sqrt(sc)

    @st.composite
    def draw_low_rank(draw):
        r, c = draw(_shape_strategy(rr, cr))
        k = min(draw(st.integers(*kr)), r, c)
        case = draw(_case([("generic", 5), ("zero", 1), ("rank_drop", 1), ("near_rank_drop", 1),
                           ("repeated_rows", 1), ("aligned", 1)]))
        U = root * _signed(draw, r * k).reshape(r, k)
        V = root * _signed(draw, c * k).reshape(c, k)
        if case == "zero":
            return np.zeros((r, c))
        if case == "rank_drop":
            U[:, -1] = 0.0
        elif case == "near_rank_drop":
            U[:, -1] *= 1e-10
        elif case == "repeated_rows" and r > 1:
            U[-1] = U[draw(st.integers(0, r - 2))]
        elif case == "aligned":
            U[:] = U[:, :1]
        return U @ V.T

    def build(shape):
        r, c = shape
        k = min(kr[1], r, c)

        def from_params(t):
            return t[: r * k].reshape(r, k) @ t[r * k:].reshape(c, k).T

        def to_params(A):
            Us, s, Vt = np.linalg.svd(A, full_matrices=False)
            root_s = np.sqrt(s[:k])
            return np.concatenate([(Us[:, :k] * root_s).ravel(), (Vt[:k].T * root_s).ravel()])

        def contains(A, tol):
            s = np.linalg.svd(A, compute_uv=False)
            return bool(len(s) <= k or s[k] <= (tol + 64 * _EPS * max(r, c)) * s[0])

        def project(A):
            Us, s, Vt = np.linalg.svd(A, full_matrices=False)
            return (Us[:, :k] * s[:k]) @ Vt[:k]

        return MatrixDomain(
            name="low_rank", shape=shape, p=k * (r + c), box=None,
            constraints=(f"rank(A) <= {k}",), exact=True, surjective=True,
            _from=from_params, _to=to_params, _contains=contains, _project=project)

    return _attach(draw_low_rank(), MatrixDomains("low_rank", _shapes(rr, cr), build))


def conditioned_matrices(rows, cols=None, *, cond=(10.0, 1e12), scale: float = 1.0):
    """Matrices ``U diag(sigma) V^T`` with largest singular value ``scale`` and a chosen
    condition number ``sigma_max / sigma_min``: near-singular on purpose.

    Parameters
    ----------
    rows, cols : int or (int, int)
        As in :func:`box_matrices`. With ``min(rows, cols) = 1`` there is one singular
        value and the condition number is 1 whatever ``cond`` says.
    cond : float or (float, float)
        Condition number, or a range to draw it from (log-uniformly, with extra mass at both
        ends); ``1 <= cond <= 1e15``.
    scale : float
        Largest singular value, > 0.

    Returns
    -------
    SearchStrategy of ndarray
        ``.domain`` is their :class:`MatrixDomains`.

    Corner cases
        cond at the top of its range (a third of draws) and at the bottom (a sixth);
        singular values geometric; all equal to ``scale`` but the last (near rank drop by
        one); all at ``sigma_min`` but the first (near rank one); two clusters; log-uniform.
        ``U`` and ``V`` are Haar-like, or the identity in a sixth of draws (a diagonal matrix:
        ill-conditioned without any rotation to hide it).

    Domain
        ``U`` from ``expm(skew)`` on SO(rows) (first k = min(rows, cols) columns), ``V`` on
        SO(cols); interior singular values ``scale * exp(-t (1 + sin(theta_i)) / 2)`` with
        ``t = log(cond)``; and, when cond is a range, ``log cond`` itself through a sine
        onto the range. ``p = rows (rows-1)/2 + cols (cols-1)/2 + max(k - 2, 0) + [1]``.
        ``to_params`` is None (no cheap inverse); ``project`` clips the singular values into
        the allowed band.

    Examples
    --------
    >>> dom = conditioned_matrices(3, cond=1e8).domain()
    >>> s = np.linalg.svd(dom.from_params(np.ones(dom.p)), compute_uv=False)
    >>> round(float(s[0] / s[-1]) / 1e8, 3)
    1.0
    """
    rr = _sides("rows", rows)
    cr = None if cols is None else _sides("cols", cols)
    if isinstance(cond, (tuple, list)) and len(cond) == 2:
        clo = _real("cond[0]", cond[0], minimum=1.0, maximum=MAX_COND)
        chi = _real("cond[1]", cond[1], minimum=1.0, maximum=MAX_COND)
        if clo > chi:
            _fail(f"cond={cond!r} is invalid: min {clo:g} > max {chi:g}; pass cond=({chi:g}, {clo:g})")
    elif isinstance(cond, (tuple, list)):
        _fail(f"cond={cond!r} is invalid: pass a float or a (min, max) pair")
    else:
        if isinstance(cond, (int, float, np.integer, np.floating)) and not isinstance(cond, bool) \
                and math.isfinite(float(cond)) and float(cond) > MAX_COND:
            _fail(f"cond={cond!r} is invalid: above {MAX_COND:g} sigma_min is below float64 "
                  f"resolution of sigma_max; pass cond <= {MAX_COND:g}")
        clo = chi = _real("cond", cond, minimum=1.0, maximum=MAX_COND)
    sc = _scale("scale", scale)
    llo, lhi = math.log(clo), math.log(chi)

    @st.composite
    def draw_conditioned(draw):
        r, c = draw(_shape_strategy(rr, cr))
        k = min(r, c)
        which = draw(_case([("top", 2), ("bottom", 1), ("inside", 3)]))
        t = lhi if which == "top" else llo if which == "bottom" else \
            llo + (lhi - llo) * float(_unit(draw, 1)[0])
        pattern = draw(_case([("geometric", 2), ("one_small", 1), ("one_big", 1),
                              ("clusters", 1), ("loguniform", 1)]))
        frac = np.linspace(0.0, 1.0, k) if k > 1 else np.zeros(1)
        if pattern == "one_small":
            frac = np.r_[np.zeros(k - 1), 1.0] if k > 1 else frac
        elif pattern == "one_big":
            frac = np.r_[0.0, np.ones(k - 1)]
        elif pattern == "clusters":
            frac = (np.arange(k) >= (k + 1) // 2).astype(float)
            frac[0], frac[-1] = 0.0, 1.0 if k > 1 else 0.0
        elif pattern == "loguniform" and k > 2:
            frac = np.r_[0.0, np.sort(_unit(draw, k - 2)), 1.0]
        sigma = sc * np.exp(-t * frac) if k > 1 else np.array([sc])
        if draw(_case([("haar", 5), ("axes", 1)])) == "axes":
            U, V = np.eye(r), np.eye(c)
        else:
            U, V = _haar(draw, r), _haar(draw, c)
        return (U[:, :k] * sigma) @ V[:, :k].T

    def build(shape):
        r, c = shape
        k = min(r, c)
        pu, pv = r * (r - 1) // 2, c * (c - 1) // 2
        pm = max(k - 2, 0)
        pc = 1 if (chi > clo and k > 1) else 0

        def from_params(th):
            U = _expm_skew(_skew(th[:pu], r))
            V = _expm_skew(_skew(th[pu:pu + pv], c))
            if k == 1:
                sigma = np.array([sc])
            else:
                t = (llo + (lhi - llo) * (1.0 + math.sin(th[-1])) / 2.0) if pc else lhi
                mid = (1.0 + np.sin(th[pu + pv:pu + pv + pm])) / 2.0
                sigma = sc * np.exp(-t * np.r_[0.0, mid, 1.0])
            return (U[:, :k] * sigma) @ V[:, :k].T

        def band(tol):
            slack = tol + 64 * _EPS * max(r, c) * chi
            return (1.0 if k == 1 else clo * (1 - slack)), (1.0 if k == 1 else chi * (1 + slack))

        def contains(A, tol):
            s = np.linalg.svd(A, compute_uv=False)
            if abs(s[0] - sc) > (tol + 64 * _EPS * max(r, c)) * sc or s[-1] <= 0:
                return False
            lo_, hi_ = band(tol)
            return bool(lo_ <= s[0] / s[-1] <= hi_)

        def project(A):
            Us, s, Vt = np.linalg.svd(A, full_matrices=False)
            if k == 1:
                s = np.array([sc])
            else:
                s = sc * s / s[0] if s[0] > 0 else np.full(k, sc)
                s = np.clip(s, sc / chi, sc / clo)
                s[0] = sc
                if s[0] / s[-1] < clo:
                    s[-1] = sc / clo
            return (Us * s) @ Vt

        cons = ("cond(A) == 1",) if k == 1 else (
            (f"cond(A) in [{clo:g}, {chi:g}]",) if pc else (f"cond(A) == {chi:g}",))
        return MatrixDomain(
            name="conditioned", shape=shape, p=pu + pv + pm + pc, box=None,
            constraints=(f"||A||_2 == {sc:g}",) + cons, exact=True, surjective=True,
            _from=from_params, _to=None, _contains=contains, _project=project)

    return _attach(draw_conditioned(), MatrixDomains("conditioned", _shapes(rr, cr), build))


# -------------------------------------------------------------------------- sign family


def sign_matrices(rows, cols=None):
    """Matrices with entries +1 and -1.

    Parameters
    ----------
    rows, cols : int or (int, int)
        As in :func:`box_matrices`.

    Returns
    -------
    SearchStrategy of ndarray
        ``float64`` arrays of +-1; ``.domain`` is their :class:`MatrixDomains`.

    Corner cases (about 60% of draws)
        all ones; all minus ones; rank one ``x y^T`` (checkerboards included); repeated rows
        (singular); an extreme sign pattern (square: Hadamard for n = 2^k, J - 2I otherwise,
        with rows and columns permuted and sign-flipped: the largest |det| for n = 1-5).

    Domain
        A relaxation (``exact=False``): ``from_params = sin(theta)`` covers the box
        ``[-1, 1]``, whose vertices are the sign matrices (a function multilinear in the
        entries, like det, attains its box maximum at a vertex); ``project`` rounds to signs
        (0 -> +1); ``to_params`` is ``arcsin`` (``+-pi/2``).

    Examples
    --------
    >>> dom = sign_matrices(4).domain()
    >>> dom.project(dom.from_params(np.linspace(-1, 1, 16)))[0]
    array([-1., -1., -1., -1.])
    """
    rr = _sides("rows", rows)
    cr = None if cols is None else _sides("cols", cols)

    def signs(A):
        return np.where(A >= 0, 1.0, -1.0)

    @st.composite
    def draw_sign(draw):
        r, k = draw(_shape_strategy(rr, cr))
        case = draw(_case([("generic", 4), ("ones", 1), ("minus_ones", 1), ("rank_one", 1),
                           ("repeated_rows", 1), ("extreme", 2)]))
        U = _unit(draw, r * k).reshape(r, k)
        S = np.where(U < 0.5, 1.0, -1.0)
        if case == "ones":
            return np.ones((r, k))
        if case == "minus_ones":
            return -np.ones((r, k))
        if case == "rank_one":
            return np.outer(S[:, 0], S[0])
        if case == "repeated_rows" and r > 1:
            S[-1] = S[draw(st.integers(0, r - 2))]
        if case == "extreme" and r == k:
            return _shuffle_signs(draw, _sign_extreme(r))
        return S

    def build(shape):
        return MatrixDomain(
            name="sign", shape=shape, p=shape[0] * shape[1], box=(-1.0, 1.0),
            constraints=("A[i, j] in {-1, +1}",), exact=False, surjective=True,
            _from=lambda t: np.sin(t.reshape(shape)),
            _to=lambda A: np.arcsin(np.clip(A, -1.0, 1.0)).ravel(),
            _contains=lambda A, tol: bool(np.all(np.abs(np.abs(A) - 1.0) <= tol)),
            _project=signs)

    return _attach(draw_sign(), MatrixDomains("sign", _shapes(rr, cr), build))
