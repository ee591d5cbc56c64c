"""Exact Gaussian expectations (docs/theory.md §1.8.1 and 7) as oracles, and the Monte Carlo
estimators tested against them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from theorycheck.proofs import gaussian_moments
from theorycheck.claims.engine import describe_result
from theorycheck.errors import NumericalError, SpecError
from theorycheck.maths.gaussian import (expectation, gaussian_moment, mc_expectation, poly_function,
                                  sample_inputs, second_moment)

small_ints = st.integers(-3, 3)


def _quadratic(A, xs):
    return sum(A[i, j] * xs[i] * xs[j] for i in range(A.shape[0]) for j in range(A.shape[1]))


@given(st.integers(1, 3).flatmap(lambda d: st.tuples(
    st.lists(small_ints, min_size=d * d, max_size=d * d),
    st.lists(small_ints, min_size=d * d, max_size=d * d))))
def test_quadratic_form_identities(pair):
    """E[x'Ax] = tr A; Var = 2||A_s||_F^2; E[(x'Ax)(x'Bx)] = 2 tr(A_s B_s) + tr A tr B (1.8 item 1)."""
    a, b = pair
    d = math.isqrt(len(a))
    A, B = sp.Matrix(d, d, a), sp.Matrix(d, d, b)
    xs = sp.symbols(f"x0:{d}")
    qa, qb = _quadratic(A, xs) + sp.Integer(0), _quadratic(B, xs) + sp.Integer(0)
    As, Bs = (A + A.T) / 2, (B + B.T) / 2
    assert expectation(qa, xs) == A.trace()
    assert second_moment(qa, xs) - A.trace() ** 2 == 2 * sum(v ** 2 for v in As)
    assert expectation(sp.expand(qa * qb), xs) == 2 * (As * Bs).trace() + A.trace() * B.trace()


def test_quadratic_layer_loss_identity():
    """E[(||Wx||^2 - ||W*x||^2)^2] = 2||W'W - W*'W*||_F^2 + (||W||_F^2 - ||W*||_F^2)^2 (1.8 item 1)."""
    xs = sp.symbols("x0:3")
    W = sp.Matrix([[1, 2, 0], [0, -1, 3]])
    V = sp.Matrix([[2, 0, 1], [1, 1, -1]])
    x = sp.Matrix(xs)
    loss = sp.expand(((W * x).dot(W * x) - (V * x).dot(V * x)) ** 2)
    D = W.T * W - V.T * V
    assert expectation(loss, xs) == 2 * sum(v ** 2 for v in D) + (sum(v ** 2 for v in W) - sum(v ** 2 for v in V)) ** 2


def test_moments_and_symbolic_coefficients():
    assert [gaussian_moment(n) for n in range(9)] == [1, 0, 1, 0, 3, 0, 15, 0, 105]
    x, c = sp.symbols("x c")
    assert sp.simplify(expectation(sp.Poly(c * x ** 4 + x ** 2, x)) - (3 * c + 1)) == 0


@pytest.mark.equivalence
def test_mc_expectation_agrees_with_exact():
    xs = sp.symbols("x0:3")
    p = xs[0] ** 2 * xs[1] ** 2 - 2 * xs[2] ** 4 + xs[0] * xs[1] + 3
    exact = float(expectation(p, xs))
    est = mc_expectation(poly_function(p, xs), 3, 200000, np.random.default_rng(0))
    assert abs(est.mean - exact) < 4 * est.stderr, (est, exact)
    lo, hi = est.interval()
    assert lo < exact < hi
    biased = mc_expectation(lambda X: poly_function(p, xs)(1.05 * X), 3, 200000, np.random.default_rng(0))
    assert abs(biased.mean - exact) > 4 * biased.stderr


def test_sphere_sampling_has_radius_sqrt_d():
    X = sample_inputs(1000, 7, np.random.default_rng(0), "sphere")
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), math.sqrt(7), rtol=1e-12)
    G = sample_inputs(20000, 7, np.random.default_rng(0))
    assert abs(float(np.mean(np.sum(G * G, axis=1))) - 7) < 0.2


def test_gaussian_claims_hold_and_fail_on_biased_estimator():
    assert gaussian_moments.mc_agrees_with_exact.check().verdict == "holds"
    res = gaussian_moments.mc_agrees_with_exact.variant("biased", sampler_scale=1.1).check()
    assert res.verdict == "fails", describe_result(res)
    wrong = gaussian_moments.double_factorial_moments.variant(
        "wrong", moment=lambda n: gaussian_moment(n) + (n == 4)).check()
    assert wrong.verdict == "fails"


@pytest.mark.parametrize("call, match", [
    (lambda: gaussian_moment(-1), "n=-1"),
    (lambda: expectation(sp.Symbol("x") ** 2), "variables"),
    (lambda: sample_inputs(0, 3, np.random.default_rng(0)), "n=0"),
    (lambda: sample_inputs(5, 3, np.random.default_rng(0), "uniform"), "dist"),
    (lambda: mc_expectation(lambda X: X[:, :2].ravel(), 2, 10, np.random.default_rng(0)), "f returned"),
    (lambda: poly_function(sp.Symbol("x"), [sp.Symbol("x")])(np.ones((2, 3))), "shape"),
])
def test_bad_input_messages(call, match):
    with pytest.raises(SpecError, match=match):
        call()


def test_nonfinite_is_numerical_error():
    from theorycheck.validation import check_array
    with pytest.raises(NumericalError, match="non-finite"):
        check_array("X", [[1.0, np.nan]])
