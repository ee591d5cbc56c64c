"""The pytest plugin (theorycheck/pytest_plugin.py): claims as test items under ``--theorycheck``.

The plugin is passed with ``-p theorycheck.pytest_plugin`` unless the installed metadata
already declares its ``pytest11`` entry point (an install made before the plugin existed
does not), so these tests run the same either way.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

from theorycheck import pytest_plugin

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "theorycheck.pytest_plugin"
_INSTALLED = any(ep.value == PLUGIN for ep in metadata.entry_points(group="pytest11"))
LOAD = [] if _INSTALLED else ["-p", PLUGIN]

CLAIMS = '''
from hypothesis import strategies as st
from theorycheck import Measurement, claim


@claim(id="bfc.toy.holds", statement="x <= 10", paper="toy", tag="A", ref="-",
       instances=[1, 2, 3])
def holds(x):
    return Measurement(x, 10, label="x")


@claim(id="toy.fails", statement="x <= 2", paper="toy", tag="M",
       ref="docs/theory.md §2.2", instances=st.integers(0, 100), max_examples=50)
def fails(x):
    return Measurement(x, 2, label="x")


@claim(id="toy.unsure", statement="the noisy x <= 1", paper="toy", tag="R", ref="-",
       instances=[1])
def unsure(x):
    return Measurement(1.0, 1.0, stderr=0.1, label="noisy")


@claim(id="toy.raises", statement="1/x <= 2", paper="toy", tag="A", ref="docs/theory.md §3.1",
       instances=[0, 1])
def raises(x):
    return Measurement(1 / x, 2)


@claim(id="toy.scaled", statement="x <= 1", paper="toy", tag="M", ref="-",
       instances={"quick": [1], "full": [1, 2]})
def scaled(x):
    return Measurement(x, 1, label="x")
'''

IDS = ["bfc.toy.holds", "toy.fails", "toy.unsure", "toy.raises", "toy.scaled"]


@pytest.fixture
def claims_dir(pytester):
    pytester.makepyfile(**{"claims/toy": CLAIMS})
    return pytester


def _run(pytester, *args):
    return pytester.runpytest(*LOAD, "-p", "no:cacheprovider", *args)


def _outcomes(res) -> dict:
    """The summary line's counts, less warnings (``-p`` of an imported module warns that it
    cannot rewrite its asserts)."""
    return {k: v for k, v in res.parseoutcomes().items() if k not in ("warning", "warnings")}


def test_pyproject_declares_the_pytest11_entry_point():
    import tomllib

    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert eps["pytest11"] == {PLUGIN: PLUGIN}
    assert "pytest-xdist" in " ".join((ROOT / "pyproject.toml").read_text().split("test = [")[1]
                                      .split("]")[0].split())


def test_tags_are_the_engines():
    from theorycheck.claims.engine import TAGS

    assert tuple(pytest_plugin.TAGS) == TAGS


def test_theory_chapters_are_the_papers_of_docs_theory_md():
    headings = {m.group(1): m.group(2) for m in
                re.finditer(r"^## §(\d+) (.*)$", (ROOT / "docs/theory.md").read_text(), re.M)}
    authors = {"bfc": "Allen-Zhu", "three_layer": "Nichani", "labels": "Daniely"}
    for chapter, paper in pytest_plugin.THEORY_CHAPTERS.items():
        assert authors[paper] in headings[chapter]
    assert sorted(pytest_plugin.THEORY_CHAPTERS.values()) == pytest_plugin.paper_packages()


def test_every_builtin_claim_has_a_paper_marker():
    from theorycheck.claims.discovery import discover

    papers = {c.id: pytest_plugin.paper_of(c) for c in discover()}
    assert None not in papers.values(), [i for i, p in papers.items() if p is None]
    assert papers["three_layer.beats_two_layer"] == "three_layer"
    assert papers["labels.teacher.satisfies_hierarchy"] == "labels"
    assert papers["gaussian.moments.double_factorial"] == "bfc"  # docs/theory.md §1.8


def test_collection_ids(claims_dir):
    res = _run(claims_dir, "--theorycheck", "claims", "--co", "-q")
    assert res.ret == 0
    assert [ln for ln in res.outlines if "::" in ln] == [f"claims/toy.py::{i}" for i in IDS]


def test_markers_select_by_tag_and_paper(claims_dir):
    res = _run(claims_dir, "--theorycheck", "claims", "--co", "-q", "-m", "A")
    assert [ln.split("::")[1] for ln in res.outlines if "::" in ln] == ["bfc.toy.holds", "toy.raises"]
    res = _run(claims_dir, "--theorycheck", "claims", "--co", "-q", "-m", "three_layer or labels")
    assert [ln.split("::")[1] for ln in res.outlines if "::" in ln] == ["toy.fails", "toy.raises"]
    res = _run(claims_dir, "--theorycheck", "claims", "--co", "-q", "-m", "bfc and not R")
    assert [ln.split("::")[1] for ln in res.outlines if "::" in ln] == ["bfc.toy.holds"]


def test_verdicts_in_the_summary(claims_dir):
    res = _run(claims_dir, "--theorycheck", "claims", "-rA")
    assert res.ret == 1
    assert _outcomes(res) == {"passed": 2, "failed": 2, "inconclusive": 1}
    out = res.stdout.str()
    # the failing claim: its counterexample (shrunk to 3) and its measurement
    res.stdout.fnmatch_lines(["*_ claim toy.fails [[]M[]] _*",
                              "toy.fails fails: counterexample 3 (x = 3 <= 2 violated)",
                              "  statement: x <= 2"])
    assert "reproduce with:" in out and "instance = 3" in out
    # an error: the reason and the traceback
    assert "toy.raises error: the measurement raised on instance 0: ZeroDivisionError" in out
    # inconclusive: its own category and word, and a line saying why; not a pass
    res.stdout.fnmatch_lines(["*INCONCLUSIVE claims/toy.py::toy.unsure: the band noisy = 1 ± 4*0.1 "
                              "straddles the bound <= 1*"])
    assert not re.search(r"PASSED claims/toy.py::toy.unsure", out)
    res.stdout.fnmatch_lines(["claims: 2 holds, 1 fails, 1 inconclusive, 1 error (scale quick, seed 0)"])


def test_verbose_words(claims_dir):
    res = _run(claims_dir, "--theorycheck", "claims/toy.py", "-v", "-k", "unsure or holds")
    res.stdout.fnmatch_lines(["*::bfc.toy.holds PASSED*", "*::toy.unsure INCONCLUSIVE*"])
    assert res.ret == 0  # inconclusive does not fail the run, as in theorycheck check


def test_scale_and_seed_options(claims_dir):
    quick = _run(claims_dir, "--theorycheck", "claims", "-k", "scaled")
    assert _outcomes(quick) == {"passed": 1, "deselected": 4}
    full = _run(claims_dir, "--theorycheck", "claims", "-k", "scaled", "--theorycheck-scale", "full")
    assert _outcomes(full) == {"failed": 1, "deselected": 4}
    full.stdout.fnmatch_lines(["theorycheck: the claims of the given paths, scale full, seed 0",
                               "*toy.scaled fails: counterexample 2*"])
    seeded = _run(claims_dir, "--theorycheck", "claims", "-k", "holds", "--hypothesis-seed", "7")
    seeded.stdout.fnmatch_lines(["theorycheck: *, seed 7"])
    both = _run(claims_dir, "--theorycheck", "claims", "-k", "holds", "--hypothesis-seed", "7",
                "--theorycheck-seed", "3")
    both.stdout.fnmatch_lines(["theorycheck: *, seed 3"])
    bad = _run(claims_dir, "--theorycheck", "claims", "--theorycheck-seed", "-1")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    assert "--theorycheck-seed=-1 is out of range" in bad.stderr.str()


def test_hypothesis_statistics(claims_dir):
    res = _run(claims_dir, "--theorycheck", "claims", "-k", "fails or holds",
               "--hypothesis-show-statistics")
    out = res.stdout.str()
    assert "Hypothesis Statistics" in out
    assert "claims/toy.py::toy.fails:" in out  # the searched claim has statistics
    assert "claims/toy.py::bfc.toy.holds:" not in out  # a grid runs no hypothesis search


def test_builtin_claims_without_a_path(pytester):
    from theorycheck.claims.discovery import discover

    pytester.makepyfile(test_ordinary="def test_ordinary():\n    pass\n")
    res = _run(pytester, "--theorycheck", "--co", "-q")
    assert res.ret == 0
    ids = [ln for ln in res.outlines if "::" in ln]
    assert ids == [f"{c.module}::{c.id}" for c in discover()]  # and no ordinary test
    res = _run(pytester, "--theorycheck", "--co", "-q", "-m", "A and labels")
    assert [ln.split("::")[1] for ln in res.outlines if "::" in ln] == [
        c.id for c in discover() if c.tag == "A" and c.id.startswith("labels.")]


def test_xdist_runs_the_same_verdicts(claims_dir):
    pytest.importorskip("xdist")
    res = claims_dir.runpytest_subprocess(*LOAD, "-p", "no:cacheprovider", "--theorycheck",
                                          "claims", "-n", "2")
    assert _outcomes(res) == {"passed": 2, "failed": 2, "inconclusive": 1}
    res.stdout.fnmatch_lines(["*toy.fails fails: counterexample 3*",
                              "*INCONCLUSIVE claims/toy.py::toy.unsure*"])


def test_builtin_collection_under_xdist_matches(pytester):
    pytest.importorskip("xdist")
    res = pytester.runpytest_subprocess(*LOAD, "-p", "no:cacheprovider", "--theorycheck", "-n", "2",
                                        "-m", "M and three_layer", "-k", "variance_exact")
    assert _outcomes(res) == {"passed": 1}  # the controller does not count deselections


_PROBE = '''
import sys
def pytest_sessionfinish(session):
    heavy = sorted(m for m in sys.modules
                   if m.split(".")[0] in ("numpy", "sympy", "numba", "scipy", "hypothesis")
                   or m.startswith(("theorycheck.claims", "theorycheck.proofs", "theorycheck.papers.")))
    print("HEAVY", heavy)
'''


def test_costs_nothing_without_the_flag(pytester):
    pytester.makeconftest(_PROBE)
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    res = pytester.runpytest_subprocess(*LOAD, "-p", "no:cacheprovider", "-s")
    assert _outcomes(res) == {"passed": 1}
    res.stdout.fnmatch_lines(["*HEAVY []*"])
    assert "theorycheck:" not in res.stdout.str()  # no header line either


def test_as_test_still_works(pytester):
    pytester.makepyfile(test_as="""
from theorycheck import Measurement, claim

@claim(id="toy.as_test", statement="x <= 1", paper="toy", tag="M", ref="-", instances=[0, 1])
def c(x):
    return Measurement(x, 1)

test_holds = c.as_test()
""")
    res = _run(pytester)
    assert _outcomes(res) == {"passed": 1}


def test_the_plugin_module_imports_only_pytest_and_the_standard_library():
    import ast

    tree = ast.parse(Path(pytest_plugin.__file__).read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = {a.name.split(".")[0] for n in top if isinstance(n, ast.Import) for a in n.names} | {
        n.module.split(".")[0] for n in top if isinstance(n, ast.ImportFrom)}
    assert names <= {"__future__", "re", "pathlib", "typing", "pytest"}
    assert sys.modules[PLUGIN] is pytest_plugin


def test_hypothesis_profile_sets_the_effort_of_claims_that_state_none(pytester):
    pytester.makeconftest("""
from hypothesis import settings
settings.register_profile("tiny", max_examples=7, database=None)
""")
    pytester.makepyfile(**{"claims/noisy": """
from hypothesis import strategies as st
from theorycheck import Measurement, claim

@claim(id="toy.noisy", statement="x <= 1", paper="toy", tag="R", ref="-",
       instances=st.integers(0, 10**9))
def noisy(x):
    return Measurement(1.0, 1.0, stderr=0.1)
"""})
    res = _run(pytester, "--theorycheck", "claims", "--hypothesis-profile", "tiny")
    assert _outcomes(res) == {"inconclusive": 1}
    res.stdout.fnmatch_lines(["INCONCLUSIVE claims/noisy.py::toy.noisy: *, 7 instances)"])
