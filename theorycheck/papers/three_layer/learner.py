"""The three-layer learner and its layer-wise algorithm (docs/theory.md §2.2, §2.2b).

Network [R]: f(x) = a^T sigma2(W sigma1(V x) + b), V in R^{m1 x d} with unit rows,
drawn once and never trained; W in R^{m2 x m1}; a, b in R^{m2}.

Algorithm [R] (sample splitting):

* stage 1 on n1 samples: W = 0, b = 0, a_j = +-1; one gradient step on W of
  L1(W) = (1/2 n1) sum_i (f(x_i) - y_i)^2 + (wd/2) ||W||_F^2 with step ``eta``.
  Because W starts at 0 (and sigma2(0) = 0), every row of the new W is a
  multiple of g = (1/n1) sum_i y_i sigma1(V x_i), so every hidden unit of layer 2
  sees the same scalar learned feature
  phi(x) = <g, sigma1(V x)> / m1 = (1/n1) sum_i y_i K(x_i, x),
  the random-feature kernel K of layer 1 applied to f* (docs/theory.md §2.2);
* stage 2 on n2 fresh samples: redraw b_j ~ Unif[-tau s_j, tau s_j], where s_j is
  the spread (standard deviation) of unit j's learned pre-activation on the stage-2
  inputs ([R]: sets the bias range at the feature's scale, so any eta > 0 gives the
  same hidden layer up to a factor), and fit a by ridge regression with the penalty
  chosen on a validation split of the stage-2 sample.

sigma1 is a choice (default ``"abs"``, |z|). Why an even activation helps
(docs/theory.md §2.2b): f*(x) = g*(x^T A x) is an even function, and its signal lives in
degree 2 (x^T A x is a degree-2 spherical harmonic when tr A = 0). The kernel of a
ReLU layer has a large degree-1 (odd) component; f* has none in expectation, but with
n1 samples the empirical (1/n1) sum_i y_i x_i is noise of size sqrt(d/n1), and the
degree-1 eigenvalue multiplies that noise into phi, swamping the degree-2 signal.
|z| = 2 ReLU(z) - z removes the odd part of the kernel exactly, so phi keeps only even
degrees, dominated by degree 2. An odd sigma1 (tanh) has no even part at all, so phi
carries no signal on an even target.

First-layer features are centred by the exact mean E sigma1(v.x) (``centre="exact"``),
which removes the degree-0 part of the kernel; ``"empirical"`` uses the stage-1 mean,
``"none"`` keeps it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import numpy as np

from theorycheck.errors import SpecError
from theorycheck.maths.metrics import relative_mse
from theorycheck.maths.ridge import DEFAULT_LAMBDAS, RidgeChoice, select_ridge
from theorycheck.papers.three_layer.quadratic_features import DISTS, correlation
from theorycheck.validation import check_array, check_choice, check_int, check_real

SIGMA1 = ("abs", "relu", "tanh", "square")
SIGMA2 = ("relu", "softplus")
CENTRE = ("exact", "empirical", "none")


def activation(name: str, *, inplace: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """sigma by name; ``inplace``: the function overwrites its (float64) argument and returns
    it (the same values, one large array fewer)."""
    check_choice("activation", name, SIGMA1 + SIGMA2)
    if inplace:
        return {"abs": lambda z: np.abs(z, out=z), "relu": lambda z: np.maximum(z, 0.0, out=z),
                "tanh": lambda z: np.tanh(z, out=z), "square": lambda z: np.square(z, out=z),
                "softplus": lambda z: np.logaddexp(0.0, z, out=z)}[name]
    return {"abs": np.abs, "relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh,
            "square": np.square, "softplus": lambda z: np.logaddexp(0.0, z)}[name]


def activation_derivative(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """sigma'(z); for ReLU the convention [R] sigma'(0) = 1 (right derivative), so the
    first step from b = 0 is not zero."""
    check_choice("activation", name, SIGMA2)
    if name == "relu":
        return lambda z: (z >= 0).astype(np.float64)
    return lambda z: 0.5 * (1.0 + np.tanh(0.5 * z))


def first_layer_mean(sigma1: str, d: int, dist: str) -> float:
    """Exact E sigma1(<v, x>) for a unit v, x uniform on the sphere of radius sqrt(d) or N(0, I).

    On the sphere <v, x> = sqrt(d) u_1, E|u_1| = Gamma(d/2) / (sqrt(pi) Gamma((d+1)/2)).
    """
    check_choice("sigma1", sigma1, SIGMA1)
    check_choice("dist", dist, DISTS)
    if dist == "gaussian":
        e_abs = math.sqrt(2.0 / math.pi)
    else:
        e_abs = math.sqrt(d) * math.exp(math.lgamma(d / 2) - math.lgamma((d + 1) / 2)) / math.sqrt(math.pi)
    return {"abs": e_abs, "relu": e_abs / 2.0, "tanh": 0.0, "square": 1.0}[sigma1]


@dataclass(frozen=True)
class ThreeLayerConfig:
    """Widths, activations and step of the layer-wise algorithm (docs/theory.md §2.2 [R]).

    Parameters
    ----------
    m1, m2 : int
        Widths of the first (random, fixed) and second hidden layers.
    sigma1 : str
        First activation: ``abs``, ``relu``, ``tanh`` or ``square`` (§2.2b.1).
    sigma2 : str
        Second activation.
    eta : float
        Stage-1 step size.
    weight_decay : float
        Stage-1 weight decay.
    bias_scale : float
        tau: stage-2 biases are Unif[-tau s_j, tau s_j] (module docstring).
    centre : str
        ``"exact"``, ``"empirical"`` or ``"none"``.
    lambdas : tuple of float
        Ridge penalties tried in stage 2.
    val_frac : float
        Share of the stage-2 sample held out to choose the penalty.
    batch : int
        Rows per block of the feature computation.
    """

    m1: int = 1024
    m2: int = 256
    sigma1: str = "abs"
    sigma2: str = "relu"
    eta: float = 1.0
    weight_decay: float = 0.0
    bias_scale: float = 2.0
    centre: str = "exact"
    lambdas: tuple = DEFAULT_LAMBDAS
    val_frac: float = 0.2
    batch: int = 4096

    def __post_init__(self):
        check_int("m1", self.m1, min_value=1)
        check_int("m2", self.m2, min_value=1)
        check_choice("sigma1", self.sigma1, SIGMA1)
        check_choice("sigma2", self.sigma2, SIGMA2)
        check_real("eta", self.eta, nonnegative=True)
        check_real("weight_decay", self.weight_decay, nonnegative=True)
        check_real("bias_scale", self.bias_scale, nonnegative=True)
        check_choice("centre", self.centre, CENTRE)
        if not self.lambdas or any(float(l) <= 0 for l in self.lambdas):
            raise SpecError(f"lambdas={self.lambdas!r} is invalid; pass a non-empty list of "
                            f"positive ridge penalties")
        check_int("batch", self.batch, min_value=1)


@dataclass
class ThreeLayerNet:
    """Parameters of f(x) = a^T sigma2(W sigma1(V x) + b) and the first-layer centring."""

    V: np.ndarray
    W: np.ndarray
    b: np.ndarray
    a: np.ndarray
    shift: float
    config: ThreeLayerConfig = field(default_factory=ThreeLayerConfig)
    a1: np.ndarray | None = None
    ridge: RidgeChoice | None = None

    def first_layer(self, X: np.ndarray) -> np.ndarray:
        H = activation(self.config.sigma1, inplace=True)(X @ self.V.T)
        H -= self.shift
        return H

    def shared_features(self, X: np.ndarray) -> np.ndarray | None:
        """``first_layer(X)`` computed once for callers that need it again with the same V and
        centring (the rungs of the n1 ladder, the test set of one run); None when it would
        take more than :data:`SHARED_FEATURE_BYTES` (the callers then recompute it in batches)."""
        if _shared_bytes(X.shape[0], self.V.shape[0]) == 0:
            return None
        return _batched(self.first_layer, X, self.config.batch)

    def _on_features(self, fn, X: np.ndarray, H1: np.ndarray | None) -> np.ndarray:
        """``fn(first_layer(Xb))`` over the row batches of X, taking the batches from ``H1``
        (:meth:`shared_features` of X) when given: the same products on the same blocks."""
        if H1 is None:
            return _batched(lambda Xb: fn(self.first_layer(Xb)), X, self.config.batch)
        return _batched(fn, H1, self.config.batch)

    def preactivation(self, X: np.ndarray, H1: np.ndarray | None = None) -> np.ndarray:
        """W sigma1(V x) + b, in batches of rows (``H1``: see :meth:`_on_features`)."""
        return self._on_features(lambda Hb: Hb @ self.W.T + self.b, X, H1)

    def hidden(self, X: np.ndarray, H1: np.ndarray | None = None) -> np.ndarray:
        return activation(self.config.sigma2, inplace=True)(self.preactivation(X, H1))

    def __call__(self, X: np.ndarray, H1: np.ndarray | None = None) -> np.ndarray:
        return self.hidden(X, H1) @ self.a


#: Largest first-layer feature matrix kept for reuse (:meth:`ThreeLayerNet.shared_features`).
SHARED_FEATURE_BYTES = 256 * 2**20


def _shared_bytes(n: int, m1: int) -> int:
    """Bytes of an n x m1 feature matrix kept for reuse, 0 when it is not kept."""
    nbytes = 8 * int(n) * int(m1)
    return nbytes if nbytes <= SHARED_FEATURE_BYTES else 0


def _batched(fn, X, batch):
    if X.shape[0] <= batch:
        return fn(X)
    return np.concatenate([fn(X[i:i + batch]) for i in range(0, X.shape[0], batch)])


def init_network(d: int, config: ThreeLayerConfig, rng: np.random.Generator, dist: str = "sphere"):
    """V with unit rows (Gaussian rows normalised), W = 0, b = 0, a_j = +-1."""
    d = check_int("d", d, min_value=1)
    V = rng.standard_normal((config.m1, d))
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    shift = first_layer_mean(config.sigma1, d, dist) if config.centre == "exact" else 0.0
    return ThreeLayerNet(V=V, W=np.zeros((config.m2, config.m1)), b=np.zeros(config.m2),
                         a=rng.choice([-1.0, 1.0], size=config.m2), shift=shift, config=config)


def middle_layer_loss(W, b, a, H1, y, sigma2: str = "relu", weight_decay: float = 0.0) -> float:
    """L(W) = (1/2n) sum_i (a^T sigma2(W h1_i + b) - y_i)^2 + (wd/2) ||W||_F^2, h1 = sigma1(Vx)."""
    f = activation(sigma2)(H1 @ W.T + b) @ a
    return float(0.5 * np.mean((f - y) ** 2) + 0.5 * weight_decay * np.sum(W * W))


def middle_layer_gradient(W, b, a, H1, y, sigma2: str = "relu", weight_decay: float = 0.0):
    """dL/dW for :func:`middle_layer_loss`: (1/n) sum_i r_i (a * sigma2'(z_i)) h1_i^T + wd W.
    At W = 0 (stage 1 starts there) the product H1 W^T is zero for finite H1 and is skipped."""
    if not W.any() and np.isfinite(H1).all():
        Z = np.zeros((H1.shape[0], W.shape[0])) + b
    else:
        Z = H1 @ W.T + b
    r = activation(sigma2)(Z) @ a - y
    G = (r[:, None] * activation_derivative(sigma2)(Z)) * a[None, :]
    return G.T @ H1 / H1.shape[0] + weight_decay * W


def stage1(net: ThreeLayerNet, X1: np.ndarray, y1: np.ndarray) -> ThreeLayerNet:
    """One gradient step on W (docs/theory.md §2.2, stage 1); the step is taken from ``net.W``."""
    cfg = net.config
    if cfg.centre == "empirical":
        net = replace(net, shift=float(np.mean(activation(cfg.sigma1)(X1 @ net.V.T))))
    H1 = net.first_layer(X1)
    grad = middle_layer_gradient(net.W, net.b, net.a, H1, y1, cfg.sigma2, cfg.weight_decay)
    return replace(net, W=net.W - cfg.eta * grad, a1=net.a.copy())


def learned_feature(net: ThreeLayerNet, X: np.ndarray, H1: np.ndarray | None = None) -> np.ndarray:
    """phi(x): the common direction of the rows of W applied to sigma1(V x), over m1.

    After stage 1 every row W_j = c_j g; phi(x) = <g, sigma1(Vx)> / m1 with g the
    row of largest norm, sign-fixed by the stage-1 output sign a1_j (so c_j > 0 for
    eta > 0). Zero if W = 0. ``H1``: ``net.shared_features(X)``, when the caller has it.
    """
    j = int(np.argmax(np.linalg.norm(net.W, axis=1)))
    a1 = net.a if net.a1 is None else net.a1
    g = net.W[j] * (1.0 if a1[j] > 0 else -1.0)
    return net._on_features(lambda Hb: Hb @ g, X, H1) / net.W.shape[1]


def stage2(net: ThreeLayerNet, X2: np.ndarray, y2: np.ndarray, rng: np.random.Generator,
           H1: np.ndarray | None = None) -> ThreeLayerNet:
    """Redraw b at the learned pre-activation's scale and fit a by ridge (docs/theory.md §2.2,
    stage 2). ``H1``: ``net.shared_features(X2)``, when the caller has it."""
    cfg = net.config
    Z = net._on_features(lambda Hb: Hb @ net.W.T, X2, H1)
    spread = Z.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    b = rng.uniform(-cfg.bias_scale, cfg.bias_scale, size=cfg.m2) * spread
    H = activation(cfg.sigma2)(Z + b)
    a, choice = select_ridge(H, y2, rng, lambdas=cfg.lambdas, val_frac=cfg.val_frac)
    return replace(net, b=b, a=a, ridge=choice)


def fit_three_layer(X1, y1, X2, y2, rng: np.random.Generator, config: ThreeLayerConfig | None = None,
                    dist: str = "sphere") -> ThreeLayerNet:
    """The layer-wise algorithm of docs/theory.md §2.2 on (X1, y1) then fresh (X2, y2).

    Parameters
    ----------
    X1, y1 : ndarray
        Stage-1 inputs (n1, d) and targets.
    X2, y2 : ndarray
        Fresh stage-2 inputs and targets.
    rng : Generator
        Source of V, a and the stage-2 biases.
    config : ThreeLayerConfig or None
        Widths and step; None: the defaults.
    dist : str
        Input distribution, for the exact centring.

    Returns
    -------
    ThreeLayerNet
    """
    config = config or ThreeLayerConfig()
    X1 = check_array("X1", X1, ndim=2)
    X2 = check_array("X2", X2, shape=(None, X1.shape[1]))
    if X1.shape[0] < 1:
        raise SpecError("n1=0 is invalid: stage 1 needs samples; use n1 >= 1")
    if X2.shape[0] < 4:
        raise SpecError(f"n2={X2.shape[0]} is invalid: stage 2 ridge needs a validation split; "
                        f"use n2 >= 4")
    net = init_network(X1.shape[1], config, rng, dist)
    net = stage1(net, X1, check_array("y1", y1, shape=(X1.shape[0],)))
    return stage2(net, X2, check_array("y2", y2, shape=(X2.shape[0],)), rng)


_REFERENCE = {"d": 16, "n1": 4000, "n2": 1000, "m1": 2048, "m2": 128}


BASELINE_NAMES = ("poly_krr", "relu_rf", "two_layer_gd")


def three_layer_memory_bytes(d: int, n1: int, n2: int, m1: int, m2: int, *, n_test: int = 4000,
                             batch: int = 4096, baselines=()) -> float:
    """Peak bytes of :func:`run_three_layer` and of the two-layer ``baselines`` (names, or
    True for all three) at n = n1 + n2: the target's matrix A, the samples, V, W and its
    gradient, the stage-1 features (n1 x m1, not batched), the stage-2 and test activations,
    the stage-2 and test samples' first-layer features where they are kept for reuse
    (:data:`SHARED_FEATURE_BYTES`);
    poly_krr's Gram matrices (about 1.5 n^2 doubles and n_test x n), relu_rf's and
    two_layer_gd's features."""
    from theorycheck.budget import array_bytes as b

    baselines = BASELINE_NAMES if baselines is True else tuple(baselines or ())
    n = n1 + n2
    mem = (b(5, d, d) + b(2, n1 + n2 + n_test, d) + b(m1, d) + b(3, m2, m1)
           + b(2, n1, m1) + b(3, n1 + n2, m2) + b(2, min(batch, n_test), m1) + b(2, n_test, m2)
           + b(m2, m2) + _shared_bytes(n2, m1) + _shared_bytes(n_test, m1))
    extra = {"poly_krr": b(1.5, n, n) + b(min(n_test, 2048), n),
             "relu_rf": b(3, n + n_test, 1024) + b(1024, 1024),
             "two_layer_gd": b(6, n, 256) + b(2, n + n_test, d)}
    return max([mem] + [extra[name] + b(2, n + n_test, d) for name in baselines])


def check_three_layer_budget(d: int, n1: int, n2: int, config: "ThreeLayerConfig | None" = None,
                             *, n_test: int = 4000, baselines=(),
                             prefix: str = "") -> None:
    """Refuse (:class:`~theorycheck.errors.BudgetError`) a three-layer run beyond the memory
    budget (:mod:`theorycheck.budget`), naming the size furthest above its default (spelt
    ``prefix + name``: ``--m1`` on the command line) and the largest value that fits."""
    from theorycheck.budget import check_memory_of

    config = config or ThreeLayerConfig()
    sizes = {"d": d, "n1": n1, "n2": n2, "m1": config.m1, "m2": config.m2}

    def need(s):
        s = {k[len(prefix):]: v for k, v in s.items()}
        return three_layer_memory_bytes(s["d"], s["n1"], s["n2"], s["m1"], s["m2"],
                                        n_test=n_test, batch=config.batch, baselines=baselines)

    check_memory_of(need, {prefix + k: v for k, v in sizes.items()},
                    {prefix + k: v for k, v in _REFERENCE.items()},
                    what=("the three-layer run" if not baselines else
                          "the three-layer run and its baselines" if baselines is True else
                          f"the {' and '.join(baselines)} fit"),
                    lo={prefix + "d": 2, prefix + "n2": 4})


@dataclass(frozen=True)
class ThreeLayerRun:
    n1: int
    n2: int
    corr: float
    rel_mse: float
    lam: float


def run_three_layer(target, n1: int, n2: int, rng: np.random.Generator, *,
                    config: ThreeLayerConfig | None = None, n_test: int = 4000) -> ThreeLayerRun:
    """Draw n1 + n2 training and n_test test samples from ``target``, fit, and measure
    corr(phi, h*) and the relative test MSE (docs/theory.md §2.3).

    Parameters
    ----------
    target : QuadraticFeatureTarget
        The target f* (docs/theory.md §2.2.1).
    n1, n2 : int
        Stage-1 and stage-2 sample sizes.
    rng : Generator
        Source of samples and weights.
    config : ThreeLayerConfig or None
        The learner.
    n_test : int
        Test samples.

    Returns
    -------
    ThreeLayerRun
    """
    n1 = check_int("n1", n1, min_value=1)
    n2 = check_int("n2", n2, min_value=4)
    n_test = check_int("n_test", n_test, min_value=2)
    config = _check_config(config)
    _check_rng(rng)
    if not hasattr(target, "sample") or not hasattr(target, "d"):
        raise SpecError(f"target={target!r:.60} is invalid: a {type(target).__name__}; pass a "
                        f"target from quadratic_target(...) or single_index_target(...)")
    check_three_layer_budget(target.d, n1, n2, config, n_test=n_test)
    X1, y1 = target.sample(n1, rng)
    X2, y2 = target.sample(n2, rng)
    Xt, yt = target.sample(n_test, rng)
    net = fit_three_layer(X1, y1, X2, y2, rng, config, target.dist)
    Ht = net.shared_features(Xt)
    return ThreeLayerRun(n1, n2, correlation(learned_feature(net, Xt, Ht), target.feature(Xt)),
                         relative_mse(net(Xt, Ht), yt), net.ridge.lam)


def _check_config(config):
    if config is None:
        return ThreeLayerConfig()
    if not isinstance(config, ThreeLayerConfig):
        raise SpecError(f"config={config!r:.60} is invalid: a {type(config).__name__}; pass a "
                        f"ThreeLayerConfig(m1=..., m2=...) or None")
    return config


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise SpecError(f"rng={rng!r:.60} is invalid: a {type(rng).__name__}; pass a "
                        f"numpy.random.Generator, e.g. numpy.random.default_rng(0)")
    return rng


def split_budget(n: int, frac1: float = 0.5) -> tuple[int, int]:
    """n1 = round(frac1 n), n2 = n - n1 (the same total budget as a two-layer learner)."""
    n = check_int("n", n, min_value=8)
    frac1 = check_real("frac1", frac1, min_value=0.05, max_value=0.95)
    n1 = int(round(frac1 * n))
    return n1, n - n1


def n1_ladder(target, n1s: Sequence[int], n2: int, rng: np.random.Generator, *,
              config: ThreeLayerConfig | None = None, n_test: int = 4000) -> list[ThreeLayerRun]:
    """corr(phi, h*) and test loss along a ladder of n1 with common random numbers
    (docs/theory.md §2.3): nested stage-1 samples (the first n1 of one draw), and the same
    V, a, stage-2 sample, stage-2 biases and test set for every n1, so differences
    along the ladder come from n1 alone.

    Parameters
    ----------
    target : QuadraticFeatureTarget
        The target.
    n1s : sequence of int
        The stage-1 sample sizes, increasing.
    n2 : int
        Stage-2 sample size.
    rng : Generator
        Source of everything shared along the ladder.
    config : ThreeLayerConfig or None
        The learner.
    n_test : int
        Test samples.

    Returns
    -------
    list of ThreeLayerRun
    """
    n1s = [check_int("n1", n1, min_value=1) for n1 in n1s]
    if not n1s:
        raise SpecError("n1s=[] is invalid; pass at least one stage-1 sample size")
    n2 = check_int("n2", n2, min_value=4)
    config = config or ThreeLayerConfig()
    X1, y1 = target.sample(max(n1s), rng)
    X2, y2 = target.sample(n2, rng)
    Xt, yt = target.sample(check_int("n_test", n_test, min_value=2), rng)
    init_seed, stage2_seed = rng.integers(2**63, size=2)
    net0 = init_network(target.d, config, np.random.default_rng(init_seed), target.dist)
    # V and the centring are the same on every rung (unless the centring is re-estimated
    # from each stage-1 sample), so the stage-2 and test features are computed once
    shared = config.centre != "empirical"
    H2 = net0.shared_features(X2) if shared else None
    Ht = net0.shared_features(Xt) if shared else None
    feature_t = target.feature(Xt)
    runs = []
    for n1 in n1s:
        net = stage1(net0, X1[:n1], y1[:n1])
        net = stage2(net, X2, y2, np.random.default_rng(stage2_seed), H2)
        runs.append(ThreeLayerRun(n1, n2, correlation(learned_feature(net, Xt, Ht), feature_t),
                                  relative_mse(net(Xt, Ht), yt), net.ridge.lam))
    return runs
