"""Figures are written atomically by one helper, theorycheck.atomic.save_figure; the
library's plotting functions return Figures and leave saving to the caller."""

from __future__ import annotations

import numpy as np

from theorycheck.atomic import save_figure


def _fig():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    return plt, fig


def test_save_figure_replaces_in_one_step_and_picks_the_format(tmp_path):
    plt, fig = _fig()
    png = save_figure(fig, tmp_path / "new" / "f.png", dpi=50)
    assert png.read_bytes().startswith(b"\x89PNG")
    svg = save_figure(fig, tmp_path / "f.svg")
    assert b"<svg" in svg.read_bytes()[:400]
    png.write_bytes(b"old")
    save_figure(fig, png)
    plt.close(fig)
    assert png.read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["f.png"]


def test_paper_figures_return_figures_and_save_separately(tmp_path):
    from theorycheck.papers.labels.depth_gap import error_per_block_figure, top_error_figure
    from theorycheck.papers.three_layer.figures import plot_matched_n
    res = [{"r": 2, "seed": s, "after_block": [[0.1, 0.4], [0.1, 0.2]],
            "top": {"layerwise": 0.2, "kernel": 0.4}, "seconds": {"layerwise": 1.0, "kernel": 1.0}}
           for s in (0, 1)]
    paths = [save_figure(f(res), tmp_path / "labels" / f"{f.__name__}.png")
             for f in (error_per_block_figure, top_error_figure)]
    assert all(p.stat().st_size > 1000 for p in paths)
    fig = plot_matched_n({"a": np.array([[0.5, 0.4], [0.6, 0.3]])}, [100, 200], 4)
    out = save_figure(fig, tmp_path / "m.png")
    assert out == tmp_path / "m.png" and out.stat().st_size > 1000


def test_kernel_bound_is_drawn_on_a_given_axes():
    from matplotlib.figure import Figure
    from theorycheck.papers.bfc.kernel_figures import draw_kernel_bound
    fig = Figure()
    ax = fig.subplots()
    assert draw_kernel_bound(ax, 4, 2) is fig
    assert draw_kernel_bound(ax, 4, 2, shared=True, exact_max_d=0, n_mc=2000) is fig  # Monte Carlo band
    (x, y), (_, y2) = (line.get_data() for line in ax.lines)
    assert y[0] > y[-1] == 0.0 and np.all(np.diff(y) <= 1e-12) and len(ax.collections) == 1


def test_the_labels_command_saves_its_figures(tmp_path):
    from theorycheck.commands.labels import write_figures
    res = [{"r": 2, "seed": s, "after_block": [[0.1, 0.4], [0.1, 0.2]],
            "top": {"layerwise": 0.2, "kernel": 0.4}, "seconds": {"layerwise": 1.0, "kernel": 1.0}}
           for s in (0, 1)]
    paths = write_figures(res, tmp_path)
    assert [p.name for p in paths] == ["labels_error_per_block.png", "labels_top_error_vs_r.png"]


# -- readable at page width ------------------------------------------------------------------

def _problems(fig) -> list[str]:
    """What makes a docs figure hard to read: wider than the page, text under MIN_FONT,
    ASCII math outside mathtext, error bars or bands that no legend explains."""
    import re

    from matplotlib.collections import PolyCollection
    from matplotlib.container import ErrorbarContainer
    from matplotlib.text import Text

    from theorycheck.plotting import MIN_FONT, PAGE_WIDTH

    out = []
    if fig.get_figwidth() > PAGE_WIDTH + 1e-9:
        out.append(f"width {fig.get_figwidth()} in > {PAGE_WIDTH}")
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    out += [f"{t.get_text()!r} at {t.get_fontsize()} pt" for t in texts if t.get_fontsize() < MIN_FONT]
    out += [f"ASCII math in {t.get_text()!r}" for t in texts
            if re.search(r"\^|_\{|\bsigma|\bphi\b", re.sub(r"\$[^$]*\$", "", t.get_text()))]
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    said = " ".join(t.get_text() for leg in legends for t in [leg.get_title(), *leg.get_texts()])
    bars = any(isinstance(c, ErrorbarContainer) for ax in fig.axes for c in ax.containers)
    bands = any(isinstance(c, PolyCollection) for ax in fig.axes for c in ax.collections)
    if (bars or bands) and not re.search(r"s\.d\.|band|interval|min to max", said):
        out.append("error bars or bands that no legend explains")
    return out


def _docs_figures():
    from types import SimpleNamespace

    from proofs.critical_degree4 import figure as critical_figure
    from theorycheck.maths.exponents import ExponentRow
    from theorycheck.papers.bfc.kernel_figures import scaling_figure
    from theorycheck.papers.bfc.plots import feature_error_figure, loss_figure
    from theorycheck.papers.labels.depth_gap import error_per_block_figure, top_error_figure
    from theorycheck.papers.three_layer.figures import plot_exponents, plot_ladder, plot_matched_n

    cells = [{"L": L, "d": d, "learner": lrn, "n": n, "seed": s, "rel_mse": 1.0 / n + s}
             for L in (2, 3) for d in (6, 8, 12) for lrn in ("poly", "network") for n in (16, 64)
             for s in (0, 1)]
    rows = [{"step": s, "stage": 2 if s < 10 else 3, "rel_loss": 1 / s, "err_lin_2": 1 / s,
             "err_lin_3": 2 / s} for s in (1, 5, 10, 50)]
    res = [{"r": r, "seed": s, "after_block": np.full((r, r), 0.1).tolist(),
            "top": {"layerwise": 0.1, "kernel": 0.4, "mlp": 0.45},
            "seconds": {"layerwise": 1.0, "kernel": 1.0, "mlp": 1.0}} for r in (1, 2) for s in (0, 1)]
    arr = np.array([[0.5, 0.4], [0.6, 0.3]])
    exp_rows = [ExponentRow("three_layer", 1.5, 1.0, 2.0, 2, 0, [1.4, 1.6],
                            {0: {8: 100.0, 12: 200.0}, 1: {8: 120.0, 12: 230.0}})]
    pts = [SimpleNamespace(kappa=k, loss=10.0 ** -e, err=10.0 ** (-e / 2)) for k in (1, 4) for e in range(8)]
    fits = [SimpleNamespace(exponent=0.5, ci_low=0.49, ci_high=0.51)] * 2
    return {
        "kernel_scaling": scaling_figure({"eps": 0.01, "cells": cells}),
        "bfc_loss": loss_figure({"e2e": rows}),
        "bfc_feature_error": feature_error_figure({"e2e": rows, "layerwise": rows}),
        "labels_error_per_block": error_per_block_figure(res),
        "labels_top_error_vs_r": top_error_figure(res),
        "three_layer_ladder": plot_ladder({"abs": (arr, arr)}, [100, 200], 8),
        "three_layer_matched_n": plot_matched_n({"three_layer": arr}, [100, 200], 8),
        "three_layer_exponents": plot_exponents(exp_rows, [8, 12], 0.5),
        "critical_degree4": critical_figure(pts, fits),
    }


def test_docs_figures_are_readable_at_page_width():
    problems = {name: _problems(fig) for name, fig in _docs_figures().items()}
    assert not {k: v for k, v in problems.items() if v}


def test_readability_check_can_fail():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3))
    ax = fig.subplots()
    ax.errorbar([1, 2], [1, 2], yerr=[0.1, 0.1], label="a")
    ax.set_xlabel("x^T A x", fontsize=6)
    ax.legend()
    found = " | ".join(_problems(fig))
    assert "width" in found and "6" in found and "ASCII math" in found and "no legend explains" in found
