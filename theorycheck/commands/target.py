"""``theorycheck target``: build a target G* (docs/theory.md §1.3) and print its spec, its
per-layer degrees, its structure, its Hermite energy by degree, the information gap and
(for small d) the expanded polynomial; ``--latex`` prints LaTeX instead of tables."""

from __future__ import annotations

import time

from theorycheck.commands._common import console as _console
from theorycheck.commands._common import add_deprecated_flag, int_list, real_list

from theorycheck.errors import SpecError
from theorycheck.validation import check_choice, check_int, check_real

EXPAND_MAX_TERMS = 40


def add_parser(sub) -> None:
    p = sub.add_parser("target", help="build and inspect a target G* (docs/theory.md §1.3)",
                       description="Build the backward-feature-correction target G* from a spec and "
                                   "print its degrees, structure, energy by Hermite degree and "
                                   "information gap, verified in exact arithmetic.")
    p.add_argument("--d", default=4, help="input dimension (default: 4)")
    p.add_argument("--L", default=3, help="number of layers, >= 2 (default: 3)")
    p.add_argument("--k-target", dest="k_target", default="2",
                   help="target width of layers 2..L: one integer or a comma list (default: 2)")
    add_deprecated_flag(p, "--k", dest="k_target", new="--k-target")
    p.add_argument("--connections", default="chain",
                   help="chain (J_2={0,1}, J_l={l-1}), dense (J_l={0..l-1}) or explicit sets "
                        "'2:0,1;3:1,2' (default: chain)")
    p.add_argument("--alphas", default=None, help="explicit alpha_2..alpha_L, comma separated")
    p.add_argument("--delta", default=0.25, help="gap exponent: alpha_(l+1) = alpha_l d^-delta (default: 0.25)")
    p.add_argument("--kappa", default=2.0, help="condition bound of W*_(l,l-1) (default: 2)")
    p.add_argument("--seed", default=0, help="weight seed (default: 0)")
    p.add_argument("--raw", action="store_true", help="G*_1 = x^2 instead of the centred x^2 - 1")
    p.add_argument("--dist", default="gaussian", help="input distribution: gaussian or sphere")
    p.add_argument("--latex", action="store_true", help="print LaTeX instead of tables")
    p.add_argument("--expand", dest="expand", action="store_true", default=None,
                   help="print the expanded polynomial G* (default: when d <= 4)")
    p.add_argument("--no-expand", dest="expand", action="store_false",
                   help="do not print the expanded polynomial; beyond the term limit, also skip "
                        "the exact expansion (degrees on a random line, Monte Carlo energies)")
    p.add_argument("--exact-max-d", default=8,
                   help="largest d expanded exactly; beyond it degrees are verified on a random "
                        "line and energies are Monte Carlo (default: 8)")
    p.add_argument("--samples", default=200000, help="Monte Carlo samples beyond --exact-max-d")
    p.add_argument("--sweep", default=None, metavar="A,A,...",
                   help="also print the exact degree-2^L and 2^(L-1) energies for these values of "
                        "alpha_L (information gap; needs d <= --exact-max-d)")
    p.set_defaults(func=run)


def _int_list(name: str, text: str) -> int | list[int]:
    vals = int_list(f"--{name}", text)
    return vals[0] if len(vals) == 1 else vals


def _float_list(name: str, text: str) -> list[float]:
    return real_list(f"--{name}", text)


def _connections(text: str):
    """'chain', 'dense', or 'l:j,j;l:j' -> {l: [j, ...]}."""
    if ":" not in text:
        return text
    out = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        layer, _, js = part.partition(":")
        l = check_int("--connections layer", layer.strip())
        out[l] = [check_int(f"J_{l} entry", j.strip()) for j in js.split(",") if j.strip()]
    return out


def run(args) -> int:
    import numpy as np
    from rich.table import Table

    from theorycheck.budget import MAX_TERMS
    from theorycheck.papers.bfc.symbolic import (check_mc_energy_budget, check_symbolic_budget,
                                                 energy_by_degree_table, expansion_terms,
                                                 mc_energy_table, symbolic_target, verify_degrees,
                                                 verify_gap, verify_structure)
    from theorycheck.papers.bfc.target import build_target, check_build_budget, target_spec

    alphas = None if args.alphas is None else _float_list("alphas", args.alphas)
    spec = target_spec(check_int("--d", args.d, min_value=1), check_int("--L", args.L, min_value=2),
                       k_target=_int_list("k-target", args.k_target), connections=_connections(args.connections), alphas=alphas,
                       delta=None if alphas is not None else check_real("--delta", args.delta, positive=True),
                       kappa=check_real("--kappa", args.kappa, min_value=1.0),
                       seed=check_int("--seed", args.seed, min_value=0), centred=not args.raw,
                       dist=check_choice("--dist", args.dist, ("gaussian", "sphere")))
    exact_max_d = check_int("--exact-max-d", args.exact_max_d, min_value=1)
    samples = check_int("--samples", args.samples, min_value=2)
    delta = None if alphas is not None else float(args.delta)
    console = _console(highlight=False)
    exact = spec.d <= exact_max_d
    # budgets before work (theorycheck.budget): drawing, the exact polynomials, Monte Carlo
    check_build_budget(spec, "--d")
    too_many = exact and expansion_terms(spec.d, spec.L) > MAX_TERMS
    if too_many and args.expand is False:
        exact = False  # --no-expand: verify on a random line, Monte Carlo energies
    sweep_values = None if args.sweep is None else _float_list("sweep", args.sweep)
    if sweep_values is not None and not exact:
        why = (f"d={spec.d} > --exact-max-d={exact_max_d}" if spec.d > exact_max_d else
               f"--no-expand skips the exact expansion of G* at d={spec.d}, L={spec.L}")
        raise SpecError(f"--sweep needs exact energies but {why}; raise --exact-max-d or lower "
                        f"--d or --L")
    check_symbolic_budget(spec, None if exact else "random", name="--d",
                          expand_fix="pass --no-expand to verify the degrees on a random line and "
                                     "estimate the energies by Monte Carlo, or lower --L or --d")
    if not exact:
        check_mc_energy_budget(spec, samples, name_n="--samples", name_d="--d")

    t0 = time.perf_counter()
    target = build_target(spec)
    sym = symbolic_target(target) if exact else symbolic_target(target, line="random", seed=spec.seed)
    degrees = verify_degrees(sym)
    t_deg = time.perf_counter() - t0
    structure = verify_structure(sym)
    energy = energy_by_degree_table(sym) if exact else \
        mc_energy_table(target, samples, np.random.default_rng([spec.seed, 0xE7]))
    gap = verify_gap(sym, delta, energy=energy)
    sweep = None
    if sweep_values is not None:
        from theorycheck.papers.bfc.symbolic import alpha_sweep
        sweep = alpha_sweep(target, sweep_values)
    expand = args.expand if args.expand is not None else spec.d <= 4

    if args.latex:
        print(sym._repr_latex_())
        for rep in (degrees, structure, energy, gap) + ((sweep,) if sweep else ()):
            print(rep._repr_latex_())
        if expand and exact:
            import sympy as sp
            n = len(sym.G_star.terms())
            print(f"% G*(x): all {n} terms; coefficients rounded to 4 significant digits "
                  f"(the exact rationals are SymbolicTarget.G_star)")
            print("$G^*(x) = " + sp.latex(_leading(sym, None), symbol_names=sym.latex_names()) + "$")
        return 0

    t = Table(title="Target G* (docs/theory.md §1.3)")
    t.add_column("field")
    t.add_column("value")
    for key, val in spec.to_dict().items():
        t.add_row(key, str(val))
    console.print(t)
    console.print(_rich(degrees))
    console.print(f"{degrees.footer()}  (symbolic build + degree verification: {t_deg:.2f}s"
                  + ("" if exact else f"; d > {exact_max_d}: degrees verified exactly on a random line "
                     f"x = u + t v") + ")", markup=False)
    console.print(_rich(structure))
    console.print(structure.footer(), markup=False)
    console.print(_rich(energy))
    console.print(energy.footer() + ("" if exact else f"; d > {exact_max_d}: Monte Carlo estimates, "
                                     f"column +- is one standard error (unbiased but heavy-tailed: values within a few "
                                     f"standard errors of 0 are not resolved; raise --samples or --exact-max-d)"), markup=False)
    console.print(_rich(gap))
    console.print(gap.footer(), markup=False)
    if sweep is not None:
        console.print(_rich(sweep))
        console.print(sweep.footer(), markup=False)
    if expand and exact:
        n = len(sym.G_star.terms())
        shown = _leading(sym, EXPAND_MAX_TERMS)
        more = ""
        if n > EXPAND_MAX_TERMS:
            rest = _ordered_terms(sym)[EXPAND_MAX_TERMS:]
            more = (f"  ... (+{n - EXPAND_MAX_TERMS} more terms, of degree "
                    f"{sum(rest[-1][0])} to {sum(rest[0][0])}, not shown; --latex prints every term)")
        console.print(f"G*(x) = {shown}{more}   [{n} terms, coefficients to 4 digits]", markup=False)
    return 0


def _ordered_terms(sym):
    """The terms of G*, highest degree first (then reverse-lexicographic)."""
    return sorted(sym.G_star.terms(), key=lambda mc: (-sum(mc[0]), [-e for e in mc[0]]))


def _leading(sym, limit: int | None):
    """The first ``limit`` terms of G* (all when None) in :func:`_ordered_terms` order,
    coefficients rounded to 4 significant digits for display."""
    import sympy as sp

    terms = _ordered_terms(sym)[:limit]
    return sp.Add(*[sp.Float(float(c), 4) * sp.Mul(*(s ** e for s, e in zip(sym.symbols, m)))
                    for m, c in terms], evaluate=False)


def _rich(report):
    from rich.table import Table

    t = Table(title=report.title)
    for h in report.header:
        t.add_column(h, justify="right")
    for r in report.rows():
        t.add_row(*r)
    return t
