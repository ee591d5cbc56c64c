"""Claims on three-layer feature learning (docs/theory.md §2.2, §2.3; Nichani, Damian & Lee).

(a) the variance oracles of x^T A x, exactly (sympy) and by Monte Carlo;
(b) the learned feature's correlation with x^T A x rises with n1, and test loss falls;
(c) at n proportional to d^2 the three-layer learner's advantage over the two-layer
    baselines on g*(x^T A x) grows with d.

Each claim exposes knobs so a test can build a failing variant (a wrong oracle, a
frozen middle-layer step ``eta=0``, an odd first activation, a too-demanding factor).
The measured factors are computed on every run and reported in the measurement's
detail; nothing here is a stored figure.

The paper's code and sympy are imported inside the measures, so that listing the claims stays
cheap; the ``oracle`` knob's default forwards to ``quadratic_features.variance_oracle``.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from theorycheck.claims.engine import Measurement, claim, grid
from theorycheck.claims.lazy import lazy_function

variance_oracle = lazy_function("theorycheck.papers.three_layer.quadratic_features", "variance_oracle")


def _one_thread():
    """Single-threaded BLAS for the measurements: small factorisations are far faster that
    way on a shared machine, and results do not depend on the thread count."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl ships with the test/sweep extras
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _integer_tracefree(d: int, seed: int) -> sp.Matrix:
    """A small symmetric trace-free integer matrix (exact arithmetic downstream)."""
    import sympy as sp

    rng = np.random.default_rng([seed, d])
    M = rng.integers(-3, 4, size=(d, d))
    M = M + M.T
    M[d - 1, d - 1] -= int(np.trace(M))
    return sp.Matrix(M.tolist())


# ---------------------------------------------------------------- (a) oracles


@claim(id="three_layer.oracle.variance_exact", tag="M", ref="docs/theory.md §2.2 (oracle)",
       paper="Nichani, Damian & Lee 2023 (setting)",
       statement="""Var(x^T A x) = 2||A||_F^2 under N(0, I) and 2d/(d+2) ||A||_F^2 on the sphere of
                 radius sqrt(d), for symmetric trace-free A, checked exactly with sympy; the
                 cumulant formula for E[(x^T A x)^3] agrees with sympy too""",
       instances={"quick": grid(d=[2, 3, 4], dist=["gaussian", "sphere"], seed=[0, 1]),
                  "full": grid(d=[2, 3, 4, 5, 6], dist=["gaussian", "sphere"], seed=[0, 1, 2])},
       oracle=variance_oracle, trace_free=True)
def variance_exact(inst, *, oracle, trace_free: bool):
    import sympy as sp

    from theorycheck.maths.gaussian import expectation
    from theorycheck.papers.three_layer.quadratic_features import quadratic_moments, sphere_expectation

    d, dist = inst["d"], inst["dist"]
    A = _integer_tracefree(d, inst["seed"])
    if not trace_free:
        A = A + sp.eye(d)
    xs = sp.symbols(f"x0:{d}")
    x = sp.Matrix(xs)
    h = sp.expand((x.T * A * x)[0])
    E = expectation if dist == "gaussian" else sphere_expectation
    m1, m2, m3 = (E(sp.expand(h ** k), xs) for k in (1, 2, 3))
    exact_var = sp.nsimplify(m2 - m1 ** 2)
    frob2 = int(sum(a * a for a in A))
    predicted = oracle(d, dist, frob2)
    third = quadratic_moments(np.array(A.tolist(), dtype=np.float64), 3, dist)[3]
    return [Measurement.close(predicted, float(exact_var), rtol=1e-12, atol=1e-12,
                              label=f"Var h ({dist}, d={d})", exact=str(exact_var)),
            Measurement.close(third, float(m3), rtol=1e-10, atol=1e-9,
                              label=f"E h^3 ({dist}, d={d})", exact=str(m3))]


@claim(id="three_layer.oracle.variance_mc", tag="M", ref="docs/theory.md §2.2 (oracle)",
       paper="Nichani, Damian & Lee 2023 (setting)",
       statement="""for the default random A (normalised trace-free symmetric Gaussian, full or low
                 rank), Monte Carlo Var(x^T A x) agrees with the oracle within 4 standard errors""",
       instances={"quick": grid(d=[8, 32], dist=["gaussian", "sphere"], rank=[None, 2]),
                  "full": grid(d=[4, 16, 64, 128], dist=["gaussian", "sphere"], rank=[None, 2, 3])},
       n_samples=40000, oracle=variance_oracle)
def variance_mc(inst, *, rng, n_samples: int, oracle):
    from theorycheck.papers.three_layer.quadratic_features import quadratic_target, sample_inputs

    t = quadratic_target(inst["d"], seed=rng, rank=inst["rank"], dist=inst["dist"])
    h = t.feature(sample_inputs(n_samples, inst["d"], rng, inst["dist"]))
    c = (h - h.mean()) ** 2
    est, se = float(c.mean() * n_samples / (n_samples - 1)), float(c.std(ddof=1) / math.sqrt(n_samples))
    ref = oracle(inst["d"], inst["dist"], 1.0)
    return Measurement(abs(est - ref), 4.0 * se, "<=", label="|MC Var h - oracle| vs 4 s.e.",
                       detail={"mc": est, "oracle": ref, "stderr": se})


# ---------------------------------------------------------------- (b) feature correlation

_STRICT = 1e-9  # "rises" is strict: a ladder with no change at all must not hold
QUICK_B = {"d": 16, "n1s": (400, 1600, 9600), "n2": 3000, "m1": 2048, "m2": 128, "seeds": 6}
FULL_B = {"d": 32, "n1s": (1000, 4000, 16000), "n2": 4000, "m1": 4096, "m2": 256, "seeds": 5}


@claim(id="three_layer.feature.correlation_rises", tag="R", ref="docs/theory.md §2.3",
       paper="Nichani, Damian & Lee 2023, arXiv 2305.06986",
       statement="""after one gradient step on the middle layer, corr(phi, x^T A x) rises with n1
                 at every step of the n1 ladder and the three-layer test loss falls with it (means
                 over seeds, bands of 4 standard errors; the last corr must exceed min_corr)""",
       instances={"quick": [QUICK_B], "full": [FULL_B]}, max_examples=1,
       sigma1="abs", eta=1.0, min_corr=0.75)
def correlation_rises(inst, *, rng, sigma1: str, eta: float, min_corr: float):
    from theorycheck.papers.three_layer.learner import ThreeLayerConfig, n1_ladder
    from theorycheck.papers.three_layer.quadratic_features import quadratic_target

    cfg = ThreeLayerConfig(m1=inst["m1"], m2=inst["m2"], sigma1=sigma1, eta=eta)
    corr = np.empty((inst["seeds"], len(inst["n1s"])))
    loss = np.empty_like(corr)
    with _one_thread():
        for s in range(inst["seeds"]):
            srng = np.random.default_rng(rng.integers(2**63))
            target = quadratic_target(inst["d"], seed=srng)
            runs = n1_ladder(target, inst["n1s"], inst["n2"], srng, config=cfg, n_test=4000)
            corr[s] = [r.corr for r in runs]
            loss[s] = [r.rel_mse for r in runs]
    out = []
    sq = math.sqrt(inst["seeds"])
    for k in range(1, len(inst["n1s"])):
        dc = corr[:, k] - corr[:, k - 1]
        dl = loss[:, k - 1] - loss[:, k]
        step = f"n1 {inst['n1s'][k - 1]} -> {inst['n1s'][k]}"
        out.append(Measurement(float(dc.mean()), _STRICT, ">=", stderr=float(dc.std(ddof=1) / sq),
                               label=f"corr rise, {step}",
                               detail={"corr_mean": corr.mean(0), "corr_sd": corr.std(0, ddof=1)}))
        out.append(Measurement(float(dl.mean()), _STRICT, ">=", stderr=float(dl.std(ddof=1) / sq),
                               label=f"loss drop, {step}",
                               detail={"loss_mean": loss.mean(0), "loss_sd": loss.std(0, ddof=1)}))
    out.append(Measurement(float(corr[:, -1].mean()), min_corr, ">=",
                           stderr=float(corr[:, -1].std(ddof=1) / sq),
                           label=f"corr at n1={inst['n1s'][-1]}"))
    return out


# ---------------------------------------------------------------- (c) three vs two layers

#: The d ladder: n = n_per_d2 d^2 samples and first-layer width m1 = m1_per_d2 d^2 at every d.
QUICK_C = {"ds": (8, 12, 16), "n_per_d2": 8, "m1_per_d2": 16, "frac1": 0.8, "m2": 128,
           "seeds": 3, "gd": {"m": 128, "steps": 800}}
FULL_C = {"ds": (8, 16, 32), "n_per_d2": 8, "m1_per_d2": 16, "frac1": 0.8, "m2": 256,
          "seeds": 3, "gd": {"m": 256, "steps": 800}}
#: A GD baseline has converged when its best validation loss improved by at most this
#: fraction during the last quarter of its steps (more steps would not change what it returns).
GD_CONVERGED = 0.01
#: The convergence check applies to GD runs that set or could set the gap: those whose MSE is
#: within this factor of the best baseline's. A run twice as bad as the best baseline would
#: have to halve its MSE to matter; the runs that crept on did so by 1-2 % per quarter.
GD_RELEVANT = 2.0


def _ladder_cell(d: int, inst: dict, rng, *, eta: float, sigma1: str, baselines) -> dict:
    """One (d, seed) cell: the three-layer MSE, each baseline's MSE, the GD diagnostics."""
    from theorycheck.papers.three_layer.baselines import run_baseline
    from theorycheck.papers.three_layer.learner import ThreeLayerConfig, run_three_layer, split_budget
    from theorycheck.papers.three_layer.quadratic_features import quadratic_target

    n = inst["n_per_d2"] * d * d
    cfg = ThreeLayerConfig(m1=inst["m1_per_d2"] * d * d, m2=inst["m2"], sigma1=sigma1, eta=eta)
    n1, n2 = split_budget(n, inst["frac1"])
    srng = np.random.default_rng(rng.integers(2**63))
    target = quadratic_target(d, seed=srng)
    cell = {"three_layer": run_three_layer(target, n1, n2, srng, config=cfg, n_test=2000).rel_mse}
    for b in baselines:
        info: dict = {}
        opts = inst["gd"] if b == "two_layer_gd" else {}
        cell[b] = run_baseline(b, target, n, srng, n_test=2000, info=info, **opts)
        if b == "two_layer_gd":
            cell["gd"] = info
    return cell


@claim(id="three_layer.beats_two_layer", tag="A", ref="docs/theory.md §2.1, §2.2b",
       paper="Nichani, Damian & Lee 2023, arXiv 2305.06986",
       statement="""on f* = g*(x^T A x) with n = 8 d^2 samples, the factor best two-layer
                 baseline's relative test MSE / the three-layer learner's (degree-4 KRR, ReLU
                 random features, two-layer net trained by GD; geometric mean over seeds) grows at
                 every step of the d ladder (8, 12, 16 quick; 8, 16, 32 full) and is >= `factor`
                 (1) at the largest d, with bands of 2 standard errors; every GD baseline within 2x
                 of the best baseline's MSE has converged (best validation loss <= 1% better in
                 its last quarter of steps)""",
       instances={"quick": [QUICK_C], "full": [FULL_C]}, max_examples=1, z=2.0,
       factor=1.0, eta=1.0, sigma1="abs", gd_converged=GD_CONVERGED,
       baselines=("poly_krr", "relu_rf", "two_layer_gd"))
def beats_two_layer(inst, *, rng, factor: float, eta: float, sigma1: str, gd_converged: float,
                    baselines):
    """The paper's separation is asymptotic in d: the three-layer learner needs about d^2
    samples (measured exponent 1.6-2.0, docs/three-layer.md), two-layer methods more (2.7-3.3
    for KRR and the GD net: the degree-4 part of f* costs them ~d^4 samples). At n = 8 d^2 the
    three-layer learner's MSE should therefore stay level while the baselines' rises, so the
    factor between them grows with d; at d = 8 (n = 512 >> d^4 / 24) degree-4 KRR fits f*
    almost exactly and wins. The learner's first-layer width grows with d too
    (m1 = 16 d^2: 4096 at d = 16, the former setting): at fixed m1 = 4096 its MSE at d = 32
    was 0.38 on one seed against 0.31 at m1 = 8192 and 0.28 at m1 = 16384, a width effect,
    not a sample one. Measured (docs/three-layer.md): factor 0.02 -> 0.72 -> 1.32 over
    d = 8, 12, 16 (quick) and 0.01 -> 1.12 -> 1.64 over d = 8, 16, 32 (full).

    A factor at one size (the former statement: >= 1 at d = 20, measured 1.26-1.35) cannot
    tell a separation from a constant offset; a factor that grows with d can. The GD
    baseline returns its best-validation iterate, so "converged" is judged on validation:
    its training loss keeps falling (it overfits; 35-60 % in the last quarter of the steps),
    which is reported as ``train_rel_change`` but is not what the comparison uses. The check
    covers the GD runs that set or could set the gap (MSE within 2x of the best baseline's):
    at d = 8 the m = 256 net keeps creeping (best validation loss 0.8-1.7 % better in the last
    quarter of 800 steps, 1.3-1.4 % of 1600) while degree-4 KRR is 25x better, so those runs
    cannot move the factor; they are reported (``checked: False``), not hidden.

    Failing means the gap does not widen with d at n proportional to d^2 (no sign of the
    separation at these sizes), or three layers lose at the largest d, or a GD baseline close
    enough to the best to matter was still improving when its budget ended (an under-trained
    baseline would overstate the gap).
    Mutants (tests/test_three_layer.py): the natural control, a frozen middle layer
    (``eta=0``: no feature is learned, the same random features and read-out); a demanding
    factor; an under-trained GD baseline (20 steps), which the convergence check must catch."""
    ds = tuple(inst["ds"])
    cells = {d: [] for d in ds}
    with _one_thread():
        for d in ds:
            for _ in range(inst["seeds"]):
                cells[d].append(_ladder_cell(d, inst, rng, eta=eta, sigma1=sigma1,
                                             baselines=baselines))
    sq = math.sqrt(inst["seeds"])
    mean, se, table = {}, {}, {}
    for d in ds:
        three = np.array([c["three_layer"] for c in cells[d]])
        best = np.min(np.array([[c[b] for c in cells[d]] for b in baselines]), axis=0)
        lr = np.log(best / three)
        mean[d], se[d] = float(lr.mean()), float(lr.std(ddof=1) / sq)
        table[d] = {"factor_geomean": float(np.exp(lr.mean())), "factor_per_seed": np.exp(lr),
                    "three_layer_mse": three,
                    **{f"{b}_mse": np.array([c[b] for c in cells[d]]) for b in baselines}}
    out = []
    for lo, hi in zip(ds, ds[1:]):
        out.append(Measurement(mean[hi] - mean[lo], _STRICT, ">=",
                               stderr=math.sqrt(se[lo] ** 2 + se[hi] ** 2),
                               label=f"log-factor rise, d {lo} -> {hi}",
                               detail={"factor_lo": table[lo]["factor_geomean"],
                                       "factor_hi": table[hi]["factor_geomean"]}))
    top = ds[-1]
    out.append(Measurement(mean[top], math.log(factor), ">=", stderr=se[top],
                           label=f"log(best two-layer MSE / three-layer MSE) at d={top}",
                           detail={f"d{d}": table[d] for d in ds}))
    gd = {}
    for d in ds:
        for i, c in enumerate(cells[d]):
            if "gd" in c:
                best = min(c[b] for b in baselines)
                gd[f"d{d}_seed{i}"] = {**{k: c["gd"][k] for k in (
                    "val_rel_gain", "train_rel_change", "best_step", "steps")},
                    "mse_over_best_baseline": c["two_layer_gd"] / best,
                    "checked": c["two_layer_gd"] <= GD_RELEVANT * best}
    if gd:
        checked = [g["val_rel_gain"] for g in gd.values() if g["checked"]]
        out.append(Measurement(max(checked, default=0.0), gd_converged, "<=",
                               label="GD baselines within 2x of the best: best validation loss "
                                     "gain in the last quarter", detail=gd))
    return out
