"""Plain JSON values from the results of runs and claims.

JSON has no NaN or infinity, so the one convention of the package is: NaN becomes ``null``
(None: "no value", e.g. the worst ratio of a claim that measured nothing) and the
infinities become the strings ``"inf"`` and ``"-inf"``. Used by the claim reports and by
the results store's summaries, so both read back the same way.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np


def jsonable(v: Any) -> Any:
    """``v`` as JSON-ready values: numbers, strings, booleans, None, lists and string-keyed dicts.

    Parameters
    ----------
    v : object
        Nested mappings, lists, tuples, NumPy arrays and scalars are converted recursively;
        any other object becomes its ``repr``.

    Returns
    -------
    object
        NaN as None, +-inf as ``"inf"``/``"-inf"``, tuples and arrays as lists, mapping keys
        as strings.

    Examples
    --------
    >>> jsonable({"a": np.float64("nan"), 2: (np.int64(3), float("-inf"))})
    {'a': None, '2': [3, '-inf']}
    >>> jsonable(np.array([1.0, np.inf]))
    [1.0, 'inf']
    """
    if isinstance(v, Mapping):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return jsonable(v.tolist())
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return repr(v)
