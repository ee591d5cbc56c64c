"""``theorycheck results``: list, filter and export the runs of a results store."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING

from theorycheck.commands._common import add_store_argument, parse_assignment, store_path
from theorycheck.commands._common import console as _console

from theorycheck.errors import TheorycheckError
from theorycheck.runs import STATUSES

if TYPE_CHECKING:
    from theorycheck.runs.store import Store
from theorycheck.validation import check_choice, check_int


def add_parser(sub) -> None:
    p = sub.add_parser("results", help="list, filter and export runs of a results store",
                       description="List the runs in a results store, filtered by kind, status or "
                                   "config/summary values; export them (or their curves) as CSV, "
                                   "or Parquet when pyarrow is installed.")
    add_store_argument(p)
    p.add_argument("--kind", default=None, help="only runs of this kind")
    p.add_argument("--status", default=None, help=f"only runs with this status ({'/'.join(STATUSES)})")
    p.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                   help="only runs whose config, summary or column KEY equals VALUE (repeatable; "
                        "TOML values), e.g. --where d=16 --where verdict=holds")
    p.add_argument("--export", default=None, metavar="PATH",
                   help="write the table to PATH (.csv, or .parquet with pyarrow)")
    p.add_argument("--curves", action="store_true",
                   help="export/list the curve points (hash, metric, step, value) instead of runs")
    p.add_argument("--show", default=None, metavar="HASH", help="print one run in full (hash prefix)")
    p.add_argument("--limit", default=50, help="rows to print (default: 50; export writes all)")
    p.add_argument("--check", action="store_true",
                   help="check the store: SQLite's integrity_check, its format, and which runs "
                        "are readable (exit status 1 when anything is damaged)")
    p.set_defaults(func=run)


def _parse_where(items):
    return [parse_assignment(item, "--where") for item in items]


def _field(run: dict, key: str):
    for src in (run["config"], run["summary"] or {}, run):
        if key in src:
            return True, src[key]
    return False, None


def _matches(run: dict, where) -> bool:
    for key, value in where:
        found, v = _field(run, key)
        if not found:
            return False
        if v != value and str(v) != str(value):
            return False
    return True


def select_runs(store: Store, kind=None, status=None, where=()) -> list[dict]:
    """The runs of ``store`` with this kind and status whose fields match every ``where``
    pair; ``kind`` must be a registered kind or one the store holds, ``status`` a status."""
    if status is not None:
        check_choice("--status", status, STATUSES, error=TheorycheckError)
    if kind is not None:
        from theorycheck.runs.kinds import kinds
        known = sorted(set(kinds()) | {k for (k,) in store._query("SELECT DISTINCT kind FROM runs")})
        check_choice("--kind", kind, known, error=TheorycheckError)
    where = _parse_where(where)
    runs = store.runs(kind=kind, status=status)
    return [r for r in runs if _matches(r, where)]


def export_table(columns, rows, path: str | Path) -> Path:
    """Write a flat table as CSV or Parquet (chosen by the file suffix), atomically."""
    from theorycheck.atomic import atomic_write_bytes
    from theorycheck.commands._common import output_file
    path = Path(output_file("--export", str(path)))
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise TheorycheckError(f"--export {str(path)!r} is invalid: unknown suffix {suffix!r}; "
                               f"use .csv or .parquet")
    if suffix == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise TheorycheckError(f"--export {str(path)!r}: Parquet export needs pyarrow; "
                                   f"'pip install pyarrow' or export to .csv") from None
        data = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
        arrays = {}
        for c, vals in data.items():
            try:
                arrays[c] = pa.array(vals)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                arrays[c] = pa.array([None if v is None else str(v) for v in vals])
        pq.write_table(pa.table(arrays), path)
        return path
    import io
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(columns)
    w.writerows([["" if v is None else v for v in r] for r in rows])
    atomic_write_bytes(path, buf.getvalue().encode("utf-8"))
    return path


def run(args) -> int:
    from rich.table import Table

    from theorycheck.runs.store import Store, describe_owner, runs_table

    limit = check_int("--limit", args.limit, min_value=0)
    console = _console()
    store = store_path(args.store)
    if args.export is not None:
        from theorycheck.commands._common import output_file
        output_file("--export", args.export, (".csv", ".parquet"))
    if args.check:
        return _check(store, console)
    with Store(store, create=False) as st:
        if st.read_only:
            import sys
            print(f"note: store {store!r} is in a read-only folder (or is a read-only file); "
                  f"opened read-only", file=sys.stderr)
        if args.show is not None:
            if not args.show.strip():
                raise TheorycheckError("--show '' is invalid: an empty hash prefix; give the "
                                       "first characters of a run hash (see 'theorycheck results')")
            matches = [r for r in st.runs() if r["hash"].startswith(args.show)]
            if len(matches) != 1:
                raise TheorycheckError(f"--show {args.show!r} matches {len(matches)} runs; give a "
                                       f"longer hash prefix")
            r = matches[0]
            metrics = sorted({m for _, m, _, _ in st.curves(r["hash"])})
            console.print_json(json.dumps({**r, "curve_metrics": metrics}, default=str))
            return 0
        runs = select_runs(st, args.kind, args.status, args.where)
        if args.curves:
            hashes = {r["hash"] for r in runs}
            columns = ["hash", "metric", "step", "value"]
            rows = [list(p) for p in st.curves() if p[0] in hashes]
        else:
            columns, rows = runs_table(runs)
    if args.export:
        path = export_table(columns, rows, args.export)
        console.print(f"wrote {len(rows)} rows x {len(columns)} columns to {path}", highlight=False)
        return 0
    table = Table(title=f"{len(rows)} {'curve points' if args.curves else 'runs'} in {store}")
    shown = columns if args.curves else _brief_columns(columns, rows)
    for c in shown:
        table.add_column(c.replace("summary.", "s.").replace("config.", ""), overflow="fold")
    idx = [columns.index(c) for c in shown]
    status_of = {r["hash"]: describe_owner(r) for r in runs if r["status"] == "running"}
    for r in rows[:limit]:
        cells = [_fmt(r[i], columns[i]) for i in idx]
        if not args.curves and "status" in shown and r[0] in status_of:
            cells[shown.index("status")] = status_of[r[0]]
        table.add_row(*cells)
    console.print(table)
    if len(rows) > limit:
        console.print(f"... {len(rows) - limit} more; use --limit or --export", highlight=False)
    return 0


def _check(store: str, console) -> int:
    """``--check``: integrity_check, the format, and which runs are readable; 1 if damaged."""
    from theorycheck.runs.store import check_store
    rep = check_store(store)
    ok_integrity = rep["integrity"] == ["ok"]
    console.print(f"store {store}: integrity_check "
                  + ("ok" if ok_integrity else "found problems: " + "; ".join(rep["integrity"][:5])),
                  highlight=False, markup=False)
    console.print("format: " + ("ok" if rep["format"] is None else rep["format"]),
                  highlight=False, markup=False)
    console.print(f"{len(rep['readable'])} run(s) readable, {len(rep['damaged'])} damaged"
                  + ("" if rep["curves"] is None else f"; {rep['curves']} curve point(s)"),
                  highlight=False, markup=False)
    for what, why in rep["damaged"]:
        console.print(f"  damaged: {str(what)[:12]}: {why}", highlight=False, markup=False)
    return 0 if ok_integrity and rep["format"] is None and not rep["damaged"] else 1


def _brief_columns(columns, rows, n_summary: int = 4):
    """The run columns worth a terminal: identity, status, the config keys that vary across
    the rows, and the first few summary keys (``--export`` writes them all)."""
    keep = ["hash", "kind", "seed", "status", "seconds"]
    for i, c in enumerate(columns):
        if c.startswith("config.") and len({repr(r[i]) for r in rows if r[i] is not None}) > 1:
            keep.append(c)
    keep += [c for c in columns if c.startswith("summary.") and "stderr" not in c][:n_summary]
    return keep


def _fmt(v, col: str) -> str:
    if v is None:
        return ""
    if col == "hash":
        return str(v)[:12]
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
