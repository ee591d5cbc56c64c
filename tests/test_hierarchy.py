"""Label hierarchies (docs/theory.md §3.2): exact evaluation, PTF verification, degrees, bad input."""

from __future__ import annotations


import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from theorycheck.errors import SpecError
from theorycheck.papers.labels.hierarchies import (all_assignments, degree_report, generate, hierarchy, label,
                                   ptf_certificate, spectrum, teacher, verify_ptf, walsh,
                                   x_degree)


def small():
    return hierarchy(3, [
        label("y1_0", 1, ["x0", "x1"], {(0, 1): 1}),
        label("y1_1", 1, ["x0", "x1", "x2"], {(0,): 1, (1,): 1, (2,): 1}),
        label("y2_0", 2, ["y1_0", "y1_1", "x2"], {(0, 1): 2, (2,): 1}),
    ], K=2, M=2)


def test_exact_evaluation_on_all_inputs():
    h = small()
    X = all_assignments(3)
    Y = h.evaluate(X)
    for x, y in zip(X, Y):
        a = x[0] * x[1]
        b = np.sign(x.sum())
        c = np.sign(2 * a * b + x[2])
        assert tuple(y) == (a, b, c)


def test_sympy_display_matches_evaluation():
    h = small()
    y10, y11, x2 = sp.symbols("y1_0 y1_1 x2")
    assert h.sympy("y2_0") == sp.sign(2 * y10 * y11 + x2)
    assert "y2_0 = sign(" in h.display()
    X = all_assignments(3)
    Y = h.evaluate(X)
    expr = h.sympy("y2_0")
    for x, y in zip(X, Y):
        val = expr.subs({y10: y[0], y11: y[1], x2: x[2]})
        assert int(val) == int(y[2])


def test_monomials_are_multilinear_and_zeros_dropped():
    lab = label("y1_0", 1, ["x0", "x1"], [((0, 0, 1), 1), ((1,), 2), ((1,), -2)])
    assert lab.poly == (((1,), 1),)


def test_walsh_of_parity_and_reconstruction():
    A = all_assignments(4)
    c = walsh(A[:, 0] * A[:, 2])
    assert np.flatnonzero(np.abs(c) > 1e-12).tolist() == [0b0101]
    f = np.random.default_rng(0).choice([-1.0, 1.0], 16)
    chi = np.stack([np.prod(A[:, [j for j in range(4) if s >> j & 1]], axis=1)
                    for s in range(16)], 1)
    np.testing.assert_allclose(chi @ walsh(f), f, atol=1e-12)


def test_x_degree_detects_collapse():
    h = hierarchy(4, [
        label("y1_0", 1, ["x0", "x1"], {(0, 1): 1}),
        label("y1_1", 1, ["x1", "x0"], {(0, 1): 1}),
        label("y1_2", 1, ["x1", "x2"], {(0, 1): 1}),
        label("y2_0", 2, ["y1_0", "y1_1"], {(0, 1): 1}),
        label("y2_1", 2, ["y1_0", "y1_2"], {(0, 1): 1}),
    ], K=2, M=1)
    assert x_degree(h, "y2_0") == 0
    assert x_degree(h, "y2_1") == 2
    assert set(spectrum(h, "y2_1")["coeffs"]) == {(0, 2)}


def test_parity_hierarchy_degree_is_symmetric_difference():
    h = generate(16, 3, 6, seed=3)
    for lab in h.labels:
        sets = {}
        for l2 in h.labels:
            s = set()
            for p in l2.parents:
                s ^= {int(p[1:])} if p.startswith("x") else sets[p]
            sets[l2.name] = s
        assert x_degree(h, lab.name) == len(sets[lab.name])


def test_min_x_degree_prevents_collapse():
    h = generate(16, 3, 8, seed=0, min_x_degree=lambda lev: 2 * lev)
    for row in degree_report(h):
        assert row["x_degree"] >= 2 * row["level"]


@pytest.mark.parametrize("family,fan_in,wiring", [
    ("parity", 2, "random"), ("parity", 3, "tree"), ("majority", 3, "random"),
    ("majority", 5, "tree"), ("junta", 2, "random"), ("junta", 3, "random")])
def test_verifier_passes_on_generated_families(family, fan_in, wiring):
    h = generate(10, 3, 6, family=family, fan_in=fan_in, wiring=wiring, seed=1)
    rep = verify_ptf(h)
    assert all(r["ok"] for r in rep), rep
    assert all(r["certificate"] <= h.M for r in rep)


def test_verifier_fails_on_tied_label():
    h = hierarchy(3, [label("y1_0", 1, ["x0", "x1"], {(0,): 1, (1,): 1})], K=1, M=1)
    rep = verify_ptf(h)
    assert rep[0]["margin"] == 0 and not rep[0]["ok"]


def test_verifier_fails_on_corrupted_values():
    h = generate(8, 2, 4, seed=0)
    X = all_assignments(8)
    Y = h.evaluate(X)
    k = h.level(1)[0]
    outside = [i for i in range(8) if i not in h.support(h.names[k])][0]
    Y[:, k] *= X[:, outside]
    rep = verify_ptf(h, X, Y)
    assert not rep[k]["ok"] and rep[k]["certificate"] == np.inf


def test_integer_certificate_agrees_with_the_linear_program():
    """The label's own integer polynomial certifies every teacher label exactly; the LP's
    least bound (the opt-in audit) is never above the integer bound it replaces."""
    T = teacher(12, 2, 4, gate_fan_in=3, vote_size=3, seed=4)
    h = T.hierarchy(K=3, M=6)
    X = np.random.default_rng(1).choice([-1.0, 1.0], (600, 12))
    fast = verify_ptf(h, X, T.evaluate(X))
    audit = verify_ptf(h, X, T.evaluate(X), lp="always")
    assert all(r["ok"] and r["method"] == "integer" for r in fast)
    assert all(r["ok"] and r["method"] == "lp" for r in audit)
    for f, a in zip(fast, audit):
        assert f["certificate"] == f["bound"] and a["certificate"] <= f["certificate"] + 1e-7


def test_values_off_the_declared_polynomial_fall_back_to_the_linear_program():
    # declared maj(x0, x1, x2), but the values are x0: a function of the parents and a
    # (1, 1)-PTF, which only the LP can certify
    h = hierarchy(3, [label("y1_0", 1, ["x0", "x1", "x2"], {(0,): 1, (1,): 1, (2,): 1})],
                  K=1, M=1)
    X = all_assignments(3)
    rep = verify_ptf(h, X, X[:, :1])
    assert rep[0]["method"] == "lp" and rep[0]["ok"]
    assert rep[0]["certificate"] == pytest.approx(1.0)
    # not a function of its parents at all: no certificate, whatever the method
    rep = verify_ptf(h, np.vstack([X, X]), np.vstack([X[:, :1], -X[:, :1]]))
    assert rep[0]["method"] == "function" and rep[0]["certificate"] == np.inf
    assert not rep[0]["ok"]


def test_ptf_certificate_values():
    A = all_assignments(3)
    maj = np.sign(A.sum(1))
    assert ptf_certificate(A, maj, 1) == pytest.approx(1.0)
    assert ptf_certificate(A, maj, 3) == pytest.approx(0.5)  # maj3 = (a+b+c-abc)/2
    assert ptf_certificate(A[:, :2], A[:, 0] * A[:, 1], 1) == np.inf


def test_teacher_hierarchy_matches_circuit_and_verifies():
    T = teacher(16, 3, 8, seed=2)
    X = np.random.default_rng(0).choice([-1.0, 1.0], (2000, 16))
    h = T.hierarchy()
    np.testing.assert_array_equal(h.evaluate(X), T.evaluate(X))
    assert h.K == 3 and all(r["ok"] for r in verify_ptf(h, X, T.evaluate(X)))


def test_determinism_from_seed():
    a, b, c = generate(12, 3, 5, seed=7), generate(12, 3, 5, seed=7), generate(12, 3, 5, seed=8)
    assert a.labels == b.labels and a.labels != c.labels
    assert teacher(12, 2, seed=1) == teacher(12, 2, seed=1) != teacher(12, 2, seed=2)


@given(st.integers(0, 2**16), st.sampled_from(["parity", "majority", "junta"]))
def test_evaluate_is_sign_of_polynomial(seed, family):
    h = generate(8, 2, 3, family=family, fan_in=3, seed=seed)
    X = np.random.default_rng(seed).choice([-1.0, 1.0], (64, 8))
    Y = h.evaluate(X)
    for k, lab in enumerate(h.labels):
        P = np.stack([X[:, int(p[1:])] if p[0] == "x" else Y[:, h.column[p]]
                      for p in lab.parents], 1)
        vals = [sum(c * np.prod([row[j] for j in m]) for m, c in lab.poly) for row in P]
        assert np.array_equal(Y[:, k], np.where(np.array(vals) >= 0, 1.0, -1.0))


# ----------------------------------------------------------------------------- bad input

def _y(name, lev, parents, poly=None):
    return label(name, lev, parents, poly or {tuple(range(len(parents))): 1})


@pytest.mark.parametrize("labels,K,M,match", [
    ([_y("y1_0", 1, ["x0"]), _y("y2_0", 2, ["y2_1"]), _y("y2_1", 2, ["y2_0"])], 2, 1,
     r"label y2_\d depends on itself through the cycle"),
    ([_y("y1_0", 1, ["x0"]), _y("y2_0", 2, ["y3_0"]), _y("y3_0", 3, ["y1_0"])], 2, 1,
     r"label y2_0 \(level 2\) depends on y3_0 \(level 3\), a later level"),
    ([_y("y1_0", 1, ["x0"]), _y("y1_1", 1, ["x1"]), _y("y2_0", 2, ["y1_0"]),
      _y("y2_1", 2, ["y2_0"])], 2, 1, r"label y2_1 \(level 2\) depends on y2_0 .* same level"),
    ([_y("y1_0", 1, ["x0", "x1", "x2"])], 2, 1, r"label y1_0 has degree 3 > K=2"),
    ([_y("y1_0", 1, ["x0", "x1"], {(0,): 5, (1,): 1})], 2, 3,
     r"label y1_0 has a coefficient of size 5 > M=3"),
    ([_y("y1_0", 1, ["x0", "x7"])], 2, 1, r"label y1_0: parent 'x7' is neither an input"),
    ([_y("y1_0", 1, ["x0"]), _y("y1_0", 1, ["x1"])], 2, 1, r"label y1_0 is defined twice"),
    ([_y("y1_0", 1, ["x0"]), _y("y3_0", 3, ["y1_0"])], 2, 1, r"levels \[2\] have no labels"),
])
def test_bad_hierarchies_name_the_label(labels, K, M, match):
    with pytest.raises(SpecError, match=match):
        hierarchy(3, labels, K=K, M=M)


@pytest.mark.parametrize("K,M,match", [(0, 1, "K=0 is invalid"), (13, 1, "K=13 is invalid"),
                                       (1, 0, "M=0 is invalid")])
def test_degree_and_bound_out_of_range(K, M, match):
    with pytest.raises(SpecError, match=match):
        hierarchy(3, [_y("y1_0", 1, ["x0"])], K=K, M=M)


def test_d_too_small_for_juntas_names_the_label():
    with pytest.raises(SpecError, match=r"label y1_0 needs 3 distinct parents .* d=2"):
        generate(2, 2, 4, family="junta", fan_in=3)
    with pytest.raises(SpecError,
                       match=r"label y2_0 needs 3 distinct parents .* 2 labels at level 1"):
        generate(8, 2, [2, 2], family="junta", fan_in=3)
    with pytest.raises(SpecError, match=r"label y1_0 needs gates of 3 distinct parents"):
        teacher(2, 2, gate_fan_in=3)


def test_generator_bad_options():
    with pytest.raises(SpecError, match="even vote can tie"):
        generate(8, 2, 4, family="majority", fan_in=2)
    with pytest.raises(SpecError, match="family='tree' is invalid"):
        generate(8, 2, 4, family="tree")
    with pytest.raises(SpecError, match=r"label y1_0 has degree 2 > K=1"):
        generate(8, 2, 4, family="parity", fan_in=2, K=1)
    with pytest.raises(SpecError, match="entries other than ±1"):
        small().evaluate(np.zeros((2, 3)))


def test_cli_show_and_bad_input(capsys):
    from theorycheck.commands.main import main
    assert main(["labels", "show", "--d", "6", "--r", "2", "--per-level", "3"]) == 0
    out = capsys.readouterr().out
    assert "y2_0 = sign(" in out and "6/6 labels verified" in out
    assert main(["labels", "show", "--d", "2", "--family", "junta", "--fan-in", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "label y1_0 needs 3 distinct parents" in err[0]
    assert main(["labels", "study", "--r", "1", "--set", "nope=1"]) == 2
    assert "--set 'nope=1' is invalid" in capsys.readouterr().err
