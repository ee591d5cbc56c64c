"""Which optimiser? The false lemmas of the corpus, caught at effort quick by the engine with
its optimiser phase configured four ways (docs/lemmas.md, "Why Powell"):

* ``default``: Powell's method plus the discrete moves (vertex and near-repeat passes);
* ``powell-only``: Powell's method alone (no discrete moves);
* ``nelder-mead``: Nelder-Mead (adaptive) in place of Powell, with the discrete moves;
* ``differential-evolution``: scipy's differential evolution over one period of the box
  charts, with the discrete moves.

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
    "powell-only": ("powell", False),
    "nelder-mead": ("nelder-mead", True),
    "differential-evolution": ("differential-evolution", True),
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
    print(f"| variant | {'caught' if args.truth == 'false' else 'fails'} (seed "
          f"{', '.join(map(str, args.seeds))}) | missed | engine time (s) |\n|---|---|---|---:|")
    for name in args.variants:
        optimise.LOCAL_METHOD, optimise.DISCRETE_MOVES = VARIANTS[name]
        t0, per, missed = time.perf_counter(), [], []
        for seed in args.seeds:
            got = 0
            for c in claims:
                res = c.check(seed=seed)
                got += res.verdict == "fails"
                if res.verdict != "fails":
                    missed.append(f"{c.id.split('.')[-1]}@{seed}")
            per.append(got)
        print(f"| {name} | {', '.join(map(str, per))} of {len(claims)} | "
              f"{', '.join(missed) if len(missed) < 12 else f'{len(missed)} lemma-seeds'} | "
              f"{time.perf_counter() - t0:.1f} |", flush=True)
    optimise.LOCAL_METHOD, optimise.DISCRETE_MOVES = VARIANTS["default"]
    return 0


if __name__ == "__main__":
    sys.exit(main())
