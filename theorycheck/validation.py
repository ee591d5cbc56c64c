"""Argument checks whose messages state the bad value and the fix.

Modelled on hypothesis's ``extra/numpy.py`` validators: each check either
returns the normalised value or raises a :class:`~theorycheck.errors.SpecError`
(or the class passed as ``error``) with one line of the form
``"<name>=<value!r> is invalid: <why>; <fix>"``.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any, Iterable

from theorycheck.errors import NumericalError, SpecError

if TYPE_CHECKING:
    import numpy as np


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut in the middle when longer than ``limit`` characters, on one line."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else f"{text[:limit - 20]}...{text[-12:]}"


def _fail(name: str, value: Any, why: str, fix: str, error=SpecError):
    raise error(f"{name}={short_repr(value)} is invalid: {why}; {fix}")


def check_int(name: str, value: Any, *, min_value: int | None = None,
              max_value: int | None = None, error=SpecError) -> int:
    """Return ``value`` as an int, rejecting bools, non-integers and out-of-range values."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, float, str)):
        _fail(name, value, "not an integer", f"pass a whole number for {name}", error)
    if isinstance(value, str):
        value = _int_text(name, value, error)
    if isinstance(value, float):
        if not value.is_integer():
            _fail(name, value, "not an integer", f"pass a whole number for {name}", error)
        value = int(value)
    value = int(value)
    if min_value is not None and value < min_value:
        _fail(name, value, f"must be >= {min_value}", f"use {name} >= {min_value}", error)
    if max_value is not None and value > max_value:
        _fail(name, value, f"must be <= {max_value}", f"use {name} <= {max_value}", error)
    return value


def _int_text(name: str, text: str, error) -> int:
    """An integer written as text: ``"12"``, or in scientific notation when exact (``"1e9"``,
    ``"2.5e3"``); absurd exponents are refused before any huge integer is built."""
    from decimal import Decimal, InvalidOperation

    try:
        return int(text)
    except ValueError:
        pass
    try:
        dec = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        _fail(name, text, "not an integer", f"pass a whole number for {name}", error)
    if not dec.is_finite() or dec != dec.to_integral_value():
        _fail(name, text, "not an integer", f"pass a whole number for {name}", error)
    if dec.adjusted() > 100:
        _fail(name, text, "too large (more than 100 digits)", f"pass a usable whole number for "
              f"{name}", error)
    return int(dec)


def check_real(name: str, value: Any, *, positive: bool = False, nonnegative: bool = False,
               min_value: float | None = None, max_value: float | None = None,
               error=SpecError) -> float:
    """Return ``value`` as a finite float with the stated sign / range."""
    if isinstance(value, bool):
        _fail(name, value, "not a number", f"pass a real number for {name}", error)
    try:
        out = float(value)
    except (TypeError, ValueError):
        _fail(name, value, "not a number", f"pass a real number for {name}", error)
    if not math.isfinite(out):
        _fail(name, value, "not finite", f"pass a finite real number for {name}", error)
    if positive and out <= 0:
        _fail(name, value, "must be > 0", f"pass a positive {name}", error)
    if nonnegative and out < 0:
        _fail(name, value, "must be >= 0", f"pass a non-negative {name}", error)
    if min_value is not None and out < min_value:
        _fail(name, value, f"must be >= {min_value}", f"use {name} >= {min_value}", error)
    if max_value is not None and out > max_value:
        _fail(name, value, f"must be <= {max_value}", f"use {name} <= {max_value}", error)
    return out


def check_bool(name: str, value: Any, error=SpecError) -> bool:
    """Return ``value`` if it is a boolean (``True``/``False``, or a NumPy bool); a string such
    as ``"no"`` or a number is refused rather than read by its truth value."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":  # a NumPy bool too
        return bool(value)
    _fail(name, value, "not a boolean", f"pass True or False for {name}", error)


def check_str(name: str, value: Any, error=SpecError) -> str:
    """Return ``value`` if it is a string."""
    if not isinstance(value, str):
        _fail(name, value, f"a {type(value).__name__}, not a string", f"pass a string for {name}",
              error)
    return value


def check_choice(name: str, value: Any, choices: Iterable[str], error=SpecError) -> str:
    """Return ``value`` if it is one of ``choices`` (compared exactly, so an unhashable or
    mistyped value is refused with the list of choices)."""
    choices = tuple(choices)
    try:
        ok = any(value == c and isinstance(value, str) == isinstance(c, str)
                 and isinstance(value, bool) == isinstance(c, bool) for c in choices)
    except Exception:
        ok = False
    if not ok:
        _fail(name, value, "unknown option", f"choose one of {', '.join(map(repr, choices))}", error)
    return value


def check_array(name: str, value: Any, *, shape: tuple | None = None, ndim: int | None = None,
                dtype=None, finite: bool = True) -> np.ndarray:
    """Return ``value`` as an ndarray of ``dtype`` (default float64).

    ``shape`` may contain ``None`` for a free axis. Non-finite entries raise
    :class:`NumericalError` naming the array and the first bad index.
    """
    import numpy as np

    dtype = np.float64 if dtype is None else dtype
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise SpecError(f"{name} could not be read as a {np.dtype(dtype).name} array; "
                        f"pass a numeric array") from None
    if ndim is not None and arr.ndim != ndim:
        raise SpecError(f"{name} has shape {arr.shape} ({arr.ndim}-d); expected a {ndim}-d array"
                        + (f" of shape {_fmt_shape(shape)}" if shape else ""))
    if shape is not None:
        ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
        if not ok:
            raise SpecError(f"{name} has shape {arr.shape}; expected {_fmt_shape(shape)}")
    if finite and arr.size and not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise NumericalError(f"{name} contains a non-finite value at index {bad} "
                             f"({arr[bad]!r}); remove NaN/inf entries before calling")
    return arr


def _fmt_shape(shape) -> str:
    return "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"


def renamed(where: str, old: str, old_value: Any, new: str, new_value: Any, default: Any,
            *, stacklevel: int = 3) -> Any:
    """Resolve a keyword renamed in this release: ``old`` still works for one release with a
    :class:`DeprecationWarning` naming ``new``; giving both is refused; neither gives
    ``default``. Deprecated keywords default to None, so "not given" is None.

    Parameters
    ----------
    where : str
        The function, for the messages, e.g. ``"build_target"``.
    old, new : str
        The old and the new keyword.
    old_value, new_value : object
        What the caller passed for each (None: not given).
    default : object
        The value when neither is given.
    stacklevel : int
        Passed to :func:`warnings.warn` (3: the caller of the function that calls this).

    Returns
    -------
    object
        The value to use.
    """
    if old_value is None:
        return default if new_value is None else new_value
    if new_value is not None:
        raise SpecError(f"{where}({old}=..., {new}=...) is invalid: {old} is the deprecated "
                        f"name of {new}; pass only {new}")
    warn_renamed(where, old, new, stacklevel=stacklevel + 1)
    return old_value


class _NotGiven:
    def __repr__(self) -> str:
        return "<deprecated>"


NOT_GIVEN = _NotGiven()  # the default of a deprecated keyword whose None means something


def warn_renamed(where: str, old: str, new: str, *, stacklevel: int = 3) -> None:
    """The :class:`DeprecationWarning` of a keyword renamed in this release.

    Parameters
    ----------
    where : str
        The function, e.g. ``"quadratic_target"``.
    old, new : str
        The old and the new keyword.
    stacklevel : int
        Passed to :func:`warnings.warn`.
    """
    import warnings

    warnings.warn(f"{where}({old}=...) is deprecated and will be removed in the next release; "
                  f"use {new}=...", DeprecationWarning, stacklevel=stacklevel)
