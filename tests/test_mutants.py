"""Falsification: every lemma of docs/theory.md §1.8 has mutated versions that must be caught.

A mutant changes one knob of a claim: a constant moved by a factor 2 in the direction that
*strengthens* the statement ("constant halved" for an upper bound, doubled for a lower
bound), a wrong sign, a missing term, or a Monte Carlo estimate with too few samples. It is
caught when the claim reports ``fails`` (with the shrunk counterexample) or ``inconclusive``.

Mutants that are provably still true (weakening, not strengthening) are listed in
``EQUIVALENT`` and must *hold*: a check that flagged them would be wrong.

Print the detection table and rate with ``python tests/test_mutants.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

if __name__ == "__main__":  # pragma: no cover
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from theorycheck import find_claim
from theorycheck.claims.engine import describe_result
from theorycheck.maths.gaussian import gaussian_moment
from theorycheck.maths.procrustes import CRITICAL_CONSTANT, PROCRUSTES_CONSTANT


def _halved_moment(n):
    return gaussian_moment(n) / 2 if n else 1


def _signed_moment(n):
    return (-1) ** (n // 2) * gaussian_moment(n)


def _absolute_moment(n):
    """E|z|^n: equal to E[z^n] for even n, the size of the quadrature's terms for odd n."""
    import math
    return 2 ** (n / 2) * math.gamma((n + 1) / 2) / math.sqrt(math.pi)


_QUAD = [("constant halved (2‖.‖² -> 1‖.‖²)", {"c_frob": 1.0}),
         ("wrong sign (+tr^2 -> -tr^2)", {"trace_sign": -1.0}),
         ("missing trace term", {"trace_term": False})]

MUTANTS: dict[str, list[tuple[str, dict]]] = {
    "bfc.lemma.quadratic_moments.exact": _QUAD,
    "bfc.lemma.quadratic_moments.single_layer": _QUAD,
    "bfc.lemma.quadratic_moments.monte_carlo": _QUAD + [
        ("Monte Carlo with too few samples (100)", {"n_samples": 100})],
    "bfc.lemma.isometry_invariance": [
        ("constant halved (U -> U/2, Q -> Q/2)", {"scale": 0.5}),
        ("wrong side (rotate the input: W R)", {"side": "right"})],
    "bfc.lemma.procrustes_gram": [
        ("constant halved", {"constant": PROCRUSTES_CONSTANT / 2}),
        ("missing sigma_k^2 term", {"sigma_power": 0.0}),
        ("wrong power sigma_k^1", {"sigma_power": 1.0})],
    "bfc.lemma.critical_single_layer": [
        ("constant halved", {"constant": CRITICAL_CONSTANT / 2}),
        ("wrong sign (+tr^2 -> -tr^2 in the loss)", {"trace_sign": -1.0})],
    "bfc.lemma.top_degree_hermite": [
        ("constant doubled (lower bound strengthened)", {"constant": 2.0}),
        ("missing symmetrisation (‖T‖ for ‖Sym T‖)", {"symmetrise": False}),
        ("lower-degree terms counted as top degree", {"top_only": False})],
    "bfc.lemma.lift_spanning": [
        ("too few lift rows (p = k(k+1)/2 - 1)", {"p_offset": -1}),
        ("wrong activation (identity for sigma)", {"activation": "identity"})],
    "bfc.lemma.critical_degree4": [
        ("constant halved (half the measured worst constants)", {"margin": 0.5}),
        ("wrong exponent (loss^1/2 for loss^1/4)", {"quarter_power": 0.5}),
        ("missing sigma_k (kappa-free loss^1/2 law)", {"sigma_scaled": False})],
    "gaussian.moments.double_factorial": [
        ("constant halved ((2n-1)!!/2)", {"moment": _halved_moment}),
        ("wrong sign ((-1)^(n/2) (2n-1)!!)", {"moment": _signed_moment}),
        ("odd moments non-zero (E|z|^n, the terms' own size)", {"moment": _absolute_moment})],
    "gaussian.mc.agrees_with_exact": [
        ("biased sampler (x -> 1.1 x)", {"sampler_scale": 1.1}),
        ("Monte Carlo with too few samples (4)", {"n_samples": 4})],
    "bfc.separation.bound_below_network": [
        ("frozen top layer (layer 3 kept at its initialisation)", {"learner": "frozen-top"}),
        ("a kernel's measured error in place of the network (poly, q = 2^L)", {"learner": "poly"})],
    "bfc.separation.exponent_grows_with_depth": [
        ("top degree capped at 4 (what a depth-2 analysis sees)", {"max_degree": 4}),
        ("margin quadrupled (e grows by >= 2 per layer)", {"margin": 2.0}),
        ("frozen top layer in the network's exponent (layer 3 kept at its initialisation)",
         {"learner": "frozen-top"})],
    "bfc.classification.e2e_fits": [
        ("layerwise training in place of end-to-end", {"mode": "layerwise"}),
        ("threshold divided by 8 (error <= 0.001)", {"threshold": 0.001})],
    "bfc.classification.layerwise_gap": [
        ("end-to-end training in place of layerwise", {"mode": "e2e"}),
        ("gap factor 6 (layerwise errs >= 6x as often as e2e)", {"factor": 6.0})],
}

#: Still-true mutants (weaker statements); they must hold.
EQUIVALENT: dict[str, list[tuple[str, dict]]] = {
    "bfc.lemma.critical_single_layer": [
        ("missing trace term (loss -> 2||Gram gap||^2): the bound becomes exactly item 3's, "
         "which is true", {"trace_term": False})],
}

CASES = [(cid, name, knobs) for cid, ms in MUTANTS.items() for name, knobs in ms]


def run_mutant(claim_id: str, name: str, knobs: dict, seed: int = 0):
    c = find_claim(claim_id).variant(name.split(" (")[0].replace(" ", "_"), **knobs)
    return c.check(scale="quick", seed=seed)


@pytest.mark.parametrize("claim_id,name,knobs", CASES, ids=[f"{c}:{n.split(' (')[0]}" for c, n, _ in CASES])
def test_mutant_is_caught(claim_id, name, knobs):
    res = run_mutant(claim_id, name, knobs)
    assert res.verdict in ("fails", "inconclusive"), describe_result(res)
    if res.verdict == "fails":
        assert res.counterexample is not None and res.reproducer


@pytest.mark.parametrize("claim_id,name,knobs",
                         [(c, n, k) for c, ms in EQUIVALENT.items() for n, k in ms])
def test_equivalent_mutant_still_holds(claim_id, name, knobs):
    res = run_mutant(claim_id, name, knobs)
    assert res.verdict == "holds", describe_result(res)


def test_every_lemma_claim_has_mutants():
    from theorycheck import discover
    ids = {c.id for c in discover() if c.id.startswith(("bfc.lemma.", "gaussian."))}
    assert ids <= set(MUTANTS), f"claims without mutants: {sorted(ids - set(MUTANTS))}"
    assert all(len(v) >= 2 for v in MUTANTS.values())


def main() -> int:  # pragma: no cover
    caught, rows, t0 = 0, [], time.perf_counter()
    for cid, name, knobs in CASES:
        res = run_mutant(cid, name, knobs)
        ok = res.verdict in ("fails", "inconclusive")
        caught += ok
        cex = res.counterexample_repr or ""
        rows.append(f"| `{cid}` | {name} | {res.verdict} | {res.instances} | "
                    f"{cex[:60].replace('|', '/')} |")
    print("| claim | mutant | verdict | instances | shrunk counterexample |")
    print("|---|---|---|---:|---|")
    print("\n".join(rows))
    print(f"\nmutation detection rate: {caught}/{len(CASES)} = {caught / len(CASES):.0%} "
          f"({time.perf_counter() - t0:.1f}s)")
    return 0 if caught == len(CASES) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
