"""theorycheck: the theory of hierarchical deep learning, executable.

The public API is re-exported here and resolved lazily (PEP 562): ``import theorycheck`` loads
no numerical library; a name's module is imported on first access. Each idea lives in one
module of a layer (docs/architecture.md): ``claims`` and ``runs`` (the engines), ``maths``
(mathematics shared by the papers) and ``papers.bfc``, ``papers.three_layer``,
``papers.labels`` (one package per paper).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from theorycheck._numba_cache import configure_numba_cache as _configure_numba_cache

_configure_numba_cache()  # before numba is imported (read-only installs)

from theorycheck._version import __version__

_EXPORTS: dict[str, tuple[str, ...]] = {
    "theorycheck.claims.discovery": ("discover", "find_claim",),
    "theorycheck.claims.engine": ("Claim", "ClaimResult", "Measurement", "claim", "grid", "reproduce", "run_claim", "select",),
    "theorycheck.claims.report": ("Report",),
    "theorycheck.claims.lemmas": ("lemma", "save_counterexample",),
    "theorycheck.claims.tighten": ("Tightness", "tighten",),
    "theorycheck.errors": ("ClaimError", "NumericalError", "SpecError", "TheorycheckError",),
    "theorycheck.maths.gaussian": ("MCEstimate", "expectation", "gaussian_moment", "mc_expectation", "sample_inputs",),
    "theorycheck.maths.hermite": ("energy_by_degree", "hermite_coefficients", "mc_energy_by_degree",),
    "theorycheck.maths.kernel_methods": ("KernelFit", "fit_kernel_ridge", "gram",),
    "theorycheck.maths.procrustes": ("rotation_distance",),
    "theorycheck.papers.bfc.ntk": ("make_kernel", "ntk_features",),
    "theorycheck.papers.bfc.kernel_scaling": ("kernel_study", "scaling_rows",),
    "theorycheck.papers.bfc.learner": ("LearnerParams", "LearnerSpec", "forward", "init_learner", "learner_spec", "learner_spec_for", "loss_and_grad", "sgd_step", "warmup",),
    "theorycheck.papers.bfc.span_lemma": ("degree_q_sections", "dim_q", "span_experiment", "target_energy_by_degree",),
    "theorycheck.papers.bfc.symbolic": ("SymbolicTarget", "plant_cancellation", "symbolic_target", "verify_degrees", "verify_gap", "verify_structure",),
    "theorycheck.papers.labels.depth_gap": ("depth_study",),
    "theorycheck.papers.labels.depth_sweep": ("depth_study_sweep",),
    "theorycheck.papers.labels.hierarchies": ("Hierarchy", "Label", "Teacher", "hierarchy", "teacher", "verify_ptf", "x_degree",),
    "theorycheck.papers.labels.residual": ("fit_residual", "level_errors",),
    "theorycheck.papers.three_layer.exponent_study": ("exponent_study",),
    "theorycheck.papers.three_layer.exponent_sweep": ("cells_from_store", "exponent_specs", "run_exponent_sweep",),
    "theorycheck.papers.three_layer.learner": ("ThreeLayerConfig", "fit_three_layer", "n1_ladder", "run_three_layer",),
    "theorycheck.papers.three_layer.quadratic_features": ("QuadraticFeatureTarget", "SingleIndexTarget", "quadratic_target", "single_index_target", "variance_oracle",),
    "theorycheck.runs.kinds": ("Recorder", "RunKind", "execute_run", "get_kind", "register_run_kind", "run_kind", "run_once",),
    "theorycheck.runs.store": ("Store", "StoreError", "config_hash",),
    "theorycheck.runs.sweep": ("GridError", "RunSpec", "load_grid", "run_sweep",),
}
# Public names whose object lives under another name in its module.
_RENAMED = {"evaluate_claim": ("theorycheck.claims.engine", "evaluate")}
# Old names kept one release: each access warns (DeprecationWarning) and names the new one.
_DEPRECATED = {"evaluate": "evaluate_claim"}

_HOME = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted([*_HOME, *_RENAMED])


def __getattr__(name: str):
    if name in _DEPRECATED:
        import warnings
        new = _DEPRECATED[name]
        warnings.warn(f"theorycheck.{name} is deprecated and will be removed in the next release; "
                      f"use theorycheck.{new} (it evaluates a claim on one instance, not a target)",
                      DeprecationWarning, stacklevel=2)
        return __getattr__(new)  # not cached, so that every use warns
    if name in _RENAMED:
        module, attr = _RENAMED[name]
    else:
        module, attr = _HOME.get(name), name
    if module is None:
        raise AttributeError(f"module 'theorycheck' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # static analysers and IDEs see the eager imports
    from theorycheck.claims.discovery import discover, find_claim
    from theorycheck.claims.engine import Claim, ClaimResult, Measurement, claim, grid, reproduce, run_claim, select
    from theorycheck.claims.engine import evaluate as evaluate_claim
    from theorycheck.claims.report import Report
    from theorycheck.claims.lemmas import lemma, save_counterexample
    from theorycheck.claims.tighten import Tightness, tighten
    from theorycheck.errors import ClaimError, NumericalError, SpecError, TheorycheckError
    from theorycheck.maths.gaussian import MCEstimate, expectation, gaussian_moment, mc_expectation, sample_inputs
    from theorycheck.maths.hermite import energy_by_degree, hermite_coefficients, mc_energy_by_degree
    from theorycheck.maths.kernel_methods import KernelFit, fit_kernel_ridge, gram
    from theorycheck.maths.procrustes import rotation_distance
    from theorycheck.papers.bfc.ntk import make_kernel, ntk_features
    from theorycheck.papers.bfc.kernel_scaling import kernel_study, scaling_rows
    from theorycheck.papers.bfc.learner import LearnerParams, LearnerSpec, forward, init_learner, learner_spec, learner_spec_for, loss_and_grad, sgd_step, warmup
    from theorycheck.papers.bfc.span_lemma import degree_q_sections, dim_q, span_experiment, target_energy_by_degree
    from theorycheck.papers.bfc.symbolic import SymbolicTarget, plant_cancellation, symbolic_target, verify_degrees, verify_gap, verify_structure
    from theorycheck.papers.labels.depth_gap import depth_study
    from theorycheck.papers.labels.depth_sweep import depth_study_sweep
    from theorycheck.papers.labels.hierarchies import Hierarchy, Label, Teacher, hierarchy, teacher, verify_ptf, x_degree
    from theorycheck.papers.labels.residual import fit_residual, level_errors
    from theorycheck.papers.three_layer.exponent_study import exponent_study
    from theorycheck.papers.three_layer.exponent_sweep import cells_from_store, exponent_specs, run_exponent_sweep
    from theorycheck.papers.three_layer.learner import ThreeLayerConfig, fit_three_layer, n1_ladder, run_three_layer
    from theorycheck.papers.three_layer.quadratic_features import QuadraticFeatureTarget, SingleIndexTarget, quadratic_target, single_index_target, variance_oracle
    from theorycheck.runs.kinds import Recorder, RunKind, execute_run, get_kind, register_run_kind, run_kind, run_once
    from theorycheck.runs.store import Store, StoreError, config_hash
    from theorycheck.runs.sweep import GridError, RunSpec, load_grid, run_sweep
