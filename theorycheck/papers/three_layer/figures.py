"""Figures for the three-layer study (docs/theory.md §2.3): corr(phi, h*) and test loss against
n1; test loss against matched n for the three-layer learner and the two-layer baselines; the
exponent fit. Each draws into the ``ax`` (or ``fig``) it is given, or a new figure that no
backend owns, and returns the Figure; ``theorycheck three-layer`` saves them."""

from __future__ import annotations

import warnings
from typing import Callable, Sequence

import numpy as np
from scipy import stats

from theorycheck.papers.three_layer.baselines import run_baseline
from theorycheck.papers.three_layer.quadratic_features import quadratic_target
from theorycheck.papers.three_layer.learner import ThreeLayerConfig, n1_ladder, run_three_layer, split_budget
from theorycheck.plotting import MIN_FONT, finish, page_figsize, subplots


def _log_x(ax, ticks) -> None:
    from matplotlib.ticker import NullFormatter
    ax.set_xscale("log")
    ax.set_xticks(list(ticks), [str(t) for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())


def ladder_data(d: int, n1s: Sequence[int], n2: int, seeds: Sequence[int], *,
                sigma1s=("abs", "relu"), m1: int = 2048, m2: int = 128, dist: str = "sphere",
                map: Callable = map):
    """{sigma1: (corr array (seeds, n1s), loss array)} from :func:`n1_ladder`; each
    (sigma1, seed) ladder is an independent task run through ``map`` (builtin map, or
    :func:`theorycheck.runs.pool.process_map`'s), with the same results either way."""
    tasks = [(d, tuple(n1s), n2, s, s1, m1, m2, dist) for s1 in sigma1s for s in seeds]
    runs = dict(zip([(t[4], t[3]) for t in tasks], map(_ladder_task, tasks)))
    out = {}
    for s1 in sigma1s:
        corr = [[r[0] for r in runs[(s1, s)]] for s in seeds]
        loss = [[r[1] for r in runs[(s1, s)]] for s in seeds]
        out[s1] = (np.array(corr), np.array(loss))
    return out


def _ladder_task(task) -> list[tuple[float, float]]:
    d, n1s, n2, s, s1, m1, m2, dist = task
    rng = np.random.default_rng([s, d])
    runs = n1_ladder(quadratic_target(d, seed=rng, dist=dist), list(n1s), n2, rng,
                     config=ThreeLayerConfig(m1=m1, m2=m2, sigma1=s1))
    return [(r.corr, r.rel_mse) for r in runs]


def matched_n_data(d: int, ns: Sequence[int], seeds: Sequence[int], *,
                   baselines=("poly_krr", "relu_rf", "two_layer_gd"), m1: int = 4096,
                   m2: int = 128, frac1: float = 0.8, dist: str = "sphere", map: Callable = map):
    """{learner: loss array (seeds, ns)} at matched total sample size n; each (seed, n) is an
    independent task (the three-layer learner, then each baseline, on one generator) run
    through ``map``."""
    tasks = [(d, s, n, tuple(baselines), m1, m2, frac1, dist) for s in seeds for n in ns]
    res = dict(zip([(t[1], t[2]) for t in tasks], map(_matched_task, tasks)))
    names = ("three_layer",) + tuple(baselines)
    return {k: np.array([[res[(s, n)][k] for n in ns] for s in seeds]) for k in names}


def _matched_task(task) -> dict:
    d, s, n, baselines, m1, m2, frac1, dist = task
    target = quadratic_target(d, seed=np.random.default_rng([s, d]), dist=dist)
    rng = np.random.default_rng([s, d, n])
    n1, n2 = split_budget(n, frac1)
    out = {"three_layer": run_three_layer(target, n1, n2, rng,
                                          config=ThreeLayerConfig(m1=m1, m2=m2)).rel_mse}
    for b in baselines:
        opts = {"m": 128, "steps": 400} if b == "two_layer_gd" else {}
        out[b] = run_baseline(b, target, n, rng, **opts)
    return out


def plot_ladder(data, n1s, d: int, *, fig=None):
    """corr(phi, x^T A x) and the test loss against n1, one line per sigma1 (two panels).

    Parameters
    ----------
    data : dict
        ``{sigma1: (corr, loss)}`` arrays of shape (seeds, len(n1s)), from :func:`ladder_data`.
    n1s : sequence of int
        The stage-1 sample sizes.
    d : int
        The input dimension (for the title).
    fig : matplotlib.figure.Figure, optional
        Draw the two panels into this figure (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    owned = fig is None
    fig, axes = subplots(fig=fig, ncols=2, figsize=page_figsize(1, 2, 3.3))
    for s1, (corr, loss) in data.items():
        for ax, arr in zip(axes, (corr, loss)):
            ax.errorbar(n1s, arr.mean(0), yerr=arr.std(0, ddof=1), marker="o", capsize=3,
                        label=f"$\\sigma_1 = $ {s1}")
    axes[0].set_ylabel(r"$\mathrm{corr}(\varphi,\ x^\top A x)$", fontsize=10)
    axes[0].set_title(f"the learned feature, $d = {d}$", fontsize=10)
    axes[1].set_ylabel("relative test MSE", fontsize=10)
    axes[1].set_title("the three-layer test loss", fontsize=10)
    for ax in axes:
        ax.set_xlabel("$n_1$ (stage-1 samples)", fontsize=10)
        _log_x(ax, n1s)
        ax.tick_params(labelsize=MIN_FONT + 1)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=MIN_FONT + 1, title="mean, bars: ±1 s.d. over seeds",
                   title_fontsize=MIN_FONT)
    return finish(fig, owned)


def plot_matched_n(data, ns, d: int, *, ax=None):
    """Relative test MSE against the total sample size n, one line per learner.

    Parameters
    ----------
    data : dict
        ``{learner: array (seeds, len(ns))}``, from :func:`matched_n_data`.
    ns : sequence of int
        The sample sizes.
    d : int
        The input dimension (for the title).
    ax : matplotlib.axes.Axes, optional
        Draw here (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
        Mean over seeds with error bars of one standard deviation across seeds (ddof = 1).

    Examples
    --------
    >>> fig = plot_matched_n({"a": np.array([[0.5, 0.4], [0.6, 0.3]])}, [100, 200], 4)
    >>> len(fig.axes)
    1
    """
    fig, ax_ = subplots(ax, figsize=(5.5, 3.8))
    for name, arr in data.items():
        ax_.errorbar(ns, arr.mean(0), yerr=arr.std(0, ddof=1), marker="o", capsize=3, label=name)
    _log_x(ax_, ns)
    ax_.set_xlabel("total samples $n$", fontsize=10)
    ax_.set_ylabel("relative test MSE", fontsize=10)
    ax_.set_title(f"$g^*(x^\\top A x)$, $d = {d}$: three layers against two at matched $n$",
                  fontsize=10)
    ax_.tick_params(labelsize=MIN_FONT + 1)
    ax_.grid(alpha=0.3)
    ax_.legend(fontsize=MIN_FONT + 1, title="mean, bars: ±1 s.d. over seeds", title_fontsize=MIN_FONT)
    return finish(fig, ax is None)


def plot_exponents(rows, ds, eps: float, *, ax=None):
    """The required sample size against d per learner, with the fitted exponent.

    Parameters
    ----------
    rows : sequence of ExponentRow
        One per learner (``n_required`` per seed and d, ``exponent`` with its interval).
    ds : sequence of int
        The input dimensions.
    eps : float
        The relative-MSE threshold that defines the required sample size.
    ax : matplotlib.axes.Axes, optional
        Draw here (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax_ = subplots(ax, figsize=(5.5, 3.8))
    ds = np.asarray(sorted(ds), dtype=float)
    for r in rows:
        req = np.array([[r.n_required[s][d] for d in ds.astype(int)] for s in r.n_required])
        with warnings.catch_warnings():  # a d column censored for every seed stays nan
            warnings.simplefilter("ignore", RuntimeWarning)
            gm = np.exp(np.nanmean(np.log(req), axis=0))
        line = ax_.plot(ds, gm, "o", label=f"{r.learner}: $e$ = {r.exponent:.2f} [{r.lo:.2f}, {r.hi:.2f}]")
        ok = np.isfinite(gm)
        if ok.sum() >= 2:
            fit = stats.linregress(np.log(ds[ok]), np.log(gm[ok]))
            ax_.plot(ds, np.exp(fit.intercept + fit.slope * np.log(ds)), "--",
                     color=line[0].get_color())
    _log_x(ax_, ds.astype(int))
    ax_.set_yscale("log")
    ax_.set_xlabel("input dimension $d$", fontsize=10)
    ax_.set_ylabel(f"$N_{{\\mathrm{{required}}}}$ (rel. MSE $\\leq {eps:g}$)", fontsize=10)
    ax_.set_title("empirical sample-size exponents $N_{\\mathrm{required}} \\propto d^{\\,e}$",
                  fontsize=10)
    ax_.tick_params(labelsize=MIN_FONT + 1)
    ax_.grid(alpha=0.3, which="both")
    ax_.legend(fontsize=MIN_FONT, title="markers: geometric mean over seeds; dashed: fit;\n"
               "[95% t-interval of e over seeds]", title_fontsize=MIN_FONT)
    return finish(fig, ax is None)
