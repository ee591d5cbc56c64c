"""Which optimiser? The false lemmas of the corpus, caught at effort quick by the engine with
its optimiser phase configured four ways (docs/lemmas.md, "Why Powell"):

* ``default``: Powell's method plus the discrete moves (vertex and near-repeat passes);
* ``powell-only``: Powell's method alone (no discrete moves);
* ``nelder-mead``: Nelder-Mead (adaptive) in place of Powell, with the discrete moves;
* ``differential-evolution``: scipy's differential evolution over one period of the box
  charts, with the discrete moves;
* ``*-only``: the same local optimisers without the discrete moves.

With ``--truth true`` the table also reports how close each variant climbs to the equality
cases of the true lemmas (none may fail): the mean worst ratio and the number of lemma-seeds
whose worst ratio is within 1e-6 of 1.

    python benchmarks/falsification/ablation.py [--seeds 0 1 2] [--truth false|true|all]

Every variant gets the same evaluation budget (the claim's default); the table counts catches
(false lemmas) or flags (true lemmas) and sums the engine's wall time.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE / "lemmas"))

from theorycheck import Claim  # noqa: E402
from theorycheck.claims import optimise  # noqa: E402

VARIANTS = {
    "default": ("powell", True),
    "nelder-mead": ("nelder-mead", True),
    "differential-evolution": ("differential-evolution", True),
    "powell-only": ("powell", False),
    "nelder-mead-only": ("nelder-mead", False),
    "differential-evolution-only": ("differential-evolution", False),
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--truth", choices=("false", "true", "all"), default="false")
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    import false_lemmas
    import true_lemmas
    mods = {"false": [false_lemmas], "true": [true_lemmas], "all": [false_lemmas, true_lemmas]}[args.truth]
    claims = [v for m in mods for v in vars(m).values() if isinstance(v, Claim)]
    true = args.truth == "true"
    print(f"| variant | {'flagged' if true else 'caught'} (seed {', '.join(map(str, args.seeds))}) | "
          + ("mean worst ratio | within 1e-6 of equality |" if true else "missed |")
          + " engine time (s) |\n|---|---|---|" + ("---|" if true else "") + "---:|")
    for name in args.variants:
        optimise.LOCAL_METHOD, optimise.DISCRETE_MOVES = VARIANTS[name]
        t0, per, missed, ratios = time.perf_counter(), [], [], []
        for seed in args.seeds:
            got = 0
            for c in claims:
                res = c.check(seed=seed)
                got += res.verdict == "fails" if not true else res.verdict != "holds"
                if res.verdict != "fails":
                    missed.append(f"{c.id.split('.')[-1]}@{seed}")
                ratios.append(res.worst_ratio)
            per.append(got)
        cols = (f"{sum(ratios) / len(ratios):.6f} | {sum(r >= 1 - 1e-6 for r in ratios)} of {len(ratios)}"
                if true else (", ".join(missed) if len(missed) < 12 else f"{len(missed)} lemma-seeds"))
        print(f"| {name} | {', '.join(map(str, per))} of {len(claims)} | {cols} | "
              f"{time.perf_counter() - t0:.1f} |", flush=True)
    optimise.LOCAL_METHOD, optimise.DISCRETE_MOVES = VARIANTS["default"]
    return 0


if __name__ == "__main__":
    sys.exit(main())
