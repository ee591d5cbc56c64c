"""Figure of docs/theory.md §1.7's scaling study: relative test error vs N for each kernel and the
network, one panel per (L, d), with the dimensions D_q = C(d+q-1, q) of the degree spaces
q = 2, 4, ..., 2^L marked (the span lemma: a kernel cannot fit a generic degree-q component
before N approaches D_q). Draws into a given figure or a new one, returns the Figure and
never saves (``theorycheck kernel figure`` saves)."""

from __future__ import annotations

import numpy as np

from theorycheck.papers.bfc.span_lemma import dim_q
from theorycheck.plotting import finish, subplots


def scaling_figure(data: dict, *, fig=None, with_bound: bool = False):
    """Relative test error against N, one panel per (L, d) (docs/theory.md §1.7.3).

    Parameters
    ----------
    data : dict
        ``{"eps": float, "cells": [record, ...]}`` as ``theorycheck kernel scaling --json``
        writes them (each record has ``L``, ``d``, ``learner``, ``n``, ``rel_mse``).
    fig : matplotlib.figure.Figure, optional
        Draw the panels into this figure (default: a new figure).
    with_bound : bool
        Add to each panel the every-kernel lower bound of docs/theory.md §1.7.4
        (:func:`draw_kernel_bound`; exact energies, so small d).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib import rcParams

    cells = data["cells"]
    eps = float(data.get("eps", 0.5))
    Ls = sorted({c["L"] for c in cells})
    ds = sorted({c["d"] for c in cells})
    learners = list(dict.fromkeys(c["learner"] for c in cells))
    owned = fig is None
    fig, axes = subplots(fig=fig, nrows=len(Ls), ncols=len(ds),
                         figsize=(3.2 * len(ds), 2.9 * len(Ls)), squeeze=False, sharey=True)
    colors = dict(zip(learners, rcParams["axes.prop_cycle"].by_key()["color"]))
    for i, L in enumerate(Ls):
        for j, d in enumerate(ds):
            ax = axes[i][j]
            for lrn in learners:
                rows = [c for c in cells if c["L"] == L and c["d"] == d and c["learner"] == lrn]
                if not rows:
                    continue
                ns = sorted({c["n"] for c in rows})
                vals = np.array([[c["rel_mse"] for c in rows if c["n"] == n] for n in ns], dtype=object)
                med = [float(np.median(v)) for v in vals]
                lo = [float(np.min(v)) for v in vals]
                hi = [float(np.max(v)) for v in vals]
                ax.plot(ns, med, "o-", ms=3, color=colors[lrn], label=lrn)
                ax.fill_between(ns, lo, hi, color=colors[lrn], alpha=0.2)
            q = 2
            while q <= 2 ** L:
                ax.axvline(dim_q(d, q), color="grey", ls=":", lw=1)
                ax.text(dim_q(d, q), 1.5e-4, f"D_{q}", rotation=90, fontsize=7, color="grey",
                        va="bottom", ha="right")
                q *= 2
            if with_bound:
                draw_kernel_bound(ax, d, L)
            ax.axhline(eps, color="k", lw=0.6, ls="--")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_ylim(1e-4, 5)
            ax.set_title(f"L={L}, d={d}", fontsize=9)
            if i == len(Ls) - 1:
                ax.set_xlabel("N (fixed training set)")
            if j == 0:
                ax.set_ylabel("test error / top-term energy")
    axes[0][0].legend(fontsize=7, loc="lower left")
    return finish(fig, owned)


def draw_kernel_bound(ax, d: int, L: int, *, ns=None, shared: bool = False, label: str | None = None,
                      **options):
    """Draw N -> the every-kernel lower bound of docs/theory.md §1.7.4 (relative to the top-term
    energy) on the matplotlib axes ``ax``, with a band of two standard errors when the energies
    are Monte Carlo estimates, and return the axes' Figure. Chooses no backend, never saves.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    d, L : int
        The target (``**options`` go to
        :func:`theorycheck.papers.bfc.span_lemma.every_kernel_bound`).
    ns : sequence of float, optional
        Sample sizes (default: 200 points log-spaced from 1 to D_{2^L}).
    shared : bool
        Draw the shared-dimension form of the bound.
    label : str, optional
        Legend entry.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from theorycheck.papers.bfc.span_lemma import every_kernel_bound
    b = every_kernel_bound(d, L, shared=shared, **options)
    ns = np.geomspace(1, dim_q(d, 2 ** L), 200) if ns is None else np.asarray(ns, dtype=float)
    vals = np.array([b(n) for n in ns])
    err = np.array([b.error_bar(n) for n in ns])
    line, = ax.plot(ns, vals, "-", color="k", lw=1.2,
                    label=label or f"every-kernel bound ({'shared' if shared else 'per degree'})")
    if err.any():
        ax.fill_between(ns, np.maximum(vals - 2 * err, 0), vals + 2 * err, color=line.get_color(), alpha=0.15)
    return ax.figure
