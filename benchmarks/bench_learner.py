"""Benchmark one SGD step (forward + backward + update) of the learner F (docs/theory.md §1.4).

    python benchmarks/bench_learner.py [--threads 1] [--rounds 5] [--batches 1,8,...] [--quick]

Same math for every peer: chain connections, untied K/W merged per layer as
M_l = [K_l; W_l], truncated square (B = 16), lifted offsets b_3, squared loss,
weight decay on M, plain SGD; once in float64 and once in float32 (theorycheck's
opt-in float32 training path, torch and JAX in float32). Peers: PyTorch CPU eager
and JAX CPU jit (optional; skipped with a message when not installed). Timings are
medians over interleaved rounds (the peers take turns), because the machine is
shared; the load average is printed before and after. "Step vs its GEMMs alone":
our step against just the matrix products the model needs (NumPy matmul, same
shapes and dtype, timed in the same rounds). GEMM peak fraction: the model's GEMM
flops per second of our step (and of the GEMMs alone) over a large matmul of the
same dtype timed in the same rounds. Start-up (cold and warm numba cache) is
measured by benchmarks/bench_startup.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _set_threads(n: int) -> None:
    """Same thread budget for every peer. XLA:CPU runs work on its own thread pool even
    with the flags below, so the process is also pinned to ``n`` cores: every peer then
    gets the same CPU, however many threads it starts."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:n])
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(n)
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               f" --xla_cpu_multi_thread_eigen={'true' if n > 1 else 'false'}"
                               f" intra_op_parallelism_threads={n}").strip()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.2, help="target time per peer per round")
    ap.add_argument("--batches", default="1,8,32,128,256,512,1024",
                    help="comma-separated batch sizes (default: %(default)s)")
    ap.add_argument("--dtypes", default="float64,float32", help="default: %(default)s")
    ap.add_argument("--quick", action="store_true", help="3 rounds, shorter timings")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds = 3, 0.1
    _set_threads(args.threads)
    sys.path.insert(0, str(ROOT))

    import numpy as np
    from threadpoolctl import threadpool_limits
    threadpool_limits(args.threads)

    from theorycheck.papers.bfc import learner as Lr

    peers = {}
    try:
        import torch
        torch.set_num_threads(args.threads)
        peers["torch"] = _torch_peer
    except ImportError:
        print("# PyTorch not installed: skipping the torch peer (pip install '.[bench]')")
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        peers["jax"] = _jax_peer
    except ImportError:
        print("# JAX not installed: skipping the jax peer (pip install '.[bench]')")

    batches = [int(b) for b in args.batches.split(",")]
    d, k, m, L = 64, 8, 256, 3
    print(f"learner d={d} k={k} m={m} L={L} (untied, chain, B=16, weight decay); median of "
          f"{args.rounds} interleaved rounds, ~{args.seconds:.2f} s per peer per round; "
          f"{args.threads} thread(s) for numba, BLAS, torch and XLA; process pinned to CPU(s) "
          f"{sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}; "
          f"load average before: {_load()}")
    for dtype in args.dtypes.split(","):
        dt = np.dtype(dtype)
        gemm_step, gemm_flops = _gemm(np, dt)
        rows = []
        for B in batches:
            spec = Lr.learner_spec(d, L, k=k, m=m, B=16.0, tied=False)
            rng = np.random.default_rng(0)
            p64 = Lr.init_learner(spec, rng=1, scale=0.1)
            params = Lr.LearnerParams(spec, p64.theta.astype(dt), p64.R)
            X = rng.standard_normal((B, d)).astype(dt)
            y = rng.standard_normal(B).astype(dt)
            lr, wd = 1e-4, 1e-4
            steps = {"theorycheck": _theorycheck_peer(Lr, params.copy(), X, y, lr, wd)}
            for name, make in peers.items():
                steps[name] = make(params, X, y, lr, wd)
            steps["_gemm"] = gemm_step
            steps["_gemms_only"] = _gemms_only(np, spec, B, dt)
            times = _interleave(steps, args.rounds, args.seconds)
            peak = gemm_flops / times.pop("_gemm")
            gemms = times.pop("_gemms_only")
            ours = times["theorycheck"]
            flops = _model_flops(spec, B)
            rows.append({"batch": B, "path": Lr._pick_path("auto", B),
                         "steps/s": 1.0 / ours, "ratio": {n: t / ours for n, t in times.items()},
                         "step_us": ours * 1e6, "gemms_us": gemms * 1e6,
                         "peak": peak / 1e9, "peak_frac": flops / ours / peak,
                         "gemms_frac": flops / gemms / peak})
        print(f"\n{dtype}: GEMM peak {statistics.median(r['peak'] for r in rows):.1f} GFLOP/s "
              f"(a {GEMM_N}^3 matmul, timed in every round beside the peers)\n")
        _print_table(rows, peers)
    print(f"\nload average after: {_load()}")
    print("GEMM work counts the model's products (forward, weight and input gradients, lift); "
          "'GEMMs alone' runs just those products through NumPy's BLAS at the same shapes. The "
          "fused path may do fewer flops than that (the quadratic identity), so its step can "
          "be faster than the GEMMs alone.")
    return 0


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


# ----------------------------------------------------------------------------- peers
def _theorycheck_peer(Lr, params, X, y, lr, wd, path="auto"):
    Lr.sgd_step(params, X, y, lr, lambda_wd=wd, path=path)   # compile / validate once

    def step():
        Lr.sgd_step(params, X, y, lr, lambda_wd=wd, path=path, check=False)
    return step


def _blocks(params):
    import numpy as np
    spec = params.spec
    assert spec.L == 3 and spec.J(3) == (2,) and not spec.tied
    dt = params.theta.dtype
    return (np.array(params.M(2)), np.array(params.M(3)), np.array(params.b(3)),
            np.array(params.R[2], dtype=dt), spec.k(2), spec.k(3), float(spec.B), spec.alphas)


def _torch_peer(params, X, y, lr, wd):
    import torch
    M2, M3, b3, R, k2, k3, B, (a2, a3) = _blocks(params)
    M2, M3, b3 = (torch.tensor(a, requires_grad=True) for a in (M2, M3, b3))
    R, X, y = torch.tensor(R), torch.tensor(X), torch.tensor(y)

    def st(z):
        a = z.abs()
        return torch.where(a <= B, z * z, 2 * B * a - B * B)

    def step():
        IN2 = torch.cat([X, X * X - 1.0], dim=1)
        P2 = IN2 @ M2.T
        U = P2[:, :k2] @ R.T
        P3 = (U * U - b3) @ M3.T
        f = a2 * st(P2[:, k2:]).sum(1) + a3 * st(P3[:, k3:]).sum(1)
        loss = ((f - y) ** 2).mean() + wd * ((M2 * M2).sum() + (M3 * M3).sum())
        loss.backward()
        with torch.no_grad():
            for p in (M2, M3, b3):
                p -= lr * p.grad
                p.grad = None
    return step


def _jax_peer(params, X, y, lr, wd):
    import jax
    import jax.numpy as jnp
    M2, M3, b3, R, k2, k3, B, (a2, a3) = _blocks(params)

    def st(z):
        a = jnp.abs(z)
        return jnp.where(a <= B, z * z, 2 * B * a - B * B)

    def loss_fn(ps, X, y):
        M2, M3, b3 = ps
        IN2 = jnp.concatenate([X, X * X - 1.0], axis=1)
        P2 = IN2 @ M2.T
        U = P2[:, :k2] @ R.T
        P3 = (U * U - b3) @ M3.T
        f = a2 * st(P2[:, k2:]).sum(1) + a3 * st(P3[:, k3:]).sum(1)
        return ((f - y) ** 2).mean() + wd * ((M2 * M2).sum() + (M3 * M3).sum())

    @jax.jit
    def update(ps, X, y):
        grads = jax.grad(loss_fn)(ps, X, y)
        return tuple(p - lr * g for p, g in zip(ps, grads))

    state = [tuple(jnp.asarray(a) for a in (M2, M3, b3))]
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    jax.block_until_ready(update(state[0], Xj, yj))

    def step():
        state[0] = update(state[0], Xj, yj)
        jax.block_until_ready(state[0])
    return step


def _gemms_only(np, spec, n, dt):
    """Just the matrix products one step needs (forward, weight and input gradients, lift)."""
    rng = np.random.default_rng(0)

    def rand(*shape):
        return rng.standard_normal(shape).astype(dt)
    ops = []
    for l in range(2, spec.L + 1):
        rows, nin = spec.rows(l), spec.nin(l)
        IN, M, D = rand(n, nin), rand(rows, nin), rand(n, rows)
        ops.append((IN, M.T, np.empty((n, rows), dt)))
        ops.append((D.T, IN, np.empty((rows, nin), dt)))
        if any(j >= 2 for j in spec.J(l)):
            ops.append((D, M, np.empty((n, nin), dt)))
        if l < spec.L:
            p, k = spec.lift_rows[l - 2], spec.k(l)
            S, R, dU = rand(n, k), rand(p, k), rand(n, p)
            ops.append((S, R.T, np.empty((n, p), dt)))
            ops.append((dU, R, np.empty((n, k), dt)))

    def step():
        for a, b, out in ops:
            np.matmul(a, b, out=out)
    return step


# -------------------------------------------------------------------------- timing
def _time(step, seconds: float) -> float:
    n, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        t = time.perf_counter() - t0
        if t >= seconds or n >= 1 << 20:
            return t / n
        n = max(2 * n, int(n * seconds / max(t, 1e-9)) + 1) if t > 0.01 else 4 * n


def _interleave(steps: dict, rounds: int, seconds: float) -> dict:
    for s in steps.values():
        s()
    samples = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            samples[name].append(_time(step, seconds))
    return {name: statistics.median(v) for name, v in samples.items()}


GEMM_N = 1536


def _gemm(np, dt):
    """A large matmul step in ``dt`` and its flop count (the machine's GEMM peak)."""
    rng = np.random.default_rng(0)
    A, B = (rng.standard_normal((GEMM_N, GEMM_N)).astype(dt) for _ in range(2))
    C = np.empty_like(A)

    def step():
        np.matmul(A, B, out=C)
    return step, 2.0 * GEMM_N ** 3


def _model_flops(spec, n: int) -> float:
    """GEMM flops of one step: forward pre-activations, weight gradients, input
    gradients of layers that read lifted features, and the lift and its adjoint."""
    total = 0
    for l in range(2, spec.L + 1):
        rows, nin = spec.rows(l), spec.nin(l)
        total += 2 * (2 * n * rows * nin)
        if any(j >= 2 for j in spec.J(l)):
            total += 2 * n * rows * nin
        if l < spec.L:
            total += 2 * (2 * n * spec.k(l) * spec.lift_rows[l - 2])
    return float(total)


def _print_table(rows, peers) -> None:
    head = ("| batch | path | theorycheck steps/s | " + " | ".join(f"× {PEER_NAMES[n]}" for n in peers)
            + " | step vs its GEMMs alone | GEMM peak fraction (step; GEMMs alone) |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        cells = [str(r["batch"]), r["path"], f"{r['steps/s']:,.0f}"]
        cells += [f"{r['ratio'][n]:.2f}" for n in peers]
        cells += [f"{r['step_us'] / r['gemms_us']:.2f} ({r['step_us']:,.0f} vs {r['gemms_us']:,.0f} µs)",
                  f"{100 * r['peak_frac']:.0f}%; {100 * r['gemms_frac']:.0f}%"]
        print("| " + " | ".join(cells) + " |")


PEER_NAMES = {"torch": "torch eager", "jax": "JAX jit"}


if __name__ == "__main__":
    raise SystemExit(main())
