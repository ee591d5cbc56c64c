"""The per-depth study of docs/theory.md §3.3: layerwise residual learner vs baselines.

:func:`run_task` measures one (r, seed) cell and returns plain data, so the study
can run through any ``map``-like executor (the builtin ``map`` by default, a
process pool); :mod:`theorycheck.papers.labels.depth_sweep` runs it through the sweep engine. :func:`depth_study` maps it over
``r x seeds``; :func:`gap_table` aggregates per r.

Protocol [R]: for each r, a parity hierarchy (fan-in 2, random wiring, labels
redrawn until their true x-degree is at least ``min_x_degree_per_level * level``
to avoid the collapse of docs/theory.md §3.2b) is drawn from the seed; n training and
``n_test`` test inputs are uniform on {±1}^d. The residual learner trains
layerwise on all levels; the baselines (kernel ridge on x, end-to-end MLP) train
on the top level's labels only, on the same n samples. Each method's top-level
error is the sign error on the level-r labels of the test set.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from theorycheck.papers.labels.hierarchies import generate, x_degree
from theorycheck.papers.labels.residual import (blas_threads, error_after_each_block, fit_kernel_ridge, fit_mlp,
                       fit_residual, level_errors, sign_error)

QUICK = {"d": 16, "labels_per_level": 8, "n": 2000, "n_test": 2000, "width": 512, "lam": 1e-3,
         "label_gain": 3.0, "writeback": "sign", "train_on": "estimated", "hints": True,
         "min_x_degree_per_level": 2, "family": "parity", "fan_in": 2,
         "kernel": True, "mlp": True, "mlp_hidden": (128, 128), "mlp_epochs": 10,
         "zero_readout": False, "shuffle_labels": False}
FULL = {**QUICK, "d": 32, "n": 6000, "width": 2048, "min_x_degree_per_level": 1.5,
        "mlp_hidden": (256, 256), "mlp_epochs": 20}
SCALES = {"quick": QUICK, "full": FULL}


def draw_data(task: Mapping):
    """(hierarchy, X, Y, Xt, Yt) of one task, reproducible from ``task["seed"]``."""
    k = task["min_x_degree_per_level"]
    h = generate(task["d"], task["r"], task["labels_per_level"], family=task["family"],
                 fan_in=task["fan_in"], seed=task["seed"],
                 min_x_degree=(lambda lev: k * lev) if k else None)
    rng = np.random.default_rng([task["seed"], 1])
    X = rng.choice([-1.0, 1.0], size=(task["n"], task["d"]))
    Xt = rng.choice([-1.0, 1.0], size=(task["n_test"], task["d"]))
    Y, Yt = h.evaluate(X), h.evaluate(Xt)
    if task.get("shuffle_labels"):
        Y = Y[rng.permutation(task["n"])]
    return h, X, Y, Xt, Yt


def run_task(task: Mapping) -> dict:
    """One (r, seed) cell: per-level errors of the learner and top-level errors of all methods.
    BLAS runs single-threaded inside (``task["blas_threads"]``, default 1)."""
    task = {**QUICK, **task}
    with blas_threads(task.get("blas_threads", 1)):
        return _run_task(task)


def _run_task(task: Mapping) -> dict:
    h, X, Y, Xt, Yt = draw_data(task)
    cols = [h.level(i) for i in range(1, h.r + 1)]
    top = cols[-1]
    learner = fit_residual(X, Y, cols, width=task["width"], lam=task["lam"],
                           writeback=task["writeback"], train_on=task["train_on"],
                           hints=task["hints"], zero_readout=task["zero_readout"],
                           label_gain=task["label_gain"], seed=task["seed"])
    per_level = level_errors(learner, Xt, Yt)
    out = {"r": h.r, "seed": task["seed"], "per_level": per_level,
           "after_block": error_after_each_block(learner, X, Y, Xt, Yt, task["lam"]).tolist(),
           "top": {"layerwise": per_level[-1]["error"]},
           "seconds": {"layerwise": learner.seconds},
           "top_x_degree_min": None}
    if task["kernel"]:
        kr = fit_kernel_ridge(X, Y[:, top], seed=task["seed"])
        out["top"]["kernel"] = sign_error(kr.predict(Xt), Yt[:, top])
        out["seconds"]["kernel"] = kr.seconds
    if task["mlp"]:
        mlp = fit_mlp(X, Y[:, top], hidden=tuple(task["mlp_hidden"]), epochs=task["mlp_epochs"],
                      seed=task["seed"])
        out["top"]["mlp"] = sign_error(mlp.predict(Xt), Yt[:, top])
        out["seconds"]["mlp"] = mlp.seconds
    degs = [x_degree(h, h.names[c]) for c in top]
    out["top_x_degree_min"] = min((g for g in degs if g is not None), default=None)
    return out


def depth_study(rs: Sequence[int], seeds: Iterable[int], config: Mapping | None = None,
                map: Callable = map) -> list[dict]:
    """Run :func:`run_task` over every (r, seed) with ``map`` (builtin by default).

    Parameters
    ----------
    rs : sequence of int
        Depths r.
    seeds : iterable of int
        Seeds per depth.
    config : mapping or None
        Overrides of the quick-scale task (``d``, ``n``, ``width``, ``kernel``, ``mlp``, ...;
        docs/theory.md §3.2b).
    map : callable
        A ``map`` to run the cells with (e.g. a pool's).

    Returns
    -------
    list of dict
        One result per (r, seed).
    """
    base = {**QUICK, **(config or {})}
    tasks = [{**base, "r": int(r), "seed": int(s)} for r in rs for s in seeds]
    return list(map(run_task, tasks))


def gap_table(results: Sequence[dict]) -> list[dict]:
    """Per r: mean and standard deviation over seeds of each method's top-level error, and
    the gap (best baseline minus layerwise) with its standard deviation across seeds."""
    rows = []
    for r in sorted({res["r"] for res in results}):
        cell = [res for res in results if res["r"] == r]
        row = {"r": r, "seeds": len(cell)}
        methods = [m for m in ("layerwise", "kernel", "mlp") if m in cell[0]["top"]]
        for m in methods:
            v = np.array([res["top"][m] for res in cell])
            row[m] = float(v.mean())
            row[m + "_sd"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
            row[m + "_s"] = float(np.mean([res["seconds"][m] for res in cell]))
        base = [m for m in methods if m != "layerwise"]
        if base:
            g = np.array([min(res["top"][m] for m in base) - res["top"]["layerwise"]
                          for res in cell])
            row["gap"] = float(g.mean())
            row["gap_sd"] = float(g.std(ddof=1)) if len(g) > 1 else 0.0
        rows.append(row)
    return rows


def format_table(rows: Sequence[dict]) -> str:
    """The per-r table as Markdown."""
    methods = [m for m in ("layerwise", "kernel", "mlp") if m in rows[0]]
    head = ["r", "seeds"] + [f"{m} top error" for m in methods] + \
        (["gap (best baseline - layerwise)"] if "gap" in rows[0] else []) + \
        [f"{m} s" for m in methods]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [str(row["r"]), str(row["seeds"])]
        cells += [f"{row[m]:.3f} ± {row[m + '_sd']:.3f}" for m in methods]
        if "gap" in row:
            cells.append(f"{row['gap']:.3f} ± {row['gap_sd']:.3f}")
        cells += [f"{row[m + '_s']:.2f}" for m in methods]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def level_table(results: Sequence[dict], r: int) -> str:
    """Per level at depth r: mean over seeds of the error at its block, split into added and
    inherited error (docs/theory.md §3.2b.2), as Markdown."""
    cell = [res for res in results if res["r"] == r]
    lines = ["| level | error at its block | added | inherited |", "|---|---|---|---|"]
    for t in range(r):
        vals = {k: np.array([res["per_level"][t][k] for res in cell])
                for k in ("error", "added", "inherited")}
        lines.append(f"| {t + 1} | " + " | ".join(
            f"{vals[k].mean():.4f} ± {vals[k].std(ddof=1) if len(cell) > 1 else 0.0:.4f}"
            for k in ("error", "added", "inherited")) + " |")
    return "\n".join(lines)


def error_per_block_figure(results: Sequence[dict], *, ax=None):
    """Test error of each level after each block, at the largest depth r (mean over seeds;
    docs/theory.md §3.3).

    Parameters
    ----------
    results : sequence of dict
        :func:`depth_study` results (``r``, ``after_block``).
    ax : matplotlib.axes.Axes, optional
        Draw here (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from theorycheck.plotting import MIN_FONT, finish, subplots

    r = max(res["r"] for res in results)
    runs = [res["after_block"] for res in results if res["r"] == r]
    E = np.mean(runs, axis=0)
    fig, ax_ = subplots(ax, figsize=(5.0, 3.6))
    blocks = np.arange(1, r + 1)
    for t in range(r):
        ax_.plot(blocks, E[:, t], marker="o", label=f"level {t + 1}")
    ax_.set_xlabel("after block $t$", fontsize=10)
    ax_.set_ylabel("test error of the level's labels", fontsize=10)
    ax_.set_xticks(blocks)
    ax_.set_ylim(-0.02, 0.55)
    ax_.set_title(f"each level is learned at its block ($r = {r}$)", fontsize=10)
    ax_.tick_params(labelsize=MIN_FONT + 1)
    ax_.legend(fontsize=MIN_FONT + 1, title=f"mean over {len(runs)} seeds", title_fontsize=MIN_FONT)
    return finish(fig, ax is None)


def top_error_figure(results: Sequence[dict], *, ax=None):
    """Top-level test error against depth r per method, mean ± sd over seeds
    (docs/theory.md §3.3).

    Parameters
    ----------
    results : sequence of dict
        :func:`depth_study` results.
    ax : matplotlib.axes.Axes, optional
        Draw here (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from theorycheck.plotting import MIN_FONT, finish, subplots

    rows = gap_table(results)
    fig, ax_ = subplots(ax, figsize=(5.0, 3.6))
    rs = [row["r"] for row in rows]
    for m in ("layerwise", "kernel", "mlp"):
        if m in rows[0]:
            ax_.errorbar(rs, [row[m] for row in rows], yerr=[row[m + "_sd"] for row in rows],
                         marker="o", capsize=3, label=m)
    ax_.axhline(0.5, color="grey", ls=":", lw=1, label="chance")
    ax_.set_xlabel("depth $r$", fontsize=10)
    ax_.set_ylabel("top-level test error", fontsize=10)
    ax_.set_xticks(rs)
    ax_.set_title("only the layerwise learner stays below chance", fontsize=10)
    ax_.tick_params(labelsize=MIN_FONT + 1)
    ax_.legend(fontsize=MIN_FONT + 1, title="mean, bars: ±1 s.d. over seeds",
               title_fontsize=MIN_FONT)
    return finish(fig, ax is None)
