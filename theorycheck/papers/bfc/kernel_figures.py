"""Figure of docs/theory.md §1.7's scaling study: relative test error vs N for each kernel and the
network, one panel per (L, d), with the dimensions D_q = C(d+q-1, q) of the degree spaces
q = 2, 4, ..., 2^L marked (the span lemma: a kernel cannot fit a generic degree-q component
before N approaches D_q)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from theorycheck.atomic import save_figure
from theorycheck.papers.bfc.span_lemma import dim_q


def scaling_figure(data: dict, out: str | Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cells = data["cells"]
    eps = float(data.get("eps", 0.5))
    Ls = sorted({c["L"] for c in cells})
    ds = sorted({c["d"] for c in cells})
    learners = list(dict.fromkeys(c["learner"] for c in cells))
    fig, axes = plt.subplots(len(Ls), len(ds), figsize=(3.2 * len(ds), 2.9 * len(Ls)), squeeze=False,
                             sharey=True)
    colors = dict(zip(learners, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
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
    fig.tight_layout()
    out = save_figure(fig, out, dpi=120)
    plt.close(fig)
    return out
