"""Two-layer baselines at the same sample budget (docs/theory.md §2.2, baselines):

* kernel ridge regression with the polynomial kernel (1 + <x, x'>/d)^degree
  (default degree 4, as in docs/theory.md §2.2b);
* ReLU random features + ridge (a two-layer net whose first layer is random);
* a two-layer ReLU network f(x) = a^T relu(W x + b) / sqrt(m) with all layers
  trained by full-batch gradient descent on the squared loss, the step count
  chosen on a validation split (early stopping).

Every ridge penalty is chosen on a validation split (:mod:`theorycheck.maths.ridge`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from theorycheck.maths.kernel_methods import fit_kernel_ridge, make_kernel, relu_random_features
from theorycheck.maths.metrics import relative_mse
from theorycheck.maths.ridge import DEFAULT_LAMBDAS, select_ridge, split_indices
from theorycheck.validation import check_array, check_choice, check_int, check_real

BASELINES = ("poly_krr", "relu_rf", "two_layer_gd")


def fit_poly_krr(X, y, rng, *, degree: int = 4, lambdas=DEFAULT_LAMBDAS) -> Callable:
    """Polynomial-kernel ridge regression; returns a predictor."""
    X = check_array("X", X, ndim=2)
    return fit_kernel_ridge(make_kernel("poly", X.shape[1], q=degree), X, y, rng, lambdas=lambdas)


def fit_relu_rf(X, y, rng, *, m: int = 1024, lambdas=DEFAULT_LAMBDAS) -> Callable:
    """ReLU random features relu(<w, x> + c) / sqrt(m) (w uniform on the unit sphere,
    c ~ N(0, 1)) with a ridge read-out; returns a predictor."""
    m = check_int("m", m, min_value=1)
    X = check_array("X", X, ndim=2)
    feats = relu_random_features(X.shape[1], m, rng)
    a, _ = select_ridge(feats(X), y, rng, lambdas=lambdas)
    return lambda Xt: feats(Xt) @ a


@dataclass
class TwoLayerParams:
    W: np.ndarray
    b: np.ndarray
    a: np.ndarray

    def __call__(self, X):
        return np.maximum(X @ self.W.T + self.b, 0.0) @ self.a / np.sqrt(self.a.size)


def two_layer_loss(p: TwoLayerParams, X, y) -> float:
    """(1/2n) sum_i (f(x_i) - y_i)^2."""
    return float(0.5 * np.mean((p(X) - y) ** 2))


def two_layer_gradients(p: TwoLayerParams, X, y) -> TwoLayerParams:
    """Gradients of :func:`two_layer_loss` with respect to W, b, a (ReLU'(0) = 0)."""
    m = p.a.size
    Z = X @ p.W.T + p.b
    H = np.maximum(Z, 0.0)
    r = (H @ p.a / np.sqrt(m) - y) / X.shape[0]
    ga = H.T @ r / np.sqrt(m)
    G = np.outer(r, p.a / np.sqrt(m)) * (Z > 0)
    return TwoLayerParams(W=G.T @ X, b=G.sum(axis=0), a=ga)


class _Gradients:
    """:func:`two_layer_gradients` on fixed data, with the (n, m) work arrays allocated once
    and the element-wise work (bias, ReLU, residual, both read-out gradients and the masked
    hidden gradient) in one compiled pass over the pre-activations (:func:`_relu_pass`) between
    the two matrix products; the same gradients to rounding (tests compare it with
    :func:`two_layer_gradients`)."""

    def __init__(self, X, y, m: int):
        self.X, self.y = np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64)
        self.Z = np.empty((X.shape[0], m))
        self.G = np.empty_like(self.Z)

    def __call__(self, p: TwoLayerParams) -> TwoLayerParams:
        X, Z, G = self.X, self.Z, self.G
        root = np.sqrt(p.a.size)
        np.matmul(X, p.W.T, out=Z)
        ga, gb = np.empty(p.a.size), np.empty(p.a.size)
        _relu_pass_jit()(Z, np.ascontiguousarray(p.b, dtype=np.float64), p.a / root, self.y,
                         1.0 / X.shape[0], G, ga, gb)
        return TwoLayerParams(W=G.T @ X, b=gb, a=ga / root)


def _relu_pass(Z, b, a_s, y, inv_n, G, ga, gb):
    """Z <- Z + b; r_s = (sum_j relu(z_sj) a_s[j] - y_s) inv_n; G = r a_s^T on z > 0 (else 0);
    ga = relu(Z)^T r; gb = column sums of G."""
    n, m = Z.shape
    for j in range(m):
        ga[j] = 0.0
        gb[j] = 0.0
    for s in range(n):      # branch-free: the signs of z are a coin toss for the predictor
        f = 0.0
        for j in range(m):
            z = Z[s, j] + b[j]
            Z[s, j] = z
            f += max(z, 0.0) * a_s[j]
        r = (f - y[s]) * inv_n
        for j in range(m):
            z = Z[s, j]
            g = r * a_s[j] * (1.0 if z > 0.0 else 0.0)
            G[s, j] = g
            ga[j] += max(z, 0.0) * r
            gb[j] += g


_RELU_JIT = None


def _relu_pass_jit():
    """:func:`_relu_pass` compiled by numba on first use (importing this module loads no numba)."""
    global _RELU_JIT
    if _RELU_JIT is None:
        from numba import njit
        _RELU_JIT = njit(cache=True)(_relu_pass)
    return _RELU_JIT


def fit_two_layer_gd(X, y, rng, *, m: int = 256, steps: int = 600, lr: float = 0.5,
                     momentum: float = 0.9, eval_every: int = 20,
                     history: list | None = None) -> Callable:
    """Two-layer ReLU network, all layers trained by full-batch GD with heavy-ball
    momentum; the iterate with the best validation loss is returned ([R] early stopping).

    ``history``, when given a list, receives ``(step, train_loss, val_loss)`` at step 0 and
    at every evaluation, for convergence diagnostics (:func:`gd_convergence`)."""
    m = check_int("m", m, min_value=1)
    steps = check_int("steps", steps, min_value=1)
    lr = check_real("lr", lr, positive=True)
    X = check_array("X", X, ndim=2)
    d = X.shape[1]
    tr, va = split_indices(len(y), 0.2, rng)
    p = TwoLayerParams(W=rng.standard_normal((m, d)) / np.sqrt(d), b=0.1 * rng.standard_normal(m),
                       a=rng.standard_normal(m) / np.sqrt(m))
    vel = TwoLayerParams(np.zeros_like(p.W), np.zeros_like(p.b), np.zeros_like(p.a))
    best = (two_layer_loss(p, X[va], y[va]), p)
    grads = _Gradients(X[tr], y[tr], m)
    if history is not None:
        history.append((0, two_layer_loss(p, X[tr], y[tr]), best[0]))
    for t in range(1, steps + 1):
        g = grads(p)
        vel = TwoLayerParams(momentum * vel.W - lr * g.W, momentum * vel.b - lr * g.b,
                             momentum * vel.a - lr * g.a)
        p = TwoLayerParams(p.W + vel.W, p.b + vel.b, p.a + vel.a)
        if t % eval_every == 0 or t == steps:
            v = two_layer_loss(p, X[va], y[va])
            if history is not None:
                history.append((t, two_layer_loss(p, X[tr], y[tr]), v))
            if np.isfinite(v) and v < best[0]:
                best = (v, p)
    return best[1]


def gd_convergence(history: list, tail: float = 0.25) -> dict:
    """Convergence diagnostics of one :func:`fit_two_layer_gd` run from its ``history``.

    ``train_rel_change``: relative fall of the training loss over the last ``tail`` of the
    steps, (L(start of tail) - L(end)) / L(start of tail); ``val_rel_gain``: relative
    improvement of the best validation loss (the iterate returned) made during that tail,
    (best before the tail - best overall) / best before the tail. Both near 0 mean more steps
    would not change the returned network much; ``best_step`` is the returned iterate's step."""
    h = np.asarray(history, dtype=np.float64)
    steps = h[-1, 0]
    start = steps * (1.0 - tail)
    before, inside = h[h[:, 0] <= start], h[h[:, 0] >= start]
    l0, l1 = before[-1, 1], h[-1, 1]
    best_before, best_all = float(np.min(before[:, 2])), float(np.min(h[:, 2]))
    return {"train_rel_change": float((l0 - l1) / l0) if l0 > 0 else 0.0,
            "val_rel_gain": float((best_before - best_all) / best_before) if best_before > 0 else 0.0,
            "best_step": int(h[int(np.argmin(h[:, 2])), 0]), "steps": int(steps),
            "final_train_loss": float(l1), "best_val_loss": best_all,
            "tail_points": int(len(inside))}


def fit_baseline(name: str, X, y, rng, **options) -> Callable:
    check_choice("baseline", name, BASELINES)
    return {"poly_krr": fit_poly_krr, "relu_rf": fit_relu_rf,
            "two_layer_gd": fit_two_layer_gd}[name](X, y, rng, **options)


def run_baseline(name: str, target, n: int, rng, *, n_test: int = 4000,
                 info: dict | None = None, **options) -> float:
    """Relative test MSE of baseline ``name`` trained on n samples of ``target``.

    ``info``, when given a dict, receives ``seconds`` and, for ``two_layer_gd``, the
    convergence diagnostics of :func:`gd_convergence` (the same numbers with or without it)."""
    import time

    n = check_int("n", n, min_value=8)
    check_choice("baseline", name, BASELINES)
    from theorycheck.budget import check_memory
    from theorycheck.papers.three_layer.learner import three_layer_memory_bytes
    check_memory(lambda k: three_layer_memory_bytes(target.d, k, 0, 1, 1, n_test=n_test,
                                                    baselines=(name,)),
                 "n", n, what=f"the {name} fit", lo=8)
    X, y = target.sample(n, rng)
    Xt, yt = target.sample(n_test, rng)
    history = [] if (info is not None and name == "two_layer_gd") else None
    if history is not None:
        options = {**options, "history": history}
    t0 = time.perf_counter()
    mse = relative_mse(fit_baseline(name, X, y, rng, **options)(Xt), yt)
    if info is not None:
        info["seconds"] = time.perf_counter() - t0
        if history is not None:
            info.update(gd_convergence(history))
    return mse
