"""Where numba writes its ``cache=True`` artefacts.

numba caches next to the source file (``__pycache__``). On a read-only install
that is impossible, so, before numba is first imported and only when the user
has not chosen ``NUMBA_CACHE_DIR`` themselves, point it at a per-user
directory (``$XDG_CACHE_HOME/theorycheck/numba``, default
``~/.cache/theorycheck/numba``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def configure_numba_cache() -> str | None:
    """Set ``NUMBA_CACHE_DIR`` if unset and the package directory is not writable.

    Returns the directory chosen, or None when numba's default is kept.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    pkg = Path(__file__).resolve().parent
    if os.access(pkg, os.W_OK) and os.access(pkg / "papers" / "bfc", os.W_OK):
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    target = base / "theorycheck" / "numba"
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(target)
    if "numba" in sys.modules:  # numba already read its config: update it in place
        from numba.core import config
        config.CACHE_DIR = str(target)
    return str(target)
