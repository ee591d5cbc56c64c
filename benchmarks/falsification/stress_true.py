"""Stress the true lemmas where they are delicate: equality cases (orthogonal rows, commuting
pairs, embedded E12/E21, Hadamard vertices, singular PSD factors, condition numbers up to the
lemmas' limits) perturbed at relative scales 0 and 1e-16 ... 1e-2, clipped into each lemma's
box. Reports, per lemma, the violations and the worst (lhs - rhs) / |rhs|.

    python benchmarks/falsification/stress_true.py [--n 3000] [--no-slack]

``--no-slack`` sets the corpus's EPS to 0, removing every slack proportional to machine
epsilon, to show that the lemmas need them (rounding alone then violates most of them).
"""

from __future__ import annotations

import argparse
import random
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "lemmas"))

import true_lemmas as T  # noqa: E402

g = np.random.default_rng(0)
random.seed(0)


SCALES = [0.0] + [10.0 ** k for k in range(-16, -1)]


def haar(n):
    Q, R = np.linalg.qr(g.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def perturb(M, box):
    """M plus a uniform perturbation at a random relative scale, clipped into [-box, box]."""
    s = random.choice(SCALES)
    return np.clip(M + s * g.uniform(-1, 1, M.shape) * max(1e-300, np.abs(M).max()), -box, box)


def sign_extreme(n):
    H2 = np.array([[1.0, 1.0], [1.0, -1.0]])
    H = {1: np.ones((1, 1)), 2: H2, 4: np.kron(H2, H2)}.get(n)
    return np.ones((n, n)) - 2 * np.eye(n) if H is None else H


def spectral(Q, lam):
    return (Q * lam) @ Q.T


def hadamard_inequality():       # orthogonal rows of any lengths
    n = int(g.integers(1, 7))
    return perturb(haar(n) * g.uniform(0.1, 10, n)[:, None], 10)


def hadamard_det_box():          # Hadamard vertices, J - 2I, rows sign-flipped
    n = random.choice([1, 2, 3, 4, 5])
    return perturb(sign_extreme(n) * np.where(g.random(n) < 0.5, 1, -1)[:, None], 1)


def boettcher_wenzel():          # Q E12 Q^T, Q E21 Q^T
    n = int(g.integers(2, 6))
    Q, E12 = haar(n), np.zeros((n, n))
    E12[0, 1] = 1.0
    return perturb(Q @ E12 @ Q.T, 10), perturb(Q @ E12.T @ Q.T, 10)


def golden_thompson():           # commuting pairs
    n = int(g.integers(1, 5))
    Q = haar(n)
    return (perturb(spectral(Q, g.uniform(-2, 2, n)), 2), perturb(spectral(Q, g.uniform(-2, 2, n)), 2))


def weyl_upper():                # B = c I
    n = int(g.integers(1, 6))
    return g.uniform(-10, 10, (n, n)), perturb(g.uniform(-10, 10) * np.eye(n), 10)


def cauchy_interlacing():        # block diagonal with repeated eigenvalues
    n = int(g.integers(2, 7))
    D = np.round(g.uniform(-3, 3, n - 1))
    A = np.zeros((n, n))
    A[:-1, :-1] = spectral(haar(n - 1), D)
    A[-1, -1] = D[0] if g.random() < 0.5 else g.uniform(-3, 3)
    return perturb(A, 10)


def neumann_bound():             # normal A with ||A|| an eigenvalue, t down to 1e-6
    n = int(g.integers(1, 6))
    lam = g.uniform(0, 1, n)
    lam[0] = 1.0
    M = spectral(haar(n), lam)
    return perturb(M / np.abs(M).max(), 1), float(10 ** g.uniform(-6, 0))


def inverse_perturbation():      # cond(A) up to 1e8, E against the weakest direction, q < 1/2
    n = int(g.integers(1, 5))
    U, V = haar(n), haar(n)
    A = (U * np.geomspace(1, 10 ** -g.uniform(0, 7.9), n)) @ V.T
    A = A / np.abs(A).max()
    smin = np.linalg.svd(A, compute_uv=False)[-1]
    E = -0.5 * smin * g.uniform(0.5, 0.999) * np.outer(U[:, -1], V[:, -1])
    E = E * min(1.0, 1e-3 / np.abs(E).max())
    return np.clip(A, -1, 1), perturb(E, 1e-3)


def varah_bound():               # diagonal (equality), margins down to 1e-6
    n = int(g.integers(1, 6))
    return perturb(np.diag(g.uniform(-1, 1, n)), 1), np.clip(10 ** g.uniform(-6, 0, n), 1e-6, 1)


def _psd_pair(conditioned):      # rank-deficient or ill-conditioned X, a small rank-one Y
    n = int(g.integers(1, 5))
    if conditioned:
        X = haar(n) * np.geomspace(1, 10 ** -g.uniform(0, 3.99), n)
        X = X / np.abs(X).max()
    else:
        X = np.zeros((n, n))
        k = int(g.integers(0, n + 1))
        X[:, :k] = g.uniform(-1, 1, (n, k))
    Y = np.zeros((n, n))
    Y[:, 0] = g.uniform(-1, 1, n) * random.choice(SCALES + [1.0])
    return X, Y


def loewner_heinz_sqrt():
    return _psd_pair(conditioned=False)


def inverse_antitone():
    return _psd_pair(conditioned=True)


def trace_free_radius():         # Q diag(n-1, -1, ..., -1) Q^T
    n = int(g.integers(2, 7))
    D = -np.ones(n)
    D[0] = n - 1
    M = spectral(haar(n), D)
    return perturb(M * 10 / np.abs(M).max(), 10)


def riesz_thorin():              # rank-one sign patterns, scaled identities
    m, n = int(g.integers(1, 6)), int(g.integers(1, 6))
    if g.random() < 0.7:
        s, t = np.where(g.random(m) < 0.5, 1, -1), np.where(g.random(n) < 0.5, 1, -1)
        A = np.outer(g.uniform(0.1, 1, m) * s, g.uniform(0.1, 1, n) * t)
    else:
        A = np.eye(m, n) * g.uniform(1, 2)
    return perturb(A * 10 / np.abs(A).max(), 10)


gens = {f.__name__: f for f in (
    hadamard_inequality, hadamard_det_box, boettcher_wenzel, golden_thompson, weyl_upper,
    cauchy_interlacing, neumann_bound, inverse_perturbation, varah_bound, loewner_heinz_sqrt,
    inverse_antitone, trace_free_radius, riesz_thorin)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=3000, help="instances per lemma (default 3000)")
    p.add_argument("--no-slack", action="store_true", help="set the lemmas' EPS to 0")
    args = p.parse_args(argv)
    if args.no_slack:
        T.EPS = 0.0
    warnings.simplefilter("ignore", RuntimeWarning)
    claims = {c.id.split(".")[-1]: c for c in vars(T).values() if hasattr(c, "measure")}
    total = 0
    for name, gen in gens.items():
        fn = claims[name].measure.__wrapped_lemma__
        worst, bad = -np.inf, 0
        for _ in range(args.n):
            lhs, rhs = (np.asarray(v, dtype=float) for v in fn(gen()))
            gap = float(np.max(lhs - rhs))
            worst = max(worst, gap / max(1e-300, float(np.max(np.abs(rhs)))))
            bad += gap > 0
        total += bad > 0
        print(f"{name:22s} violations {bad:5d}/{args.n}   worst (lhs - rhs)/|rhs| = {worst:.3g}")
    print(f"{total} of {len(gens)} lemmas violated" + (" (slack removed)" if args.no_slack else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
