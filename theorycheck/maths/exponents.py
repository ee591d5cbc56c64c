"""Empirical sample-size exponents (docs/theory.md §2.3, §1.7): from measured loss curves,
the sample size N_required(d) at which the loss first drops to ``eps``, and the fit
N_required ~ d^e over a range of d, with an interval over seeds.

Conventions [R]: N_required is read off a loss curve by linear interpolation in
(log n, loss) at the first grid crossing of ``eps``; a seed whose curve never reaches
``eps`` on the grid is *censored* at that d and left out of the fit (reported); so is a
seed already below ``eps`` at the smallest n (left-censored). Per seed, e is the
least-squares slope of log N_required on log d (``scipy.stats.linregress``); the interval is
the one-sample t-interval mean +- t_{0.975, s-1} sd / sqrt(s) over the s seeds with a fit
(``scipy.stats.ttest_1samp(...).confidence_interval``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from scipy import stats


def required_n(ns: Sequence[int], losses: Sequence[float], eps: float) -> float:
    """First n at which a loss curve reaches ``eps``, by log-linear interpolation.

    Parameters
    ----------
    ns : sequence of int
        Sample sizes (any order).
    losses : sequence of float
        The loss measured at each n.
    eps : float
        Threshold.

    Returns
    -------
    float
        nan when the curve never reaches eps on the grid (right-censored) or is already
        below it at the smallest n (left-censored: the grid cannot locate the crossing).

    Examples
    --------
    >>> round(required_n([100, 400], [0.8, 0.4], 0.6), 9)
    200.0
    """
    ns = np.asarray(ns, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    order = np.argsort(ns)
    ns, losses = ns[order], losses[order]
    hit = np.nonzero(losses <= eps)[0]
    if hit.size == 0:
        return math.nan
    i = int(hit[0])
    if i == 0:
        return math.nan
    l0, l1 = losses[i - 1], losses[i]
    t = (l0 - eps) / (l0 - l1)
    return float(np.exp(np.log(ns[i - 1]) + t * (np.log(ns[i]) - np.log(ns[i - 1]))))


def fit_exponent(ds: Sequence[float], n_req: Sequence[float]) -> float:
    """Least-squares slope of log n_req on log d.

    Parameters
    ----------
    ds : sequence of float
    n_req : sequence of float
        N_required per d; non-finite entries (censored) are left out.

    Returns
    -------
    float
        nan with fewer than 2 finite points.

    Examples
    --------
    >>> round(fit_exponent([2, 4, 8], [4, 16, float("nan")]), 12)
    2.0
    """
    ds = np.asarray(ds, dtype=np.float64)
    n_req = np.asarray(n_req, dtype=np.float64)
    ok = np.isfinite(n_req)
    if ok.sum() < 2:
        return math.nan
    if np.ptp(ds[ok]) == 0:
        return math.nan
    return float(stats.linregress(np.log(ds[ok]), np.log(n_req[ok])).slope)


@dataclass
class ExponentRow:
    """One learner's fitted exponent: mean over seeds, interval [lo, hi], the seeds with a
    fit, the censored (seed, d) count, each seed's exponent and ``N_required[seed][d]``."""

    learner: str
    exponent: float
    lo: float
    hi: float
    seeds_fitted: int
    censored: int
    per_seed: list = field(default_factory=list)
    n_required: dict = field(default_factory=dict)


def fit_row(learner: str, ds: Sequence[int], seeds: Sequence[int],
            curves: Mapping[tuple[int, int], tuple[Sequence[int], Sequence[float]]],
            eps: float) -> ExponentRow:
    """One :class:`ExponentRow` from loss curves.

    Parameters
    ----------
    learner : str
        The row's label.
    ds, seeds : sequence of int
    curves : mapping
        ``curves[(d, seed)] = (ns, losses)``; a (d, seed) without a curve counts as censored.
    eps : float
        Threshold of :func:`required_n`.

    Returns
    -------
    ExponentRow
        The required n per (d, seed), one fitted exponent per seed and their interval.

    Examples
    --------
    Losses log(d^2 / n), linear in log n, reach -2 at n = e^2 d^2:

    >>> ns = [10, 100, 1000, 10000]
    >>> curves = {(d, s): (ns, [math.log(d ** 2 / n) for n in ns]) for d in (2, 4, 8) for s in (0, 1)}
    >>> round(fit_row("toy", [2, 4, 8], [0, 1], curves, -2.0).exponent, 6)
    2.0
    """
    per_seed, censored, n_req = [], 0, {}
    for s in seeds:
        req = [required_n(*curves[(d, s)], eps) if curves.get((d, s), ((),))[0] else math.nan
               for d in ds]
        n_req[s] = dict(zip(ds, req))
        censored += int(np.sum(~np.isfinite(req)))
        e = fit_exponent(ds, req)
        if np.isfinite(e):
            per_seed.append(e)
    m, lo, hi = seed_interval(per_seed)
    return ExponentRow(learner, m, lo, hi, len(per_seed), censored, per_seed, n_req)


def seed_interval(per_seed: Sequence[float]) -> tuple[float, float, float]:
    """(mean, lo, hi): mean +- t_{0.975, s-1} sd / sqrt(s) over s per-seed values.

    Parameters
    ----------
    per_seed : sequence of float

    Returns
    -------
    tuple of float
        nan bounds with fewer than 2 values (and a nan mean with none).

    Examples
    --------
    >>> m, lo, hi = seed_interval([1.0, 2.0, 3.0])
    >>> m, round(hi - m, 4)
    (2.0, 2.4841)
    """
    k = len(per_seed)
    if k < 2:
        m = float(per_seed[0]) if k else math.nan
        return m, math.nan, math.nan
    m = float(np.mean(per_seed))
    if np.ptp(per_seed) == 0:   # identical seeds: a zero-width interval (scipy gives nan)
        return m, m, m
    ci = stats.ttest_1samp(per_seed, 0.0).confidence_interval(0.95)
    return m, float(ci.low), float(ci.high)
