"""theorycheck: the theory of hierarchical deep learning, executable.

The public API is re-exported here; each idea lives in its own module.
"""

from .claims import Claim, ClaimResult, Measurement, claim, evaluate, grid, run_claim, select
from .discovery import discover, find_claim
from .errors import ClaimError, NumericalError, SpecError, TheorycheckError
from .gaussian import MCEstimate, expectation, gaussian_moment, mc_expectation, sample_inputs
from .hierarchy import Hierarchy, Label, Teacher, generate, hierarchy, label, teacher, verify_ptf, x_degree
from .residual import fit_kernel_ridge, fit_mlp, fit_residual, level_errors
from .depth_gap import depth_study, gap_table, run_task

__version__ = "0.1.0"

__all__ = [
    "Claim", "ClaimResult", "Measurement", "claim", "evaluate", "grid", "run_claim", "select",
    "discover", "find_claim",
    "ClaimError", "NumericalError", "SpecError", "TheorycheckError",
    "MCEstimate", "expectation", "gaussian_moment", "mc_expectation", "sample_inputs",
    "Hierarchy", "Label", "Teacher", "generate", "hierarchy", "label", "teacher", "verify_ptf",
    "x_degree",
    "fit_kernel_ridge", "fit_mlp", "fit_residual", "level_errors",
    "depth_study", "gap_table", "run_task",
]
