"""Falsification benchmark: does a search catch the false lemmas of the corpus without
flagging the true ones? theorycheck's engine against plain hypothesis, same strategies, same
example counts, same seeds, in one run.

    python benchmarks/falsification/run.py                  # effort quick, seeds 0 1 2
    python benchmarks/falsification/run.py --effort full    # 200 examples per lemma
    python benchmarks/falsification/run.py --effort both --uniform 20000 --out BASELINE.md

For every lemma of ``lemmas/`` (``TRUTH`` marks each true or false), effort and seed:

* engine: ``claim.check(scale=effort, seed=seed)`` (the public Claim API; ``theorycheck
  check benchmarks/falsification/lemmas --seed S [--scale full]`` runs the same search):
  hypothesis targeted at the ratio, then the optimiser phase. A false lemma is caught when
  the verdict is ``fails``; a true lemma is flagged when the verdict is anything but
  ``holds``.
* engine-no-opt: the same without the optimiser phase (``optimise=False``, ``theorycheck
  check --no-optimise``): the engine as it was before the optimiser, for a before/after
  comparison in the same run.
* hypothesis: ``@given(<the lemma's strategy>)`` with ``@seed(seed)`` and ``max_examples``
  equal to the engine's count for that effort, no database, default phases (so it shrinks
  too), asserting ``lhs <= rhs`` on the lemma's own function. A catch is a failed
  assertion; any other exception (non-finite sides included) is an error.

Every corpus lemma is written as ``lhs <= rhs`` with ``rtol = atol = 0`` (the slack lives in
``rhs``), so both searchers judge an instance by the same inequality; the runner checks
that convention before it starts. ``--uniform N`` adds, per lemma, the share of N uniform
draws (``UNIFORM`` samplers) that violate it: how rare a counterexample is without search.
``--strategies structured`` runs the same lemmas with the strategies of
``lemmas/corpus_structured.py`` (``theorycheck.strategies``: box matrices with their corner
cases and their domain) in place of the generic ones, for every searcher.

Output: Markdown tables on stdout and in ``--out`` (default
``theorycheck-report/falsification.md``) plus the raw records in the same path with
``.json``; both are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LEMMAS = HERE / "lemmas"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(LEMMAS))

import numpy as np  # noqa: E402
import hypothesis  # noqa: E402
from hypothesis import HealthCheck, Verbosity, given, settings  # noqa: E402
from hypothesis.reporting import with_reporter  # noqa: E402

from theorycheck import Claim  # noqa: E402
from theorycheck.atomic import atomic_write_text  # noqa: E402

CORPUS_MODULES = ("false_lemmas", "true_lemmas")
EFFORTS = ("quick", "full")


class NonFiniteSide(Exception):
    """A side of the lemma was NaN or infinite (an error, not a catch)."""


# ------------------------------------------------------------------------------ corpus


def use_structured_strategies() -> None:
    """Make the lemma modules import ``corpus_structured`` as their ``corpus_strategies``
    (before they are imported): the same lemmas, drawn with theorycheck.strategies."""
    for name in CORPUS_MODULES:
        sys.modules.pop(name, None)
    sys.modules["corpus_strategies"] = importlib.import_module("corpus_structured")


def load_corpus(only: str | None = None) -> list[dict]:
    """Every lemma: its claim, raw (lhs, rhs) function, truth mark and uniform sampler."""
    entries = []
    for name in CORPUS_MODULES:
        mod = importlib.import_module(name)
        truth = getattr(mod, "TRUTH", None)
        if not isinstance(truth, dict):
            raise SystemExit(f"{name}.py has no TRUTH dict; add one mapping each lemma id to "
                             f"True (a theorem) or False (has counterexamples)")
        claims = {v.id: v for v in vars(mod).values() if isinstance(v, Claim)}
        missing, extra = sorted(set(claims) - set(truth)), sorted(set(truth) - set(claims))
        if missing or extra:
            raise SystemExit(f"{name}.py: TRUTH and the lemmas disagree (unmarked: {missing}, "
                             f"marked but undefined: {extra}); mark every lemma exactly once")
        uniform = getattr(mod, "UNIFORM", {})
        for cid, c in claims.items():
            if only and only not in cid:
                continue
            if not c.statement.endswith("lhs <= rhs (rtol=0, atol=0)"):
                raise SystemExit(f"{cid}: statement {c.statement!r} breaks the corpus convention; "
                                 f"write it as lhs <= rhs with rtol=atol=0 and the slack in rhs")
            fn = getattr(c.measure, "__wrapped_lemma__", None)
            if fn is None:
                raise SystemExit(f"{cid}: the claim does not expose its lemma function "
                                 f"(measure.__wrapped_lemma__); define it with theorycheck.lemma")
            entries.append({"id": cid, "claim": c, "fn": fn, "true": bool(truth[cid]),
                            "uniform": uniform.get(cid)})
    if not entries:
        raise SystemExit(f"no lemma id contains {only!r}; see the ids in {LEMMAS}")
    return entries


# ---------------------------------------------------------------------------- searchers


def run_engine(entry: dict, effort: str, seed: int, optimise: bool = True) -> dict:
    t0 = time.perf_counter()
    res = entry["claim"].check(scale=effort, seed=seed, optimise=None if optimise else False)
    opt = res.optimiser or {}
    return {"verdict": res.verdict, "instances": res.instances,
            "evaluations": res.instances + int(opt.get("evaluations", 0) or 0),
            "found_by": res.found_by, "seconds": time.perf_counter() - t0,
            "counterexample": res.counterexample_repr}


def run_engine_no_opt(entry: dict, effort: str, seed: int) -> dict:
    return run_engine(entry, effort, seed, optimise=False)


def run_hypothesis(entry: dict, effort: str, seed: int) -> dict:
    c, fn = entry["claim"], entry["fn"]
    calls = [0]
    last = [None]

    @settings(max_examples=c.effort(effort), database=None, deadline=None,
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
              print_blob=False)
    @hypothesis.seed(seed)
    @given(c.instances_for(effort))
    def test(inst):
        calls[0] += 1
        last[0] = inst
        lhs, rhs = fn(inst)[:2]
        lhs, rhs = np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)
        if not (np.all(np.isfinite(lhs)) and np.all(np.isfinite(rhs))):
            raise NonFiniteSide(f"lhs={lhs!r}, rhs={rhs!r}")
        assert np.all(lhs <= rhs), f"lhs={lhs!r} > rhs={rhs!r}"

    t0 = time.perf_counter()
    verdict, cex = "holds", None
    try:
        with with_reporter(lambda *_: None), contextlib.redirect_stdout(io.StringIO()):
            test()
    except AssertionError:
        verdict, cex = "fails", last[0]
    except Exception:  # a lemma that raises: an error row, as the engine reports it
        verdict, cex = "error", last[0]
    return {"verdict": verdict, "instances": calls[0], "evaluations": calls[0],
            "found_by": None, "seconds": time.perf_counter() - t0,
            "counterexample": None if cex is None else _short(cex)}


def _short(obj, limit: int = 160) -> str:
    r = repr(obj).replace("\n", " ")
    return r if len(r) <= limit else r[: limit - 3] + "..."


def uniform_rate(entry: dict, n: int) -> dict | None:
    """How many of ``n`` uniform draws (numpy, seed 0) violate the lemma."""
    sampler = entry["uniform"]
    if sampler is None or n <= 0:
        return None
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(n):
        lhs, rhs = entry["fn"](sampler(rng))[:2]
        hits += not np.all(np.asarray(lhs, dtype=float) <= np.asarray(rhs, dtype=float))
    return {"hits": hits, "n": n}


# ------------------------------------------------------------------------------ report


SEARCHERS = ("engine-no-opt", "engine", "hypothesis")
RUNNERS = {"engine-no-opt": run_engine_no_opt, "engine": run_engine, "hypothesis": run_hypothesis}


def summarise(records: list[dict], entries: list[dict], efforts, seeds, searchers=SEARCHERS) -> list[dict]:
    rows = []
    n_false = sum(not e["true"] for e in entries)
    n_true = len(entries) - n_false
    for effort in efforts:
        for who in searchers:
            mine = [r for r in records if r["effort"] == effort and r["searcher"] == who]
            per_seed = []
            for s in seeds:
                caught = sum(r["verdict"] == "fails" and not r["true"] for r in mine if r["seed"] == s)
                per_seed.append(caught)
            rows.append({
                "effort": effort, "searcher": who,
                "caught_per_seed": per_seed, "n_false": n_false, "n_true": n_true,
                "caught": sum(per_seed),
                "false_errors": sum(r["verdict"] == "error" and not r["true"] for r in mine),
                "flagged": sum(r["verdict"] != "holds" and r["true"] for r in mine),
                "flagged_lemmas": sorted({r["id"] for r in mine if r["true"] and r["verdict"] != "holds"}),
                "missed": {s: sorted(r["id"] for r in mine if r["seed"] == s and not r["true"]
                                     and r["verdict"] != "fails") for s in seeds},
                "evaluations": sum(r.get("evaluations", r["instances"]) for r in mine) / max(len(mine), 1),
                "seconds": sum(r["seconds"] for r in mine),
            })
    return rows


def markdown(rows, records, entries, efforts, seeds, uniform_n, meta, searchers=SEARCHERS) -> str:
    out = [f"Seeds {', '.join(map(str, seeds))}; {meta['n_false']} false and {meta['n_true']} "
           f"true lemmas; {meta.get('strategies', 'generic')} strategies; {meta['python']}, "
           f"hypothesis {meta['hypothesis']}, numpy {meta['numpy']}; {meta['cpus']} CPUs "
           f"visible, load average {meta['load_before']} before and {meta['load_after']} after; "
           f"{meta['when']}.", ""]
    out += [f"| effort | examples | searcher | false caught (seed {', '.join(map(str, seeds))}) | "
            "false caught | true flagged | errors on false | evaluations per lemma | wall time (s) |",
            "|---|---:|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        examples = entries[0]["claim"].effort(r["effort"])
        per = ", ".join(map(str, r["caught_per_seed"])) + f" of {r['n_false']}"
        total = f"{r['caught']}/{r['n_false'] * len(seeds)}"
        flagged = f"{r['flagged']}/{r['n_true'] * len(seeds)}"
        out.append(f"| {r['effort']} | {examples} | {r['searcher']} | {per} | {total} | {flagged} | "
                   f"{r['false_errors']} | {r['evaluations']:.0f} | {r['seconds']:.1f} |")
    missed = [(r["effort"], r["searcher"], s, ids) for r in rows for s, ids in r["missed"].items()
              if ids and r["searcher"] == "engine"]
    if missed:
        out += ["", "False lemmas the engine missed: " + "; ".join(
            f"{eff} seed {s}: " + ", ".join(f"`{i.split('.')[-1]}`" for i in ids)
            for eff, _, s, ids in missed) + "."]
    out += ["", "Per lemma: one letter per seed, `F` fails (caught / flagged), `.` holds, `E` "
            "error, `?` inconclusive; for the engine a catch shows how it was found: `r` random, "
            "`t` targeted, `o` optimiser; `uniform hits` counts the uniform draws (same shapes and "
            "ranges, numpy, seed 0) that violate the lemma."
            if uniform_n else
            "Per lemma: one letter per seed, `F` fails (caught / flagged), `.` holds, `E` error, "
            "`?` inconclusive; for the engine a catch shows how it was found: `r` random, `t` "
            "targeted, `o` optimiser.", ""]
    cols = [f"{w} {e}" for e in efforts for w in searchers]
    head = "| lemma | truth |" + ("" if not uniform_n else f" uniform hits / {uniform_n} |") + \
        "".join(f" {c} |" for c in cols)
    out += [head, "|---|---|" + ("" if not uniform_n else "---:|") + "---|" * len(cols)]
    letter = {"fails": "F", "holds": ".", "error": "E", "inconclusive": "?"}
    how = {"random": "r", "targeted": "t", "optimiser": "o", "database": "d", "explicit": "x"}

    def mark(r: dict) -> str:
        if r["verdict"] == "fails" and r.get("found_by") in how:
            return how[r["found_by"]]
        return letter[r["verdict"]]
    by = {(r["id"], r["effort"], r["searcher"], r["seed"]): r for r in records}
    for e in entries:
        line = f"| `{e['id']}` | {'true' if e['true'] else 'false'} |"
        if uniform_n:
            u = e.get("uniform_rate")
            line += " - |" if u is None else f" {u['hits']} |"
        for eff in efforts:
            for who in searchers:
                line += " " + "".join(mark(by[(e["id"], eff, who, s)]) for s in seeds) + " |"
        out.append(line)
    return "\n".join(out) + "\n"


def _load() -> str:
    try:
        return "{:.1f}".format(os.getloadavg()[0])
    except (AttributeError, OSError):  # pragma: no cover - platforms without getloadavg
        return "n/a"


# -------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--effort", choices=EFFORTS + ("both",), default="quick",
                   help="engine scale: quick (25 examples per lemma), full (200), or both")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="default: 0 1 2")
    p.add_argument("--uniform", type=int, default=0, metavar="N",
                   help="also measure each lemma's violation rate over N uniform draws")
    p.add_argument("--only", default=None, metavar="TEXT", help="only lemma ids containing TEXT")
    p.add_argument("--searchers", nargs="+", choices=SEARCHERS, default=list(SEARCHERS),
                   help="which searchers to run (default: all three)")
    p.add_argument("--strategies", choices=("generic", "structured"), default="generic",
                   help="the corpus's own generic strategies (default), or theorycheck.strategies "
                        "(lemmas/corpus_structured.py) for every searcher")
    p.add_argument("--out", default="theorycheck-report/falsification.md",
                   help="Markdown report path; the JSON records go next to it (default: %(default)s)")
    args = p.parse_args(argv)
    if any(s < 0 for s in args.seeds):
        p.error(f"--seeds {args.seeds} has a negative seed; pass seeds >= 0")
    efforts = EFFORTS if args.effort == "both" else (args.effort,)
    saved = {n: sys.modules.get(n) for n in (*CORPUS_MODULES, "corpus_strategies")}
    try:
        if args.strategies == "structured":
            use_structured_strategies()
        return _main(args, efforts)
    finally:  # the corpus modules as they were (an importer keeps its generic lemmas)
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


def _main(args, efforts) -> int:
    entries = load_corpus(args.only)
    searchers = [w for w in SEARCHERS if w in args.searchers]
    warnings.simplefilter("ignore", RuntimeWarning)   # lemmas probe singular corners on purpose

    load_before = _load()
    t_start = time.perf_counter()
    if args.uniform:
        for e in entries:
            e["uniform_rate"] = uniform_rate(e, args.uniform)
    records = []
    for effort in efforts:
        for seed in args.seeds:
            for e in entries:
                got = []
                for who in searchers:
                    r = RUNNERS[who](e, effort, seed)
                    records.append({"id": e["id"], "true": e["true"], "effort": effort,
                                    "seed": seed, "searcher": who, **r})
                    got.append(f"{who} {r['verdict']}")
                print(f"{effort} seed {seed} {e['id']}: " + ", ".join(got), file=sys.stderr, flush=True)
    total = time.perf_counter() - t_start

    meta = {"n_false": sum(not e["true"] for e in entries), "n_true": sum(e["true"] for e in entries),
            "python": f"Python {platform.python_version()}", "hypothesis": hypothesis.__version__,
            "numpy": np.__version__, "when": time.strftime("%Y-%m-%d %H:%M"),
            "cpus": os.cpu_count(), "total_seconds": round(total, 1),
            "load_before": load_before, "load_after": _load()}
    meta["strategies"] = args.strategies
    rows = summarise(records, entries, efforts, args.seeds, searchers)
    text = markdown(rows, records, entries, efforts, args.seeds, args.uniform, meta, searchers)
    text += f"\nTotal wall time {total:.1f} s.\n"
    out = Path(args.out)
    atomic_write_text(out, text)
    atomic_write_text(out.with_suffix(".json"), json.dumps(
        {"meta": meta, "summary": rows, "records": records,
         "uniform": {e["id"]: e.get("uniform_rate") for e in entries}}, indent=1) + "\n")
    print(text)
    print(f"written: {out} and {out.with_suffix('.json')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
