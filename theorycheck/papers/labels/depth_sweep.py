"""The depth study of docs/theory.md §3.3 through the sweep engine.

One run of kind ``label-depth`` is one (r, seed) cell of :func:`theorycheck.papers.labels.depth_gap.run_task`:
the layerwise residual learner and the baselines (kernel ridge, end-to-end MLP) on a label
hierarchy of depth ``r`` drawn from the run's seed. What it records in the store:

* curves, one point per block b = 1..r: ``error_level_t`` = test error on level t's labels
  after block b (block t's own estimate for b >= t, a ridge probe of block b's frozen features
  for b < t; ``error_after_each_block``);
* summary: ``top_<method>`` (top-level sign error of each method), ``seconds_<method>`` (its
  fit time), ``level_<t>_error`` / ``_added`` / ``_inherited`` (docs/theory.md §3.2b.2) and
  ``top_x_degree_min``.

:func:`study_specs` builds the grid r x seeds as :class:`~theorycheck.runs.sweep.RunSpec` s,
:func:`sweep_study` runs it with :func:`~theorycheck.runs.sweep.run_sweep` (finished runs in the
store are skipped) and :func:`load_results` reads the store back into the dicts that
``run_task`` returns, so ``gap_table``, ``level_table`` and the figures of
:mod:`theorycheck.papers.labels.depth_gap` apply unchanged. A run is short (seconds), so it keeps no
checkpoint: an interrupted run starts over.

The run executes with the BLAS threads the sweep engine pins (``--threads-per-worker``,
default 1), as the in-process study does with one thread, so the two paths give the same
errors for the same seeds.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from theorycheck.papers.labels.depth_gap import QUICK, run_task
from theorycheck.errors import SpecError, TheorycheckError
from theorycheck.papers.labels.hierarchies import FAMILIES
from theorycheck.runs.kinds import get_kind, setting

KIND = "label-depth"
METHODS = ("layerwise", "kernel", "mlp")
LEVEL_KEYS = ("error", "added", "inherited")


@dataclass(frozen=True)
class LabelDepthConfig:
    """Config of ``label-depth``: ``r`` (required) and the study settings of
    ``depth_gap.QUICK``, with its values as defaults."""

    r: int = setting(min_value=1, max_value=12, help="depth: levels of the hierarchy")
    d: int = setting(QUICK["d"], min_value=1, help="input dimension ({±1}^d)")
    labels_per_level: int = setting(QUICK["labels_per_level"], min_value=1)
    n: int = setting(QUICK["n"], min_value=2, help="training inputs")
    n_test: int = setting(QUICK["n_test"], min_value=1, help="test inputs")
    width: int = setting(QUICK["width"], min_value=1, help="random ReLU features per block")
    lam: float = setting(QUICK["lam"], positive=True, help="ridge of each block's read-out")
    label_gain: float = setting(QUICK["label_gain"], min_value=0.0, help="gain of the label slots in W_t")
    writeback: str = setting(QUICK["writeback"], choices=("sign", "tanh"))
    train_on: str = setting(QUICK["train_on"], choices=("estimated", "true"))
    hints: bool = setting(QUICK["hints"], help="write label estimates back into the stream")
    min_x_degree_per_level: float = setting(QUICK["min_x_degree_per_level"], min_value=0.0,
                                            help="redraw level-l labels until x-degree >= this * l")
    family: str = setting(QUICK["family"], choices=FAMILIES)
    fan_in: int = setting(QUICK["fan_in"], min_value=1)
    kernel: bool = setting(QUICK["kernel"], help="run the kernel ridge baseline")
    mlp: bool = setting(QUICK["mlp"], help="run the end-to-end MLP baseline")
    mlp_hidden: tuple[int, ...] = setting(tuple(QUICK["mlp_hidden"]), min_value=1, min_len=1,
                                          help="MLP hidden widths")
    mlp_epochs: int = setting(QUICK["mlp_epochs"], min_value=1)
    zero_readout: bool = setting(QUICK["zero_readout"], help="mutant: read-outs frozen at zero")
    shuffle_labels: bool = setting(QUICK["shuffle_labels"], help="mutant: training labels shuffled")

    def budget(self) -> None:
        """The memory budget (:mod:`theorycheck.budget`), checked before the run is recorded
        or started (never for a run already in the store)."""
        from theorycheck.budget import check_memory_of
        sizes = {k: getattr(self, k) for k in ("d", "n", "n_test", "width", "labels_per_level")}
        check_memory_of(lambda s: label_depth_memory_bytes(self, **s), sizes,
                        {k: QUICK[k] for k in sizes}, what="the depth-study cell")


def label_depth_memory_bytes(config: "LabelDepthConfig", **sizes) -> float:
    """Peak bytes of one ``label-depth`` cell: the inputs and labels, the learner's random
    features and read-outs, the kernel baseline's Gram matrices (n x n and n_test x n) and the
    MLP's activations; ``sizes`` overrides ``d``, ``n``, ``n_test``, ``width``,
    ``labels_per_level``."""
    from theorycheck.budget import array_bytes as b

    v = {k: getattr(config, k) for k in ("d", "n", "n_test", "width", "labels_per_level")}
    v.update(sizes)
    d, n, nt, w = v["d"], v["n"], v["n_test"], v["width"]
    labels = config.r * v["labels_per_level"]
    mem = b(3, n + nt, d + labels) + b(3, n + nt, w) + b(2, w, d + labels + w) + b(n, 16)
    if config.kernel:
        mem += b(3, n, n) + b(nt, n)
    if config.mlp:
        mem += b(4, n + nt, sum(config.mlp_hidden)) + b(3, max(config.mlp_hidden), d + labels)
    return mem


def run_label_depth(config: LabelDepthConfig, seed: int, recorder) -> dict:
    """Run kind ``label-depth``: one (r, seed) cell of the depth study (docs/theory.md §3.3)."""
    res = run_task({**dataclasses.asdict(config), "seed": seed, "blas_threads": None})
    for b, row in enumerate(res["after_block"], 1):
        recorder.log(b, **{f"error_level_{t}": v for t, v in enumerate(row, 1)})
    summary: dict[str, Any] = {"r": res["r"], "top_x_degree_min": res["top_x_degree_min"]}
    for m in METHODS:
        if m in res["top"]:
            summary[f"top_{m}"] = res["top"][m]
            summary[f"seconds_{m}"] = res["seconds"][m]
    for row in res["per_level"]:
        for k in LEVEL_KEYS:
            summary[f"level_{row['level']}_{k}"] = row[k]
    return summary


def result_from_run(run: Mapping, curves: Iterable[tuple]) -> dict:
    """The ``run_task`` dict of a finished ``label-depth`` run, from its store row and its
    curve points ``(hash, metric, step, value)``."""
    s, r = run["summary"], run["config"]["r"]
    after = [[None] * r for _ in range(r)]
    for _, metric, step, value in curves:
        if metric.startswith("error_level_"):
            after[step - 1][int(metric[len("error_level_"):]) - 1] = value
    if any(v is None for row in after for v in row):
        raise TheorycheckError(f"run {run['hash'][:12]} (r={r}, seed={run['seed']}) lacks some "
                               f"error_level curve points; rerun it with a fresh store")
    return {"r": s["r"], "seed": run["seed"],
            "per_level": [{"level": t, **{k: s[f"level_{t}_{k}"] for k in LEVEL_KEYS}}
                          for t in range(1, r + 1)],
            "after_block": after,
            "top": {m: s[f"top_{m}"] for m in METHODS if f"top_{m}" in s},
            "seconds": {m: s[f"seconds_{m}"] for m in METHODS if f"seconds_{m}" in s},
            "top_x_degree_min": s["top_x_degree_min"]}


def study_specs(rs: Sequence[int], seeds: Iterable[int], config: Mapping | None = None) -> list:
    """The grid r x seeds as validated run specs (r-major, as ``depth_study`` orders its tasks).
    ``config`` holds study settings (keys of ``depth_gap.QUICK``); unknown keys are named."""
    from theorycheck.runs.sweep import RunSpec
    kind = get_kind(KIND)
    seeds = list(seeds)
    return [RunSpec(KIND, kind.validate({**(config or {}), "r": r}), int(s))
            for r in rs for s in seeds]


def load_results(store_path: str | os.PathLike, specs: Sequence) -> list[dict]:
    """The results of ``specs`` read back from the store, in their order; a run that is not
    done is named with its status (and error)."""
    from theorycheck.runs.store import Store
    hashes = [s.hash for s in specs]
    with Store(store_path, create=False) as st:
        rows = {row["hash"]: row for row in st.runs(hashes=hashes)}
        out = []
        for spec, h in zip(specs, hashes):
            row = rows.get(h)
            if row is None or row["status"] != "done":
                status = "missing" if row is None else row["status"]
                err = "" if row is None or not row["error"] else \
                    f" ({row['error'].splitlines()[0]})"
                raise TheorycheckError(f"run {h[:12]} (r={spec.config['r']}, seed={spec.seed}) is "
                                       f"{status} in store {str(store_path)!r}{err}; rerun the "
                                       f"study (add --retry-failed for failed runs)")
            out.append(result_from_run(row, st.curves(h)))
    return out


def check_one_study(specs: Sequence) -> None:
    """Refuse a run list that is not one study: runs of another kind, or settings other than
    r that vary (the per-r table would then mix them)."""
    if not specs:
        raise SpecError("the study has no runs; give at least one r and one seed")
    other = [s.kind for s in specs if s.kind != KIND]
    if other:
        raise SpecError(f"run kind {other[0]!r} is not {KIND!r}; the depth study reads "
                        f"{KIND!r} runs only")
    base = {k: v for k, v in specs[0].config.items() if k != "r"}
    for s in specs[1:]:
        diff = sorted(k for k in base if s.config[k] != base[k])
        if diff:
            raise SpecError(f"setting {diff[0]!r} varies across the runs ({base[diff[0]]!r} vs "
                            f"{s.config[diff[0]]!r}); a depth study varies only r and seed, so "
                            f"split the grid")


def sweep_study(specs: Sequence, store_path: str | os.PathLike, **sweep_kw):
    """Run ``specs`` through :func:`~theorycheck.runs.sweep.run_sweep` (keywords passed on:
    ``serial``, ``workers``, ``client``, ``scheduler``, ``retry_failed``, ``progress``, ...)
    and read them back: returns ``(results, SweepResult)``."""
    from theorycheck.runs.sweep import run_sweep
    check_one_study(specs)
    res = run_sweep(specs, store_path, **sweep_kw)
    return load_results(store_path, specs), res


def depth_study_sweep(rs: Sequence[int], seeds: Iterable[int], config: Mapping | None,
                      store_path: str | os.PathLike, **sweep_kw):
    """``depth_study`` through the sweep engine: ``(results, SweepResult)``; rerunning with
    the same store skips the finished runs.

    Parameters
    ----------
    rs : sequence of int
        Depths r.
    seeds : iterable of int
        Seeds per depth.
    config : mapping or None
        Overrides of the task (as for :func:`depth_study`).
    store_path : str or PathLike
        The results store.
    **sweep_kw
        Passed to :func:`theorycheck.runs.sweep.run_sweep` (``serial``, ``workers``, ...).
    """
    return sweep_study(study_specs(rs, seeds, config), store_path, **sweep_kw)
