"""Run kinds used only by the store and sweep tests: a seeded random walk whose duration,
failure and interruption are controllable. Workers import this module by the kind name
``"tests.sweep_kinds:WALK"``."""

from __future__ import annotations

import os
import time

import numpy as np

from theorycheck.runs.kinds import integer, real, register_run_kind, text


def walk(config, seed, recorder):
    """x_t = x_{t-1} + N(0, 1) with the run's seed, logged every step, checkpointed every
    ``checkpoint_every`` steps; sleeps ``step_seconds`` per step; raises while the file
    ``fail_marker`` exists."""
    rng = np.random.default_rng(seed)
    x, start = 0.0, 0
    if recorder.resume is not None:
        x, start = recorder.resume["x"], recorder.resume["step"]
        rng.bit_generator.state = recorder.resume["rng"]
    for step in range(start + 1, config["steps"] + 1):
        x += float(rng.standard_normal())
        recorder.log(step, x=x, x2=x * x)
        if step % config["checkpoint_every"] == 0:
            recorder.checkpoint(step, {"x": x, "step": step, "rng": rng.bit_generator.state})
        if config["fail_marker"] and os.path.exists(config["fail_marker"]):
            raise RuntimeError(f"walk failed at step {step}: marker {config['fail_marker']} exists")
        if config["step_seconds"]:
            time.sleep(config["step_seconds"])
    return {"x": x, "steps": config["steps"]}


WALK = register_run_kind("test-walk", walk, {
    "steps": integer(10, min_value=1),
    "step_seconds": real(0.0, min_value=0.0),
    "checkpoint_every": integer(3, min_value=1),
    "fail_marker": text(""),
    "label": integer(0),
})
