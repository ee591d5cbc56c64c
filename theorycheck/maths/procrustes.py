"""Closeness up to rotation, and the Gram bound that controls it (docs/theory.md §1.8.1-4).

For W, W* in R^{k x n} the *rotation distance* is

    dist(W, W*) = min_{U in O(k)} ||W - U W*||_F,

attained by orthogonal Procrustes (``scipy.linalg.orthogonal_procrustes``).
Because ``Sum(sigma(Wz)) = z^T W^T W z`` only sees the Gram matrix W^T W, this is
the natural feature error of a quadratic layer (docs/theory.md §1.6, §1.8 item 2).

Tu et al. (2016, Lemma 5.4), docs/theory.md §1.8.3: when rank W* = k,

    dist(W, W*)^2 <= ||W^T W - W*^T W*||_F^2 / (2 (sqrt2 - 1) sigma_k(W*)^2).

With the exact loss identity of item 1,
``E[(||Wx||^2 - ||W*x||^2)^2] = 2||W^T W - W*^T W*||_F^2 + (||W||_F^2 - ||W*||_F^2)^2``,
the single-layer critical lemma (item 4) follows:
``dist^2 <= loss / (4 (sqrt2 - 1) sigma_k(W*)^2)``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from theorycheck.errors import SpecError
from theorycheck.validation import check_array

#: 1 / (2 (sqrt2 - 1)) ~= 1.2071, the Procrustes/Gram constant of item 3.
PROCRUSTES_CONSTANT = 1.0 / (2.0 * (math.sqrt(2.0) - 1.0))
#: 1 / (4 (sqrt2 - 1)) ~= 0.6036, the single-layer critical-lemma constant of item 4.
CRITICAL_CONSTANT = 1.0 / (4.0 * (math.sqrt(2.0) - 1.0))


def _pair(W, W_star) -> tuple[np.ndarray, np.ndarray]:
    W = check_array("W", W, ndim=2)
    W_star = check_array("W_star", W_star, ndim=2)
    if W.shape != W_star.shape:
        raise SpecError(f"W has shape {W.shape} but W_star has shape {W_star.shape}; "
                        f"pass two matrices of the same shape (k, n)")
    return W, W_star


def best_rotation(W, W_star) -> np.ndarray:
    """The U in O(k) minimising ||W - U W*||_F (orthogonal Procrustes)."""
    W, W_star = _pair(W, W_star)
    # min ||U W* - W|| over U: with A = W*^T, B = W^T, Procrustes gives R with A R ~ B, U = R^T.
    R, _ = scipy.linalg.orthogonal_procrustes(W_star.T, W.T)
    return R.T


def rotation_distance(W, W_star) -> float:
    """min_{U in O(k)} ||W - U W*||_F.

    Parameters
    ----------
    W, W_star : array_like, shape (k, n)
        Two weight matrices of the same shape (docs/theory.md §1.8.3).

    Returns
    -------
    float
        The Frobenius distance after the best orthogonal alignment (orthogonal Procrustes).
    """
    W, W_star = _pair(W, W_star)
    U = best_rotation(W, W_star)
    return float(np.linalg.norm(W - U @ W_star))


def gram_gap(W, W_star) -> float:
    """||W^T W - W*^T W*||_F."""
    W, W_star = _pair(W, W_star)
    return float(np.linalg.norm(W.T @ W - W_star.T @ W_star))


def sigma_min(W_star) -> float:
    """sigma_k(W*), the k-th (smallest of the top k) singular value of a k x n matrix."""
    W_star = check_array("W_star", W_star, ndim=2)
    k, n = W_star.shape
    if k > n:
        raise SpecError(f"W_star has shape {W_star.shape}; rank W* = k needs k <= n rows")
    return float(np.linalg.svd(W_star, compute_uv=False)[k - 1])


def quadratic_layer_loss(W, W_star) -> float:
    """E[(||Wx||^2 - ||W*x||^2)^2] for x ~ N(0, I_n), by the exact identity of 1.8 item 1."""
    W, W_star = _pair(W, W_star)
    return 2.0 * gram_gap(W, W_star) ** 2 + (float(np.sum(W * W)) - float(np.sum(W_star * W_star))) ** 2
