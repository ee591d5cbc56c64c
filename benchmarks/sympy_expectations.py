"""Timing of exact Gaussian expectations (docs/theory.md §1.8.7) against a budget: degree <= 8
in d <= 4 variables under 5 s each.

    python benchmarks/sympy_expectations.py

Cases (integer coefficients in [-9, 9], seed 0): a dense polynomial of degree q in d
variables (every monomial of degree <= q) and its expectation E[p]; a dense degree-q/2
polynomial h and E[h^2] (degree q, the loss-shaped case, including the Poly product);
E[(x'Ax - x'Bx)^m] with fully symbolic A and B (2 d^2 coefficient symbols) up to
degree 8 in d = 4, powered as a sympy Poly (Poly arithmetic; expanding the same power as
a plain expression first is far slower: ~31 s for d = 3 and ~11 min for d = 4); and, beyond the budget's
range, E[p^2] for a dense degree-8 p in d = 3 (degree 16).
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from theorycheck.maths.gaussian import expectation  # noqa: E402


def dense_poly(d: int, q: int, rng) -> tuple[sp.Poly, tuple]:
    xs = sp.symbols(f"x0:{d}")
    terms = {}
    for deg in range(q + 1):
        for combo in itertools.combinations_with_replacement(range(d), deg):
            m = tuple(combo.count(i) for i in range(d))
            terms[m] = int(rng.integers(-9, 10))
    return sp.Poly.from_dict(terms, *xs), xs


def cases():
    rng = np.random.default_rng(0)
    for d in (1, 2, 3, 4):
        for q in (2, 4, 6, 8):
            p, xs = dense_poly(d, q, rng)
            yield f"E[p], dense deg {q}, d={d} ({len(p.terms())} terms)", lambda p=p: expectation(p)
            h, _ = dense_poly(d, q // 2, rng)
            yield f"E[h^2], dense deg {q // 2} -> {q}, d={d}", lambda h=h: expectation(h * h)
    for d, power in ((4, 2), (3, 4), (4, 4)):
        xs = sp.symbols(f"x0:{d}")
        x = sp.Matrix(xs)
        A = sp.Matrix(d, d, sp.symbols(f"a0:{d * d}"))
        B = sp.Matrix(d, d, sp.symbols(f"b0:{d * d}"))
        q = sp.Poly((x.T * A * x)[0, 0] - (x.T * B * x)[0, 0], *xs)
        yield (f"E[(x'Ax - x'Bx)^{power}], symbolic A, B, d={d} (deg {2 * power})",
               lambda q=q, power=power: expectation(q ** power))
    p, _ = dense_poly(3, 8, rng)
    yield "E[p^2], dense deg 8 -> 16, d=3 (beyond budget)", lambda p=p: expectation(p * p)


def main() -> int:
    worst = 0.0
    for name, fn in cases():
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        if "beyond" not in name:
            worst = max(worst, dt)
        print(f"{name:48s} {dt * 1000:9.1f} ms")
    print(f"worst within budget (degree <= 8, d <= 4): {worst * 1000:.1f} ms (budget 5000 ms)")
    return 0 if worst < 5.0 else 1


if __name__ == "__main__":
    sys.exit(main())
