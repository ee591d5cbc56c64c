"""Atomic file output: a file is either its old content or its new content, never half.

A new file gets the permissions any other program would give it (0666 less the user's
umask), not the 0600 of a temporary file; a replaced file keeps its own.
"""

from __future__ import annotations

import io
import json
import os
import stat
import tempfile
from pathlib import Path


def _umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save_figure(fig, path: str | Path, **savefig_kwargs) -> Path:
    """Save a matplotlib figure atomically (rendered in memory, then written in one replace).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or Path
        The file; its suffix picks the format (png when there is none). Parent folders
        are created.
    **savefig_kwargs
        Passed to ``fig.savefig`` (``dpi``, ``bbox_inches``, ...).

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile
    >>> from matplotlib.figure import Figure
    >>> fig = Figure()
    >>> save_figure(fig, Path(tempfile.mkdtemp()) / "f.png").stat().st_size > 0
    True
    """
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".").lower() or "png", **savefig_kwargs)
    return atomic_write_bytes(path, buf.getvalue())
