"""Claims on deep label hierarchies (docs/theory.md §3.1-§3.3, Daniely arXiv 2601.00455).

(a) the layerwise residual learner's error on level t falls at block t;
(b) as depth grows, baselines trained on the top labels only approach chance
    while the layerwise learner stays accurate (the gap widens with r);
(c) the teacher model's labels satisfy the hierarchy's definition.

Every figure is measured on each run (docs/theory.md §3.2b's reference setting is
scaled down for ``--scale quick``: d = 16, n = 2000, width 512; ``full`` uses
d = 32, n = 6000, width 2048). Knobs build the broken variants the tests use.

The learners, the teacher and their settings (``depth_gap.QUICK`` and ``FULL``) are imported
inside the measures, so that listing the claims stays cheap.
"""

from __future__ import annotations

import numpy as np

from theorycheck.claims.engine import Measurement, claim, grid


def _config(scale_cfg: dict, **over) -> dict:
    return {**scale_cfg, **over}


@claim(id="labels.layerwise.error_falls_at_its_block", tag="A", ref="docs/theory.md §3.3.1",
       paper="Daniely, arXiv 2601.00455",
       statement="""layerwise residual learner: level t's test error falls at block t (drop >= 0.1
                 from the best read-out of block t-1's features) to <= 0.05""",
       instances={"quick": grid(seed=[0, 1, 2], r=[3], scale=["quick"]),
                  "full": grid(seed=[0, 1, 2, 3, 4], r=[4], scale=["full"])},
       threshold=0.05, min_drop=0.1, zero_readout=False, shuffle_labels=False)
def error_falls_at_its_block(inst, *, threshold: float, min_drop: float, zero_readout: bool,
                             shuffle_labels: bool):
    from theorycheck.papers.labels.depth_gap import FULL, QUICK, run_task

    cfg = _config(QUICK if inst["scale"] == "quick" else FULL, kernel=False, mlp=False,
                  zero_readout=zero_readout, shuffle_labels=shuffle_labels)
    res = run_task({**cfg, "r": inst["r"], "seed": inst["seed"]})
    E = np.asarray(res["after_block"])
    ms = []
    for t in range(E.shape[0]):
        lvl = res["per_level"][t]
        ms.append(Measurement(E[t, t], threshold, "<=",
                              label=f"level {t + 1} error at block {t + 1}",
                              detail={"added": lvl["added"], "inherited": lvl["inherited"]}))
        if t > 0:
            ms.append(Measurement(E[t - 1, t] - E[t, t], min_drop, ">=",
                                  label=f"level {t + 1} error drop at block {t + 1}",
                                  detail={"before": E[t - 1, t], "after": E[t, t]}))
    return ms


@claim(id="labels.depth_gap.baselines_reach_chance", tag="A", ref="docs/theory.md §3.3.2",
       paper="Daniely, arXiv 2601.00455",
       statement="""at depth r_max the top-label error of kernel ridge on x and of an end-to-end
                 MLP is >= 0.4 (chance 0.5) while the layerwise learner's is <= 0.1, and the gap
                 (best baseline - layerwise) grows by >= 0.3 from r_min to r_max""",
       instances={"quick": grid(seed=[0, 1, 2], r_min=[1], r_max=[3], scale=["quick"]),
                  "full": grid(seed=[0, 1, 2, 3, 4], r_min=[1], r_max=[4], scale=["full"])},
       learner_max=0.1, baseline_min=0.4, min_widening=0.3, hints=True)
def baselines_reach_chance(inst, *, learner_max: float, baseline_min: float,
                           min_widening: float, hints: bool):
    from theorycheck.papers.labels.depth_gap import FULL, QUICK, run_task

    base = QUICK if inst["scale"] == "quick" else FULL
    cfg = _config(base, hints=hints)
    lo = run_task({**cfg, "r": inst["r_min"], "seed": inst["seed"]})
    hi = run_task({**cfg, "r": inst["r_max"], "seed": inst["seed"]})

    def gap(res):
        return min(res["top"]["kernel"], res["top"]["mlp"]) - res["top"]["layerwise"]

    detail = {f"gap_r{res['r']}": gap(res) for res in (lo, hi)}
    rmax = inst["r_max"]
    return [Measurement(hi["top"]["layerwise"], learner_max, "<=",
                        label=f"layerwise top error at r={rmax}", detail=detail),
            Measurement(hi["top"]["kernel"], baseline_min, ">=",
                        label=f"kernel top error at r={rmax}"),
            Measurement(hi["top"]["mlp"], baseline_min, ">=", label=f"MLP top error at r={rmax}"),
            Measurement(gap(hi) - gap(lo), min_widening, ">=",
                        label=f"gap widening r={inst['r_min']}->{rmax}", detail=detail)]


@claim(id="labels.teacher.satisfies_hierarchy", tag="A", ref="docs/theory.md §3.2.3",
       paper="Daniely, arXiv 2601.00455",
       statement="""labels of the teacher model (majority votes over a random circuit's gates) are,
                 on sampled inputs, functions of their parents with a (K, M)-PTF certificate, K =
                 gate fan-in, M = vote size x majority bound""",
       instances={"quick": grid(seed=[0, 1, 2], r=[3], gate_fan_in=[1, 3], vote_size=[1, 3]),
                  "full": grid(seed=list(range(10)), r=[3, 5], gate_fan_in=[1, 3, 5],
                               vote_size=[1, 3, 5])},
       d=16, labels_per_level=8, gates_per_layer=8, n_samples=4096, corrupt=False)
def teacher_satisfies_hierarchy(inst, *, rng, d: int, labels_per_level: int,
                                gates_per_layer: int, n_samples: int, corrupt: bool):
    from theorycheck.papers.labels.hierarchies import all_assignments, teacher, verify_ptf
    from theorycheck.papers.labels.residual import blas_threads

    T = teacher(d, inst["r"], labels_per_level, gates_per_layer=gates_per_layer,
                gate_fan_in=inst["gate_fan_in"], vote_size=inst["vote_size"], seed=inst["seed"])
    t, v = inst["gate_fan_in"], inst["vote_size"]
    maj_bound = int(np.max(np.abs(np.rint(
        _walsh_scaled(np.sign(all_assignments(t).sum(1)))))))
    h = T.hierarchy(K=t, M=v * maj_bound)
    X = rng.choice([-1.0, 1.0], size=(n_samples, d))
    Y = T.evaluate(X)
    if corrupt:
        k = h.level(1)[0]
        outside = [i for i in range(d) if i not in h.support(h.names[k])]
        Y = Y.copy()
        Y[:, k] *= X[:, outside[0]]
    with blas_threads(1):
        rep = verify_ptf(h, X, Y)
    bad = [r["label"] for r in rep if not r["ok"]]
    worst = max(r["certificate"] for r in rep)
    mism = float(np.mean(h.evaluate(X) != Y))
    return [Measurement(len(bad), 0, "<=", label="labels failing the (K, M)-PTF check",
                        detail={"failing": bad[:5], "worst_certificate": worst, "K": h.K,
                                "M": h.M}),
            Measurement(mism, 0.0, "<=", label="circuit vs hierarchy disagreement")]


def _walsh_scaled(values):
    from theorycheck.papers.labels.hierarchies import walsh
    c = walsh(values) * len(values)
    nz = np.abs(c[np.abs(c) > 1e-9])
    g = np.gcd.reduce(np.rint(nz).astype(np.int64))
    return c / g
