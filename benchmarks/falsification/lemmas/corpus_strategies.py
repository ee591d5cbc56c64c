"""Generic instance strategies, written the way a user of hypothesis would write them: float
arrays of a drawn size. Nothing here knows where a lemma's counterexamples are."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays


def floats(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def matrix(rows: int, cols: int, lo: float, hi: float):
    return arrays(np.float64, (rows, cols), elements=floats(lo, hi))


def square(lo: float, hi: float, n=(1, 5)):
    """An n x n matrix with entries in [lo, hi], n drawn from the range."""
    return st.integers(*n).flatmap(lambda k: matrix(k, k, lo, hi))


def square_pair(lo: float, hi: float, lo2: float, hi2: float, n=(1, 4)):
    """(A, E): two n x n matrices of one drawn size, entries in [lo, hi] and [lo2, hi2]."""
    return st.integers(*n).flatmap(
        lambda k: st.tuples(matrix(k, k, lo, hi), matrix(k, k, lo2, hi2)))


def square_triple(lo: float, hi: float, n=(1, 4)):
    return st.integers(*n).flatmap(
        lambda k: st.tuples(matrix(k, k, lo, hi), matrix(k, k, lo, hi), matrix(k, k, lo, hi)))


def rect_pair(lo: float, hi: float, lo2: float, hi2: float, m=(1, 4), n=(1, 4)):
    """(A, E): two m x n matrices of one drawn shape."""
    return st.tuples(st.integers(*m), st.integers(*n)).flatmap(
        lambda s: st.tuples(matrix(*s, lo, hi), matrix(*s, lo2, hi2)))


def tall(lo: float, hi: float, m=(2, 6)):
    """An m x k matrix with 1 <= k <= m."""
    return st.integers(*m).flatmap(
        lambda r: st.integers(1, r).flatmap(lambda k: matrix(r, k, lo, hi)))


def chain(lo: float, hi: float, dims=(1, 4)):
    """(A, B) with A m x k and B k x n, so that A @ B is defined."""
    return st.tuples(st.integers(*dims), st.integers(*dims), st.integers(*dims)).flatmap(
        lambda d: st.tuples(matrix(d[0], d[1], lo, hi), matrix(d[1], d[2], lo, hi)))


def system(lo: float, hi: float, n=(1, 5)):
    """(A, x): an n x n matrix and a vector of length n."""
    return st.integers(*n).flatmap(
        lambda k: st.tuples(matrix(k, k, lo, hi), arrays(np.float64, k, elements=floats(lo, hi))))


# uniform twins of the strategies above (numpy), to measure how rare a counterexample is
# when the same shapes are drawn with uniformly distributed entries


def u_square(rng, lo, hi, n=(1, 5)):
    k = int(rng.integers(n[0], n[1] + 1))
    return rng.uniform(lo, hi, (k, k))


def u_square_pair(rng, lo, hi, lo2, hi2, n=(1, 4)):
    k = int(rng.integers(n[0], n[1] + 1))
    return rng.uniform(lo, hi, (k, k)), rng.uniform(lo2, hi2, (k, k))


def u_square_triple(rng, lo, hi, n=(1, 4)):
    k = int(rng.integers(n[0], n[1] + 1))
    return tuple(rng.uniform(lo, hi, (k, k)) for _ in range(3))


def u_rect_pair(rng, lo, hi, lo2, hi2, m=(1, 4), n=(1, 4)):
    r, c = int(rng.integers(m[0], m[1] + 1)), int(rng.integers(n[0], n[1] + 1))
    return rng.uniform(lo, hi, (r, c)), rng.uniform(lo2, hi2, (r, c))


def u_tall(rng, lo, hi, m=(2, 6)):
    r = int(rng.integers(m[0], m[1] + 1))
    return rng.uniform(lo, hi, (r, int(rng.integers(1, r + 1))))


def u_chain(rng, lo, hi, dims=(1, 4)):
    m, k, n = (int(rng.integers(dims[0], dims[1] + 1)) for _ in range(3))
    return rng.uniform(lo, hi, (m, k)), rng.uniform(lo, hi, (k, n))


def u_system(rng, lo, hi, n=(1, 5)):
    k = int(rng.integers(n[0], n[1] + 1))
    return rng.uniform(lo, hi, (k, k)), rng.uniform(lo, hi, k)


def square_and_vector(lo: float, hi: float, vlo: float, vhi: float, n=(1, 5)):
    """(M, d): an n x n matrix and a vector of length n with entries in [vlo, vhi]."""
    return st.integers(*n).flatmap(
        lambda k: st.tuples(matrix(k, k, lo, hi), arrays(np.float64, k, elements=floats(vlo, vhi))))


def square_and_scalar(lo: float, hi: float, slo: float, shi: float, n=(1, 5)):
    """(M, t): an n x n matrix and a number in [slo, shi]."""
    return st.tuples(square(lo, hi, n), floats(slo, shi))


def rect(lo: float, hi: float, m=(1, 5), n=(1, 5)):
    return st.tuples(st.integers(*m), st.integers(*n)).flatmap(lambda s: matrix(*s, lo, hi))


def u_square_and_vector(rng, lo, hi, vlo, vhi, n=(1, 5)):
    k = int(rng.integers(n[0], n[1] + 1))
    return rng.uniform(lo, hi, (k, k)), rng.uniform(vlo, vhi, k)


def u_square_and_scalar(rng, lo, hi, slo, shi, n=(1, 5)):
    return u_square(rng, lo, hi, n), float(rng.uniform(slo, shi))


def u_rect(rng, lo, hi, m=(1, 5), n=(1, 5)):
    return rng.uniform(lo, hi, (int(rng.integers(m[0], m[1] + 1)), int(rng.integers(n[0], n[1] + 1))))
