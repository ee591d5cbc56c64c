"""theorycheck tighten / theorycheck.tighten: the worst ratio a search reaches, its witness and
how it was found, against the claim's stated constant."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from theorycheck import ClaimError, Measurement, claim, tighten
from theorycheck.commands.main import main

VEC = arrays(np.float64, 3, elements=st.floats(-1.0, 1.0))


def cauchy_schwarz(constant: float):
    @claim(id="t.cs", statement="|u.v| <= c |u| |v|", paper="-", tag="M", ref="-",
           instances=st.tuples(VEC, VEC), constant=constant)
    def cs(inst, *, constant):
        u, v = (w / max(np.abs(w).max(), 1e-300) for w in inst)   # scale-free: no underflow
        return Measurement(abs(u @ v), constant * np.linalg.norm(u) * np.linalg.norm(v) * (1 + 1e-12))
    return cs


def test_a_loose_constant_is_reported_with_the_one_the_witness_needs():
    t = tighten(cauchy_schwarz(2.0))
    assert t.verdict == "holds" and t.relation == "<="
    assert t.constant == 2.0 and 0.999 <= t.needed <= 1.0 + 1e-12   # parallel vectors
    assert t.loose_by == pytest.approx(2.0, rel=1e-3)
    assert "loose by 2" in t.reading and t.found_by in ("random", "targeted", "optimiser")
    assert json.loads(json.dumps(t.to_dict(), default=str))["reading"] == t.reading


def test_a_tight_constant_and_a_lower_bound():
    assert tighten(cauchy_schwarz(1.0)).reading.startswith("tight")

    @claim(id="t.ge", statement="|u|^2 >= c (u_0)^2", paper="-", tag="M", ref="-",
           instances=VEC, constant=0.5)
    def ge(u, *, constant):
        u = u / max(np.abs(u).max(), 1e-300)
        return Measurement(float(u @ u) * (1 + 1e-12), constant * float(u[0] ** 2), ">=")
    t = tighten(ge)
    assert t.relation == ">=" and t.needed == pytest.approx(1.0, rel=1e-3)   # c / ratio


def test_a_violated_claim_and_one_without_a_constant():
    t = tighten(cauchy_schwarz(0.5))
    assert t.verdict == "fails" and t.reading.startswith("violated")

    @claim(id="t.noc", statement="x <= 2", paper="-", tag="M", ref="-", instances=st.floats(0, 1))
    def noc(x):
        return Measurement(x, 2.0)
    t = tighten(noc)
    assert t.constant is None and t.needed is None and t.reading == "loose by 2x"
    with pytest.raises(ClaimError, match="takes a Claim"):
        tighten("t.noc")


def test_tighten_cli(tmp_path, capsys):
    (tmp_path / "cs_claims.py").write_text(textwrap.dedent('''
        import numpy as np
        from hypothesis import strategies as st
        from hypothesis.extra.numpy import arrays
        from theorycheck import Measurement, claim

        VEC = arrays(np.float64, 3, elements=st.floats(-1.0, 1.0))

        @claim(id="cli.cs", statement="|u.v| <= c |u| |v|", paper="-", tag="M", ref="-",
               instances=st.tuples(VEC, VEC), constant=1.5)
        def cs(inst, *, constant):
            u, v = (w / max(np.abs(w).max(), 1e-300) for w in inst)
            return Measurement(abs(u @ v), constant * np.linalg.norm(u) * np.linalg.norm(v) * (1 + 1e-12))
    '''))
    js = tmp_path / "t.json"
    assert main(["tighten", "cli.*", "--path", str(tmp_path), "--optimise-evals", "300",
                 "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "cli.cs: worst ratio" in out and "loose by 1.5" in out
    row = json.loads(js.read_text())["rows"][0]
    assert row["constant"] == 1.5 and row["needed"] == pytest.approx(1.0, rel=1e-3)
    assert main(["tighten", "nope.*", "--path", str(tmp_path)]) == 2
