"""``theorycheck kernel``: kernel methods against the network on the BFC target (docs/theory.md §1.7).

Actions: ``span`` (default) runs the span-lemma experiment at one (kernel, d, q, N);
``scaling`` runs the sample-complexity study (every learner on the same fixed N) and prints
the fitted exponent table, writing the cells as JSON; ``figure`` draws test error vs N, one
panel per d, with the D_q thresholds marked, from a JSON file written by ``scaling``.
"""

from __future__ import annotations

import json
from pathlib import Path


from theorycheck.commands._common import (DEFAULT_FIGURES, action_parser, add_jobs_argument,
                                         add_valued_options, int_list, name_list, real_list,
                                         store_help, store_path)
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
    ("--ds", None, "scaling: d values (default 6,8,10,12); figure: the panels' d (default: the "
                   "smallest and the largest)"),
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
    p.add_argument("--ridge-grid", default="fixed", choices=("fixed", "spectral"),
                   help="scaling: kernel ridge penalties: fixed (1e-8 .. 1e-2, default) or spectral "
                        "(decades down to the Gram spectrum's rounding floor, one eigendecomposition "
                        "per fit: reaches the interpolation regime)")
    p.add_argument("--ridge-solver", default="eigh", choices=("eigh", "cholesky"),
                   help="scaling, spectral grid: one eigendecomposition per fit (eigh, default) or "
                        "one Cholesky factorisation per penalty (cholesky: the same penalties and "
                        "fits to rounding, cheaper for training sets in the thousands)")
    p.add_argument("--bracket-ds", default=None,
                   help="scaling/figure: also fit the poly kernel's exponent with these d added where "
                        "they are not measured, each seed's N_required bracketed between the "
                        "every-kernel bound and the interpolation size C(d + 2^L, 2^L) / 0.8 "
                        "(comma-separated, e.g. 10)")
    p.add_argument("--eps", default="0.5", help="scaling/figure: relative test error threshold(s), "
                                                 "comma-separated (default 0.5)")
    add_jobs_argument(p, help="scaling: worker processes, one BLAS thread each (default: the cores "
                              "available)")
    p.add_argument("--json", default=f"{DEFAULT_FIGURES}/kernel_scaling.json",
                   help="scaling: cells out / figure: in (comma-separated files are merged; "
                        "default %(default)s)")
    p.add_argument("--out", default=f"{DEFAULT_FIGURES}/kernel_scaling.png",
                   help="figure: image path (default %(default)s)")
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
    kernel = check_choice("--kernel", args.kernel, SPAN_KERNELS)
    r = span_experiment(kernel, check_int("--d", args.d, min_value=1),
                        check_int("--q", args.q, min_value=1),
                        check_int("--N", args.N, min_value=1),
                        np.random.default_rng(check_int("--seed", args.seed, min_value=0)),
                        names={"d": "--d", "q": "--q", "N": "--N"})
    print(f"kernel={kernel} d={r.d} q={r.q} N={r.N}: dim H={r.dim_H}, D_q={r.D_q}, dim P_q H={r.rank_U}")
    bound = (f"span-lemma bound 1 - N/D_q = {r.bound:.4f}" if r.dim_H < r.D_q else
             f"span-lemma bound max(0, 1 - N/D_q) = 0 (vacuous: dim H = {r.dim_H} >= D_q = "
             f"{r.D_q}, so the kernel can span every degree-{r.q} direction)")
    print(f"E||f_q - Pi_H f_q||^2 / r^2 >= {r.exact:.4f} (exact over random directions), "
          f"Monte Carlo {r.mc_mean:.4f} +- {r.mc_stderr:.4f}; {bound}")
    return 0


def _scaling(args) -> int:
    import time
    from theorycheck.papers.bfc.kernel_scaling import cells_to_records, kernel_study
    ds, ns, Ls = int_list("ds", args.ds or "6,8,10,12"), int_list("ns", args.ns), int_list("Ls", args.Ls or "2,3")
    from theorycheck.commands._common import seed_count
    seeds = range(seed_count("--seeds", args.seeds, {"d": ds, "n": ns, "L": Ls}, min_value=2,
                             what="kernel scaling"))
    epss = _eps(args.eps)
    from theorycheck.commands._common import output_file
    from theorycheck.papers.bfc.kernel_scaling import LEARNERS
    learners = [check_choice("--learners", name, LEARNERS)
                for name in name_list(args.learners or "poly,gaussian,network")]
    from theorycheck.claims.parallel import default_jobs
    from theorycheck.commands._common import worker_count
    jobs = worker_count("--jobs", default_jobs() if args.jobs is None else args.jobs)
    output_file("--json", args.json, (".json",))
    if args.from_store is None and any(name != "network" for name in learners):
        from theorycheck.budget import check_memory
        from theorycheck.papers.bfc.kernel_scaling import curve_memory_bytes
        spectral = args.ridge_grid == "spectral"
        workers = min(jobs, len(ds) * len(seeds) * len(Ls) * len(learners))
        check_memory(lambda n: workers * curve_memory_bytes(n, spectral=spectral), "--ns", max(ns),
                     what=f"the Gram matrices of {workers} curve(s) at once", lo=8,
                     others="--jobs")  # the largest curves, before any cell runs
    t0 = time.perf_counter()
    opts = dict(Ls=Ls, learners=learners, steps=check_int("steps", args.steps, min_value=1),
                ridge_grid=args.ridge_grid, ridge_solver=args.ridge_solver)
    if args.from_store is not None:
        from theorycheck.papers.bfc.kernel_scaling import cells_from_store
        cells = cells_from_store(store_path(args.from_store or None))
    else:
        from theorycheck.runs.pool import process_map
        with process_map(jobs) as pmap:
            cells = kernel_study(ds, ns, seeds, map=pmap, **opts)
    from theorycheck.atomic import atomic_write_text
    out = Path(args.json)
    atomic_write_text(out, json.dumps({"eps": epss[0], "cells": cells_to_records(cells)}, indent=1))
    _tables(cells, epss, args.bracket_ds)
    print(f"{len(cells)} cells in {time.perf_counter() - t0:.0f} s; cells written to {out}")
    return 0


def _eps(text) -> list[float]:
    return real_list("eps", text)


def _tables(cells, epss, bracket_ds=None) -> None:
    from theorycheck.papers.bfc.kernel_scaling import (bracketed_rows, error_degree, format_bracketed_table,
                                                       format_scaling_table, scaling_rows)
    brackets = int_list("--bracket-ds", bracket_ds, min_value=2) if bracket_ds else []
    for eps in epss:
        print(format_scaling_table(scaling_rows(cells, eps), eps))
        if brackets and any(c.task.learner == "poly" for c in cells):
            print("\n" + format_bracketed_table(bracketed_rows(cells, eps, brackets), eps))
        ds = sorted({c.task.d for c in cells})
        qs = {L: error_degree(ds[len(ds) // 2], L, eps, n=20000)[0] for L in sorted({c.task.L for c in cells})}
        print(f"degree carried by the remaining error q* (energies by degree at d={ds[len(ds) // 2]}: "
              f"exact least squares where the Hermite basis fits, else Monte Carlo): "
              + ", ".join(f"L={L}: {q}" for L, q in qs.items()) + "\n")


def _figure(args) -> int:
    from theorycheck.papers.bfc.kernel_figures import scaling_figure
    from theorycheck.papers.bfc.kernel_scaling import cells_from_records
    from theorycheck.commands._common import output_file
    output_file("--out", args.out, (".png", ".pdf", ".svg"))
    records = []
    names = name_list(args.json)
    if not names:
        raise SpecError(f"--json={args.json!r} is invalid: no file named; pass the JSON file "
                        f"written by 'theorycheck kernel scaling'")
    for name in names:
        records += _cells_file(Path(name))
    if args.Ls:
        keep = set(int_list("Ls", args.Ls))
        records = [r for r in records if r["L"] in keep]
    if args.learners:
        keep = set(name_list(args.learners))
        records = [r for r in records if r["learner"] in keep]
    if not records:
        raise SpecError("no cells left after --Ls/--learners; check the filters against the JSON files")
    data = {"eps": _eps(args.eps)[0], "cells": records}
    try:
        cells = cells_from_records(records)
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError(f"--json {args.json!r} holds cells of another layout ({type(exc).__name__}: "
                        f"{exc}); write them again with 'theorycheck kernel scaling'") from None
    _tables(cells, _eps(args.eps), args.bracket_ds)
    from theorycheck.atomic import save_figure
    ds = None if args.ds is None else int_list("ds", args.ds)
    path = save_figure(scaling_figure(data, ds=ds), args.out, dpi=150)
    print(f"wrote {path}")
    return 0


def _cells_file(src: Path) -> list[dict]:
    """The ``cells`` of a JSON file written by ``kernel scaling``; one line for a missing,
    unreadable, non-UTF-8 or malformed file."""
    fix = f"run 'theorycheck kernel scaling --json {src}' first"
    if not src.is_file():
        raise SpecError(f"--json {str(src)!r} does not exist" + (" (it is a folder)" if src.is_dir()
                                                                 else "") + f"; {fix}")
    try:
        data = json.loads(src.read_bytes().decode("utf-8"))
    except OSError as exc:
        from theorycheck.errors import file_error
        raise file_error(exc, str(src), "read --json") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise SpecError(f"--json {str(src)!r} is not valid JSON ({' '.join(str(exc).split())}); "
                        f"{fix}") from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) and "L" in c and "learner" in c
                                              for c in cells):
        raise SpecError(f"--json {str(src)!r} has no list of cells (each with L and learner); "
                        f"{fix}")
    return cells
