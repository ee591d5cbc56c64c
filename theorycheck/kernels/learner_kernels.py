"""numba kernels of the learner F (THEORY.md 1.4); the math is documented in
:mod:`theorycheck.learner`.

Memory layout (built by ``learner._layout``). ``theta`` is flat; layer i
(= l - 2) owns a row-major block ``M_l`` of shape ``(rows, nin)`` at ``mo``
(rows ``[0, k)`` are K_l, rows ``[zr, rows)`` are the wide map W_l; ``zr = 0``
in the tied variant K = W) and an offset vector ``b_l`` of length ``nin`` at
``bo``. The features Phi_0, Phi_1, Phi_2, ... live side by side in one buffer
of width ``ptot`` per sample; layer i reads columns ``cols[co:co+nin]``.
``lay[i] = (rows, k, nin, mo, bo, co, zr, p, ro, po, io, qo, uo)``:
``p`` lift rows of R_l at ``ro`` in ``R`` (0 for the top layer), ``po`` where
Phi_l = sigma(R_l S_l) starts in the feature buffer, and ``io/qo/uo`` offsets
of this layer's per-sample input, pre-activation and lift buffers.

``_step`` is the fused loop kernel (online / small batches): one call does the
forward pass, the loss, the backward pass and, in ``mode`` 1, the SGD update
in place while walking each parameter row once. Modes: 0 = loss and data-loss
gradient into ``grad``; 1 = fused SGD update (weight decay on M, not on b);
2 = forward only (fills ``out_f``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# lay columns
ROWS, K, NIN, MO, BO, CO, ZR, P, RO, PO, IO, QO, UO = range(13)


@njit(cache=True, inline="always")
def sigma_t(z, bt):
    """Truncated square: z^2 for |z| <= B, 2B|z| - B^2 beyond."""
    a = abs(z)
    if a <= bt:
        return z * z
    return 2.0 * bt * a - bt * bt


@njit(cache=True, inline="always")
def dsigma_t(z, bt):
    if abs(z) <= bt:
        return 2.0 * z
    return 2.0 * bt if z > 0 else -2.0 * bt


@njit(cache=True, inline="always")
def _loss_and_dloss(f, y, loss_kind, g):
    """Mean loss over the batch; g[s] = d loss / d f[s]."""
    n = f.shape[0]
    total = 0.0
    for s in range(n):
        if loss_kind == 0:
            r = f[s] - y[s]
            total += r * r
            g[s] = 2.0 * r / n
        else:
            z = y[s] * f[s]
            total += max(-z, 0.0) + math.log1p(math.exp(-abs(z)))
            if z >= 0:
                e = math.exp(-z)
                sg = e / (1.0 + e)
            else:
                sg = 1.0 / (1.0 + math.exp(z))
            g[s] = -y[s] * sg / n
    return total / n


@njit(cache=True, inline="always")
def _step_body(theta, grad, X, y, lay, cols, lifted, R, alphas, bt, centred, loss_kind,
               mode, lr, wd, frozen, ptot, out_f):
    n, d = X.shape
    nl = lay.shape[0]
    last = nl - 1
    c1 = 1.0 if centred else 0.0
    phi = np.empty((n, ptot), dtype=X.dtype)
    for s in range(n):
        for a in range(d):
            x = X[s, a]
            phi[s, a] = x
            phi[s, d + a] = x * x - c1
    nin_tot = lay[last, IO] + lay[last, NIN]
    rows_tot = lay[last, QO] + lay[last, ROWS]
    u_tot = lay[last, UO] + lay[last, P]
    IN = np.empty(n * nin_tot)
    PRE = np.empty(n * rows_tot)
    U = np.empty(n * max(u_tot, 1))
    f = np.zeros(n)
    # ---------------------------------------------------------------- forward
    for i in range(nl):
        rows = lay[i, ROWS]; k = lay[i, K]; nin = lay[i, NIN]; mo = lay[i, MO]
        bo = lay[i, BO]; co = lay[i, CO]; zr = lay[i, ZR]; p = lay[i, P]
        ro = lay[i, RO]; po = lay[i, PO]; io = n * lay[i, IO]; qo = n * lay[i, QO]
        uo = n * lay[i, UO]
        for s in range(n):
            for c in range(nin):
                IN[io + s * nin + c] = phi[s, cols[co + c]] - theta[bo + c]
        for r in range(rows):
            base = mo + r * nin
            for s in range(n):
                acc = 0.0
                sb = io + s * nin
                for c in range(nin):
                    acc += theta[base + c] * IN[sb + c]
                PRE[qo + s * rows + r] = acc
        a_l = alphas[i]
        for s in range(n):
            acc = 0.0
            for r in range(zr, rows):
                acc += sigma_t(PRE[qo + s * rows + r], bt)
            f[s] += a_l * acc
        if p > 0:
            for s in range(n):
                for q in range(p):
                    acc = 0.0
                    for a in range(k):
                        acc += R[ro + q * k + a] * PRE[qo + s * rows + a]
                    U[uo + s * p + q] = acc
                    phi[s, po + q] = acc * acc
    if mode == 2:
        for s in range(n):
            out_f[s] = f[s]
        return 0.0
    g = np.empty(n)
    loss = _loss_and_dloss(f, y, loss_kind, g)
    for s in range(n):
        out_f[s] = f[s]
    if not math.isfinite(loss):
        return loss
    # --------------------------------------------------------------- backward
    if mode == 0:
        for t in range(grad.shape[0]):
            grad[t] = 0.0
    dphi = np.zeros((n, ptot))
    for i in range(nl - 1, -1, -1):
        rows = lay[i, ROWS]; k = lay[i, K]; nin = lay[i, NIN]; mo = lay[i, MO]
        bo = lay[i, BO]; co = lay[i, CO]; zr = lay[i, ZR]; p = lay[i, P]
        ro = lay[i, RO]; po = lay[i, PO]; io = n * lay[i, IO]; qo = n * lay[i, QO]
        uo = n * lay[i, UO]
        a_l = alphas[i]
        dpre = np.zeros((n, rows))
        for s in range(n):
            gs = g[s] * a_l
            for r in range(zr, rows):
                dpre[s, r] = gs * dsigma_t(PRE[qo + s * rows + r], bt)
        if p > 0:
            for s in range(n):
                for q in range(p):
                    du = 2.0 * U[uo + s * p + q] * dphi[s, po + q]
                    for a in range(k):
                        dpre[s, a] += R[ro + q * k + a] * du
        need_din = False
        for c in range(nin):
            if lifted[co + c]:
                need_din = True
        din = np.zeros((n, nin))
        train = frozen[i] == 0
        gacc = np.empty(nin)
        for r in range(rows):
            base = mo + r * nin
            if need_din:
                for s in range(n):
                    dr = dpre[s, r]
                    for c in range(nin):
                        din[s, c] += dr * theta[base + c]
            if train and mode != 2:
                for c in range(nin):
                    gacc[c] = 0.0
                for s in range(n):
                    dr = dpre[s, r]
                    sb = io + s * nin
                    for c in range(nin):
                        gacc[c] += dr * IN[sb + c]
                if mode == 0:
                    for c in range(nin):
                        grad[base + c] = gacc[c]
                else:
                    for c in range(nin):
                        theta[base + c] -= lr * (gacc[c] + 2.0 * wd * theta[base + c])
        if need_din:
            for c in range(nin):
                if lifted[co + c]:
                    gb = 0.0
                    for s in range(n):
                        gb -= din[s, c]
                        dphi[s, cols[co + c]] += din[s, c]
                    if train:
                        if mode == 0:
                            grad[bo + c] = gb
                        else:
                            theta[bo + c] -= lr * gb
    return loss


@njit(cache=True, fastmath=True)
def step_fast(theta, grad, X, y, lay, cols, lifted, R, alphas, bt, centred, loss_kind,
              mode, lr, wd, frozen, ptot, out_f):
    """Performance twin of :func:`step_exact` (fastmath: reassociated sums)."""
    return _step_body(theta, grad, X, y, lay, cols, lifted, R, alphas, bt, centred, loss_kind,
                      mode, lr, wd, frozen, ptot, out_f)


@njit(cache=True)
def step_exact(theta, grad, X, y, lay, cols, lifted, R, alphas, bt, centred, loss_kind,
               mode, lr, wd, frozen, ptot, out_f):
    """Fused loop kernel, IEEE float semantics (the verification path)."""
    return _step_body(theta, grad, X, y, lay, cols, lifted, R, alphas, bt, centred, loss_kind,
                      mode, lr, wd, frozen, ptot, out_f)


@njit(cache=True)
def out_sum(Z, bt, alpha, f):
    """f[s] += alpha * sum_r sigma_t(Z[s, r])  (BLAS path, one pass)."""
    n, m = Z.shape
    for s in range(n):
        acc = 0.0
        for r in range(m):
            acc += sigma_t(Z[s, r], bt)
        f[s] += alpha * acc


@njit(cache=True)
def out_grad(Z, bt, coef, dZ):
    """dZ[s, r] = coef[s] * sigma_t'(Z[s, r])  (BLAS path, one pass)."""
    n, m = Z.shape
    for s in range(n):
        cs = coef[s]
        for r in range(m):
            dZ[s, r] = cs * dsigma_t(Z[s, r], bt)


@njit(cache=True)
def loss_and_dloss(f, y, loss_kind, g):
    return _loss_and_dloss(f, y, loss_kind, g)


@njit(cache=True)
def sgd_update(theta, grad, mask, lr):
    """theta -= lr * grad on the trainable entries (mask != 0)."""
    for t in range(theta.shape[0]):
        if mask[t]:
            theta[t] -= lr * grad[t]
