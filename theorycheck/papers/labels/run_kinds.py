"""Run kinds of the label-hierarchy paper: ``label-depth``, one (r, seed) cell of the depth
study (docs/theory.md §3.3)."""

from __future__ import annotations

from theorycheck.papers.labels.depth_sweep import LabelDepthConfig, run_label_depth
from theorycheck.runs.kinds import register_run_kind

LABEL_DEPTH = register_run_kind("label-depth", run_label_depth, config=LabelDepthConfig,
                                doc="one (r, seed) cell of the label-hierarchy depth study "
                                    "(docs/theory.md §3.3): layerwise residual learner and "
                                    "baselines")
