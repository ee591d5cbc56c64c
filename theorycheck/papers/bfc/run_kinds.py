"""Run kinds of the backward-feature-correction paper.

* ``target-energy``: draw the target G* (docs/theory.md §1.3) with the run's seed and estimate,
  by Monte Carlo over ``n`` inputs, the second moment E[(alpha_l ||S*_l(x)||^2)^2] of each
  layer term and its mean E[alpha_l ||S*_l(x)||^2] (= alpha_l k_l for a normalised target,
  exactly at layer 2, to about 1% deeper). The running estimates are the run's curves
  (step = samples so far); the run checkpoints after every chunk, so an interrupted run
  resumes bit-identically from its last chunk.
* ``bfc-train``: train the learner on G* (docs/theory.md §1.5-§1.6); its config class is
  :class:`~theorycheck.papers.bfc.training.TrainConfig`.
* ``kernel-fit``: one kernel-ridge cell of the kernel scaling study (docs/theory.md §1.7).
* ``bfc-depth``: one cell of the depth study, the network under the budget rule of
  :mod:`theorycheck.papers.bfc.depth_study` (docs/theory.md §1.7.4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from theorycheck.maths.gaussian import mc_expectation
from theorycheck.papers.bfc.depth_study import BFC_DEPTH
from theorycheck.papers.bfc.kernel_scaling import KERNEL_FIT
from theorycheck.papers.bfc.target import build_target, target_spec
from theorycheck.papers.bfc.training import TrainConfig, run_train_kind
from theorycheck.runs.kinds import register_run_kind, setting


def _merge(acc, count, mean, stderr):
    """Chan's parallel update of (n, mean, M2) with a batch summarised by its MC estimate."""
    n0, m0, s0 = acc
    m2 = stderr * stderr * count * (count - 1)
    tot = n0 + count
    delta = mean - m0
    return [tot, m0 + delta * count / tot, s0 + m2 + delta * delta * n0 * count / tot]


@dataclass(frozen=True)
class TargetEnergyConfig:
    """Config of the ``target-energy`` run kind."""

    d: int = setting(16, min_value=1, help="input dimension")
    L: int = setting(3, min_value=2, max_value=8, help="depth")
    k: int = setting(2, min_value=1, help="width k_l of layers 2..L")
    connections: str = setting("chain", choices=("chain", "dense"))
    delta: float = setting(0.25, positive=True, help="information gap alpha_{l+1} = alpha_l d^-delta")
    kappa: float = setting(2.0, min_value=1.0, help="condition-number clip of W*_{l,l-1}")
    centred: bool = setting(True, help="G*_1 = x^2 - 1 (true) or x^2")
    dist: str = setting("gaussian", choices=("gaussian", "sphere"))
    n: int = setting(8192, min_value=2, help="Monte Carlo samples per estimate")
    chunk: int = setting(2048, min_value=2, help="samples between checkpoints")


def run_target_energy(config: TargetEnergyConfig, seed: int, recorder) -> dict:
    """Monte Carlo moments of each layer term alpha_l ||S*_l(x)||^2 of G* (docs/theory.md §1.3)."""
    spec = target_spec(config.d, config.L, k_target=config.k, connections=config.connections,
                       delta=config.delta, kappa=config.kappa, seed=seed,
                       centred=config.centred, dist=config.dist)
    target = build_target(spec)
    layers = list(range(2, spec.L + 1))
    n, chunk = config.n, config.chunk
    names = [f"{m}_{l}" for l in layers for m in ("mean", "second_moment")]
    state = recorder.resume
    if state is None:
        rng = np.random.default_rng([seed, 0xE7E7])
        done, acc = 0, {k: [0, 0.0, 0.0] for k in names}
    else:
        rng = np.random.default_rng()
        rng.bit_generator.state = state["rng"]
        done, acc = state["done"], state["acc"]
    while done < n:
        b = n - done if n - done - chunk < 2 else chunk
        for l in layers:
            for p, m in ((1, "mean"), (2, "second_moment")):
                est = mc_expectation(lambda X, l=l, p=p: target.layer_terms(X)[l] ** p,
                                     spec.d, b, rng, dist=spec.dist)
                acc[f"{m}_{l}"] = _merge(acc[f"{m}_{l}"], est.n, est.mean, est.stderr)
        done += b
        values = {}
        for k, (cnt, mean, m2) in acc.items():
            values[k] = mean
            values[f"stderr_{k}"] = math.sqrt(m2 / (cnt - 1) / cnt)
        recorder.log(done, **values)
        recorder.checkpoint(done, {"done": done, "acc": acc, "rng": rng.bit_generator.state})
    out = {"n": done}
    for k, (cnt, mean, m2) in acc.items():
        out[k] = mean
        out[f"stderr_{k}"] = math.sqrt(m2 / (cnt - 1) / cnt)
    for l in layers:
        out[f"reference_mean_{l}"] = float(target.alphas[l - 2]) * spec.width(l)
    return out


TARGET_ENERGY = register_run_kind("target-energy", run_target_energy, config=TargetEnergyConfig)

BFC_TRAIN = register_run_kind("bfc-train", run_train_kind, config=TrainConfig,
                              doc="train the BFC learner on G* (docs/theory.md §1.5-§1.6): "
                                  "e2e, layerwise or two-layer")


__all__ = ["TARGET_ENERGY", "BFC_TRAIN", "KERNEL_FIT", "BFC_DEPTH"]
