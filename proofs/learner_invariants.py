"""Invariants the learner F relies on (docs/theory.md §1.4), checked on the learner's own
code paths (:func:`theorycheck.papers.bfc.learner.forward`, its lifts and feature buffer).

* 1.8 item 2, isometry invariance: K^T K = W^T W  =>  Sum(sigma(K z)) = Sum(sigma(W z)),
  so the narrow K_l and the wide W_l give the same output when the tie holds.
* 1.8 item 6, lift spanning: for R (p x k) with p >= k(k+1)/2, sigma(U^T z) is a
  linear function of sigma(R z) for orthogonal U, which is why layer l+1 can read
  S*_l through the lift although S_l learns it only up to a rotation.

The learner (and with it numba) is imported inside the measures, so that listing the claims
stays cheap.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from hypothesis import strategies as st

from theorycheck.claims.engine import Measurement, claim

PAPER = "Allen-Zhu & Li, Backward Feature Correction (arXiv 2001.04413)"


def _orthonormal_columns(rng, m: int, k: int) -> np.ndarray:
    Q, R = np.linalg.qr(rng.standard_normal((m, k)))
    return Q * np.sign(np.diag(R))


@claim(id="learner.isometry_invariance", tag="M", ref="docs/theory.md §1.8.2", paper=PAPER,
       statement="""K^T K = W^T W implies Sum(sigma(K z)) = Sum(sigma(W z)) for every z: the
                 learner's wide output map W = U K (U^T U = I) gives the same F as the tied K = W
                 learner, on both code paths""",
       instances={"quick": st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(0, 4)),
                  "full": st.tuples(st.integers(1, 12), st.integers(1, 8), st.integers(0, 16))},
       max_examples={"quick": 15, "full": 100}, orthogonal=True)
def isometry_invariance(inst, *, rng, orthogonal: bool):
    """``orthogonal=False`` (broken variant) perturbs U so that W^T W != K^T K."""
    from theorycheck.papers.bfc import learner as Lr

    d, k, extra = inst
    m = k + extra
    tied = Lr.learner_spec(d, 2, k=k, tied=True, B=math.inf, alphas=[1.0])
    wide = Lr.learner_spec(d, 2, k=k, m=m, B=math.inf, alphas=[1.0], tied=False)
    K = rng.standard_normal((k, 2 * d)) / math.sqrt(2 * d)
    U = _orthonormal_columns(rng, m, k)
    if not orthogonal:
        U = U + 0.3 * rng.standard_normal(U.shape)
    p_tied = Lr.init_learner(tied, scale=0.0)
    p_tied.K(2)[...] = K
    p_wide = Lr.init_learner(wide, scale=0.0)
    p_wide.K(2)[...] = K
    p_wide.W(2)[...] = U @ K
    X = rng.standard_normal((40, d))
    out = []
    for path in ("loops", "blas"):
        f_k, _ = Lr.forward(p_tied, X, path=path)
        f_w, _ = Lr.forward(p_wide, X, path=path)
        err = float(np.max(np.abs(f_w - f_k)) / max(np.max(np.abs(f_k)), 1e-300))
        out.append(Measurement(err, 1e-12, "<=", label=f"max |F_W - F_K| / max |F_K| ({path})",
                               detail={"gram_gap": float(np.linalg.norm(K.T @ K - p_wide.W(2).T @ p_wide.W(2)))}))
    return out


@claim(id="learner.lift_spanning", tag="M", ref="docs/theory.md §1.8.6", paper=PAPER,
       statement="""With the learner's lift R (p >= k(k+1)/2 rows), sigma(U^T z) lies in the linear
                 span of the lifted features sigma(R z) for a random orthogonal U (least-squares
                 relative residual <= 1e-8)""",
       instances={"quick": st.tuples(st.integers(1, 5), st.integers(0, 3), st.integers(0, 99)),
                  "full": st.tuples(st.integers(1, 10), st.integers(0, 6), st.integers(0, 999))},
       max_examples={"quick": 15, "full": 100}, rows_offset=0)
def lift_spanning(inst, *, rng, rows_offset: int):
    """p = k(k+1)/2 + extra + rows_offset. ``rows_offset=-1`` with ``extra=0`` is the broken
    variant p < k(k+1)/2; it bypasses :func:`learner_spec`'s validation, which rejects it."""
    from theorycheck.papers.bfc import learner as Lr

    k, extra, seed = inst
    p = k * (k + 1) // 2 + extra + rows_offset
    if p < 1:
        p = 1
    spec = Lr.learner_spec(k, 3, k=k, tied=True, B=math.inf, seed=seed)
    spec = dataclasses.replace(spec, lift_rows=(p,))
    params = Lr.init_learner(spec, scale=0.0)
    params.K(2, 0)[...] = np.eye(k)            # S_2 = z, so the buffer holds sigma(R_2 z)
    Z = rng.standard_normal((4 * (p + k * k) + 8, k))
    _, cache = Lr.forward(params, Z, path="blas")
    lifted = cache["Phi"][:, Lr.layer_slots(spec, 2).phi]
    U = np.linalg.qr(rng.standard_normal((k, k)))[0]
    T = (Z @ U) ** 2                              # sigma(U^T z), one column per coordinate
    coef, *_ = np.linalg.lstsq(lifted, T, rcond=None)
    resid = float(np.linalg.norm(lifted @ coef - T) / np.linalg.norm(T))
    return Measurement(resid, 1e-8, "<=", label="||sigma(U^T z) - A sigma(R z)|| / ||sigma(U^T z)||",
                       detail={"p": p, "k": k, "needed": k * (k + 1) // 2})
