"""Figures for training runs (docs/theory.md §1.6): loss curves of several runs on one
log axis, and per-layer feature error over time with stage boundaries marked.

Inputs are plain curve rows (``{"step", "stage", metric: value}``), as kept by
the trainer and the results store; the Agg backend is used so no display is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from theorycheck.atomic import save_figure


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _stage_starts(rows: Sequence[Mapping]) -> list[tuple[int, int]]:
    """(first recorded step of a stage, stage) for each stage after the first."""
    out, prev = [], None
    for r in rows:
        if prev is not None and r["stage"] != prev["stage"]:
            out.append((prev["step"], int(r["stage"])))
        prev = r
    return out


def loss_figure(runs: Mapping[str, Sequence[Mapping]], path: str | Path,
                metric: str = "rel_loss") -> Path:
    """Test loss relative to the top term's energy, one line per run, log scale."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, rows in runs.items():
        rows = [r for r in rows if metric in r]
        ax.plot([r["step"] for r in rows], [r[metric] for r in rows], marker="o", ms=3, label=label)
        for step, stage in _stage_starts(rows):
            ax.axvline(step, color="0.8", lw=0.8, zorder=0)
    ax.axhline(0.1, color="k", ls=":", lw=0.8, label="0.1 x top-term energy")
    ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel("SGD step")
    ax.set_ylabel("test loss / top-term energy")
    ax.set_title("Backward feature correction: loss by training mode")
    ax.legend(fontsize=8)
    out = save_figure(fig, path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return out


def feature_error_figure(runs: Mapping[str, Sequence[Mapping]], path: str | Path,
                         kind: str = "lin") -> Path:
    """Per-layer feature error (up to a linear map or rotation) over time; one panel per run."""
    plt = _plt()
    n = max(len(runs), 1)
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n, 3.8), squeeze=False, sharey=True)
    for ax, (label, rows) in zip(axes[0], runs.items()):
        layers = sorted({int(k.rsplit("_", 1)[1]) for r in rows for k in r
                         if k.startswith(f"err_{kind}_")})
        for l in layers:
            pts = [r for r in rows if f"err_{kind}_{l}" in r]
            ax.plot([r["step"] for r in pts], [r[f"err_{kind}_{l}"] for r in pts], marker="o", ms=3,
                    label=f"layer {l}")
        for step, stage in _stage_starts(rows):
            ax.axvline(step, color="0.6", ls="--", lw=0.8)
            ax.text(step, 1.0, f" stage {stage}", transform=ax.get_xaxis_transform(), va="top",
                    fontsize=7, color="0.4")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("SGD step")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("feature error up to " + ("a linear map" if kind == "lin" else "rotation"))
    out = save_figure(fig, path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return out
