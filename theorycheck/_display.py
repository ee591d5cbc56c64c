"""Small helpers for REPL and notebook display: clipped text and little HTML tables.

The ``__repr__`` and ``_repr_html_`` methods of the package's result objects use them so that
a repr is one or a few lines (class, key sizes, verdict), never an array dump.
"""

from __future__ import annotations

import html
import numbers
from typing import Any, Iterable, Sequence

#: The longest one-line repr a result object prints.
REPR_LIMIT = 200


def clip(text: Any, limit: int = 80) -> str:
    """``str(text)`` on one line, cut to ``limit`` characters with an ellipsis.

    Parameters
    ----------
    text : object
        Anything; its ``str`` is used.
    limit : int
        The most characters returned.

    Returns
    -------
    str

    Examples
    --------
    >>> clip("a\\nb")
    'a b'
    >>> clip("x" * 10, 5)
    'xxxx…'
    """
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def fmt_num(v: Any, digits: int = 4) -> str:
    """A number to ``digits`` significant digits (other values as ``str``).

    Examples
    --------
    >>> fmt_num(0.123456), fmt_num(3), fmt_num(None)
    ('0.1235', '3', 'None')
    """
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return str(v)
    if isinstance(v, numbers.Integral):
        return str(int(v))
    return f"{float(v):.{digits}g}"


def brief(obj: Any, limit: int = 60) -> str:
    """A short description of an instance: arrays by shape and dtype, containers by their
    items, anything else by its clipped repr.

    Examples
    --------
    >>> import numpy as np
    >>> brief((np.zeros((3, 4)), 2.5, {"k": np.ones(7, dtype=np.int64)}))
    '(array(3, 4) float64, 2.5, {k: array(7,) int64})'
    """
    return clip(_brief(obj), limit)


def _brief(obj: Any) -> str:
    if hasattr(obj, "shape") and hasattr(obj, "dtype") and getattr(obj, "ndim", 0) > 0:
        return f"array{tuple(obj.shape)} {obj.dtype}"
    if isinstance(obj, tuple):
        return "(" + ", ".join(_brief(x) for x in obj) + ("," if len(obj) == 1 else "") + ")"
    if isinstance(obj, list):
        return "[" + ", ".join(_brief(x) for x in obj) + "]"
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{k}: {_brief(v)}" for k, v in obj.items()) + "}"
    return repr(obj)


def html_table(title: str, rows: Iterable[tuple[str, Any]], *, note: str | None = None) -> str:
    """A two-column (name, value) HTML table with a caption; every cell is escaped.

    Parameters
    ----------
    title : str
        The caption.
    rows : iterable of (str, object)
        Names and values (values shown with ``str``).
    note : str, optional
        A line under the table.

    Returns
    -------
    str

    Examples
    --------
    >>> html_table("T", [("a", 1)]).startswith("<table")
    True
    """
    body = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
                   f"<td style='text-align:left'>{_cell(v)}</td></tr>" for k, v in rows)
    foot = f"<p>{html.escape(note)}</p>" if note else ""
    return (f"<table><caption style='text-align:left'><b>{html.escape(title)}</b></caption>"
            f"{body}</table>{foot}")


def html_grid(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
              note: str | None = None) -> str:
    """An HTML table with a header row and a caption; every cell is escaped.

    Examples
    --------
    >>> "<th>a</th>" in html_grid("T", ["a"], [[1]])
    True
    """
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{_cell(v)}</td>" for v in r)
                   + "</tr>" for r in rows)
    foot = f"<p>{html.escape(note)}</p>" if note else ""
    return (f"<table><caption style='text-align:left'><b>{html.escape(title)}</b></caption>"
            f"<tr>{head}</tr>{body}</table>{foot}")


def _cell(v: Any) -> str:
    if isinstance(v, Raw):
        return v.html
    return html.escape(clip(v, 300))


class Raw:
    """An HTML fragment that :func:`html_table` and :func:`html_grid` insert unescaped."""

    def __init__(self, fragment: str):
        self.html = fragment
