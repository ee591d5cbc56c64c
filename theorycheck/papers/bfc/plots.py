"""Figures for training runs (docs/theory.md §1.6): loss curves of several runs on one
log axis, and per-layer feature error over time with stage boundaries marked.

Inputs are plain curve rows (``{"step", "stage", metric: value}``), as kept by
the trainer and the results store. Each function draws into the ``ax`` (or ``fig``) it is
given, or a new figure that no backend owns, and returns the Figure; it never picks a
backend and never saves (``theorycheck plot`` saves with
:func:`theorycheck.atomic.save_figure`).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from theorycheck.plotting import MIN_FONT, finish, page_figsize, subplots


def _stage_starts(rows: Sequence[Mapping]) -> list[tuple[int, int]]:
    """(first recorded step of a stage, stage) for each stage after the first."""
    out, prev = [], None
    for r in rows:
        if prev is not None and r["stage"] != prev["stage"]:
            out.append((prev["step"], int(r["stage"])))
        prev = r
    return out


def loss_figure(runs: Mapping[str, Sequence[Mapping]], *, metric: str = "rel_loss", ax=None):
    """Test loss relative to the top term's energy, one line per run, log scale
    (docs/theory.md §1.6.1).

    Parameters
    ----------
    runs : mapping of str to sequence of dict
        Curve rows per run label.
    metric : str
        The curve column to plot.
    ax : matplotlib.axes.Axes, optional
        Draw here (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> rows = [{"step": s, "stage": 2, "rel_loss": 1 / s} for s in (1, 10, 100)]
    >>> loss_figure({"e2e": rows}).axes[0].get_yscale()
    'log'
    """
    fig, ax_ = subplots(ax, figsize=(page_figsize()[0] * 0.8, 3.9))
    for label, rows in runs.items():
        rows = [r for r in rows if metric in r]
        ax_.plot([r["step"] for r in rows], [r[metric] for r in rows], marker="o", ms=3, label=label)
        for step, stage in _stage_starts(rows):
            ax_.axvline(step, color="0.8", lw=0.8, zorder=0)
    ax_.axhline(0.1, color="k", ls=":", lw=0.8, label=r"$0.1\times$ top-term energy")
    ax_.set_yscale("log")
    ax_.set_xscale("log")
    ax_.set_xlabel("SGD step", fontsize=10)
    ax_.set_ylabel("test loss / top-term energy", fontsize=10)
    ax_.set_title("Backward feature correction: loss by training mode", fontsize=10)
    ax_.tick_params(labelsize=MIN_FONT + 1)
    ax_.legend(fontsize=MIN_FONT + 1, loc="lower left",
               title="one run per mode (no error bars)\ngrey lines: stage starts",
               title_fontsize=MIN_FONT)
    return finish(fig, ax is None)


def feature_error_figure(runs: Mapping[str, Sequence[Mapping]], *, kind: str = "lin", fig=None):
    """Per-layer feature error (up to a linear map or rotation) over time; one panel per run
    (docs/theory.md §1.6.2).

    Parameters
    ----------
    runs : mapping of str to sequence of dict
        Curve rows per run label (rows with ``err_<kind>_<l>`` columns).
    kind : {"lin", "rot"}
        Error up to a linear map or up to a rotation.
    fig : matplotlib.figure.Figure, optional
        Draw the panels into this figure (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    n = max(len(runs), 1)
    owned = fig is None
    fig, axes = subplots(fig=fig, ncols=n, figsize=page_figsize(1, n, 3.0), squeeze=False, sharey=True)
    for ax, (label, rows) in zip(axes[0], runs.items()):
        layers = sorted({int(k.rsplit("_", 1)[1]) for r in rows for k in r
                         if k.startswith(f"err_{kind}_")})
        for l in layers:
            pts = [r for r in rows if f"err_{kind}_{l}" in r]
            ax.plot([r["step"] for r in pts], [r[f"err_{kind}_{l}"] for r in pts], marker="o", ms=3,
                    label=f"$\\mathrm{{err}}_{l}$ (layer {l})")
        for step, stage in _stage_starts(rows):
            ax.axvline(step, color="0.6", ls="--", lw=0.8)
            ax.text(step, 1.0, f" stage {stage}", transform=ax.get_xaxis_transform(), va="top",
                    fontsize=MIN_FONT, color="0.4")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("SGD step", fontsize=10)
        ax.set_title(label, fontsize=10)
        ax.tick_params(labelsize=MIN_FONT + 1)
        ax.legend(fontsize=MIN_FONT, title="one run, no error bars", title_fontsize=MIN_FONT)
    axes[0][0].set_ylabel("feature error up to " + ("a linear map" if kind == "lin" else "rotation"),
                          fontsize=10)
    return finish(fig, owned)
