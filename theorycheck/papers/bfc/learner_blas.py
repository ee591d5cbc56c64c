"""BLAS matrix products callable from numba kernels, with ``beta`` and strided operands.

numba's ``np.dot`` allocates its result, needs contiguous operands and compiles a large
body at every call site; the learner's fused step (:mod:`theorycheck.papers.bfc.learner_fused`)
instead calls SciPy's BLAS ``dgemm``/``sgemm`` directly, writing into views of one
workspace and accumulating (``beta``) into the parameters, so that the SGD update is the
epilogue of the weight-gradient product. The symbols are registered with LLVM by name, so
kernels that call them stay cacheable (``cache=True``).
"""

from __future__ import annotations

import llvmlite.binding as ll
import numpy as np
from numba import njit, types
from numba.extending import get_cython_function_address

for _name in ("dgemm", "sgemm", "dsyrk", "ssyrk"):
    ll.add_symbol(f"theorycheck_{_name}",
                  get_cython_function_address("scipy.linalg.cython_blas", _name))

# Fortran BLAS takes every argument by reference; pointers travel as intp (same ABI)
_SIG = types.void(*([types.intp] * 13))
_dgemm = types.ExternalFunction("theorycheck_dgemm", _SIG)
_sgemm = types.ExternalFunction("theorycheck_sgemm", _SIG)
_SIG_SYRK = types.void(*([types.intp] * 10))
_dsyrk = types.ExternalFunction("theorycheck_dsyrk", _SIG_SYRK)
_ssyrk = types.ExternalFunction("theorycheck_ssyrk", _SIG_SYRK)


@njit(cache=True)
def _ld(A):
    return max(A.strides[0] // A.itemsize, A.shape[1], 1)


@njit(cache=True)
def mm(A, ta, B, tb, C, alpha, beta):
    """``C = alpha op(A) op(B) + beta C`` for row-major 2-D views with unit column stride
    (``op(X) = X.T`` when its flag is set); float64 or float32, all three the same dtype.

    Examples
    --------
    >>> A, B, C = np.ones((2, 3)), np.ones((4, 3)), np.ones((2, 4))
    >>> mm(A, False, B, True, C, 2.0, 1.0)
    >>> float(C[0, 0])
    7.0
    """
    M = A.shape[1] if ta else A.shape[0]
    K = A.shape[0] if ta else A.shape[1]
    N = B.shape[0] if tb else B.shape[1]
    if M == 0 or N == 0:
        return
    iv = np.empty(6, np.int32)
    iv[0] = N
    iv[1] = M
    iv[2] = K
    iv[3] = _ld(B)
    iv[4] = _ld(A)
    iv[5] = _ld(C)
    ch = np.empty(2, np.uint8)
    ch[0] = 84 if tb else 78      # 'T' / 'N': column-major C^T = op(B)^T op(A)^T
    ch[1] = 84 if ta else 78
    sv = np.empty(2, C.dtype)
    sv[0] = alpha
    sv[1] = beta
    args = (ch[0:].ctypes.data, ch[1:].ctypes.data, iv[0:].ctypes.data, iv[1:].ctypes.data,
            iv[2:].ctypes.data, sv[0:].ctypes.data, B.ctypes.data, iv[3:].ctypes.data,
            A.ctypes.data, iv[4:].ctypes.data, sv[1:].ctypes.data, C.ctypes.data,
            iv[5:].ctypes.data)
    if C.itemsize == 8:
        _dgemm(*args)
    else:
        _sgemm(*args)
    # numba frees an array after its last use: these reads keep the argument blocks alive
    # until BLAS has returned
    iv[0] = ch[0] + ch[1]
    sv[0] = sv[1]


@njit(cache=True)
def gram(A, C, alpha, beta):
    """``C = alpha A^T A + beta C`` on the lower triangle of ``C`` (row-major, nin x nin for
    ``A`` of shape (rows, nin)): half the flops of the GEMM; the upper triangle is not touched.

    Examples
    --------
    >>> A, C = np.arange(6.0).reshape(3, 2), np.zeros((2, 2))
    >>> gram(A, C, 1.0, 0.0)
    >>> float(C[1, 0]), float(C[1, 1])
    (26.0, 35.0)
    """
    rows, nin = A.shape
    if nin == 0:
        return
    iv = np.empty(4, np.int32)
    iv[0] = nin
    iv[1] = rows
    iv[2] = _ld(A)
    iv[3] = _ld(C)
    ch = np.empty(2, np.uint8)
    ch[0] = 85      # 'U' of the column-major C: the lower triangle of the row-major one
    ch[1] = 78      # 'N': column-major A^T (nin x rows) times its transpose
    sv = np.empty(2, C.dtype)
    sv[0] = alpha
    sv[1] = beta
    args = (ch[0:].ctypes.data, ch[1:].ctypes.data, iv[0:].ctypes.data, iv[1:].ctypes.data,
            sv[0:].ctypes.data, A.ctypes.data, iv[2:].ctypes.data, sv[1:].ctypes.data,
            C.ctypes.data, iv[3:].ctypes.data)
    if C.itemsize == 8:
        _dsyrk(*args)
    else:
        _ssyrk(*args)
    iv[0] = ch[0] + ch[1]
    sv[0] = sv[1]
