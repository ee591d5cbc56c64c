"""Run kinds used only by the store and sweep tests: a seeded random walk whose duration,
failure and interruption are controllable. Workers import this module by the kind name
``"tests.sweep_kinds:WALK"``. ``LEGACY_WALK`` is the same walk registered with a hand-written
``{key: Param}`` schema, the form kept for kinds outside theorycheck."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from theorycheck.runs.kinds import integer, real, register_run_kind, setting, text


@dataclass(frozen=True)
class WalkConfig:
    steps: int = setting(10, min_value=1, help="steps of the walk")
    step_seconds: float = setting(0.0, min_value=0.0, help="sleep per step")
    checkpoint_every: int = setting(3, min_value=1)
    fail_marker: str = setting("", help="raise while this file exists")
    label: int = 0


def _walk(steps, step_seconds, checkpoint_every, fail_marker, seed, recorder, progress=None):
    rng = np.random.default_rng(seed)
    x, start = 0.0, 0
    if recorder.resume is not None:
        x, start = recorder.resume["x"], recorder.resume["step"]
        rng.bit_generator.state = recorder.resume["rng"]
    for step in range(start + 1, steps + 1):
        x += float(rng.standard_normal())
        recorder.log(step, x=x, x2=x * x)
        if progress is not None:
            progress(step, x)
        if step % checkpoint_every == 0:
            recorder.checkpoint(step, {"x": x, "step": step, "rng": rng.bit_generator.state})
        if fail_marker and os.path.exists(fail_marker):
            raise RuntimeError(f"walk failed at step {step}: marker {fail_marker} exists")
        if step_seconds:
            time.sleep(step_seconds)
    return {"x": x, "steps": steps}


def walk(config: WalkConfig, seed, recorder, progress=None):
    """x_t = x_{t-1} + N(0, 1) with the run's seed, logged every step, checkpointed every
    ``checkpoint_every`` steps; sleeps ``step_seconds`` per step; raises while the file
    ``fail_marker`` exists; calls ``progress(step, x)`` when given."""
    if not isinstance(config, WalkConfig):
        raise TypeError(f"walk got {type(config).__name__}, not a WalkConfig")
    return _walk(config.steps, config.step_seconds, config.checkpoint_every, config.fail_marker,
                 seed, recorder, progress)


def legacy_walk(config, seed, recorder):
    """The walk with a dict config (a ``{key: Param}``-schema kind)."""
    return _walk(config["steps"], config["step_seconds"], config["checkpoint_every"],
                 config["fail_marker"], seed, recorder)


WALK = register_run_kind("test-walk", walk, config=WalkConfig)

LEGACY_WALK = register_run_kind("test-legacy-walk", legacy_walk, {
    "steps": integer(10, min_value=1),
    "step_seconds": real(0.0, min_value=0.0),
    "checkpoint_every": integer(3, min_value=1),
    "fail_marker": text(""),
    "label": integer(0),
})
