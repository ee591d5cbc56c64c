"""The depth study: samples the end-to-end network needs to reach a relative error eps at
L = 2, 3, 4, beside the every-kernel lower bound's requirement (docs/theory.md §1.1.3, §1.7.4).

The trainer of :mod:`theorycheck.papers.bfc.training` runs under one budget rule for every
cell, :func:`budget_rule`, never tuned per (d, L, N):

* steps: ``STEPS_PER_D[0] * d`` for stage 2 and ``STEPS_PER_D[1] * d`` for each later stage
  (linear in d, so poly(d) time), batch 256;
* Adam with step size 3e-3 and a cosine schedule restarted at every stage;
* the output square not truncated (``B = inf``).

Why (docs/bfc.md, "A trainer that converges at depth"): with the truncation ``B = 16`` the best
network with exact features is already 1.6e-3 to 0.11 of the top-term energy away from G* at
L = 3 (the top term's rare large values are cut), and 3000 steps of stage 3 end before the
cosine schedule has settled (fresh samples, d = 8: 4e-3 to 4e-2; 12000 steps: 1e-4 to 5e-4;
a smaller step size is worse at equal steps, a constant one spikes).

Each cell (d, L, N, seed) is one run of the run kind ``bfc-depth`` (resumable, recorded in the
results store; ``theorycheck sweep examples/depth_study.toml``). :func:`depth_rows` reads
N_required per (L, d, seed) off the stored curves with :mod:`theorycheck.maths.exponents` and
puts the bound's requirement beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from theorycheck.runs.kinds import register_run_kind, setting
from theorycheck.validation import check_int, check_real

STEPS_PER_D = (200, 1500)
DEPTH_LR = 3e-3
DEPTH_BATCH = 256


def budget_rule(d: int, L: int, *, scale: float = 1.0) -> dict:
    """The trainer's settings for a target of dimension ``d`` and depth ``L`` (module docstring).

    Parameters
    ----------
    d, L : int
        Input dimension and depth of G* (docs/theory.md §1.3).
    scale : float
        Multiplies every stage's steps (1 is the rule; a smaller value is the broken budget
        the tests use).

    Returns
    -------
    dict
        ``steps`` (one per stage 2..L), ``lr``, ``schedule``, ``batch``, ``B``: keyword
        settings of :func:`theorycheck.papers.bfc.training.train_config`.

    Examples
    --------
    >>> budget_rule(8, 3)["steps"]
    (1600, 12000)
    """
    d = check_int("d", d, min_value=1)
    L = check_int("L", L, min_value=2, max_value=8)
    scale = check_real("scale", scale, positive=True)
    steps = (STEPS_PER_D[0] * d,) + (STEPS_PER_D[1] * d,) * (L - 2)
    return {"steps": tuple(max(1, int(round(s * scale))) for s in steps), "lr": DEPTH_LR,
            "schedule": "cosine", "batch": DEPTH_BATCH, "B": math.inf}


@dataclass(frozen=True)
class DepthConfig:
    """Config of the ``bfc-depth`` run kind: one (d, L, N) cell; its seed is both the target's
    and the run's (docs/theory.md §1.7.4).

    Parameters
    ----------
    d, L : int
        Input dimension and depth of G* and of the learner.
    N : int
        Size of the fixed training pool.
    mode : {"e2e", "layerwise"}
        Training mode (docs/theory.md §1.5).
    loss : {"squared", "logistic"}
        Regression, or classification of sign(G* - median) (docs/theory.md §1.4.4).
    k_target, k : int
        Widths of the target and of the learner.
    delta : float
        Information gap of the target.
    steps_scale : float
        Multiplier of the steps :func:`budget_rule` gives.
    n_test : int
        Test samples.

    Examples
    --------
    >>> DepthConfig(d=6, L=3, N=128).N
    128
    """

    d: int = setting(8, min_value=2, help="input dimension")
    L: int = setting(3, min_value=2, max_value=4, help="depth of G* and of the learner")
    N: int = setting(256, min_value=1, help="fixed training-set size")
    mode: str = setting("e2e", choices=("e2e", "layerwise"), help="training mode")
    loss: str = setting("squared", choices=("squared", "logistic"),
                        help="squared (G*) or logistic (sign(G* - median))")
    k_target: int = setting(2, min_value=1, help="target width")
    k: int = setting(4, min_value=1, help="learner width")
    delta: float = setting(0.25, positive=True, help="information gap")
    steps_scale: float = setting(1.0, positive=True, help="multiplier of the budget rule's steps")
    n_test: int = setting(20000, min_value=100, help="test samples")

    def train_config(self, seed: int):
        from theorycheck.papers.bfc.training import train_config
        return train_config(mode=self.mode, d=self.d, L=self.L, k_target=self.k_target, k=self.k,
                            delta=self.delta, loss=self.loss, N=self.N, n_test=self.n_test,
                            target_seed=seed, seed=seed, eval_points=8,
                            **budget_rule(self.d, self.L, scale=self.steps_scale))

    def budget(self) -> None:
        """The training run's memory and time budget (:mod:`theorycheck.budget`)."""
        self.train_config(0).budget()


def run_depth_cell(config: DepthConfig, seed: int, recorder, progress=None) -> dict:
    """Run kind ``bfc-depth``: train under :func:`budget_rule`, recorded point by point and
    resumable; the summary is the trainer's (``final_rel_loss`` is the relative test error)."""
    from theorycheck.papers.bfc.training import train
    return train(config.train_config(seed), recorder=recorder, progress=progress).summary


BFC_DEPTH = register_run_kind("bfc-depth", run_depth_cell, config=DepthConfig,
                              doc="one cell of the depth study (docs/theory.md §1.7.4): the network "
                                  "trained under the budget rule at fixed N")


def kernel_class_error(d: int, L: int, N: int, seed: int, *, kernel: str = "poly",
                       n_test: int = 20000) -> float:
    """Test classification error of kernel ridge regression on the labels sign(G* - median)
    (docs/theory.md §1.4.4), classifier sign(f): the same target, fixed pool of N inputs and
    test set as the ``bfc-depth`` cell with ``loss="logistic"`` and the same seed; the ridge is
    chosen on a validation split by classification error.

    Parameters
    ----------
    d, L, N, seed : int
        The cell.
    kernel : str
        A kernel of :data:`theorycheck.papers.bfc.ntk.KERNELS` (``poly`` has degree 2^L).
    n_test : int
        Test samples.

    Returns
    -------
    float
    """
    from theorycheck.maths.gaussian import sample_inputs
    from theorycheck.maths.kernel_methods import fit_kernel_ridge
    from theorycheck.papers.bfc.ntk import make_kernel
    from theorycheck.papers.bfc.training import labeller, make_learner, make_target

    cfg = DepthConfig(d=d, L=L, N=N, loss="logistic", n_test=n_test).train_config(seed)
    target = make_target(cfg)
    label = labeller(cfg, target)
    Xte = sample_inputs(cfg.n_test, cfg.d, np.random.default_rng([cfg.target_seed, cfg.seed, 0x7E57]),
                        target.spec.dist)
    X = sample_inputs(cfg.N, cfg.d, np.random.default_rng([cfg.seed, 0xDA7A]), target.spec.dist)
    rng = np.random.default_rng([seed, d, N, 0xC1A55])
    learner = make_learner(cfg, target) if kernel == "ntk" else None
    spec = make_kernel(kernel, d, q=2 ** L, rng=rng, learner=learner)
    fit = fit_kernel_ridge(spec, X, label(X), rng,
                           loss=lambda p, y: float(np.mean(np.sign(p) != np.sign(y))))
    return float(np.mean(np.where(fit(Xte) >= 0, 1.0, -1.0) != label(Xte)))


def records_from_store(path, *, mode: str = "e2e", loss: str = "squared",
                       steps_scale: float = 1.0) -> list[dict]:
    """The finished ``bfc-depth`` runs of a results store as records ``{L, d, N, seed, rel,
    seconds}`` (``rel``: the final relative test error; for the logistic loss the test
    classification error).

    Parameters
    ----------
    path : str or Path
        The results store (docs/sweeps.md).
    mode : {"e2e", "layerwise"}
        Which training mode's runs to read.
    loss : {"squared", "logistic"}
        Which loss's runs to read.
    steps_scale : float
        Which budget's runs to read (1.0: the budget rule itself).

    Returns
    -------
    list of dict
    """
    from theorycheck.runs.store import finished_runs
    runs = finished_runs(path, "bfc-depth", grid="examples/depth_study.toml")
    out = []
    for r in runs:
        c, s = r["config"], r["summary"]
        if c["mode"] != mode or c["loss"] != loss or c["steps_scale"] != steps_scale:
            continue
        rel = s["final_class_err"] if loss == "logistic" else s["final_rel_loss"]
        out.append({"L": c["L"], "d": c["d"], "N": c["N"], "seed": r["seed"], "rel": float(rel),
                    "seconds": float(s.get("seconds", math.nan))})
    return out


def curve_table(records: Sequence[dict]) -> list[dict]:
    """Per (L, d, N): the seeds, the median, mean, geometric mean, min and max of the relative
    error, sorted by (L, d, N).

    Parameters
    ----------
    records : sequence of dict
        Records ``{L, d, N, seed, rel}`` (:func:`records_from_store`).

    Returns
    -------
    list of dict
        One row per (L, d, N) with keys ``L, d, N, seeds, median, mean, geo_mean, min, max``.
    """
    keys = sorted({(r["L"], r["d"], r["N"]) for r in records})
    rows = []
    for L, d, N in keys:
        v = np.array([r["rel"] for r in records if (r["L"], r["d"], r["N"]) == (L, d, N)])
        rows.append({"L": L, "d": d, "N": N, "seeds": int(v.size), "median": float(np.median(v)),
                     "mean": float(np.mean(v)),
                     "geo_mean": float(np.exp(np.mean(np.log(np.maximum(v, 1e-300))))),
                     "min": float(v.min()), "max": float(v.max())})
    return rows


def monotone_within_spread(rows: Sequence[dict]) -> bool:
    """True when each (L, d) curve's median never rises above the previous N's largest seed
    value: the curve falls, up to the seed spread.

    Parameters
    ----------
    rows : sequence of dict
        Rows of :func:`curve_table`.

    Returns
    -------
    bool
    """
    by = {}
    for r in rows:
        by.setdefault((r["L"], r["d"]), []).append(r)
    for rs in by.values():
        rs = sorted(rs, key=lambda r: r["N"])
        if any(b["median"] > a["max"] for a, b in zip(rs, rs[1:])):
            return False
    return True


def bound_required(d: int, L: int, eps: float, seeds: Iterable[int], *, exact_max_d: int = 8,
                   n_mc: int = 200_000) -> list[float]:
    """The every-kernel bound's N_required(eps) for each seed's target
    (:func:`theorycheck.papers.bfc.span_lemma.every_kernel_bound`, docs/theory.md §1.7.4).

    Parameters
    ----------
    d, L : int
        Input dimension and depth of the target.
    eps : float
        Relative error (of the top-term energy) to reach.
    seeds : iterable of int
        Target seeds.
    exact_max_d : int
        Largest d whose energies by degree are computed exactly; Monte Carlo beyond.
    n_mc : int
        Monte Carlo samples where the energies are not exact.

    Returns
    -------
    list of float
        N_required per seed: the least N at which the bound drops to ``eps`` (0 if it
        starts below).
    """
    from theorycheck.papers.bfc.span_lemma import every_kernel_bound
    return [float(every_kernel_bound(d, L, seed=s, exact_max_d=exact_max_d, n_mc=n_mc).n_required(eps))
            for s in seeds]


def depth_rows(records: Sequence[dict], eps: float, *, bound: bool = True,
               exact_max_d: dict | None = None, monte_carlo: bool = False,
               n_mc: int = 200_000) -> list[dict]:
    """One row per L: the network's N_required(eps) per d (median and [min, max] over seeds),
    its fitted exponent in d with the t-interval over seeds
    (:func:`theorycheck.maths.exponents.fit_row`), and the bound's N_required per d with its
    exponent (slope of the per-seed mean in log d).

    Parameters
    ----------
    records : sequence of dict
        ``{L, d, N, seed, rel}`` as :func:`records_from_store` gives them.
    eps : float
        Relative error threshold.
    bound : bool
        Compute the every-kernel bound's requirement too (exact energies: seconds to minutes).
    exact_max_d : dict, optional
        ``{L: largest d with exact energies}`` (default 12 at L = 2, 10 at L = 3, 4 at L = 4).
    monte_carlo : bool
        Beyond ``exact_max_d``, use Monte Carlo energies (``n_mc`` inputs); by default the
        bound is left out (nan) there: at L >= 3 the Monte Carlo estimates of the top degrees
        go negative and their error bars exceed the bound itself.
    n_mc : int
        Monte Carlo inputs.

    Returns
    -------
    list of dict
    """
    from theorycheck.maths.exponents import fit_exponent, fit_row
    eps = check_real("eps", eps, positive=True)
    exact = {2: 12, 3: 10, 4: 4, **(exact_max_d or {})}
    out = []
    for L in sorted({r["L"] for r in records}):
        mine = [r for r in records if r["L"] == L]
        ds = sorted({r["d"] for r in mine})
        seeds = sorted({r["seed"] for r in mine})
        curves = {}
        for d in ds:
            for s in seeds:
                pts = sorted((r["N"], r["rel"]) for r in mine if r["d"] == d and r["seed"] == s)
                if pts:
                    curves[(d, s)] = ([p[0] for p in pts], [p[1] for p in pts])
        row = fit_row("network", ds, seeds, curves, eps)
        net = {}
        for d in ds:
            v = np.array([row.n_required[s][d] for s in seeds], dtype=float)
            fin = v[np.isfinite(v)]
            net[d] = {"median": float(np.median(fin)) if fin.size else math.nan,
                      "min": float(fin.min()) if fin.size else math.nan,
                      "max": float(fin.max()) if fin.size else math.nan,
                      "censored": int(v.size - fin.size)}
        entry = {"L": L, "ds": ds, "seeds": seeds, "network": net, "exponent": row.exponent,
                 "interval": (row.lo, row.hi), "seeds_fitted": row.seeds_fitted, "censored": row.censored}
        if bound:
            b = {d: (float(np.mean(bound_required(d, L, eps, seeds, exact_max_d=exact.get(L, 8), n_mc=n_mc)))
                     if monte_carlo or d <= exact.get(L, 8) else math.nan) for d in ds}
            entry["bound"] = b
            entry["bound_exponent"] = fit_exponent(ds, [b[d] if b[d] > 0 else math.nan for d in ds])
            entry["bound_ds"] = [d for d in ds if np.isfinite(b[d]) and b[d] > 0]
        out.append(entry)
    return out


def format_depth_table(rows: Sequence[dict], eps: float) -> str:
    """Markdown table of :func:`depth_rows`.

    Parameters
    ----------
    rows : sequence of dict
        The rows :func:`depth_rows` returns.
    eps : float
        The threshold the rows' N_required refer to (shown in the header).

    Returns
    -------
    str
        The table in Markdown.
    """
    lines = [f"| L | d | network N_required(eps = {eps:g}), median [min, max] over seeds | censored | "
             f"every-kernel bound N_required | D_(2^L) |", "|---|---:|---|---:|---:|---:|"]
    from theorycheck.papers.bfc.span_lemma import dim_q
    for e in rows:
        for d in e["ds"]:
            n = e["network"][d]
            b = e.get("bound", {}).get(d, math.nan)
            bs = f"{b:.0f}" if math.isfinite(b) else "n/a (no exact energies)"
            ns = (f"{n['median']:.0f} [{n['min']:.0f}, {n['max']:.0f}]" if math.isfinite(n["median"])
                  else "not reached")
            lines.append(f"| {e['L']} | {d} | {ns} | {n['censored']} | {bs} | {dim_q(d, 2 ** e['L'])} |")
    lines += ["", "| L | network exponent e (N_required ~ d^e) | 95% interval over seeds | seeds fitted | "
                  "bound exponent |", "|---|---:|---|---:|---:|"]
    for e in rows:
        lo, hi = e["interval"]
        be = e.get("bound_exponent", math.nan)
        bs = f"{be:.2f} (d = {', '.join(map(str, e['bound_ds']))})" if math.isfinite(be) else "n/a"
        es = f"{e['exponent']:.2f} | [{lo:.2f}, {hi:.2f}]" if math.isfinite(e["exponent"]) else "n/a | n/a"
        lines.append(f"| {e['L']} | {es} | {e['seeds_fitted']} | {bs} |")
    return "\n".join(lines)


__all__ = ["BFC_DEPTH", "DepthConfig", "budget_rule", "kernel_class_error", "records_from_store", "curve_table",
           "monotone_within_spread", "depth_rows", "format_depth_table", "bound_required"]
