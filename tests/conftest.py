"""Test configuration: hypothesis profiles and a once-per-session numba warm-up.

Profiles: ``dev`` (default locally), ``ci`` (selected when CI is set:
derandomised, bounded examples), ``thorough`` (many examples). Choose one with
``HYPOTHESIS_PROFILE=thorough pytest``. Every profile has ``deadline=None``
because jitted code compiles on first call.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("ci", max_examples=20, deadline=None, derandomize=True,
                          database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session", autouse=True)
def numba_warmup():
    """Compile the numba kernels once per session (no-op until kernels exist)."""
    try:
        from theorycheck import warmup
    except ImportError:
        return
    warmup()
