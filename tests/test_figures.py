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
