"""The layering rule of docs/architecture.md, checked over the import graph.

Edges are every import of the package's modules, wherever it stands (module level or inside
a function), plus the imports by name: ``importlib.import_module("...")`` with a literal
name and the module names listed in ``theorycheck/plugins.py``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "theorycheck"
FACADE = "theorycheck"


def _module_files() -> dict[str, Path]:
    files = {}
    for base, prefix in ((PKG, "theorycheck"), (ROOT / "proofs", "theorycheck.proofs")):
        for f in base.rglob("*.py"):
            parts = list(f.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join([prefix, *parts])] = f
    return files


FILES = _module_files()


def _resolve(name: str) -> str | None:
    """The package module that ``name`` (a module or ``module.attribute``) lives in."""
    while name:
        if name in FILES:
            return name
        name = name.rpartition(".")[0]
    return None


def _edges(mod: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    here = mod if is_pkg else mod.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                root = ".".join(base + ([node.module] if node.module else []))
            else:
                root = node.module or ""
            names = [f"{root}.{a.name}" for a in node.names] + [root]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", ""))
              == "import_module" and node.args and isinstance(node.args[0], ast.Constant)):
            names = [node.args[0].value]
        elif (mod == "theorycheck.plugins" and isinstance(node, ast.Constant)
              and isinstance(node.value, str) and node.value.startswith("theorycheck.")):
            names = [node.value]
        for n in names:
            target = _resolve(n)
            if target and target != mod:
                out.add(target)
    if mod != FACADE:
        out.discard(FACADE)  # a submodule's own parent package is imported implicitly
    return out


GRAPH = {m: _edges(m, p) for m, p in FILES.items()}


def layer(mod: str) -> str:
    parts = mod.split(".")
    if len(parts) >= 3 and parts[1] == "papers":
        return "papers." + parts[2]
    if len(parts) >= 2 and parts[1] in ("claims", "runs", "maths", "commands", "proofs", "papers"):
        return parts[1]
    return {"theorycheck": "facade", "theorycheck.plugins": "plugins",
            "theorycheck.pytest_plugin": "plugins",
            "theorycheck.__main__": "commands"}.get(mod, "base")


ALLOWED = {
    "base": {"base"},
    "maths": {"base", "maths"},
    "runs": {"base", "runs"},
    "claims": {"base", "claims", "runs", "maths"},
    "papers": {"base", "maths", "runs", "claims"},
    "proofs": {"base", "maths", "claims", "proofs", "papers"},
    "commands": {"base", "maths", "runs", "claims", "commands", "papers", "plugins"},
    "plugins": {"base", "claims", "runs", "papers", "proofs"},
    "facade": None,
}


def test_every_module_is_in_the_graph():
    assert len(GRAPH) > 60
    for name in ("theorycheck.claims.engine", "theorycheck.runs.kinds", "theorycheck.maths.gaussian",
                 "theorycheck.papers.bfc.learner", "theorycheck.proofs.lemmas_bfc"):
        assert name in GRAPH


@pytest.mark.parametrize("mod", sorted(GRAPH))
def test_module_imports_only_what_its_layer_may(mod):
    own = layer(mod)
    allowed = ALLOWED["papers" if own.startswith("papers.") else own]
    if allowed is None:
        return
    bad = []
    for dep in sorted(GRAPH[mod]):
        dl = layer(dep)
        if dl.startswith("papers."):
            ok = dl == own if own.startswith("papers.") else "papers" in allowed
        else:
            ok = dl in allowed
        if not ok:
            bad.append(f"{dep} ({dl})")
    assert not bad, f"{mod} ({own}) imports {bad}: see docs/architecture.md for the layers"


def test_import_graph_has_no_cycle():
    graph = {m: {d for d in deps if d != FACADE} for m, deps in GRAPH.items() if m != FACADE}
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def strong(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            strong(v)
    assert not cycles, f"import cycles: {cycles}"


def test_no_module_imports_the_facade():
    offenders = [m for m, deps in GRAPH.items() if FACADE in deps and m != FACADE]
    assert not offenders, f"{offenders} import the theorycheck facade; import the defining module"


def test_the_checker_sees_a_planted_violation(tmp_path):
    fake = tmp_path / "m.py"
    fake.write_text("from theorycheck.papers.bfc import learner\n"
                    "import importlib\nimportlib.import_module('theorycheck.papers.labels.residual')\n")
    edges = _edges("theorycheck.maths.fake", fake)
    assert {"theorycheck.papers.bfc.learner", "theorycheck.papers.labels.residual"} <= edges
    assert layer("theorycheck.papers.bfc.learner") not in ALLOWED["maths"]


def test_no_module_shadows_the_standard_library_or_is_shadowed_by_a_function():
    import theorycheck
    stdlib = set(sys.stdlib_module_names)
    for mod in FILES:
        assert mod.rpartition(".")[2] not in stdlib, f"{mod} shadows the standard library"
    for name in theorycheck.__all__:
        assert f"theorycheck.{name}" not in FILES, f"theorycheck.{name} is both a module and a name"


def test_facade_is_lazy():
    code = ("import sys, theorycheck\n"
            "heavy = [m for m in ('numpy', 'sympy', 'numba', 'scipy', 'hypothesis') if m in sys.modules]\n"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    import theorycheck
    for name in theorycheck.__all__:
        assert getattr(theorycheck, name) is not None


def test_wheel_has_exactly_one_top_level_name(tmp_path):
    src = tmp_path / "src"
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files"], check=True, capture_output=True,
                             text=True).stdout.split()
    for rel in tracked:  # a clean copy: no build/ or egg-info left by an editable install
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_bytes((ROOT / rel).read_bytes())
    (src / "theorycheck-report").mkdir()
    (src / "theorycheck-report" / "report.json").write_text("{}")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(tmp_path), str(src)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"theorycheck"}
    assert "theorycheck/proofs/lemmas_bfc.py" in names
    assert not any("theorycheck-report" in n for n in names)
