"""``theorycheck plot RUN...``: figures of stored training runs (docs/theory.md §1.6)."""

from __future__ import annotations

from pathlib import Path

from theorycheck.commands._common import DEFAULT_FIGURES, add_store_argument, store_path
from theorycheck.errors import SpecError


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="figures of stored training runs",
                       description="Write loss curves of the runs on one log axis and per-layer "
                                   "feature error over time (stage boundaries marked) as PNG.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run hash or unique prefix (see "
                                                          "'theorycheck results')")
    add_store_argument(p)
    p.add_argument("--out", default=DEFAULT_FIGURES, help="output folder (default: %(default)s)")
    p.set_defaults(func=run)


def curve_rows(store, h: str) -> list[dict]:
    """A run's curves as rows ``{"step": s, metric: value, ...}`` ordered by step."""
    by_step: dict[int, dict] = {}
    for _, metric, step, value in store.curves(h):
        by_step.setdefault(step, {"step": step})[metric] = value
    return [by_step[s] for s in sorted(by_step)]


def resolve(store, prefixes) -> list[dict]:
    runs = store.runs(kind="bfc-train")
    out = []
    for p in prefixes:
        hits = [r for r in runs if r["hash"].startswith(p)]
        if not hits:
            raise SpecError(f"run {p!r} is not a bfc-train run in the store; list them with "
                            f"'theorycheck results --kind bfc-train'")
        if len(hits) > 1:
            raise SpecError(f"run prefix {p!r} matches {len(hits)} runs; give more characters")
        out.append(hits[0])
    return out


def write_figures(store_path, hashes, labels, out) -> list[Path]:
    from theorycheck.atomic import save_figure
    from theorycheck.papers.bfc.plots import feature_error_figure, loss_figure
    from theorycheck.runs.store import Store
    with Store(store_path, create=False) as st:
        runs = {lab: curve_rows(st, h) for lab, h in zip(labels, hashes)}
    out = Path(out)
    paths = [save_figure(loss_figure(runs), out / "bfc_loss.png", dpi=120, bbox_inches="tight")]
    hier = {k: v for k, v in runs.items() if any("err_lin_2" in r for r in v)}
    if hier:
        paths.append(save_figure(feature_error_figure(hier), out / "bfc_feature_error.png",
                                 dpi=120, bbox_inches="tight"))
    return paths


def run(args) -> int:
    from rich.console import Console

    from theorycheck.runs.store import Store
    from theorycheck.commands._common import output_folder
    output_folder("--out", args.out)
    store = store_path(args.store)
    if not Path(store).is_file():
        raise SpecError(f"store {store!r} does not exist; train first or pass --store")
    with Store(store, create=False) as st:
        runs = resolve(st, args.runs)
    labels = [f"{r['config'].get('mode')} {r['hash'][:8]}" for r in runs]
    for p in write_figures(store, [r["hash"] for r in runs], labels, args.out):
        Console().print(f"wrote {p}", highlight=False)
    return 0
