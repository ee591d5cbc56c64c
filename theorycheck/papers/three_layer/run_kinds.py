"""Run kinds of the three-layer paper: ``three-layer-fit``, one (learner, d, n, seed) cell of
the sample-exponent study (docs/theory.md §2.3)."""

from __future__ import annotations

from theorycheck.papers.three_layer.exponent_study import ExponentTask
from theorycheck.papers.three_layer.exponent_sweep import run_three_layer_fit
from theorycheck.runs.kinds import register_run_kind

THREE_LAYER_FIT = register_run_kind("three-layer-fit", run_three_layer_fit, config=ExponentTask,
                                    doc="one (learner, d, n, seed) cell of the three-layer "
                                        "sample-exponent study (docs/theory.md §2.3): rel. test "
                                        "MSE, corr(phi, x^T A x)")
