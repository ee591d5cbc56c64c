"""Tolerances that follow the numerics: the helpers of theorycheck.tolerance, tolerances given
as functions of the instance, and the example of docs/lemmas.md (a true lemma that a naive
tolerance flags and the right one clears)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st

from theorycheck import lemma
from theorycheck import tolerance as tol

DOCS = Path(__file__).resolve().parents[1] / "docs" / "lemmas.md"


def test_helpers_give_the_textbook_bounds():
    eps, u = np.finfo(float).eps, np.finfo(float).eps / 2
    assert tol.backward_stable(4, 1e6) == pytest.approx(8 * 4 * eps * 1e6)
    assert tol.backward_stable(4, 0.5) == tol.backward_stable(4, 1.0)   # kappa >= 1
    assert tol.backward_stable(3, math.inf) == math.inf
    assert tol.summation([1.0, -1.0, 1e-3]) == pytest.approx(2 * 3 * u * 2.001)
    assert tol.summation([]) == 0.0
    assert tol.gamma(10) == pytest.approx(10 * u / (1 - 10 * u))
    assert tol.gamma(1e17) == math.inf
    A = np.array([[1.0, -2.0], [3.0, 4.0]])
    assert tol.matmul(A, A).shape == (2, 2) and np.all(tol.matmul(A, A) > 0)
    assert tol.symmetric_eigenvalues(np.eye(3)) == pytest.approx(8 * 3 * eps)
    with pytest.raises(ValueError, match="kappa"):
        tol.backward_stable(3, -1.0)
    with pytest.raises(ValueError, match="safety factor"):
        tol.summation([1.0], k=0)


def test_the_helpers_bound_the_rounding_they_describe():
    rng = np.random.default_rng(0)
    for _ in range(200):
        t = rng.standard_normal(50) * 10.0 ** rng.uniform(-5, 5, 50)
        exact = math.fsum(t)
        assert abs(float(np.sum(t)) - exact) <= tol.summation(t)
        A = rng.standard_normal((6, 6))
        x = rng.standard_normal(6)
        err = np.linalg.norm(np.linalg.solve(A, A @ x) - x) / np.linalg.norm(x)
        assert err <= tol.backward_stable(6, np.linalg.cond(A))


def test_a_tolerance_may_be_a_function_of_the_instance():
    @lemma(id="t.fn_tol", instances=st.floats(1.0, 2.0), relation="==",
           rtol=lambda x: 1e-3 * x)
    def near(x):
        return x * (1 + 1e-4), x
    res = near.check()
    assert res.verdict == "holds" and "rtol=<lambda>" in near.statement

    @lemma(id="t.arr_tol", instances=st.just(np.array([1.0, 100.0])), relation="==",
           atol=lambda v: np.array([1e-3, 1.0]))
    def entrywise(v):
        return v + np.array([5e-4, 0.5]), v
    assert entrywise.check().verdict == "holds"


def test_a_bad_tolerance_function_is_an_error_row():
    @lemma(id="t.neg_tol", instances=st.just(1.0), atol=lambda x: -1.0)
    def neg(x):
        return x, x
    res = neg.check()
    assert res.verdict == "error" and "not a finite non-negative tolerance" in res.reason

    @lemma(id="t.shape_tol", instances=st.just(np.ones(3)), atol=lambda v: np.ones(2))
    def shape(v):
        return v, v
    assert shape.check().verdict == "error"


def _docs_example() -> str:
    text = DOCS.read_text()
    section = text.split("### Tolerances that follow the numerics", 1)[1]
    return re.findall(r"```python\n(.*?)```", section, re.S)[0]


def test_the_docs_example_naive_tolerance_flags_and_the_right_one_clears():
    ns: dict = {}
    exec(_docs_example().replace("print(", "(lambda *a: None)("), ns)
    assert ns["naive"].check(seed=0).verdict == "fails"
    res = ns["right"].check(seed=0)
    assert res.verdict == "holds", res.worst
    assert res.optimiser["evaluations"] > 0                # the optimiser searched it too
