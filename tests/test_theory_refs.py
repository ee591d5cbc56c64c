"""Every claim cites a section of docs/theory.md that exists, and nothing cites the tracker."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from theorycheck.claims.discovery import discover

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"
SECTION = re.compile(r"§(\d+(?:\.\d+)*[a-z]?(?:\.\d+)?)")


def _sections() -> set[str]:
    heads = set()
    for line in THEORY.read_text().splitlines():
        m = re.match(r"#+ §(\S+)", line)
        if m:
            heads.add(m.group(1))
    return heads


SECTIONS = _sections()


def test_theory_document_is_numbered():
    assert {"0.2", "1.3", "1.8.4", "2.2b", "3.3.1"} <= SECTIONS


@pytest.mark.parametrize("c", discover(), ids=lambda c: c.id)
def test_claim_ref_points_to_existing_sections(c):
    assert c.ref.startswith("docs/theory.md §"), f"{c.id}: ref {c.ref!r} must cite docs/theory.md §x.y"
    cited = SECTION.findall(c.ref)
    assert cited, c.ref
    missing = [s for s in cited if s not in SECTIONS]
    assert not missing, f"{c.id}: ref {c.ref!r} cites sections missing from docs/theory.md: {missing}"


def test_every_cited_section_exists():
    missing = {}
    for top in ("theorycheck", "proofs", "docs"):
        for f in (ROOT / top).rglob("*"):
            if f.suffix in (".py", ".md") and f.name != "theory.md":
                for s in SECTION.findall(f.read_text()):
                    if s.rstrip(".") not in SECTIONS:
                        missing.setdefault(s, str(f.relative_to(ROOT)))
    assert not missing, f"sections cited but absent from docs/theory.md: {missing}"


def test_no_digest_or_tracker_references():
    pattern = re.compile(r"THEORY\.md|\b[Ii]ssues? [0-9]")
    hits = []
    for top in ("theorycheck", "proofs", "docs"):
        for f in (ROOT / top).rglob("*"):
            if f.suffix in (".py", ".md", ".toml") and f.is_file():
                for i, line in enumerate(f.read_text().splitlines(), 1):
                    if pattern.search(line):
                        hits.append(f"{f.relative_to(ROOT)}:{i}")
    assert not hits, f"cite docs/theory.md sections instead: {hits[:10]}"
