"""Sample-complexity scaling of kernel methods against the network on the BFC target
(docs/theory.md §1.7 "scaling to check", 1.6b "same fixed N").

Every learner sees the same data: the target G* (docs/theory.md §1.3, drawn from ``seed``), the
same fixed pool of N training inputs (the pool :func:`theorycheck.papers.bfc.training.train` draws for
``N=N``) and the same test set and top-term energy as the trainer. The network is the
progressive end-to-end learner ``train(mode='e2e', N=N, steps=...)``; the kernels are those
of :mod:`theorycheck.papers.bfc.ntk` with the ridge chosen by validation.

Relative test error [R]: E[(f - G*)^2] / (alpha_L^2 Var(Sum G*_L)) on the trainer's test set
(the trainer's ``rel_loss``, docs/theory.md §1.6). N_required(d) is the first N of the grid at which
it drops to ``eps`` (log-linear interpolation), and N_required ~ d^e is fitted per seed with a
t-interval over seeds (:mod:`theorycheck.maths.exponents`, shared with the three-layer study).

Each (learner, d, L, N, seed) cell is an independent task run through ``map`` (builtin map,
an executor's map); the run kind ``kernel-fit`` runs one cell so that
``theorycheck sweep examples/kernel_scaling.toml`` runs the full scale.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from theorycheck.maths.exponents import fit_row
from theorycheck.maths.gaussian import sample_inputs
from theorycheck.errors import SpecError
from theorycheck.maths.kernel_methods import (LAMBDAS, SPECTRAL, GramPool, fit_kernel_ridge,
                                               gram_memory_bytes)
from theorycheck.maths.metrics import relative_mse
from theorycheck.papers.bfc.ntk import KERNELS, make_kernel
from theorycheck.runs.kinds import register_run_kind, setting
from theorycheck.validation import check_choice, check_int, check_real

LEARNERS = KERNELS + ("network",)


@dataclass(frozen=True)
class KernelTask:
    learner: str
    d: int
    n: int
    seed: int
    L: int = 2
    q: int | None = None          # poly degree; None: 2^L, the top degree of G*
    bandwidth: float = 1.0
    m: int = 1024
    k_target: int = 2
    delta: float = 0.25
    steps: int = 1500             # network: steps per stage
    n_test: int = 4000
    ridge_grid: str = "fixed"     # "fixed": LAMBDAS; "spectral": down to the interpolation regime
    ridge_solver: str = "eigh"    # a spectral path: one eigendecomposition, or "cholesky" per penalty


#: ``KernelTask.ridge_grid``: the fixed grid of :data:`theorycheck.maths.kernel_methods.LAMBDAS`
#: or :func:`theorycheck.maths.kernel_methods.spectral_lambdas` (one eigendecomposition).
RIDGE_GRIDS = ("fixed", "spectral")
#: ``KernelTask.ridge_solver``: :data:`theorycheck.maths.ridge.PATH_SOLVERS`.
RIDGE_SOLVERS = ("eigh", "cholesky")


@dataclass(frozen=True)
class KernelCell:
    task: KernelTask
    rel_mse: float
    seconds: float
    ridge: float | None = None


def _config(task: KernelTask):
    from theorycheck.papers.bfc.training import train_config
    return train_config(mode="e2e", d=task.d, L=task.L, k_target=task.k_target, delta=task.delta,
                        target_seed=task.seed, seed=task.seed, N=task.n, n_test=task.n_test,
                        steps=task.steps, eval_points=2)


def _data(task: KernelTask):
    from theorycheck.papers.bfc.training import make_target
    cfg = _config(task)
    target = make_target(cfg)
    Xte = sample_inputs(cfg.n_test, cfg.d, np.random.default_rng([cfg.target_seed, cfg.seed, 0x7E57]),
                        target.spec.dist)
    top = float(np.var(target.layer_terms(Xte)[target.L]))
    X = sample_inputs(cfg.N, cfg.d, np.random.default_rng([cfg.seed, 0xDA7A]), target.spec.dist)
    return cfg, target, X, target(X), Xte, target(Xte), top


def run_kernel_task(task: KernelTask) -> KernelCell:
    """Fit one learner on one (d, L, N, seed) draw and measure its relative test error."""
    return run_kernel_curve((task,))[0]


#: Kernels whose Gram matrix depends on the inputs only (not on the cell's generator), so
#: that one matrix serves every N of a curve.
POOLED = ("poly", "gaussian")


def curve_key(task: KernelTask) -> tuple:
    """Cells with the same key differ only in N: they share the data and the Gram matrix."""
    return (task.learner, task.L, task.d, task.seed) + tuple(
        v for k, v in sorted(asdict(task).items()) if k not in ("learner", "L", "d", "seed", "n"))


def run_kernel_curve(tasks: Sequence[KernelTask]) -> list[KernelCell]:
    """The cells of one learning curve (tasks equal but for N), in the given order.

    The data of the largest N is drawn once (the pool of N inputs is nested: the first n of
    them are the pool for n) and, for the kernels of :data:`POOLED`, the Gram matrices of the
    pool and of the test set are computed once and sliced per N
    (:class:`theorycheck.maths.kernel_methods.GramPool`). Each cell keeps its own
    validation split and generator, so every cell equals :func:`run_kernel_task`'s per-cell
    computation to rounding (tests/test_kernel_curves.py). The network is trained per cell.
    """
    tasks = list(tasks)
    if len({curve_key(t) for t in tasks}) != 1:
        raise SpecError("run_kernel_curve takes the cells of one curve (equal but for n); group "
                        "them with curve_key")
    check_choice("learner", tasks[0].learner, LEARNERS)
    check_choice("ridge_grid", tasks[0].ridge_grid, RIDGE_GRIDS)
    check_choice("ridge_solver", tasks[0].ridge_solver, RIDGE_SOLVERS)
    if tasks[0].learner == "network":
        return [_network_cell(t) for t in tasks]
    t0 = time.perf_counter()
    big = max(tasks, key=lambda t: t.n)
    cfg, target, X, y, Xte, yte, top = _data(big)
    pool = GramPool(X, Xte) if big.learner in POOLED and len(tasks) > 1 else None
    shared = time.perf_counter() - t0
    cells = []
    for task in tasks:
        t1 = time.perf_counter()
        n = task.n
        rng = np.random.default_rng([task.seed, task.d, n, LEARNERS.index(task.learner)])
        learner = None
        if task.learner == "ntk":
            from theorycheck.papers.bfc.training import make_learner
            learner = make_learner(_config(task), target)
        spec = make_kernel(task.learner, task.d, q=task.q or 2 ** task.L, bandwidth=task.bandwidth,
                           m=task.m, rng=rng, learner=learner)
        fit = fit_kernel_ridge(spec, X[:n], y[:n], rng, pool=pool,
                               lambdas=SPECTRAL if task.ridge_grid == "spectral" else LAMBDAS,
                               path_solver=task.ridge_solver)
        pred = pool.predict(fit) if pool is not None else fit(Xte)
        seconds = time.perf_counter() - t1 + (shared if task is big else 0.0)
        cells.append(KernelCell(task, relative_mse(pred, yte, top), seconds, fit.lam))
    return cells


def curve_memory_bytes(n: int, n_test: int = 4000, *, spectral: bool = False) -> int:
    """Peak bytes of one kernel curve whose largest sample is n: the pooled Gram matrices
    (n^2 and n_test n doubles, :class:`~theorycheck.maths.kernel_methods.GramPool`) and the
    largest cell's solve (:func:`~theorycheck.maths.kernel_methods.gram_memory_bytes`).

    Examples
    --------
    >>> curve_memory_bytes(1000, 100) - gram_memory_bytes(1000) == 8 * (1000 ** 2 + 100 * 1000)
    True
    """
    return gram_memory_bytes(n, spectral=spectral) + 8 * (n * n + n_test * n)


def _network_cell(task: KernelTask) -> KernelCell:
    from theorycheck.papers.bfc.training import train
    t0 = time.perf_counter()
    cfg, *_ = _data(task)
    res = train(cfg)
    return KernelCell(task, float(res.summary["final_rel_loss"]), time.perf_counter() - t0)


def curve_cost(tasks: Sequence[KernelTask]) -> float:
    """A rough relative cost of a curve (for scheduling the longest first): cubic in N for
    the kernels' solves, steps times stages for the network."""
    t = tasks[0]
    if t.learner == "network":
        return sum(1e-3 * t.steps * t.L * (1.0 + t.n / 4096) for t in tasks)
    return sum((t.n / 1000.0) ** 3 + t.n / 1000.0 for t in tasks)


def kernel_study(ds: Iterable[int], ns: Iterable[int], seeds: Iterable[int], *, Ls: Sequence[int] = (2,),
                 learners: Sequence[str] = ("poly", "network"), map: Callable = map, **options):
    """Every (learner, L, d, N, seed) cell; returns the cells in the order (L, learner, d, N,
    seed).

    The cells are run as curves (:func:`run_kernel_curve`, one per (learner, L, d, seed)),
    the costliest first, through ``map``.

    Parameters
    ----------
    ds, ns, seeds : iterable of int
        Dimensions, sample sizes N and seeds.
    Ls : sequence of int
        Target depths.
    learners : sequence of str
        ``poly``, ``gaussian``, ``ntk``, ``rf``, ``network``.
    map : callable
        A ``map`` to run the curves with (builtin map, or
        :func:`theorycheck.runs.pool.process_map`'s).
    **options
        Fields of the cell task (``m``, ``steps``, ``n_test``, ``delta``, ``ridge_grid``, ...).

    Returns
    -------
    list of KernelCell
    """
    ds = sorted({check_int("d", d, min_value=2) for d in ds})
    ns = sorted({check_int("N", n, min_value=8) for n in ns})
    seeds = list(dict.fromkeys(check_int("seed", s, min_value=0) for s in seeds))
    for name in learners:
        check_choice("learner", name, LEARNERS)
    tasks = [KernelTask(l, d, n, s, L=L, **options) for L in Ls for l in learners for d in ds
             for n in ns for s in seeds]
    groups: dict = {}
    for t in tasks:
        groups.setdefault(curve_key(t), []).append(t)
    curves = list(groups.values())
    if any(c[0].learner == "network" for c in curves):  # cells train independently: spread them
        curves = [c for c in curves if c[0].learner != "network"] + [
            [t] for c in curves if c[0].learner == "network" for t in c]
    curves.sort(key=curve_cost, reverse=True)
    done = {}
    for curve, cells in zip(curves, map(run_kernel_curve, curves)):
        done.update({id(t): c for t, c in zip(curve, cells)})
    return [done[id(t)] for t in tasks]


def scaling_rows(cells: Sequence[KernelCell], eps: float) -> dict:
    """{L: [ExponentRow per learner]} fitted at threshold ``eps`` by
    :func:`theorycheck.maths.exponents.fit_row`; each (learner, d) uses the N values measured
    for it, so grids merged from several studies need not be complete.

    Parameters
    ----------
    cells : sequence of KernelCell
        Measured cells (docs/theory.md §1.7.3).
    eps : float
        Relative test error threshold.
    """
    eps = check_real("eps", eps, positive=True)
    loss = {(c.task.L, c.task.learner, c.task.d, c.task.seed, c.task.n): c.rel_mse for c in cells}
    out = {}
    for L in sorted({c.task.L for c in cells}):
        rows = []
        for lrn in dict.fromkeys(c.task.learner for c in cells if c.task.L == L):
            mine = [c for c in cells if c.task.L == L and c.task.learner == lrn]
            ds = sorted({c.task.d for c in mine})
            seeds = sorted({c.task.seed for c in mine})
            curves = {}
            for d in ds:
                for s in seeds:
                    ns = sorted(c.task.n for c in mine if c.task.d == d and c.task.seed == s)
                    curves[(d, s)] = (ns, [loss[(L, lrn, d, s, n)] for n in ns])
            rows.append(fit_row(lrn, ds, seeds, curves, eps))
        out[L] = rows
    return out


def format_scaling_table(rows: dict, eps: float) -> str:
    lines = [f"| learner | L | exponent e (N_required ~ d^e at rel. error <= {eps:g}) | 95% interval | "
             f"seeds fitted | censored (seed, d) |", "|---|---|---|---|---|---|"]
    for L, rs in rows.items():
        for r in rs:
            lines.append(f"| {r.learner} | {L} | {r.exponent:.2f} | [{r.lo:.2f}, {r.hi:.2f}] | "
                         f"{r.seeds_fitted} | {r.censored} |")
    return "\n".join(lines)


def cells_to_records(cells) -> list[dict]:
    return [{**asdict(c.task), "rel_mse": c.rel_mse, "seconds": c.seconds, "ridge": c.ridge}
            for c in cells]


# ------------------------------------------------------------------ run kind `kernel-fit`
@dataclass(frozen=True)
class KernelFitConfig:
    """Config of the ``kernel-fit`` run kind: one :class:`KernelTask` without its seed."""

    learner: str = setting("poly", choices=LEARNERS, help="kernel or the network")
    d: int = setting(8, min_value=2, help="input dimension")
    L: int = setting(2, min_value=2, max_value=4, help="target depth")
    N: int = setting(256, min_value=8, help="training-set size (fixed pool, same for every learner)")
    q: int = setting(0, min_value=0, help="poly kernel degree; 0 means 2^L")
    bandwidth: float = setting(1.0, positive=True, help="gaussian kernel s^2 / d")
    m: int = setting(1024, min_value=1, help="random features")
    k_target: int = setting(2, min_value=1, help="target width")
    delta: float = setting(0.25, positive=True, help="information gap")
    steps: int = setting(1500, min_value=1, help="network: steps per stage")
    n_test: int = setting(4000, min_value=100, help="test samples")
    ridge_grid: str = setting("fixed", choices=RIDGE_GRIDS,
                              help="kernel ridge penalties: fixed, or spectral (down to the "
                                   "interpolation regime)")
    ridge_solver: str = setting("eigh", choices=RIDGE_SOLVERS,
                                help="spectral grid: one eigendecomposition, or a Cholesky "
                                     "factorisation per penalty")

    def budget(self) -> None:
        """Budgets before the run is recorded (:mod:`theorycheck.budget`): a kernel's Gram
        matrices, or the network's training run."""
        if self.learner == "network":
            from theorycheck.papers.bfc.training import train_config
            train_config(mode="e2e", d=self.d, L=self.L, k_target=self.k_target,
                         delta=self.delta, N=self.N, n_test=self.n_test, steps=self.steps,
                         eval_points=2).budget()
        else:
            from theorycheck.maths.kernel_methods import check_memory
            check_memory(self.N)


def run_kernel_fit(config: KernelFitConfig, seed: int, recorder) -> dict:
    """Run kind ``kernel-fit``: one cell of the scaling study."""
    c = config
    task = KernelTask(c.learner, c.d, c.N, seed, L=c.L, q=c.q or None, bandwidth=c.bandwidth,
                      m=c.m, k_target=c.k_target, delta=c.delta, steps=c.steps, n_test=c.n_test,
                      ridge_grid=c.ridge_grid, ridge_solver=c.ridge_solver)
    cell = run_kernel_task(task)
    return {"rel_mse": cell.rel_mse, "seconds": round(cell.seconds, 3), "ridge": cell.ridge}


KERNEL_FIT = register_run_kind("kernel-fit", run_kernel_fit, config=KernelFitConfig,
                               doc="one cell of the kernel scaling study (docs/theory.md §1.7): "
                                   "relative test error of a kernel or the network at fixed N")


# ------------------------------------------------------------------ degree carried by the error
#: Largest Hermite basis (C(d + 2^L, 2^L) functions) fitted by least squares for exact
#: energies; beyond it the energies are Monte Carlo estimates with standard errors.
EXACT_MAX_BASIS = 5000


def target_energies(d: int, L: int, *, seed: int = 0, k_target: int = 2, delta: float = 0.25,
                    n: int = 20000) -> tuple[np.ndarray, np.ndarray, str]:
    """Energy of G* by Hermite degree q = 0..2^L relative to the top-term energy
    alpha_L^2 Var(Sum G*_L), with standard errors and the method (docs/theory.md §1.3).

    ``"exact"``: least squares of G* and its top term on the orthonormal Hermite basis of
    degree <= 2^L (:func:`theorycheck.maths.hermite.lstsq_energy_by_degree`; both are
    polynomials of that degree, so the fit is exact and the standard errors are 0) when the
    basis has at most :data:`EXACT_MAX_BASIS` functions; ``"mc"``: the Monte Carlo
    estimator on n samples otherwise (its standard errors; the top-term energy is taken as
    exact, its relative error being far smaller than the high-degree energies').
    """
    import math

    from theorycheck.papers.bfc.training import make_target, train_config
    cfg = train_config(d=d, L=L, k_target=k_target, delta=delta, target_seed=seed)
    target = make_target(cfg)
    rng = np.random.default_rng([seed, d, 0xE6])
    if math.comb(d + 2 ** L, 2 ** L) <= EXACT_MAX_BASIS:
        from theorycheck.maths.hermite import lstsq_energy_by_degree
        fit = lstsq_energy_by_degree(lambda X: np.stack([target(X), target.layer_terms(X)[L]], 1),
                                     d, 2 ** L, rng)
        top = float(np.sum(fit.energy[1:, 1]))
        return fit.energy[:, 0] / top, np.zeros(2 ** L + 1), "exact"
    from theorycheck.papers.bfc.symbolic import mc_energy_table
    table = mc_energy_table(target, n, rng)
    top = float(sum(float(e) for e in table.by_layer[L][1:]))
    return (np.array([float(e) for e in table.total]) / top,
            np.array([float(e) for e in table.stderr]) / top, "mc")


def error_degree(d: int, L: int, eps: float, *, seed: int = 0, k_target: int = 2, delta: float = 0.25,
                 n: int = 20000) -> tuple[int, tuple]:
    """The degree a learner must capture to reach relative error ``eps``: the largest q with
    sum_{q' >= q} energy_{q'}(G*) > eps * (alpha_L^2 Var Sum G*_L) (energies of
    :func:`target_energies`: exact where the Hermite basis fits, Monte Carlo otherwise; the
    span lemma then asks N of order D_q). Returns (q, energies relative to the top term)."""
    E, _, _ = target_energies(d, L, seed=seed, k_target=k_target, delta=delta, n=n)
    tail = np.cumsum(E[::-1])[::-1]
    qs = [q for q in range(1, len(E)) if tail[q] > eps]
    return (max(qs) if qs else 0), tuple(E)


def cells_from_store(path) -> list[KernelCell]:
    """The finished ``kernel-fit`` runs of a results store (``theorycheck sweep``) as cells."""
    from theorycheck.runs.store import finished_runs
    runs = finished_runs(path, "kernel-fit", grid="examples/kernel_scaling.toml")
    cells = []
    for r in runs:
        c = r["config"]
        task = KernelTask(c["learner"], c["d"], c["N"], r["seed"], L=c["L"], q=c["q"] or None,
                          bandwidth=c["bandwidth"], m=c["m"], k_target=c["k_target"], delta=c["delta"],
                          steps=c["steps"], n_test=c["n_test"],
                          ridge_grid=c.get("ridge_grid", "fixed"),
                          ridge_solver=c.get("ridge_solver", "eigh"))
        s = r["summary"]
        cells.append(KernelCell(task, float(s["rel_mse"]), float(s["seconds"]), s.get("ridge")))
    return cells


def cells_from_records(records) -> list[KernelCell]:
    """Inverse of :func:`cells_to_records` (cells saved as JSON by ``theorycheck kernel scaling``)."""
    names = [f for f in KernelTask.__dataclass_fields__]
    return [KernelCell(KernelTask(**{k: r[k] for k in names if k in r}), float(r["rel_mse"]), float(r["seconds"]),
                       r.get("ridge")) for r in records]


# ------------------------------------------------------------------ brackets beyond reach
def interpolation_n(d: int, L: int, *, q: int | None = None, val_frac: float = 0.2) -> float:
    """p / (1 - val_frac), p = C(d + q, q) (q = 2^L by default): from this N on, the training
    rows of a cell's validation split number at least p.

    Theorem (docs/theory.md §1.7.3, "An upper bound for the polynomial kernel"): the polynomial kernel
    (1 + x.y/d)^q has as features every monomial of degree <= q with a positive weight, so its
    feature space is the p-dimensional space of polynomials of degree <= q. G* of depth L is a
    polynomial of degree 2^L <= q, labels are noiseless, and n >= p Gaussian inputs are
    almost surely unisolvent (no nonzero polynomial of degree <= q vanishes on all of them).
    Then kernel ridge regression on them tends to G* itself as the penalty tends to 0 (the
    unique interpolant in the feature space), on the training split and on all N rows alike:
    for every eps the method's error falls below eps once its penalty grid reaches far enough
    down. So N_required(eps) <= interpolation_n for the ridgeless limit; that the spectral
    grid's floor is far enough down is a measurement (errors 1e-9 .. 1e-5 above it at
    d = 4, 5, 6, 8).

    Examples
    --------
    >>> interpolation_n(8, 3), interpolation_n(10, 3)
    (16087.5, 54697.5)
    """
    import math
    q = 2 ** check_int("L", L, min_value=1) if q is None else check_int("q", q, min_value=1)
    return math.comb(check_int("d", d, min_value=1) + q, q) / (1.0 - check_real("val_frac", val_frac,
                                                                                    positive=True, max_value=0.9))


def cliff_brackets(d: int, L: int, seeds: Iterable[int], eps: float, *, val_frac: float = 0.2) -> dict:
    """``{(d, seed): (lo, hi)}``: brackets of the polynomial kernel's N_required(eps) where it
    is not measured. lo: the every-kernel bound's requirement for the seed's target
    (:func:`theorycheck.papers.bfc.span_lemma.every_kernel_bound`, exact energies; a theorem
    about the class of targets with G*'s energy profile, docs/theory.md §1.7.4, not about G*
    itself); hi: :func:`interpolation_n` (a theorem about this kernel and G*, in the ridgeless
    limit). Exact energies at d = 10, L = 3 take seconds.
    """
    from theorycheck.papers.bfc.span_lemma import every_kernel_bound
    hi = interpolation_n(d, L, val_frac=val_frac)
    out = {}
    for s in seeds:
        lo = every_kernel_bound(d, L, seed=s, exact_max_d=d).n_required(eps)
        out[(d, s)] = (min(lo, hi), hi)
    return out


def bracketed_rows(cells: Sequence[KernelCell], eps: float, bracket_ds: Sequence[int], *,
                   learner: str = "poly", joint: bool = True) -> dict:
    """{L: BracketedRow} of ``learner``: the exponent over the measured d and ``bracket_ds``,
    where the d of ``bracket_ds`` without a measured crossing enter with
    :func:`cliff_brackets` (:func:`theorycheck.maths.exponents.fit_row_bracketed`). Seeds:
    those measured at every measured d of the L."""
    from theorycheck.maths.exponents import fit_row_bracketed
    eps = check_real("eps", eps, positive=True)
    out = {}
    for L in sorted({c.task.L for c in cells if c.task.learner == learner}):
        mine = [c for c in cells if c.task.L == L and c.task.learner == learner]
        measured = sorted({c.task.d for c in mine})
        seeds = sorted(set.intersection(*[{c.task.seed for c in mine if c.task.d == d} for d in measured]))
        ds = sorted(set(measured) | {check_int("d", d, min_value=2) for d in bracket_ds})
        curves = {}
        for d in measured:
            for s in seeds:
                pts = sorted((c.task.n, c.rel_mse) for c in mine if c.task.d == d and c.task.seed == s)
                curves[(d, s)] = ([n for n, _ in pts], [e for _, e in pts])
        brackets = {}
        for d in bracket_ds:
            brackets.update(cliff_brackets(d, L, seeds, eps))
        out[L] = fit_row_bracketed(learner, ds, seeds, curves, eps, brackets, joint=joint)
    return out


def format_bracketed_table(rows: dict, eps: float) -> str:
    lines = [f"| learner | L | d | seeds | mean exponent (N_required ~ d^e at rel. error <= {eps:g}) | "
             f"95% interval over the brackets | N_required per d: median (measured) or [lo, hi] (bracket) |",
             "|---|---|---|---|---|---|---|"]
    for L, r in rows.items():
        ds = sorted(next(iter(r.n_required.values())))
        per_d = []
        for d in ds:
            vals = [r.n_required[s][d] for s in r.n_required]
            if isinstance(vals[0], tuple):
                per_d.append(f"d={d}: [{min(v[0] for v in vals):.0f}, {max(v[1] for v in vals):.0f}]")
            else:
                per_d.append(f"d={d}: {np.nanmedian(vals):.0f}")
        mean = (f"{r.mean_lo:.2f}" if abs(r.mean_hi - r.mean_lo) < 5e-3 else
                f"{r.mean_lo:.2f} .. {r.mean_hi:.2f}")
        lines.append(f"| {r.learner} | {L} | {', '.join(map(str, ds))} | {r.seeds_fitted} | {mean} | "
                     f"[{r.lo:.2f}, {r.hi:.2f}] | {'; '.join(per_d)} |")
    return "\n".join(lines)
