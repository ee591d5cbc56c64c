"""What to measure while learning G* (docs/theory.md §1.6).

* ``feature_error_rotation``: err_l = min_{U orthogonal} E||U S_l - S*_l||^2 / E||S*_l||^2,
  by orthogonal Procrustes on a sample. When the learner's width m exceeds the
  target's k, S*_l is padded with m - k zero coordinates, so the learner's extra
  directions must vanish for the error to be small [R].
* ``feature_error_linear``: the same with any linear map A (least squares),
  the measure used by the reference setting of 1.6b.
* ``correction_ratio``: err_l(final) / err_l(end of stage l); backward feature
  correction predicts a ratio well below 1 under end-to-end training and 1 when
  layer l is frozen after its stage.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from theorycheck.errors import SpecError


def _pair(S: np.ndarray, S_star: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    S = np.asarray(S, dtype=np.float64)
    S_star = np.asarray(S_star, dtype=np.float64)
    if S.ndim != 2 or S_star.ndim != 2 or S.shape[0] != S_star.shape[0]:
        raise SpecError(f"features have shapes {S.shape} and {S_star.shape}; expected (n, m) and "
                        f"(n, k) on the same n samples")
    return S, S_star


def feature_error_linear(S: np.ndarray, S_star: np.ndarray) -> float:
    """min_A E||A S - S*||^2 / E||S*||^2 on the sample (rows are samples)."""
    S, S_star = _pair(S, S_star)
    A, *_ = scipy.linalg.lstsq(S, S_star)
    return float(np.sum((S @ A - S_star) ** 2) / np.sum(S_star ** 2))


def feature_error_rotation(S: np.ndarray, S_star: np.ndarray) -> float:
    """min_{U orthogonal} E||U S - S*||^2 / E||S*||^2 on the sample (S* zero-padded to S's width)."""
    S, S_star = _pair(S, S_star)
    m, k = S.shape[1], S_star.shape[1]
    if m < k:
        S = np.hstack([S, np.zeros((S.shape[0], k - m))])
    elif m > k:
        S_star = np.hstack([S_star, np.zeros((S_star.shape[0], m - k))])
    U, _ = scipy.linalg.orthogonal_procrustes(S, S_star)
    return float(np.sum((S @ U - S_star) ** 2) / np.sum(S_star ** 2))


def correction_ratio(err_after_stage: float, err_final: float) -> float:
    return float(err_final / err_after_stage) if err_after_stage > 0 else float("nan")


def log_schedule(total: int, points: int = 24) -> list[int]:
    """About ``points`` log-spaced step indices in [1, total], always including total."""
    if total <= 0:
        return []
    steps = np.unique(np.round(np.geomspace(1, total, num=max(points, 2))).astype(int))
    return [int(s) for s in steps if 1 <= s <= total]
