"""Finding claims: every :class:`~theorycheck.claims.Claim` bound at module level
in the ``proofs`` package (the built-in library) or in the ``.py`` files of a
user's folder."""

from __future__ import annotations

import importlib.util
import types
import sys
from pathlib import Path

from theorycheck.claims.engine import Claim
from theorycheck.errors import ClaimError


def discover(path: str | Path | None = None) -> list[Claim]:
    """All claims of the built-in ``proofs`` package, or of the folder ``path``.

    Parameters
    ----------
    path : str, Path or None
        A folder of ``.py`` files, or one ``.py`` file; None for the built-in claims.

    Returns
    -------
    list of Claim

    Raises
    ------
    ClaimError
        The folder is missing, holds no claims, or two claims share an id.
    """
    modules = _builtin_modules() if path is None else _folder_modules(Path(path))
    found: dict[str, Claim] = {}
    for mod in modules:
        for obj in vars(mod).values():
            if isinstance(obj, Claim):
                prev = found.get(obj.id)
                if prev is not None and prev is not obj:
                    raise ClaimError(f"claim id {obj.id!r} is defined twice ({prev.module} and "
                                     f"{obj.module}); give each claim a unique id")
                found[obj.id] = obj
    if not found and path is not None:
        raise ClaimError(f"proofs folder {str(path)!r} defines no claims (no module-level "
                         f"@theorycheck.claim or @theorycheck.lemma objects); add some, or pass "
                         f"another folder")
    return list(found.values())


def find_claim(claim_id: str, path: str | Path | None = None) -> Claim:
    """The claim called ``claim_id``, built-in or in the folder ``path``.

    Parameters
    ----------
    claim_id : str
        The claim's exact id.
    path : str, Path or None
        Where to look, as for :func:`discover` (None: the built-in claims).

    Returns
    -------
    Claim

    Raises
    ------
    ClaimError
        No claim has that id.
    """
    for c in discover(path):
        if c.id == claim_id:
            return c
    raise ClaimError(f"claim id {claim_id!r} matches no claim; "
                     f"run 'theorycheck check --list' to see the ids")


def _builtin_modules():
    from theorycheck.entry_points import load_group
    yield from load_group("theorycheck.claims")


def _folder_modules(folder: Path):
    if not folder.exists():
        raise ClaimError(f"proofs folder {str(folder)!r} does not exist; pass a folder of .py "
                         f"files that define claims")
    if folder.is_file() and folder.suffix != ".py":
        raise ClaimError(f"proofs path {str(folder)!r} is not a .py file or a folder; pass a "
                         f"folder of .py files (or one .py file) that define claims")
    files = [folder] if folder.is_file() else sorted(folder.rglob("*.py"))
    if not files:
        raise ClaimError(f"proofs folder {str(folder)!r} holds no .py files; add modules that "
                         f"define claims with @theorycheck.claim")
    root = folder if folder.is_dir() else folder.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    _user_package("theorycheck_user", root)
    for f in files:
        if f.name == "conftest.py":
            continue
        parts = f.relative_to(root).with_suffix("").parts
        for i in range(1, len(parts)):
            _user_package(".".join(("theorycheck_user",) + parts[:i]), root.joinpath(*parts[:i]))
        if parts[-1] == "__init__":
            continue
        name = "theorycheck_user." + ".".join(parts)
        cached = sys.modules.get(name)
        if cached is not None and _same_file(getattr(cached, "__file__", None), f):
            yield cached
            continue
        spec = importlib.util.spec_from_file_location(name, f)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        try:
            spec.loader.exec_module(mod)
        except Exception as exc:
            del sys.modules[name]
            raise ClaimError(f"could not import {f}: {type(exc).__name__}: {exc}; "
                             f"fix that module") from exc
        yield mod


def _same_file(a: str | None, b: Path) -> bool:
    """Whether the module file ``a`` is ``b`` (a relative folder is imported as absolute)."""
    return a is not None and Path(a).resolve() == b.resolve()


def _user_package(name: str, path: Path) -> None:
    """Register ``name`` as a package over the folder ``path`` (once), so that the modules of
    a user's folder can import each other relatively (``from .helpers import x``)."""
    if name in sys.modules and getattr(sys.modules[name], "__path__", None) == [str(path)]:
        return
    pkg = types.ModuleType(name)
    pkg.__path__ = [str(path)]
    pkg.__package__ = name
    sys.modules[name] = pkg
