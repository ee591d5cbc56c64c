"""Deferred imports for claim modules.

``theorycheck check --list`` imports every claim module, so a claim module keeps its
module level cheap (numpy, hypothesis and the claims engine) and imports the papers' code,
sympy and scipy where it measures. :func:`lazy_function` covers the one case a local import
cannot: a default value (a knob, a keyword default) that must be a function of another
module when the claim is built.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_function(module: str, name: str) -> Callable[..., Any]:
    """A function that imports ``module`` on its first call and forwards to ``module.name``.

    It bears the target's name and module, so it prints like the target in reports and
    reproducers.
    """
    def forward(*args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = name
    forward.__module__ = module
    forward.__doc__ = f"``{module}.{name}``, imported on first call."
    return forward
