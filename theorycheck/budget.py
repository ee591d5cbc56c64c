"""Budgets checked before work: memory, time and term counts.

Every command and public entry point whose memory (or time, or number of polynomial terms)
grows with its sizes estimates the need *before* it allocates or loops, compares it with a
budget, and refuses with one line naming the size, the estimate and the largest size that
fits, instead of dying in the allocator or running for days::

    three-layer: --m1=1000000000 needs 7450.6 GiB for the first-layer features (n1 x m1
    doubles) but the memory budget is 11.0 GiB (50% of the available memory); use
    --m1 <= 1476394, or raise the budget with --memory-budget / THEORYCHECK_MEMORY_BUDGET

Budgets
-------
memory
    Half of the memory available now (``MemAvailable`` of ``/proc/meminfo``, else the
    physical memory), or the global flag ``theorycheck --memory-budget 8GiB``, or the
    environment variable ``THEORYCHECK_MEMORY_BUDGET`` (the flag wins). Sizes are bytes with
    an optional unit (``B``, ``KB``/``KiB``, ``MB``/``MiB``, ``GB``/``GiB``, ``TB``/``TiB``)
    or a percentage of the available memory (``75%``).
time
    24 hours of estimated compute, or ``--time-budget`` / ``THEORYCHECK_TIME_BUDGET``
    (seconds, or a number with ``s``, ``min``, ``h`` or ``d``). Time estimates are lower
    bounds (an optimistic throughput), so only runs that certainly exceed it are refused.
terms
    Exact symbolic expansions are refused above :data:`MAX_TERMS` monomials (the count is
    the number of monomials of the degree in the variables, C(n + deg, deg)).

Every refusal is a :class:`~theorycheck.errors.BudgetError` (a
:class:`~theorycheck.errors.TheorycheckError`): the CLI prints it as one line and exits 2.
"""

from __future__ import annotations

import math
import os
import re
from typing import Callable

from theorycheck.errors import BudgetError, SpecError

MEMORY_ENV = "THEORYCHECK_MEMORY_BUDGET"
TIME_ENV = "THEORYCHECK_TIME_BUDGET"
DEFAULT_FRACTION = 0.5
DEFAULT_TIME_S = 24 * 3600.0
MAX_TERMS = 100_000
BUDGET_FIX = f"or raise the budget with --memory-budget / {MEMORY_ENV}"

_override: dict[str, tuple[float, str] | None] = {"memory": None, "time": None}

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1024 ** 2, "mb": 1000 ** 2,
          "mib": 1024 ** 2, "g": 1024 ** 3, "gb": 1000 ** 3, "gib": 1024 ** 3,
          "t": 1024 ** 4, "tb": 1000 ** 4, "tib": 1024 ** 4}
_TIME_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0,
               "d": 86400.0}
_NUM = r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*"


def available_memory() -> int:
    """Bytes of memory available now: ``MemAvailable`` of ``/proc/meminfo``, else the
    physical memory (``os.sysconf``), else 4 GiB."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 4 * 1024 ** 3


def parse_size(text, name: str = "--memory-budget") -> int:
    """Bytes of a size such as ``8GiB``, ``512 MB``, ``1e9`` or ``75%`` (of the available
    memory).

    Raises
    ------
    SpecError
        One line naming ``name`` and the accepted forms.
    """
    fix = f"give bytes with an optional unit, e.g. {name} 8GiB, 512MB or 75%"
    if isinstance(text, bool):
        raise SpecError(f"{name}={text!r} is invalid: not a size; {fix}")
    if isinstance(text, (int, float)):
        value, unit = float(text), ""
    elif isinstance(text, str):
        m = re.fullmatch(_NUM + r"([A-Za-z%]*)\s*", text)
        if not m:
            raise SpecError(f"{name}={text!r} is invalid: not a size; {fix}")
        value, unit = float(m.group(1)), m.group(2).lower()
    else:
        raise SpecError(f"{name}={text!r} is invalid: not a size; {fix}")
    if unit == "%":
        if not 0 < value <= 100:
            raise SpecError(f"{name}={text!r} is invalid: a percentage must be in (0, 100]; {fix}")
        return int(available_memory() * value / 100)
    if unit not in _UNITS:
        raise SpecError(f"{name}={text!r} is invalid: unknown unit {unit!r}; {fix}")
    out = value * _UNITS[unit]
    if not math.isfinite(out) or out < 1:
        raise SpecError(f"{name}={text!r} is invalid: must be at least 1 byte; {fix}")
    return int(out)


def parse_duration(text, name: str = "--time-budget") -> float:
    """Seconds of a duration such as ``3600``, ``90min``, ``12h`` or ``2d``."""
    fix = f"give seconds or a number with s, min, h or d, e.g. {name} 12h"
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise SpecError(f"{name}={text!r} is invalid: not a duration; {fix}")
    m = re.fullmatch(_NUM + r"([A-Za-z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _TIME_UNITS:
        raise SpecError(f"{name}={text!r} is invalid: not a duration; {fix}")
    out = float(m.group(1)) * _TIME_UNITS[m.group(2).lower()]
    if not math.isfinite(out) or out <= 0:
        raise SpecError(f"{name}={text!r} is invalid: must be > 0; {fix}")
    return out


def set_memory_budget(text: str | None, source: str = "--memory-budget") -> None:
    """Fix the memory budget of this process (the global CLI flag); None restores the
    default (environment variable, else the fraction of the available memory)."""
    _override["memory"] = None if text is None else (parse_size(text, source), f"{source} {text}")


def set_time_budget(text: str | None, source: str = "--time-budget") -> None:
    """Fix the time budget of this process (the global CLI flag); None restores the default."""
    _override["time"] = None if text is None else (parse_duration(text, source), f"{source} {text}")


def memory_budget() -> tuple[int, str]:
    """``(bytes, where it comes from)``: the flag, else ``$THEORYCHECK_MEMORY_BUDGET``, else
    half of the available memory."""
    if _override["memory"] is not None:
        b, src = _override["memory"]
        return int(b), src
    env = os.environ.get(MEMORY_ENV)
    if env:
        return parse_size(env, MEMORY_ENV), f"{MEMORY_ENV}={env}"
    return (int(DEFAULT_FRACTION * available_memory()),
            f"{DEFAULT_FRACTION:.0%} of the available memory")


def time_budget() -> tuple[float, str]:
    """``(seconds, where it comes from)``: the flag, else ``$THEORYCHECK_TIME_BUDGET``, else
    24 hours."""
    if _override["time"] is not None:
        return _override["time"]
    env = os.environ.get(TIME_ENV)
    if env:
        return parse_duration(env, TIME_ENV), f"{TIME_ENV}={env}"
    return DEFAULT_TIME_S, "the default 24 h"


def fmt_bytes(n: float) -> str:
    """``n`` bytes in the largest binary unit that keeps it >= 1 (``10728.8 GiB``)."""
    n = float(n)
    units = ("B", "KiB", "MiB", "GiB")
    for i, unit in enumerate(units):
        if abs(n) < 1024 ** (i + 1) or unit == "GiB":
            return f"{n / 1024 ** i:.1f} {unit}"
    return f"{n:.0f} B"  # pragma: no cover


def fmt_seconds(s: float) -> str:
    """A duration in the largest unit that keeps it >= 1 (``3.2 days``)."""
    for unit, size in (("years", 365.25 * 86400), ("days", 86400.0), ("h", 3600.0),
                       ("min", 60.0)):
        if s >= size:
            return f"{s / size:.1f} {unit}"
    return f"{s:.1f} s"


def fmt_count(n: float) -> str:
    return f"{n:,.0f}" if n < 1e9 else f"{n:.2e}"


def largest(fits: Callable[[int], bool], lo: int, hi: int) -> int | None:
    """The largest integer n in [lo, hi] with ``fits(n)`` (``fits`` monotone: true up to a
    point); None when even ``lo`` does not fit."""
    lo, hi = int(lo), int(hi)
    if not fits(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _fix(name: str, value: int, fits: Callable[[int], bool], lo: int, others: str) -> str:
    n_max = largest(fits, lo, max(lo, int(value)))
    if n_max is None:
        return f"no {name} fits: lower {others}" if others else f"no {name} fits"
    return f"use {name} <= {n_max}"


def check_memory(need: Callable[[int], float], name: str, value: int, *, what: str,
                 lo: int = 1, others: str = "the other sizes") -> None:
    """Refuse (:class:`BudgetError`) when ``need(value)`` bytes exceed the memory budget.

    Parameters
    ----------
    need : callable
        Bytes needed as a function of the size ``name`` (the other sizes fixed); monotone.
    name : str
        The size's name as the caller spells it (``--m1``, ``N``).
    value : int
        The size asked for.
    what : str
        What the memory holds, for the message (``"the Gram matrices"``).
    lo : int
        The smallest valid value of the size (for the largest-that-fits search).
    others : str
        What to lower when no value of ``name`` fits.
    """
    budget, source = memory_budget()
    b = float(need(int(value)))
    if b <= budget:
        return
    fix = _fix(name, value, lambda n: need(n) <= budget, lo, others)
    raise BudgetError(f"{name}={value} needs {fmt_bytes(b)} for {what} but the memory budget is "
                      f"{fmt_bytes(budget)} ({source}); {fix}, {BUDGET_FIX}")


def check_time(seconds: Callable[[int], float], name: str, value: int, *, what: str,
               lo: int = 1, shown=None, total_of: str | None = None) -> None:
    """Refuse (:class:`BudgetError`) when ``seconds(value)``, a lower bound of the run time,
    exceeds the time budget.

    ``shown`` is the value as the user gave it (default ``value``); ``total_of`` names what
    ``value`` totals (e.g. ``"steps"``), and the fix then reads "use at most N steps in all".
    """
    budget, source = time_budget()
    s = float(seconds(int(value)))
    if s <= budget:
        return
    if total_of is None:
        fix = _fix(name, value, lambda n: seconds(n) <= budget, lo, "the other sizes")
    else:
        n_max = largest(lambda n: seconds(n) <= budget, lo, max(lo, int(value)))
        fix = (f"use at most {n_max} {total_of} in all" if n_max is not None
               else f"no number of {total_of} fits: lower the other sizes")
    value = value if shown is None else shown
    raise BudgetError(f"{name}={value} needs at least {fmt_seconds(s)} for {what} but the time "
                      f"budget is {fmt_seconds(budget)} ({source}); {fix}, or raise the budget "
                      f"with --time-budget / {TIME_ENV}")


def monomials(n_vars: int, degree: int) -> int:
    """Number of monomials of total degree <= ``degree`` in ``n_vars`` variables:
    C(n_vars + degree, degree)."""
    return math.comb(int(n_vars) + int(degree), int(degree))


def check_terms(count: int, *, what: str, fix: str, limit: int = MAX_TERMS) -> None:
    """Refuse (:class:`BudgetError`) an exact expansion of more than ``limit`` terms."""
    if count > limit:
        raise BudgetError(f"{what} has up to {fmt_count(count)} terms, above the limit of "
                          f"{fmt_count(limit)}; {fix}")


def array_bytes(*shape: float, itemsize: int = 8) -> float:
    """Bytes of an array of ``shape`` (float64 by default), as a float (no overflow)."""
    out = float(itemsize)
    for s in shape:
        out *= float(s)
    return out


def _culprit(sizes, reference) -> str:
    """The size furthest above its reference value (the likely cause of a refusal)."""
    return max(sizes, key=lambda k: float(sizes[k]) / max(1.0, float(reference.get(k, 1))))


def check_memory_of(need: Callable[[dict], float], sizes: dict, reference: dict, *, what: str,
                    lo: dict | None = None) -> None:
    """:func:`check_memory` for a need depending on several sizes: ``need(sizes)`` bytes; a
    refusal names the size furthest above its ``reference`` value and the largest value of
    it that fits with the others unchanged."""
    budget, _ = memory_budget()
    if float(need(dict(sizes))) <= budget:
        return
    name = _culprit(sizes, reference)
    check_memory(lambda n: need({**sizes, name: n}), name, sizes[name], what=what,
                 lo=(lo or {}).get(name, 1),
                 others=", ".join(k for k in sizes if k != name) or "the other sizes")


def check_time_of(seconds: Callable[[dict], float], sizes: dict, reference: dict, *, what: str,
                  lo: dict | None = None) -> None:
    """:func:`check_time` for a time depending on several sizes (see :func:`check_memory_of`)."""
    budget, _ = time_budget()
    if float(seconds(dict(sizes))) <= budget:
        return
    name = _culprit(sizes, reference)
    check_time(lambda n: seconds({**sizes, name: n}), name, sizes[name], what=what,
               lo=(lo or {}).get(name, 1))
