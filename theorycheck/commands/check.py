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
    p.add_argument("-j", "--jobs", default=None, metavar="N",
                   help="worker processes (default: the cores available to this process); "
                        "1 runs every claim in this process; the report is the same for any N")
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
    from theorycheck.claims.parallel import (CheckInterrupted, default_jobs, previous_seconds, run_claims,
                                             start_workers)
    from theorycheck.validation import check_int

    seed = check_int("--seed", args.seed, min_value=0, max_value=2**32 - 1)
    max_examples = (None if args.max_examples is None else
                    check_int("--max-examples", args.max_examples, min_value=1))
    jobs = default_jobs() if args.jobs is None else check_int("--jobs", args.jobs, min_value=1)
    optimise = (False if args.no_optimise else None if args.optimise_evals is None else
                check_int("--optimise-evals", args.optimise_evals, min_value=1))
    if not args.list:
        from theorycheck.commands._common import output_folder
        output_folder("--out", args.out)
    database = None if args.no_example_db else Path(args.out) / ".hypothesis"
    # the whole built-in library on several cores: the workers start while the claims are
    # discovered (a user's folder may change hypothesis settings as it is imported)
    early = jobs if not (args.list or args.claim or args.path) else 1
    with start_workers(early, args.path) as workers:
        claims = select(discover(args.path), args.claim)
        console = _console()
        if args.list:
            for c in claims:
                console.print(f"{c.id}  [{c.tag}] {c.ref}: {c.statement}", highlight=False, markup=False)
            return 0
        previous = previous_seconds(args.out, args.scale)
        t0 = time.perf_counter()
        interrupted = False
        with _LiveProgress(len(claims), jobs) as live:
            try:
                results = run_claims(claims, scale=args.scale, seed=seed, max_examples=max_examples,
                                     database=database, jobs=jobs, source=args.path,
                                     optimise=optimise, previous=previous, progress=live,
                                     workers=workers)
            except CheckInterrupted as exc:
                if not exc.results:
                    from theorycheck.errors import Interrupted
                    raise Interrupted(f"no claim finished (0 of {len(claims)}); no report "
                                      f"written") from None
                results, interrupted = exc.results, True
    return _finish(args, console, results, seed=seed, jobs=jobs, total=len(claims),
                   wall=time.perf_counter() - t0, interrupted=interrupted)


def _finish(args, console, results, *, seed: int, jobs: int, total: int, wall: float,
            interrupted: bool) -> int:
    """Table, reports and counterexamples of the claims that finished (all of them unless
    interrupted): the one place a check's report is written."""
    from theorycheck.claims.lemmas import reproducer, save_counterexample
    from theorycheck.claims.parallel import record_seconds
    from theorycheck.claims.report import render_table, summary, write_reports
    for r in results:
        r.reproducer = reproducer(r, args.path)  # a user folder's claims need its path
    render_table(results, console)
    counts = summary(results)
    j, m = write_reports(results, args.out, scale=args.scale, seed=seed,
                         source=args.path or "builtin proofs",
                         extra={"jobs": jobs, "wall_seconds": round(wall, 3),
                                "finished": len(results), "selected": total,
                                "interrupted": interrupted})
    record_seconds(args.out, args.scale, results)  # the order of the next run
    for r in results:
        saved = save_counterexample(r, Path(args.out) / "counterexamples", args.path)
        if saved is not None:
            console.print(f"{r.claim_id}: counterexample saved to {saved} (+ .npz, .json)",
                          highlight=False, markup=False)
    if results:
        slow = max(results, key=lambda r: r.seconds)
        busy = sum(r.seconds for r in results)
        console.print(f"slowest claim: {slow.claim_id} {slow.seconds:.1f}s, "
                      f"{100 * slow.seconds / busy if busy else 0:.0f}% of the {busy:.1f}s the "
                      f"claims took (wall {wall:.1f}s with -j {jobs})", highlight=False, markup=False)
    console.print(", ".join(f"{n} {v}" for v, n in counts.items())
                  + f" in {wall:.1f}s; reports: {j}, {m}", highlight=False)
    sys.stdout.flush()
    if interrupted:
        from theorycheck.errors import Interrupted
        raise Interrupted(f"{len(results)} of {total} claims checked; their verdicts are in "
                          f"{j} and {m}")
    return 1 if counts["fails"] or counts["error"] else 0


class _LiveProgress:
    """The live display on stderr: a bar of finished claims, and one line per running task
    (claim id, its part when the claim is split, time so far)."""

    def __init__(self, total: int, jobs: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.total, self.jobs, self.rows = total, jobs, {}

    def __enter__(self):
        self.bar.__enter__()
        self.main = self.bar.add_task(f"claims (-j {self.jobs})", total=self.total)
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

    def started(self, token: int, label: str) -> None:
        self.rows[token] = self.bar.add_task(f"  {label}", total=None)

    def finished(self, token: int) -> None:
        row = self.rows.pop(token, None)
        if row is not None:
            self.bar.remove_task(row)

    def claim_done(self, result) -> None:
        self.bar.advance(self.main)

    def tick(self) -> None:
        pass
