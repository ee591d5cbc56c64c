"""Claim reports: a terminal table, and the same rows as JSON and Markdown."""

from __future__ import annotations

import math
import platform
import time
from pathlib import Path
from typing import Sequence

from theorycheck.claims.engine import ClaimResult
from theorycheck.atomic import atomic_write_json, atomic_write_text

_STYLE = {"holds": "green", "fails": "bold red", "inconclusive": "yellow", "error": "bold magenta"}


def fmt_ratio(r: float) -> str:
    if r is None or (isinstance(r, float) and math.isnan(r)):
        return "n/a"
    if math.isinf(r):
        return "inf"
    return f"{r:.3g}"


def summary(results: Sequence[ClaimResult]) -> dict:
    counts = {v: 0 for v in ("holds", "fails", "inconclusive", "error")}
    for r in results:
        counts[r.verdict] += 1
    return counts


def render_table(results: Sequence[ClaimResult], console) -> None:
    from rich.markup import escape
    from rich.table import Table
    table = Table(title="theorycheck claims", show_lines=False)
    for col, kw in (("claim", {"no_wrap": True}), ("statement", {"max_width": 60}), ("instances", {"justify": "right"}),
                    ("worst ratio", {"justify": "right"}), ("verdict", {}), ("seconds", {"justify": "right"})):
        table.add_column(col, **kw)
    for r in results:
        table.add_row(escape(r.claim_id), escape(r.statement), str(r.instances), fmt_ratio(r.worst_ratio),
                      f"[{_STYLE[r.verdict]}]{r.verdict}[/]", f"{r.seconds:.1f}")
    console.print(table)
    for r in results:
        if r.verdict in ("fails", "error") and r.reproducer:
            console.print(f"[bold]{escape(r.claim_id)}[/] {r.verdict}; reproduce with:", highlight=False)
            console.print(r.reproducer, highlight=False, markup=False)


def to_markdown(results: Sequence[ClaimResult], meta: dict) -> str:
    lines = ["# theorycheck report", "",
             f"scale `{meta['scale']}`, seed `{meta['seed']}`, {meta['created']}", "",
             "| claim | tag | statement | instances | worst ratio | verdict | seconds |",
             "|---|---|---|---:|---:|---|---:|"]
    for r in results:
        stmt = r.statement.replace("|", "\\|")
        lines.append(f"| `{r.claim_id}` | [{r.tag}] | {stmt} | {r.instances} | "
                     f"{fmt_ratio(r.worst_ratio)} | **{r.verdict}** | {r.seconds:.1f} |")
    bad = [r for r in results if r.verdict in ("fails", "error")]
    for r in bad:
        lines += ["", f"## `{r.claim_id}`: {r.verdict}", ""]
        if r.counterexample_repr:
            lines.append(f"Counterexample: `{r.counterexample_repr}`")
        if r.reproducer:
            lines += ["", "```python", r.reproducer, "```"]
        if r.traceback:
            lines += ["", "```", r.traceback.rstrip(), "```"]
    c = summary(results)
    lines += ["", ", ".join(f"{n} {v}" for v, n in c.items())]
    return "\n".join(lines) + "\n"


def write_reports(results: Sequence[ClaimResult], out: str | Path, *, scale: str, seed: int,
                  source: str) -> tuple[Path, Path]:
    meta = {"scale": scale, "seed": seed, "source": source,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "python": platform.python_version()}
    out = Path(out)
    j = atomic_write_json(out / "report.json", {"meta": meta, "summary": summary(results),
                                                 "claims": [r.to_dict() for r in results]})
    m = atomic_write_text(out / "report.md", to_markdown(results, meta))
    return j, m
