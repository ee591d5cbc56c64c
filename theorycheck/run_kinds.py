"""Built-in run kinds for sweeps (issue 9): cheap, genuine computations of the toolkit.

* ``claim``: check one claim (THEORY.md claims library) at a seed and scale; summary =
  verdict, worst ratio, instances, seconds.
* ``target-energy``: draw the BFC target G* (THEORY.md 1.3) with the run's seed and estimate,
  by Monte Carlo over ``n`` inputs, the second moment E[(alpha_l ||S*_l(x)||^2)^2] of each
  layer term and its mean E[alpha_l ||S*_l(x)||^2] (= alpha_l k_l for a normalised target,
  exactly at layer 2, to about 1% deeper: the [R] normalisation of target.py). The running
  estimates are the run's curves (step = samples so far); the run checkpoints after every
  chunk, so an interrupted run resumes bit-identically from its last chunk.
"""

from __future__ import annotations

import math

import numpy as np

from .claims import SCALES
from .gaussian import mc_expectation
from .runs import boolean, choice, integer, real, register_run_kind, text
from .target import build_target, target_spec


def _claim_id(name, value):
    from .discovery import find_claim
    find_claim(value)
    return value


def run_claim_kind(config: dict, seed: int, recorder) -> dict:
    """Check claim ``config['claim']`` at ``scale`` and ``seed``."""
    from .discovery import find_claim
    res = find_claim(config["claim"]).check(scale=config["scale"], seed=seed)
    return {"verdict": res.verdict, "worst_ratio": res.worst_ratio, "instances": res.instances,
            "seconds": round(res.seconds, 6)}


CLAIM = register_run_kind("claim", run_claim_kind, {
    "claim": text(help="claim id, as listed by 'theorycheck check --list'", check=_claim_id),
    "scale": choice(SCALES, "quick", help="instance sizes and counts"),
})


def _merge(acc, count, mean, stderr):
    """Chan's parallel update of (n, mean, M2) with a batch summarised by its MC estimate."""
    n0, m0, s0 = acc
    m2 = stderr * stderr * count * (count - 1)
    tot = n0 + count
    delta = mean - m0
    return [tot, m0 + delta * count / tot, s0 + m2 + delta * delta * n0 * count / tot]


def run_target_energy(config: dict, seed: int, recorder) -> dict:
    """Monte Carlo moments of each layer term alpha_l ||S*_l(x)||^2 of G* (THEORY.md 1.3)."""
    spec = target_spec(config["d"], config["L"], k=config["k"], connections=config["connections"],
                       delta=config["delta"], kappa=config["kappa"], seed=seed,
                       centred=config["centred"], dist=config["dist"])
    target = build_target(spec)
    layers = list(range(2, spec.L + 1))
    n, chunk = config["n"], config["chunk"]
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


TARGET_ENERGY = register_run_kind("target-energy", run_target_energy, {
    "d": integer(16, min_value=1, help="input dimension"),
    "L": integer(3, min_value=2, max_value=8, help="depth"),
    "k": integer(2, min_value=1, help="width k_l of layers 2..L"),
    "connections": choice(("chain", "dense"), "chain"),
    "delta": real(0.25, positive=True, help="information gap alpha_{l+1} = alpha_l d^-delta"),
    "kappa": real(2.0, min_value=1.0, help="condition-number clip of W*_{l,l-1}"),
    "centred": boolean(True, help="G*_1 = x^2 - 1 (true) or x^2"),
    "dist": choice(("gaussian", "sphere"), "gaussian"),
    "n": integer(8192, min_value=2, help="Monte Carlo samples per estimate"),
    "chunk": integer(2048, min_value=2, help="samples between checkpoints"),
})


def _train(config: dict, seed: int, recorder) -> dict:
    from .training import run_train_kind
    return run_train_kind(config, seed, recorder)


def _train_schema():
    from .training import train_schema
    return train_schema()


BFC_TRAIN = register_run_kind("bfc-train", _train, _train_schema(),
                              doc="train the BFC learner on G* (THEORY.md 1.5-1.6): "
                                  "e2e, layerwise or two-layer")


def _label_depth(config: dict, seed: int, recorder) -> dict:
    from .label_depth import run_label_depth
    return run_label_depth(config, seed, recorder)


def _label_depth_schema():
    from .label_depth import schema
    return schema()


LABEL_DEPTH = register_run_kind("label-depth", _label_depth, _label_depth_schema(),
                                doc="one (r, seed) cell of the label-hierarchy depth study "
                                    "(THEORY.md 3.3): layerwise residual learner and baselines")


def _three_layer_fit(config: dict, seed: int, recorder) -> dict:
    from .three_layer_sweep import run_three_layer_fit
    return run_three_layer_fit(config, seed, recorder)


def _three_layer_fit_schema():
    from .three_layer_sweep import fit_schema
    return fit_schema()


THREE_LAYER_FIT = register_run_kind("three-layer-fit", _three_layer_fit, _three_layer_fit_schema(),
                                    doc="one (learner, d, n, seed) cell of the three-layer "
                                        "sample-exponent study (THEORY.md 2.3): rel. test MSE, "
                                        "corr(phi, x^T A x)")

from . import kernel_scaling as _kernel_scaling  # noqa: E402  (registers `kernel-fit` on import)

KERNEL_FIT = _kernel_scaling.KERNEL_FIT
