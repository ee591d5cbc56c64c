"""Error measures shared by the papers."""

from __future__ import annotations

import numpy as np


def relative_mse(pred: np.ndarray, y: np.ndarray, energy: float | None = None) -> float:
    """Mean squared error relative to an energy: mean (pred - y)^2 / energy.

    Parameters
    ----------
    pred, y : ndarray
        Predictions and targets on the same samples.
    energy : float, optional
        The reference energy; default Var(y) (the error of the best constant predictor).
        The BFC paper divides by the top term's energy alpha_L^2 Var(Sum G*_L)
        (docs/theory.md §1.6), the three-layer paper by Var(y) (§2.3).

    Returns
    -------
    float

    Examples
    --------
    >>> relative_mse(np.zeros(4), np.array([1.0, -1.0, 1.0, -1.0]))
    1.0
    >>> relative_mse(np.zeros(2), np.ones(2), energy=4.0)
    0.25
    """
    return float(np.mean((pred - y) ** 2) / (np.var(y) if energy is None else energy))
