"""Figure of docs/theory.md §1.7's scaling study: relative test error vs N for each kernel and the
network, one panel per (L, d), with the dimensions D_q = C(d+q-1, q) of the degree spaces
q = 2, 4, ..., 2^L marked (the span lemma: a kernel cannot fit a generic degree-q component
before N approaches D_q). Draws into a given figure or a new one, returns the Figure and
never saves (``theorycheck kernel figure`` saves)."""

from __future__ import annotations

import numpy as np

from theorycheck.papers.bfc.span_lemma import dim_q
from theorycheck.plotting import MIN_FONT, page_figsize, subplots


def scaling_figure(data: dict, *, fig=None, with_bound: bool = False, ds=None):
    """Relative test error against N, one panel per (L, d) (docs/theory.md §1.7.3).

    One message per panel: where each learner's error crosses the threshold, against the
    dimensions D_q of the degree spaces (vertical lines); lines are the median over seeds and
    bands the range (min to max) over seeds, as the legend says.

    Parameters
    ----------
    data : dict
        ``{"eps": float, "cells": [record, ...]}`` as ``theorycheck kernel scaling --json``
        writes them (each record has ``L``, ``d``, ``learner``, ``n``, ``rel_mse``).
    fig : matplotlib.figure.Figure, optional
        Draw the panels into this figure (default: a new figure at page width).
    with_bound : bool
        Add to each panel the every-kernel lower bound of docs/theory.md §1.7.4
        (:func:`draw_kernel_bound`; exact energies, so small d).
    ds : sequence of int, optional
        The dimensions to draw (default: the smallest and the largest in ``data``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib import rcParams
    from matplotlib.patches import Patch

    cells = data["cells"]
    eps = float(data.get("eps", 0.5))
    Ls = sorted({c["L"] for c in cells})
    have = sorted({c["d"] for c in cells})
    ds = sorted({have[0], have[-1]}) if ds is None else sorted(set(ds) & set(have))
    panels = [(L, d) for L in Ls for d in ds]
    ncols = min(3, len(ds))
    nrows = -(-len(panels) // ncols)
    learners = list(dict.fromkeys(c["learner"] for c in cells))
    owned = fig is None
    fig, axes = subplots(fig=fig, nrows=nrows, ncols=ncols, figsize=page_figsize(nrows, ncols, 2.5),
                         squeeze=False, sharey=True)
    colors = dict(zip(learners, rcParams["axes.prop_cycle"].by_key()["color"]))
    for k, ax in enumerate(axes.flat):
        if k >= len(panels):
            ax.set_visible(False)
            continue
        L, d = panels[k]
        for lrn in learners:
            rows = [c for c in cells if c["L"] == L and c["d"] == d and c["learner"] == lrn]
            if not rows:
                continue
            ns = sorted({c["n"] for c in rows})
            vals = [[c["rel_mse"] for c in rows if c["n"] == n] for n in ns]
            ax.plot(ns, [float(np.median(v)) for v in vals], "o-", ms=3, color=colors[lrn], label=lrn)
            ax.fill_between(ns, [min(v) for v in vals], [max(v) for v in vals], color=colors[lrn],
                            alpha=0.2, lw=0)
        q = 2
        while q <= 2 ** L:
            ax.axvline(dim_q(d, q), color="grey", ls=":", lw=1)
            ax.annotate(f"$D_{{{q}}}$", (dim_q(d, q), 1.0), xycoords=("data", "axes fraction"),
                        xytext=(2, -2), textcoords="offset points", fontsize=MIN_FONT + 1,
                        color="dimgrey", va="top", ha="left")
            q *= 2
        if with_bound:
            draw_kernel_bound(ax, d, L)
        ax.axhline(eps, color="k", lw=0.8, ls="--")
        ax.set(xscale="log", yscale="log", ylim=(1e-4, 5))
        ax.set_title(f"$L={L}$, $d={d}$", fontsize=10)
        ax.tick_params(labelsize=MIN_FONT + 1)
        if k // ncols == nrows - 1 or k + ncols >= len(panels):
            ax.set_xlabel("training samples $N$", fontsize=10)
        if k % ncols == 0:
            ax.set_ylabel("test error / top-term energy", fontsize=10)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    handles += [Patch(color="grey", alpha=0.3), axes.flat[0].lines[-1]]
    labels += ["band: min to max over seeds (line: median)", f"threshold $\\varepsilon = {eps:g}$"]
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=MIN_FONT + 1,
               frameon=False)
    if owned:
        fig.tight_layout(rect=(0, 0.06 + 0.04 * (len(labels) > 4), 1, 1))
    return fig


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


def depth_figure(records, kernel_cells=(), *, d: int = 8, Ls=None, kernels=("poly", "ntk"),
                 eps: float | None = 1e-3, fig=None, bound_options: dict | None = None):
    """The headline figure of the separation across depth (docs/theory.md §1.1.3, §1.7.4):
    relative test error against N, one panel per L at dimension ``d``; the network trained
    under the depth study's budget rule (median over seeds, band min to max), the every-kernel
    lower bound, and the kernels measured on the same targets where the records have them.

    Parameters
    ----------
    records : sequence of dict
        The network's cells ``{L, d, N, seed, rel}``
        (:func:`theorycheck.papers.bfc.depth_study.records_from_store`).
    kernel_cells : sequence of dict
        Kernel records as ``theorycheck kernel scaling --json`` writes them (``learner``, ``L``,
        ``d``, ``n``, ``rel_mse``); cells of other learners or dimensions are ignored.
    d : int
        The dimension drawn.
    Ls : sequence of int, optional
        The panels (default: every L in ``records`` at ``d``).
    kernels : sequence of str
        The kernels drawn when ``kernel_cells`` has them.
    eps : float or None
        A horizontal line at this relative error.
    fig : matplotlib.figure.Figure, optional
        Draw into this figure (default: a new one).
    bound_options : dict, optional
        ``{L: keyword options of every_kernel_bound}``; ``{L: None}`` leaves the bound out of
        that panel with a note (e.g. L = 4 at d = 8, beyond the exact energies' reach).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib import rcParams

    mine = [r for r in records if r["d"] == d]
    Ls = sorted({r["L"] for r in mine}) if Ls is None else list(Ls)
    owned = fig is None
    fig, axes = subplots(fig=fig, nrows=1, ncols=len(Ls), figsize=(3.3 * len(Ls), 3.1),
                         squeeze=False, sharey=True)
    colors = rcParams["axes.prop_cycle"].by_key()["color"]
    for j, L in enumerate(Ls):
        ax = axes[0][j]
        rows = [r for r in mine if r["L"] == L]
        ns = sorted({r["N"] for r in rows})
        if ns:
            vals = [np.array([r["rel"] for r in rows if r["N"] == n]) for n in ns]
            ax.plot(ns, [float(np.median(v)) for v in vals], "o-", ms=3.5, color=colors[0],
                    label="network (e2e), median")
            ax.fill_between(ns, [float(v.min()) for v in vals], [float(v.max()) for v in vals],
                            color=colors[0], alpha=0.25, label="network, seed range")
        for i, name in enumerate(kernels):
            kc = [c for c in kernel_cells if c["learner"] == name and c["L"] == L and c["d"] == d]
            kns = sorted({c["n"] for c in kc})
            if kns:
                med = [float(np.median([c["rel_mse"] for c in kc if c["n"] == n])) for n in kns]
                ax.plot(kns, med, "s--", ms=3, lw=1, color=colors[1 + i], label=f"{name} kernel (measured)")
        hi = max([dim_q(d, 2 ** L)] + ns)
        opts = (bound_options or {}).get(L, {})
        if opts is None:
            ax.text(0.97, 0.97, "every-kernel bound:\nexact energies not computed", transform=ax.transAxes,
                    ha="right", va="top", fontsize=7, color="k")
        else:
            draw_kernel_bound(ax, d, L, ns=np.geomspace(1, hi, 200), label="every-kernel lower bound", **opts)
        ax.axvline(dim_q(d, 2 ** L), color="grey", ls=":", lw=1)
        ax.text(dim_q(d, 2 ** L), 2e-6, f" $D_{{{2 ** L}}}$", fontsize=8, color="grey", ha="left")
        if eps is not None:
            ax.axhline(eps, color="k", lw=0.6, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(1e-6, 10)
        ax.set_xlim(16, hi * 1.5)
        ax.set_title(f"L = {L} (top degree {2 ** L}), d = {d}", fontsize=10)
        ax.set_xlabel("N (training samples)")
        if j == 0:
            ax.set_ylabel("test error / top-term energy")
    handles = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    axes[0][-1].legend(handles.values(), handles.keys(), fontsize=7, loc="lower left")
    return finish(fig, owned)
