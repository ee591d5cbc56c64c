"""Kernel learners on the BFC targets (THEORY.md 1.7): kernel ridge regression with

* ``poly``: the polynomial kernel (1 + <x, z>/d)^q (degree ``q``, default 4);
* ``gaussian``: exp(-|x - z|^2 / (2 s^2)) with s^2 = ``bandwidth`` * d ([R] default 1);
* ``ntk``: the empirical neural tangent kernel of the BFC learner F (THEORY.md 1.4) at
  initialisation, K(x, z) = <grad_theta F(x), grad_theta F(z)> from the gradient features
  of :func:`ntk_features` (a vectorised per-sample Jacobian of the learner);
* ``rf``: random-features regression, ReLU features relu(<w, x> + c) (w uniform on the
  unit sphere, c ~ N(0, 1)) as in :mod:`theorycheck.papers.three_layer.baselines`, K = Phi Phi^T / m.

Every solve is a Cholesky factorisation (scipy.linalg.cho_factor / cho_solve), never an
explicit inverse. The Gram matrix is built in row blocks (temporaries of ``block`` rows)
and its memory is estimated first: a request beyond the budget raises one clear line
(:class:`theorycheck.errors.SpecError`) naming N and the largest N that fits, instead of
dying in the allocator. The ridge penalty is chosen on a validation split
([R] 20% held out, grid :data:`LAMBDAS` relative to the mean Gram diagonal, penalty
scaled by n as in :mod:`theorycheck.maths.ridge`), then the model is refit on all N rows.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from theorycheck.errors import NumericalError, SpecError
from theorycheck.maths.ridge import split_indices
from theorycheck.validation import check_array, check_choice, check_int, check_real

KERNELS = ("poly", "gaussian", "ntk", "rf")
LAMBDAS = (1e-8, 1e-6, 1e-4, 1e-2)


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo (falls back to total physical memory)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def gram_memory_bytes(n: int, val_frac: float = 0.2) -> int:
    """Peak bytes of :func:`fit_kernel_ridge` at n samples: the training Gram and its
    factor during validation (2 * n_tr^2 doubles) or the full Gram factored in place (n^2)."""
    n_tr = n - max(1, int(round(val_frac * n)))
    return 8 * max(2 * n_tr * n_tr + n_tr * (n - n_tr), n * n)


def check_memory(n: int, budget_bytes: int | None = None, val_frac: float = 0.2,
                 name: str = "N") -> None:
    """Raise one clear line (:class:`~theorycheck.errors.BudgetError`) when the Gram matrices
    of n samples do not fit the budget (default: the memory budget of
    :mod:`theorycheck.budget`, half of the available memory unless set), naming ``name``,
    the estimate and the largest N that fits."""
    from theorycheck.budget import BUDGET_FIX, largest, memory_budget
    from theorycheck.errors import BudgetError

    if budget_bytes is None:
        budget, source = memory_budget()
        hint = f", {BUDGET_FIX}"
    else:
        budget, source, hint = int(budget_bytes), "given", " or a machine with more memory"
    need = gram_memory_bytes(n, val_frac)
    if need > budget:
        n_max = largest(lambda m: gram_memory_bytes(m, val_frac) <= budget, 2, n) or 1
        raise BudgetError(f"{name}={n} needs {need / 2**30:.1f} GiB for the Gram matrices but the "
                          f"budget is {budget / 2**30:.1f} GiB ({source}); use {name} <= "
                          f"{n_max}{hint}")


@dataclass(frozen=True)
class KernelSpec:
    """A kernel by name with its options (``q`` for poly, ``bandwidth`` for gaussian,
    ``m`` for rf; ntk carries its feature map)."""

    name: str
    q: int = 4
    bandwidth: float = 1.0
    m: int = 1024
    features: Callable | None = field(default=None, compare=False, repr=False)
    d: int | None = None      # the input dimension it was made for (None: any)

    def check_data(self, name: str, X: np.ndarray) -> None:
        """Refuse data whose dimension differs from the kernel's ``d``."""
        if self.d is not None and X.shape[1] != self.d:
            raise SpecError(f"{name} has d={X.shape[1]} columns but the {self.name} kernel was "
                            f"made for d={self.d}; make the kernel with make_kernel({self.name!r}, "
                            f"{X.shape[1]}) or pass data of dimension {self.d}")

    def block(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        if self.name == "poly":
            T = A @ B.T
            T *= 1.0 / A.shape[1]
            T += 1.0
            return _int_power(T, self.q)
        if self.name == "gaussian":
            s2 = self.bandwidth * A.shape[1]
            D = np.einsum("ij,ij->i", A, A)[:, None] + np.einsum("ij,ij->i", B, B)[None, :] - 2.0 * A @ B.T
            return np.exp(-np.maximum(D, 0.0) / (2.0 * s2))
        return A @ B.T  # ntk and rf act on their feature rows


def _int_power(T: np.ndarray, q: int) -> np.ndarray:
    """T**q for integer q >= 1 by repeated squaring, in place on T's buffer plus one copy."""
    if q == 1:
        return T
    base, out = T, None
    while q:
        if q & 1:
            out = base.copy() if out is None else np.multiply(out, base, out=out)
        q >>= 1
        if q:
            base = np.multiply(base, base, out=base)
    return out


def make_kernel(name: str, d: int, *, q: int = 4, bandwidth: float = 1.0, m: int = 1024,
                rng: np.random.Generator | None = None, learner=None) -> KernelSpec:
    """A :class:`KernelSpec`; ``rf`` draws its features from ``rng``; ``ntk`` uses the
    BFC learner ``learner`` (LearnerParams at initialisation)."""
    check_choice("kernel", name, KERNELS)
    d = check_int("d", d, min_value=1)
    if name == "poly":
        return KernelSpec(name, q=check_int("q", q, min_value=1), d=d)
    if name == "gaussian":
        return KernelSpec(name, bandwidth=check_real("bandwidth", bandwidth, positive=True), d=d)
    if name == "rf":
        m = check_int("m", m, min_value=1)
        rng = np.random.default_rng(0) if rng is None else rng
        W = rng.standard_normal((m, d))
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        c = rng.standard_normal(m)
        return KernelSpec(name, m=m, features=lambda X: np.maximum(X @ W.T + c, 0.0) / math.sqrt(m),
                          d=d)
    if learner is None:
        raise SpecError("kernel='ntk' needs the learner at initialisation (learner=LearnerParams); "
                        "build one with learner_spec_for(target) and init_learner(spec)")
    if learner.spec.d != d:
        raise SpecError(f"the learner has d={learner.spec.d} but the data has d={d}; build the "
                        f"learner for the target the data came from")
    return KernelSpec(name, features=lambda X: ntk_features(learner, X), d=d)


def _rows(spec: KernelSpec, X: np.ndarray) -> np.ndarray:
    return spec.features(X) if spec.features is not None else X


def gram(spec: KernelSpec, A: np.ndarray, B: np.ndarray | None = None, *, block: int = 2048,
         out: np.ndarray | None = None) -> np.ndarray:
    """K(A, B) (or K(A, A)) built in row blocks of ``block`` rows (blocked Gram)."""
    FA = _rows(spec, A)
    FB = FA if B is None else _rows(spec, B)
    K = np.empty((FA.shape[0], FB.shape[0])) if out is None else out
    for i in range(0, FA.shape[0], block):
        K[i:i + block] = spec.block(FA[i:i + block], FB)
    return K


def _factor(K: np.ndarray, lam: float, overwrite: bool):
    n = K.shape[0]
    s = float(np.mean(np.diag(K))) or 1.0
    M = K if overwrite else K.copy()
    M[np.diag_indices(n)] += n * lam * s
    try:
        return cho_factor(M, lower=True, overwrite_a=True, check_finite=False)
    except LinAlgError:
        raise NumericalError(f"the kernel ridge system is not positive definite at lambda={lam:g}; "
                             f"use larger lambdas") from None


def kernel_ridge_alpha(K: np.ndarray, y: np.ndarray, lam: float, *, overwrite: bool = False) -> np.ndarray:
    """alpha = (K + n lam s I)^{-1} y by Cholesky (s = mean diagonal of K)."""
    lam = check_real("ridge", lam, positive=True)
    return cho_solve(_factor(K, lam, overwrite), y, check_finite=False)


@dataclass
class KernelFit:
    spec: KernelSpec
    X: np.ndarray
    alpha: np.ndarray
    lam: float
    val_losses: tuple

    def __call__(self, Xt: np.ndarray, block: int = 2048) -> np.ndarray:
        Xt = check_array("X", Xt, shape=(None, self.X.shape[1]), ndim=2)
        out = np.empty(Xt.shape[0])
        for i in range(0, Xt.shape[0], block):
            out[i:i + block] = gram(self.spec, Xt[i:i + block], self.X) @ self.alpha
        return out


def fit_kernel_ridge(spec: KernelSpec, X, y, rng: np.random.Generator, *,
                     lambdas: Sequence[float] = LAMBDAS, val_frac: float = 0.2,
                     memory_budget: int | None = None, block: int = 2048) -> KernelFit:
    """Kernel ridge regression with the penalty chosen on a validation split
    (one Cholesky factorisation per candidate), refit on all rows (factored in place)."""
    if not isinstance(spec, KernelSpec):
        raise SpecError(f"spec={spec!r:.60} is invalid: a {type(spec).__name__}, not a KernelSpec; "
                        f"make one with make_kernel(name, d)")
    if not isinstance(rng, np.random.Generator):
        raise SpecError(f"rng={rng!r:.60} is invalid: a {type(rng).__name__}; pass a "
                        f"numpy.random.Generator, e.g. numpy.random.default_rng(0)")
    X = check_array("X", X, ndim=2)
    spec.check_data("X", X)
    y = check_array("y", y, shape=(X.shape[0],), ndim=1)
    if isinstance(lambdas, (str, bytes)) or not hasattr(lambdas, "__iter__"):
        raise SpecError(f"lambdas={lambdas!r:.60} is invalid; pass a list of positive penalties")
    lambdas = [check_real("ridge", lam, positive=True) for lam in lambdas]
    if not lambdas:
        raise SpecError("lambdas=[] is invalid: empty; pass at least one positive penalty")
    val_frac = check_real("val_frac", val_frac, positive=True, max_value=0.9)
    block = check_int("block", block, min_value=1)
    n = X.shape[0]
    check_memory(n, memory_budget, val_frac)
    if len(lambdas) > 1:
        tr, va = split_indices(n, val_frac, rng)
        Ktr = gram(spec, X[tr], block=block)
        Kva = gram(spec, X[va], X[tr], block=block)
        losses = tuple(float(np.mean((Kva @ kernel_ridge_alpha(Ktr, y[tr], lam) - y[va]) ** 2))
                       for lam in lambdas)
        del Ktr, Kva
        lam = float(lambdas[int(np.argmin(losses))])
    else:
        lam, losses = float(lambdas[0]), ()
    K = gram(spec, X, block=block)
    alpha = kernel_ridge_alpha(K, y, lam, overwrite=True)
    return KernelFit(spec, X, alpha, lam, losses)


def relative_test_error(pred: np.ndarray, y: np.ndarray, top_energy: float) -> float:
    """E[(pred - G*)^2] / (alpha_L^2 Var(Sum G*_L)): the test error relative to the top term's
    energy, the measure of THEORY.md 1.6 used by the trainer (``rel_loss``)."""
    return float(np.mean((pred - y) ** 2) / top_energy)


# ------------------------------------------------------------------ empirical NTK features
def ntk_features(params, X) -> np.ndarray:
    """Per-sample Jacobian J[i] = d F(x_i) / d theta, shape (n, len(theta)), of the BFC
    learner (tied or untied, any connections), by a vectorised backward pass mirroring the
    learner's BLAS path with the loss derivative replaced by 1 per sample. Entries of frozen
    layers and untrained offsets are zero, as in the learner's gradient."""
    from theorycheck.papers.bfc import learner as lr
    spec, lay = params.spec, lr._layout(params.spec)
    X = check_array("X", X, shape=(None, spec.d), ndim=2)
    f, cache = lr._blas_forward(params, np.ascontiguousarray(X, dtype=np.float64))
    n = X.shape[0]
    J = np.zeros((n, lay.size))
    dphi = np.zeros(cache["Phi"].shape) if spec.L > 2 else None
    ones = np.ones(n)
    for i in range(spec.L - 2, -1, -1):
        l = i + 2
        k, pre, IN = spec.k(l), cache["pre"][l], cache["IN"][l]
        dpre = np.zeros(pre.shape)
        zr = 0 if spec.tied else k
        lr._k.out_grad(np.ascontiguousarray(cache["Z"][l]), float(spec.B), ones * spec.alphas[i],
                       dpre[:, zr:])
        if l < spec.L:
            po = lay.phi_off[l]
            U = cache["U"][l]
            dpre[:, :k] += (2.0 * U * dphi[:, po:po + U.shape[1]]) @ params.R[l]
        rows, _, nin, mo = lay.lay[i, :4]
        if l not in params.frozen:
            J[:, mo:mo + rows * nin] = (dpre[:, :, None] * IN[:, None, :]).reshape(n, -1)
        if any(j >= 2 for j in spec.J(l)):
            din = dpre @ params.M(l)
            co = lay.lay[i, 5]
            lifted = lay.lifted[co:co + nin] == 1
            bo = lay.lay[i, 4]
            if spec.offsets and l not in params.frozen:
                J[:, bo:bo + nin][:, lifted] = -din[:, lifted]
            sl = lay.col_slices[l]
            if sl is not None:
                dphi[:, sl] += din
            else:
                np.add.at(dphi, (slice(None), lay.cols[co:co + nin]), din)
    return J
