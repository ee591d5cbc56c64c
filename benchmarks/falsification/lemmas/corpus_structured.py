"""The corpus strategies of ``corpus_strategies``, drawn with ``theorycheck.strategies`` instead:
every matrix of entries in ``[lo, hi]`` comes from ``box_matrices`` (the same set, with its
corner cases: the zero matrix, box vertices, Hadamard-like sign patterns, repeated and nearly
repeated rows, a single non-zero entry; and its domain, which the optimiser searches). Vectors
and scalars stay generic. Same names and signatures, so ``run.py --strategies structured``
swaps this module in for ``corpus_strategies`` without touching a lemma.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from theorycheck.strategies import box_matrices

# the generic module, loaded from its file (run.py makes this module answer to its name)
_spec = importlib.util.spec_from_file_location("_corpus_generic", Path(__file__).with_name("corpus_strategies.py"))
_generic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_generic)

floats = _generic.floats
# the uniform twins are the generic ones
u_square, u_square_pair, u_square_triple = _generic.u_square, _generic.u_square_pair, _generic.u_square_triple
u_rect_pair, u_tall, u_chain, u_system = _generic.u_rect_pair, _generic.u_tall, _generic.u_chain, _generic.u_system
u_square_and_vector, u_square_and_scalar, u_rect = (_generic.u_square_and_vector,
                                                    _generic.u_square_and_scalar, _generic.u_rect)


def vector(k: int, lo: float, hi: float):
    return arrays(np.float64, k, elements=floats(lo, hi))


def matrix(rows: int, cols: int, lo: float, hi: float):
    return box_matrices(rows, cols, min_value=lo, max_value=hi)


def square(lo: float, hi: float, n=(1, 5)):
    return box_matrices(tuple(n), min_value=lo, max_value=hi)


def square_pair(lo: float, hi: float, lo2: float, hi2: float, n=(1, 4)):
    return st.integers(*n).flatmap(
        lambda k: st.tuples(matrix(k, k, lo, hi), matrix(k, k, lo2, hi2)))


def square_triple(lo: float, hi: float, n=(1, 4)):
    return st.integers(*n).flatmap(
        lambda k: st.tuples(matrix(k, k, lo, hi), matrix(k, k, lo, hi), matrix(k, k, lo, hi)))


def rect_pair(lo: float, hi: float, lo2: float, hi2: float, m=(1, 4), n=(1, 4)):
    return st.tuples(st.integers(*m), st.integers(*n)).flatmap(
        lambda s: st.tuples(matrix(*s, lo, hi), matrix(*s, lo2, hi2)))


def tall(lo: float, hi: float, m=(2, 6)):
    return st.integers(*m).flatmap(
        lambda r: st.integers(1, r).flatmap(lambda k: matrix(r, k, lo, hi)))


def chain(lo: float, hi: float, dims=(1, 4)):
    return st.tuples(st.integers(*dims), st.integers(*dims), st.integers(*dims)).flatmap(
        lambda d: st.tuples(matrix(d[0], d[1], lo, hi), matrix(d[1], d[2], lo, hi)))


def system(lo: float, hi: float, n=(1, 5)):
    return st.integers(*n).flatmap(lambda k: st.tuples(matrix(k, k, lo, hi), vector(k, lo, hi)))


def square_and_vector(lo: float, hi: float, vlo: float, vhi: float, n=(1, 5)):
    return st.integers(*n).flatmap(lambda k: st.tuples(matrix(k, k, lo, hi), vector(k, vlo, vhi)))


def square_and_scalar(lo: float, hi: float, slo: float, shi: float, n=(1, 5)):
    return st.tuples(square(lo, hi, n), floats(slo, shi))


def rect(lo: float, hi: float, m=(1, 5), n=(1, 5)):
    return box_matrices(tuple(m), tuple(n), min_value=lo, max_value=hi)
