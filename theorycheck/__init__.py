"""theorycheck: the theory of hierarchical deep learning, executable.

The public API is re-exported here; each idea lives in its own module.
"""

from .claims import Claim, ClaimResult, Measurement, claim, evaluate, grid, run_claim, select
from .discovery import discover, find_claim
from .errors import ClaimError, NumericalError, SpecError, TheorycheckError
from .gaussian import MCEstimate, expectation, gaussian_moment, mc_expectation, sample_inputs
from .runs import Recorder, RunKind, execute_run, get_kind, register_run_kind, run_kind, run_once
from .store import Store, StoreError, config_hash
from .sweep import GridError, RunSpec, load_grid, run_sweep

__version__ = "0.1.0"

__all__ = [
    "Claim", "ClaimResult", "Measurement", "claim", "evaluate", "grid", "run_claim", "select",
    "discover", "find_claim",
    "ClaimError", "NumericalError", "SpecError", "TheorycheckError",
    "MCEstimate", "expectation", "gaussian_moment", "mc_expectation", "sample_inputs",
    "Recorder", "RunKind", "execute_run", "get_kind", "register_run_kind", "run_kind", "run_once",
    "Store", "StoreError", "config_hash",
    "GridError", "RunSpec", "load_grid", "run_sweep",
]
