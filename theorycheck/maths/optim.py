"""Optimisers over dicts of arrays: SGD and Adam, with per-stage step-size schedules.

Pure functions in the optax style: ``state = init(params)``, then
``params, state = update(params, grads, state, lr)``. Only the names in
``trainable`` move, so a frozen layer keeps its exact bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from theorycheck.validation import check_choice, check_real

OPTIMISERS = ("adam", "sgd")
SCHEDULES = ("cosine", "constant")


@dataclass
class OptState:
    kind: str
    step: int
    m: dict
    v: dict


def opt_init(params: Mapping[str, np.ndarray], kind: str = "adam") -> OptState:
    check_choice("optimizer", kind, OPTIMISERS)
    zeros = {k: np.zeros_like(p) for k, p in params.items()}
    return OptState(kind, 0, zeros, {k: np.zeros_like(p) for k, p in params.items()} if kind == "adam" else {})


def opt_update(params: dict, grads: Mapping[str, np.ndarray], state: OptState, lr: float,
               trainable: Iterable[str], *, beta1: float = 0.9, beta2: float = 0.999,
               eps: float = 1e-12) -> tuple[dict, OptState]:
    """One step on the ``trainable`` entries (in place on ``params``' arrays)."""
    state.step += 1
    t = state.step
    for k in trainable:
        g = grads[k]
        if state.kind == "sgd":
            params[k] -= lr * g
            continue
        m, v = state.m[k], state.v[k]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        mh = m / (1 - beta1 ** t)
        vh = v / (1 - beta2 ** t)
        params[k] -= lr * mh / (np.sqrt(vh) + eps)
    return params, state


def step_size(base: float, it: int, total: int, schedule: str = "cosine") -> float:
    """Step size at iteration ``it`` (0-based) of a stage with ``total`` iterations."""
    check_real("lr", base, positive=True)
    check_choice("schedule", schedule, SCHEDULES)
    if schedule == "constant" or total <= 1:
        return base
    return base * 0.5 * (1.0 + math.cos(math.pi * it / total))
