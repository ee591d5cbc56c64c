"""``help()`` of every public callable shows a numpy-style Parameters section that names
each of its parameters.

Public means: listed in ``__all__`` of the facade (``theorycheck``) or of any module of the
package that declares ``__all__``. The one exemption: a callable whose signature has no
parameters at all (``self`` and ``cls`` are not counted), such as ``warmup()``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pydoc
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEADER = re.compile(r"^\s*Parameters\s*\n\s*-{3,}\s*$", re.M)
NEXT_SECTION = re.compile(r"^\s*(Returns|Yields|Raises|Attributes|Methods|Examples|Notes|See Also)"
                          r"\s*\n\s*-{3,}\s*$", re.M)


def _modules_with_all() -> list[str]:
    """Modules of the package whose source assigns ``__all__`` (found without importing)."""
    names = ["theorycheck"]
    for path in sorted((ROOT / "theorycheck").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        if "proofs" in rel.parts or rel.name == "__init__" and rel.parent == Path("theorycheck"):
            continue
        tree = ast.parse(path.read_text())
        if any(isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in n.targets)
               for n in tree.body):
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            names.append(".".join(parts))
    return names


def _public_callables():
    for modname in _modules_with_all():
        mod = importlib.import_module(modname)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if callable(obj) and not isinstance(obj, (int, float, str)):
                yield f"{modname}.{name}", obj


PUBLIC = dict(_public_callables())


def _parameters(obj) -> list[str] | None:
    """The names of ``obj``'s parameters (self/cls dropped), or None without a signature."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return [p for p in sig.parameters if p not in ("self", "cls")]


def _section(doc: str) -> str | None:
    m = HEADER.search(doc)
    if m is None:
        return None
    rest = doc[m.end():]
    end = NEXT_SECTION.search(rest)
    return rest if end is None else rest[:end.start()]


def test_walk_finds_the_facade_and_the_modules():
    mods = _modules_with_all()
    assert "theorycheck" in mods and "theorycheck.tolerance" in mods
    assert len(PUBLIC) >= 100


@pytest.mark.parametrize("qualname", sorted(PUBLIC))
def test_help_shows_parameters(qualname):
    obj = PUBLIC[qualname]
    params = _parameters(obj)
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{qualname} has no docstring"
    if params == []:
        return  # nothing to describe; it still needs the summary line checked above
    section = _section(doc)
    assert section is not None, f"{qualname}: its docstring has no numpy-style Parameters section"
    shown = re.sub(r"^ \|  ?", "", pydoc.render_doc(obj, renderer=pydoc.plaintext), flags=re.M)
    assert HEADER.search(shown), \
        f"{qualname}: help() does not show the Parameters section"
    named = set(re.findall(r"^\s*\*{0,2}([A-Za-z_][\w, *]*?)\s*(?::|$)", section, re.M))
    words = {w.strip(" *") for entry in named for w in entry.split(",")}
    missing = [p for p in params or () if not p.startswith("_") and p not in words]
    assert not missing, f"{qualname}: Parameters does not describe {missing}"


def test_the_check_can_fail():
    def undocumented(x):
        """Only a summary."""

    assert _section(inspect.getdoc(undocumented)) is None

    def partly(x, y):
        """Summary.

        Parameters
        ----------
        x : int
            The x.
        """

    section = _section(inspect.getdoc(partly))
    assert section is not None and "y" not in re.findall(r"^\s*(\w+)\s*:", section, re.M)
