"""Claim reports: a terminal table, and the same rows as JSON and Markdown."""

from __future__ import annotations

import math
import platform
import time
from pathlib import Path
from collections.abc import Sequence

from theorycheck.claims.engine import ClaimResult
from theorycheck.atomic import atomic_write_json, atomic_write_text

_STYLE = {"holds": "green", "fails": "bold red", "inconclusive": "yellow", "error": "bold magenta"}


def fmt_ratio(r: float | None) -> str:
    """A worst ratio for a table: '–' when there is none (nothing was measured)."""
    if r is None or (isinstance(r, float) and math.isnan(r)) or r == -math.inf:
        return "–"
    if math.isinf(r):
        return "inf"
    return f"{r:.3g}"


def _ratio(r: ClaimResult) -> str:
    if r.worst is None:
        return "–"
    if isinstance(r.worst_ratio, float) and math.isnan(r.worst_ratio):
        return "nan"  # a NaN measurement (it fails)
    return fmt_ratio(r.worst_ratio)


def summary(results: Sequence[ClaimResult]) -> dict:
    counts = {v: 0 for v in ("holds", "fails", "inconclusive", "error")}
    for r in results:
        counts[r.verdict] += 1
    return counts


def render_table(results: Sequence[ClaimResult], console) -> None:
    """The verdict table; below it, for every failing or erroring claim, its one-line reason
    and its reproducer. Captured warnings are not printed (they are in report.json)."""
    from rich.markup import escape
    from rich.table import Table
    table = Table(title="theorycheck claims", show_lines=False)
    with_notes = any(r.note for r in results)
    for col, kw in (("claim", {"no_wrap": True}), ("statement", {"max_width": 60}), ("instances", {"justify": "right"}),
                    ("worst ratio", {"justify": "right"}), ("verdict", {}), ("seconds", {"justify": "right"})):
        table.add_column(col, **kw)
    if with_notes:
        table.add_column("note", max_width=60, no_wrap=True, overflow="ellipsis")
    for r in results:
        row = [escape(r.claim_id), escape(r.statement), str(r.instances), _ratio(r),
               f"[{_STYLE[r.verdict]}]{r.verdict}[/]", f"{r.seconds:.1f}"]
        table.add_row(*row, *([escape(r.note)] if with_notes else []))
    console.print(table)
    for r in results:
        if r.verdict in ("fails", "error"):
            console.print(f"[bold]{escape(r.claim_id)}[/] {r.verdict}"
                          + (f" (found by {r.found_by})" if r.found_by else "")
                          + (f": {escape(r.note)}" if r.note else "")
                          + ("; reproduce with:" if r.reproducer else ""), highlight=False, soft_wrap=True)
            if r.reproducer:
                console.print(r.reproducer, highlight=False, markup=False)


def to_markdown(results: Sequence[ClaimResult], meta: dict) -> str:
    lines = ["# theorycheck report", "",
             f"scale `{meta['scale']}`, seed `{meta['seed']}`, {meta['created']}", "",
             "| claim | tag | statement | instances | worst ratio | verdict | seconds | note |",
             "|---|---|---|---:|---:|---|---:|---|"]
    for r in results:
        stmt = r.statement.replace("|", "\\|")
        note = r.note.replace("|", "\\|")
        lines.append(f"| `{r.claim_id}` | [{r.tag}] | {stmt} | {r.instances} | "
                     f"{_ratio(r)} | **{r.verdict}** | {r.seconds:.1f} | {note} |")
    bad = [r for r in results if r.verdict in ("fails", "error")]
    for r in bad:
        lines += ["", f"## `{r.claim_id}`: {r.verdict}", ""]
        if r.counterexample_repr:
            lines.append(f"Counterexample: `{r.counterexample_repr}`"
                         + (f" (found by {r.found_by})" if r.found_by else ""))
        if r.reproducer:
            lines += ["", "```python", r.reproducer, "```"]
        if r.traceback:
            lines += ["", "```", r.traceback.rstrip(), "```"]
        for e in r.errors if r.verdict == "fails" else []:
            lines += ["", f"Also raised ({e['count']}×), e.g. on `{e['instance']}`: `{e['reason']}`"]
    c = summary(results)
    lines += ["", ", ".join(f"{n} {v}" for v, n in c.items())]
    return "\n".join(lines) + "\n"


def write_reports(results: Sequence[ClaimResult], out: str | Path, *, scale: str, seed: int,
                  source: str, extra: dict | None = None) -> tuple[Path, Path]:
    """``out/report.json`` and ``out/report.md``; ``extra`` joins the meta data (how the run
    went: jobs, wall time, whether it was interrupted)."""
    meta = {"scale": scale, "seed": seed, "source": source,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "python": platform.python_version(), **(extra or {})}
    out = Path(out)
    j = atomic_write_json(out / "report.json", {"meta": meta, "summary": summary(results),
                                                 "claims": [r.to_dict() for r in results]})
    m = atomic_write_text(out / "report.md", to_markdown(results, meta))
    return j, m


def _why(r: ClaimResult) -> str:
    """One line: the counterexample of ``fails``, the reason (and instance) of ``error``, the
    note or worst ratio otherwise."""
    from theorycheck._display import brief

    if r.verdict == "error":
        return (r.note or "the measurement raised") + (
            "" if r.counterexample is None else f" on instance {brief(r.counterexample)}")
    if r.counterexample is not None:
        return f"counterexample {brief(r.counterexample)}"
    return r.note or f"worst ratio {_ratio(r)}"


class Report(Sequence):
    """The results of several claims, for a REPL or a notebook.

    A sequence of :class:`~theorycheck.claims.engine.ClaimResult` whose repr is the verdict
    counts and one line per claim that does not hold (docs/theory.md §0.2), and whose
    ``_repr_html_`` is the whole table. Build one from results, or run claims with
    :meth:`Report.run`.

    Parameters
    ----------
    results : sequence of ClaimResult
        The results, in order.

    Examples
    --------
    >>> from theorycheck import Measurement, claim
    >>> ok = claim(id="doc.ok", statement="x <= 1", paper="-", tag="M", ref="-",
    ...            instances=[0, 1])(lambda x: Measurement(x, 1))
    >>> Report.run([ok])  # doctest: +ELLIPSIS
    Report(1 claims, scale quick, seed 0: 1 holds, 0 fails, 0 inconclusive, 0 error)
    """

    #: The most claims that do not hold listed by the repr.
    REPR_ROWS = 5

    def __init__(self, results: Sequence[ClaimResult]):
        self.results = list(results)

    @classmethod
    def run(cls, claims, scale: str = "quick", seed: int = 0, **check_kwargs) -> "Report":
        """Check each claim and collect the results.

        Parameters
        ----------
        claims : iterable of Claim
            The claims (e.g. ``theorycheck.select(theorycheck.discover(), ["bfc.lemma.*"])``).
        scale : {"quick", "full"}
            Instance sizes and counts.
        seed : int
            The seed of every search.
        **check_kwargs
            Passed to :meth:`Claim.check` (``max_examples``, ``database``).

        Returns
        -------
        Report
        """
        return cls([c.check(scale=scale, seed=seed, **check_kwargs) for c in claims])

    def __getitem__(self, i):
        out = self.results[i]
        return Report(out) if isinstance(i, slice) else out

    def __len__(self) -> int:
        return len(self.results)

    @property
    def counts(self) -> dict:
        """``{verdict: count}`` over the four verdicts."""
        return summary(self.results)

    def _scale_seed(self) -> str:
        scales = sorted({r.scale for r in self.results})
        seeds = sorted({r.seed for r in self.results})
        scale = scales[0] if len(scales) == 1 else "/".join(scales)
        seed = seeds[0] if len(seeds) == 1 else "/".join(map(str, seeds))
        return f"scale {scale}, seed {seed}" if self.results else "empty"

    def __repr__(self) -> str:
        from theorycheck._display import clip

        head = (f"Report({len(self)} claims, {self._scale_seed()}: "
                + ", ".join(f"{n} {v}" for v, n in self.counts.items()) + ")")
        bad = [r for r in self.results if r.verdict != "holds"]
        lines = [head] + [f"  {r.verdict:<12} {r.claim_id}: "
                          + clip(_why(r), 100)
                          for r in bad[: self.REPR_ROWS]]
        if len(bad) > self.REPR_ROWS:
            lines.append(f"  ... and {len(bad) - self.REPR_ROWS} more that do not hold")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from theorycheck._display import Raw, html_grid

        colour = {"holds": "green", "fails": "red", "inconclusive": "darkorange", "error": "purple"}
        rows = [[r.claim_id, f"[{r.tag}]", r.statement, r.instances, _ratio(r),
                 Raw(f"<b style='color:{colour[r.verdict]}'>{r.verdict}</b>"), f"{r.seconds:.1f}"]
                for r in self.results]
        return html_grid(f"theorycheck claims ({self._scale_seed()})",
                         ["claim", "tag", "statement", "instances", "worst ratio", "verdict", "s"],
                         rows, note=", ".join(f"{n} {v}" for v, n in self.counts.items()))

    def to_markdown(self) -> str:
        """The report as Markdown (the ``report.md`` of ``theorycheck check``)."""
        scales = sorted({r.scale for r in self.results}) or ["-"]
        seeds = sorted({r.seed for r in self.results}) or ["-"]
        return to_markdown(self.results, {"scale": "/".join(scales),
                                          "seed": "/".join(map(str, seeds)),
                                          "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
