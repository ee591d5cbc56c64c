"""Symbolic targets (docs/theory.md §1.3): exact build, verifiers, Hermite energy, claims and
their broken variants."""

from __future__ import annotations

import time

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from theorycheck.proofs import bfc_target
from theorycheck.claims.engine import describe_result
from theorycheck.errors import SpecError
from theorycheck.maths.gaussian import poly_function, second_moment
from theorycheck.maths.hermite import (energy_by_degree, hermite_coefficients, mc_energy_by_degree,
                                 monomial_to_hermite)
from theorycheck.papers.bfc.symbolic import (alpha_sweep, energy_by_degree_table, layer_second_moments, plant_cancellation,
                                  symbolic_target,
                                  verify_degrees, verify_gap, verify_structure,
                                  with_forbidden_block)
from theorycheck.papers.bfc.target import build_target


# ------------------------------------------------------------------ Hermite basis

@pytest.mark.parametrize("n", range(9))
def test_monomial_to_hermite_matches_numpy_hermite_e(n):
    """x^n in the He basis, against numpy.polynomial.hermite_e.poly2herme."""
    ref = np.polynomial.hermite_e.poly2herme([0] * n + [1])
    ours = np.zeros(n + 1)
    for m, c in monomial_to_hermite(n):
        ours[m] = c
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)


def test_hermite_coefficients_of_known_polynomial():
    x, y = sp.symbols("x y")
    # x^2 y = (He_2(x) + 1) He_1(y)
    h = hermite_coefficients(sp.Poly(x ** 2 * y, x, y))
    assert {b: sp.QQ.to_sympy(c) for b, c in h.items()} == {(2, 1): 1, (0, 1): 1}
    # energy: He_2 He_1 has norm 2! 1! = 2, He_1 has norm 1
    assert energy_by_degree(sp.Poly(x ** 2 * y, x, y)) == (0, 1, 0, 2)


@given(st.integers(1, 3).flatmap(lambda d: st.tuples(st.just(d), st.lists(
    st.tuples(st.integers(-3, 3), st.lists(st.integers(0, 3), min_size=d, max_size=d)),
    min_size=1, max_size=5))))
def test_parseval_exact(inst):
    """sum_q energy_q(p) = E[p^2] with the Isserlis expectation as independent oracle."""
    d, terms = inst
    xs = sp.symbols(f"x0:{d}")
    p = sp.Poly(sum(c * sp.Mul(*(x ** e for x, e in zip(xs, es))) for c, es in terms) + sp.Integer(0), *xs)
    assert sum(energy_by_degree(p)) == second_moment(p)


def test_energy_bad_input():
    with pytest.raises(SpecError, match="degree"):
        energy_by_degree(sp.Poly(sp.Symbol("x") ** 3, sp.Symbol("x")), degree=2)
    with pytest.raises(SpecError, match="Poly"):
        energy_by_degree("x**2")


@pytest.mark.equivalence
def test_mc_energy_agrees_with_exact_and_detects_bias():
    T = build_target(d=3, L=2, k_target=2, seed=4)
    sym = symbolic_target(T)
    exact = np.array([float(e) for e in energy_by_degree_table(sym).total])
    f = lambda X: T.layer_terms(X)[2] if not np.iscomplexobj(X) else _complex_G(T, X)
    est = mc_energy_by_degree(f, 3, 4, 40000, np.random.default_rng(0))
    z = np.abs(est.mean - exact) / est.stderr
    assert np.all(z < 5), (est.mean, exact, est.stderr)
    biased = mc_energy_by_degree(lambda X: _complex_G(T, 1.2 * X), 3, 4, 40000, np.random.default_rng(0))
    assert np.max(np.abs(biased.mean - exact) / biased.stderr) > 5


def _complex_G(T, X):
    from theorycheck.papers.bfc.target import forward_layers
    S, _ = forward_layers(X, T.weights, T.spec)
    return sum(a * np.einsum("nk,nk->n", S[l], S[l]) for l, a in zip(range(2, T.L + 1), T.alphas))


# ------------------------------------------------------------------ build and evaluator

@pytest.mark.equivalence
@pytest.mark.parametrize("connections", ["chain", "dense"])
@pytest.mark.parametrize("centred", [True, False])
def test_numeric_evaluator_agrees_with_symbolic(connections, centred):
    T = build_target(d=3, L=3, k_target=2, connections=connections, centred=centred, seed=7)
    sym = symbolic_target(T)
    X = np.random.default_rng(1).standard_normal((50, 3))
    ref = poly_function(sym.poly(sym.G_star), sym.symbols)(X)
    np.testing.assert_allclose(T(X), ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())
    S, G = T.layers(X)
    for l in range(2, 4):
        for i, p in enumerate(sym.S[l]):
            r = poly_function(sym.poly(p), sym.symbols)(X)
            np.testing.assert_allclose(S[l][:, i], r, rtol=1e-10, atol=1e-10 * np.abs(r).max())
        for i, p in enumerate(sym.G[l]):
            r = poly_function(sym.poly(p), sym.symbols)(X)
            np.testing.assert_allclose(G[l][:, i], r, rtol=1e-10, atol=1e-10 * np.abs(r).max())


@pytest.mark.parametrize("connections", ["chain", "dense"])
@pytest.mark.parametrize("centred", [True, False])
def test_layer_two_second_moment_is_normalised_exactly(connections, centred):
    """E||S*_2||^2 = k_2 (build_target's closed-form normalisation), by Isserlis."""
    T = build_target(d=3, L=2, k_target=3, seed=2, connections=connections, centred=centred)
    moments = layer_second_moments(symbolic_target(T))
    assert abs(float(moments[2]) - 3.0) < 1e-12
    # and the unnormalised draw agrees with the closed form of target._second_moment
    from theorycheck.papers.bfc.target import _second_moment, target_spec
    spec = target_spec(3, 2, k_target=3, seed=2, connections=connections, centred=centred, normalise=False)
    raw = build_target(spec)
    exact = float(layer_second_moments(symbolic_target(raw))[2])
    assert abs(_second_moment(2, raw.weights, spec) - exact) <= 1e-12 * exact


def test_symbolic_bad_input():
    with pytest.raises(SpecError, match="BFCTarget"):
        symbolic_target("not a target")
    T = build_target(d=2, L=3, k_target=2)
    with pytest.raises(SpecError, match="line"):
        symbolic_target(T, line="diagonal")
    with pytest.raises(SpecError, match="L >= 3"):
        plant_cancellation(build_target(d=2, L=2, k_target=2))
    with pytest.raises(SpecError, match="width"):
        plant_cancellation(build_target(d=2, L=3, k_target=1))
    with pytest.raises(SpecError, match="J_3"):
        with_forbidden_block(T, 3, 2)


# ------------------------------------------------------------------ verifiers

def test_degrees_generic_and_planted_cancellation():
    T = build_target(d=3, L=3, k_target=2, seed=5)
    rep = verify_degrees(symbolic_target(T))
    assert rep.ok and rep.deg_G_star == 8
    planted = plant_cancellation(T)
    rep = verify_degrees(symbolic_target(planted))
    assert not rep.ok
    assert rep.deg_G_star == 6  # top part of S*_3 cancels: deg 3, squared 6
    assert all(r.deg_S == (3, 3) for r in rep.layers if r.layer == 3)
    assert "cancellation" in repr(rep) and r"\begin{array}" in rep._repr_latex_()
    # the planted target is still a valid float target: both evaluators agree on it
    sym = symbolic_target(planted)
    X = np.random.default_rng(0).standard_normal((20, 3))
    ref = poly_function(sym.poly(sym.G_star), sym.symbols)(X)
    np.testing.assert_allclose(planted(X), ref, rtol=1e-9, atol=1e-12)


def test_degrees_on_a_line_for_wide_inputs():
    T = build_target(d=24, L=3, k_target=2, seed=1)
    assert verify_degrees(symbolic_target(T, line="random")).ok
    assert not verify_degrees(symbolic_target(plant_cancellation(T), line="random")).ok


def test_structure_detects_forbidden_block():
    T = build_target(d=3, L=3, k_target=2, seed=3)
    assert verify_structure(symbolic_target(T)).ok
    bad = verify_structure(symbolic_target(with_forbidden_block(T, 3, 0)))
    assert not bad.ok and bad.violations == 1
    row = [r for r in bad.layers if r.layer == 3][0]
    assert row.blocks == (0, 2) and row.reads == (0, 2) and row.in_span is False


def test_span_check_alone_fails_on_polynomials_outside_the_span():
    """The span test does not use the weights: S*_3 replaced by x0 is outside span G*_2."""
    sym = symbolic_target(build_target(d=3, L=3, k_target=2, seed=3))
    from theorycheck.papers.bfc.symbolic import in_span
    assert in_span(sym.S[3], sym.G[2])
    assert not in_span([sym.ring.gens[0]], sym.G[2])
    assert in_span([sym.G[2][0].mul_ground(sp.QQ(3, 7)) - sym.G[2][1]], sym.G[2])


def test_issue_example_cancellation_two_equal_rows_and_row_1_minus_1():
    """Issue text: two equal rows in layer 2 and W*_3,2 = (1, -1): S*_3 vanishes identically."""
    from theorycheck.papers.bfc.target import BFCTarget
    T = build_target(d=3, L=3, k_target=[2, 1], seed=2)
    W = {key: np.array(v) for key, v in T.weights.items()}
    for j in (0, 1):
        W[(2, j)][1] = W[(2, j)][0]
    W[(3, 2)][:] = [[1.0, -1.0]]
    rep = verify_degrees(symbolic_target(BFCTarget(T.spec, W, T.alphas)))
    assert not rep.ok and rep.deg_G_star == 4
    assert rep.layers[1].deg_S == (float("-inf"),) and "-inf" in repr(rep)


def test_symbolic_build_and_degree_check_d6_L3_under_10s():
    t0 = time.perf_counter()
    T = build_target(d=6, L=3, k_target=2, connections="dense")
    rep = verify_degrees(symbolic_target(T))
    elapsed = time.perf_counter() - t0
    assert rep.ok
    assert elapsed < 10, f"d=6, L=3 symbolic build + degree verification took {elapsed:.1f}s"


def test_repr_and_latex_of_target():
    sym = symbolic_target(build_target(d=2, L=3, k_target=2))
    assert "degree 8" in repr(sym)
    assert sym._repr_latex_().startswith("$")
    table = energy_by_degree_table(sym)
    assert len(table.total) == 9 and "q" in repr(table)


# ------------------------------------------------------------------ information gap

def test_top_energy_scales_exactly_as_alpha_L_squared_and_degree4_dominated_by_alpha2():
    """Issue item 4c. Degree 8 = 2^L is reached by alpha_3 ||S*_3||^2 alone, so its energy is
    alpha_3^2 times a constant, exactly; degree 4 is carried by the alpha_2 term once the gap
    is wide (alpha_3 = d^-delta with delta = 2 at d = 4)."""
    base = build_target(d=4, L=3, k_target=2, seed=0)
    unit = energy_by_degree_table(symbolic_target(base.with_alphas([1.0, 1.0])))
    for a3 in (0.5, 0.0625, 0.001):
        tab = energy_by_degree_table(symbolic_target(base.with_alphas([1.0, a3])))
        a = sp.Rational(a3)
        assert tab.total[8] == a ** 2 * unit.total[8]  # exact rational identity
        assert tab.by_layer[2][8] == 0
    wide = energy_by_degree_table(symbolic_target(base.with_alphas([1.0, 4.0 ** -2])))
    share = float(wide.by_layer[2][4]) / float(wide.total[4])
    assert share > 0.5, share  # more than half of energy_4(G*), cross term included
    assert float(wide.by_layer[2][4]) > 5 * float(wide.by_layer[3][4])
    tiny = energy_by_degree_table(symbolic_target(base.with_alphas([1.0, 0.001])))
    assert float(tiny.by_layer[2][4]) / float(tiny.total[4]) > 0.99
    assert verify_gap(symbolic_target(base.with_alphas([1.0, 4.0 ** -2])), delta=2).ok
    sweep = alpha_sweep(base, [0.5, 0.0625, 0.001])
    assert all(sweep.exact_scaling) and "exactly" in sweep.footer()
    assert sweep.below_own[2] / sweep.below_total[2] > 0.99
    assert r"\begin{array}" in sweep._repr_latex_()
    # a violated gap (alpha_3 > alpha_2) is reported
    assert not verify_gap(symbolic_target(base.with_alphas([1.0, 2.0])), delta=0.25).ok


# ------------------------------------------------------------------ claims hold, and can fail

CLAIMS = [bfc_target.degree_bookkeeping, bfc_target.structure, bfc_target.energy_gap,
          bfc_target.parseval, bfc_target.mc_energy_agrees, bfc_target.numeric_agrees]


@pytest.mark.parametrize("c", CLAIMS, ids=lambda c: c.id)
def test_claim_holds(c):
    res = c.check(scale="quick", seed=0)
    assert res.verdict == "holds", describe_result(res)


@pytest.mark.parametrize("c, knobs", [
    (bfc_target.degree_bookkeeping, {"plant": True}),
    (bfc_target.structure, {"forbidden": True}),
    (bfc_target.energy_gap, {"ratio": 3.0}),
    (bfc_target.energy_gap, {"power": 1}),
    (bfc_target.parseval, {"factorial_weights": False}),
    (bfc_target.mc_energy_agrees, {"sampler_scale": 1.15, "n_samples": 20000}),
    (bfc_target.numeric_agrees, {"perturb": 1e-6}),
], ids=lambda v: v.id if hasattr(v, "id") else ",".join(f"{k}={x}" for k, x in v.items()))
def test_claim_fails_on_broken_variant(c, knobs):
    res = c.variant("broken", **knobs).check(scale="quick", seed=0)
    assert res.verdict == "fails", describe_result(res)
