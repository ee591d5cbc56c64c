"""The documentation site builds with ``mkdocs build --strict``: every page of the nav,
every link between them and every docstring that the API pages render (mkdocs.yml)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="mkdocs is not installed: pip install -e '.[docs]'")
pytest.importorskip("mkdocstrings", reason="mkdocstrings is not installed: pip install -e '.[docs]'")
pytest.importorskip("material", reason="mkdocs-material is not installed: pip install -e '.[docs]'")

ROOT = Path(__file__).resolve().parents[1]


def _nav_pages(node) -> set[str]:
    if isinstance(node, str):
        return {node}
    if isinstance(node, dict):
        return set().union(*(_nav_pages(v) for v in node.values()))
    return set().union(*(_nav_pages(v) for v in node)) if node else set()


def test_every_docs_page_is_in_the_nav():
    import yaml

    nav = _nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"])
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert nav <= pages  # the nav names no missing page
    # every page is in the nav but a figure's table under img/ (docs/three-layer.md names it)
    assert pages - nav == {"img/three_layer_exponents.md"}


def test_mkdocs_build_strict(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
                          str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr[-4000:]
    site = tmp_path / "site"
    assert (site / "index.html").is_file() and (site / "tour.ipynb").is_file()
    claims = (site / "api" / "claims" / "index.html").read_text()
    assert "ClaimResult" in claims and "Report" in claims
    assert "pytest_plugin" in (site / "api" / "base" / "index.html").read_text()
