"""The Gaussian-moment claims hold, and their broken variants fail."""

from __future__ import annotations

from theorycheck.proofs.gaussian_moments import double_factorial_moments, mc_agrees_with_exact
from theorycheck.claims.engine import describe_result


def test_double_factorial_holds():
    res = double_factorial_moments.check()
    assert res.verdict == "holds", describe_result(res)


def test_double_factorial_holds_at_full_scale():
    """n up to 40: odd moments are sums of terms up to 5e22 cancelling to 0; the allowance
    scales with those terms (an absolute 1e-12 failed here from n = 17 on)."""
    res = double_factorial_moments.check(scale="full")
    assert res.verdict == "holds", describe_result(res)
    assert res.instances == 41 and res.worst_ratio < 0.5


def test_double_factorial_allowance_is_rounding_sized():
    """The allowance is a few ulps of the terms' size: a claimed odd moment off by 1e-10 of
    that size fails, at every odd n the full scale checks."""
    from theorycheck.maths.gaussian import gaussian_moment
    from theorycheck.claims.engine import evaluate
    import numpy as np

    for n in range(3, 41, 2):
        x, w = np.polynomial.hermite_e.hermegauss(n // 2 + 1)
        size = float(np.sum(w * np.abs(x) ** n) / np.sqrt(2 * np.pi))
        off = double_factorial_moments.variant("off", moment=lambda k: gaussian_moment(k) + 1e-10 * size)
        (m,) = evaluate(off, n)
        assert m.verdict(off.z) == "fails", (n, m)


def test_double_factorial_wrong_moment_fails():
    wrong = double_factorial_moments.variant("2^n", moment=lambda n: 0 if n % 2 else 2 ** (n // 2))
    res = wrong.check()
    assert res.verdict == "fails"
    assert res.counterexample == 2  # the first moment where 2^(n/2) != (n-1)!!


def test_mc_agreement_holds():
    res = mc_agrees_with_exact.check()
    assert res.verdict == "holds", describe_result(res)


def test_biased_mc_estimator_fails_with_a_small_counterexample():
    res = mc_agrees_with_exact.variant("biased", sampler_scale=1.1).check()
    assert res.verdict == "fails", describe_result(res)
    d, terms = res.counterexample
    assert len(terms) == 1 and sum(terms[0][1]) == 2  # shrunk to a single quadratic monomial
