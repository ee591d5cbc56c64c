"""The console every command prints through: the terminal's width, or 160 columns when
output goes to a file or a CI log (so wide tables stay one row per line)."""

from __future__ import annotations

LOG_WIDTH = 160


def console(**kwargs):
    from rich.console import Console
    c = Console(**kwargs)
    if not c.is_terminal:
        c = Console(width=max(c.width, LOG_WIDTH), **kwargs)
    return c
