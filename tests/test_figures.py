"""Figures are written atomically by one helper, theorycheck.atomic.save_figure."""

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


def test_paper_figures_return_their_paths(tmp_path):
    from theorycheck.papers.labels.depth_gap import plot_figures
    from theorycheck.papers.three_layer.figures import plot_matched_n
    res = [{"r": 2, "seed": s, "after_block": [[0.1, 0.4], [0.1, 0.2]],
            "top": {"layerwise": 0.2, "kernel": 0.4}, "seconds": {"layerwise": 1.0, "kernel": 1.0}}
           for s in (0, 1)]
    paths = plot_figures(res, tmp_path / "labels")
    assert [p.name for p in paths] == ["labels_error_per_block.png", "labels_top_error_vs_r.png"]
    assert all(p.stat().st_size > 1000 for p in paths)
    out = plot_matched_n({"a": np.array([[0.5, 0.4], [0.6, 0.3]])}, [100, 200], 4, tmp_path / "m.png")
    assert out == tmp_path / "m.png" and out.stat().st_size > 1000
