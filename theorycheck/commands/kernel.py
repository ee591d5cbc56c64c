"""``theorycheck kernel``: kernel methods against the network on the BFC target (docs/theory.md §1.7).

Actions: ``span`` (default) runs the span-lemma experiment at one (kernel, d, q, N);
``scaling`` runs the sample-complexity study (every learner on the same fixed N) and prints
the fitted exponent table, writing the cells as JSON; ``figure`` draws test error vs N, one
panel per d, with the D_q thresholds marked, from a JSON file written by ``scaling``.
"""

from __future__ import annotations

import json
from pathlib import Path


from theorycheck.commands._common import (action_parser, add_valued_options, int_list, name_list,
                                         real_list, store_help, store_path)
from theorycheck.errors import SpecError
from theorycheck.validation import check_choice, check_int

ACTIONS = ("span", "scaling", "figure")
SPAN_OPTIONS = (
    ("--kernel", "poly", "span: poly, gaussian or rf (default poly)"),
    ("--d", 6, "span: input dimension (default 6)"),
    ("--q", 4, "span: Hermite degree (default 4)"),
    ("--N", 60, "span: sample count (default 60)"),
)
SCALING_OPTIONS = (
    ("--ds", "6,8,10,12", "scaling: d values"),
    ("--ns", "16,32,64,128,256,512,1024,2048,4096", "scaling: N values"),
    ("--Ls", None, "scaling: target depths (default 2,3); figure: keep only these"),
    ("--seeds", 3, "scaling: number of seeds (default 3)"),
)


def add_parser(sub) -> None:
    p = action_parser(sub, "kernel", "kernel methods, the span lemma and sample-complexity scaling",
                      __doc__, ACTIONS, "span")
    add_valued_options(p, SPAN_OPTIONS + SCALING_OPTIONS)
    p.add_argument("--learners", default=None, help="scaling: learners (default poly,gaussian,network); "
                                                     "figure: keep only these")
    p.add_argument("--steps", default=1500, help="scaling: network steps per stage (default 1500)")
    p.add_argument("--eps", default="0.5", help="scaling/figure: relative test error threshold(s), "
                                                 "comma-separated (default 0.5)")
    p.add_argument("--jobs", default=1, help="scaling: worker processes (default 1)")
    p.add_argument("--json", default="docs/img/kernel_scaling.json",
                   help="scaling: cells out / figure: in (comma-separated files are merged)")
    p.add_argument("--out", default="docs/img/kernel_scaling.png", help="figure: image path")
    p.add_argument("--seed", default=0, help="span: seed")
    p.add_argument("--from-store", nargs="?", default=None, const="", metavar="PATH",
                   help="scaling: read the cells from the results store written by 'theorycheck "
                        "sweep examples/kernel_scaling.toml' instead of computing them; without "
                        "PATH: " + store_help()[len("results store file ("):-1])
    p.set_defaults(func=run)


def run(args) -> int:
    check_choice("action", args.action, ACTIONS)
    return {"span": _span, "scaling": _scaling, "figure": _figure}[args.action](args)


def _span(args) -> int:
    import numpy as np

    from theorycheck.papers.bfc.span_lemma import SPAN_KERNELS, span_experiment
    kernel = check_choice("kernel", args.kernel, SPAN_KERNELS)
    r = span_experiment(kernel, check_int("d", args.d, min_value=1), check_int("q", args.q, min_value=1),
                        check_int("N", args.N, min_value=1),
                        np.random.default_rng(check_int("seed", args.seed, min_value=0)))
    print(f"kernel={kernel} d={r.d} q={r.q} N={r.N}: dim H={r.dim_H}, D_q={r.D_q}, dim P_q H={r.rank_U}")
    print(f"E||f_q - Pi_H f_q||^2 / r^2 >= {r.exact:.4f} (exact over random directions), "
          f"Monte Carlo {r.mc_mean:.4f} +- {r.mc_stderr:.4f}; span-lemma bound 1 - N/D_q = {r.bound:.4f}")
    return 0


def _scaling(args) -> int:
    import time
    from theorycheck.papers.bfc.kernel_scaling import cells_to_records, kernel_study
    ds, ns, Ls = int_list("ds", args.ds), int_list("ns", args.ns), int_list("Ls", args.Ls or "2,3")
    seeds = range(check_int("seeds", args.seeds, min_value=2))
    epss = _eps(args.eps)
    learners = name_list(args.learners or "poly,gaussian,network")
    jobs = check_int("jobs", args.jobs, min_value=1)
    t0 = time.perf_counter()
    opts = dict(Ls=Ls, learners=learners, steps=check_int("steps", args.steps, min_value=1))
    if args.from_store is not None:
        from theorycheck.papers.bfc.kernel_scaling import cells_from_store
        cells = cells_from_store(store_path(args.from_store or None))
    elif jobs > 1:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(jobs) as ex:
            cells = kernel_study(ds, ns, seeds, map=ex.map, **opts)
    else:
        cells = kernel_study(ds, ns, seeds, **opts)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"eps": epss[0], "cells": cells_to_records(cells)}, indent=1))
    _tables(cells, epss)
    print(f"{len(cells)} cells in {time.perf_counter() - t0:.0f} s; cells written to {out}")
    return 0


def _eps(text) -> list[float]:
    return real_list("eps", text)


def _tables(cells, epss) -> None:
    from theorycheck.papers.bfc.kernel_scaling import error_degree, format_scaling_table, scaling_rows
    for eps in epss:
        print(format_scaling_table(scaling_rows(cells, eps), eps))
        ds = sorted({c.task.d for c in cells})
        qs = {L: error_degree(ds[len(ds) // 2], L, eps, n=20000)[0] for L in sorted({c.task.L for c in cells})}
        print("degree carried by the remaining error q* (Monte Carlo energies at d="
              f"{ds[len(ds) // 2]}): " + ", ".join(f"L={L}: {q}" for L, q in qs.items()) + "\n")


def _figure(args) -> int:
    from theorycheck.papers.bfc.kernel_figures import scaling_figure
    from theorycheck.papers.bfc.kernel_scaling import cells_from_records
    records = []
    for name in name_list(args.json):
        src = Path(name)
        if not src.is_file():
            raise SpecError(f"--json {src} does not exist; run 'theorycheck kernel scaling --json {src}' first")
        records += json.loads(src.read_text())["cells"]
    if args.Ls:
        keep = set(int_list("Ls", args.Ls))
        records = [r for r in records if r["L"] in keep]
    if args.learners:
        keep = set(name_list(args.learners))
        records = [r for r in records if r["learner"] in keep]
    if not records:
        raise SpecError("no cells left after --Ls/--learners; check the filters against the JSON files")
    data = {"eps": _eps(args.eps)[0], "cells": records}
    _tables(cells_from_records(records), _eps(args.eps))
    from theorycheck.atomic import save_figure
    path = save_figure(scaling_figure(data), args.out, dpi=120)
    print(f"wrote {path}")
    return 0
