"""``theorycheck labels``: label hierarchies (docs/theory.md §3) — show one, or run the depth study."""

from __future__ import annotations

import json
from pathlib import Path

from theorycheck.commands._common import (add_jobs_argument, add_store_argument, int_list,
                                         list_option, parse_assignment, store_path)
from theorycheck.errors import SpecError
from theorycheck.validation import check_choice, check_int


def add_parser(sub) -> None:
    p = sub.add_parser("labels", help="deep label hierarchies: show one, or run the depth study",
                       description="Deep hierarchical label models (docs/theory.md §3).")
    act = p.add_subparsers(dest="action", metavar="ACTION")
    s = act.add_parser("show", help="print a hierarchy: each label as sign(polynomial), its "
                                    "true degree in x, and the PTF verification")
    s.add_argument("--d", default=16, help="input dimension (default 16)")
    s.add_argument("--r", default=3, help="levels (default 3)")
    s.add_argument("--per-level", default=8, help="labels per level (default 8)")
    s.add_argument("--family", default="parity", help="parity | majority | junta | teacher")
    s.add_argument("--fan-in", default=2, help="parents per label (gate fan-in for teacher)")
    s.add_argument("--wiring", default="random", help="random | tree")
    s.add_argument("--vote-size", default=3, help="teacher: gates per majority vote")
    s.add_argument("--min-x-degree", default=0,
                   help="redraw labels of level l until their x-degree >= this * l (default 0)")
    s.add_argument("--seed", default=0)
    s.set_defaults(func=run_show)
    st = act.add_parser("study", help="top-level error vs depth r for the layerwise learner "
                                      "and the baselines, per-level errors, figures",
                        description="The depth study of docs/theory.md §3.3. Each (r, seed) cell is a "
                                    "'label-depth' run of the sweep engine, recorded in --store; "
                                    "rerunning skips the runs already recorded. --in-process runs "
                                    "the cells in this process without a store.")
    st.add_argument("--r", nargs="+", default=None, help="depths, e.g. 1,2,3 (the default)")
    st.add_argument("--seeds", default=None, help="seeds per depth, 0..N-1 (default 5)")
    st.add_argument("--scale", default=None, help="quick | full (default quick)")
    st.add_argument("--mlp-epochs", default=None, help="override the MLP's epochs")
    st.add_argument("--mlp-hidden", default=None,
                    help="override the MLP's hidden widths, e.g. 256,256")
    st.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a study setting (repeatable; TOML values), e.g. --set "
                         "width=1024 --set label_gain=1 --set kernel=false")
    st.add_argument("--grid", default=None, metavar="GRID.toml",
                    help="take the runs from a 'label-depth' grid file (e.g. "
                         "examples/label_depth.toml) instead of --r/--seeds/--scale/--set")
    add_store_argument(st, grid=True)
    add_jobs_argument(st, deprecated=("--workers",),
                      help="sweep worker processes (default: the cores available)")
    st.add_argument("--serial", action="store_true",
                    help="run the sweep one run at a time in this process (no dask)")
    st.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    st.add_argument("--in-process", action="store_true",
                    help="no sweep engine and no store: map the cells in this process")
    st.add_argument("--no-progress", action="store_true", help="no live progress bar")
    st.add_argument("--out", default=None, help="write the raw results as JSON here")
    st.add_argument("--figures", default=None, help="write the two PNG figures to this folder")
    st.set_defaults(func=run_study)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_show(args) -> int:
    from theorycheck.papers.labels.hierarchies import (FAMILIES, check_show_budget, degree_report,
                                                       generate, teacher, verify_ptf)
    fam = check_choice("--family", args.family, FAMILIES + ("teacher",))
    d, r = check_int("--d", args.d, min_value=1), check_int("--r", args.r, min_value=1, max_value=64)
    m = check_int("--per-level", args.per_level, min_value=1)
    k = check_int("--fan-in", args.fan_in, min_value=1)
    seed = check_int("--seed", args.seed, min_value=0)
    check_choice("--wiring", args.wiring, ("random", "tree"))
    check_show_budget(d, r, m, k, prefix="--")
    if fam == "teacher":
        v = check_int("--vote-size", args.vote_size, min_value=1)
        h = teacher(d, r, m, gate_fan_in=k, vote_size=v, seed=seed).hierarchy()
    else:
        mx = check_int("--min-x-degree", args.min_x_degree, min_value=0)
        h = generate(d, r, m, family=fam, fan_in=k, wiring=args.wiring, seed=seed,
                     min_x_degree=(lambda lev: mx * lev) if mx else None)
    print(f"# hierarchy: d={h.d} r={h.r} widths={h.widths()} K={h.K} M={h.M}")
    print(h.display())
    deg = {row["label"]: row for row in degree_report(h)}
    rep = verify_ptf(h)
    print("\n| label | level | degree | bound | x-support | x-degree | PTF certificate | ok |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rep:
        dg = deg[row["label"]]
        xd = "n/a" if dg["x_degree"] is None else dg["x_degree"]
        print(f"| {row['label']} | {row['level']} | {row['degree']} | {row['bound']} | "
              f"{dg['support']} | {xd} | {row['certificate']:.3g} | {row['ok']} |")
    bad = [row["label"] for row in rep if not row["ok"]]
    print(f"\n{len(rep) - len(bad)}/{len(rep)} labels verified as ({h.K}, {h.M})-PTFs of "
          f"their parents" + (f"; failing: {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0


def _study_config(args):
    """(scale, rs, seeds, settings) from --scale/--r/--seeds/--set/--mlp-*."""
    from theorycheck.papers.labels.depth_gap import SCALES
    scale = check_choice("--scale", args.scale or "quick", tuple(SCALES))
    rs = [check_int("--r", v, min_value=1, max_value=12)
          for v in list_option("--r", args.r or "1,2,3", prog="theorycheck labels study")]
    from theorycheck.commands._common import seed_count
    n_seeds = seed_count("--seeds", 5 if args.seeds is None else args.seeds, {"r": rs},
                         what="labels study")
    if scale == "quick" and max(rs) > 3:
        raise SpecError(f"--r {max(rs)} is invalid at --scale quick: d=16 has no depth-{max(rs)} "
                        f"parity hierarchy without collapse; use r <= 3 or --scale full")
    cfg = dict(SCALES[scale])
    if args.mlp_epochs is not None:
        cfg["mlp_epochs"] = check_int("--mlp-epochs", args.mlp_epochs, min_value=1)
    if args.mlp_hidden is not None:
        cfg["mlp_hidden"] = tuple(int_list("--mlp-hidden", args.mlp_hidden))
    for item in args.set:
        key, value = parse_assignment(item)
        if key not in cfg or key in ("r", "seed"):
            raise SpecError(f"--set {item!r} is invalid; use KEY=VALUE with KEY one of "
                            f"{', '.join(k for k in cfg)}")
        cfg[key] = value
    return scale, rs, list(range(n_seeds)), cfg


def run_study(args) -> int:
    from theorycheck.papers.labels.depth_gap import depth_study, format_table, gap_table, level_table
    from theorycheck.papers.labels.depth_sweep import study_specs
    from theorycheck.commands._common import output_file, output_folder

    if args.out is not None:
        output_file("--out", args.out)
    if args.figures is not None:
        output_folder("--figures", args.figures)

    grid_store = None
    if args.grid is not None:
        given = [f for f, v in (("--r", args.r), ("--seeds", args.seeds), ("--scale", args.scale),
                                ("--set", args.set), ("--mlp-epochs", args.mlp_epochs),
                                ("--mlp-hidden", args.mlp_hidden)) if v]
        if given:
            raise SpecError(f"{given[0]} cannot be combined with --grid (the grid file fixes the "
                            f"runs); drop {given[0]} or --grid")
        if args.in_process:
            raise SpecError("--in-process cannot be combined with --grid; drop one")
        from theorycheck.runs.sweep import load_grid
        grid = load_grid(args.grid)
        specs, grid_store = grid.runs, grid.store
        header = f"# depth study, grid={args.grid}"
    else:
        scale, rs, seeds, cfg = _study_config(args)
        specs = study_specs(rs, seeds, cfg)  # validates every setting before anything runs
        header = f"# depth study, scale={scale}"
    from theorycheck.papers.labels.depth_sweep import check_one_study
    check_one_study(specs)
    base = specs[0].config
    rs = sorted({s.config["r"] for s in specs})
    n_seeds = len({s.seed for s in specs})
    shown = ("d", "n", "width", "label_gain", "writeback", "labels_per_level", "mlp_hidden",
             "mlp_epochs")
    print(f"{header}, seeds={n_seeds}: " + " ".join(f"{k}={base[k]}" for k in shown))
    if args.in_process:
        cfg = {k: v for k, v in base.items() if k != "r"}
        results = depth_study(rs, sorted({s.seed for s in specs}), cfg)
        print("(in process, no store)\n")
    else:
        results = _sweep(args, specs, store_path(args.store, grid_store))
    print(format_table(gap_table(results)))
    print(f"\nper level at r={max(rs)}:\n")
    print(level_table(results, max(rs)))
    if args.out:
        from theorycheck.atomic import atomic_write_text
        atomic_write_text(args.out, json.dumps(results, indent=1))
        print(f"\nresults: {args.out}")
    if args.figures:
        for path in write_figures(results, args.figures):
            print(f"figure: {path}")
    return 0


def write_figures(results, outdir) -> list[Path]:
    """The two labels figures as PNGs in ``outdir``: error per level vs block at the largest
    r, and top error vs r per method."""
    from theorycheck.atomic import save_figure
    from theorycheck.papers.labels.depth_gap import error_per_block_figure, top_error_figure

    out = Path(outdir)
    return [save_figure(error_per_block_figure(results), out / "labels_error_per_block.png", dpi=120),
            save_figure(top_error_figure(results), out / "labels_top_error_vs_r.png", dpi=120)]


def _sweep(args, specs, store_path):
    import sys

    from theorycheck.commands._common import SweepProgress
    from theorycheck.papers.labels.depth_sweep import sweep_study
    from theorycheck.runs.store import Store

    from theorycheck.commands._common import worker_count
    workers = None if args.jobs is None else worker_count("--jobs", args.jobs)
    from theorycheck.runs.sweep import check_budgets
    check_budgets(specs, store_path, args.retry_failed)  # sizes, before anything is recorded
    Store(store_path).close()  # reject a non-store file before any cluster starts
    with SweepProgress(len(specs), enabled=not args.no_progress) as bar:
        results, res = sweep_study(specs, store_path, serial=args.serial, workers=workers,
                                   retry_failed=args.retry_failed, progress=bar.update)
    ran = sum(o["status"] in ("done", "failed") for o in res.outcomes)
    how = "serial" if args.serial else f"{res.workers} dask worker(s)"
    print(f"(sweep engine, store {store_path}: {len(specs)} runs, {ran} run now, {res.skipped} "
          f"already recorded; {how if ran else 'nothing to run'}; wall {res.wall_s:.1f} s)\n")
    sys.stdout.flush()
    return results
