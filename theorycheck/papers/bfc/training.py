"""Training the learner F on the target G*: progressive end-to-end (backward
feature correction), layerwise, and the two-layer baseline (THEORY.md 1.5-1.6).

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
a linear map and up to rotation (THEORY.md 1.6). Every run is reproducible from
its config: same config, same numbers.
"""

from __future__ import annotations

import contextvars
import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from theorycheck.papers.bfc.diagnostics import correction_ratio, feature_error_linear, feature_error_rotation, log_schedule
from theorycheck.errors import NumericalError, SpecError
from theorycheck.maths.gaussian import sample_inputs
from theorycheck.papers.bfc.learner import LearnerParams, forward, init_learner, learner_spec, learner_spec_for, loss_and_grad
from theorycheck.maths.optim import SCHEDULES, OptState, apply_updates, optimiser, step_size
from theorycheck.papers.bfc.target import BFCTarget, build_target, target_spec
from theorycheck.validation import check_choice, check_int, check_real

MODES = ("e2e", "layerwise", "two-layer")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines one training run (hashable; keys of the results store)."""

    mode: str = "e2e"
    # target G* (THEORY.md 1.3)
    d: int = 16
    L: int = 3
    k_target: int = 2
    connections: str = "chain"
    delta: float = 0.25
    centred: bool = True
    target_seed: int = 0
    # learner F (THEORY.md 1.4)
    k: int = 4
    m: int | None = None
    tied: bool = True
    B: float = 16.0
    init_scale: float = 0.1
    two_layer_width: int = 16
    # optimisation
    steps: int | tuple[int, ...] | None = None
    lr: float | tuple[float, ...] = 3e-3
    batch: int = 256
    N: int | None = None
    optimizer: str = "adam"
    schedule: str = "cosine"
    lambda_tie: float = 0.0
    lambda_wd: float = 0.0
    freeze: tuple[int, ...] = ()
    seed: int = 0
    # evaluation
    n_test: int = 20000
    eval_points: int = 24

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


def train_config(**kwargs) -> TrainConfig:
    """Validate keyword settings into a :class:`TrainConfig`; unknown keys are named."""
    unknown = sorted(set(kwargs) - set(_FIELDS))
    if unknown:
        raise SpecError(f"unknown training setting(s) {unknown}; valid keys: {', '.join(_FIELDS)}")
    cfg = TrainConfig(**{k: v for k, v in kwargs.items()})
    mode = check_choice("mode", cfg.mode, MODES)
    L = check_int("L", cfg.L, min_value=2, max_value=8)
    default_steps = (3000,) + (6000,) * (L - 2)
    steps = _per_stage("steps", default_steps if cfg.steps is None else cfg.steps, L - 1,
                       lambda n, v: check_int(n, v, min_value=1))
    lr = _per_stage("lr", cfg.lr, L - 1, lambda n, v: check_real(n, v, positive=True))
    freeze = tuple(sorted({check_int("freeze", l, min_value=2, max_value=L) for l in cfg.freeze}))
    out = dataclasses.replace(
        cfg, mode=mode, L=L, d=check_int("d", cfg.d, min_value=1),
        k_target=check_int("k_target", cfg.k_target, min_value=1),
        delta=check_real("delta", cfg.delta, positive=True),
        target_seed=check_int("target_seed", cfg.target_seed, min_value=0),
        k=check_int("k", cfg.k, min_value=1),
        m=None if cfg.m is None else check_int("m", cfg.m, min_value=1),
        B=check_real("B", cfg.B, positive=True) if cfg.B != math.inf else math.inf,
        init_scale=check_real("init_scale", cfg.init_scale, positive=True),
        two_layer_width=check_int("two_layer_width", cfg.two_layer_width, min_value=1),
        steps=steps, lr=lr,
        batch=check_int("batch", cfg.batch, min_value=1),
        N=None if cfg.N is None else check_int("N", cfg.N, min_value=1),
        optimizer=check_choice("optimizer", cfg.optimizer, ("adam", "sgd")),
        schedule=check_choice("schedule", cfg.schedule, SCHEDULES),
        lambda_tie=check_real("lambda_tie", cfg.lambda_tie, nonnegative=True),
        lambda_wd=check_real("lambda_wd", cfg.lambda_wd, nonnegative=True),
        freeze=freeze, seed=check_int("seed", cfg.seed, min_value=0, max_value=2**32 - 1),
        n_test=check_int("n_test", cfg.n_test, min_value=100),
        eval_points=check_int("eval_points", cfg.eval_points, min_value=2))
    target_spec(out.d, out.L, k=out.k_target, connections=out.connections, delta=out.delta,
                centred=out.centred, seed=out.target_seed)
    return out


def _per_stage(name, value, n, check) -> tuple:
    vals = tuple(value) if isinstance(value, (list, tuple)) else (value,) * n
    if len(vals) != n:
        raise SpecError(f"{name}={list(vals)!r} is invalid: {len(vals)} values for {n} stages "
                        f"(layers 2..{n + 1}); give {n} values or one")
    return tuple(check(f"{name}[{i}]", v) for i, v in enumerate(vals))


@dataclass
class TrainResult:
    config: TrainConfig
    curves: list[dict]
    summary: dict
    params: LearnerParams = field(repr=False)
    seconds: float = 0.0


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
    return build_target(target_spec(cfg.d, cfg.L, k=cfg.k_target, connections=cfg.connections,
                                    delta=cfg.delta, centred=cfg.centred, seed=cfg.target_seed))


def make_learner(cfg: TrainConfig, target: BFCTarget) -> LearnerParams:
    if cfg.mode == "two-layer":
        spec = learner_spec(cfg.d, 2, k=cfg.two_layer_width, m=None, connections="chain",
                            alphas=[1.0], B=cfg.B, centred=cfg.centred, tied=True, seed=cfg.seed)
    else:
        m = None if cfg.tied else (cfg.m or cfg.k)
        spec = learner_spec_for(target, k=cfg.k, m=m, tied=cfg.tied, B=cfg.B, seed=cfg.seed)
    return init_learner(spec, rng=np.random.default_rng([cfg.seed, 0xA11]), scale=cfg.init_scale)


def stages(cfg: TrainConfig) -> list[tuple[int, int, float]]:
    """(stage layer, steps, lr) in order; the two-layer baseline has one stage of all the steps."""
    if cfg.mode == "two-layer":
        return [(2, int(sum(cfg.steps)), float(cfg.lr[0]))]
    return [(l, s, lr) for l, s, lr in zip(range(2, cfg.L + 1), cfg.steps, cfg.lr)]


def _stage_params(P: LearnerParams, cfg: TrainConfig, l: int) -> LearnerParams:
    spec = P.spec
    alphas = tuple(a if j <= l else 0.0 for j, a in zip(range(2, spec.L + 1), spec.alphas))
    frozen = {j for j in range(2, spec.L + 1) if j > l}
    if cfg.mode == "layerwise":
        frozen |= {j for j in range(2, l)}
    frozen |= {j for j in cfg.freeze if j <= spec.L}
    return LearnerParams(dataclasses.replace(spec, alphas=alphas), P.theta, P.R, frozenset(frozen))


def evaluate(P: LearnerParams, target: BFCTarget, X: np.ndarray, y: np.ndarray, S_star: dict,
             top_energy: float, upto: int | None = None) -> dict:
    """Test diagnostics of THEORY.md 1.6 on a fixed test set."""
    f, cache = forward(P, X, path="blas")
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
    t0 = time.perf_counter()
    target = make_target(cfg)
    P = make_learner(cfg, target)
    test_rng = np.random.default_rng([cfg.target_seed, cfg.seed, 0x7E57])
    Xte = sample_inputs(cfg.n_test, cfg.d, test_rng, target.spec.dist)
    yte = target(Xte)
    S_star, _ = target.layers(Xte)
    top_energy = float(np.var(target.layer_terms(Xte)[target.L]))
    rng = np.random.default_rng([cfg.seed, 0xDA7A])
    pool = None
    if cfg.N is not None:
        Xp = sample_inputs(cfg.N, cfg.d, rng, target.spec.dist)
        pool = (Xp, target(Xp))

    plan = stages(cfg)
    total = sum(s for _, s, _ in plan)
    marks = set(log_schedule(total, cfg.eval_points)) | {sum(s for _, s, _ in plan[: i + 1])
                                                          for i in range(len(plan))}
    curves: list[dict] = []
    end_of_stage: dict[int, dict] = {}
    start_stage, start_it, gstep = 0, 0, 0
    opt, opt_state = optimiser(cfg.optimizer), None
    resume = getattr(recorder, "resume", None)
    if resume is not None:
        P.theta[:] = np.asarray(resume["theta"], dtype=np.float64)
        rng.bit_generator.state = resume["rng"]
        start_stage, start_it, gstep = resume["stage_index"], resume["it"], resume["gstep"]
        opt_state = _restore_opt_state(opt.name, resume)
        curves = list(resume.get("curves", []))
        end_of_stage = {int(k): v for k, v in resume.get("end_of_stage", {}).items()}

    running, n_running = 0.0, 0
    for si in range(start_stage, len(plan)):
        l, n_steps, lr0 = plan[si]
        Q = _stage_params(P, cfg, l)
        mask = Q.trainable_mask().astype(np.float64)
        it0 = start_it if si == start_stage else 0
        if opt_state is None or it0 == 0:
            opt_state = opt.init(P.theta)
        for it in range(it0, n_steps):
            X, y = _batch(rng, cfg, target, pool)
            try:
                loss, g = loss_and_grad(Q, X, y, lambda_tie=cfg.lambda_tie, lambda_wd=cfg.lambda_wd)
            except NumericalError as exc:
                raise NumericalError(f"training diverged at stage {l}, step {it + 1} ({exc}); the "
                                     f"last good checkpoint is kept: lower lr[{si}]={lr0}") from None
            lr = step_size(lr0, it, n_steps, cfg.schedule)
            updates, opt_state = opt.update(g, opt_state, lr * mask)
            apply_updates(P.theta, updates)
            running += loss
            n_running += 1
            gstep += 1
            if gstep in marks:
                row = {"step": gstep, "stage": l, "train_loss": running / n_running,
                       **evaluate(P, target, Xte, yte, S_star, top_energy, upto=l)}
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
                        "gstep": gstep, **_opt_checkpoint(opt_state, P.theta),
                        "curves": curves, "end_of_stage": {str(k): v for k, v in end_of_stage.items()}})
                if progress is not None:
                    progress(row)
        opt_state = None
    summary = _summarise(cfg, curves, end_of_stage, target.L)
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


def _batch(rng, cfg: TrainConfig, target: BFCTarget, pool):
    if pool is None:
        X = sample_inputs(cfg.batch, cfg.d, rng, target.spec.dist)
        return X, target(X)
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

PROGRESS: contextvars.ContextVar = contextvars.ContextVar("theorycheck_train_progress", default=None)

_FORMS = {bool: "true/false", int: "integer", float: "number", str: "text"}


def _field_form(f) -> str:
    if f.name in ("steps",):
        return "integer or list of integers, one per stage"
    if f.name in ("lr",):
        return "number or list of numbers, one per stage"
    if f.name == "freeze":
        return "list of layer indices"
    if f.name in ("m", "N"):
        return "integer or none"
    return _FORMS.get(type(f.default), "value")


def _normalise(name: str, value):
    """JSON-stable form of one setting (tuples become lists); full checks in train_config."""
    if isinstance(value, tuple):
        return list(value)
    return value


def train_schema() -> dict:
    """The config keys of the ``bfc-train`` run kind: every TrainConfig field but ``seed``
    (the run's seed)."""
    from theorycheck.runs.kinds import Param
    out = {}
    for f in dataclasses.fields(TrainConfig):
        if f.name == "seed":
            continue
        out[f.name] = Param(_field_form(f), _normalise(f.name, f.default), _normalise)
    return out


def run_train_kind(config: dict, seed: int, recorder) -> dict:
    """Run kind ``bfc-train``: one training run, recorded point by point, resumable."""
    cfg = train_config(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()},
                       seed=seed)
    res = train(cfg, recorder=recorder, progress=PROGRESS.get())
    return res.summary
