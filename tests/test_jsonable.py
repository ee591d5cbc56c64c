"""One JSON convention for reports and the results store: NaN -> null, +-inf -> "inf"/"-inf"."""

from __future__ import annotations

import json
import math

import numpy as np

from theorycheck.claims.engine import ClaimResult, Measurement
from theorycheck.jsonable import jsonable
from theorycheck.runs.store import Store, owner_id


def test_conversions():
    out = jsonable({1: (np.float32(0.5), np.int64(2), np.bool_(True)), "a": np.array([[np.nan]]),
                    "b": [math.inf, -math.inf, None, "s"], "o": object})
    assert out == {"1": [0.5, 2, True], "a": [[None]], "b": ["inf", "-inf", None, "s"],
                   "o": repr(object)}
    json.dumps(out, allow_nan=False)


def test_claim_report_and_store_summary_agree(tmp_path):
    res = ClaimResult("c", "s", "p", "M", "r", "quick", 0, "error", 0, math.nan, None)
    assert res.to_dict()["worst_ratio"] is None
    m = Measurement(1.0, 2.0, "<=", detail={"x": np.float64("nan"), "y": np.inf})
    assert m.to_dict()["detail"] == {"x": None, "y": "inf"}
    with Store(str(tmp_path / "s.db")) as st:
        (h,) = st.ensure([("k", {"a": 1}, 0)])
        me = owner_id()
        st.claim(h, me)
        st.finish(h, me, {"ratio": math.nan, "big": -math.inf, "v": np.float64(1.5)})
        assert st.run(h)["summary"] == {"ratio": None, "big": "-inf", "v": 1.5}
