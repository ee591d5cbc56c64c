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


@dataclass
class BracketedRow:
    """An exponent fitted where some N_required are known only to lie in a bracket
    [lo, hi] (:func:`fit_row_bracketed`): the range of the mean exponent and the union of the
    95 % intervals over every choice of the bracketed values.

    Attributes
    ----------
    learner : str
    mean_lo, mean_hi : float
        Least and largest mean exponent over the brackets.
    lo, hi : float
        Least lower end and largest upper end of the t-interval over the brackets.
    seeds_fitted : int
        Seeds with a fit (at least two finite or bracketed points).
    censored : int
        (seed, d) with neither a crossing nor a bracket.
    n_required : dict
        ``n_required[seed][d]``: the measured crossing, or the bracket (lo, hi).
    corners : int
        Choices of the bracketed values evaluated (every corner of the box).
    """

    learner: str
    mean_lo: float
    mean_hi: float
    lo: float
    hi: float
    seeds_fitted: int
    censored: int
    n_required: dict = field(default_factory=dict)
    corners: int = 0


#: Most bracketed (seed, d) points :func:`fit_row_bracketed` takes (2^k corners are fitted).
MAX_BRACKETED = 12


def fit_row_bracketed(learner: str, ds: Sequence[int], seeds: Sequence[int],
                      curves: Mapping[tuple[int, int], tuple[Sequence[int], Sequence[float]]],
                      eps: float, brackets: Mapping[tuple[int, int], tuple[float, float]], *,
                      joint: bool = True) -> BracketedRow:
    """:func:`fit_row` where some N_required(d) are bracketed instead of measured.

    Rule [R]: a (d, seed) whose curve gives no crossing (censored, or no curve) but has a
    bracket ``brackets[(d, seed)] = (lo, hi)`` (lo <= N_required <= hi, e.g. a proved lower
    bound and a proved upper bound) enters the fit with values in [lo, hi]; the row reports
    the range of the mean exponent and the union of the 95 % t-intervals over them:

    * ``joint=True``: every bracketed point at the same relative position in its bracket,
      log N = (1 - t) log lo + t log hi for one t in [0, 1] (the bracket is one unknown
      shared by the seeds, not a seed-to-seed difference);
    * ``joint=False``: every point anywhere in its bracket, independently.

    Each seed's slope is linear in every log N_required, so the mean is extreme, and the
    interval's ends mean -+ t_{0.975} sd / sqrt(s) (concave and convex in the slopes) are
    extreme, at corners of the set of choices: t = 0 and t = 1 (joint), or every corner of
    the box of brackets (at most 2^:data:`MAX_BRACKETED`). A measured crossing takes
    precedence over a bracket.

    Parameters
    ----------
    learner, ds, seeds, curves, eps
        As for :func:`fit_row`.
    brackets : mapping
        ``{(d, seed): (lo, hi)}`` with 0 < lo <= hi.
    joint : bool
        One position shared by the brackets (default), or each anywhere in its own.

    Returns
    -------
    BracketedRow

    Examples
    --------
    N_required = d^2 measured at d = 2, 4; at d = 8 only known to lie in [8, 512]:

    >>> ns = [1, 10, 100, 1000]
    >>> curves = {(d, s): (ns, [math.log(d ** 2 / n) for n in ns]) for d in (2, 4) for s in (0, 1)}
    >>> b = {(8, s): (8.0, 512.0) for s in (0, 1)}
    >>> r = fit_row_bracketed("toy", [2, 4, 8], [0, 1], curves, 0.0, b)
    >>> round(r.mean_lo, 6), round(r.mean_hi, 6), r.corners
    (0.5, 3.5, 2)
    >>> fit_row_bracketed("toy", [2, 4, 8], [0, 1], curves, 0.0, b, joint=False).corners
    4
    """
    from itertools import product

    measured = {}
    for s in seeds:
        for d in ds:
            c = curves.get((d, s))
            measured[(d, s)] = required_n(*c, eps) if c is not None and len(c[0]) else math.nan
    free = []
    for key, (lo, hi) in brackets.items():
        if not (0 < lo <= hi and math.isfinite(hi)):
            raise ValueError(f"bracket {key}={lo, hi} is invalid; pass 0 < lo <= hi < inf")
        if key[0] in ds and key[1] in seeds and not math.isfinite(measured[key]):
            free.append(key)
    if not joint and len(free) > MAX_BRACKETED:
        raise ValueError(f"{len(free)} bracketed points is more than MAX_BRACKETED="
                         f"{MAX_BRACKETED}; measure some of them")
    n_req = {s: {d: (tuple(brackets[(d, s)]) if (d, s) in free else measured[(d, s)]) for d in ds}
             for s in seeds}
    censored = sum(1 for k, v in measured.items() if not math.isfinite(v) and k not in free)
    means, los, his, fitted = [], [], [], 0
    corners = [(0,) * len(free), (1,) * len(free)] if joint else list(product(*[(0, 1)] * len(free)))
    for corner in (corners[:1] if not free else corners):
        chosen = dict(measured)
        chosen.update({k: brackets[k][side] for k, side in zip(free, corner)})
        per_seed = [e for e in (fit_exponent(ds, [chosen[(d, s)] for d in ds]) for s in seeds)
                    if np.isfinite(e)]
        m, lo, hi = seed_interval(per_seed)
        fitted = len(per_seed)
        means.append(m)
        los.append(lo)
        his.append(hi)
    return BracketedRow(learner, float(np.min(means)), float(np.max(means)), float(np.min(los)),
                        float(np.max(his)), fitted, censored, n_req, len(corners) if free else 1)
