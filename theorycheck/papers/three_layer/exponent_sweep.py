"""The sample-size exponent study (docs/theory.md §2.3) through the sweep engine and the results
store.

One run of kind ``three-layer-fit`` is one cell of :mod:`theorycheck.papers.three_layer.exponent_study`:
one (learner, d, n, seed) fit of the three-layer learner or a two-layer baseline; its
summary holds the relative test MSE (and corr(phi, x^T A x) for the three-layer learner).
:func:`exponent_specs` builds the grid learners x d x n x seeds as run specs,
:func:`run_exponent_sweep` records and executes the ones not yet done with
:func:`theorycheck.runs.sweep.run_sweep` (so a rerun costs nothing and an interrupted study
resumes), and :func:`cells_from_store` reads the stored cells back for the fit by
:func:`theorycheck.papers.three_layer.exponent_study.exponent_rows`. The config keys and their defaults are
those of :class:`theorycheck.papers.three_layer.exponent_study.ExponentTask`, so a cell computed here and one
computed in process from the same task draw the same target and the same samples.
"""

from __future__ import annotations

import math
import os
import time
from typing import Iterable, Sequence

from theorycheck.papers.three_layer.baselines import BASELINES
from theorycheck.errors import SpecError, TheorycheckError

KIND = "three-layer-fit"
LEARNERS = ("three_layer",) + BASELINES


def run_three_layer_fit(task, seed: int, recorder) -> dict:
    """Fit ``task.learner`` (an :class:`~theorycheck.papers.three_layer.exponent_study.ExponentTask`
    holding the run's seed) on g*(x^T A x) at (d, n, seed) (docs/theory.md §2.2); summary:
    ``rel_mse`` (test MSE / Var f*), ``corr`` (three-layer only) and ``seconds``."""
    from theorycheck.papers.three_layer.exponent_study import run_exponent_task
    t0 = time.perf_counter()
    cell = run_exponent_task(task)
    out = {"rel_mse": float(cell.rel_mse)}
    if cell.corr is not None:
        out["corr"] = float(cell.corr)
    recorder.log(task.n, **out)
    out["seconds"] = round(time.perf_counter() - t0, 6)
    return out


def exponent_specs(ds: Iterable[int], ns: Iterable[int], seeds: Iterable[int], *,
                   learners: Sequence[str] = LEARNERS, **task_options) -> list:
    """The run specs of the study: every (learner, d, n, seed), configs validated against
    the ``three-layer-fit`` schema (defaults filled in, so the hashes match the ones a grid
    file with the same values produces).

    Parameters
    ----------
    ds, ns, seeds : iterable of int
        The grid.
    learners : sequence of str
        Learners.
    **task_options
        Other ``three-layer-fit`` config keys.

    Returns
    -------
    list of RunSpec
    """
    from theorycheck.runs.kinds import get_kind
    from theorycheck.runs.sweep import RunSpec
    kind = get_kind(KIND)
    seeds = list(dict.fromkeys(int(s) for s in seeds))
    return [RunSpec(KIND, kind.validate({"learner": l, "d": d, "n": n, **task_options}), s)
            for l in learners for d in ds for n in ns for s in seeds]


def cells_from_store(store_path: str | os.PathLike, specs: Sequence | None = None) -> list:
    """The stored cells as :class:`theorycheck.papers.three_layer.exponent_study.ExponentCell` s: those of
    ``specs`` (every one must be done), or, with ``specs=None``, every done
    ``three-layer-fit`` run in the store.

    Parameters
    ----------
    store_path : str or PathLike
        The results store.
    specs : sequence of RunSpec or None
        The runs to read; None reads every done ``three-layer-fit`` run.

    Returns
    -------
    list of ExponentCell
    """
    from theorycheck.papers.three_layer.exponent_study import ExponentCell, ExponentTask
    from theorycheck.runs.store import Store
    if not os.path.exists(store_path):
        raise SpecError(f"store {str(store_path)!r} does not exist; run the study first "
                        f"(theorycheck three-layer exponents --store {store_path})")
    with Store(store_path, create=False) as st:
        if specs is None:
            rows = st.runs(kind=KIND, status="done")
        else:
            rows = st.runs(hashes=[s.hash for s in specs])
            missing = len(set(s.hash for s in specs)) - len(rows)
            bad = [r for r in rows if r["status"] != "done"]
            if missing or bad:
                first = bad[0] if bad else None
                raise TheorycheckError(
                    f"{missing + len(bad)} of {len(specs)} runs of the study are not done in store "
                    f"{str(store_path)!r}" + (f" (e.g. {first['hash'][:12]} is {first['status']}"
                                              f"{': ' + first['error'].splitlines()[0] if first.get('error') else ''})"
                                              if first else "")
                    + "; rerun the study on the same store (add --retry-failed for failed runs)")
    if specs is not None:
        order = {s.hash: i for i, s in enumerate(specs)}
        rows.sort(key=lambda r: order[r["hash"]])
    cells = []
    for r in rows:
        s = r["summary"] or {}
        cells.append(ExponentCell(ExponentTask(seed=int(r["seed"]), **r["config"]),
                                  float(s.get("rel_mse", math.nan)), s.get("corr")))
    return cells


def run_exponent_sweep(ds: Iterable[int], ns: Iterable[int], seeds: Iterable[int],
                       store_path: str | os.PathLike, *, learners: Sequence[str] = LEARNERS,
                       eps: float = 0.5, specs: Sequence | None = None, serial: bool = False,
                       workers: int | None = None, scheduler: str | None = None,
                       retry_failed: bool = False, progress=None, **task_options):
    """The exponent study through the sweep engine: record the grid in ``store_path``, run
    the runs not yet done (``serial`` in this process, else on dask), read the cells back
    and fit. ``specs`` (e.g. from a grid file) replaces the grid built from ds/ns/seeds.

    Returns ``(rows, cells, sweep_result)``.

    Parameters
    ----------
    ds, ns, seeds : iterable of int
        The grid (ignored with ``specs``).
    store_path : str or PathLike
        The results store.
    learners : sequence of str
        Learners.
    eps : float
        Relative test error threshold of the fit.
    specs : sequence of RunSpec or None
        Runs to use instead of the grid.
    serial : bool
        Run in this process.
    workers : int or None
        Local dask worker processes.
    scheduler : str or None
        Address of a running dask scheduler.
    retry_failed : bool
        Run failed runs again.
    progress : callable or None
        ``progress(counts, total)``.
    **task_options
        Other ``three-layer-fit`` config keys.
    """
    from theorycheck.papers.three_layer.exponent_study import exponent_rows
    from theorycheck.runs.sweep import run_sweep
    if specs is None:
        _check_study(ds, ns, seeds, learners)
        specs = exponent_specs(ds, ns, seeds, learners=learners, **task_options)
    else:
        bad = [s for s in specs if s.kind != KIND]
        if bad:
            raise SpecError(f"run kind {bad[0].kind!r} is not {KIND!r}; an exponent study grid "
                            f"must use kind = \"{KIND}\"")
        _check_study({s.config["d"] for s in specs}, {s.config["n"] for s in specs},
                     {s.seed for s in specs}, list(dict.fromkeys(s.config["learner"] for s in specs)))
    _check_product(specs)
    res = run_sweep(specs, store_path, serial=serial, workers=workers, scheduler=scheduler,
                    retry_failed=retry_failed, progress=progress)
    cells = cells_from_store(store_path, specs)
    return exponent_rows(cells, eps), cells, res


def _check_study(ds, ns, seeds, learners) -> None:
    from theorycheck.papers.three_layer.exponent_study import check_study_grid
    check_study_grid(ds, ns, seeds, learners)


def _check_product(specs) -> None:
    """The fit reads one loss per (learner, d, n, seed): the specs must be exactly the full
    product of their values (no gaps, no cell given twice with other options)."""
    keys = [(s.config["learner"], s.config["d"], s.config["n"], s.seed) for s in specs]
    axes = [sorted(set(k[i] for k in keys), key=str) for i in range(4)]
    full = math.prod(len(a) for a in axes)
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise SpecError(f"cell (learner, d, n, seed)={dup} appears with two different configs; "
                        f"keep one value of every other key in the exponent grid")
    if len(keys) != full:
        raise SpecError(f"the exponent grid has {len(keys)} cells, not the full product "
                        f"{' x '.join(str(len(a)) for a in axes)} = {full} of its learners, d, n "
                        f"and seeds; give them as [grid] axes")
