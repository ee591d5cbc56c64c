"""Empirical sample-size exponents (docs/theory.md §2.3): for each learner, the sample
size N_required(d) at which the relative test MSE first drops to ``eps``, and the
fit N_required ~ d^e over a range of d, with an interval over seeds.

The study is a plain function over (d list, n list, seeds); every (learner, d, n,
seed) cell is an independent task run through ``map`` (default: builtin map), so
any map-like executor (``concurrent.futures.Executor.map``, the sweep engine) can
run it. Tasks and the task function are module-level and picklable.

The fit (N_required per (d, seed), the exponent per seed, the t-interval over seeds, and
how censored curves are treated) is :mod:`theorycheck.maths.exponents`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from theorycheck.errors import SpecError
from theorycheck.maths.exponents import ExponentRow, fit_row
from theorycheck.papers.three_layer.baselines import BASELINES, run_baseline
from theorycheck.papers.three_layer.quadratic_features import quadratic_target
from theorycheck.papers.three_layer.learner import ThreeLayerConfig, run_three_layer, split_budget
from theorycheck.runs.config import setting
from theorycheck.validation import check_choice, check_int, check_real

LEARNERS = ("three_layer",) + BASELINES


@dataclass(frozen=True)
class ExponentTask:
    """One (learner, d, n, seed) cell; also the config of the ``three-layer-fit`` run kind
    (whose ``seed`` is the run's seed). Defaults [R]."""

    learner: str = setting(choices=LEARNERS, help="three_layer or a two-layer baseline")
    d: int = setting(min_value=2, help="input dimension")
    n: int = setting(min_value=8, help="total sample budget (three-layer: n1 = frac1 n, n2 = n - n1)")
    seed: int = setting(min_value=0, help="seed of the target and the samples")
    dist: str = setting("sphere", choices=("sphere", "gaussian"), help="input distribution")
    m1: int = setting(2048, min_value=1, help="three-layer first-layer width")
    m2: int = setting(128, min_value=1, help="three-layer second-layer width")
    sigma1: str = setting("abs", choices=("abs", "relu", "tanh", "square"),
                          help="three-layer first activation")
    frac1: float = setting(0.8, positive=True, max_value=0.99, help="three-layer stage-1 share of n")
    n_test: int = setting(2000, min_value=10, help="test samples")
    gd_m: int = setting(128, min_value=1, help="two_layer_gd width")
    gd_steps: int = setting(400, min_value=1, help="two_layer_gd full-batch GD steps")

    def budget(self) -> None:
        """The memory budget (:mod:`theorycheck.budget`), checked before the cell is recorded
        or run (never for a cell already in the store)."""
        from theorycheck.budget import check_memory_of
        from theorycheck.papers.three_layer.learner import three_layer_memory_bytes

        baselines = () if self.learner == "three_layer" else (self.learner,)

        def need(s):
            n1 = max(1, int(round(self.frac1 * s["n"]))) if not baselines else s["n"]
            n2 = max(4, s["n"] - n1) if not baselines else 0
            return three_layer_memory_bytes(s["d"], n1, n2, s["m1"], s["m2"], n_test=self.n_test,
                                            baselines=baselines)

        check_memory_of(need, {"n": self.n, "d": self.d, "m1": self.m1, "m2": self.m2},
                        {"n": 4000, "d": 16, "m1": 2048, "m2": 128},
                        what=f"the {self.learner} cell", lo={"n": 8, "d": 2})


@dataclass(frozen=True)
class ExponentCell:
    task: ExponentTask
    rel_mse: float
    corr: float | None = None


def run_exponent_task(task: ExponentTask) -> ExponentCell:
    """Fit one learner on one (d, n, seed) draw; the target A depends on (d, seed) only."""
    target = quadratic_target(task.d, seed=np.random.default_rng([task.seed, task.d]), dist=task.dist)
    rng = np.random.default_rng([task.seed, task.d, task.n, LEARNERS.index(task.learner)])
    if task.learner == "three_layer":
        n1, n2 = split_budget(task.n, task.frac1)
        cfg = ThreeLayerConfig(m1=task.m1, m2=task.m2, sigma1=task.sigma1)
        r = run_three_layer(target, n1, n2, rng, config=cfg, n_test=task.n_test)
        return ExponentCell(task, r.rel_mse, r.corr)
    opts = {"m": task.gd_m, "steps": task.gd_steps} if task.learner == "two_layer_gd" else {}
    return ExponentCell(task, run_baseline(task.learner, target, task.n, rng, n_test=task.n_test,
                                           **opts))


def check_study_grid(ds, ns, seeds, learners) -> tuple[list[int], list[int], list[int]]:
    """Validated (ds, ns, seeds) of an exponent study: at least 2 values of d and n to fit a
    slope, at least 2 seeds for an interval, known learners. Seeds keep their given order."""
    ds = sorted({check_int("d", d, min_value=2) for d in ds})
    ns = sorted({check_int("n", n, min_value=8) for n in ns})
    seeds = list(dict.fromkeys(check_int("seed", s, min_value=0) for s in seeds))
    if len(ds) < 2 or len(ns) < 2:
        raise SpecError(f"ds={ds} and ns={ns} must each have at least 2 values to fit an exponent; "
                        f"pass more grid points")
    if len(seeds) < 2:
        raise SpecError(f"seeds={seeds} gives no interval; pass at least 2 seeds (5 recommended)")
    for name in learners:
        check_choice("learner", name, LEARNERS)
    return ds, ns, seeds


def exponent_study(ds: Iterable[int], ns: Iterable[int], seeds: Iterable[int], *,
                   learners: Sequence[str] = ("three_layer", "poly_krr", "relu_rf"),
                   eps: float = 0.5, map: Callable = map, **task_options):
    """Run every (learner, d, n, seed) cell through ``map`` and fit the exponents.

    Returns ``(rows, cells)``: one :class:`ExponentRow` per learner and the raw cells.

    Parameters
    ----------
    ds, ns, seeds : iterable of int
        Dimensions, total sample sizes and seeds (docs/theory.md §2.3.2).
    learners : sequence of str
        ``three_layer`` and baselines.
    eps : float
        Relative test error threshold of the fit.
    map : callable
        A ``map`` to run the cells with.
    **task_options
        Fields of the ``three-layer-fit`` config (``m1``, ``frac1``, ``n_test``, ...).
    """
    ds, ns, seeds = check_study_grid(ds, ns, seeds, learners)
    eps = check_real("eps", eps, positive=True)
    tasks = [ExponentTask(l, d, n, s, **task_options) for l in learners for d in ds for n in ns
             for s in seeds]
    cells = list(map(run_exponent_task, tasks))
    return exponent_rows(cells, eps), cells


def exponent_rows(cells: Sequence[ExponentCell], eps: float) -> list[ExponentRow]:
    """Fit one :class:`ExponentRow` per learner from measured cells at threshold ``eps``
    (so one study can be read at several thresholds)."""
    eps = check_real("eps", eps, positive=True)
    loss = {(c.task.learner, c.task.d, c.task.n, c.task.seed): c.rel_mse for c in cells}
    learners = list(dict.fromkeys(c.task.learner for c in cells))
    ds = sorted({c.task.d for c in cells})
    ns = sorted({c.task.n for c in cells})
    seeds = sorted({c.task.seed for c in cells})
    return [fit_row(l, ds, seeds, {(d, s): (ns, [loss[(l, d, n, s)] for n in ns])
                                   for d in ds for s in seeds}, eps)
            for l in learners]


def format_exponent_table(rows: Sequence[ExponentRow], eps: float) -> str:
    lines = [f"| learner | exponent e (N_required ~ d^e at rel. MSE <= {eps:g}) | 95% interval | "
             f"seeds fitted | censored (seed, d) |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.learner} | {r.exponent:.2f} | [{r.lo:.2f}, {r.hi:.2f}] | "
                     f"{r.seeds_fitted} | {r.censored} |")
    return "\n".join(lines)


def cells_to_records(cells) -> list[dict]:
    return [{**asdict(c.task), "rel_mse": c.rel_mse, "corr": c.corr} for c in cells]
