"""The kernels of the BFC kernel study (docs/theory.md §1.7): those of
:mod:`theorycheck.maths.kernel_methods` (``poly``, ``gaussian``, ``rf``) and

* ``ntk``: the empirical neural tangent kernel of the BFC learner F (§1.4) at
  initialisation, K(x, z) = <grad_theta F(x), grad_theta F(z)>, from the gradient features
  of :func:`ntk_features` (a vectorised per-sample Jacobian of the learner).

Kernel ridge regression itself (blocked Gram, memory check, penalty chosen on a validation
split, Cholesky solves) is :func:`theorycheck.maths.kernel_methods.fit_kernel_ridge`.
"""

from __future__ import annotations

import numpy as np

from theorycheck.errors import SpecError
from theorycheck.maths import kernel_methods as km
from theorycheck.papers.bfc import learner_numba
from theorycheck.papers.bfc.learner import LearnerParams, forward, layer_slots
from theorycheck.validation import check_array, check_choice, check_int

#: the study's kernels; the order is part of each cell's seed (kernel_scaling.LEARNERS).
KERNELS = ("poly", "gaussian", "ntk", "rf")


def make_kernel(name: str, d: int, *, q: int = 4, bandwidth: float = 1.0, m: int = 1024,
                rng: np.random.Generator | None = None,
                learner: LearnerParams | None = None) -> km.KernelSpec:
    """A kernel of :data:`KERNELS` for inputs of dimension ``d``.

    Parameters
    ----------
    name : {"poly", "gaussian", "ntk", "rf"}
    d : int
    q, bandwidth, m, rng :
        As in :func:`theorycheck.maths.kernel_methods.make_kernel`.
    learner : LearnerParams, optional
        The BFC learner at initialisation, needed by ``ntk``.

    Returns
    -------
    KernelSpec

    Examples
    --------
    >>> from theorycheck.papers.bfc.learner import init_learner, learner_spec
    >>> P = init_learner(learner_spec(3, 2, k=2, tied=False), rng=0)
    >>> make_kernel("ntk", 3, learner=P).name
    'ntk'
    """
    check_choice("kernel", name, KERNELS)
    if name != "ntk":
        return km.make_kernel(name, d, q=q, bandwidth=bandwidth, m=m, rng=rng)
    d = check_int("d", d, min_value=1)
    if learner is None:
        raise SpecError("kernel='ntk' needs the learner at initialisation (learner=LearnerParams); "
                        "build one with learner_spec_for(target, tied=False) and init_learner(spec)")
    if learner.spec.d != d:
        raise SpecError(f"the learner has d={learner.spec.d} but the data has d={d}; build the "
                        f"learner for the target the data came from")
    return km.feature_kernel("ntk", lambda X: ntk_features(learner, X))


def ntk_features(params: LearnerParams, X) -> np.ndarray:
    """Per-sample Jacobian of the BFC learner's output with respect to its parameters.

    A vectorised backward pass mirroring the learner's BLAS path with the loss derivative
    replaced by 1 per sample (tied or untied, any connections). Entries of frozen layers
    and untrained offsets are zero, as in the learner's gradient.

    Parameters
    ----------
    params : LearnerParams
    X : ndarray, shape (n, d)

    Returns
    -------
    ndarray, shape (n, len(theta))
        J[i] = d F(x_i) / d theta.

    Examples
    --------
    >>> from theorycheck.papers.bfc.learner import init_learner, learner_spec
    >>> P = init_learner(learner_spec(3, 2, k=2, tied=False), rng=0)
    >>> ntk_features(P, np.ones((2, 3))).shape == (2, P.theta.size)
    True
    """
    spec = params.spec
    X = check_array("X", X, shape=(None, spec.d), ndim=2)
    _, cache = forward(params, X, path="blas")
    n = X.shape[0]
    J = np.zeros((n, params.theta.size))
    dphi = np.zeros(cache["Phi"].shape) if spec.L > 2 else None
    ones = np.ones(n)
    for i in range(spec.L - 2, -1, -1):
        l = i + 2
        slots = layer_slots(spec, l)
        k, pre, IN = spec.k(l), cache["pre"][l], cache["IN"][l]
        dpre = np.zeros(pre.shape)
        zr = 0 if spec.tied else k
        learner_numba.out_grad(np.ascontiguousarray(cache["Z"][l]), float(spec.B),
                               ones * spec.alphas[i], dpre[:, zr:])
        if l < spec.L:
            U = cache["U"][l]
            dpre[:, :k] += (2.0 * U * dphi[:, slots.phi]) @ params.R[l]
        if l not in params.frozen:
            J[:, slots.M] = (dpre[:, :, None] * IN[:, None, :]).reshape(n, -1)
        if any(j >= 2 for j in spec.J(l)):
            din = dpre @ params.M(l)
            trained = slots.trained_offsets
            if spec.offsets and l not in params.frozen:
                J[:, slots.b][:, trained] = -din[:, trained]
            if isinstance(slots.inputs, slice):
                dphi[:, slots.inputs] += din
            else:
                np.add.at(dphi, (slice(None), slots.inputs), din)
    return J
