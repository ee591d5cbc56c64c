"""Benchmark one SGD step (forward + backward + update) of the learner F (docs/theory.md §1.4).

    python benchmarks/bench_learner.py [--threads 1] [--rounds 7] [--quick]

Same math for every peer: chain connections, untied K/W merged per layer as
M_l = [K_l; W_l], truncated square (B = 16), lifted offsets b_3, squared loss,
weight decay on M, plain SGD, float64. Peers: plain NumPy, PyTorch CPU eager,
JAX CPU jit (optional; skipped with a message when not installed). Timings are
medians over interleaved rounds (the peers take turns), because the machine is
shared. GFLOP/s counts the model's GEMM work (2*a*b*c per matrix product of the
forward and backward passes); the peak is a large float64 matmul timed in the
same interleaved rounds (so it sees the same machine load) with the same thread
count. Start-up: ``import theorycheck.papers.bfc.learner; warmup()`` in fresh processes, cold
(empty NUMBA_CACHE_DIR: compiles) and warm (loads the cache).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
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
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=0.25, help="target time per peer per round")
    ap.add_argument("--quick", action="store_true", help="3 rounds, shorter timings")
    ap.add_argument("--no-startup", action="store_true", help="skip the cold/warm start-up probe")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds = 3, 0.1
    _set_threads(args.threads)
    sys.path.insert(0, str(ROOT))

    import numpy as np
    from threadpoolctl import threadpool_limits
    threadpool_limits(args.threads)

    from theorycheck.papers.bfc import learner as Lr

    peers = {"numpy": _numpy_peer}
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

    if not args.no_startup:
        cold, warm = _startup()
        print(f"start-up (import + warmup() in a fresh process): cold {cold:.2f} s "
              f"(empty numba cache), warm {warm:.2f} s (cache loaded)")

    gemm_step, gemm_flops = _gemm(np)
    print(f"median of {args.rounds} interleaved rounds; ~{args.seconds:.2f} s per peer per round; "
          f"{args.threads} thread(s) for numba, BLAS, torch and XLA; process pinned to CPU(s) "
          f"{sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}")
    print(f"float64 GEMM peak: a {GEMM_N}^3 matmul timed in the same interleaved rounds\n")

    rows = []
    for d, k, m, L, B in [(64, 8, 256, 3, 1), (64, 8, 256, 3, 32), (64, 8, 256, 3, 512)]:
        spec = Lr.learner_spec(d, L, k=k, m=m, B=16.0, tied=False)
        rng = np.random.default_rng(0)
        params = Lr.init_learner(spec, rng=1, scale=0.1)
        X = rng.standard_normal((B, d))
        y = rng.standard_normal(B)
        lr, wd = 1e-4, 1e-4
        steps = {"theorycheck": _theorycheck_peer(Lr, params.copy(), X, y, lr, wd)}
        if B > Lr.LOOPS_MAX_BATCH or B == 32:
            other = "loops" if B > Lr.LOOPS_MAX_BATCH else "blas"
            steps[f"theorycheck[{other}]"] = _theorycheck_peer(Lr, params.copy(), X, y, lr, wd, other)
        for name, make in peers.items():
            steps[name] = make(params, X, y, lr, wd)
        steps["_gemm"] = gemm_step
        steps["_gemms_only"] = _gemms_only(np, spec, B)
        steps["_forward_only"] = _forward_only(Lr, params, X)
        times = _interleave(steps, args.rounds, args.seconds)
        peak = gemm_flops / times.pop("_gemm")
        profile = {"gemms_only": times.pop("_gemms_only"), "forward_only": times.pop("_forward_only")}
        flops = _model_flops(spec, B)
        ours = times["theorycheck"]
        row = {"config": f"d={d} k={k} m={m} L={L} B={B}",
               "path": "loops" if B <= Lr.LOOPS_MAX_BATCH else "blas",
               "steps/s": {n: 1.0 / t for n, t in times.items()},
               "ratio": {n: t / ours for n, t in times.items() if n != "theorycheck"},
               "gflops": flops / ours / 1e9, "peak": peak / 1e9, "peak_frac": flops / ours / peak,
               "step_us": ours * 1e6, "gemms_us": profile["gemms_only"] * 1e6,
               "gemms_frac": flops / profile["gemms_only"] / peak,
               "forward_us": profile["forward_only"] * 1e6}
        rows.append(row)
    _print_table(rows, peers)
    print("\nprofile (same rounds): our step; the model's GEMMs alone (NumPy matmul, same shapes: "
          "the ceiling of any BLAS implementation); our forward pass alone")
    for r in rows:
        print(f"  {r['config']}: step {r['step_us']:.0f} us = forward {r['forward_us']:.0f} us + "
              f"backward/update {r['step_us'] - r['forward_us']:.0f} us; GEMMs alone "
              f"{r['gemms_us']:.0f} us ({100 * r['gemms_frac']:.0f}% of peak)")
    return 0


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
    return (np.array(params.M(2)), np.array(params.M(3)), np.array(params.b(3)),
            np.array(params.R[2]), spec.k(2), spec.k(3), float(spec.B), spec.alphas)


def _numpy_peer(params, X, y, lr, wd):
    import numpy as np
    M2, M3, b3, R, k2, k3, B, (a2, a3) = _blocks(params)
    n = X.shape[0]

    def st(z):
        a = np.abs(z)
        return np.where(a <= B, z * z, 2 * B * a - B * B)

    def dst(z):
        return np.where(np.abs(z) <= B, 2 * z, 2 * B * np.sign(z))

    def step():
        nonlocal M2, M3, b3
        IN2 = np.concatenate([X, X * X - 1.0], axis=1)
        P2 = IN2 @ M2.T
        U = P2[:, :k2] @ R.T
        IN3 = U * U - b3
        P3 = IN3 @ M3.T
        f = a2 * st(P2[:, k2:]).sum(1) + a3 * st(P3[:, k3:]).sum(1)
        g = 2.0 * (f - y) / n
        D3 = np.zeros_like(P3)
        D3[:, k3:] = (a3 * g)[:, None] * dst(P3[:, k3:])
        G3 = D3.T @ IN3
        DIN3 = D3 @ M3
        gb3 = -DIN3.sum(0)
        D2 = np.empty_like(P2)
        D2[:, k2:] = (a2 * g)[:, None] * dst(P2[:, k2:])
        D2[:, :k2] = (2.0 * U * DIN3) @ R
        G2 = D2.T @ IN2
        M2 = M2 - lr * (G2 + 2 * wd * M2)
        M3 = M3 - lr * (G3 + 2 * wd * M3)
        b3 = b3 - lr * gb3
    return step


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


def _gemms_only(np, spec, n):
    """Just the matrix products one step needs (forward, weight and input gradients, lift)."""
    rng = np.random.default_rng(0)
    ops = []
    for l in range(2, spec.L + 1):
        rows, nin = spec.rows(l), spec.nin(l)
        IN, M, D = rng.standard_normal((n, nin)), rng.standard_normal((rows, nin)), rng.standard_normal((n, rows))
        ops.append((IN, M.T, np.empty((n, rows))))
        ops.append((D.T, IN, np.empty((rows, nin))))
        if any(j >= 2 for j in spec.J(l)):
            ops.append((D, M, np.empty((n, nin))))
        if l < spec.L:
            p, k = spec.lift_rows[l - 2], spec.k(l)
            S, R, dU = rng.standard_normal((n, k)), rng.standard_normal((p, k)), rng.standard_normal((n, p))
            ops.append((S, R.T, np.empty((n, p))))
            ops.append((dU, R, np.empty((n, k))))

    def step():
        for a, b, out in ops:
            np.matmul(a, b, out=out)
    return step


def _forward_only(Lr, params, X):
    def step():
        Lr.forward(params, X)
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


def _gemm(np):
    """A large float64 matmul step and its flop count (the machine's GEMM peak)."""
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((GEMM_N, GEMM_N)), rng.standard_normal((GEMM_N, GEMM_N))
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


def _startup() -> tuple[float, float]:
    code = ("import time; t = time.perf_counter(); import theorycheck.papers.bfc.learner as L; L.warmup(); "
            "print(time.perf_counter() - t)")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = []
        for _ in range(2):
            res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                                 capture_output=True, text=True, check=True)
            out.append(float(res.stdout.strip().splitlines()[-1]))
    return out[0], out[1]


def _print_table(rows, peers) -> None:
    names = ["theorycheck"] + [n for n in ("theorycheck[loops]", "theorycheck[blas]")
                               if any(n in r["steps/s"] for r in rows)] + list(peers)
    head = "| config | path | " + " | ".join(f"{n} steps/s" for n in names) + \
           " | " + " | ".join(f"x {n}" for n in peers) + " | GFLOP/s | peak GFLOP/s | of peak |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        cells = [r["config"], r["path"]]
        cells += [f"{r['steps/s'][n]:,.0f}" if n in r["steps/s"] else "-" for n in names]
        cells += [f"{r['ratio'][n]:.2f}" for n in peers]
        cells += [f"{r['gflops']:.1f}", f"{r['peak']:.1f}", f"{100 * r['peak_frac']:.0f}%"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
