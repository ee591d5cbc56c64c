"""The layerwise residual learner of docs/theory.md §3.2 and its baselines (3.3).

Residual learner [R] (defaults follow the measured setting of docs/theory.md §3.2b):

* the stream z has one slot per input coordinate and one per label, label
  slots start at 0: z_0 = [x, 0, ..., 0];
* block t reads the whole stream through a frozen random ReLU layer
  psi_t(z) = relu(W_t z + b_t) (W_t Gaussian with variance 1/dim(z), b_t
  standard Gaussian, plus a constant feature) and adds its read-out U_t psi_t(z)
  to the slots of level t; the stream then stores ``writeback`` of that
  estimate: ``"sign"`` (default) or ``"tanh"``;
* ``label_gain`` (default 1 here, 3 in the study's configurations): the label
  slots' rows of W_t are scaled by it and all rows normalised so the
  pre-activation variance stays 1, so the few label slots are not drowned by
  the d input coordinates (the naive learner of 3.2b is ``label_gain=1``);
* only U_t trains, by ridge regression on level t's labels (a convex per-label
  square loss) with an absolute penalty ``lam``
  (:func:`theorycheck.maths.ridge.ridge_solve` with ``lam_scale="none"``, a Cholesky
  solve), then frozen;
* ``train_on="estimated"`` (default) fits block t on the stream built from the
  earlier blocks' *estimates* on the training inputs, so it learns to read the
  stream it will see at test time; ``"true"`` fits it on the true earlier labels;
* ``hints=False`` is the learner without label hints: nothing is written back,
  so every block sees only x (the ablation of docs/theory.md §3.1's "hints").

Per level the learner reports the test error at its block, split into the
*added* error (block t on the true earlier labels) and the *inherited* error
(the rest, caused by errors in the stream), per lesson 2 of docs/theory.md §3.2b.

Baselines see only the top-level labels (docs/theory.md §3.3): Gaussian-kernel ridge
regression on x (ridge and bandwidth chosen on a validation split, Cholesky
solves) and an end-to-end tanh MLP trained by mini-batch gradient descent on the
square loss.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from theorycheck.errors import NumericalError
from theorycheck.maths.kernel_methods import KernelFit, fit_kernel_ridge as _fit_kernel_ridge, make_kernel
from theorycheck.maths.ridge import ridge_solve
from theorycheck.validation import check_array, check_choice, check_int, check_real


@contextlib.contextmanager
def blas_threads(n: int | None = 1):
    """Limit BLAS threads (threadpoolctl, when installed) for the enclosed block.

    Small dense solves run faster on one thread, and on a loaded machine
    multi-threaded OpenBLAS Cholesky can be 100x slower; ``n=None`` leaves the
    BLAS default alone.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    if n is None:
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def relu_features(Z: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[relu(Z W + b), 1]: the frozen random layer psi of a block, with a constant feature."""
    H = Z @ W
    H += b
    np.maximum(H, 0.0, out=H)
    return np.concatenate([H, np.ones((Z.shape[0], 1))], axis=1)


@dataclass
class ResidualLearner:
    """A trained layerwise residual learner; build with :func:`fit_residual`."""

    d: int
    level_cols: list[list[int]]
    Ws: list[np.ndarray]
    bs: list[np.ndarray]
    Us: list[np.ndarray]
    writeback: str
    hints: bool
    seconds: float = 0.0

    def _write(self, Z, cols, est):
        if self.hints:
            Z[:, [self.d + c for c in cols]] = np.sign(est) if self.writeback == "sign" \
                else np.tanh(est)

    def block_output(self, t: int, Z: np.ndarray) -> np.ndarray:
        return relu_features(Z, self.Ws[t], self.bs[t]) @ self.Us[t]

    def streams(self, X: np.ndarray, Y_true: np.ndarray | None = None) -> list[np.ndarray]:
        """The stream entering each block (list over blocks of (n, d + #labels)); with
        ``Y_true`` the stream is fed the true earlier labels instead of the estimates."""
        X = check_array("X", X, ndim=2, shape=(None, self.d))
        n_labels = sum(len(c) for c in self.level_cols)
        Z = np.concatenate([X, np.zeros((X.shape[0], n_labels))], axis=1)
        out = []
        for t, cols in enumerate(self.level_cols):
            out.append(Z.copy())
            if Y_true is not None and self.hints:
                Z[:, [self.d + c for c in cols]] = Y_true[:, cols]
            else:
                self._write(Z, cols, self.block_output(t, Z))
        return out

    def predict(self, X: np.ndarray, Y_true: np.ndarray | None = None) -> list[np.ndarray]:
        """Per-block raw estimates (list over levels of (n, m_t)). With ``Y_true`` the stream
        is fed the true earlier labels (the "added error" probe)."""
        return [self.block_output(t, Z) for t, Z in enumerate(self.streams(X, Y_true))]


def fit_residual(X: np.ndarray, Y: np.ndarray, level_cols: Sequence[Sequence[int]], *,
                 width: int = 1024, lam: float = 1e-3, writeback: str = "sign",
                 train_on: str = "estimated", hints: bool = True, zero_readout: bool = False,
                 label_gain: float = 1.0, seed: int = 0) -> ResidualLearner:
    """Layerwise training (docs/theory.md §3.2): block t on level t's labels, then frozen.

    ``Y`` holds all labels (n, #labels) of ±1; ``level_cols[t]`` are the columns of
    level t+1. See the module docstring for ``writeback``, ``train_on``, ``hints`` and
    ``label_gain``. ``zero_readout=True`` freezes every read-out at zero (a broken
    learner used by the claims' mutant tests).

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Inputs in {±1}^d.
    Y : ndarray, shape (n, #labels)
        Every label's values.
    level_cols : sequence of sequence of int
        Columns of ``Y`` per level.
    width : int
        Random features per block.
    lam : float
        Ridge penalty of each block's read-out.
    writeback, train_on : str
        What a block passes up and what it is trained on (module docstring).
    hints : bool
        Whether earlier levels' labels are inputs of later blocks.
    zero_readout : bool
        Freeze read-outs at zero (a broken learner).
    label_gain : float
        Scale of the labels fed to the next block.
    seed : int
        Seed of the random features.

    Returns
    -------
    ResidualLearner
    """
    X = check_array("X", X, ndim=2)
    n, d = X.shape
    Y = check_array("Y", Y, shape=(n, None))
    width = check_int("width", width, min_value=1)
    lam = check_real("lam", lam, positive=True)
    writeback = check_choice("writeback", writeback, ("sign", "tanh"))
    train_on = check_choice("train_on", train_on, ("estimated", "true"))
    level_cols = [list(c) for c in level_cols]
    rng = np.random.default_rng(seed)
    dim = d + Y.shape[1]
    learner = ResidualLearner(d, level_cols, [], [], [], writeback, bool(hints))
    t0 = time.perf_counter()
    Z = np.concatenate([X, np.zeros((n, Y.shape[1]))], axis=1)
    for t, cols in enumerate(level_cols):
        W = rng.standard_normal((dim, width))
        n_est = sum(len(c) for c in level_cols[:t])
        W[:d] /= np.sqrt(d + label_gain ** 2 * n_est)
        W[d:] *= label_gain / np.sqrt(d + label_gain ** 2 * n_est)
        b = rng.standard_normal(width)
        Phi = relu_features(Z, W, b)
        U = np.zeros((width + 1, len(cols))) if zero_readout \
            else ridge_solve(Phi, Y[:, cols], lam, lam_scale="none")
        learner.Ws.append(W)
        learner.bs.append(b)
        learner.Us.append(U)
        if train_on == "true" and hints:
            Z[:, [d + c for c in cols]] = Y[:, cols]
        else:
            learner._write(Z, cols, Phi @ U)
    learner.seconds = time.perf_counter() - t0
    return learner


def sign_error(est: np.ndarray, Y: np.ndarray) -> float:
    """Fraction of wrong signs (sign(0) counts as +1), averaged over labels."""
    return float(np.mean(np.where(est >= 0, 1.0, -1.0) != Y))


def level_errors(learner: ResidualLearner, X: np.ndarray, Y: np.ndarray) -> list[dict]:
    """Per level t: test error at block t, the added error (block t fed true earlier labels)
    and the inherited error (the difference), docs/theory.md §3.2b.2.

    Parameters
    ----------
    learner : ResidualLearner
        A learner from :func:`fit_residual`.
    X, Y : ndarray
        Test inputs and all their labels.

    Returns
    -------
    list of dict
        ``error``, ``added`` and ``inherited`` per level.
    """
    est = learner.predict(X)
    oracle = learner.predict(X, Y_true=Y)
    out = []
    for t, cols in enumerate(learner.level_cols):
        e, a = sign_error(est[t], Y[:, cols]), sign_error(oracle[t], Y[:, cols])
        out.append({"level": t + 1, "error": e, "added": a, "inherited": e - a})
    return out


def error_after_each_block(learner: ResidualLearner, X: np.ndarray, Y: np.ndarray,
                           Xt: np.ndarray, Yt: np.ndarray, lam: float = 1e-3) -> np.ndarray:
    """E[b, t]: test error on level t+1's labels after block b+1 (docs/theory.md §3.3).

    For b >= t it is block t+1's own estimate (blocks freeze after training).
    For b < t it is a probe: the best ridge read-out of level t+1's labels from
    block b+1's frozen features, fitted on the training set (``X``, ``Y``); it
    measures what the network could say about level t+1 before its own block.
    """
    L = len(learner.level_cols)
    est = learner.predict(Xt)
    Ztr, Zte = learner.streams(X), learner.streams(Xt)
    E = np.empty((L, L))
    for b in range(L):
        Ftr = relu_features(Ztr[b], learner.Ws[b], learner.bs[b]) if b < L - 1 else None
        Fte = relu_features(Zte[b], learner.Ws[b], learner.bs[b]) if b < L - 1 else None
        for t in range(L):
            cols = learner.level_cols[t]
            if t <= b:
                E[b, t] = sign_error(est[t], Yt[:, cols])
            else:
                E[b, t] = sign_error(Fte @ ridge_solve(Ftr, Y[:, cols], lam, lam_scale="none"),
                                       Yt[:, cols])
    return E


# ----------------------------------------------------------------------------- baselines

def fit_kernel_ridge(X: np.ndarray, Y: np.ndarray, *, lams: Sequence[float] = (1e-4, 1e-2),
                     bandwidths: Sequence[float] = (0.25, 1.0), val_frac: float = 0.2,
                     seed: int = 0) -> KernelFit:
    """Gaussian-kernel ridge regression on x, the kernel baseline of docs/theory.md §3.3.

    (bandwidth, ridge) is chosen by sign error on a validation split, then refitted on all
    of ``X``; Cholesky solves, never an explicit inverse.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    Y : ndarray, shape (n, k)
        Labels in {-1, +1}.
    lams : sequence of float
        Absolute penalties (``lam_scale="none"``: (K + n lam I) alpha = Y).
    bandwidths : sequence of float
        s^2 / d of :func:`theorycheck.maths.kernel_methods.gaussian_kernel`; the default
        (0.25, 1) is the length scale sigma in {0.5, 1} per coordinate.
    val_frac : float
    seed : int
        Seeds the split.

    Returns
    -------
    KernelFit
        ``.predict(X)``, the chosen ``.spec.bandwidth`` and ``.lam``, and ``.seconds``.

    Examples
    --------
    >>> X = np.random.default_rng(0).choice([-1.0, 1.0], (200, 4))
    >>> fit = fit_kernel_ridge(X, X[:, :1] * X[:, 1:2])
    >>> sign_error(fit.predict(X), X[:, :1] * X[:, 1:2])
    0.0
    """
    X = check_array("X", X, ndim=2)
    Y = check_array("Y", Y, shape=(X.shape[0], None))
    specs = [make_kernel("gaussian", X.shape[1], bandwidth=bw) for bw in bandwidths]
    return _fit_kernel_ridge(specs, X, Y, np.random.default_rng(seed), lambdas=lams,
                             val_frac=val_frac, loss=sign_error, lam_scale="none")


@dataclass
class MLP:
    """A tanh MLP x -> R^m (a baseline of docs/theory.md §3.3). params: [W1, b1, ..., WL, bL]."""

    params: list[np.ndarray]
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return mlp_forward(self.params, X)[-1]


def mlp_init(sizes: Sequence[int], rng: np.random.Generator) -> list[np.ndarray]:
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params += [rng.standard_normal((a, b)) / np.sqrt(a), np.zeros(b)]
    return params


def mlp_forward(params: Sequence[np.ndarray], X: np.ndarray) -> list[np.ndarray]:
    """Activations [X, h1, ..., output]; hidden layers tanh, output linear."""
    acts = [X]
    L = len(params) // 2
    for l in range(L):
        h = acts[-1] @ params[2 * l] + params[2 * l + 1]
        acts.append(np.tanh(h) if l < L - 1 else h)
    return acts


def mlp_loss_grad(params: Sequence[np.ndarray], X: np.ndarray,
                  Y: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """Square loss 0.5 * mean_i ||f(x_i) - y_i||^2 and its gradient (backpropagation)."""
    acts = mlp_forward(params, X)
    n = X.shape[0]
    diff = acts[-1] - Y
    loss = 0.5 * float(np.sum(diff * diff)) / n
    L = len(params) // 2
    grads: list[np.ndarray] = [np.empty(0)] * len(params)
    delta = diff / n
    for l in range(L - 1, -1, -1):
        grads[2 * l] = acts[l].T @ delta
        grads[2 * l + 1] = delta.sum(axis=0)
        if l > 0:
            delta = (delta @ params[2 * l].T) * (1.0 - acts[l] ** 2)
    return loss, grads


def fit_mlp(X: np.ndarray, Y: np.ndarray, *, hidden: Sequence[int] = (256, 256),
            epochs: int = 30, batch: int = 64, lr: float = 0.05, momentum: float = 0.9,
            time_budget: float | None = None, seed: int = 0) -> MLP:
    """Mini-batch gradient descent with momentum on the square loss, end to end.

    Stops after ``epochs`` or once ``time_budget`` seconds have passed (whichever
    first); with a time budget the run is no longer bit-for-bit reproducible.
    """
    X = check_array("X", X, ndim=2)
    Y = check_array("Y", Y, shape=(X.shape[0], None))
    epochs = check_int("epochs", epochs, min_value=1)
    rng = np.random.default_rng(seed)
    params = mlp_init([X.shape[1], *hidden, Y.shape[1]], rng)
    vel = [np.zeros_like(p) for p in params]
    model = MLP(params)
    t0 = time.perf_counter()
    n = X.shape[0]
    for _ in range(epochs):
        perm = rng.permutation(n)
        tot = 0.0
        for s in range(0, n, batch):
            idx = perm[s:s + batch]
            loss, grads = mlp_loss_grad(params, X[idx], Y[idx])
            tot += loss * len(idx)
            for p, v, g in zip(params, vel, grads):
                v *= momentum
                v -= lr * g
                p += v
        model.losses.append(tot / n)
        if not np.isfinite(tot):
            raise NumericalError(f"MLP training diverged (loss {tot}); lower lr={lr}")
        if time_budget is not None and time.perf_counter() - t0 > time_budget:
            break
    model.seconds = time.perf_counter() - t0
    return model
