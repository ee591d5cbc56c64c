"""theorycheck: the theory of hierarchical deep learning, executable.

The public API is re-exported here; each idea lives in its own module.
"""

from ._numba_cache import configure_numba_cache as _configure_numba_cache

_configure_numba_cache()  # before numba is imported (read-only installs)

from .claims import Claim, ClaimResult, Measurement, claim, evaluate, grid, run_claim, select
from .discovery import discover, find_claim
from .errors import ClaimError, NumericalError, SpecError, TheorycheckError
from .gaussian import MCEstimate, expectation, gaussian_moment, mc_expectation, sample_inputs
from .learner import LearnerParams, LearnerSpec, forward, init_learner, learner_spec, learner_spec_for, loss_and_grad, sgd_step, warmup

__version__ = "0.1.0"

__all__ = [
    "Claim", "ClaimResult", "Measurement", "claim", "evaluate", "grid", "run_claim", "select",
    "discover", "find_claim",
    "ClaimError", "NumericalError", "SpecError", "TheorycheckError",
    "MCEstimate", "expectation", "gaussian_moment", "mc_expectation", "sample_inputs",
    "LearnerParams", "LearnerSpec", "forward", "init_learner", "learner_spec", "learner_spec_for",
    "loss_and_grad", "sgd_step", "warmup",
]
