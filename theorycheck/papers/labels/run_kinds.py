"""Run kinds of the label-hierarchy paper: ``label-depth``, one (r, seed) cell of the depth
study (docs/theory.md §3.3)."""

from __future__ import annotations

from theorycheck.runs.kinds import register_run_kind


def _label_depth(config: dict, seed: int, recorder) -> dict:
    from theorycheck.papers.labels.depth_sweep import run_label_depth
    return run_label_depth(config, seed, recorder)


def _label_depth_schema():
    from theorycheck.papers.labels.depth_sweep import schema
    return schema()


LABEL_DEPTH = register_run_kind("label-depth", _label_depth, _label_depth_schema(),
                                doc="one (r, seed) cell of the label-hierarchy depth study "
                                    "(THEORY.md 3.3): layerwise residual learner and baselines")


