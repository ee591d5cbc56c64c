"""BFC training (docs/theory.md §1.5-§1.6): modes, determinism, resume, divergence, claims and mutants."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from theorycheck.papers.bfc.diagnostics import (correction_ratio, feature_error_linear, feature_error_rotation,
                                     log_schedule)
from theorycheck.errors import NumericalError, SpecError
from theorycheck.maths.optim import step_size
from theorycheck.papers.bfc.training import MemoryRecorder, train, train_config

TINY = dict(d=8, L=3, k=4, steps=(60, 90), batch=64, n_test=500, eval_points=5)


def test_feature_error_is_zero_up_to_rotation_and_linear_map():
    rng = np.random.default_rng(0)
    S_star = rng.standard_normal((400, 2))
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    S = np.hstack([S_star, np.zeros((400, 1))]) @ Q  # rotated, one extra zero direction
    assert feature_error_rotation(S, S_star) < 1e-20
    A = rng.standard_normal((2, 3))
    assert feature_error_linear(S_star @ A, S_star) < 1e-20
    assert feature_error_rotation(S_star @ A, S_star) > 1e-3  # a shear is not a rotation


def test_feature_error_rotation_penalises_extra_directions():
    rng = np.random.default_rng(1)
    S_star = rng.standard_normal((400, 2))
    extra = np.hstack([S_star, rng.standard_normal((400, 1))])
    assert feature_error_rotation(extra, S_star) > 0.3
    assert feature_error_linear(extra, S_star) < 1e-20


def test_feature_error_shape_mismatch_is_clear():
    with pytest.raises(SpecError, match="same n samples"):
        feature_error_linear(np.zeros((3, 2)), np.zeros((4, 2)))


def test_schedules():
    assert step_size(1.0, 0, 10) == 1.0
    assert step_size(1.0, 5, 10) == pytest.approx(0.5)
    assert step_size(1.0, 7, 10, "constant") == 1.0
    s = log_schedule(1000, 10)
    assert s[0] == 1 and s[-1] == 1000 and s == sorted(set(s))
    assert correction_ratio(0.2, 0.05) == 0.25


@pytest.mark.parametrize("kw, needle", [
    (dict(mode="sideways"), "mode='sideways' is invalid"),
    (dict(lr=-1.0), "lr[0]=-1.0 is invalid"),
    (dict(steps=(0, 10)), "steps[0]=0 is invalid"),
    (dict(steps=(10, 10, 10)), "3 values for 2 stages"),
    (dict(learning_rate=0.1), "unknown training setting(s) ['learning_rate']"),
    (dict(batch=1.5), "batch=1.5 is invalid"),
    (dict(d=0), "d=0 is invalid"),
])
def test_bad_settings_name_the_key(kw, needle):
    with pytest.raises(SpecError) as exc:
        train_config(**kw)
    assert needle in str(exc.value)


def test_same_seed_same_numbers():
    a, b = train(**TINY), train(**TINY)
    assert a.curves == b.curves
    assert np.array_equal(a.params.theta, b.params.theta)
    c = train(**{**TINY, "seed": 1})
    assert not np.array_equal(a.params.theta, c.params.theta)


def test_layerwise_freezes_layer_2_bit_for_bit():
    cfg = train_config(mode="layerwise", **TINY)
    rec = MemoryRecorder()
    res = train(cfg, recorder=rec)
    end_of_stage_2 = next(state for step, state in rec.checkpoints if state["stage_index"] == 1)
    theta2 = np.asarray(end_of_stage_2["theta"])
    block = res.params.M(2)
    P2 = res.params.copy()
    P2.theta[:] = theta2
    assert np.array_equal(P2.M(2), block)
    assert not np.array_equal(P2.M(3), res.params.M(3))
    assert res.summary["correction_ratio_2"] == 1.0


@pytest.mark.parametrize("optimizer,lr", [("adam", 3e-3), ("sgd", 1e-4)])
def test_interrupted_run_resumes_to_identical_numbers(optimizer, lr):
    cfg = train_config(**TINY, optimizer=optimizer, lr=lr)
    full = train(cfg)

    class Interrupt(Exception):
        pass

    class Crashing(MemoryRecorder):
        def checkpoint(self, step, state):
            super().checkpoint(step, json.loads(json.dumps(state)))  # what the store keeps
            if step >= 100:
                raise Interrupt

    rec = Crashing()
    with pytest.raises(Interrupt):
        train(cfg, recorder=rec)
    resumed = train(cfg, recorder=MemoryRecorder(resume=rec.checkpoints[-1][1]))
    assert np.array_equal(resumed.params.theta, full.params.theta)
    assert resumed.curves == full.curves


def test_fixed_training_set_and_two_layer_mode_run():
    r = train(**{**TINY, "N": 200})
    assert np.isfinite(r.summary["final_test_loss"])
    t = train(**{**TINY, "mode": "two-layer"})
    assert t.params.spec.L == 2 and "err_lin_2_final" not in t.summary


def test_divergence_is_reported_not_propagated():
    with pytest.raises(NumericalError, match="diverged|not finite"):
        train(**{**TINY, "lr": 50.0, "optimizer": "sgd", "B": float("inf")})


# --- claims (a)-(d) at one seed, and their broken variants --------------------------------

def test_training_claims_hold_and_mutants_fail():
    from theorycheck.proofs.bfc_training import backward_correction, e2e_fits, layerwise_gap, two_layer_fails

    for c in (e2e_fits, layerwise_gap, backward_correction, two_layer_fails):
        res = c.check(max_examples=1)
        assert res.verdict == "holds", (c.id, res.worst)
    mutants = [e2e_fits.variant("layer-2-frozen", freeze=(2,)),
               layerwise_gap.variant("e2e-instead", mode="e2e"),
               backward_correction.variant("layer-2-frozen-in-stage-3", e2e_mode="layerwise"),
               # the natural confound: layer 2 trains on, but no learned top layer drives it
               backward_correction.variant("frozen-top-control-as-e2e", e2e_freeze=(3,)),
               two_layer_fails.variant("degree-4-target", L=2)]
    for m in mutants:
        assert m.check(max_examples=1).verdict == "fails", m.id


def _correction_table(scale, seeds):
    from theorycheck.claims.engine import evaluate
    from theorycheck.proofs.bfc_training import backward_correction

    rows = {}
    for s in seeds:
        ms = evaluate(backward_correction, {"scale": scale, "seed": s})
        rows[s] = ms
        assert all(m.verdict(backward_correction.z) == "holds" for m in ms), (scale, s, ms)
    return rows


def test_backward_correction_control_differs_only_in_stage_3():
    """The control shares stage 2 bit for bit with the e2e run (seed 0, the runs cached by the
    test above), so the paired comparison isolates what the trained top layer does."""
    from theorycheck.claims.engine import evaluate
    from theorycheck.proofs.bfc_training import backward_correction

    ms = evaluate(backward_correction, {"scale": "quick", "seed": 0})
    d = ms[1].detail
    assert d["err_2_after_stage_2"] == d["control_err_2_after_stage_2"]
    assert d["control_err_2_final"] < d["control_err_2_after_stage_2"]  # the control falls too
    assert d["factor_over_control"] >= 2


@pytest.mark.slow
def test_backward_correction_beats_the_control_at_every_quick_seed():
    _correction_table("quick", range(3))


@pytest.mark.slow
def test_backward_correction_beats_the_control_at_the_reference_setting():
    """docs/theory.md §1.6b's step counts (3000 + 6000, d = 16), 3 seeds: paired, and also
    unpaired (e2e's worst seed below the control's best seed / 2)."""
    rows = _correction_table("reference", range(3))
    worst_e2e = max(ms[0].value for ms in rows.values())
    best_control = min(ms[1].detail["control_ratio"] for ms in rows.values())
    assert worst_e2e <= best_control / 2


@pytest.mark.slow
def test_backward_correction_holds_at_full_scale():
    from theorycheck.proofs.bfc_training import backward_correction

    res = backward_correction.check(scale="full")
    assert res.verdict == "holds", res.worst


def _step_by_step(monkeypatch):
    from theorycheck.papers.bfc import training as T
    monkeypatch.setattr(T._FusedRunner, "make", classmethod(lambda cls, *a: None))
    monkeypatch.setattr(T, "FRESH_CHUNK_ROWS", 1)


def _fast_and_step_by_step(monkeypatch, cfg):
    """``(run, recorder)`` of the trainer as it is, then of one draw and one step at a time."""
    rec_fast = MemoryRecorder()
    fast = train(cfg, recorder=rec_fast)
    _step_by_step(monkeypatch)
    rec_slow = MemoryRecorder()
    return (fast, rec_fast), (train(cfg, recorder=rec_slow), rec_slow)


def _same_bits(a, b):
    (fast, rec_fast), (slow, rec_slow) = a, b
    assert json.dumps(fast.curves) == json.dumps(slow.curves)
    assert np.array_equal(fast.params.theta, slow.params.theta)
    assert json.dumps(rec_fast.checkpoints, default=str) == json.dumps(rec_slow.checkpoints, default=str)


@pytest.mark.parametrize("L", [2, 3, 4])
def test_pool_runner_gives_the_step_by_step_loops_bits(monkeypatch, L):
    """On a fixed pool the trainer takes its Adam steps inside the fused kernel between marks;
    every logged number, the checkpoints and the parameters must be those of the plain loop."""
    cfg = train_config(d=5, L=L, N=90, steps=(150,) * (L - 1), batch=64, n_test=300, eval_points=6,
                       lr=0.01)
    _same_bits(*_fast_and_step_by_step(monkeypatch, cfg))


@pytest.mark.parametrize("loss, L", [("squared", 3), ("squared", 2), ("logistic", 3)])
def test_fresh_batches_drawn_in_chunks_give_the_step_by_step_loops_bits(monkeypatch, loss, L):
    """Fresh batches are drawn several steps at a time and (squared loss) stepped in the fused
    kernel; the curves, checkpoints (generator state included) and parameters must be those of
    one draw and one step at a time. A small chunk makes several chunks per segment."""
    from theorycheck.papers.bfc import training as T
    cfg = train_config(d=5, L=L, steps=(70,) * (L - 1), batch=64, n_test=300, eval_points=5,
                       lr=0.01, loss=loss)
    monkeypatch.setattr(T, "FRESH_CHUNK_ROWS", 64 * 7)
    _same_bits(*_fast_and_step_by_step(monkeypatch, cfg))


def test_fused_runner_stops_at_a_non_finite_loss_and_names_it():
    from theorycheck.maths.optim import optimiser
    from theorycheck.papers.bfc.training import _FusedRunner, make_learner, make_target
    cfg = train_config(d=5, L=3, N=90, steps=(40, 40), batch=64, n_test=300)
    target = make_target(cfg)
    P = make_learner(cfg, target)
    X = np.random.default_rng(0).standard_normal((90, 5))
    opt = optimiser("adam")
    runner = _FusedRunner.make(P, cfg, opt)
    mask = P.trainable_mask().astype(np.float64)
    P.theta[:] *= 1e80
    before = P.theta.copy()
    idx = np.random.default_rng(1).integers(0, 90, size=(5, 64))
    done, losses, state = runner([1e-3] * 5, mask, opt.init(P.theta), X, target(X), idx)
    assert done == 0 and len(losses) == 1 and not np.isfinite(losses[0]) and state.count == 0
    assert np.array_equal(P.theta, before)
    with pytest.raises(NumericalError, match="not finite"):
        runner.raise_nonfinite(losses[0])
    # another optimiser, or a batch below the fused kernel's range: the loop steps one by one
    assert _FusedRunner.make(P, cfg, optimiser("sgd")) is None
    assert _FusedRunner.make(P, dataclasses.replace(cfg, batch=1), opt) is None


def test_a_pool_smaller_than_the_batch_is_stepped_on_whole_with_count_weights(monkeypatch):
    """N = 40 < batch = 64: each step runs on the 40 pool rows weighted by their counts in the
    drawn batch; the curves and parameters must be those of the gathered batches to rounding,
    with the same draws (the checkpoints' generator states are equal)."""
    cfg = train_config(d=5, L=3, N=40, steps=(150, 150), batch=64, n_test=300, eval_points=6,
                       lr=0.01)
    (fast, rec_fast), (slow, rec_slow) = _fast_and_step_by_step(monkeypatch, cfg)
    assert [c["step"] for c in fast.curves] == [c["step"] for c in slow.curves]
    for a, b in zip(fast.curves, slow.curves):
        for key in ("train_loss", "test_loss", "rel_loss"):
            assert a[key] == pytest.approx(b[key], rel=1e-9), key
    np.testing.assert_allclose(fast.params.theta, slow.params.theta, rtol=1e-8, atol=1e-11)
    assert [c["rng"] for _, c in rec_fast.checkpoints] == [c["rng"] for _, c in rec_slow.checkpoints]
