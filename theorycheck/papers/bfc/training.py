"""Training the learner F on the target G*: progressive end-to-end (backward
feature correction), layerwise, and the two-layer baseline (docs/theory.md §1.5-§1.6).

Stages l = 2..L. At stage l the output uses layers <= l only (alpha_j = 0 for
j > l, and those layers are frozen), and

* ``mode="e2e"`` (progressive end-to-end, BFC): every layer <= l trains;
* ``mode="layerwise"``: only layer l trains; layers < l stay frozen;
* ``mode="two-layer"``: one wide quadratic layer on (x, sigma(x)), no hierarchy,
  trained for the same total number of steps (one stage).

Conventions [R] (defaults follow the measured reference setting of 1.6b):
Adam (lr 3e-3) with a cosine-decayed step size restarted at every stage
(3000 steps for stage 2 and 6000 for each later stage unless ``steps`` says otherwise) (the optimiser
state is reset too, so a layer frozen at a stage boundary keeps its exact
bits), minibatches of fresh samples each step (``N=None``, online) or drawn
from a fixed pool of ``N`` samples, the simplified tied learner K = W of width
``k`` (over-parameterised: the target's widths are smaller), squared loss.

Diagnostics are recorded on a log-spaced schedule of global steps: train loss
(mean over the steps since the last record), test loss, test loss relative to
the top term's energy alpha_L^2 Var(Sum G*_L), and per-layer feature error up to
a linear map and up to rotation (docs/theory.md §1.6). Every run is reproducible from
its config: same config, same numbers.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from theorycheck.papers.bfc.diagnostics import correction_ratio, feature_error_linear, feature_error_rotation, log_schedule
from theorycheck.errors import NumericalError, SpecError
from theorycheck.maths.gaussian import sample_inputs
from theorycheck.papers.bfc.learner import (LearnerParams, forward, init_learner, learner_spec, learner_spec_for,
                                            _check_reg, _fused_plan, _pick_path, _raise_nonfinite,
                                            _trainer_loss_grad)
from theorycheck.maths.optim import SCHEDULES, OptState, apply_updates, optimiser, step_sizes
from theorycheck.papers.bfc.target import BFCTarget, build_target, target_spec
from theorycheck.runs.config import check_config, setting
from theorycheck.validation import check_int, check_real

MODES = ("e2e", "layerwise", "two-layer")
LOSSES = ("squared", "logistic")
MEDIAN_SAMPLES = 1 << 16
#: Most input rows the trainer draws at once for fresh batches (several steps' worth; never past
#: an evaluation mark, so the generator's state at every checkpoint is that of step-by-step draws).
FRESH_CHUNK_ROWS = 1 << 15


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines one training run (hashable; the config of the ``bfc-train``
    run kind, whose ``seed`` is the run's seed). Build one with :func:`train_config`, which
    checks every field once; the instance is then trusted."""

    mode: str = setting("e2e", choices=MODES, help="e2e, layerwise or two-layer")
    # target G* (docs/theory.md §1.3)
    d: int = setting(16, min_value=1, help="input dimension")
    L: int = setting(3, min_value=2, max_value=8, help="number of layers of G*")
    k_target: int = setting(2, min_value=1, help="target width k_l")
    connections: str = setting("chain", choices=("chain", "dense"), help="target wiring")
    delta: float = setting(0.25, positive=True, help="information-gap exponent")
    centred: bool = setting(True, help="G*_1 = x^2 - 1 (true) or x^2")
    target_seed: int = setting(0, min_value=0, help="seed of the target's weights")
    # learner F (docs/theory.md §1.4)
    k: int = setting(4, min_value=1, help="learner hidden width")
    m: int | None = setting(None, min_value=1, help="untied K width (default k)")
    tied: bool = setting(True, help="tied learner K = W")
    B: float | tuple[float, ...] = setting(
        16.0, positive=True, allow_inf=True, form="real > 0 or inf, or a list of them, one per stage",
        help="truncation of the output square, or one per stage")
    init_scale: float = setting(0.1, positive=True, help="initialisation scale")
    two_layer_width: int = setting(16, min_value=1, help="width of the two-layer baseline")
    # optimisation
    steps: int | tuple[int, ...] | None = setting(
        None, form="integer >= 1, or a list of them, one per stage",
        help="steps per stage (default 3000, then 6000 per later stage)")
    lr: float | tuple[float, ...] = setting(3e-3, form="real > 0, or a list of them, one per stage",
                                            help="step size, or one per stage")
    batch: int = setting(256, min_value=1, help="minibatch size")
    N: int | None = setting(None, min_value=1, help="fixed training-set size (default: fresh samples)")
    optimizer: str = setting("adam", choices=("adam", "sgd"))
    loss: str = setting("squared", choices=LOSSES,
                        help="squared (regression on G*) or logistic (labels sign(G* - median))")
    schedule: str = setting("cosine", choices=SCHEDULES, help="step-size schedule within a stage")
    lambda_tie: float = setting(0.0, nonnegative=True, help="penalty tying K to W")
    lambda_wd: float = setting(0.0, nonnegative=True, help="weight decay")
    freeze: tuple[int, ...] = setting((), help="layers kept frozen")
    seed: int = setting(0, min_value=0, max_value=2**32 - 1, help="run seed")
    # evaluation
    n_test: int = setting(20000, min_value=100, help="test samples")
    eval_points: int = setting(24, min_value=2, help="diagnostic rows (log-spaced)")

    def normalised(self) -> "TrainConfig":
        """Cross-field checks, run once by :func:`train_config` (or the run engine): ``steps``
        and ``lr`` expanded to one value per stage, ``freeze`` sorted within 2..L, and the
        target settings checked by building its spec."""
        n = self.L - 1
        default_steps = (3000,) + (6000,) * (self.L - 2)
        steps = _per_stage("steps", default_steps if self.steps is None else self.steps, n,
                           lambda name, v: check_int(name, v, min_value=1))
        lr = _per_stage("lr", self.lr, n, lambda name, v: check_real(name, v, positive=True))
        freeze = tuple(sorted({check_int("freeze", l, min_value=2, max_value=self.L)
                               for l in self.freeze}))
        if isinstance(self.B, tuple):
            _per_stage("B", self.B, n, lambda name, v: v)
        out = dataclasses.replace(self, steps=steps, lr=lr, freeze=freeze)
        target_spec(out.d, out.L, k_target=out.k_target, connections=out.connections, delta=out.delta,
                    centred=out.centred, seed=out.target_seed)
        return out

    def budget(self) -> None:
        """Refuse a run beyond the memory or time budget (:func:`check_train_budget`); called
        before the run is recorded or started, never on a stored (finished) run."""
        check_train_budget(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


def train_config(**kwargs) -> TrainConfig:
    """Check keyword settings into a :class:`TrainConfig` (the one check; the schema is the
    dataclass's fields); unknown keys are named."""
    unknown = sorted(set(kwargs) - set(_FIELDS))
    if unknown:
        raise SpecError(f"unknown training setting(s) {unknown}; valid keys: {', '.join(_FIELDS)}")
    return check_config(TrainConfig, kwargs, what="training")


# Time model of a run (lower bounds, so that only runs certainly beyond the time budget are
# refused): a step costs at least 1 microsecond and 6 flops per parameter and sample, an
# evaluation 2 flops per parameter and test sample, at 50 GFLOP/s.
_STEP_FLOOR_S = 1e-6
_FLOPS = 5e10
_SIZE_KEYS = ("d", "k", "k_target", "two_layer_width", "batch", "n_test", "N")


def _learner_of(cfg: "TrainConfig", d: int, k: int, width: int):
    if cfg.mode == "two-layer":
        return learner_spec(d, 2, k=width, connections="chain", alphas=[1.0], centred=cfg.centred,
                            tied=True)
    m = None if cfg.tied else max(cfg.m or k, k)
    return learner_spec(d, cfg.L, k=k, m=m, connections=cfg.connections, delta=cfg.delta,
                        centred=cfg.centred, tied=cfg.tied)


def train_cost(cfg: "TrainConfig", **sizes) -> tuple[float, float]:
    """``(bytes, seconds)`` of one training run: peak memory (target, parameters with the
    optimiser state and the JSON checkpoint, a batch, the test set and its activations, the
    fixed pool) and a lower bound of the time (steps and evaluations). ``sizes`` overrides
    fields of ``cfg`` (``d``, ``k``, ``k_target``, ``two_layer_width``, ``batch``, ``n_test``,
    ``N``, ``total_steps``)."""
    from theorycheck.budget import array_bytes
    from theorycheck.papers.bfc.target import build_memory_bytes

    v = {k: getattr(cfg, k) for k in _SIZE_KEYS}
    v.update(sizes)
    d, n_test, batch, N = v["d"], v["n_test"], v["batch"], v["N"] or 0
    tspec = target_spec(d, cfg.L, k_target=v["k_target"], connections=cfg.connections, delta=cfg.delta,
                        centred=cfg.centred, seed=cfg.target_seed)
    params, rows, cols = _learner_of(cfg, d, v["k"], v["two_layer_width"]).sizes()
    ktot = sum(tspec.widths)
    mem = (build_memory_bytes(tspec)
           + array_bytes(params, 6) + 3 * params * 60.0            # theta, Adam, checkpoint
           + array_bytes(batch, cols + 4 * rows + 2 * d, 2)         # a step's activations
           + array_bytes(n_test, cols + 4 * rows + 3 * d + 3 * ktot)  # the evaluations
           + array_bytes(N, d + 1))                                 # the fixed pool
    total = v.get("total_steps", sum(cfg.steps or ()))
    evals = cfg.eval_points + cfg.L
    seconds = (total * max(_STEP_FLOOR_S, 6.0 * batch * params / _FLOPS)
               + evals * 2.0 * n_test * params / _FLOPS)
    return mem, seconds


def check_train_budget(cfg: "TrainConfig") -> None:
    """Refuse (:class:`~theorycheck.errors.BudgetError`) a run whose estimated memory or time
    (:func:`train_cost`) exceeds the budgets of :mod:`theorycheck.budget`, before it is
    recorded or started; the message names the size furthest above its default and the
    largest value that fits."""
    from theorycheck.budget import check_memory_of, check_time

    sizes = {k: getattr(cfg, k) for k in _SIZE_KEYS if getattr(cfg, k) is not None}
    if cfg.mode != "two-layer":
        sizes.pop("two_layer_width")
    reference = {f.name: f.default for f in dataclasses.fields(TrainConfig)
                 if f.name in _SIZE_KEYS and f.default is not None}
    reference["N"] = 20000
    check_memory_of(lambda s: train_cost(cfg, **s)[0], sizes, reference, what="the training run",
                    lo={"n_test": 100})
    total = int(sum(cfg.steps))
    check_time(lambda t: train_cost(cfg, total_steps=t)[1], "steps", total,
               shown=list(cfg.steps) if len(cfg.steps) > 1 else total,
               what=f"{total} training steps", total_of="steps")


def _per_stage(name, value, n, check) -> tuple:
    vals = tuple(value) if isinstance(value, (list, tuple)) else (value,) * n
    if len(vals) != n:
        raise SpecError(f"{name}={list(vals)!r} is invalid: {len(vals)} values for {n} stages "
                        f"(layers 2..{n + 1}); give {n} values or one")
    return tuple(check(f"{name}[{i}]", v) for i, v in enumerate(vals))


@dataclass
class TrainResult:
    """One training run: its config, the diagnostic curve rows, the summary and the
    trained parameters (docs/theory.md §1.5, §1.6)."""

    config: TrainConfig
    curves: list[dict]
    summary: dict
    params: LearnerParams = field(repr=False)
    seconds: float = 0.0

    def __repr__(self) -> str:
        """One line: mode, sizes, steps, the final losses and the time; never the curves.

        Examples
        --------
        >>> train(d=4, L=2, steps=20, batch=16, n_test=100, eval_points=3)  # doctest: +ELLIPSIS
        TrainResult(mode='e2e', d=4, L=2, steps=(20,), 3 curve rows, final rel_loss=..., ...s)
        """
        c, s = self.config, self.summary
        rel = s.get("final_rel_loss")
        return (f"TrainResult(mode={c.mode!r}, d={c.d}, L={c.L}, steps={c.steps}, "
                f"{len(self.curves)} curve rows, final rel_loss={_fmt(rel)}, "
                f"{self.seconds:.3g}s)")

    def _repr_html_(self) -> str:
        """The summary as a table (scalars only), with the config's key settings."""
        from theorycheck._display import fmt_num, html_table

        c = self.config
        rows = [("mode", c.mode), ("target", f"d={c.d}, L={c.L}, k*={c.k_target}, "
                                             f"{c.connections}, delta={c.delta:g}"),
                ("learner", f"k={c.k}, m={c.m or c.k}, tied={c.tied}, B={c.B}"),
                ("optimiser", f"{c.optimizer}, lr={c.lr}, steps={c.steps}, batch={c.batch}"),
                ("seed", c.seed), ("curve rows", len(self.curves)),
                ("seconds", f"{self.seconds:.3g}")]
        rows += [(k, fmt_num(v) if not isinstance(v, list) else v)
                 for k, v in self.summary.items() if k not in ("mode", "seconds")]
        return html_table("TrainResult", rows)


def _fmt(v) -> str:
    return "n/a" if v is None else f"{float(v):.4g}"


class MemoryRecorder:
    """The recorder protocol of :mod:`theorycheck.runs.kinds` (``log``, ``checkpoint``,
    ``resume``), kept in memory; the results store's recorder writes the same calls
    to SQLite in transactions."""

    def __init__(self, resume: Mapping[str, Any] | None = None):
        self.points: list[tuple[int, dict]] = []
        self.checkpoints: list[tuple[int, dict]] = []
        self.resume = resume

    def log(self, step: int, **values: float) -> None:
        self.points.append((int(step), dict(values)))

    def checkpoint(self, step: int, state: Mapping[str, Any]) -> None:
        self.checkpoints.append((int(step), dict(state)))


def make_target(cfg: TrainConfig) -> BFCTarget:
    return build_target(target_spec(cfg.d, cfg.L, k_target=cfg.k_target, connections=cfg.connections,
                                    delta=cfg.delta, centred=cfg.centred, seed=cfg.target_seed))


def make_learner(cfg: TrainConfig, target: BFCTarget) -> LearnerParams:
    if cfg.mode == "two-layer":
        spec = learner_spec(cfg.d, 2, k=cfg.two_layer_width, m=None, connections="chain",
                            alphas=[1.0], B=stage_B(cfg, 0), centred=cfg.centred, tied=True, loss=cfg.loss,
                            seed=cfg.seed)
    else:
        m = None if cfg.tied else (cfg.m or cfg.k)
        spec = learner_spec_for(target, k=cfg.k, m=m, tied=cfg.tied, B=stage_B(cfg, 0), loss=cfg.loss,
                                seed=cfg.seed)
    return init_learner(spec, rng=np.random.default_rng([cfg.seed, 0xA11]), scale=cfg.init_scale)


def stages(cfg: TrainConfig) -> list[tuple[int, int, float]]:
    """(stage layer, steps, lr) in order; the two-layer baseline has one stage of all the steps."""
    if cfg.mode == "two-layer":
        return [(2, int(sum(cfg.steps)), float(cfg.lr[0]))]
    return [(l, s, lr) for l, s, lr in zip(range(2, cfg.L + 1), cfg.steps, cfg.lr)]


def stage_B(cfg: TrainConfig, index: int) -> float:
    """The output truncation B of stage ``index`` (0 for stage 2): ``cfg.B`` itself, or its
    entry when it is given per stage (docs/theory.md §1.4)."""
    return float(cfg.B[index] if isinstance(cfg.B, tuple) else cfg.B)


def _stage_params(P: LearnerParams, cfg: TrainConfig, l: int) -> LearnerParams:
    spec = P.spec
    if isinstance(cfg.B, tuple) and cfg.mode != "two-layer":
        spec = dataclasses.replace(spec, B=stage_B(cfg, l - 2))
    alphas = tuple(a if j <= l else 0.0 for j, a in zip(range(2, spec.L + 1), spec.alphas))
    frozen = {j for j in range(2, spec.L + 1) if j > l}
    if cfg.mode == "layerwise":
        frozen |= {j for j in range(2, l)}
    frozen |= {j for j in cfg.freeze if j <= spec.L}
    return LearnerParams(dataclasses.replace(spec, alphas=alphas), P.theta, P.R, frozenset(frozen))


def label_median(target: BFCTarget) -> float:
    """The median of G* under the input law, estimated once from ``MEDIAN_SAMPLES`` inputs drawn
    from the target's seed: the threshold of the classification labels sign(G* - median)
    (docs/theory.md §1.4.4)."""
    X = sample_inputs(MEDIAN_SAMPLES, target.d, np.random.default_rng([target.spec.seed, 0x3ED]),
                      target.spec.dist)
    return float(np.median(target(X)))


def labeller(cfg: TrainConfig, target: BFCTarget) -> Callable[[np.ndarray], np.ndarray]:
    """x -> the training label: G*(x) (squared loss) or sign(G*(x) - median) in {-1, +1}
    (logistic loss; ties, of probability zero, go to +1)."""
    if cfg.loss == "squared":
        return target
    med = label_median(target)
    return lambda X: np.where(target(X) >= med, 1.0, -1.0)


def evaluate(P: LearnerParams, target: BFCTarget, X: np.ndarray, y: np.ndarray, S_star: dict,
             top_energy: float, upto: int | None = None, shift: float = 0.0) -> dict:
    """Test diagnostics of docs/theory.md §1.6 on a fixed test set. With the logistic loss
    (labels y in {-1, +1}): ``test_loss`` the mean logistic loss of F - ``shift``, ``rel_loss``
    that over log 2 (the loss of the constant F - shift = 0), ``class_err`` the fraction of
    sign(F - shift) != y and ``margin`` the median of y (F - shift)."""
    f, cache = forward(P, X, path="blas")
    if P.spec.loss == "logistic":
        z = y * (f - shift)
        out = {"test_loss": float(np.mean(np.logaddexp(0.0, -z)))}
        out["rel_loss"] = out["test_loss"] / math.log(2.0)
        out["class_err"] = float(np.mean(z <= 0))
        out["margin"] = float(np.median(z))
    else:
        out = {"test_loss": float(np.mean((f - y) ** 2))}
        out["rel_loss"] = out["test_loss"] / top_energy
    if P.spec.L == target.L:
        for l in range(2, (upto or target.L) + 1):
            S = cache["S"][l]
            out[f"err_lin_{l}"] = feature_error_linear(S, S_star[l])
            out[f"err_rot_{l}"] = feature_error_rotation(S, S_star[l])
    return out


def train(cfg: TrainConfig | None = None, *, recorder=None,
          progress: Callable[[dict], None] | None = None, **kwargs) -> TrainResult:
    """Run one training run.

    ``recorder`` follows :mod:`theorycheck.runs.kinds`' protocol: every diagnostic row is
    logged, a JSON-able checkpoint follows each row, and when ``recorder.resume``
    holds a checkpoint the run continues exactly where it stopped (same numbers as
    an uninterrupted run).
    """
    if cfg is None:
        cfg = train_config(**kwargs)
    elif kwargs:
        raise SpecError(f"pass either a TrainConfig or keyword settings, not both (got {sorted(kwargs)})")
    if not isinstance(cfg, TrainConfig):
        raise SpecError(f"cfg={cfg!r:.60} is invalid: a {type(cfg).__name__}, not a TrainConfig; "
                        f"build one with train_config(...) or pass keyword settings")
    if getattr(recorder, "resume", None) is None:
        check_train_budget(cfg)
    t0 = time.perf_counter()
    target = make_target(cfg)
    P = make_learner(cfg, target)
    label = labeller(cfg, target)
    logistic = cfg.loss == "logistic"
    test_rng = np.random.default_rng([cfg.target_seed, cfg.seed, 0x7E57])
    Xte = sample_inputs(cfg.n_test, cfg.d, test_rng, target.spec.dist)
    yte = label(Xte)
    S_star, _ = target.layers(Xte)
    top_energy = float(np.var(target.layer_terms(Xte)[target.L]))
    rng = np.random.default_rng([cfg.seed, 0xDA7A])
    pool = None
    if cfg.N is not None:
        Xp = sample_inputs(cfg.N, cfg.d, rng, target.spec.dist)
        pool = (Xp, label(Xp))

    plan = stages(cfg)
    total = sum(s for _, s, _ in plan)
    marks = set(log_schedule(total, cfg.eval_points)) | {sum(s for _, s, _ in plan[: i + 1])
                                                          for i in range(len(plan))}
    curves: list[dict] = []
    end_of_stage: dict[int, dict] = {}
    start_stage, start_it, gstep = 0, 0, 0
    opt, opt_state = optimiser(cfg.optimizer), None
    # logistic loss: a trainable output offset c (classifier sign(F - c); F >= 0), optimised
    # with theta as one more coordinate (docs/theory.md §1.4.4)
    vec = np.zeros(P.theta.size + 1) if logistic else P.theta
    resume = getattr(recorder, "resume", None)
    if resume is not None:
        P.theta[:] = np.asarray(resume["theta"], dtype=np.float64)
        if logistic:
            vec[-1] = float(resume.get("shift", 0.0))
        rng.bit_generator.state = resume["rng"]
        start_stage, start_it, gstep = resume["stage_index"], resume["it"], resume["gstep"]
        opt_state = _restore_opt_state(opt.name, resume)
        curves = list(resume.get("curves", []))
        end_of_stage = {int(k): v for k, v in resume.get("end_of_stage", {}).items()}

    running, n_running = 0.0, 0
    tie, wd = _check_reg(cfg.lambda_tie, cfg.lambda_wd)
    for si in range(start_stage, len(plan)):
        l, n_steps, lr0 = plan[si]
        Q = _stage_params(P, cfg, l)
        P_eval = P if not isinstance(cfg.B, tuple) else \
            LearnerParams(dataclasses.replace(P.spec, B=Q.spec.B), P.theta, P.R)
        mask = Q.trainable_mask().astype(np.float64)
        if logistic:
            mask = np.append(mask, 1.0)
            vec[:-1] = P.theta
        loss_grad = _trainer_loss_grad(Q, tie, wd, cfg.batch, shifted=logistic)
        it0 = start_it if si == start_stage else 0
        lrs = step_sizes(lr0, n_steps, cfg.schedule)
        if opt_state is None or it0 == 0:
            opt_state = opt.init(vec)
        runner = None if logistic or tie or wd else _FusedRunner.make(Q, cfg, opt)
        chunk_steps = max(1, FRESH_CHUNK_ROWS // cfg.batch)
        fresh = _Fresh()
        it = it0
        while it < n_steps:
            if runner is not None or (pool is None and fresh.empty):
                to_mark = min(n_steps - it, min(m for m in marks if m > gstep) - gstep)
            if runner is not None:      # the steps up to the next mark (or a chunk) in one kernel call
                if pool is None:
                    k = min(to_mark, chunk_steps)
                    Xp, yp = _draw(rng, cfg, target, k, label)
                    idx = np.arange(k * cfg.batch).reshape(k, cfg.batch)
                else:
                    k, (Xp, yp) = to_mark, pool
                    idx = rng.integers(0, Xp.shape[0], size=(k, cfg.batch))
                done, losses, opt_state = runner(lrs[it:it + k], mask, opt_state, Xp, yp, idx)
                if done < k:
                    try:
                        runner.raise_nonfinite(losses[done])
                    except NumericalError as exc:
                        raise NumericalError(
                            f"training diverged at stage {l}, step {it + done + 1} ({exc}); the "
                            f"last good checkpoint is kept: lower lr[{si}]={lr0}") from None
                for x in losses:
                    running += float(x)
                n_running += k
                gstep += k
                it += k - 1
            else:
                if pool is None:
                    if fresh.empty:
                        fresh.fill(*_draw(rng, cfg, target, min(to_mark, chunk_steps), label))
                    X, y = fresh.take(cfg.batch)
                else:
                    X, y = _batch(rng, cfg, target, pool, label)
                try:
                    if logistic:
                        loss, g, dc = loss_grad(X, y, float(vec[-1]))
                        g = np.append(g, dc)
                    else:
                        loss, g = loss_grad(X, y)
                except NumericalError as exc:
                    raise NumericalError(f"training diverged at stage {l}, step {it + 1} ({exc}); the "
                                         f"last good checkpoint is kept: lower lr[{si}]={lr0}") from None
                updates, opt_state = opt.update(g, opt_state, lrs[it] * mask)
                apply_updates(vec, updates)
                if logistic:
                    P.theta[:] = vec[:-1]
                running += loss
                n_running += 1
                gstep += 1
            if gstep in marks:
                row = {"step": gstep, "stage": l, "train_loss": running / n_running,
                       **evaluate(P_eval, target, Xte, yte, S_star, top_energy, upto=l,
                                  shift=float(vec[-1]) if logistic else 0.0)}
                running, n_running = 0.0, 0
                if not math.isfinite(row["test_loss"]):
                    raise NumericalError(f"test loss is not finite at stage {l}, step {it + 1}; "
                                         f"the last good checkpoint is kept: lower lr[{si}]={lr0}")
                curves.append(row)
                if it + 1 == n_steps:
                    end_of_stage[l] = row
                if recorder is not None:
                    recorder.log(gstep, **{k: v for k, v in row.items() if k != "step"})
                    done = it + 1 == n_steps
                    recorder.checkpoint(gstep, {
                        "theta": P.theta.tolist(), "rng": rng.bit_generator.state,
                        "stage_index": si + 1 if done else si, "it": 0 if done else it + 1,
                        "gstep": gstep, **_opt_checkpoint(opt_state, vec),
                        **({"shift": float(vec[-1])} if logistic else {}),
                        "curves": curves, "end_of_stage": {str(k): v for k, v in end_of_stage.items()}})
                if progress is not None:
                    progress(row)
            it += 1
        opt_state = None
    if isinstance(cfg.B, tuple) and cfg.mode != "two-layer":
        P = LearnerParams(dataclasses.replace(P.spec, B=stage_B(cfg, len(plan) - 1)), P.theta, P.R)
    summary = _summarise(cfg, curves, end_of_stage, target.L)
    if logistic:
        summary.update(final_class_err=curves[-1]["class_err"], final_margin=curves[-1]["margin"],
                       shift=float(vec[-1]))
    summary["seconds"] = time.perf_counter() - t0
    summary["steps_per_s"] = total / summary["seconds"] if resume is None else float("nan")
    return TrainResult(cfg, curves, summary, P, summary["seconds"])


def _opt_checkpoint(state: OptState, theta: np.ndarray) -> dict:
    """The optimiser state as checkpoint entries ``adam_m``, ``adam_v`` (zeros for SGD)."""
    m, v = state.moments or (np.zeros_like(theta), np.zeros_like(theta))
    return {"adam_m": m.tolist(), "adam_v": v.tolist()}


def _restore_opt_state(name: str, resume: Mapping[str, Any]) -> OptState:
    """The optimiser state of a checkpoint; its step count is the step within the stage."""
    moments = (np.array(resume["adam_m"]), np.array(resume["adam_v"])) if name == "adam" else ()
    return OptState(int(resume["it"]), moments)


class _FusedRunner:
    """Adam steps on given batches, many per call of the fused kernel
    (:func:`theorycheck.papers.bfc.learner_fused.fused_steps`, mode 3: gather, step, Adam,
    update): the loop body of :func:`train` for regression without regularisers, with the same
    bits. The caller draws the batches as the loop would: indices into the fixed pool
    (``rng.integers`` per step, as :func:`_batch`), or fresh inputs (:func:`_draw`) taken in
    order. A pool smaller than the batch is stepped on whole, each row weighted by its count
    in the batch over the batch size: the same loss and gradient summed in another order
    (equal to rounding, not bit for bit), at pool-size cost."""

    @classmethod
    def make(cls, Q: LearnerParams, cfg: TrainConfig, opt) -> "_FusedRunner | None":
        """A runner for stage parameters ``Q``, or None where the loop body must run step by
        step (another optimiser, a batch below the fused kernel's range)."""
        if opt.name != "adam" or Q.theta.dtype != np.float64 or _pick_path("auto", cfg.batch) != "fused":
            return None
        return cls(Q, cfg.batch, cfg.d, opt.hyper)

    def __init__(self, Q: LearnerParams, n: int, d: int, hyper):
        self.Q, self.hyper = Q, hyper
        self.adam = np.array([hyper["b1"], hyper["c1"], hyper["b2"], hyper["c2"], hyper["eps"]])
        self.head, (self.frozen, self.ptot), self.work = _fused_plan(Q, n)
        theta = Q.theta
        self.Xb, self.yb = np.empty((n, d)), np.empty(n)
        self.bufs = (np.empty_like(theta), np.empty(n), np.empty_like(theta), np.empty_like(theta))

    def __call__(self, lrs, mask, state, Xp, yp, idx):
        """Take ``len(lrs)`` steps, step t on the rows ``idx[t]`` of ``(Xp, yp)``:
        ``(steps done, their losses, the new optimiser state)``."""
        from theorycheck.papers.bfc.learner_fused import fused_steps

        k = len(lrs)
        weighted = Xp.shape[0] < self.Xb.shape[0]
        wts = np.empty(Xp.shape[0] if weighted else 0)
        h, c0 = self.hyper, state.count
        bc1 = np.array([1 - h["b1"] ** t for t in range(c0 + 1, c0 + k + 1)])
        bc2 = np.array([1 - h["b2"] ** t for t in range(c0 + 1, c0 + k + 1)])
        losses = np.empty(k)
        m, v = state.moments
        grad, f, scale, upd = self.bufs
        done = int(fused_steps(self.Q.theta, grad, self.Xb, self.yb, *self.head, 3, 0.0, 0.0, 0.0,
                               self.frozen, self.ptot, f, self.work, Xp, yp, idx,
                               np.asarray(lrs, dtype=np.float64), mask, m, v, self.adam, bc1, bc2,
                               self.Xb, self.yb, scale, upd, losses, wts))
        self.last = (Xp, yp) if weighted else (self.Xb, self.yb)
        return done, losses[:done + (done < k)], OptState(c0 + done, (m, v))

    def raise_nonfinite(self, loss: float) -> None:
        """The error :func:`loss_and_grad` raises for the last batch (or pool) stepped on."""
        _raise_nonfinite(self.Q, *self.last, loss)


class _Fresh:
    """Fresh batches drawn several steps at a time (:func:`_draw`), handed out in order."""

    def __init__(self):
        self.X, self.y, self.pos = None, None, 0

    @property
    def empty(self) -> bool:
        return self.X is None or self.pos == self.X.shape[0]

    def fill(self, X: np.ndarray, y: np.ndarray) -> None:
        self.X, self.y, self.pos = X, y, 0

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        i, self.pos = self.pos, self.pos + n
        return self.X[i:self.pos], self.y[i:self.pos]


def _draw(rng, cfg: TrainConfig, target: BFCTarget, steps: int, label=None):
    """The inputs and labels of ``steps`` fresh batches in one draw: the generator gives the
    same inputs as ``steps`` calls of :func:`_batch` (rows are drawn in order, each
    normalised on its own on the sphere)."""
    X = sample_inputs(steps * cfg.batch, cfg.d, rng, target.spec.dist)
    return X, (label or target)(X)


def _batch(rng, cfg: TrainConfig, target: BFCTarget, pool, label=None):
    if pool is None:
        X = sample_inputs(cfg.batch, cfg.d, rng, target.spec.dist)
        return X, (label or target)(X)
    idx = rng.integers(0, pool[0].shape[0], size=cfg.batch)
    return pool[0][idx], pool[1][idx]


def _summarise(cfg: TrainConfig, curves: list[dict], end_of_stage: dict, L: int) -> dict:
    final = curves[-1]
    out = {"mode": cfg.mode, "final_test_loss": final["test_loss"], "final_rel_loss": final["rel_loss"]}
    if cfg.mode == "two-layer":
        return out
    for l in range(2, L + 1):
        out[f"err_lin_{l}_final"] = final.get(f"err_lin_{l}")
        out[f"err_rot_{l}_final"] = final.get(f"err_rot_{l}")
        if l in end_of_stage and l < L:
            e = end_of_stage[l].get(f"err_lin_{l}")
            out[f"err_lin_{l}_after_stage"] = e
            out[f"err_rot_{l}_after_stage"] = end_of_stage[l].get(f"err_rot_{l}")
            out[f"correction_ratio_{l}"] = correction_ratio(e, final.get(f"err_lin_{l}"))
    improved = [l for l in range(2, L) if (out.get(f"correction_ratio_{l}") or 1.0) < 0.5]
    out["corrected_layers"] = improved
    return out


# --- the `bfc-train` run kind (results store and sweeps) -----------------------------------

def run_train_kind(config: TrainConfig, seed: int, recorder, progress=None) -> dict:
    """Run kind ``bfc-train``: one training run, recorded point by point, resumable;
    ``progress(row)`` is called with each diagnostic row (see :func:`train`)."""
    return train(config, recorder=recorder, progress=progress).summary
