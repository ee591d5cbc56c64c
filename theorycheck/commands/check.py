"""``theorycheck check``: run claims, print the table, write JSON and Markdown reports."""

from __future__ import annotations

from theorycheck.commands._common import console as _console

import sys
import time
from pathlib import Path

from theorycheck.claims import SCALES


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="run the claims (the built-in library by default)",
                       description="Run every discovered claim and report holds / fails / "
                                   "inconclusive. Exit status 1 if any claim fails or errors.")
    p.add_argument("path", nargs="?", default=None,
                   help="a folder (or .py file) of your own claims; default: the built-in proofs")
    p.add_argument("-c", "--claim", action="append", default=[], metavar="ID",
                   help="claim id or glob (repeatable), e.g. 'bfc.target.*'")
    p.add_argument("--scale", choices=SCALES, default="quick",
                   help="instance sizes and counts (default: quick)")
    p.add_argument("--seed", default=0, help="seed for every search (default: 0)")
    p.add_argument("--max-examples", default=None, metavar="N",
                   help="instances per hypothesis search (an integer >= 1), overriding each "
                        "claim's own effort; on a grid, its first N instances")
    p.add_argument("--out", default="theorycheck-report", help="report folder (default: %(default)s)")
    p.add_argument("--no-example-db", action="store_true",
                   help="do not remember failing examples in OUT/.hypothesis (by default they "
                        "are saved there and replayed first on the next run)")
    p.add_argument("--no-optimise", action="store_true",
                   help="skip the optimiser phase that follows each hypothesis search (by default "
                        "an optimiser climbs the violation ratio from the best instances found)")
    p.add_argument("--optimise-evals", default=None, metavar="N",
                   help="evaluations of the optimiser phase per claim (an integer >= 1), "
                        "overriding each claim's own budget")
    p.add_argument("--list", action="store_true", help="list the claim ids and exit")
    p.set_defaults(func=run)


def run(args) -> int:
    from theorycheck.claims.discovery import discover
    from theorycheck.claims.engine import select
    from theorycheck.claims.lemmas import reproducer, save_counterexample
    from theorycheck.claims.report import render_table, summary, write_reports
    from theorycheck.validation import check_int

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    seed = check_int("--seed", args.seed, min_value=0, max_value=2**32 - 1)
    max_examples = (None if args.max_examples is None else
                    check_int("--max-examples", args.max_examples, min_value=1))
    optimise = (False if args.no_optimise else None if args.optimise_evals is None else
                check_int("--optimise-evals", args.optimise_evals, min_value=1))
    if not args.list:
        from theorycheck.commands._common import output_folder
        output_folder("--out", args.out)
    database = None if args.no_example_db else Path(args.out) / ".hypothesis"
    claims = select(discover(args.path), args.claim)
    console = _console()
    if args.list:
        for c in claims:
            console.print(f"{c.id}  [{c.tag}] {c.ref}: {c.statement}", highlight=False, markup=False)
        return 0
    results = []
    t0 = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("claims", total=len(claims))
        try:
            for c in claims:
                bar.update(task, description=f"checking {c.id}")
                results.append(c.check(scale=args.scale, seed=seed, max_examples=max_examples,
                                       database=database, optimise=optimise))
                bar.advance(task)
        except KeyboardInterrupt:
            raise _interrupted(results, claims, args, seed) from None
    for r in results:
        r.reproducer = reproducer(r, args.path)  # a user folder's claims need its path
    render_table(results, console)
    counts = summary(results)
    j, m = write_reports(results, args.out, scale=args.scale, seed=seed,
                         source=args.path or "builtin proofs")
    for r in results:
        saved = save_counterexample(r, Path(args.out) / "counterexamples", args.path)
        if saved is not None:
            console.print(f"{r.claim_id}: counterexample saved to {saved} (+ .npz, .json)",
                          highlight=False, markup=False)
    console.print(", ".join(f"{n} {v}" for v, n in counts.items())
                  + f" in {time.perf_counter() - t0:.1f}s; reports: {j}, {m}", highlight=False)
    sys.stdout.flush()
    return 1 if counts["fails"] or counts["error"] else 0


def _interrupted(results, claims, args, seed):
    """Ctrl-C during the claims: write the verdicts so far (atomically) and say where."""
    from theorycheck.claims.report import write_reports
    from theorycheck.errors import Interrupted
    if not results:
        return Interrupted(f"no claim finished (0 of {len(claims)}); no report written")
    j, m = write_reports(results, args.out, scale=args.scale, seed=seed,
                         source=args.path or "builtin proofs")
    return Interrupted(f"{len(results)} of {len(claims)} claims checked; their verdicts are in "
                       f"{j} and {m}")
