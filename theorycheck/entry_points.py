"""Loading plugins from entry-point groups (see :mod:`theorycheck.plugins`)."""

from __future__ import annotations

import importlib
from importlib import metadata
from types import ModuleType

from theorycheck.errors import SpecError

_LOADED: dict[str, list[ModuleType]] = {}


def load_group(group: str) -> list[ModuleType]:
    """Import every module that an entry of ``group`` names, once per process.

    An entry's object is a module, or a tuple/list of module names. Returns the modules in
    the order loaded; a plugin that fails to import raises one :class:`SpecError` naming it.
    """
    if group in _LOADED:
        return _LOADED[group]
    mods: list[ModuleType] = []
    seen: set[str] = set()
    for ep in sorted(metadata.entry_points(group=group), key=lambda e: (e.name != "theorycheck", e.name)):
        try:
            obj = ep.load()
        except Exception as exc:
            raise SpecError(f"plugin {ep.name!r} of entry-point group {group!r} ({ep.value}) "
                            f"failed to load: {type(exc).__name__}: {exc}; fix or uninstall it") from None
        names = list(obj) if isinstance(obj, (tuple, list)) else [obj]
        for item in names:
            if isinstance(item, ModuleType):
                mod = item
            elif isinstance(item, str):
                try:
                    mod = importlib.import_module(item)
                except Exception as exc:
                    raise SpecError(f"plugin module {item!r} of entry-point group {group!r} failed "
                                    f"to import: {type(exc).__name__}: {exc}; fix or uninstall "
                                    f"{ep.name!r}") from None
            else:
                raise SpecError(f"entry point {ep.name!r} of group {group!r} names a "
                                f"{type(item).__name__}; point it at a module or a tuple of "
                                f"module names")
            if mod.__name__ not in seen:
                seen.add(mod.__name__)
                mods.append(mod)
    if not mods:
        raise SpecError(f"no plugins in entry-point group {group!r}: the theorycheck package "
                        f"metadata is missing; install it with 'pip install -e .'")
    _LOADED[group] = mods
    return mods
