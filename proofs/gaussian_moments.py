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


@claim(id="gaussian.moments.double_factorial", tag="M", ref="docs/theory.md §1.8.7",
       paper="standard Gaussian calculus",
       statement="E[z^(2n)] = (2n-1)!! and odd moments vanish, by Gauss-Hermite quadrature",
       instances={"quick": list(range(0, 17)), "full": list(range(0, 41))})
def double_factorial_moments(n: int, *, moment=gaussian_moment):
    # Gauss-Hermite (probabilists') quadrature with m nodes is exact for degree <= 2m - 1.
    nodes, weights = np.polynomial.hermite_e.hermegauss(n // 2 + 1)
    quad = float(np.sum(weights * nodes.astype(np.float64) ** n) / np.sqrt(2 * np.pi))
    ref = float(moment(n))
    return Measurement.close(ref, quad, rtol=1e-10, atol=1e-12, label=f"E[z^{n}]")


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
