"""``theorycheck tighten``: how tight is a claim? The worst ratio a full search finds, its witness
and how it was found, against the claim's stated constant (docs/theory.md §0.2; docs/lemmas.md,
"Tightness")."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from theorycheck.commands._common import console as _console


def add_parser(sub) -> None:
    from theorycheck.claims import SCALES

    p = sub.add_parser("tighten", help="report the worst ratio each claim reaches, against its constant",
                       description="Search each claim hard (hypothesis, then the optimiser phase "
                                   "with its whole budget) and report the largest measured-over-bound "
                                   "ratio, its witness instance and how it was found, against the "
                                   "claim's stated constant (its 'constant' knob). Exit status 1 if a "
                                   "claim is violated.")
    p.add_argument("claims", nargs="+", metavar="ID", help="claim ids or globs, e.g. 'bfc.lemma.*'")
    p.add_argument("--path", default=None,
                   help="a folder (or .py file) of your own claims; default: the built-in proofs")
    p.add_argument("--scale", choices=SCALES, default="quick", help="instance sizes and counts (default: quick)")
    p.add_argument("--seed", default=0, help="seed of the search (default: 0)")
    p.add_argument("--max-examples", default=None, metavar="N",
                   help="hypothesis instances (an integer >= 1), overriding each claim's own effort")
    p.add_argument("--optimise-evals", default=None, metavar="N",
                   help="evaluations of the optimiser phase (an integer >= 1); default: the claim's budget")
    p.add_argument("--constant", default="constant", metavar="KNOB",
                   help="the knob holding each claim's stated constant (default: %(default)s)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the rows as JSON to PATH")
    p.set_defaults(func=run)


def run(args) -> int:
    from rich.markup import escape
    from rich.table import Table

    from theorycheck.atomic import atomic_write_json
    from theorycheck.claims.discovery import discover
    from theorycheck.claims.engine import select
    from theorycheck.claims.tighten import tighten
    from theorycheck.validation import check_int

    seed = check_int("--seed", args.seed, min_value=0, max_value=2**32 - 1)
    max_examples = (None if args.max_examples is None else
                    check_int("--max-examples", args.max_examples, min_value=1))
    optimise = (None if args.optimise_evals is None else
                check_int("--optimise-evals", args.optimise_evals, min_value=1))
    claims = select(discover(args.path), args.claims)
    console = _console()
    rows = []
    for c in claims:
        console.print(f"tightening {c.id} ...", highlight=False, markup=False, style="dim")
        rows.append(tighten(c, scale=args.scale, seed=seed, max_examples=max_examples,
                            optimise=optimise, constant=args.constant))
    table = Table(title=f"theorycheck tighten (scale {args.scale}, seed {seed})")
    for col, kw in (("claim", {"no_wrap": True}), ("worst ratio", {"justify": "right"}),
                    ("found by", {}), ("stated", {"justify": "right"}),
                    ("needed", {"justify": "right"}), ("reading", {"max_width": 40}),
                    ("witness", {"max_width": 60})):
        table.add_column(col, **kw)
    for t in rows:
        table.add_row(escape(t.claim_id), "–" if t.worst_ratio is None else f"{t.worst_ratio:.4g}",
                      t.found_by or "–", "–" if t.constant is None else f"{t.constant:.5g}",
                      "–" if t.needed is None else f"{t.needed:.5g}", escape(t.reading),
                      escape(t.witness))
    console.print(table)
    for t in rows:
        console.print(t.line(), highlight=False, markup=False, soft_wrap=True)
    if args.json:
        atomic_write_json(Path(args.json), {"scale": args.scale, "seed": seed,
                                            "rows": [json.loads(json.dumps(t.to_dict(), default=str))
                                                     for t in rows]})
    sys.stdout.flush()
    return 1 if any(t.verdict == "fails" for t in rows) else 0
