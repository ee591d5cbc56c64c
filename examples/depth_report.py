"""Tables and headline figure of the depth study (docs/bfc.md "The separation across depth").

    theorycheck sweep examples/depth_study.toml -j 2
    theorycheck sweep examples/depth_classification.toml -j 2
    python examples/depth_report.py [--store theorycheck-results.sqlite] [--out docs/img]

Reads the finished ``bfc-depth`` runs of the store, prints the curve table (d, N, seeds, median
and range of the relative test error), the depth table (N_required per L and d beside the
every-kernel bound's, fitted exponents with intervals over seeds) and the classification table,
writes the records as ``depth_study.json`` and draws ``depth_separation.png`` (with the kernels
of ``kernel_scaling.json`` where it has them).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from theorycheck.papers.bfc.depth_study import (curve_table, depth_rows, format_depth_table,
                                                kernel_class_error, monotone_within_spread,
                                                records_from_store)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", default="theorycheck-results.sqlite")
    p.add_argument("--out", default="docs/img")
    p.add_argument("--eps", default="1e-2,1e-3", help="thresholds of the depth table")
    p.add_argument("--figure-d", type=int, default=8)
    p.add_argument("--no-bound", action="store_true", help="skip the bound's requirement")
    p.add_argument("--kernels", action="store_true", help="measure the poly kernel's classification error")
    p.add_argument("--steps-scale", type=float, default=1.0,
                   help="read the runs of this budget (the sweep's steps_scale; default 1: the rule)")
    args = p.parse_args(argv)
    out = Path(args.out)
    recs = records_from_store(args.store, steps_scale=args.steps_scale)
    if not recs:
        p.error(f"{args.store} holds no finished bfc-depth regression run with steps_scale="
                f"{args.steps_scale}; run 'theorycheck sweep examples/depth_study.toml' first")
    rows = curve_table(recs)
    print("| L | d | N | seeds | mean | median | [min, max] |\n|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['L']} | {r['d']} | {r['N']} | {r['seeds']} | {r['mean']:.2e} | {r['median']:.2e} | "
              f"[{r['min']:.2e}, {r['max']:.2e}] |")
    print(f"\nmonotone within seed spread: {monotone_within_spread(rows)}\n")
    for eps in (float(e) for e in args.eps.split(",")):
        print(format_depth_table(depth_rows(recs, eps, bound=not args.no_bound), eps), "\n")

    cls = {m: records_from_store(args.store, mode=m, loss="logistic", steps_scale=args.steps_scale)
           for m in ("e2e", "layerwise")}
    if cls["e2e"]:
        print("| d | N | e2e class. error (median [min, max]) | layerwise | poly kernel |\n|---|---:|---|---|---|")
        for key in sorted({(r["d"], r["N"]) for r in cls["e2e"]}):
            cells = []
            for m in ("e2e", "layerwise"):
                v = sorted(r["rel"] for r in cls[m] if (r["d"], r["N"]) == key)
                cells.append(f"{v[len(v) // 2]:.4f} [{v[0]:.4f}, {v[-1]:.4f}]" if v else "-")
            if args.kernels:
                seeds = sorted({r["seed"] for r in cls["e2e"] if (r["d"], r["N"]) == key})
                kv = sorted(kernel_class_error(key[0], 3, key[1], s) for s in seeds)
                cells.append(f"{kv[len(kv) // 2]:.4f} [{kv[0]:.4f}, {kv[-1]:.4f}]")
            else:
                cells.append("-")
            print(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + " |")

    from theorycheck.atomic import atomic_write_json, save_figure
    from theorycheck.papers.bfc.kernel_figures import depth_figure
    atomic_write_json(out / "depth_study.json", {"records": recs})
    kpath = out / "kernel_scaling.json"
    kernels = json.loads(kpath.read_text())["cells"] if kpath.is_file() else []
    fig = depth_figure(recs, kernels, d=args.figure_d, bound_options={4: None})
    print("figure:", save_figure(fig, out / "depth_separation.png", dpi=130))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
