"""``theorycheck three-layer``: the three-layer learner on g*(x^T A x) (docs/theory.md §2.2, §2.3).

Actions: ``run`` (default) fits one learner and prints corr(phi, h*) and the test
loss (with ``--baselines``, the two-layer baselines at the same n); ``exponents``
runs the sample-size exponent study through the sweep engine (one ``three-layer-fit``
run per cell, recorded in ``--store``; a rerun skips finished cells); ``figures`` writes
the docs figures and the exponent table in one go.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path


from theorycheck.commands._common import (DEFAULT_FIGURES, action_parser, add_jobs_argument,
                                         add_store_argument, add_valued_options,
                                         int_list, name_list, real_list, store_path)
from theorycheck.errors import SpecError
from theorycheck.validation import check_choice, check_int

ACTIONS = ("run", "exponents", "figures")


def add_parser(sub) -> None:
    p = action_parser(sub, "three-layer", "three-layer feature learning on g*(x^T A x)", __doc__,
                      ACTIONS, "run")
    add_valued_options(p, (
        ("--d", None, "input dimension (default 16, or the size of --matrix)"),
        ("--n1", 4000, "stage-1 samples (default 4000)"),
        ("--n2", 1000, "stage-2 samples (default 1000)"),
        ("--m1", 2048, "first-layer width (default 2048)"),
        ("--m2", 128, "second-layer width (default 128)"),
    ))
    add_valued_options(p, (
        ("--sigma1", "abs", "first activation: abs (default), relu, tanh, square"),
        ("--dist", "sphere", "inputs: sphere (default) or gaussian"),
        ("--rank", None, "rank of the random A (default: full)"),
        ("--matrix", None, "a .npy or text file holding your own A"),
    ))
    p.add_argument("--normalise", action="store_true",
                   help="symmetrise / remove trace / rescale a given A (with a warning) "
                        "instead of rejecting it")
    p.add_argument("--seed", default=0, help="seed (default 0)")
    p.add_argument("--baselines", action="store_true",
                   help="run: also fit the two-layer baselines at n = n1 + n2")
    p.add_argument("--ds", default="8,12,16,20", help="exponents/figures: d values")
    p.add_argument("--ns", default="125,250,500,1000,2000,4000", help="exponents/figures: n values")
    p.add_argument("--seeds", default=5, help="exponents/figures: number of seeds (default 5)")
    p.add_argument("--eps", default="0.4,0.5,0.6",
                   help="exponents: target relative MSE values (default 0.4,0.5,0.6)")
    p.add_argument("--learners", default="three_layer,poly_krr,relu_rf,two_layer_gd",
                   help="exponents: learners to include")
    add_jobs_argument(p, deprecated=("--workers",),
                      help="exponents/figures: worker processes, one BLAS thread each (default: "
                           "the cores available; 1: serial, in this process)")
    p.add_argument("--serial", action="store_true",
                   help="exponents: run the cells one by one in this process (no dask)")
    add_store_argument(p, grid=True)
    p.add_argument("--grid", default=None,
                   help="exponents: a sweep grid file of kind three-layer-fit (e.g. "
                        "examples/three_layer_exponents.toml) instead of --ds/--ns/--seeds/--learners")
    p.add_argument("--retry-failed", action="store_true", help="exponents: rerun failed cells")
    p.add_argument("--out", default=DEFAULT_FIGURES,
                   help="figures/exponents: output folder (default %(default)s)")
    p.set_defaults(func=run)


def _matrix(text: str):
    """The matrix of ``--matrix``: a .npy file, or a text file of rows of numbers; every
    failure to read it is one line naming the file."""
    import numpy as np

    path = Path(text)
    hint = "pass a .npy or text file holding a d x d matrix"
    if not text:
        raise SpecError(f"--matrix='' is invalid: an empty path; {hint}")
    if not path.exists():
        raise SpecError(f"--matrix={text!r} does not exist; {hint}")
    if path.is_dir():
        raise SpecError(f"--matrix={text!r} is a folder; {hint}")
    try:
        if path.suffix == ".npy":
            A = np.load(path, allow_pickle=False)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                A = np.loadtxt(path, ndmin=2)
    except OSError as exc:
        from theorycheck.errors import file_error
        raise file_error(exc, text, "read --matrix") from None
    except (ValueError, UnicodeDecodeError, EOFError) as exc:
        why = " ".join(str(exc).split())[:120]
        raise SpecError(f"--matrix={text!r} could not be read as a matrix ({why}); {hint}") from None
    if not isinstance(A, np.ndarray) or A.ndim != 2 or A.shape[0] != A.shape[1] or A.size == 0:
        raise SpecError(f"--matrix={text!r} holds shape {getattr(A, 'shape', None)}, not a square "
                        f"matrix; {hint}")
    if not np.issubdtype(A.dtype, np.number) or np.issubdtype(A.dtype, np.complexfloating):
        raise SpecError(f"--matrix={text!r} holds {A.dtype} values; {hint} of real numbers")
    return A


def _dimension(args) -> int:
    """--d, checked against --matrix's size when both are given (never silently changed)."""
    if args.matrix is None:
        return check_int("--d", 16 if args.d is None else args.d, min_value=2)
    A = _matrix(args.matrix)
    if args.d is not None:
        d = check_int("--d", args.d, min_value=2)
        if d != A.shape[0]:
            raise SpecError(f"--d={d} is invalid: --matrix {args.matrix!r} is {A.shape[0]} x "
                            f"{A.shape[1]}; drop --d or pass --d {A.shape[0]}")
    args._A = A
    return A.shape[0]


def _target(args, d: int):
    import numpy as np

    from theorycheck.papers.three_layer.quadratic_features import quadratic_target
    rank = None if args.rank is None else check_int("--rank", args.rank, min_value=2, max_value=d)
    dist = check_choice("--dist", args.dist, ("sphere", "gaussian"))
    A = getattr(args, "_A", None)
    if A is not None and rank is not None:
        raise SpecError("--rank cannot be combined with --matrix (the matrix fixes the rank); "
                        "drop one")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = quadratic_target(d, seed=np.random.default_rng(check_int("--seed", args.seed, min_value=0)),
                             A=A, rank=rank, dist=dist, normalise=args.normalise)
    for w in caught:
        print(f"warning: {w.message}")
    return t


def run(args) -> int:
    action = args.action
    if action == "run":
        return _run_one(args)
    if action == "exponents":
        return _exponents(args, figure=True)
    return _figures(args)


def _run_one(args) -> int:
    import numpy as np

    from theorycheck.papers.three_layer.baselines import run_baseline
    from theorycheck.papers.three_layer.learner import (ThreeLayerConfig, check_three_layer_budget,
                                                        run_three_layer)
    d = _dimension(args)
    n1 = check_int("--n1", args.n1, min_value=1)
    n2 = check_int("--n2", args.n2, min_value=4)
    cfg = ThreeLayerConfig(m1=check_int("--m1", args.m1, min_value=1),
                           m2=check_int("--m2", args.m2, min_value=1),
                           sigma1=check_choice("--sigma1", args.sigma1, ("abs", "relu", "tanh", "square")))
    check_three_layer_budget(d, n1, n2, cfg, baselines=args.baselines, prefix="--")
    target = _target(args, d)
    rng = np.random.default_rng([check_int("--seed", args.seed, min_value=0), 1])
    t0 = time.perf_counter()
    r = run_three_layer(target, n1, n2, rng, config=cfg)
    print(f"{target!r}")
    print(f"three-layer (m1={cfg.m1}, m2={cfg.m2}, sigma1={cfg.sigma1}): n1={n1} n2={n2} "
          f"corr(phi, x^T A x)={r.corr:.4f} rel. test MSE={r.rel_mse:.4f} "
          f"({time.perf_counter() - t0:.1f}s)")
    if args.baselines:
        for b in ("poly_krr", "relu_rf", "two_layer_gd"):
            t0 = time.perf_counter()
            v = run_baseline(b, target, n1 + n2, rng)
            print(f"{b}: n={n1 + n2} rel. test MSE={v:.4f} ({time.perf_counter() - t0:.1f}s)")
    return 0


def _exponent_args(args):
    from theorycheck.commands._common import seed_count
    ds = int_list("--ds", args.ds)
    ns = int_list("--ns", args.ns)
    eps = real_list("--eps", args.eps)
    learners = [check_choice("--learners", l, ("three_layer", "poly_krr", "relu_rf", "two_layer_gd"))
                for l in name_list(args.learners)]
    seeds = list(range(seed_count("--seeds", args.seeds, {"d": ds, "n": ns, "learner": learners},
                                  min_value=2, what="three-layer exponents")))
    return ds, ns, seeds, eps, learners


def _exponents(args, figure: bool):
    import numpy as np

    from theorycheck.atomic import atomic_write_json, atomic_write_text
    from theorycheck.papers.three_layer.exponent_study import cells_to_records, exponent_rows, format_exponent_table
    from theorycheck.papers.three_layer.exponent_sweep import run_exponent_sweep
    from theorycheck.commands._common import output_folder
    ds, ns, seeds, eps, learners = _exponent_args(args)
    jobs = _jobs(args)
    output_folder("--out", args.out)
    out = Path(args.out)
    specs, grid_store = None, None
    if args.grid is not None:
        from theorycheck.runs.sweep import load_grid
        grid = load_grid(args.grid)
        specs, grid_store = grid.runs, grid.store
    store = store_path(args.store, grid_store)
    t0 = time.perf_counter()
    _, cells, res = run_exponent_sweep(ds, ns, seeds, store, learners=learners, eps=eps[0],
                                       specs=specs, serial=args.serial or jobs == 1,
                                       workers=jobs, retry_failed=args.retry_failed,
                                       progress=_progress())
    ds = sorted({c.task.d for c in cells})
    ns = sorted({c.task.n for c in cells})
    seeds = sorted({c.task.seed for c in cells})
    print(f"sweep: {len(res.hashes)} cells in store {store}: {res.submitted} run "
          f"({'serial' if args.serial or jobs == 1 else f'{res.workers or jobs} dask workers'}), "
          f"{res.skipped} already recorded; {res.counts.get('done', 0)} done")
    by_eps = {e: exponent_rows(cells, e) for e in eps}
    table = "\n\n".join(format_exponent_table(r, e) for e, r in by_eps.items())
    print(table)
    print(f"(d in {ds}, n in {ns}, {len(seeds)} seeds, {time.perf_counter() - t0:.0f}s)")
    atomic_write_text(out / "three_layer_exponents.md", table + "\n")
    atomic_write_json(out / "three_layer_exponents.json",
                      {"ds": ds, "ns": ns, "seeds": seeds, "eps": eps,
                       "rows": {str(e): [{k: v for k, v in r.__dict__.items() if k != "n_required"}
                                         | {"n_required": {str(s): {str(d): x for d, x in m.items()}
                                                           for s, m in r.n_required.items()}}
                                         for r in rows] for e, rows in by_eps.items()},
                       "cells": cells_to_records(cells)})
    if figure:
        from theorycheck.papers.three_layer.figures import plot_exponents
        e = eps[len(eps) // 2]
        if any(np.isfinite(x) for r in by_eps[e] for m in r.n_required.values() for x in m.values()):
            from theorycheck.atomic import save_figure
            print(save_figure(plot_exponents(by_eps[e], ds, e), out / "three_layer_exponents.png",
                              dpi=110))
        else:
            print(f"no exponent figure: every (learner, seed, d) is censored at eps={e:g}; "
                  f"widen --ns")
    return 0


def _jobs(args) -> int:
    """--jobs, by default the cores available (checked against the memory budget)."""
    from theorycheck.claims.parallel import default_jobs
    from theorycheck.commands._common import worker_count
    return worker_count("--jobs", default_jobs() if args.jobs is None else args.jobs)


def _progress():
    """A progress callback printing to stderr about every 5% of the cells."""
    import sys
    last = [-1]

    def show(counts, total):
        done = counts.get("done", 0) + counts.get("failed", 0)
        if done == total or done - last[0] >= max(1, total // 20):
            last[0] = done
            print(f"cells {done}/{total} (failed {counts.get('failed', 0)})", file=sys.stderr,
                  flush=True)
    return show


def _figures(args) -> int:
    import numpy as np

    from theorycheck.atomic import save_figure
    from theorycheck.papers.three_layer.figures import (ladder_data, matched_n_data, plot_ladder,
                                       plot_matched_n)
    from theorycheck.commands._common import output_folder
    out = Path(output_folder("--out", args.out))
    _exponent_args(args)  # the exponent study's options, checked before the figures' work
    jobs = _jobs(args)
    seeds = list(range(check_int("--seeds", args.seeds, min_value=2)))  # checked just above
    t0 = time.perf_counter()
    n1s = [250, 500, 1000, 2000, 4000, 8000]
    ns = [1000, 2000, 3000, 4000]
    from theorycheck.runs.pool import process_map
    with process_map(1 if args.serial else jobs) as pmap:
        lad = ladder_data(16, n1s, 3000, seeds, map=pmap)
        mat = matched_n_data(20, ns, seeds, map=pmap)
    print(save_figure(plot_ladder(lad, n1s, 16), out / "three_layer_ladder.png", dpi=110))
    for s1, (corr, loss) in lad.items():
        print(f"d=16 sigma1={s1}: n1={n1s}")
        print(f"  corr mean {np.round(corr.mean(0), 3).tolist()} sd {np.round(corr.std(0, ddof=1), 3).tolist()}")
        print(f"  loss mean {np.round(loss.mean(0), 3).tolist()} sd {np.round(loss.std(0, ddof=1), 3).tolist()}")
    print(save_figure(plot_matched_n(mat, ns, 20), out / "three_layer_matched_n.png", dpi=110))
    for k, arr in mat.items():
        print(f"d=20 {k}: n={ns} loss mean {np.round(arr.mean(0), 3).tolist()} "
              f"sd {np.round(arr.std(0, ddof=1), 3).tolist()}")
    print(f"({time.perf_counter() - t0:.0f}s)")
    from theorycheck.atomic import atomic_write_json
    atomic_write_json(out / "three_layer_curves.json",
                      {"ladder": {"d": 16, "n1s": n1s, "n2": 3000, "seeds": seeds,
                                  **{s1: {"corr": c.tolist(), "loss": l.tolist()}
                                     for s1, (c, l) in lad.items()}},
                       "matched_n": {"d": 20, "ns": ns, "seeds": seeds,
                                     **{k: v.tolist() for k, v in mat.items()}}})
    return _exponents(args, figure=True)
