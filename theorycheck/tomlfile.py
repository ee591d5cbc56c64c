"""Reading TOML files with one-line errors (grid files, ``theorycheck train --config``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from theorycheck.errors import SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["read_toml", "tomllib"]


def read_toml(path: str | os.PathLike, *, what: str, hint: str, error=SpecError) -> dict:
    """The table of the TOML file at ``path``.

    Parameters
    ----------
    path : path
        The file.
    what : str
        What the file is, for messages (e.g. ``"grid file"``, ``"--config"``).
    hint : str
        The fix to suggest when the file does not exist.
    error : type
        The :class:`~theorycheck.errors.TheorycheckError` subclass to raise.

    Raises
    ------
    error
        One line when the file is missing, unreadable, not UTF-8 or not valid TOML.
    """
    p = Path(path)
    name = repr(str(path))
    if not p.is_file():
        raise error(f"{what} {name} does not exist; {hint}")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise error(f"{what} {name} cannot be read ({exc.strerror or type(exc).__name__}); "
                    f"check its permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {name} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                    f"{exc.start}); save it as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = " ".join(str(exc).split())
        raise error(f"{what} {name} is not valid TOML ({msg}); fix its syntax") from None
