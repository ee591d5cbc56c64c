"""Optimisers on a flat parameter vector, in the optax style, and step-size schedules.

An :class:`Optimiser` is a pair of pure pieces: ``state = opt.init(params)``, then
``updates, state = opt.update(grads, state, scale)`` and ``apply_updates(params, updates)``.
``scale`` is the step size, a number or an array (e.g. the learning rate times a 0/1 mask of
the trained entries, so a frozen entry keeps its exact bits). The state is plain arrays and
a step count, so a run can checkpoint it as JSON and resume bit for bit.

Adam (docs/theory.md §1.6b): m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2, and the update
scale * m_hat / (sqrt(v_hat) + eps) with the bias corrections m_hat = m / (1 - b1^t),
v_hat = v / (1 - b2^t).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from theorycheck.validation import check_choice, check_real

OPTIMISERS = ("adam", "sgd")
SCHEDULES = ("cosine", "constant")


@dataclass
class OptState:
    """Step count and moment arrays (Adam: the first and second moments; SGD: none)."""

    count: int
    moments: tuple[np.ndarray, ...] = ()


@dataclass(frozen=True)
class Optimiser:
    """``init(params) -> OptState`` and ``update(grads, state, scale) -> (updates, OptState)``;
    ``hyper``: the settings (Adam: ``b1``, ``b2``, ``eps`` and the complements ``c1``, ``c2``),
    for kernels that apply the same update inside their own loop (:func:`adam_pass_jit`)."""

    name: str
    init: Callable[[np.ndarray], OptState]
    update: Callable[[np.ndarray, OptState, "float | np.ndarray"], "tuple[np.ndarray, OptState]"]
    hyper: Mapping[str, float] = field(default_factory=dict)


def _complement(b: float) -> float:
    """1 - b rounded to 15 significant digits: 0.1 for b = 0.9, not 0.09999999999999998."""
    return float(f"{1.0 - b:.15g}")


def adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-12) -> Optimiser:
    """Adam with bias correction; the moments are updated in place.

    Parameters
    ----------
    b1, b2 : float
        Decay rates of the first and second moments, in [0, 1).
    eps : float
        Added to sqrt(v_hat).

    Returns
    -------
    Optimiser

    Examples
    --------
    >>> opt = adam()
    >>> theta = np.array([1.0, -1.0])
    >>> state = opt.init(theta)
    >>> updates, state = opt.update(np.array([0.5, -2.0]), state, 0.1)
    >>> apply_updates(theta, updates)
    array([ 0.9, -0.9])
    """
    b1 = check_real("b1", b1, min_value=0.0, max_value=1.0)
    b2 = check_real("b2", b2, min_value=0.0, max_value=1.0)
    eps = check_real("eps", eps, positive=True)
    c1, c2 = _complement(b1), _complement(b2)

    def init(params: np.ndarray) -> OptState:
        return OptState(0, (np.zeros_like(params), np.zeros_like(params)))

    def update(grads: np.ndarray, state: OptState, scale) -> tuple[np.ndarray, OptState]:
        m, v = state.moments
        t = state.count + 1
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        if _fits_kernel(grads, m, v, scale):
            out = np.empty_like(grads)
            arr = isinstance(scale, np.ndarray)
            _adam_kernel(grads, m, v, scale if arr else grads[:0], 0.0 if arr else float(scale),
                         arr, b1, c1, b2, c2, bc1, bc2, eps, out)
            return out, OptState(t, (m, v))
        m *= b1
        m += c1 * grads
        v *= b2
        v += c2 * grads * grads
        return scale * (m / bc1) / (np.sqrt(v / bc2) + eps), OptState(t, (m, v))

    return Optimiser("adam", init, update, {"b1": b1, "b2": b2, "eps": eps, "c1": c1, "c2": c2})


def _fits_kernel(grads, m, v, scale) -> bool:
    """Whether :func:`_adam_kernel` applies: 1-d contiguous float64 arrays of one length and a
    scale that is a number or such an array (anything else takes the NumPy expression)."""
    if not isinstance(grads, np.ndarray) or grads.ndim != 1:
        return False
    if isinstance(scale, np.ndarray):
        arrays = (grads, m, v, scale)
    elif isinstance(scale, (float, int)):
        arrays = (grads, m, v)
    else:
        return False
    shape = grads.shape
    for a in arrays:
        if not (isinstance(a, np.ndarray) and a.dtype == np.float64 and a.shape == shape
                and a.flags.c_contiguous):
            return False
    return True


_ADAM_JIT = None


def adam_pass_jit():
    """The numba-compiled one-pass Adam update (:func:`_adam_pass`; compiled on first use, so
    that importing this module never loads numba), for :func:`adam` and for kernels that take
    Adam steps inside their own loop. Arguments: ``(g, m, v, scale_arr, scale, per_entry, b1,
    c1, b2, c2, bc1, bc2, eps, out)`` with the bias corrections ``bc1 = 1 - b1**t``, ``bc2 = 1 -
    b2**t`` computed by the caller in Python (so that they have Python's bits)."""
    global _ADAM_JIT
    if _ADAM_JIT is None:
        from numba import njit
        _ADAM_JIT = njit(cache=True)(_adam_pass)
    return _ADAM_JIT


def _adam_kernel(*args):
    return adam_pass_jit()(*args)


def _adam_pass(g, m, v, scale_arr, scale, per_entry, b1, c1, b2, c2, bc1, bc2, eps, out):
    """The NumPy expression of :func:`adam`'s update, entry by entry, in the same order of
    operations (so the same bits: no fastmath, no contraction into fused multiply-adds)."""
    for i in range(g.shape[0]):
        mi = m[i] * b1 + c1 * g[i]
        vi = v[i] * b2 + c2 * g[i] * g[i]
        m[i] = mi
        v[i] = vi
        s = scale_arr[i] if per_entry else scale
        out[i] = s * (mi / bc1) / (math.sqrt(vi / bc2) + eps)


def sgd() -> Optimiser:
    """Plain gradient descent: the update is scale * grads.

    Examples
    --------
    >>> opt = sgd()
    >>> updates, _ = opt.update(np.array([2.0]), opt.init(np.zeros(1)), 0.5)
    >>> updates
    array([1.])
    """
    def init(params: np.ndarray) -> OptState:
        return OptState(0)

    def update(grads: np.ndarray, state: OptState, scale) -> tuple[np.ndarray, OptState]:
        return scale * grads, OptState(state.count + 1)

    return Optimiser("sgd", init, update)


def optimiser(name: str) -> Optimiser:
    """The optimiser of :data:`OPTIMISERS` named ``name`` with its default settings."""
    return {"adam": adam, "sgd": sgd}[check_choice("optimizer", name, OPTIMISERS)]()


def apply_updates(params: np.ndarray, updates: np.ndarray) -> np.ndarray:
    """params -= updates, in place; returns params."""
    params -= updates
    return params


def step_size(base: float, it: int, total: int, schedule: str = "cosine") -> float:
    """Step size at iteration ``it`` (0-based) of a stage with ``total`` iterations."""
    return step_sizes(base, total, schedule, start=it, stop=it + 1)[0]


def step_sizes(base: float, total: int, schedule: str = "cosine", *, start: int = 0,
               stop: int | None = None) -> list[float]:
    """The step sizes of iterations ``start .. stop - 1`` (default: all ``total``) of a stage,
    each equal to :func:`step_size` at that iteration; the arguments are checked once.

    Parameters
    ----------
    base : float
        The stage's step size (> 0).
    total : int
        Iterations in the stage.
    schedule : str
        ``"cosine"`` (base (1 + cos(pi it / total)) / 2) or ``"constant"``.
    start, stop : int
        The iterations wanted (``stop`` None: ``total``).

    Returns
    -------
    list of float

    Examples
    --------
    >>> step_sizes(1.0, 4)
    [1.0, 0.8535533905932737, 0.5, 0.14644660940672627]
    """
    check_real("lr", base, positive=True)
    check_choice("schedule", schedule, SCHEDULES)
    its = range(start, total if stop is None else stop)
    if schedule == "constant" or total <= 1:
        return [base] * len(its)
    return [base * 0.5 * (1.0 + math.cos(math.pi * it / total)) for it in its]
