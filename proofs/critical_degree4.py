"""The two-layer (degree-4) critical lemma: the measured law as a claim, and the study.

docs/theory.md §1.8.4, second half. Model (``theorycheck.papers.bfc.critical``): the BFC
target with L = 2, G(x) = ||W sigma(x) + V x||^2, sigma(x) = x^2 - 1 [R]. Near
the target (W, V) = (W*, V*) + perturbation, the feature error up to rotation
err = min_U sqrt(E||U S_2 - S*_2||^2) and the loss E[(G - G*)^2] are both exact.

The study (run ``python -m proofs.critical_degree4 --plot docs/img/critical_degree4.png``)
measured, over kappa in {1, 2, 4, 8, 16}, (d, k) in {(2,1), (3,2), (4,3), (5,3)},
4 targets each, 13 log-spaced perturbation sizes eps in [1e-4, 1] and 5 directions
(random -> adversarial), the worst constants of two laws:

* err * sigma_k(B*) <= C_HALF * loss^{1/2}     (the loss^{1/2} law, constant ~ 1/sigma_k)
* err <= C_QUARTER * loss^{1/4}                (kappa-free)

The claim states these laws with a margin of 2 on the measured worst constants.

``theorycheck.papers.bfc.critical`` is imported where it is used, so that listing the claims
stays cheap.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np
from hypothesis import strategies as st

from theorycheck.atomic import save_figure
from theorycheck.claims.engine import Measurement, claim

#: Worst measured err * sigma_k / loss^{1/2} (0.544) and err / loss^{1/4} (0.817) of the
#: default study, rounded up; tests/test_lemmas.py re-runs the study and checks both.
C_HALF = 0.55
C_QUARTER = 0.82
MARGIN = 2.0

STUDY = dict(kappas=(1.0, 2.0, 4.0, 8.0, 16.0), dims=((2, 1), (3, 2), (4, 3), (5, 3)), seeds=4,
             eps=tuple(np.geomspace(1e-4, 1.0, 13)), mixes=(0.0, 0.25, 0.5, 0.75, 1.0))


@st.composite
def degree4_instances(draw):
    """Targets in the study's domain (kappa <= 16, eps <= 1, d <= 5, k <= 3) and a perturbation."""
    from theorycheck.papers.bfc.critical import draw_target, perturb

    d = draw(st.integers(2, 5))
    k = draw(st.integers(1, 3))
    kappa = draw(st.sampled_from([1.0, 2.0, 4.0, 8.0, 16.0]))
    eps = 10.0 ** draw(st.floats(-4, 0))
    mix = draw(st.floats(0, 1))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    Ms = draw_target(d, k, kappa, rng)
    return {"d": d, "k": k, "kappa": kappa, "eps": eps, "mix": mix, "seed": seed,
            "M_star": Ms, "M": perturb(Ms, eps, mix, rng)}


@claim(id="bfc.lemma.critical_degree4", tag="M", ref="docs/theory.md §1.8.4 (two layers)",
       paper="Allen-Zhu & Li, Backward Feature Correction (arXiv 2001.04413)",
       statement=f"G = ||W sigma(x) + V x||^2 near its target (kappa <= 16, eps <= 1): feature error "
                 f"up to rotation err <= {MARGIN:g}*{C_HALF}*loss^(1/2)/sigma_k and err <= "
                 f"{MARGIN:g}*{C_QUARTER}*loss^(1/4) (measured laws, margin {MARGIN:g})",
       instances={"quick": degree4_instances(), "full": degree4_instances()},
       max_examples={"quick": 300, "full": 2000},
       margin=MARGIN, c_half=C_HALF, c_quarter=C_QUARTER, quarter_power=0.25, sigma_scaled=True)
def critical_degree4(inst, *, margin, c_half, c_quarter, quarter_power, sigma_scaled):
    from theorycheck.papers.bfc.critical import degree4_loss, feature_error, whiten

    M, Ms = inst["M"], inst["M_star"]
    loss = degree4_loss(M, Ms)
    err = feature_error(M, Ms)
    sk = float(np.linalg.svd(whiten(Ms), compute_uv=False)[-1]) if sigma_scaled else 1.0
    slack = 1e-12 * float(np.linalg.norm(whiten(Ms)))
    return [Measurement(err * sk, margin * c_half * math.sqrt(loss) + slack, label="err * sigma_k",
                        detail={"loss": loss, "err": err, "sigma_k": sk}),
            Measurement(err, margin * c_quarter * loss ** quarter_power + slack, label="err",
                        detail={"loss": loss})]


def run_study(**overrides):
    """The default study's points and one :class:`~theorycheck.papers.bfc.critical.LawFit` per kappa
    (plus one over all kappas, with ``kappa = nan``)."""
    from theorycheck.papers.bfc.critical import fit_law, study

    cfg = {**STUDY, **overrides}
    pts = study(**cfg)
    fits = [fit_law([p for p in pts if p.kappa == kap]) for kap in cfg["kappas"]]
    fits_adv = [fit_law([p for p in pts if p.kappa == kap and p.mix == 1.0]) for kap in cfg["kappas"]]
    fits_near = [fit_law([p for p in pts if p.kappa == kap and p.eps <= 1e-2]) for kap in cfg["kappas"]]
    return pts, fits, fits_adv, fits_near, fit_law(pts)


def _table(pts, fits, fits_adv, fits_near, overall) -> str:
    from theorycheck.papers.bfc.critical import degree4_constant

    lines = ["| kappa | points | exponent (95% CI) | exponent, adversarial direction | "
             "exponent, eps <= 1e-2 | worst err/loss^1/2 | worst err*sigma_k/loss^1/2 | "
             "worst err/loss^1/4 |", "|---:|---:|---|---|---|---:|---:|---:|"]
    for f, fa, fn in zip(fits, fits_adv, fits_near):
        lines.append(f"| {f.kappa:g} | {f.n} | {f.exponent:.3f} [{f.ci_low:.3f}, {f.ci_high:.3f}] | "
                     f"{fa.exponent:.3f} [{fa.ci_low:.3f}, {fa.ci_high:.3f}] | "
                     f"{fn.exponent:.3f} [{fn.ci_low:.3f}, {fn.ci_high:.3f}] | "
                     f"{f.worst_half:.3f} | {f.worst_half_sk:.3f} | {f.worst_quarter:.3f} |")
    o = overall
    lines.append(f"| all | {o.n} | {o.exponent:.3f} [{o.ci_low:.3f}, {o.ci_high:.3f}] | | | "
                 f"{o.worst_half:.3f} | {o.worst_half_sk:.3f} | {o.worst_quarter:.3f} |")
    d = sorted({p.d for p in pts})
    lines.append("")
    lines.append("proven loss^1/2 constant sqrt(1/(2(sqrt2-1) lambda)): "
                 + ", ".join(f"d={x}: {degree4_constant(x):.4f}" for x in d))
    return "\n".join(lines)


def figure(pts, fits, *, ax=None, bins: int = 14):
    """The worst feature error against the loss per kappa, with the loss^1/4 and loss^1/2
    laws (docs/theory.md §1.8.4); returns the Figure (``main`` saves it).

    One message: the worst error over the study's instances stays under the loss^(1/4) law
    and follows loss^(1/2). Each marker is the largest error among the points of one
    logarithmic loss bin (the worst case is what the lemma bounds), one line per kappa, so
    thousands of points do not overplot.

    Parameters
    ----------
    pts : sequence
        The study's points (``kappa``, ``loss``, ``err``).
    fits : sequence
        One exponent fit per kappa, in the order of the sorted kappas.
    ax : matplotlib.axes.Axes, optional
        Draw here (default: a new figure at page width).
    bins : int
        Logarithmic loss bins.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib import colormaps

    from theorycheck.plotting import MIN_FONT, finish, page_figsize, subplots

    kappas = sorted({p.kappa for p in pts})
    fig, ax_ = subplots(ax, figsize=(page_figsize()[0], 5.0))
    cmap = colormaps["viridis"]
    lo = min(p.loss for p in pts if p.loss > 0)
    hi = max(p.loss for p in pts)
    edges = np.geomspace(lo, hi * (1 + 1e-12), bins + 1)
    for i, (kap, f) in enumerate(zip(kappas, fits)):
        sel = [p for p in pts if p.kappa == kap and p.loss > 0]
        loss = np.array([p.loss for p in sel])
        err = np.array([p.err for p in sel])
        which = np.clip(np.digitize(loss, edges) - 1, 0, bins - 1)
        x, y = [], []
        for b in range(bins):
            inb = which == b
            if inb.any():
                k = int(np.argmax(np.where(inb, err, -np.inf)))
                x.append(loss[k])
                y.append(err[k])
        ax_.plot(x, y, "o-", ms=4, lw=1, color=cmap(i / max(1, len(kappas) - 1)),
                 label=f"$\\kappa = {kap:g}$: slope {f.exponent:.2f} [{f.ci_low:.2f}, {f.ci_high:.2f}]")
    grid = np.geomspace(lo, hi, 50)
    ax_.plot(grid, C_QUARTER * grid ** 0.25, "k--", lw=1.2,
             label=f"${C_QUARTER}\\,\\mathcal{{L}}^{{1/4}}$")
    ax_.plot(grid, C_HALF * np.sqrt(grid), "k:", lw=1.2,
             label=f"${C_HALF}\\,\\mathcal{{L}}^{{1/2}}$ ($\\sigma_k = 1$)")
    ax_.set(xscale="log", yscale="log")
    ax_.set_xlabel("loss $\\mathcal{L} = \\mathbb{E}[(G - G^*)^2]$ (exact)", fontsize=10)
    ax_.set_ylabel("feature error $\\min_U \\|W - U W^*\\|_F$", fontsize=10)
    ax_.set_title("Degree-4 critical lemma: $G = \\|W\\sigma(x) + Vx\\|^2$ near its target",
                  fontsize=10)
    ax_.tick_params(labelsize=MIN_FONT + 1)
    leg = ax_.legend(fontsize=MIN_FONT, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
                     title=f"markers: worst error per loss bin ({len(pts)} points)\n"
                           "slope: all points [95% bootstrap interval]")
    leg.get_title().set_fontsize(MIN_FONT)
    return finish(fig, ax is None)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m proofs.critical_degree4",
                                 description="Run the degree-4 critical-lemma study and print the "
                                             "fitted exponents and worst constants per kappa.")
    ap.add_argument("--plot", default=None, help="save the scatter plot here (PNG)")
    args = ap.parse_args(argv)
    res = run_study()
    print(_table(*res))
    if args.plot:
        save_figure(figure(res[0], res[1]), args.plot, dpi=150, bbox_inches="tight")
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
