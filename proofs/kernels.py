"""Claims on kernel methods and their lower bound (docs/theory.md §1.7).

(a) the span lemma [M]: a kernel predictor lies in a label-free space H of dimension
    <= N, so a random degree-q direction of norm r keeps residual >= r^2 (1 - N/D_q);
    measured on hypothesis-drawn (kernel, d, q, N) with the exact V_q sections of the
    kernel (theorycheck.papers.bfc.span_lemma) and a Monte Carlo over random directions.
    Knob ``with_factor=False`` is the mutant bound r^2 (no (1 - N/D_q) factor): it must fail.
(b) the scaling claim [A, measured]: on the BFC target the kernel's sample-size exponent
    (N_required ~ d^e at a fixed relative test error) is at least the degree carried by the
    remaining error minus ``margin`` and exceeds the network's exponent (every learner on the
    same fixed N). Knob ``margin`` (a negative margin demands more than the lemma gives) and
    ``degree`` make failing variants.

The kernel code is imported inside the strategy and the measures, so that listing the claims
stays cheap.
"""

from __future__ import annotations

import contextlib
import functools

from hypothesis import strategies as st

from theorycheck.claims.engine import Measurement, claim

#: The kernels of the span lemma, as in ``theorycheck.papers.bfc.span_lemma.SPAN_KERNELS``
#: (written out so that building the strategy imports nothing; tests/test_import_cost.py
#: checks that the two agree).
SPAN_KERNELS = ("poly", "gaussian", "rf")


def _one_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl is a core dependency; kept for bare installs
        return contextlib.nullcontext()
    return threadpool_limits(1)


@st.composite
def span_instances(draw, max_D: int = 330):
    from theorycheck.papers.bfc.span_lemma import dim_q

    kernel = draw(st.sampled_from(SPAN_KERNELS))
    q = draw(st.integers(1, 4))
    d = draw(st.integers(2, 8))
    while d > 2 and dim_q(d, q) > max_D:
        d -= 1
    D = dim_q(d, q)
    N = draw(st.integers(1, max(1, int(1.2 * D))))
    inst = {"kernel": kernel, "d": d, "q": q, "N": N, "r": draw(st.sampled_from([0.5, 1.0, 3.0]))}
    if kernel == "rf":
        inst["m"] = N        # the random-feature predictor space has dimension <= m
    return inst


@claim(id="kernels.span_lemma", tag="M", ref="docs/theory.md §1.7 (span lemma)",
       paper="Allen-Zhu & Li 2023, arXiv 2001.04413 (kernel lower bound)",
       statement="""for a random degree-q direction f_q of norm r in V_q (dim D_q = C(d+q-1, q))
                 and the predictor space H of a kernel on N label-free Gaussian inputs (poly,
                 gaussian, random features), E||f_q - Pi_H f_q||^2 >= r^2 (1 - N/D_q); the exact
                 expectation over directions is checked against the bound and a 2000-direction
                 Monte Carlo against the exact value (z-score <= 4)""",
       instances={"quick": span_instances(), "full": span_instances(max_D=1000)},
       max_examples={"quick": 20, "full": 120}, with_factor=True, directions=2000)
def span_lemma(inst, *, rng, with_factor: bool, directions: int):
    from theorycheck.papers.bfc.span_lemma import span_experiment

    opts = {"m": inst["m"]} if inst["kernel"] == "rf" else {}
    with _one_thread():
        r = span_experiment(inst["kernel"], inst["d"], inst["q"], inst["N"], rng, r=inst["r"],
                            directions=directions, **opts)
    dim_H = min(r.dim_H, r.N) if inst["kernel"] != "rf" else r.dim_H
    bound = r.r2 * (1.0 - dim_H / r.D_q) if with_factor else r.r2
    z = abs(r.mc_mean - r.exact) / (r.mc_stderr + 1e-9 * r.r2)   # rounding floor when U = V_q
    detail = {"D_q": r.D_q, "dim_H": dim_H, "rank_PqH": r.rank_U, "mc": r.mc_mean, "stderr": r.mc_stderr}
    return [Measurement(r.exact, bound - 1e-9 * r.r2, ">=", label="E residual >= bound", detail=detail),
            Measurement(z, 4.0, "<=", label="Monte Carlo z-score vs exact", detail=detail)]


QUICK_SCALING = {"L": 2, "ds": (6, 8, 10), "ns": (16, 32, 64, 128, 256, 512, 1024), "seeds": (0, 1, 2),
                 "eps": 0.01, "kernel": "poly", "steps": 1500}
FULL_SCALING = {"L": 2, "ds": (6, 8, 10, 12, 14), "ns": (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192),
                "seeds": (0, 1, 2, 3, 4), "eps": 0.01, "kernel": "poly", "steps": 1500}


@functools.lru_cache(maxsize=4)
def _study(L, ds, ns, seeds, kernel, steps):
    """The measured cells of one study (deterministic in its arguments; cached so that a variant
    with another bound reads the same measurements instead of recomputing them)."""
    from theorycheck.papers.bfc.kernel_scaling import kernel_study
    with _one_thread():
        return tuple(kernel_study(ds, ns, seeds, Ls=(L,), learners=(kernel, "network"), steps=steps))


@claim(id="kernels.scaling.kernel_exponent", tag="A", ref="docs/theory.md §1.1.3, §1.7 (scaling)",
       paper="Allen-Zhu & Li 2023, arXiv 2001.04413 (kernel lower bound)",
       statement="""on the BFC target (every learner on the same fixed N), N_required ~ d^e at
                 relative test error eps: the kernel's exponent (lower end of its 95% interval over
                 seeds) is at least q* - margin, q* the degree carried by the remaining error
                 (largest q whose energy tail exceeds eps of the top-term energy), and exceeds the
                 network's exponent (upper end of its interval)""",
       instances={"quick": [QUICK_SCALING], "full": [FULL_SCALING]}, max_examples=1,
       margin=1.5, degree=None)
def kernel_exponent(inst, *, margin: float, degree: int | None):
    from theorycheck.papers.bfc.kernel_scaling import error_degree, scaling_rows
    cells = _study(inst["L"], tuple(inst["ds"]), tuple(inst["ns"]), tuple(inst["seeds"]), inst["kernel"],
                   inst["steps"])
    with _one_thread():
        q_star = degree if degree is not None else error_degree(inst["ds"][len(inst["ds"]) // 2],
                                                                inst["L"], inst["eps"])[0]
    rows = {r.learner: r for r in scaling_rows(cells, inst["eps"])[inst["L"]]}
    k, net = rows[inst["kernel"]], rows["network"]
    detail = {"kernel_e": k.exponent, "kernel_ci": (k.lo, k.hi), "network_e": net.exponent,
              "network_ci": (net.lo, net.hi), "q_star": q_star, "censored": (k.censored, net.censored)}
    return [Measurement(k.lo, q_star - margin, ">=", label="kernel exponent >= q* - margin", detail=detail),
            Measurement(k.lo - net.hi, 0.0, ">=", label="kernel exponent > network exponent",
                        detail=detail)]
