"""Ridge and kernel ridge regression solved by Cholesky (scipy.linalg.cho_factor /
cho_solve), never by an explicit inverse, with the penalty chosen on a validation split.

The one solver of the package: the three-layer learner's output layer and its two-layer
baselines (docs/theory.md §2.2), the kernel methods of the BFC paper (§1.7) and the
label-hierarchy paper's residual blocks and kernel baseline (§3.2, §3.3).

Convention: the penalty is scaled by the sample count n, i.e. ridge minimises
(1/n) ||Phi a - y||^2 + lam s ||a||^2 and kernel ridge solves (K + n lam s I) alpha = y,
where the scale s is set by ``lam_scale``:

* ``"mean_diag"`` (default): s is the mean diagonal of Phi^T Phi / n (of K for kernel ridge),
  so one grid of penalties fits features and kernels of any magnitude; rescaling the
  features (or the kernel) leaves the fitted predictor unchanged;
* ``"none"``: s = 1, the penalty is absolute (the label-hierarchy paper's ``lam``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from theorycheck.errors import NumericalError, SpecError
from theorycheck.validation import check_choice, check_real

#: default penalty grid of :func:`select_ridge` (relative to the mean diagonal).
DEFAULT_LAMBDAS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
LAM_SCALES = ("mean_diag", "none")


def _solve_spd(M: np.ndarray, rhs: np.ndarray, lam: float) -> np.ndarray:
    """Solve M x = rhs for symmetric positive definite M, factoring M in place."""
    try:
        factor = cho_factor(M, lower=True, overwrite_a=True, check_finite=False)
    except LinAlgError:
        raise NumericalError(f"the ridge system is not positive definite at lam={lam:g}; use a "
                             f"larger penalty (lambdas) or check the features for NaN/inf") from None
    return cho_solve(factor, rhs, check_finite=False)


def _scale(mean_diag: float, lam_scale: str) -> float:
    if check_choice("lam_scale", lam_scale, LAM_SCALES) == "none":
        return 1.0
    return mean_diag or 1.0


def ridge_solve(Phi: np.ndarray, Y: np.ndarray, lam: float, *, lam_scale: str = "mean_diag") -> np.ndarray:
    """Ridge regression coefficients by the normal equations.

    Primal (Phi^T Phi + n lam s I) a = Phi^T Y when p <= n, dual
    a = Phi^T (Phi Phi^T + n lam s I)^{-1} Y otherwise (the same minimiser).

    Parameters
    ----------
    Phi : ndarray, shape (n, p)
        Features, one row per sample.
    Y : ndarray, shape (n,) or (n, k)
        Targets; several columns are fitted at once.
    lam : float
        Penalty, positive.
    lam_scale : {"mean_diag", "none"}
        Scale s of the penalty (module docstring).

    Returns
    -------
    ndarray, shape (p,) or (p, k)
        argmin_a (1/n) ||Phi a - Y||^2 + lam s ||a||^2.

    Examples
    --------
    >>> Phi = np.eye(4)
    >>> ridge_solve(Phi, np.ones(4), 0.25, lam_scale="none")
    array([0.5, 0.5, 0.5, 0.5])
    """
    lam = check_real("lam", lam, positive=True)
    n, p = Phi.shape
    s = _scale(float(np.einsum("ij,ij->", Phi, Phi)) / (n * p), lam_scale)
    if p <= n:
        G = Phi.T @ Phi
        G[np.diag_indices_from(G)] += n * lam * s
        return _solve_spd(G, Phi.T @ Y, lam)
    K = Phi @ Phi.T
    K[np.diag_indices_from(K)] += n * lam * s
    return Phi.T @ _solve_spd(K, Y, lam)


def kernel_ridge_solve(K: np.ndarray, Y: np.ndarray, lam: float, *, lam_scale: str = "mean_diag",
                       overwrite: bool = False) -> np.ndarray:
    """Dual coefficients alpha = (K + n lam s I)^{-1} Y, by Cholesky.

    Parameters
    ----------
    K : ndarray, shape (n, n)
        Gram matrix of the training inputs.
    Y : ndarray, shape (n,) or (n, k)
        Targets.
    lam : float
        Penalty, positive.
    lam_scale : {"mean_diag", "none"}
        Scale s of the penalty (module docstring).
    overwrite : bool
        Factor ``K`` in place (saves one n x n copy; ``K`` is destroyed).

    Returns
    -------
    ndarray, shape (n,) or (n, k)
        The predictor is x -> k(x, X) @ alpha.

    Examples
    --------
    >>> kernel_ridge_solve(np.eye(2), np.array([1.0, 2.0]), 0.5, lam_scale="none")
    array([0.5, 1. ])
    """
    lam = check_real("lam", lam, positive=True)
    n = K.shape[0]
    s = _scale(float(np.mean(np.diag(K))), lam_scale)
    M = K if overwrite else K.copy()
    M[np.diag_indices(n)] += n * lam * s
    return _solve_spd(M, Y, lam)


@dataclass(frozen=True)
class RidgeChoice:
    """The penalty chosen on the validation split and the validation loss of each candidate."""

    lam: float
    val_losses: tuple


def split_indices(n: int, val_frac: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) row indices: a random permutation of n rows, the first
    round(val_frac n) of which are held out."""
    val_frac = check_real("val_frac", val_frac, min_value=0.05, max_value=0.5)
    n_val = max(1, int(round(val_frac * n)))
    if n - n_val < 2:
        raise SpecError(f"n={n} samples is too few to hold out a validation split; use n >= 4")
    perm = rng.permutation(n)
    return perm[n_val:], perm[:n_val]


def select_ridge(Phi: np.ndarray, y: np.ndarray, rng: np.random.Generator, *,
                 lambdas: Sequence[float] = DEFAULT_LAMBDAS, val_frac: float = 0.2,
                 lam_scale: str = "mean_diag") -> tuple[np.ndarray, RidgeChoice]:
    """Ridge with the penalty chosen on a held-out split, refitted on all rows.

    Parameters
    ----------
    Phi : ndarray, shape (n, p)
    y : ndarray, shape (n,) or (n, k)
    rng : numpy.random.Generator
        Draws the split.
    lambdas : sequence of float
        Candidate penalties; the first with the least validation MSE wins.
    val_frac : float
        Fraction held out (0.05 to 0.5).
    lam_scale : {"mean_diag", "none"}

    Returns
    -------
    (ndarray, RidgeChoice)
        The coefficients on all rows and the choice.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 3))
    >>> a, choice = select_ridge(X, X @ [1.0, -2.0, 0.5], rng, lambdas=(1e-6, 1.0))
    >>> choice.lam
    1e-06
    """
    tr, va = split_indices(len(y), val_frac, rng)
    path = RidgePath(Phi[tr], y[tr], lam_scale=lam_scale)
    losses = [float(np.mean((Phi[va] @ path.solve(lam) - y[va]) ** 2)) for lam in lambdas]
    lam = float(lambdas[int(np.argmin(losses))])
    return ridge_solve(Phi, y, lam, lam_scale=lam_scale), RidgeChoice(lam, tuple(losses))


class RidgePath:
    """:func:`ridge_solve` for many penalties on the same data: the Gram matrix (Phi^T Phi,
    or Phi Phi^T when p > n), the right-hand side and the penalty scale are computed once,
    then each penalty costs one Cholesky factorisation of a copy. Each solution is the one
    :func:`ridge_solve` returns, bit for bit (the same operations in the same order).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Phi, y = rng.standard_normal((30, 5)), rng.standard_normal(30)
    >>> path = RidgePath(Phi, y)
    >>> all(np.array_equal(path.solve(lam), ridge_solve(Phi, y, lam)) for lam in (1e-3, 1.0))
    True
    """

    def __init__(self, Phi: np.ndarray, Y: np.ndarray, *, lam_scale: str = "mean_diag"):
        n, p = Phi.shape
        self.Phi, self.Y, self.n, self.primal = Phi, Y, n, p <= n
        self.s = _scale(float(np.einsum("ij,ij->", Phi, Phi)) / (n * p), lam_scale)
        self.G = Phi.T @ Phi if self.primal else Phi @ Phi.T
        self.rhs = Phi.T @ Y if self.primal else Y

    def solve(self, lam: float) -> np.ndarray:
        lam = check_real("lam", lam, positive=True)
        M = self.G.copy()
        M[np.diag_indices_from(M)] += self.n * lam * self.s
        out = _solve_spd(M, self.rhs, lam)
        return out if self.primal else self.Phi.T @ out
