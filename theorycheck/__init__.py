"""theorycheck: the theory of hierarchical deep learning, executable.

The public API is re-exported here; each idea lives in its own module.
"""

from .claims import Claim, ClaimResult, Measurement, claim, evaluate, grid, run_claim, select
from .discovery import discover, find_claim
from .errors import ClaimError, NumericalError, SpecError, TheorycheckError
from .gaussian import MCEstimate, expectation, gaussian_moment, mc_expectation, sample_inputs
from .quadratic_features import QuadraticFeatureTarget, SingleIndexTarget, quadratic_target, single_index_target, variance_oracle
from .three_layer import ThreeLayerConfig, fit_three_layer, n1_ladder, run_three_layer
from .sample_exponent import exponent_study

__version__ = "0.1.0"

__all__ = [
    "Claim", "ClaimResult", "Measurement", "claim", "evaluate", "grid", "run_claim", "select",
    "discover", "find_claim",
    "ClaimError", "NumericalError", "SpecError", "TheorycheckError",
    "MCEstimate", "expectation", "gaussian_moment", "mc_expectation", "sample_inputs",
    "QuadraticFeatureTarget", "SingleIndexTarget", "quadratic_target", "single_index_target",
    "variance_oracle", "ThreeLayerConfig", "fit_three_layer", "n1_ladder", "run_three_layer",
    "exponent_study",
]
