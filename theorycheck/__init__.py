"""theorycheck: the theory of hierarchical deep learning, executable.

The public API is re-exported here; each idea lives in its own module.
"""

from ._numba_cache import configure_numba_cache as _configure_numba_cache

_configure_numba_cache()  # before numba is imported (read-only installs)

from .claims import Claim, ClaimResult, Measurement, claim, evaluate, grid, run_claim, select
from .discovery import discover, find_claim
from .errors import ClaimError, NumericalError, SpecError, TheorycheckError
from .gaussian import MCEstimate, expectation, gaussian_moment, mc_expectation, sample_inputs
from .hierarchy import Hierarchy, Label, Teacher, hierarchy, teacher, verify_ptf, x_degree
from .residual import fit_residual, level_errors
from .depth_gap import depth_study
from .label_depth import depth_study_sweep
from .lemma import lemma, save_counterexample
from .procrustes import rotation_distance
from .hermite import energy_by_degree, hermite_coefficients, mc_energy_by_degree
from .symbolic import (SymbolicTarget, plant_cancellation, symbolic_target, verify_degrees, verify_gap,
                       verify_structure)
from .runs import Recorder, RunKind, execute_run, get_kind, register_run_kind, run_kind, run_once
from .store import Store, StoreError, config_hash
from .sweep import GridError, RunSpec, load_grid, run_sweep
from .quadratic_features import QuadraticFeatureTarget, SingleIndexTarget, quadratic_target, single_index_target, variance_oracle
from .three_layer import ThreeLayerConfig, fit_three_layer, n1_ladder, run_three_layer
from .sample_exponent import exponent_study
from .three_layer_sweep import cells_from_store, exponent_specs, run_exponent_sweep
from .kernel_methods import KernelFit, fit_kernel_ridge, gram, make_kernel, ntk_features
from .span_lemma import degree_q_sections, dim_q, span_experiment, target_energy_by_degree
from .kernel_scaling import kernel_study, scaling_rows
from .learner import LearnerParams, LearnerSpec, forward, init_learner, learner_spec, learner_spec_for, loss_and_grad, sgd_step, warmup

__version__ = "0.1.0"

__all__ = [
    "Claim", "ClaimResult", "Measurement", "claim", "evaluate", "grid", "run_claim", "select",
    "discover", "find_claim",
    "ClaimError", "NumericalError", "SpecError", "TheorycheckError",
    "MCEstimate", "expectation", "gaussian_moment", "mc_expectation", "sample_inputs",
    "Hierarchy", "Label", "Teacher", "hierarchy", "teacher", "verify_ptf", "x_degree",
    "fit_residual", "level_errors", "depth_study", "depth_study_sweep",
    "lemma", "save_counterexample", "rotation_distance",
    "energy_by_degree", "hermite_coefficients", "mc_energy_by_degree",
    "SymbolicTarget", "plant_cancellation", "symbolic_target", "verify_degrees", "verify_gap",
    "verify_structure",
    "Recorder", "RunKind", "execute_run", "get_kind", "register_run_kind", "run_kind", "run_once",
    "Store", "StoreError", "config_hash",
    "GridError", "RunSpec", "load_grid", "run_sweep",
    "QuadraticFeatureTarget", "SingleIndexTarget", "quadratic_target", "single_index_target",
    "variance_oracle", "ThreeLayerConfig", "fit_three_layer", "n1_ladder", "run_three_layer",
    "cells_from_store", "exponent_specs", "run_exponent_sweep",
    "exponent_study",
    "LearnerParams", "LearnerSpec", "forward", "init_learner", "learner_spec", "learner_spec_for",
    "loss_and_grad", "sgd_step", "warmup",
    "KernelFit", "fit_kernel_ridge", "gram", "make_kernel", "ntk_features",
    "degree_q_sections", "dim_q", "span_experiment", "target_energy_by_degree", "kernel_study",
    "scaling_rows",
]
