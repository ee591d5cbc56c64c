"""The README's Python examples run as written (they are what new users copy)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_has_examples():
    assert len(_blocks()) >= 2


def test_claim_example_holds():
    ns: dict = {}
    exec(_blocks()[0], ns)
    assert ns["am_gm"].check().verdict == "holds"


def test_lemma_example_runs_the_documented_ways(tmp_path):
    ns: dict = {}
    exec(_blocks()[1], ns)
    triangle = ns["triangle"]
    assert triangle.check().verdict == "holds"
    from theorycheck.claims.lemmas import check
    assert check(triangle, save_to=tmp_path).verdict == "holds"
    triangle.as_test()()
