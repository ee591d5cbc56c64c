"""Claims on Gaussian moments (docs/theory.md §1.8.7): the exact Isserlis
expectations, and the Monte Carlo estimator every other claim relies on.

Imports of sympy and :mod:`theorycheck.maths.gaussian` are local to the functions that use
them, so that listing the claims stays cheap."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from theorycheck.claims.engine import Measurement, claim
from theorycheck.claims.lazy import lazy_function

gaussian_moment = lazy_function("theorycheck.maths.gaussian", "gaussian_moment")


@st.composite
def random_polynomials(draw, max_d: int = 3, max_degree: int = 4, max_terms: int = 4):
    """A small polynomial as ``(d, ((coeff, exponents), ...))`` with integer coefficients."""
    d = draw(st.integers(1, max_d))
    terms = []
    for _ in range(draw(st.integers(1, max_terms))):
        coeff = draw(st.integers(-3, 3).filter(bool))
        factors = draw(st.lists(st.integers(0, d - 1), max_size=max_degree))
        terms.append((coeff, tuple(factors.count(i) for i in range(d))))
    return d, tuple(terms)


def _build(instance):
    import sympy as sp

    d, terms = instance
    xs = sp.symbols(f"x0:{d}")
    p = sum(c * sp.Mul(*(x ** e for x, e in zip(xs, exps))) for c, exps in terms)
    return xs, sp.Integer(0) + p


#: Rounding allowance, in units of eps * (nodes + n) * sum_i w_i |x_i|^n (see below).
ROUNDING_UNITS = 4.0


@claim(id="gaussian.moments.double_factorial", tag="M", ref="docs/theory.md §1.8.7",
       paper="standard Gaussian calculus",
       statement="""E[z^n] = (n-1)!! for even n and 0 for odd n: the n//2+1-node Gauss-Hermite
                 quadrature agrees within its own rounding, 4 eps (nodes + n) sum_i w_i |x_i|^n""",
       instances={"quick": list(range(0, 17)), "full": list(range(0, 41))},
       rounding_units=ROUNDING_UNITS)
def double_factorial_moments(n: int, *, moment=gaussian_moment, rounding_units: float):
    """Gauss-Hermite (probabilists') quadrature with m = n//2 + 1 nodes is exact in exact
    arithmetic for degree <= 2m - 1, so the only admissible discrepancy is floating-point
    rounding. That rounding scales with the *magnitude of the terms summed*,
    S = sum_i w_i |x_i|^n / sqrt(2 pi), not with the result: for odd n the terms cancel in
    pairs to a true value of 0, and a sum of terms of size S carries an error of order
    eps S (measured: -4.7e-10 at n = 17, S = 8.2e6; -1.6e6 at n = 39, S = 5.1e22). The
    allowance is the textbook one for a sum of m terms each computed with a relative error
    of order n eps (the power x^n, nodes with a few ulps' error), times a safety factor:
    |quad - E[z^n]| <= rounding_units * eps * (m + n) * S. Measured for n <= 80 the error
    stays below 0.7 eps (m + n) S, i.e. the factor 4 leaves a margin of about 6.

    For even n, S equals the quadrature value itself, so the bound is a relative tolerance of
    about 4 (m + n) eps (1e-14 at n = 40). If this claim fails, the quadrature (or the exact
    moment formula) is wrong by more than rounding: a failure at an odd n means a non-zero
    odd moment, and a failure at an even n a wrong double factorial. A claimed odd moment
    equal to E|z|^n (the absolute moment, the size of the terms themselves) must fail, so the
    allowance does not swallow the statement (``tests/test_mutants.py``)."""
    m = n // 2 + 1
    nodes, weights = np.polynomial.hermite_e.hermegauss(m)
    terms = weights * nodes.astype(np.float64) ** n / np.sqrt(2 * np.pi)
    quad = float(np.sum(terms))
    scale = float(np.sum(np.abs(terms)))
    ref = float(moment(n))
    allowance = rounding_units * np.finfo(np.float64).eps * (m + n) * scale
    return Measurement(abs(quad - ref), allowance, "<=", label=f"|quadrature - E[z^{n}]|",
                       detail={"quadrature": quad, "reference": ref,
                               "sum_abs_terms": scale, "nodes": m})


@claim(id="gaussian.mc.agrees_with_exact", tag="M", ref="docs/theory.md §1.8.7",
       paper="standard Gaussian calculus",
       statement="Monte Carlo E[p(x)] agrees with the exact Isserlis value within 4 standard errors",
       instances={"quick": random_polynomials(), "full": random_polynomials(4, 6, 6)},
       max_examples={"quick": 30, "full": 200}, n_samples=20000, sampler_scale=1.0)
def mc_agrees_with_exact(instance, *, rng, n_samples: int, sampler_scale: float):
    from theorycheck.maths.gaussian import expectation, mc_expectation, poly_function

    xs, p = _build(instance)
    exact = float(expectation(p, xs))
    f = poly_function(p, xs)
    est = mc_expectation(lambda X: f(sampler_scale * X), len(xs), n_samples, rng)
    return Measurement(abs(est.mean - exact), 4.0 * est.stderr + 1e-12 * (1 + abs(exact)), "<=",
                       label="|MC - exact|",
                       detail={"mc": est.mean, "exact": exact, "stderr": est.stderr})
