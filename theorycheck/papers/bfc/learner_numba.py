"""numba kernels of the learner F (docs/theory.md §1.4); the math is documented in
:mod:`theorycheck.papers.bfc.learner`.

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

``step`` is the fused loop kernel (online and batches of fewer than 8 samples; larger
batches go through the BLAS kernel of :mod:`theorycheck.papers.bfc.learner_fused`): one
call does the forward pass, the loss, the backward pass and, in ``mode`` 1, the SGD update
in place while walking each parameter row once. Modes: 0 = loss and data-loss
gradient into ``grad``; 1 = fused SGD update (weight decay on M, not on b);
2 = forward only (fills ``out_f``). It is compiled with reassociating fastmath
(``FAST``); the plain IEEE reference is the BLAS path, and the equivalence tests
hold the two to 1e-11 relative. The return value is the mean loss (NaN/inf
when it is not finite; theta is then untouched), or -1.0 in mode 1 when the
update itself overflowed (some new parameter is not finite).
``lifted[c]``: 0 = column from Phi_0/Phi_1, 1 = lifted with a trained offset,
2 = lifted with the offset fixed at 0.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# reassociation/contraction only: 'nnan'/'ninf' would let LLVM delete the isfinite checks
# that catch NaN inputs and overflow
FAST = {"reassoc", "contract", "nsz", "arcp"}

# lay columns
ROWS, K, NIN, MO, BO, CO, ZR, P, RO, PO, IO, QO, UO = range(13)


@njit(cache=True)
def sigma_t(z, bt):
    """Truncated square: z^2 for |z| <= B, 2B|z| - B^2 beyond."""
    a = abs(z)
    if a <= bt:
        return z * z
    return 2.0 * bt * a - bt * bt


@njit(cache=True)
def dsigma_t(z, bt):
    if abs(z) <= bt:
        return 2.0 * z
    return 2.0 * bt if z > 0 else -2.0 * bt


@njit(cache=True)
def _loss_and_dloss(f, y, loss_kind, g, w):
    """Mean loss over the batch; g[s] = d loss / d f[s]. A non-empty ``w`` weights sample s
    by ``w[s]`` instead of 1/n (the loss is then sum_s w[s] loss_s)."""
    n = f.shape[0]
    uniform = w.shape[0] == 0
    total = 0.0
    for s in range(n):
        if loss_kind == 0:
            r = f[s] - y[s]
            if uniform:
                total += r * r
                g[s] = 2.0 * r / n
            else:
                total += w[s] * (r * r)
                g[s] = 2.0 * r * w[s]
        else:
            z = y[s] * f[s]
            ls = max(-z, 0.0) + math.log1p(math.exp(-abs(z)))
            if z >= 0:
                e = math.exp(-z)
                sg = e / (1.0 + e)
            else:
                sg = 1.0 / (1.0 + math.exp(z))
            if uniform:
                total += ls
                g[s] = -y[s] * sg / n
            else:
                total += w[s] * ls
                g[s] = -y[s] * sg * w[s]
    return total / n if uniform else total


@njit(cache=True, fastmath=FAST)
def _dots(I, M, O):
    """O[s, r] = I[s] . M[r]; blocks of 2 rows x 4 samples share their loads."""
    n, nin = I.shape
    rows = M.shape[0]
    r = 0
    while r + 2 <= rows:
        Ma = M[r]; Mb = M[r + 1]
        s = 0
        while s + 4 <= n:
            I0 = I[s]; I1 = I[s + 1]; I2 = I[s + 2]; I3 = I[s + 3]
            a0 = 0.0; a1 = 0.0; a2 = 0.0; a3 = 0.0
            b0 = 0.0; b1 = 0.0; b2 = 0.0; b3 = 0.0
            for c in range(nin):
                ma = Ma[c]; mb = Mb[c]
                i0 = I0[c]; i1 = I1[c]; i2 = I2[c]; i3 = I3[c]
                a0 += ma * i0; a1 += ma * i1; a2 += ma * i2; a3 += ma * i3
                b0 += mb * i0; b1 += mb * i1; b2 += mb * i2; b3 += mb * i3
            O[s, r] = a0; O[s + 1, r] = a1; O[s + 2, r] = a2; O[s + 3, r] = a3
            O[s, r + 1] = b0; O[s + 1, r + 1] = b1; O[s + 2, r + 1] = b2; O[s + 3, r + 1] = b3
            s += 4
        while s < n:
            Is = I[s]
            a0 = 0.0; b0 = 0.0
            for c in range(nin):
                a0 += Ma[c] * Is[c]; b0 += Mb[c] * Is[c]
            O[s, r] = a0; O[s, r + 1] = b0
            s += 1
        r += 2
    while r < rows:
        Mr = M[r]
        for s in range(n):
            Is = I[s]
            a0 = 0.0
            for c in range(nin):
                a0 += Mr[c] * Is[c]
            O[s, r] = a0
        r += 1


@njit(cache=True, fastmath=FAST)
def _row_grad(dpre, r, I, ga):
    """ga = sum_s dpre[s, r] I[s], four samples per pass over ga."""
    n, nin = I.shape
    for c in range(nin):
        ga[c] = 0.0
    s = 0
    while s + 4 <= n:
        d0 = dpre[s, r]; d1 = dpre[s + 1, r]; d2 = dpre[s + 2, r]; d3 = dpre[s + 3, r]
        I0 = I[s]; I1 = I[s + 1]; I2 = I[s + 2]; I3 = I[s + 3]
        for c in range(nin):
            ga[c] += d0 * I0[c] + d1 * I1[c] + d2 * I2[c] + d3 * I3[c]
        s += 4
    while s < n:
        d0 = dpre[s, r]
        Is = I[s]
        for c in range(nin):
            ga[c] += d0 * Is[c]
        s += 1


@njit(cache=True, fastmath=FAST)
def _row_pair_grad(dpre, r, I, ga, gb):
    """Rows r and r+1 of the weight gradient; the loads of I are shared."""
    n, nin = I.shape
    for c in range(nin):
        ga[c] = 0.0
        gb[c] = 0.0
    s = 0
    while s + 4 <= n:
        a0 = dpre[s, r]; a1 = dpre[s + 1, r]; a2 = dpre[s + 2, r]; a3 = dpre[s + 3, r]
        b0 = dpre[s, r + 1]; b1 = dpre[s + 1, r + 1]; b2 = dpre[s + 2, r + 1]; b3 = dpre[s + 3, r + 1]
        I0 = I[s]; I1 = I[s + 1]; I2 = I[s + 2]; I3 = I[s + 3]
        for c in range(nin):
            i0 = I0[c]; i1 = I1[c]; i2 = I2[c]; i3 = I3[c]
            ga[c] += a0 * i0 + a1 * i1 + a2 * i2 + a3 * i3
            gb[c] += b0 * i0 + b1 * i1 + b2 * i2 + b3 * i3
        s += 4
    while s < n:
        a0 = dpre[s, r]; b0 = dpre[s, r + 1]
        Is = I[s]
        for c in range(nin):
            ga[c] += a0 * Is[c]
            gb[c] += b0 * Is[c]
        s += 1


@njit(cache=True, fastmath=FAST)
def _emit_row(mode, M, G, r, gr, lr, shrink):
    """Store gradient row r (mode 0) or apply the SGD step to it (mode 1); returns
    the sum of the row written (non-finite iff an entry overflowed)."""
    acc = 0.0
    if mode == 0:
        Gr = G[r]
        for c in range(gr.shape[0]):
            Gr[c] = gr[c]
    else:
        Mr = M[r]
        for c in range(gr.shape[0]):
            v = shrink * Mr[c] - lr * gr[c]
            Mr[c] = v
            acc += v
    return acc


@njit(cache=True, inline="always")
def _layer_views(lay, i, n, theta, INb, PREb):
    """Layer i's row of ``lay`` (the buffer offsets io, qo, uo scaled by the batch size n)
    and its views: M_l in theta, the per-sample inputs I and pre-activations PRE."""
    rows, nin, mo = lay[i, ROWS], lay[i, NIN], lay[i, MO]
    io, qo = n * lay[i, IO], n * lay[i, QO]
    M = theta[mo:mo + rows * nin].reshape((rows, nin))
    I = INb[io:io + n * nin].reshape((n, nin))
    PRE = PREb[qo:qo + n * rows].reshape((n, rows))
    return (rows, lay[i, K], nin, mo, lay[i, BO], lay[i, CO], lay[i, ZR], lay[i, P], lay[i, RO],
            lay[i, PO], io, qo, n * lay[i, UO], M, I, PRE)


@njit(cache=True, fastmath=FAST)
def step(theta, grad, X, y, lay, cols, lifted, R, alphas, bt, centred, loss_kind,
               mode, lr, wd, frozen, ptot, out_f):
    n, d = X.shape
    nl = lay.shape[0]
    last = nl - 1
    c1 = 1.0 if centred else 0.0
    phi = np.empty((n, ptot))
    for s in range(n):
        for a in range(d):
            x = X[s, a]
            phi[s, a] = x
            phi[s, d + a] = x * x - c1
    nin_tot = lay[last, IO] + lay[last, NIN]
    rows_tot = lay[last, QO] + lay[last, ROWS]
    u_tot = lay[last, UO] + lay[last, P]
    INb = np.empty(n * nin_tot, dtype=theta.dtype)
    PREb = np.empty(n * rows_tot)
    Ub = np.empty(n * max(u_tot, 1))
    f = np.zeros(n)
    # ---------------------------------------------------------------- forward
    for i in range(nl):
        (rows, k, nin, mo, bo, co, zr, p, ro, po, io, qo, uo,
         M, I, PRE) = _layer_views(lay, i, n, theta, INb, PREb)
        for s in range(n):
            for c in range(nin):
                I[s, c] = phi[s, cols[co + c]] - theta[bo + c]
        _dots(I, M, PRE)
        a_l = alphas[i]
        b2 = bt * bt
        for s in range(n):
            acc = 0.0
            for r in range(zr, rows):
                z = PRE[s, r]
                az = abs(z)
                acc += z * z if az <= bt else 2.0 * bt * az - b2   # sigma_t, inlined
            f[s] += a_l * acc
        if p > 0:
            Rl = R[ro:ro + p * k].reshape((p, k))
            U = Ub[uo:uo + n * p].reshape((n, p))
            for s in range(n):
                for q in range(p):
                    acc = 0.0
                    for a in range(k):
                        acc += Rl[q, a] * PRE[s, a]
                    U[s, q] = acc
                    phi[s, po + q] = acc * acc
    for s in range(n):
        out_f[s] = f[s]
    if mode == 2:
        return 0.0
    g = np.empty(n)
    loss = _loss_and_dloss(f, y, loss_kind, g, np.empty(0))
    if not math.isfinite(loss):
        return loss
    # --------------------------------------------------------------- backward
    if mode == 0:
        for t in range(grad.shape[0]):
            grad[t] = 0.0
    dphi = np.zeros((n, ptot))
    check = 0.0
    for i in range(nl - 1, -1, -1):
        (rows, k, nin, mo, bo, co, zr, p, ro, po, io, qo, uo,
         M, I, PRE) = _layer_views(lay, i, n, theta, INb, PREb)
        a_l = alphas[i]
        dpre = np.zeros((n, rows), dtype=theta.dtype)
        for s in range(n):
            gs = g[s] * a_l
            g2 = 2.0 * gs
            for r in range(zr, rows):
                z = PRE[s, r]
                dpre[s, r] = g2 * (z if abs(z) <= bt else (bt if z > 0 else -bt))  # dsigma_t
        if p > 0:
            Rl = R[ro:ro + p * k].reshape((p, k))
            U = Ub[uo:uo + n * p].reshape((n, p))
            for s in range(n):
                for q in range(p):
                    du = 2.0 * U[s, q] * dphi[s, po + q]
                    for a in range(k):
                        dpre[s, a] += Rl[q, a] * du
        need_din = False
        for c in range(nin):
            if lifted[co + c]:
                need_din = True
        din = np.zeros((n, nin), dtype=theta.dtype)
        if need_din:
            # din[s] = sum_r dpre[s, r] M[r], four rows per pass over din[s]
            r = 0
            while r + 4 <= rows:
                M0 = M[r]; M1 = M[r + 1]; M2 = M[r + 2]; M3 = M[r + 3]
                for s in range(n):
                    d0 = dpre[s, r]; d1 = dpre[s, r + 1]; d2 = dpre[s, r + 2]; d3 = dpre[s, r + 3]
                    ds = din[s]
                    for c in range(nin):
                        ds[c] += d0 * M0[c] + d1 * M1[c] + d2 * M2[c] + d3 * M3[c]
                r += 4
            while r < rows:
                M0 = M[r]
                for s in range(n):
                    d0 = dpre[s, r]
                    ds = din[s]
                    for c in range(nin):
                        ds[c] += d0 * M0[c]
                r += 1
        if frozen[i] == 0:
            ga = np.empty(nin)
            gb = np.empty(nin)
            G = grad[mo:mo + rows * nin].reshape((rows, nin)) if mode == 0 else M
            shrink = 1.0 - 2.0 * lr * wd
            r = 0
            if mode == 1 and n < 4:
                # online SGD: each row takes n rank-one updates in one pass, no gradient buffer
                for r in range(rows):
                    Mr = M[r]
                    d0 = lr * dpre[0, r]
                    I0 = I[0]
                    if n == 1:
                        for c in range(nin):
                            v = shrink * Mr[c] - d0 * I0[c]
                            Mr[c] = v
                            check += v
                    else:
                        for c in range(nin):
                            Mr[c] = shrink * Mr[c] - d0 * I0[c]
                        for s in range(1, n):
                            ds = lr * dpre[s, r]
                            Is = I[s]
                            for c in range(nin):
                                Mr[c] -= ds * Is[c]
                        for c in range(nin):
                            check += Mr[c]
                r = rows
            while r + 2 <= rows:
                _row_pair_grad(dpre, r, I, ga, gb)
                check += _emit_row(mode, M, G, r, ga, lr, shrink)
                check += _emit_row(mode, M, G, r + 1, gb, lr, shrink)
                r += 2
            if r < rows:
                _row_grad(dpre, r, I, ga)
                check += _emit_row(mode, M, G, r, ga, lr, shrink)
        if need_din:
            for c in range(nin):
                if lifted[co + c]:
                    gb = 0.0
                    for s in range(n):
                        gb -= din[s, c]
                        dphi[s, cols[co + c]] += din[s, c]
                    if frozen[i] == 0 and lifted[co + c] == 1:
                        if mode == 0:
                            grad[bo + c] = gb
                        else:
                            theta[bo + c] -= lr * gb
                            check += theta[bo + c]
    if not math.isfinite(check):
        return -1.0
    return loss


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
    return _loss_and_dloss(f, y, loss_kind, g, np.empty(0))


@njit(cache=True)
def sgd_update(theta, grad, codes, lr, shrink):
    """SGD step on the trained entries: codes 1: theta -= lr * grad; codes 2 (weight-decayed
    M entries): theta = shrink * theta - lr * grad with shrink = 1 - 2 lr lambda_wd.
    False if any new entry is not finite (overflow)."""
    acc = 0.0
    for t in range(theta.shape[0]):
        c = codes[t]
        if c == 2:
            theta[t] = shrink * theta[t] - lr * grad[t]
            acc += theta[t]
        elif c == 1:
            theta[t] -= lr * grad[t]
            acc += theta[t]
    return math.isfinite(acc)
