"""The every-kernel lower bound of docs/theory.md §1.7.4 (theorycheck.papers.bfc.span_lemma)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from theorycheck.errors import SpecError
from theorycheck.papers.bfc.span_lemma import (bound_exponent, degree_q_sections, dim_q,
                                               every_kernel_bound)


@pytest.fixture(scope="module")
def b63():
    return every_kernel_bound(6, 3)


def test_bound_is_total_energy_at_zero_and_monotone(b63):
    assert b63.method == "exact"
    assert b63(0) == pytest.approx(b63.total) and b63.total == pytest.approx(b63.energies.sum())
    Ns = np.linspace(0, b63.dims.max() * 1.1, 400)
    vals = np.array([b63(N) for N in Ns])
    assert np.all(np.diff(vals) <= 1e-12) and np.all(vals >= 0) and vals[-1] == 0.0
    # the top term alone is the normaliser: its energy sum_{q >= 1} is 1, and G* has more
    assert b63.total > 1.0


def test_shared_bound_is_sharper_and_monotone(b63):
    sh = every_kernel_bound(6, 3, shared=True)
    assert sh(0) == pytest.approx(b63(0))
    prev = math.inf
    for N in np.linspace(0, sh.dims.max(), 200):
        assert sh(N) >= b63(N) - 1e-12 and sh(N) <= prev + 1e-12
        prev = sh(N)


def test_n_required_inverts_the_bound(b63):
    for eps in (0.5, 0.1, 0.01):
        n = b63.n_required(eps)
        assert b63(n) == pytest.approx(eps, rel=1e-6)
        assert b63(0.99 * n) > eps
    assert b63.n_required(10.0) == 0.0


def test_capped_degree_drops_the_top_energies():
    b = every_kernel_bound(6, 3, max_degree=4)
    full = every_kernel_bound(6, 3)
    assert np.all(b.energies[5:] == 0) and np.allclose(b.energies[:5], full.energies[:5])


def test_exponent_grows_with_depth_on_small_dimensions():
    e2, _ = bound_exponent((6, 8, 10), 2, 0.1)
    e3, _ = bound_exponent((6, 8, 10), 3, 0.1)
    assert e3 > e2 + 0.5
    with pytest.raises(SpecError, match="two dimensions"):
        bound_exponent((6,), 2, 0.1)


def test_monte_carlo_energies_agree_with_exact_within_error_bars():
    ex = every_kernel_bound(4, 2)
    mc = every_kernel_bound(4, 2, exact_max_d=0, n_mc=100_000)
    assert mc.method == "mc" and ex.method == "exact"
    for N in (0, 3, 10, 30):
        assert abs(mc(N) - ex(N)) <= 4 * mc.error_bar(N) + 1e-9, (N, mc(N), ex(N), mc.error_bar(N))


def _random_direction(rng, D, energy):
    u = rng.standard_normal(D)
    return u * math.sqrt(energy) / np.linalg.norm(u)


def test_bound_against_a_direct_span_experiment():
    """d = 3, L = 2: the polynomial kernel (1 + <x, y>/d)^4 has H inside the degree <= 4 chaos,
    so the least error over H of a target whose degree-q component is a uniformly random
    direction of energy e_q is computed exactly; its Monte Carlo mean over inputs and directions
    agrees with the exact expectation for each H and lies above both bounds."""
    d, L, N = 3, 2, 6
    b = every_kernel_bound(d, L)
    sh = every_kernel_bound(d, L, shared=True)
    rng = np.random.default_rng(0)
    dims = [dim_q(d, q) for q in range(2 ** L + 1)]
    res, exact = [], []
    for _ in range(60):
        X = rng.standard_normal((N, d))
        C = np.concatenate([degree_q_sections("poly", X, q, degree=4) for q in range(2 ** L + 1)], axis=1)
        _, s, Vt = np.linalg.svd(C, full_matrices=False)
        Q = Vt[s > s[0] * 1e-10].T                       # orthonormal basis of H's coefficients
        P = Q @ Q.T
        off = np.cumsum([0] + dims)
        exact.append(sum(b.energies[q] * (1 - np.trace(P[off[q]:off[q + 1], off[q]:off[q + 1]]) / dims[q])
                         for q in range(len(dims))))
        for _ in range(50):
            f = np.concatenate([_random_direction(rng, D, e) for D, e in zip(dims, b.energies)])
            res.append(float(f @ f - (f @ Q) @ (Q.T @ f)))
    res = np.array(res)
    mean, se = res.mean(), res.std(ddof=1) / math.sqrt(res.size)
    assert abs(mean - np.mean(exact)) <= 4 * se, (mean, np.mean(exact), se)
    assert min(exact) >= sh(N) - 1e-9 >= b(N) - 1e-9
    assert mean >= sh(N) - 4 * se
