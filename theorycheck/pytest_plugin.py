"""pytest plugin: theorycheck claims as test items.

Installed through the ``pytest11`` entry point, so any ``pytest`` that can import
theorycheck loads it; it does nothing until ``--theorycheck`` is given (no claim is
discovered and nothing heavier than :mod:`pathlib` is imported).

Usage
-----
``pytest --theorycheck``
    Collect the built-in claims (the ``theorycheck.claims`` entry-point group, as
    ``theorycheck check`` does), and nothing else: the ordinary tests under
    ``testpaths`` are not collected. Node ids are ``MODULE::CLAIM_ID``, e.g.
    ``theorycheck.proofs.bfc_target::bfc.target.degree``.
``pytest --theorycheck PATH ...``
    Collect the claims of the given folders and ``.py`` files (``conftest.py`` and
    ``setup.py`` excepted), with node ids ``FILE::CLAIM_ID``. Ordinary test files under
    those paths are collected by pytest as usual.
``--theorycheck-scale quick|full``
    Instance sizes and counts (default ``quick``), as ``theorycheck check --scale``.
``--theorycheck-seed N``
    The seed of every search (default: ``--hypothesis-seed`` when that is an integer,
    else 0), as ``theorycheck check --seed``.

Every claim item carries the marker of its tag (``A``, ``R``, ``M``; docs/theory.md
§0.1), the marker ``theorycheck``, and the marker of its paper when one can be told
(``bfc``, ``three_layer``, ``labels``; see :func:`paper_of`), so ``-m A`` or
``-m "bfc and not R"`` select claims.

Verdicts (docs/theory.md §0.2) map onto pytest outcomes:

* ``holds`` passes;
* ``fails`` and ``error`` fail, and the failure text is the claim's verdict line, its
  (shrunk) counterexample with its measurements, the traceback of an error and a
  reproducer;
* ``inconclusive`` is reported in its own category, ``inconclusive`` (letter ``?``),
  never as a pass: the summary line reads e.g. ``30 passed, 1 inconclusive``, and a
  ``theorycheck`` section after the run lists each inconclusive claim with its worst
  measurement. It does not fail the run (exit status 0), like ``theorycheck check``.

Hypothesis's own options apply where the engine searches with hypothesis:
``--hypothesis-show-statistics`` prints each searched claim's statistics,
``--hypothesis-seed`` seeds the search unless ``--theorycheck-seed`` is given, and
``--hypothesis-profile`` loads a settings profile: its ``max_examples`` is the effort of
the claims that state none (as under ``theorycheck check``) and its ``database`` is where
failing instances are remembered and replayed first.
Collection is deterministic, so ``pytest-xdist`` (``-n``) distributes claim items.
:meth:`theorycheck.Claim.as_test` remains the way to put one claim in a test module.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest

#: The tags of docs/theory.md §0.1; ``tests/test_pytest_plugin.py`` checks that they are
#: the engine's ``TAGS`` (this module must not import the engine before it is needed).
TAGS = {"A": "claims the paper states [A] (docs/theory.md §0.1)",
        "R": "choices of the reimplementation [R] (docs/theory.md §0.1)",
        "M": "mathematical facts proved or standard [M] (docs/theory.md §0.1)"}

#: The paper that each chapter of docs/theory.md states: a claim whose ``ref`` cites
#: ``docs/theory.md §1.x`` belongs to ``bfc``, and so on.
THEORY_CHAPTERS = {"1": "bfc", "2": "three_layer", "3": "labels"}

_REF_CHAPTER = re.compile(r"theory\.md\s*§?\s*(\d+)\b", re.IGNORECASE)
_BUILTIN = "theorycheck_builtin"  # config.option attribute: collect the built-in claims
_SKIP_FILES = {"conftest.py", "setup.py"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("theorycheck", "theorycheck claims")
    group.addoption("--theorycheck", action="store_true", default=False,
                    help="collect theorycheck claims as test items: the built-in claims, or "
                         "the claims of the given folders and .py files")
    group.addoption("--theorycheck-scale", choices=("quick", "full"), default="quick",
                    help="instance sizes and counts of every claim (default: quick)")
    group.addoption("--theorycheck-seed", type=_seed, default=None, metavar="N",
                    help="seed of every claim's search, 0 to 2**32-1 (default: "
                         "--hypothesis-seed when it is an integer, else 0)")


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise pytest.UsageError(f"--theorycheck-seed={text!r} is invalid; pass an integer "
                                f"from 0 to 2**32-1") from None
    if not 0 <= value <= 2**32 - 1:
        raise pytest.UsageError(f"--theorycheck-seed={value} is out of range; pass an "
                                f"integer from 0 to 2**32-1")
    return value


def paper_packages() -> list[str]:
    """The paper packages of ``theorycheck.papers``, listed without importing them.

    Returns
    -------
    list of str
        Sorted package names, e.g. ``['bfc', 'labels', 'three_layer']``.
    """
    root = Path(__file__).resolve().parent / "papers"
    return sorted(p.name for p in root.iterdir() if (p / "__init__.py").is_file())


def paper_of(claim: Any, papers: list[str] | None = None) -> str | None:
    """The paper marker of a claim, or None when none can be told.

    The first rule that applies wins: the first component of the claim id names a
    paper package (``three_layer.oracle.variance_exact``); the claim's module lives in
    a paper package (``theorycheck.papers.bfc...``); its ``ref`` cites a chapter of
    docs/theory.md (``"docs/theory.md §1.8.7"``, ``"docs/theory.md §3.2"``), one chapter
    per paper (:data:`THEORY_CHAPTERS`).

    Parameters
    ----------
    claim : theorycheck.Claim
        The claim.
    papers : list of str, optional
        The paper packages (default: :func:`paper_packages`).

    Returns
    -------
    str or None

    Examples
    --------
    >>> from types import SimpleNamespace as C
    >>> paper_of(C(id="labels.teacher.x", module="m", ref="-"))
    'labels'
    >>> paper_of(C(id="hermite.energy.parseval", module="m", ref="docs/theory.md §1.8.5, §1.8.7"))
    'bfc'
    >>> paper_of(C(id="mine.lemma", module="m", ref="-")) is None
    True
    """
    papers = paper_packages() if papers is None else papers
    head = claim.id.split(".", 1)[0]
    if head in papers:
        return head
    parts = str(getattr(claim, "module", "")).split(".")
    if len(parts) >= 3 and parts[:2] == ["theorycheck", "papers"] and parts[2] in papers:
        return parts[2]
    m = _REF_CHAPTER.search(str(getattr(claim, "ref", "")))
    if m and THEORY_CHAPTERS.get(m.group(1)) in papers:
        return THEORY_CHAPTERS[m.group(1)]
    return None


def pytest_configure(config: pytest.Config) -> None:
    for tag, text in TAGS.items():
        config.addinivalue_line("markers", f"{tag}: theorycheck claims tagged {text}")
    if not config.getoption("theorycheck", False):
        return
    config.addinivalue_line("markers", "theorycheck: a theorycheck claim collected by --theorycheck")
    for paper in paper_packages():
        config.addinivalue_line("markers", f"{paper}: theorycheck claims of the paper "
                                           f"theorycheck.papers.{paper}")
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and _BUILTIN in workerinput:  # an xdist worker: as the controller said
        builtin = bool(workerinput[_BUILTIN])
    else:
        builtin = config.args_source is not pytest.Config.ArgsSource.ARGS
    setattr(config.option, _BUILTIN, builtin)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # pytest-xdist: tell each worker what to collect
    if node.config.getoption("theorycheck", False):
        node.workerinput[_BUILTIN] = getattr(node.config.option, _BUILTIN, False)


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("theorycheck", False))


def _builtin(config: pytest.Config) -> bool:
    return _enabled(config) and bool(getattr(config.option, _BUILTIN, False))


def pytest_report_header(config: pytest.Config) -> str | None:
    if not _enabled(config):
        return None
    source = "the built-in claims" if _builtin(config) else "the claims of the given paths"
    return (f"theorycheck: {source}, scale {config.getoption('theorycheck_scale')}, "
            f"seed {_claim_seed(config)}")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # with the built-in claims, nothing is collected from the file system
    return True if _builtin(config) else None


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if not _enabled(parent.config) or _builtin(parent.config):
        return None
    if file_path.suffix != ".py" or file_path.name in _SKIP_FILES:
        return None
    return ClaimFile.from_parent(parent, path=file_path)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    # before -m/-k deselection (a plain hookimpl), so markers select built-in claims too
    if not _builtin(config):
        return
    from theorycheck.entry_points import load_group
    from theorycheck.errors import TheorycheckError
    try:
        modules = load_group("theorycheck.claims")
    except TheorycheckError as exc:
        raise pytest.UsageError(f"--theorycheck: {exc}") from None
    for mod in modules:
        col = BuiltinClaims.from_parent(session, name=mod.__name__, nodeid=mod.__name__,
                                        path=Path(getattr(mod, "__file__", None) or session.path))
        col.module = mod
        items.extend(session.genitems(col))


def _own_claims(module) -> Iterator[Any]:
    """The claims bound at module level in ``module``, less those imported from a module
    that binds them itself (they are collected there)."""
    import sys

    from theorycheck.claims.engine import Claim

    seen: set[str] = set()
    for obj in vars(module).values():
        if not isinstance(obj, Claim) or obj.id in seen:
            continue
        home = sys.modules.get(obj.module)
        if home is not None and home is not module and any(v is obj for v in vars(home).values()):
            continue
        seen.add(obj.id)
        yield obj


class BuiltinClaims(pytest.Collector):
    """The claims of one built-in claim module (node id: the module's name)."""

    module: Any = None

    def collect(self):
        for c in _own_claims(self.module):
            yield ClaimItem.from_parent(self, name=c.id, claim=c, claims_path=None)


class ClaimFile(pytest.Module):
    """The claims of one ``.py`` file, imported the way pytest imports test modules
    (``--import-mode``, ``rootdir``)."""

    def collect(self):
        for c in _own_claims(self.obj):
            yield ClaimItem.from_parent(self, name=c.id, claim=c, claims_path=str(self.path))


class ClaimFailed(Exception):
    """A claim's verdict was ``fails`` or ``error``; carries the :class:`ClaimResult`."""

    def __init__(self, result):
        super().__init__(f"{result.claim_id}: {result.verdict}")
        self.result = result


class ClaimItem(pytest.Item):
    """One claim run by :meth:`theorycheck.Claim.check` at the session's scale and seed.

    Parameters
    ----------
    claim : theorycheck.Claim
        The claim.
    claims_path : str or None
        The file the claim came from (None for a built-in claim); its reproducer names it.
    """

    def __init__(self, *, claim, claims_path: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.claim = claim
        self.claims_path = claims_path
        self.result = None
        self.add_marker("theorycheck")
        self.add_marker(claim.tag)
        paper = paper_of(claim)
        if paper is not None:
            self.add_marker(paper)

    def runtest(self) -> None:
        config = self.config
        scale, seed = config.getoption("theorycheck_scale"), _claim_seed(config)
        from hypothesis import settings

        # the example database of the settings profile in force (None under a profile
        # that sets database=None), as for any hypothesis test under pytest
        kwargs = {"scale": scale, "seed": seed, "database": settings.default.database}
        if config.getoption("hypothesis_show_statistics", False):
            from hypothesis.statistics import collector, describe_statistics

            def note(stats):
                stats["nodeid"] = self.nodeid
                self.hypothesis_statistics = describe_statistics(stats)  # hypothesis's plugin prints it

            with collector.with_value(note):
                res = self.claim.check(**kwargs)
        else:
            res = self.claim.check(**kwargs)
        if self.claims_path is not None and res.reproducer is not None:
            from theorycheck.claims.lemmas import reproducer
            res.reproducer = reproducer(res, self.claims_path)
        self.result = res
        self.user_properties.append(("theorycheck_verdict", res.verdict))
        if res.verdict in ("fails", "error"):
            raise ClaimFailed(res)
        if res.verdict == "inconclusive":
            raise pytest.skip.Exception(f"inconclusive: {_inconclusive_reason(res, self.claim.z)}",
                                        _use_item_location=True)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ClaimFailed):
            return failure_text(excinfo.value.result)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        code = getattr(getattr(self.claim.measure, "__wrapped_lemma__", self.claim.measure),
                       "__code__", None)
        line = code.co_firstlineno - 1 if code is not None else None
        return self.path, line, f"claim {self.claim.id} [{self.claim.tag}]"


def failure_text(res) -> str:
    """The failure text of a ``fails`` or ``error`` result.

    Parameters
    ----------
    res : theorycheck.ClaimResult

    Returns
    -------
    str
        A headline (pytest's short summary shows it): the counterexample and its worst
        measurement, or why the measurement raised; then the statement and its
        reference, the engine's description (every measurement, the traceback) and the
        reproducer.
    """
    from theorycheck.claims.engine import describe_result

    lines = [headline(res), f"  statement: {res.statement}", f"  ref: {res.ref}",
             f"  scale {res.scale}, seed {res.seed}", describe_result(res)]
    if res.reproducer:
        lines += ["reproduce with:", res.reproducer]
    return "\n".join(lines)


def headline(res) -> str:
    """One line: the verdict of ``res`` and the instance that decided it.

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> headline(R(claim_id="c", verdict="fails", counterexample_repr="3", traceback=None,
    ...            counterexample_measurements=[dict(label="x", value=3, relation="<=", bound=2)]))
    'c fails: counterexample 3 (x = 3 <= 2 violated)'
    """
    head = f"{res.claim_id} {res.verdict}"
    if res.verdict == "fails":
        ms = res.counterexample_measurements or []
        bad = [f"{m['label'] or 'value'} = {m['value']:.6g} {m['relation']} {m['bound']:.6g} violated"
               for m in ms if _violated(m)] or [""]
        return f"{head}: counterexample {res.counterexample_repr}" + (f" ({bad[0]})" if bad[0] else "")
    if res.verdict == "error":
        why = getattr(res, "reason", None) or next(
            (ln.strip() for ln in reversed((res.traceback or "").splitlines()) if ln.strip()), "")
        cex = "" if res.counterexample is None else f" on instance {res.counterexample_repr}"
        return f"{head}: the measurement raised{cex}: {why}"
    return head


def _violated(m: dict) -> bool:
    v, b = float(m["value"]), float(m["bound"])
    if v != v or b != b:
        return True
    return v > b if m["relation"] == "<=" else v < b


def _inconclusive_reason(res, z: float) -> str:
    """One line: why no verdict (the engine's reason, else the worst error band)."""
    reason = getattr(res, "reason", None)
    if reason:
        return reason
    w = res.worst or {}
    if "value" in w:
        return (f"the band {w.get('label') or 'value'} = {w['value']:.6g} ± {z:g}·"
                f"{w.get('stderr', 0.0):.3g} straddles the bound {w['relation']} "
                f"{w['bound']:.6g} (instance {w.get('instance')}, {res.instances} instances)")
    return f"no instance decided it after {res.instances} instances"


def _claim_seed(config: pytest.Config) -> int:
    seed = config.getoption("theorycheck_seed", None)
    if seed is not None:
        return seed
    hyp = config.getoption("hypothesis_seed", None)
    try:
        hyp = int(hyp) if hyp is not None else None
    except ValueError:
        hyp = None
    return hyp % 2**32 if hyp is not None else 0


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    if isinstance(item, ClaimItem) and item.result is not None and report.when == "call":
        report.theorycheck_verdict = item.result.verdict
    return report


def pytest_report_teststatus(report, config):
    if getattr(report, "theorycheck_verdict", None) == "inconclusive" and report.when == "call":
        return "inconclusive", "?", ("INCONCLUSIVE", {"yellow": True})
    return None


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _enabled(config):
        return
    counts: dict[str, int] = {}
    inconclusive = []
    for reports in terminalreporter.stats.values():
        for rep in reports:
            v = getattr(rep, "theorycheck_verdict", None)
            if v is None or getattr(rep, "when", None) != "call":
                continue
            counts[v] = counts.get(v, 0) + 1
            if v == "inconclusive":
                inconclusive.append(rep)
    if not counts:
        return
    terminalreporter.section("theorycheck")
    for rep in inconclusive:
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        terminalreporter.write_line(f"INCONCLUSIVE {rep.nodeid}: "
                                    f"{reason.removeprefix('Skipped: ').removeprefix('inconclusive: ')}")
    order = ("holds", "fails", "inconclusive", "error")
    terminalreporter.write_line(
        "claims: " + ", ".join(f"{counts.get(v, 0)} {v}" for v in order)
        + f" (scale {config.getoption('theorycheck_scale')}, seed {_claim_seed(config)})")
