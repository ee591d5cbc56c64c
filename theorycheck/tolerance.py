"""Tolerances that follow the numerics: rounding-error bounds for a lemma's ``atol`` / ``rtol``
(docs/lemmas.md, "Tolerances that follow the numerics"; docs/theory.md §0.2).

A lemma compares two computed sides, and both carry rounding error. A constant tolerance is
either too loose (the lemma cannot fail below it) or too tight somewhere: the optimiser phase
of the engine drives instances into the corners where a computation loses accuracy (an
ill-conditioned matrix, a long cancelling sum), and a fixed ``rtol=1e-12`` then reports
rounding as a violation. These helpers return the textbook bound of the error instead, to be
used as functions of the instance::

    from theorycheck import lemma
    from theorycheck.tolerance import backward_stable

    @lemma(id="mine.solve", instances=..., atol=lambda inst: backward_stable(
               len(inst[0]), np.linalg.cond(inst[0])) * np.linalg.norm(inst[1]))
    def solve(inst):
        A, x = inst
        return np.linalg.solve(A, A @ x), x

Every helper has a safety factor ``k`` over the textbook constant (which is a worst case
that rounding almost never attains, but the optimiser looks for exactly that worst case).
``u = eps / 2`` is the unit roundoff of float64.

This module is base level: it imports numpy only.
"""

from __future__ import annotations

import math

import numpy as np

#: Machine epsilon of float64 (the gap between 1 and the next float).
EPS = float(np.finfo(np.float64).eps)
#: Unit roundoff of float64: the largest relative error of one rounded operation.
UNIT_ROUNDOFF = EPS / 2.0

__all__ = ["EPS", "UNIT_ROUNDOFF", "gamma", "backward_stable", "summation", "inner", "matmul",
           "symmetric_eigenvalues"]


def _k(k) -> float:
    k = float(k)
    if not (math.isfinite(k) and k > 0):
        raise ValueError(f"k={k!r} is invalid: a safety factor must be finite and > 0; pass e.g. k=4")
    return k


def gamma(n: float, *, k: float = 1.0) -> float:
    """``gamma_n = n u / (1 - n u)``, the relative error bound of ``n`` rounded operations
    in sequence (Higham, Accuracy and Stability of Numerical Algorithms, Lemma 3.1), times
    ``k``; ``inf`` once ``n u >= 1``.

    Parameters
    ----------
    n : float
        Number of rounded operations.
    k : float
        Safety factor.
    """
    nu = float(n) * UNIT_ROUNDOFF
    return _k(k) * nu / (1.0 - nu) if nu < 1.0 else math.inf


def backward_stable(n: int, kappa: float = 1.0, *, k: float = 8.0) -> float:
    """Relative forward-error bound ``k n eps kappa`` of a backward-stable algorithm.

    A backward-stable computation (a linear solve with partial pivoting, a QR or SVD based
    least-squares solve, a symmetric eigensolver) returns the exact answer of a problem
    perturbed by ``O(n eps)`` relative to the data; the answer then moves by at most the
    condition number ``kappa`` times that. Use it as the ``rtol`` of the computed result, or
    times the result's norm as an ``atol``.

    Parameters
    ----------
    n : int
        Problem size (the matrix's larger dimension).
    kappa : float
        Condition number of the problem at this instance (e.g. ``np.linalg.cond(A)`` for a
        solve); ``inf`` (a singular matrix) gives ``inf``.
    k : float
        Safety factor over the textbook constant (default 8).

    Returns
    -------
    float
        The relative tolerance; at least ``k eps`` (a single rounding), ``inf`` for a
        non-finite ``kappa``.
    """
    kappa = float(kappa)
    if math.isnan(kappa) or kappa < 0:
        raise ValueError(f"kappa={kappa!r} is invalid: a condition number is >= 1 (or inf); "
                         f"pass e.g. np.linalg.cond(A)")
    return _k(k) * max(int(n), 1) * EPS * max(kappa, 1.0)


def summation(terms, *, k: float = 2.0) -> float:
    """Absolute error bound ``k m u sum|t_i|`` of a floating-point sum of ``m`` terms.

    Recursive (and numpy's pairwise) summation of ``t_1, ..., t_m`` is off by at most
    ``gamma_{m-1} sum |t_i|`` (Higham, section 4.2): the scale of the error is set by the
    magnitudes of the terms, not by the sum, which may cancel to 0. Pass the terms as the
    code sums them (e.g. the products ``a * b`` of a dot product, or the entries of a trace).

    Parameters
    ----------
    terms : array_like
        The summands.
    k : float
        Safety factor.
    """
    t = np.abs(np.asarray(terms, dtype=np.float64)).ravel()
    if t.size == 0:
        return 0.0
    return _k(k) * max(t.size, 1) * UNIT_ROUNDOFF * float(t.sum())


def inner(x, y, *, k: float = 2.0) -> float:
    """Absolute error bound of ``x @ y``: :func:`summation` of the products, plus their
    own rounding (``gamma_n |x|.|y|``).

    Parameters
    ----------
    x, y : array_like
        The vectors.
    k : float
        Safety factor.
    """
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    return summation(x * y, k=k) + _k(k) * UNIT_ROUNDOFF * float(np.abs(x) @ np.abs(y))


def matmul(A, B, *, k: float = 2.0) -> np.ndarray:
    """Entry-wise absolute error bound of ``A @ B``: ``k gamma_n (|A| |B|)`` with ``n`` the
    inner dimension (Higham, section 3.5). An array of ``A @ B``'s shape: pass it as the ``atol``
    of a lemma whose sides are that product (tolerances broadcast against the sides).

    Parameters
    ----------
    A, B : array_like
        The factors.
    k : float
        Safety factor.
    """
    A, B = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
    n = A.shape[-1] if A.ndim else 1
    return gamma(n + 1, k=k) * (np.abs(A) @ np.abs(B))


def symmetric_eigenvalues(A, *, k: float = 8.0) -> float:
    """Absolute error bound ``k n eps ||A||_2`` of every eigenvalue of a symmetric ``A``
    computed by a backward-stable eigensolver (``np.linalg.eigvalsh``): eigenvalues of a
    symmetric matrix are perfectly conditioned (Weyl), so the backward error is the forward
    error.

    Parameters
    ----------
    A : array_like
        Symmetric matrix.
    k : float
        Safety factor.
    """
    A = np.asarray(A, dtype=np.float64)
    if A.size == 0:
        return 0.0
    return _k(k) * max(A.shape) * EPS * float(np.linalg.norm(A, 2))
