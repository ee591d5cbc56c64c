"""The Gaussian-moment claims hold, and their broken variants fail."""

from __future__ import annotations

from theorycheck.proofs.gaussian_moments import double_factorial_moments, mc_agrees_with_exact
from theorycheck.claims.engine import describe_result


def test_double_factorial_holds():
    res = double_factorial_moments.check()
    assert res.verdict == "holds", describe_result(res)


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
