"""REPL and notebook citizenship: short reprs and HTML/LaTeX displays of the result objects,
LaTeX with readable symbol names, the whole polynomial from ``target --latex``, and plotting
that never picks a matplotlib backend and returns Figures."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from theorycheck._display import REPR_LIMIT
from theorycheck.claims.engine import Measurement, claim
from theorycheck.claims.report import Report
from theorycheck.papers.bfc.learner import init_learner, learner_spec
from theorycheck.papers.bfc.symbolic import symbolic_target
from theorycheck.papers.bfc.target import build_target
from theorycheck.runs.store import Store


def _short(text: str, lines: int = 1, limit: int = REPR_LIMIT) -> str:
    assert len(text.splitlines()) <= lines, text
    assert all(len(ln) <= limit for ln in text.splitlines()), text
    assert "array([" not in text and "\n  [" not in text  # no array dumps
    return text


def test_bfc_target_repr_is_one_line_of_sizes():
    t = build_target(d=16, L=3, k_target=2)
    assert repr(t) == ("BFCTarget(d=16, L=3, widths=(2, 2), alphas=(1.0, 0.5), "
                       "dist='gaussian', seed=0)")
    big = build_target(d=64, L=4, k_target=[8, 4, 2], alphas=[1.0, 0.123456789, 0.01])
    _short(repr(big))
    assert "alphas=(1.0, 0.1235, 0.01)" in repr(big)
    html = big._repr_html_()
    assert "W*_3,2: 4x8" in html and "<table" in html and len(html) < 4000


def test_symbolic_target_latex_names_and_printing_protocol():
    sym = symbolic_target(build_target(d=3, L=3, k_target=2))
    _short(repr(sym), lines=2 + sym.spec.L)
    names = sym.latex_names()
    assert names[sp.Symbol("G2_0")] == "G_{2,0}" and names[sp.Symbol("G1_2")] == "G_{1,2}"
    text = sym.latex(sym.abstract[3][0], digits=3)
    assert "G_{2,0}" in text and "G_{2,1}" in text and "G_{2 0}" not in text
    assert sp.latex(sp.Symbol("G2_0")) == "G_{2 0}"  # why the names are needed
    block = sp.latex(sym)  # sympy's printing protocol: SymbolicTarget._latex
    assert block.startswith(r"\begin{aligned}") and r"S^*_{3}" in block
    assert sym._repr_latex_() == f"${block}$"
    full = sym.latex()
    assert full.count("x_{0}") > 0 and len(sp.Add.make_args(sym.expr())) == len(sym.G_star.terms())


def test_learner_params_repr_has_counts_not_weights():
    p = init_learner(learner_spec(64, 4, k=4, tied=False))
    text = _short(repr(p))
    assert text.startswith("LearnerParams(d=64, L=4, k=(4, 4, 4)")
    assert f"theta: {p.theta.size} float64" in text
    html = p._repr_html_()
    assert "<table" in html and "K_l" in html and len(html) < 4000


def test_train_result_repr():
    from theorycheck.papers.bfc.training import train
    res = train(d=4, L=2, steps=10, batch=8, n_test=100, eval_points=3)
    text = _short(repr(res))
    assert text.startswith("TrainResult(mode='e2e', d=4, L=2, steps=(10,), 3 curve rows, final rel_loss=")
    assert "final_rel_loss" in res._repr_html_()


def _claims():
    ok = claim(id="disp.ok", statement="x <= 1", paper="-", tag="M", ref="-",
               instances=[0, 1])(lambda x: Measurement(x, 1))
    big = claim(id="disp.big", statement="sum <= 1", paper="-", tag="A", ref="docs/theory.md §0.2",
                instances=[np.arange(1000.0)])(lambda x: Measurement(float(x.sum()), 1))
    boom = claim(id="disp.boom", statement="never", paper="-", tag="R", ref="-",
                 instances=[0])(lambda x: Measurement(1 / x, 1))
    return ok, big, boom


def test_claim_and_claim_result_reprs():
    ok, big, boom = _claims()
    assert repr(ok) == "Claim('disp.ok' [M] -: x <= 1)"
    res = big.check()
    text = _short(repr(res))
    assert text.startswith("ClaimResult('disp.big', fails, 1 instances, worst ratio 4.995e+05")
    assert text.endswith("counterexample=array(1000,) float64)")
    err = _short(repr(boom.check()))
    assert err.startswith("ClaimResult('disp.boom', error, 1 instances")
    assert "ZeroDivisionError" in err and err.endswith("on instance 0)") and "Traceback" not in err
    html = res._repr_html_()
    assert "color:red" in html and "<pre>" in html and "docs/theory.md §0.2" in html


def test_report_repr_lists_what_does_not_hold():
    ok, big, boom = _claims()
    rep = Report.run([ok, big, boom, ok.variant("again")])
    text = repr(rep)
    _short(text, lines=1 + Report.REPR_ROWS + 1)
    assert text.splitlines()[0] == ("Report(4 claims, scale quick, seed 0: 2 holds, 1 fails, "
                                    "0 inconclusive, 1 error)")
    assert re.search(r"fails +disp\.big: counterexample array\(1000,\) float64", text)
    assert re.search(r"error +disp\.boom: .*ZeroDivisionError.* on instance 0", text)
    assert len(rep) == 4 and rep[0].claim_id == "disp.ok" and isinstance(rep[1:], Report)
    html = rep._repr_html_()
    assert html.count("<tr>") == 5 and "disp.boom" in html
    assert "| `disp.big` |" in rep.to_markdown()
    many = Report([big.check()] * 9)
    assert "... and 4 more that do not hold" in repr(many)


def test_store_and_stored_run_reprs(tmp_path):
    with Store(tmp_path / "r.sqlite") as st:
        assert repr(st) == f"Store({str(tmp_path / 'r.sqlite')!r}, 0 runs)"
        st.ensure([("walk", {"n": 3, "values": list(range(500))}, s) for s in range(3)])
        assert repr(st).endswith(", 3 runs: 3 queued)")
        runs = st.runs()
        text = _short(repr(runs[0]))
        assert text.startswith("StoredRun(walk ") and "seed 0, queued, config n=3 (+1 keys)" in text
        assert runs[0] == dict(runs[0]) and runs[0]["config"]["n"] == 3  # still a dict
        assert "config.n" in runs[0]._repr_html_()
        assert "<td style='text-align:left'>walk</td>" in st._repr_html_()
    assert repr(st).endswith("closed)")


def test_target_latex_prints_every_term(capsys):
    from theorycheck.commands.main import main
    assert main(["target", "--d", "4", "--L", "3", "--latex"]) == 0
    out = capsys.readouterr().out
    comment = next(ln for ln in out.splitlines() if ln.startswith("% G*(x)"))
    n = int(re.search(r"all (\d+) terms", comment).group(1))
    assert n == 321
    poly = next(ln for ln in out.splitlines() if ln.startswith("$G^*(x) = "))
    body = poly[len("$G^*(x) = "):-1]
    assert body.count(" + ") + body.count(" - ") + (0 if body.startswith("-") else 1) == n


def test_target_text_says_what_it_omits(capsys):
    from theorycheck.commands.main import main
    assert main(["target", "--d", "4", "--L", "3"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\(\+281 more terms, of degree 0 to \d, not shown; --latex prints every term\)",
                     out)


_FIGURES = """
import sys, matplotlib
matplotlib.use({backend!r})
before = matplotlib.get_backend()
import numpy as np
from theorycheck.papers.bfc.plots import loss_figure, feature_error_figure
from theorycheck.papers.bfc.kernel_figures import scaling_figure
from theorycheck.papers.three_layer.figures import plot_ladder, plot_matched_n
from theorycheck.papers.labels.depth_gap import error_per_block_figure, top_error_figure
rows = [{{"step": s, "stage": 2 + (s > 10), "rel_loss": 1 / s, "err_lin_2": 1 / s}} for s in (1, 10, 100)]
res = [{{"r": 2, "seed": s, "after_block": [[0.1, 0.4], [0.1, 0.2]],
         "top": {{"layerwise": 0.2, "kernel": 0.4}}, "seconds": {{"layerwise": 1.0, "kernel": 1.0}}}}
       for s in (0, 1)]
cells = [{{"L": 2, "d": 4, "learner": "ntk", "n": n, "rel_mse": 1 / n}} for n in (10, 100)]
arr = np.array([[0.5, 0.4], [0.6, 0.3]])
figs = [loss_figure({{"a": rows}}), feature_error_figure({{"a": rows, "b": rows}}),
        scaling_figure({{"eps": 0.5, "cells": cells}}),
        plot_ladder({{"abs": (arr, arr)}}, [100, 200], 4), plot_matched_n({{"a": arr}}, [100, 200], 4),
        error_per_block_figure(res), top_error_figure(res)]
assert all(type(f).__name__ == "Figure" for f in figs), figs
assert matplotlib.get_backend() == before, (before, matplotlib.get_backend())
assert "matplotlib.pyplot" not in sys.modules
print("OK", before)
"""


@pytest.mark.parametrize("backend", ["svg", "pdf"])
def test_plotting_keeps_the_callers_backend_and_pyplot_out(backend):
    out = subprocess.run([sys.executable, "-c", _FIGURES.format(backend=backend)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["OK", backend]


def test_plotting_draws_into_the_callers_axes_and_backend_is_unchanged():
    import matplotlib
    from matplotlib.figure import Figure

    from theorycheck.papers.bfc.plots import feature_error_figure, loss_figure
    from theorycheck.papers.three_layer.figures import plot_ladder
    before = matplotlib.get_backend()
    rows = [{"step": s, "stage": 2, "rel_loss": 1 / s, "err_lin_2": 1 / s} for s in (1, 10)]
    fig = Figure()
    ax = fig.add_subplot(1, 2, 1)
    assert loss_figure({"a": rows}, ax=ax) is fig and len(ax.lines) >= 2
    mine = Figure()
    assert feature_error_figure({"a": rows}, fig=mine) is mine and len(mine.axes) == 1
    arr = np.array([[0.5, 0.4], [0.6, 0.3]])
    two = Figure()
    assert plot_ladder({"abs": (arr, arr)}, [100, 200], 4, fig=two) is two and len(two.axes) == 2
    from theorycheck.plotting import subplots
    with pytest.raises(ValueError, match="pass fig="):
        subplots(ax, ncols=2)
    assert matplotlib.get_backend() == before
