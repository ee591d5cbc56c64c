"""Where the package's figures are drawn: the caller's axes, or a new figure without pyplot.

The library never chooses a matplotlib backend and never touches pyplot's global state: a
plotting function draws into the ``ax`` (or ``fig``) it is given, or into a new
:class:`matplotlib.figure.Figure` that no backend owns, and returns the Figure. Saving is
the caller's step (:func:`theorycheck.atomic.save_figure`, which the CLI uses); a notebook
shows the returned Figure.
"""

from __future__ import annotations

from typing import Any


def subplots(ax=None, fig=None, *, nrows: int = 1, ncols: int = 1,
             figsize: tuple[float, float] | None = None, **subplot_kw) -> tuple[Any, Any]:
    """The figure and axes a plotting function draws into.

    Parameters
    ----------
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (only for a single panel: ``nrows == ncols == 1``).
    fig : matplotlib.figure.Figure, optional
        Add the ``nrows`` x ``ncols`` panels to this figure.
    nrows, ncols : int
        The grid of panels.
    figsize : (float, float), optional
        Size of a new figure, in inches.
    **subplot_kw
        Passed to :meth:`matplotlib.figure.Figure.subplots` (``squeeze``, ``sharey``...).

    Returns
    -------
    (Figure, Axes or array of Axes)
        As :meth:`matplotlib.figure.Figure.subplots` returns them.

    Examples
    --------
    >>> fig, ax = subplots(figsize=(3, 2))
    >>> type(fig).__name__, fig is ax.figure
    ('Figure', True)
    """
    if ax is not None and fig is not None:
        raise ValueError("pass ax or fig, not both")
    if ax is not None:
        if nrows != 1 or ncols != 1:
            raise ValueError(f"this figure has {nrows}x{ncols} panels; pass fig= (a Figure to "
                             f"draw them into) instead of ax=")
        if subplot_kw.get("squeeze", True) is False:
            import numpy as np
            return ax.figure, np.array([[ax]], dtype=object)
        return ax.figure, ax
    if fig is None:
        from matplotlib.figure import Figure
        fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **subplot_kw)


PAGE_WIDTH = 7.5  # inches: a docs page, so that text set at 9 pt stays 9 pt on the page
MIN_FONT = 8.0    # points: the smallest text a docs figure uses


def page_figsize(nrows: int = 1, ncols: int = 1, row_height: float = 2.8) -> tuple[float, float]:
    """Size of a new figure of ``nrows`` x ``ncols`` panels at page width.

    Parameters
    ----------
    nrows, ncols : int
        The grid of panels.
    row_height : float
        Height of one row, in inches.

    Returns
    -------
    (float, float)
        Width (:data:`PAGE_WIDTH`, or less for one narrow panel) and height, in inches.

    Examples
    --------
    >>> page_figsize(2, 3)
    (7.5, 5.6)
    """
    width = PAGE_WIDTH if ncols > 1 else min(PAGE_WIDTH, 5.0)
    return width, round(row_height * nrows, 3)


def finish(fig, owned: bool):
    """Lay out a figure the function created (a caller's figure is left as it is).

    Returns
    -------
    Figure
        ``fig``.
    """
    if owned:
        fig.tight_layout()
    return fig
