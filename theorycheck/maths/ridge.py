"""Ridge regression solved by Cholesky (scipy.linalg.cho_factor / cho_solve),
never by an explicit inverse, with the penalty chosen on a validation split.

Used by the output layer of the three-layer learner (THEORY.md 2.2, stage 2)
and by the two-layer baselines (THEORY.md 2.2, baselines).
Convention [R]: the penalty is scaled by the sample count, i.e. we minimise
(1/n) ||Phi a - y||^2 + lam ||a||^2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from theorycheck.errors import NumericalError, SpecError
from theorycheck.validation import check_real

#: default penalty grid (relative to the mean diagonal of the Gram matrix).
DEFAULT_LAMBDAS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)


def _chol_solve(M: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    try:
        return cho_solve(cho_factor(M, lower=True, check_finite=True), rhs, check_finite=False)
    except LinAlgError:
        raise NumericalError("the ridge system is not positive definite; increase the ridge "
                             "penalty (lambdas) or check the features for NaN/inf") from None


def ridge_solve(Phi: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """argmin_a (1/n) ||Phi a - y||^2 + lam * s ||a||^2 with s = mean diagonal of Phi^T Phi / n.

    Primal normal equations when p <= n, dual (Phi Phi^T + n lam s I) otherwise.
    """
    lam = check_real("lam", lam, positive=True)
    n, p = Phi.shape
    s = float(np.einsum("ij,ij->", Phi, Phi)) / (n * p) or 1.0
    if p <= n:
        G = Phi.T @ Phi
        G[np.diag_indices_from(G)] += n * lam * s
        return _chol_solve(G, Phi.T @ y)
    K = Phi @ Phi.T
    K[np.diag_indices_from(K)] += n * lam * s
    return Phi.T @ _chol_solve(K, y)


def kernel_ridge_solve(K: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Dual coefficients alpha = (K + n lam s I)^{-1} y (by Cholesky), s = mean diag K."""
    lam = check_real("lam", lam, positive=True)
    n = K.shape[0]
    s = float(np.mean(np.diag(K))) or 1.0
    M = K.copy()
    M[np.diag_indices_from(M)] += n * lam * s
    return _chol_solve(M, y)


@dataclass(frozen=True)
class RidgeChoice:
    lam: float
    val_losses: tuple


def split_indices(n: int, val_frac: float, rng: np.random.Generator):
    val_frac = check_real("val_frac", val_frac, min_value=0.05, max_value=0.5)
    n_val = max(1, int(round(val_frac * n)))
    if n - n_val < 2:
        raise SpecError(f"n={n} samples is too few to hold out a validation split; use n >= 4")
    perm = rng.permutation(n)
    return perm[n_val:], perm[:n_val]


def select_ridge(Phi: np.ndarray, y: np.ndarray, rng: np.random.Generator, *,
                 lambdas: Sequence[float] = DEFAULT_LAMBDAS, val_frac: float = 0.2):
    """Pick lam on a held-out split, then refit on all rows. Returns (a, RidgeChoice)."""
    tr, va = split_indices(len(y), val_frac, rng)
    losses = [float(np.mean((Phi[va] @ ridge_solve(Phi[tr], y[tr], lam) - y[va]) ** 2))
              for lam in lambdas]
    lam = float(lambdas[int(np.argmin(losses))])
    return ridge_solve(Phi, y, lam), RidgeChoice(lam, tuple(losses))


def select_kernel_ridge(kernel: Callable[[np.ndarray, np.ndarray], np.ndarray], X: np.ndarray,
                        y: np.ndarray, rng: np.random.Generator, *,
                        lambdas: Sequence[float] = DEFAULT_LAMBDAS, val_frac: float = 0.2):
    """Kernel ridge with lam chosen on a held-out split; returns (alpha, RidgeChoice)."""
    tr, va = split_indices(len(y), val_frac, rng)
    K = kernel(X, X)
    Ktr, Kva = K[np.ix_(tr, tr)], K[np.ix_(va, tr)]
    losses = [float(np.mean((Kva @ kernel_ridge_solve(Ktr, y[tr], lam) - y[va]) ** 2))
              for lam in lambdas]
    lam = float(lambdas[int(np.argmin(losses))])
    return kernel_ridge_solve(K, y, lam), RidgeChoice(lam, tuple(losses))
