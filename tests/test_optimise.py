"""The optimiser phase (theorycheck/claims/optimise.py): which leaves it may move, that it
stays in their domain, that its violations are re-verified, simplified and reported with a
reproducer that replays the exact arrays, and that it can be switched off."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from theorycheck import ClaimError, Measurement, claim, grid, lemma
from theorycheck.claims import optimise as opt
from theorycheck.claims.lemmas import replay_arrays, save_counterexample
from theorycheck.commands.main import main
from theorycheck.strategies import REAL, gaussian_matrices, orthogonal_matrices, symmetric_matrices, with_domains


def _draws(strategy, n=8):
    """Instances drawn from ``strategy`` by hypothesis (a few)."""
    out = []

    @settings(max_examples=n, database=None, suppress_health_check=list(HealthCheck), deadline=None)
    @given(strategy)
    def t(x):
        out.append(x)
    t()
    return out


def square(lo, hi, n=(1, 5)):
    return st.integers(*n).flatmap(
        lambda k: arrays(np.float64, (k, k), elements=st.floats(lo, hi, allow_nan=False)))


# ---------------------------------------------------------------------------- the domains


def test_annotate_reads_boxes_through_flatmap_and_tuples_and_leaves_ints_fixed():
    reg = opt.Registry()
    s = st.integers(1, 3).flatmap(lambda k: st.tuples(
        arrays(np.float64, (k, k), elements=st.floats(-2.0, 3.0)), st.floats(0.0, 1.0), st.integers(0, 5)))
    for inst in _draws(opt.annotate(s, reg)):
        lv = {lf.path: lf for lf in opt.leaves(inst, reg)}
        assert set(lv) == {(0,), (1,)}                       # the int is fixed
        assert (lv[(0,)].info.lo, lv[(0,)].info.hi) == (-2.0, 3.0)
        assert (lv[(1,)].info.lo, lv[(1,)].info.hi) == (0.0, 1.0)


def test_unbounded_floats_take_their_box_from_the_instance():
    reg = opt.Registry()
    s = arrays(np.float64, 3, elements=st.floats(0.0, None, allow_infinity=False))
    inst = np.array([0.5, 2.0, 0.0])
    opt.annotate(s, reg)                                    # registers nothing by itself
    reg.tagger(opt.LeafInfo("box", 0.0, None))(inst)
    (leaf,) = opt.leaves(inst, reg)
    assert (leaf.lo, leaf.hi) == (0.0, 4.0)                 # twice the largest entry


def test_structured_strategies_keep_their_domain_inside_tuples():
    reg = opt.Registry()
    for A, B in _draws(opt.annotate(st.tuples(symmetric_matrices((2, 3)), gaussian_matrices(2)), reg)):
        kinds = {lf.path: lf.info.kind for lf in opt.leaves((A, B), reg)}
        assert kinds == {(0,): "domain", (1,): "domain"}


def test_composite_values_are_fixed_unless_declared():
    @st.composite
    def pair(draw):
        x = draw(st.floats(-1, 1))
        return {"W": np.array([[x, 1.0]]), "k": 1}
    reg = opt.Registry()
    inst = _draws(opt.annotate(pair(), reg), 1)[0]
    assert opt.leaves(inst, reg) == []
    reg = opt.Registry()
    inst = _draws(opt.annotate(with_domains(pair(), W=REAL), reg), 1)[0]
    (leaf,) = opt.leaves(inst, reg)
    assert leaf.path == ("W",) and leaf.info.kind == "box"


def test_with_domains_refuses_a_bad_domain():
    with pytest.raises(Exception, match="not a domain"):
        with_domains(st.just({}), W="real")
    with pytest.raises(Exception, match="names no leaf"):
        with_domains(st.just({}))


def test_synthesised_starts_cover_the_sizes_the_search_missed():
    reg = opt.Registry()
    s = square(-1.0, 1.0)
    seen = {opt.signature(np.zeros((1, 1)))}
    got = opt.synthesise(s, reg, seen)
    assert sorted(a.shape for a in got) == [(2, 2), (3, 3), (4, 4), (5, 5)]
    assert all(np.all(np.abs(a) <= 1.0) and opt.leaves(a, reg) for a in got)


# ------------------------------------------------------------------------ the search


def det_lemma(**kw):
    """|det A| <= 8 on [-1, 1]^(4 x 4): false (a Hadamard matrix has det 16), and no draw of
    a short hypothesis search is near it."""
    @lemma(id="t.det4", instances=st.just(4).flatmap(
        lambda k: arrays(np.float64, (k, k), elements=st.floats(-1.0, 1.0))), **kw)
    def det4(A):
        return abs(np.linalg.det(A)), 8.0 * (1 + 1e-9)
    return det4


def test_the_optimiser_catches_what_the_search_missed_and_simplifies_it():
    c = det_lemma()
    plain = c.check(seed=0, optimise=False)
    res = c.check(seed=0)
    assert res.verdict == "fails", res.optimiser
    if plain.verdict == "holds":
        assert res.found_by == "optimiser"
        assert res.optimiser["evaluations"] > 0
    A = res.counterexample
    assert A.shape == (4, 4) and np.all(np.abs(A) <= 1.0)        # inside the box
    assert abs(np.linalg.det(A)) > 8.0                           # re-measured: a violation
    if res.found_by == "optimiser":
        assert set(np.unique(A)) <= {-1.0, 0.0, 1.0}             # simplified to sign values
        assert res.optimiser["simplified"]
    assert res.reproducer and "reproduce(" in res.reproducer


def test_optimise_false_and_grid_claims_run_no_optimiser():
    assert det_lemma().check(seed=0, optimise=False).optimiser is None

    @claim(id="t.grid", statement="x <= 1", paper="-", tag="M", ref="-", instances=grid(x=[0.5, 1.0]))
    def g(inst):
        return Measurement(inst["x"], 1.0)
    res = g.check()
    assert res.verdict == "holds" and res.optimiser is None and res.worst["found_by"] == "grid"


def test_monte_carlo_claims_skip_the_optimiser():
    @claim(id="t.mc", statement="mean <= 1", paper="-", tag="M", ref="-",
           instances=st.floats(0.0, 0.5))
    def mc(x):
        return Measurement(x, 1.0, stderr=0.01)
    res = mc.check()
    assert res.verdict == "holds" and "Monte Carlo" in res.optimiser["skipped"]


def test_the_optimiser_stays_in_structured_domains():
    """True statements about the domain itself hold however hard the optimiser pushes."""
    @lemma(id="t.sym", instances=symmetric_matrices((2, 4), bound=1.0))
    def sym(A):
        return max(np.abs(A - A.T).max(), np.abs(A).max() - 1.0), 1e-12

    @lemma(id="t.orth", instances=orthogonal_matrices((2, 4)))
    def orth(Q):
        return np.abs(Q.T @ Q - np.eye(len(Q))).max(), 1e-10

    for c in (sym, orth):
        res = c.check(seed=1, optimise=300)
        assert res.verdict == "holds", res.worst
        assert res.optimiser["evaluations"] > 0


def test_budget_is_validated_and_per_scale():
    with pytest.raises(ClaimError, match="optimise"):
        det_lemma(optimise=0)
    c = det_lemma(optimise={"quick": 10})
    assert c.optimise_budget("quick") == 10 and c.optimise_budget("full") == 10
    assert det_lemma(optimise=False).optimise_budget("quick") == 0
    res = det_lemma(optimise={"quick": 10}).check(seed=3)
    assert res.optimiser is None or res.optimiser["evaluations"] <= 10 + opt.SIMPLIFY_EVALS
    with pytest.raises(ClaimError, match="optimise"):
        det_lemma().check(optimise=-1)


def test_found_by_names_the_hypothesis_phase():
    @lemma(id="t.easy", instances=st.floats(0.0, 10.0))
    def easy(x):
        return x, 1.0
    res = easy.check()
    assert res.verdict == "fails" and res.found_by in ("random", "targeted")
    assert json.loads(json.dumps(res.to_dict()))["found_by"] == res.found_by


def test_simplify_drops_rows_and_rounds():
    A = np.array([[0.9999, 0.31], [0.0012, -2.0004]])
    info = opt.LeafInfo("box", -3.0, 3.0)
    leaves = [opt._leaf((), A, info)]
    out, used = opt.simplify(A, leaves, lambda M: np.abs(M).max() > 1.5,
                             shapes_ok=lambda M: True)
    assert out.shape == (1, 1) and float(out[0, 0]) == -2.0 and used > 0


# ---------------------------------------------------------------------- reproducers


def test_saved_reproducer_replays_the_exact_arrays(tmp_path):
    src = tmp_path / "f32_claims.py"
    src.write_text(textwrap.dedent('''
        import numpy as np
        from hypothesis import strategies as st
        from theorycheck import lemma

        @lemma(id="mine.f32", instances=st.just(np.array([0.1, 1 / 3], dtype=np.float32)))
        def f32(x):
            return float(x.astype(np.float64).sum()), 0.4
    '''))
    from theorycheck import find_claim
    res = find_claim("mine.f32", str(src)).check()
    assert res.verdict == "fails"
    py = save_counterexample(res, tmp_path / "cex", str(src))
    back = replay_arrays(np.zeros(2), py.with_suffix(".npz"))
    assert back.dtype == np.float32 and np.array_equal(back, res.counterexample)
    assert "replay_arrays" in py.read_text()
    out = subprocess.run([sys.executable, str(py)], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "verdict: fails" in out.stdout


# ------------------------------------------------------------------------------- CLI


def test_check_cli_switches_the_optimiser_off(tmp_path, capsys):
    folder = tmp_path / "claims"
    folder.mkdir()
    (folder / "det.py").write_text(textwrap.dedent('''
        import numpy as np
        from hypothesis import strategies as st
        from hypothesis.extra.numpy import arrays
        from theorycheck import lemma

        @lemma(id="cli.det4", instances=st.just(4).flatmap(
            lambda k: arrays(np.float64, (k, k), elements=st.floats(-1.0, 1.0))))
        def det4(A):
            return abs(np.linalg.det(A)), 8.0 * (1 + 1e-9)
    '''))
    out = tmp_path / "r"
    code_off = main(["check", str(folder), "--no-optimise", "--out", str(out), "--no-example-db"])
    off = json.loads((out / "report.json").read_text())["claims"][0]
    assert off["optimiser"] is None
    code_on = main(["check", str(folder), "--out", str(out), "--no-example-db"])
    on = json.loads((out / "report.json").read_text())["claims"][0]
    assert code_on == 1 and on["verdict"] == "fails"
    if code_off == 0:
        assert on["found_by"] == "optimiser" and "found by optimiser" in capsys.readouterr().out
    assert main(["check", str(folder), "--optimise-evals", "0", "--out", str(out)]) == 2
