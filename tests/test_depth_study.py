"""The depth study (theorycheck.papers.bfc.depth_study, docs/theory.md §1.7.4): the budget rule,
the ``bfc-depth`` run kind through the store, the tables and the headline figure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from theorycheck.errors import SpecError
from theorycheck.papers.bfc.depth_study import (BFC_DEPTH, budget_rule, curve_table, depth_rows,
                                                format_depth_table, monotone_within_spread,
                                                records_from_store)


def test_budget_rule_is_linear_in_d_per_stage_and_untruncated():
    for d in (4, 8, 12):
        for L in (2, 3, 4):
            r = budget_rule(d, L)
            assert r["steps"] == (200 * d,) + (1500 * d,) * (L - 2)
            assert r["B"] == math.inf and r["schedule"] == "cosine"
    assert budget_rule(8, 3, scale=0.5)["steps"] == (800, 6000)
    with pytest.raises(SpecError, match="scale"):
        budget_rule(8, 3, scale=0)


def test_depth_kind_runs_through_the_store_and_is_read_back(tmp_path):
    from theorycheck.runs.kinds import run_once
    store = tmp_path / "s.sqlite"
    for N in (32, 64):
        run_once("bfc-depth", {"d": 4, "L": 3, "N": N, "steps_scale": 0.02, "n_test": 200}, 1, store)
    with pytest.raises(SpecError, match="steps_scale|unknown"):
        BFC_DEPTH.parse({"d": 4, "budget": 2})
    assert records_from_store(store) == []          # the rule's own budget only
    from theorycheck.runs.store import Store
    with Store(store, create=False) as st:
        runs = st.runs(kind="bfc-depth", status="done")
    assert len(runs) == 2 and all(math.isfinite(r["summary"]["final_rel_loss"]) for r in runs)
    assert {r["config"]["steps_scale"] for r in runs} == {0.02}


def _records(slope_by_L, ds=(6, 8, 12), seeds=(0, 1, 2)):
    """Synthetic curves rel = (c d^e / N)^2: N_required(eps) = c d^e / sqrt(eps)."""
    out = []
    for L, e in slope_by_L.items():
        for d in ds:
            for s in seeds:
                for N in 2.0 ** np.arange(4, 15, 0.25):
                    out.append({"L": L, "d": d, "N": N, "seed": s,
                                "rel": (1.5 * (1 + 0.1 * s) * d ** e / float(N)) ** 2})
    return out


def test_depth_rows_recover_the_exponent_per_depth():
    rows = depth_rows(_records({2: 1.0, 3: 2.0}), 1e-2, bound=False)
    assert [r["L"] for r in rows] == [2, 3]
    assert rows[0]["exponent"] == pytest.approx(1.0, abs=0.05)
    assert rows[1]["exponent"] == pytest.approx(2.0, abs=0.05)
    lo, hi = rows[1]["interval"]
    assert lo <= rows[1]["exponent"] <= hi
    table = format_depth_table(rows, 1e-2)
    assert "| 3 | 12 |" in table and "2.00" in table


def test_monotone_within_spread_flags_a_rise_beyond_the_seeds():
    rows = curve_table(_records({3: 1.0}))
    assert monotone_within_spread(rows)
    bad = [dict(r) for r in rows]
    i = next(i for i, r in enumerate(bad) if r["d"] == 8 and r["N"] == 1024)
    bad[i]["median"] = 10 * bad[i - 1]["max"]
    assert not monotone_within_spread(bad)


def test_depth_figure_returns_a_figure_with_one_panel_per_depth(tmp_path):
    from matplotlib.figure import Figure

    from theorycheck.atomic import save_figure
    from theorycheck.papers.bfc.kernel_figures import depth_figure
    recs = _records({2: 1.0, 3: 1.0}, ds=(4,))
    kern = [{"learner": "poly", "L": 3, "d": 4, "n": n, "rel_mse": 1.0 / n} for n in (16, 64)]
    fig = depth_figure(recs, kern, d=4, fig=Figure())
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert any("poly" in t.get_text() for t in fig.axes[-1].get_legend().get_texts())
    labels = [ln.get_label() for ln in fig.axes[1].get_lines()]
    assert "poly kernel (measured)" in labels and "every-kernel lower bound" in labels
    assert save_figure(fig, tmp_path / "h.png", dpi=40).read_bytes().startswith(b"\x89PNG")
    fig = depth_figure(recs, kern, d=4, fig=Figure(), bound_options={3: None})
    assert "every-kernel lower bound" not in [ln.get_label() for ln in fig.axes[1].get_lines()]
    assert any("not computed" in t.get_text() for t in fig.axes[1].texts)


def test_truncation_per_stage_is_applied_stage_by_stage():
    from theorycheck.papers.bfc.training import stage_B, train, train_config
    tiny = dict(d=4, L=3, steps=(30, 30), batch=16, n_test=200, eval_points=3)
    cfg = train_config(B=[16.0, math.inf], **tiny)
    assert cfg.B == (16.0, math.inf) and stage_B(cfg, 0) == 16.0 and stage_B(cfg, 1) == math.inf
    assert train_config(**tiny).B == 16.0            # a scalar stays a scalar (same stored form)
    res = train(cfg)
    assert res.params.spec.B == math.inf and math.isfinite(res.summary["final_rel_loss"])
    # the first stage with B = 16 is bit for bit the scalar-B run's first stage
    same = train(train_config(B=16.0, **tiny))
    assert res.curves[0] == same.curves[0]
    with pytest.raises(SpecError, match="B=.*2 stages"):
        train_config(B=[16.0, 16.0, 16.0], **tiny)
    with pytest.raises(SpecError, match="B"):
        train_config(B=[16.0, -1.0], **tiny)


def test_kernel_classification_error_falls_with_the_pool():
    from theorycheck.papers.bfc.depth_study import kernel_class_error
    small = kernel_class_error(4, 2, 16, 0, n_test=2000)
    large = kernel_class_error(4, 2, 400, 0, n_test=2000)
    assert 0.0 <= large < 0.25 < small <= 0.6
