"""Fused BLAS step of the learner F (docs/theory.md §1.4) for batches of 8 samples and more.

Same arguments, layout (``lay``, ``cols``, ``lifted``; see
:mod:`theorycheck.papers.bfc.learner_numba`), modes (0 loss and gradient, 1 SGD update,
2 forward) and return value as the loop kernel ``step``, plus the loss's output offset
``shift`` (the loss is that of F - shift, docs/theory.md §1.4.4; 0 for regression; ``out_f``
receives F itself), a workspace ``work`` of
:func:`work_size` entries (theta's dtype) that the caller keeps between steps (fresh
large temporaries cost a page fault per 4 KiB) and per-sample loss weights ``wts`` (empty:
the mean over the batch). One call makes every matrix product
through BLAS (:func:`theorycheck.papers.bfc.learner_blas.mm`) on views of the workspace
and does the element-wise work as epilogues of the passes that already touch the data:

* forward: the product ``PRE = IN M^T``, then one pass over its wide part that adds
  ``alpha_l sum_r sigma_t(z)`` to F and overwrites z by ``clip(z) = sigma_t'(z) / 2``
  (the backward pass needs nothing else of it) while counting truncated entries;
* backward: ``dPRE = 2 c_s clip(Z)`` with ``c_s = alpha_l dloss/dF_s`` is scaled in place,
  and the update is the epilogue of the weight-gradient product:
  ``M <- (1 - 2 lr lambda_wd) M - lr dPRE^T IN`` in one GEMM (``beta`` = the shrink);
* the top layer's K rows feed nothing (no lift above L): they are left out of every
  product and only shrink under weight decay.

Quadratic identity. Where no entry of a layer's wide map is truncated, sigma_t'(z) = 2z
and the wide map W enters the gradients only through quadratic forms:
``dL/dW = 2 W (IN^T diag(c) IN)`` and ``dPRE_W W = 2 diag(c) IN (W^T W)``, whose inner
factors are symmetric Grams (BLAS ``syrk``, half a GEMM; a GEMM on narrow inputs, where
OpenBLAS's ``syrk`` is slower). These cost about
``(n/2 + m) nin^2`` instead of ``n m nin`` flops (:func:`quadratic_pays`); the kernel takes
them per layer when the batch has no truncated entry there and they are cheaper (wide maps,
m > nin, at large batches), and the direct products otherwise. The update then is
``W <- shrink W - 2 lr W C`` with ``C = IN^T diag(c) IN``. Where the backward pass takes
the identity and no entry can be truncated (``max_r |W_r| max_s |IN_s| <= B``), the
forward pass does too when that is cheaper (:func:`forward_quadratic_pays`):
``sum_r sigma_t(z_r) = IN_s^T (W^T W) IN_s``, and the wide product ``Z`` is never formed;
the backward pass then reads ``IN (W^T W)`` from the forward pass for the input gradient.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from theorycheck.maths.optim import adam_pass_jit
from theorycheck.papers.bfc.learner_blas import gram, mm
from theorycheck.papers.bfc.learner_numba import (BO, CO, FAST, IO, K, MO, NIN, P, PO, QO, RO, ROWS,
                                                  UO, ZR, _loss_and_dloss)


_adam = adam_pass_jit()


@njit(cache=True)
def work_size(lay, n, ptot):
    """Entries of the workspace the fused step needs for a batch of ``n``."""
    last = lay.shape[0] - 1
    nin_tot = lay[last, IO] + lay[last, NIN]
    rows_tot = lay[last, QO] + lay[last, ROWS]
    u_tot = lay[last, UO] + lay[last, P]
    ninmax, kmax, mnmax = 1, 1, 1
    for i in range(lay.shape[0]):
        ninmax = max(ninmax, lay[i, NIN])
        kmax = max(kmax, lay[i, K])
        mnmax = max(mnmax, lay[i, ROWS] * lay[i, NIN])
    return n * (2 * ptot + nin_tot + rows_tot + u_tot + 2 * ninmax + kmax) + 2 * ninmax * ninmax + mnmax


@njit(cache=True)
def quadratic_pays(n, m, nin, trained, need_din):
    """Whether the quadratic identity costs fewer flops than the direct products for a wide
    map of ``m`` rows over ``nin`` inputs and a batch of ``n``. Direct: ``n m nin`` per
    product needed (weight gradient if ``trained``, input gradient if ``need_din``).
    Quadratic: ``(n/2 + m) nin^2`` for the weight gradient (the symmetric Gram
    IN^T diag(c) IN, then W times it) and ``(m/2 + n) nin^2`` for the input gradient
    (W^T W, then IN times it).

    Examples
    --------
    >>> quadratic_pays(256, 256, 128, True, False), quadratic_pays(32, 256, 128, True, False)
    (True, False)
    """
    quad, direct = 0, 0
    if trained:
        quad += (n + 2 * m) * nin * nin
        direct += 2 * n * m * nin
    if need_din:
        quad += (m + 2 * n) * nin * nin
        direct += 2 * n * m * nin
    return direct > 0 and quad < direct


@njit(cache=True)
def forward_quadratic_pays(n, m, nin):
    """Whether the wide part of a layer's forward pass costs fewer flops as the quadratic
    form ``sum_r z_r^2 = IN_s^T (W^T W) IN_s`` (``m nin^2 / 2`` for the Gram, ``n nin^2`` for
    ``IN`` times it) than as the product ``Z = IN W^T`` (``n m nin``).

    Examples
    --------
    >>> forward_quadratic_pays(1024, 256, 128), forward_quadratic_pays(128, 256, 128)
    (True, False)
    """
    return nin * (m + 2 * n) < 2 * n * m


@njit(cache=True)
def _feeds_lift(lifted, co, nin):
    """Whether a layer's inputs ``co .. co + nin - 1`` include a lifted feature, i.e. whether
    its input gradient is needed."""
    for c in range(nin):
        if lifted[co + c]:
            return True
    return False


@njit(cache=True)
def _mirror_lower(C):
    """Copy the lower triangle of the square C onto its upper triangle."""
    for r in range(C.shape[0]):
        for c in range(r + 1, C.shape[0]):
            C[r, c] = C[c, r]


@njit(cache=True)
def syrk_loses(rows, nin):
    """Whether OpenBLAS's GEMM forms ``A^T A`` faster than its symmetric rank-k update, for
    ``A`` of shape (rows, nin), one thread: on narrow inputs, although it does twice the flops
    (measured: benchmarks/bench_gram.py).

    Examples
    --------
    >>> syrk_loses(256, 38), syrk_loses(1024, 128)
    (True, False)
    """
    return nin <= 16 or (nin < 64 and rows <= 256) or (nin < 40 and rows <= 512)


@njit(cache=True)
def _sym_gram(A, C, alpha, beta):
    """``C = alpha A^T A + beta C``, all of the square ``C``: one GEMM where
    :func:`syrk_loses`, else a symmetric rank-k update (half the flops) and a mirror."""
    if syrk_loses(A.shape[0], A.shape[1]):
        mm(A, True, A, False, C, alpha, beta)
    else:
        gram(A, C, alpha, beta)
        _mirror_lower(C)


@njit(cache=True, fastmath=FAST)
def _sumsq(v):
    acc = 0.0
    for c in range(v.shape[0]):
        acc += v[c] * v[c]
    return acc


@njit(cache=True, fastmath=FAST)
def _scaled(src, a, dst):
    """``dst = a src`` (1-D views; the same array is fine)."""
    for c in range(src.shape[0]):
        dst[c] = a * src[c]


@njit(cache=True)
def _take(work, at, size):
    return work[at:at + size], at + size


@njit(fastmath=FAST)
def step_blas(theta, grad, X, y, lay, cols, lifted, R, alphas, bt, centred, loss_kind,
              mode, lr, wd, shift, frozen, ptot, out_f, work, wts):
    n, d = X.shape
    nl = lay.shape[0]
    last = nl - 1
    ninmax, kmax = 1, 1
    for i in range(nl):
        ninmax = max(ninmax, lay[i, NIN])
        kmax = max(kmax, lay[i, K])
    at = 0
    buf, at = _take(work, at, n * ptot)
    phi = buf.reshape((n, ptot))
    INb, at = _take(work, at, n * (lay[last, IO] + lay[last, NIN]))
    PREb, at = _take(work, at, n * (lay[last, QO] + lay[last, ROWS]))
    Ub, at = _take(work, at, n * (lay[last, UO] + lay[last, P]))
    buf, at = _take(work, at, n * ptot)
    dphi = buf.reshape((n, ptot))
    dinb, at = _take(work, at, n * ninmax)
    cinb, at = _take(work, at, n * ninmax)
    dSb, at = _take(work, at, n * kmax)
    Qb, at = _take(work, at, ninmax * ninmax)
    Cb, at = _take(work, at, ninmax * ninmax)
    Wtb, at = _take(work, at, work.shape[0] - at)

    # every inner loop runs over a row view from index 0: numba vectorises those, not loops
    # that start at a run-time offset (negative-index wraparound) or walk a 2-D column slice
    c1 = 1.0 if centred else 0.0
    for s in range(n):
        xs, lin, sq = X[s], phi[s, :d], phi[s, d:2 * d]
        for a in range(d):
            lin[a] = xs[a]
            sq[a] = xs[a] * xs[a] - c1
    f = np.zeros(n)
    ntrunc = np.zeros(nl, np.int64)
    quadf = np.zeros(nl, np.bool_)
    # ---------------------------------------------------------------- forward
    for i in range(nl):
        rows, k, nin, mo, bo, co = lay[i, ROWS], lay[i, K], lay[i, NIN], lay[i, MO], lay[i, BO], lay[i, CO]
        zr, p, ro, po = lay[i, ZR], lay[i, P], lay[i, RO], lay[i, PO]
        M = theta[mo:mo + rows * nin].reshape((rows, nin))
        IN = INb[n * lay[i, IO]:n * lay[i, IO] + n * nin].reshape((n, nin))
        PRE = PREb[n * lay[i, QO]:n * lay[i, QO] + n * rows].reshape((n, rows))
        lcols, b = cols[co:co + nin], theta[bo:bo + nin]
        c0 = lcols[0]
        contiguous = True
        for c in range(nin):
            if lcols[c] != c0 + c:
                contiguous = False
        if contiguous:      # chain connections: a plain (vectorised) copy, no gather
            for s in range(n):
                src, dst = phi[s, c0:c0 + nin], IN[s]
                for c in range(nin):
                    dst[c] = src[c] - b[c]
        else:
            for s in range(n):
                src, dst = phi[s], IN[s]
                for c in range(nin):
                    dst[c] = src[lcols[c]] - b[c]
        start = zr if (p == 0 and zr > 0) else 0     # the top layer's K rows feed nothing
        m = rows - zr
        quad = False
        if zr > 0 and m > 0 and forward_quadratic_pays(n, m, nin):
            if quadratic_pays(n, m, nin, frozen[i] == 0, _feeds_lift(lifted, co, nin)):
                # no entry truncated when max_r |W_r| max_s |IN_s| <= B (Cauchy-Schwarz)
                wmax, inmax = 0.0, 0.0
                for r in range(zr, rows):
                    wmax = max(wmax, _sumsq(M[r]))
                for s in range(n):
                    inmax = max(inmax, _sumsq(IN[s]))
                quad = wmax * inmax <= bt * bt
        if quad:
            if start < zr:
                mm(IN, False, M[:zr], True, PRE[:, :zr], 1.0, 0.0)
            Q = Qb[:nin * nin].reshape((nin, nin))
            _sym_gram(M[zr:], Q, 1.0, 0.0)
            T = PRE[:, zr:zr + nin]
            mm(IN, False, Q, False, T, 1.0, 0.0)
        else:
            mm(IN, False, M[start:], True, PRE[:, start:], 1.0, 0.0)
        quadf[i] = quad
        if p > 0:
            U = Ub[n * lay[i, UO]:n * lay[i, UO] + n * p].reshape((n, p))
            Rl = R[ro:ro + p * k].reshape((p, k))
            mm(PRE[:, :k], False, Rl, True, U, 1.0, 0.0)
            for s in range(n):
                us, dst = U[s], phi[s, po:po + p]
                for q in range(p):
                    dst[q] = us[q] * us[q]
        a_l = alphas[i]
        nt = 0
        if quad:
            for s in range(n):
                t, ins = PRE[s, zr:zr + nin], IN[s]
                acc = 0.0
                for c in range(nin):
                    acc += t[c] * ins[c]
                f[s] += a_l * acc
        else:
            for s in range(n):
                z_s = PRE[s, zr:]
                acc = 0.0
                for r in range(m):
                    # branch-free: with zc = clip(z, -B, B), sigma_t(z) = zc (2 z - zc) (z^2
                    # inside, 2B|z| - B^2 outside); NaN and inf in z still reach the sum
                    z = z_s[r]
                    zc = min(max(z, -bt), bt)
                    acc += zc * (2.0 * z - zc)
                    nt += zc != z
                    z_s[r] = zc
                f[s] += a_l * acc
        ntrunc[i] = nt
    for s in range(n):
        out_f[s] = f[s]
    if mode == 2:
        return 0.0
    if shift != 0.0:        # the loss of F - shift (a classifier's threshold); out_f keeps F
        for s in range(n):
            f[s] -= shift
    g = np.empty(n)
    loss = _loss_and_dloss(f, y, loss_kind, g, wts)
    if not math.isfinite(loss):
        return loss
    # --------------------------------------------------------------- backward
    # explicit loops, not slice assignments: numba's slice assignment drags its string-
    # formatting error path into the compile (seconds of cold start)
    if mode == 0:
        for t in range(grad.shape[0]):
            grad[t] = 0.0
    for s in range(n):
        dl = dphi[s, 2 * d:]    # only lifted features (Phi_j, j >= 2) get gradients
        for c in range(dl.shape[0]):
            dl[c] = 0.0
    shrink = 1.0 - 2.0 * lr * wd
    check = 0.0
    for i in range(nl - 1, -1, -1):
        rows, k, nin, mo, bo, co = lay[i, ROWS], lay[i, K], lay[i, NIN], lay[i, MO], lay[i, BO], lay[i, CO]
        zr, p, ro, po = lay[i, ZR], lay[i, P], lay[i, RO], lay[i, PO]
        M = theta[mo:mo + rows * nin].reshape((rows, nin))
        IN = INb[n * lay[i, IO]:n * lay[i, IO] + n * nin].reshape((n, nin))
        PRE = PREb[n * lay[i, QO]:n * lay[i, QO] + n * rows].reshape((n, rows))
        G = grad[mo:mo + rows * nin].reshape((rows, nin)) if mode == 0 else M
        a_l = alphas[i]
        trained = frozen[i] == 0
        need_din = _feeds_lift(lifted, co, nin)
        din = dinb[:n * nin].reshape((n, nin))
        dS = dSb[:n * k].reshape((n, k))
        if p > 0:       # dS = (2 U * dPhi_l) R_l: the lift's adjoint
            U = Ub[n * lay[i, UO]:n * lay[i, UO] + n * p].reshape((n, p))
            Rl = R[ro:ro + p * k].reshape((p, k))
            for s in range(n):
                us, dp = U[s], dphi[s, po:po + p]
                for q in range(p):
                    us[q] = 2.0 * us[q] * dp[q]
            mm(U, False, Rl, False, dS, 1.0, 0.0)
        m = rows - zr
        if quadf[i] or (zr > 0 and ntrunc[i] == 0 and quadratic_pays(n, m, nin, trained, need_din)):
            W = M[zr:]
            Kb = M[:zr]
            if need_din:    # din = dS K + 2 diag(c) IN (W^T W)
                if quadf[i]:    # the forward pass left IN (W^T W) in PRE
                    for s in range(n):
                        _scaled(PRE[s, zr:zr + nin], 2.0 * a_l * g[s], din[s])
                else:
                    Q = Qb[:nin * nin].reshape((nin, nin))
                    _sym_gram(W, Q, 1.0, 0.0)
                    mm(IN, False, Q, False, din, 1.0, 0.0)
                    for s in range(n):
                        _scaled(din[s], 2.0 * a_l * g[s], din[s])
                if p > 0:
                    mm(dS, False, Kb, False, din, 1.0, 1.0)
            if trained:
                # Cm = IN^T diag(c) IN = P^T P - N^T N: rows with c_s > 0 scaled by sqrt(c_s)
                # stacked from the top of CIN, those with c_s < 0 by sqrt(-c_s) from the
                # bottom; two symmetric rank-k updates (half a GEMM's flops)
                CIN = cinb[:n * nin].reshape((n, nin))
                top, bot = 0, n
                for s in range(n):
                    cs = a_l * g[s]
                    if cs > 0.0:
                        row = top
                        top += 1
                    elif cs < 0.0:
                        bot -= 1
                        row = bot
                    else:
                        continue
                    _scaled(IN[s], math.sqrt(abs(cs)), CIN[row])
                Cm = Cb[:nin * nin].reshape((nin, nin))
                _sym_gram(CIN[:top], Cm, 1.0, 0.0)
                _sym_gram(CIN[bot:], Cm, -1.0, 1.0)
                if mode == 0:
                    mm(W, False, Cm, False, G[zr:], 2.0, 0.0)
                    if p > 0:
                        mm(dS, True, IN, False, G[:zr], 1.0, 0.0)
                else:
                    Wt = Wtb[:m * nin].reshape((m, nin))
                    mm(W, False, Cm, False, Wt, 1.0, 0.0)
                    for r in range(m):
                        for c in range(nin):
                            v = shrink * W[r, c] - 2.0 * lr * Wt[r, c]
                            W[r, c] = v
                            check += v
                    if p > 0:
                        mm(dS, True, IN, False, Kb, -lr, shrink)
                    else:
                        for r in range(zr):
                            for c in range(nin):
                                Kb[r, c] *= shrink
                    for r in range(zr):
                        for c in range(nin):
                            check += Kb[r, c]
        else:
            start = zr if (p == 0 and zr > 0) else 0
            for s in range(n):
                z_s = PRE[s, zr:]
                _scaled(z_s, 2.0 * a_l * g[s], z_s)
                if p > 0:
                    if zr > 0:
                        for r in range(k):
                            PRE[s, r] = dS[s, r]
                    else:
                        for r in range(k):
                            PRE[s, r] += dS[s, r]
            D = PRE[:, start:]
            if need_din:
                mm(D, False, M[start:], False, din, 1.0, 0.0)
            if trained:
                if mode == 0:
                    mm(D, True, IN, False, G[start:], 1.0, 0.0)
                else:
                    mm(D, True, IN, False, M[start:], -lr, shrink)
                    for r in range(start):
                        for c in range(nin):
                            M[r, c] *= shrink
                    for r in range(rows):
                        for c in range(nin):
                            check += M[r, c]
        if need_din:
            gb = np.zeros(nin)
            lf, lcols = lifted[co:co + nin], cols[co:co + nin]
            for s in range(n):
                dn, dp = din[s], dphi[s]
                for c in range(nin):
                    if lf[c]:
                        gb[c] -= dn[c]
                        dp[lcols[c]] += dn[c]
            if trained:
                for c in range(nin):
                    if lf[c] == 1:
                        if mode == 0:
                            grad[bo + c] = gb[c]
                        else:
                            theta[bo + c] -= lr * gb[c]
                            check += theta[bo + c]
    if not math.isfinite(check):
        return -1.0
    return loss


#: Arguments of :func:`fused_steps` past ``work`` for a single step (no pool steps).
NO_POOL = None


def no_pool(dtype=np.float64) -> tuple:
    """The trailing arguments of :func:`fused_steps` for a single step: empty arrays of the
    right types (built once per dtype)."""
    global NO_POOL
    if NO_POOL is None or NO_POOL[0].dtype != dtype:
        e1, e2 = np.empty(0, dtype), np.empty((0, 0), dtype)
        NO_POOL = (e2, e1, np.empty((0, 0), np.int64), np.empty(0), np.empty(0), e1, e1,
                   np.empty(5), np.empty(0), np.empty(0), e2, e1, e1, e1, np.empty(0), np.empty(0))
    return NO_POOL


@njit(cache=True)
def fused_steps(theta, grad, X, y, lay, cols, lifted, R, alphas, bt, centred, loss_kind,
                mode, lr, wd, shift, frozen, ptot, out_f, work,
                Xp, yp, idx, lrs, mask, m, v, hyper, bc1, bc2, Xb, yb, scale, upd, losses, wts):
    """The one compiled entry of this module (so that numba compiles the step once).

    ``mode`` 0, 1, 2: one :func:`step_blas` on ``X``, ``y`` (the arguments past ``work`` are
    unused; pass :func:`no_pool`). ``mode`` 3: ``idx.shape[0]`` Adam steps on batches
    ``Xp[idx[t]]``, ``yp[idx[t]]`` of a fixed pool, the trainer's loop body (gather,
    :func:`step_blas` in mode 0 into ``grad``, Adam (:func:`theorycheck.maths.optim.adam`) with
    step size ``lrs[t] * mask`` and bias corrections ``bc1[t]``, ``bc2[t]`` from the caller,
    ``theta -= update``) without a return to Python between steps; ``hyper`` holds Adam's
    ``b1, c1, b2, c2, eps``, ``losses[t]`` each step's loss. Returns the loss (modes 0-2) or
    the steps done (mode 3): fewer than asked when a loss is not finite (that step's batch
    is left in ``Xb``, ``yb`` and theta is not updated by it).

    Weighted mode 3 (``wts`` of one entry per pool row; for a pool smaller than the batch):
    each step runs on the whole pool, row j weighted by ``wts[j]`` = (times j is in
    ``idx[t]``) / batch, the same loss and gradient as on the gathered batch (summed in
    another order) at pool-size instead of batch-size cost."""
    pool = mode == 3
    weighted = pool and wts.shape[0] > 0
    steps = idx.shape[0] if pool else 1
    one = 0 if pool else mode       # a single call site of step_blas: numba compiles it once
    for t in range(steps):
        if weighted:
            nb = idx.shape[1]
            for j in range(wts.shape[0]):
                wts[j] = 0.0
            for s in range(nb):
                wts[idx[t, s]] += 1.0
            for j in range(wts.shape[0]):
                wts[j] /= nb
        elif pool:
            for s in range(Xb.shape[0]):
                j = idx[t, s]
                for a in range(Xb.shape[1]):
                    Xb[s, a] = Xp[j, a]
                yb[s] = yp[j]
        Xs, ys = X, y
        if weighted:
            Xs, ys = Xp, yp
        elif pool:
            Xs, ys = Xb, yb
        loss = step_blas(theta, grad, Xs, ys, lay, cols, lifted, R,
                         alphas, bt, centred, loss_kind, one, 0.0 if pool else lr,
                         0.0 if pool else wd, 0.0 if pool else shift, frozen, ptot, out_f, work, wts)
        if not pool:
            return loss
        losses[t] = loss
        if not math.isfinite(loss):
            return float(t)
        rate = lrs[t]
        for i in range(mask.shape[0]):
            scale[i] = rate * mask[i]
        _adam(grad, m, v, scale, 0.0, True, hyper[0], hyper[1], hyper[2], hyper[3], bc1[t], bc2[t],
              hyper[4], upd)
        for i in range(theta.shape[0]):
            theta[i] -= upd[i]
    return float(steps)
