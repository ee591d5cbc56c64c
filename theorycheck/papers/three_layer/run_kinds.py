"""Run kinds of the three-layer paper: ``three-layer-fit``, one (learner, d, n, seed) cell of
the sample-exponent study (docs/theory.md §2.3)."""

from __future__ import annotations

from theorycheck.runs.kinds import register_run_kind


def _three_layer_fit(config: dict, seed: int, recorder) -> dict:
    from theorycheck.papers.three_layer.exponent_sweep import run_three_layer_fit
    return run_three_layer_fit(config, seed, recorder)


def _three_layer_fit_schema():
    from theorycheck.papers.three_layer.exponent_sweep import fit_schema
    return fit_schema()


THREE_LAYER_FIT = register_run_kind("three-layer-fit", _three_layer_fit, _three_layer_fit_schema(),
                                    doc="one (learner, d, n, seed) cell of the three-layer "
                                        "sample-exponent study (THEORY.md 2.3): rel. test MSE, "
                                        "corr(phi, x^T A x)")

