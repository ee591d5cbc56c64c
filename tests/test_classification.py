"""Binary classification of sign(G* - median) with the logistic loss (docs/theory.md §1.4.4):
the shifted-output gradient, an independent (sympy) reference for the logistic derivative,
and the training driver's ``loss="logistic"``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from theorycheck.errors import SpecError
from theorycheck.papers.bfc import learner as Lr
from theorycheck.papers.bfc.training import (MemoryRecorder, label_median, labeller, make_target, train,
                                             train_config)

TINY = dict(d=4, L=3, k=3, steps=(120, 120), batch=32, n_test=500, eval_points=4, loss="logistic")


def _instance(loss, seed=0, n=12):
    rng = np.random.default_rng(seed)
    spec = Lr.learner_spec(4, 3, k=[2, 3], loss=loss, seed=seed, tied=False)
    P = Lr.init_learner(spec, rng=rng, scale=0.9)
    X = rng.standard_normal((n, 4))
    y = np.where(rng.standard_normal(n) > 0, 1.0, -1.0) if loss == "logistic" else rng.standard_normal(n)
    return P, X, y


@pytest.mark.parametrize("loss", Lr.LOSSES)
def test_shifted_loss_gradient_matches_finite_differences(loss):
    P, X, y = _instance(loss)
    c = 0.37
    f0, g, dc = Lr.loss_grad_shift(P, X, y, c)
    h = 1e-6
    fp, _, _ = Lr.loss_grad_shift(P, X, y, c + h)
    fm, _, _ = Lr.loss_grad_shift(P, X, y, c - h)
    assert dc == pytest.approx((fp - fm) / (2 * h), rel=1e-6, abs=1e-9)
    idx = np.flatnonzero(P.trainable_mask())[::3]
    for i in idx:
        Q = P.copy()
        Q.theta[i] += h
        up = Lr.loss_grad_shift(Q, X, y, c)[0]
        Q.theta[i] -= 2 * h
        down = Lr.loss_grad_shift(Q, X, y, c)[0]
        assert g[i] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-8)
    # shift 0 is loss_and_grad
    l0, g0, _ = Lr.loss_grad_shift(P, X, y, 0.0)
    l1, g1 = Lr.loss_and_grad(P, X, y, path="blas")
    assert l0 == pytest.approx(l1, rel=1e-14) and np.allclose(g0, g1, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("n", [8, 33, 256])
@pytest.mark.parametrize("loss", Lr.LOSSES)
def test_shifted_loss_fused_path_agrees_with_the_blas_path(loss, n):
    """From 8 samples the shifted loss runs in the fused kernel; the BLAS path is the reference."""
    P, X, y = _instance(loss, seed=n, n=n)
    c = -0.41
    loss_f, g_f, dc_f = Lr.loss_grad_shift(P, X, y, c)
    box = {}
    loss_b, g_b = Lr._blas_loss_grad(P, np.ascontiguousarray(X), y, None, shift=c, out=box)
    assert loss_f == pytest.approx(loss_b, rel=1e-13)
    np.testing.assert_allclose(g_f, g_b, rtol=1e-11, atol=1e-14)
    assert dc_f == pytest.approx(-float(box["g"].sum()), rel=1e-12, abs=1e-15)


def test_logistic_derivative_against_sympy():
    sp = pytest.importorskip("sympy")
    P, X, y = _instance("logistic", seed=3)
    f, _ = Lr.forward(P, X, path="blas")
    c = 0.25
    loss, _, dc = Lr.loss_grad_shift(P, X, y, c)
    cs = sp.Symbol("c")
    expr = sum(sp.log(1 + sp.exp(-sp.Float(float(yi), 30) * (sp.Float(float(fi), 30) - cs)))
               for fi, yi in zip(f, y)) / len(y)
    assert loss == pytest.approx(float(expr.subs(cs, c)), rel=1e-12)
    assert dc == pytest.approx(float(sp.diff(expr, cs).subs(cs, c)), rel=1e-10)
    # a large margin: the stable branch (no overflow)
    big = Lr.loss_grad_shift(P, X, y, -1e4)
    assert all(math.isfinite(v) for v in (big[0], big[2]))


def test_labels_are_balanced_signs_of_g_minus_median():
    cfg = train_config(**TINY)
    target = make_target(cfg)
    med = label_median(target)
    X = np.random.default_rng(5).standard_normal((20000, cfg.d))
    y = labeller(cfg, target)(X)
    assert set(np.unique(y)) == {-1.0, 1.0}
    assert abs(y.mean()) < 0.03
    assert np.array_equal(y == 1.0, target(X) >= med)
    assert labeller(train_config(**{**TINY, "loss": "squared"}), target) is target


def test_logistic_training_reports_classification_error_and_resumes():
    cfg = train_config(**TINY)
    full = train(cfg)
    s = full.summary
    assert 0.0 <= s["final_class_err"] <= 0.5 and math.isfinite(s["final_margin"]) and "shift" in s
    assert s["final_class_err"] < 0.45           # it learns something in 240 steps
    assert s["final_rel_loss"] == pytest.approx(full.curves[-1]["test_loss"] / math.log(2))

    class Interrupt(Exception):
        pass

    class Crashing(MemoryRecorder):
        def checkpoint(self, step, state):
            super().checkpoint(step, json.loads(json.dumps(state)))
            if step >= 100:
                raise Interrupt

    rec = Crashing()
    with pytest.raises(Interrupt):
        train(cfg, recorder=rec)
    assert "shift" in rec.checkpoints[-1][1]
    resumed = train(cfg, recorder=MemoryRecorder(resume=rec.checkpoints[-1][1]))
    assert np.array_equal(resumed.params.theta, full.params.theta)
    assert resumed.curves == full.curves


def test_unknown_loss_is_named():
    with pytest.raises(SpecError, match="loss"):
        train_config(**{**TINY, "loss": "hinge"})
