"""Listing the claims stays cheap: importing a built-in claim module loads neither the papers'
code nor sympy, numba or scipy (they are imported where the claims measure).

A structural check, not a timing one: each module is imported in a fresh interpreter and
``sys.modules`` is inspected afterwards. ``benchmarks/bench_import.py`` measures the time.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import theorycheck
from theorycheck.plugins import BUILTIN_CLAIM_MODULES

HEAVY = ("sympy", "numba", "scipy", "theorycheck.papers")

_PROBE = """
import importlib, json, sys
files = [importlib.import_module(name).__file__ for name in sys.argv[1:]]
heavy = sorted(m for m in sys.modules for h in {heavy!r} if m == h or m.startswith(h + "."))
print(json.dumps({{"files": files, "heavy": heavy}}))
"""


def _fresh_env() -> dict:
    """The environment of a fresh interpreter that finds the same ``theorycheck`` as this one."""
    root = str(Path(theorycheck.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _import_fresh(*names: str) -> dict:
    """Import ``names`` in a fresh interpreter; its files and the heavy modules it loaded."""
    out = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY), *names],
                         capture_output=True, text=True, env=_fresh_env(), check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _roots(modules) -> list[str]:
    return sorted({next(h for h in HEAVY if m == h or m.startswith(h + ".")) for m in modules})


@pytest.mark.parametrize("name", BUILTIN_CLAIM_MODULES)
def test_claim_module_imports_nothing_heavy(name):
    res = _import_fresh(name)
    # the child imported the very file this test process would (not another checkout's)
    assert res["files"] == [importlib.import_module(name).__file__]
    assert res["heavy"] == [], (f"importing {name} loads {_roots(res['heavy'])} "
                                f"({', '.join(res['heavy'][:8])}); import them inside the "
                                f"functions that use them")


def test_discovering_every_claim_imports_nothing_heavy():
    code = ("import sys; from theorycheck.claims.discovery import discover; "
            "n = len(discover()); "
            f"print(n, sorted(m for m in sys.modules for h in {HEAVY!r} "
            "if m == h or m.startswith(h + '.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_fresh_env(), check=True).stdout.strip().splitlines()[-1]
    n, heavy = out.split(" ", 1)
    assert int(n) > 0
    assert heavy == "[]", f"discovering the claims loads {heavy}"


def test_literal_constants_match_the_papers():
    """Constants written out in claim modules (so that building a claim imports nothing)
    agree with the modules they stand for."""
    from theorycheck.maths import procrustes
    from theorycheck.papers.bfc import span_lemma
    from theorycheck.proofs import kernels, lemmas_bfc

    assert kernels.SPAN_KERNELS == span_lemma.SPAN_KERNELS
    assert lemmas_bfc.PROCRUSTES_CONSTANT == procrustes.PROCRUSTES_CONSTANT
    assert lemmas_bfc.CRITICAL_CONSTANT == procrustes.CRITICAL_CONSTANT


def test_deferred_defaults_forward_to_the_papers():
    from theorycheck.maths.gaussian import gaussian_moment
    from theorycheck.papers.three_layer.quadratic_features import variance_oracle
    from theorycheck.proofs import gaussian_moments, three_layer

    oracle = three_layer.variance_exact.knobs["oracle"]
    assert three_layer.variance_mc.knobs["oracle"] is oracle
    assert oracle.__name__ == "variance_oracle"
    for args in [(10, "gaussian"), (10, "sphere"), (4, "sphere", 3.0), (7,)]:
        assert oracle(*args) == variance_oracle(*args)
    assert oracle(d=4, dist="sphere", frob2=3.0) == variance_oracle(4, "sphere", 3.0)
    assert [gaussian_moments.gaussian_moment(n) for n in range(9)] == \
        [gaussian_moment(n) for n in range(9)]
