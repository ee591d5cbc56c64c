"""The falsification corpus (benchmarks/falsification): every lemma is marked true or false,
every false lemma has a counterexample that really violates it, every true lemma holds (and
is tight) at its equality case, and the runner writes its tables."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from theorycheck import Claim
from theorycheck.claims.engine import default_effort

HERE = Path(__file__).resolve().parent.parent / "benchmarks" / "falsification"
sys.path.insert(0, str(HERE / "lemmas"))

import false_lemmas  # noqa: E402
import true_lemmas  # noqa: E402


def _claims(mod):
    return {v.id: v for v in vars(mod).values() if isinstance(v, Claim)}


def _sides(claim, inst):
    lhs, rhs = claim.measure.__wrapped_lemma__(inst)
    return np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)


def test_every_lemma_is_marked_and_follows_the_convention():
    false, true = _claims(false_lemmas), _claims(true_lemmas)
    assert len(false) >= 12 and len(true) >= 8
    assert set(false) == set(false_lemmas.TRUTH) == set(false_lemmas.WITNESS) == set(false_lemmas.UNIFORM)
    assert set(true) == set(true_lemmas.TRUTH) == set(true_lemmas.TIGHT) == set(true_lemmas.UNIFORM)
    assert not any(false_lemmas.TRUTH.values()) and all(true_lemmas.TRUTH.values())
    for c in [*false.values(), *true.values()]:
        assert c.statement.endswith("lhs <= rhs (rtol=0, atol=0)"), c.id


@pytest.mark.parametrize("cid", sorted(false_lemmas.WITNESS))
def test_false_lemma_witness_violates_it(cid):
    lhs, rhs = _sides(_claims(false_lemmas)[cid], false_lemmas.WITNESS[cid])
    assert np.all(np.isfinite(lhs)) and np.all(np.isfinite(rhs))
    assert np.any(lhs > rhs), (lhs, rhs)


@pytest.mark.parametrize("cid", sorted(true_lemmas.TIGHT))
def test_true_lemma_holds_and_is_tight_at_its_equality_case(cid):
    lhs, rhs = _sides(_claims(true_lemmas)[cid], true_lemmas.TIGHT[cid])
    assert np.all(lhs <= rhs)
    assert np.max(lhs - rhs) >= -1e-6 * max(1.0, float(np.max(np.abs(rhs))))


def test_runner_writes_markdown_and_json(tmp_path):
    spec = importlib.util.spec_from_file_location("falsification_run", HERE / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    out = tmp_path / "r.md"
    assert run.main(["--only", "rank_of_product", "--seeds", "0", "--uniform", "50",
                     "--out", str(out)]) == 0
    text = out.read_text()
    n = default_effort("quick")
    assert f"| quick | {n} | engine |" in text and f"| quick | {n} | hypothesis |" in text
    assert "`falsify.false.rank_of_product` | false |" in text
    data = json.loads(out.with_suffix(".json").read_text())
    assert {r["searcher"] for r in data["records"]} == {"engine-no-opt", "engine", "hypothesis"}
    assert all("found_by" in r and "evaluations" in r for r in data["records"])
    assert data["uniform"]["falsify.false.rank_of_product"]["hits"] == 0


def test_runner_swaps_in_the_structured_strategies(tmp_path):
    spec = importlib.util.spec_from_file_location("falsification_run", HERE / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    before = sys.modules.get("corpus_strategies")
    out = tmp_path / "s.md"
    assert run.main(["--only", "det_pm1", "--seeds", "0", "--searchers", "engine",
                     "--strategies", "structured", "--out", str(out)]) == 0
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["meta"]["strategies"] == "structured"
    assert {r["searcher"] for r in data["records"]} == {"engine"}
    assert sys.modules.get("corpus_strategies") is before     # the generic corpus is back
    assert "structured strategies" in out.read_text()
