"""State a lemma in a few lines, search it for counterexamples, keep the smallest one.

A *lemma* is a claim of the form ``lhs(instance) <relation> rhs(instance)`` up to a
tolerance, checked on instances drawn from a hypothesis strategy (or a grid)::

    @lemma(id="mine.cauchy_schwarz", instances=pairs_of_vectors, relation="<=", rtol=1e-12)
    def cauchy_schwarz(inst):
        u, v = inst
        return abs(u @ v), np.linalg.norm(u) * np.linalg.norm(v)

The function returns ``(lhs, rhs)`` or ``(lhs, rhs, stderr)`` (a Monte Carlo
standard error of ``lhs``); sides may be scalars or arrays of one shape (compared
entry by entry; the worst entry is reported). Equivalently pass ``lhs=`` and
``rhs=`` functions to :func:`lemma` instead of decorating. The result is an
ordinary :class:`~theorycheck.claims.Claim`: ``.check()``, ``.variant()``,
``.as_test()`` and ``theorycheck check`` all work, and :func:`save_counterexample`
writes a failing instance (``.npz`` arrays, ``.json``, ``.py`` reproducer).

Tolerance: ``<=`` holds when ``lhs <= rhs + atol + rtol |rhs|``; ``>=`` when
``lhs >= rhs - atol - rtol |rhs|``; ``==`` when ``|lhs - rhs| <= atol + rtol |rhs|``.
``atol`` and ``rtol`` may be functions of the instance (tolerances that follow the
numerics; helpers in :mod:`theorycheck.tolerance`, docs/lemmas.md).
With a stderr the engine's bands apply (``holds`` only when ``lhs +- z stderr``
clears the bound). Bad lemmas get one-line errors: a negative tolerance, an unknown
relation, a bad ``max_examples`` or a decorated class at definition; a non-finite
instance, a non-finite side, mismatched shapes or a return value that is not a tuple
as an ``error`` row with a one-line ``reason`` (the traceback ends with it). A lemma
may call ``hypothesis.assume``: the instance is discarded and counted, not measured.
A saved ``ID.py`` reproducer runs from any directory and exits 1 while the instance
still fails or errors.
"""

from __future__ import annotations

import inspect
import math
import os
import re
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from theorycheck.claims.engine import Claim, ClaimResult, Measurement, claim, describe_result, run_claim
from theorycheck.errors import ClaimError, NumericalError
from theorycheck.atomic import atomic_write_json, atomic_write_text
from theorycheck.jsonable import jsonable

RELATIONS = ("<=", ">=", "==")


def _check_tolerance(name: str, value, lemma_id: str):
    """A non-negative finite tolerance, or a callable of the instance (checked per instance)."""
    if callable(value):
        return value
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ClaimError(f"lemma {lemma_id}: {name}={value!r} is invalid: not a number; "
                         f"pass a non-negative real {name}") from None
    if not math.isfinite(v) or v < 0:
        raise ClaimError(f"lemma {lemma_id}: {name}={value!r} is invalid: a tolerance must be "
                         f"finite and >= 0; pass e.g. {name}=1e-9")
    return v


def _leaves(obj, path: str = "instance"):
    """(path, ndarray-or-number) for every numeric leaf of an instance."""
    if isinstance(obj, np.ndarray):
        yield path, obj
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _leaves(v, f"{path}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _leaves(v, f"{path}[{i}]")
    elif isinstance(obj, (int, float, complex, np.number)) and not isinstance(obj, bool):
        yield path, obj


def check_finite_instance(instance, lemma_id: str) -> None:
    """Raise NumericalError naming the first non-finite entry of ``instance``."""
    for path, leaf in _leaves(instance):
        arr = np.asarray(leaf)
        if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
            where = "" if arr.ndim == 0 else f" at index {tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])}"
            raise NumericalError(
                f"lemma {lemma_id}: the strategy produced a non-finite value in {path}{where}; "
                f"restrict it, e.g. st.floats(allow_nan=False, allow_infinity=False) or "
                f"hypothesis.extra.numpy.arrays(..., elements=st.floats(-1e6, 1e6))")


def _tolerance_at(name: str, tol, instance, lemma_id: str):
    """The tolerance for ``instance``: ``tol`` itself, or ``tol(instance)`` checked to be a
    finite non-negative number or array."""
    if not callable(tol):
        return tol
    value = tol(instance)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ClaimError(f"lemma {lemma_id}: {name}(instance) returned {type(value).__name__}, "
                         f"not a number; return a non-negative float (or array)") from None
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        bad = arr if arr.size <= 1 else arr.ravel()[~(np.isfinite(arr.ravel()) & (arr.ravel() >= 0))][:1]
        raise NumericalError(f"lemma {lemma_id}: {name}(instance) = {bad!r} is not a finite "
                             f"non-negative tolerance at this instance; guard it (e.g. an "
                             f"infinite condition number) or discard the instance with assume()")
    return float(arr) if arr.ndim == 0 else arr


def _scalar(x):
    """A Python float for a plain number (numpy scalars included, bools excluded), else ``x``."""
    if isinstance(x, (float, int, np.floating, np.integer)) and not isinstance(x, (bool, np.bool_)):
        return float(x)
    return x


def _tolerance_name(tol) -> str:
    if callable(tol):
        return getattr(tol, "__name__", "f")
    return f"{tol:g}"


def _side(name: str, value, lemma_id: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise NumericalError(f"lemma {lemma_id}: {name} returned {type(value).__name__}, which is "
                             f"not numeric; return a number or a numeric array") from None
    if arr.size == 0:
        raise NumericalError(f"lemma {lemma_id}: {name} returned an empty array; return at least "
                             "one value")
    if not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0]) if arr.ndim else ()
        raise NumericalError(f"lemma {lemma_id}: {name} is non-finite ({arr[bad]!r}"
                             + (f" at index {bad}" if bad else "") + "); the lemma's sides must "
                             "be finite: guard the computation or narrow the strategy")
    return arr


def compare(lhs, rhs, relation: str, rtol, atol, stderr=0.0, *,
            lemma_id: str = "lemma", label: str = "") -> Measurement:
    """One Measurement for the worst entry of ``lhs <relation> rhs`` within tolerance.

    ``rtol`` and ``atol`` are numbers or arrays that broadcast against the sides (an
    entry-wise tolerance)."""
    if (type(lhs) is float and type(rhs) is float and type(stderr) is float   # noqa: E721
            and math.isfinite(lhs) and math.isfinite(rhs) and stderr >= 0.0 and math.isfinite(stderr)
            and type(rtol) is float and type(atol) is float):  # noqa: E721 - the scalar fast path
        tol = atol + rtol * abs(rhs)
        if relation == "==":
            return Measurement(abs(lhs - rhs), tol, "<=", stderr, label or "|lhs - rhs|",
                               {"lhs": lhs, "rhs": rhs})
        return Measurement(lhs, rhs + (tol if relation == "<=" else -tol), relation, stderr,
                           label or "lhs", {"lhs": lhs, "rhs": rhs})
    a, b = _side("lhs", lhs, lemma_id), _side("rhs", rhs, lemma_id)
    s = _side("stderr", stderr, lemma_id)
    if a.shape != b.shape and a.size != 1 and b.size != 1:
        raise NumericalError(f"lemma {lemma_id}: lhs has shape {a.shape} but rhs has shape "
                             f"{b.shape}; return sides of the same shape (or a scalar on one side)")
    if np.any(s < 0):
        raise NumericalError(f"lemma {lemma_id}: stderr has a negative entry ({float(s.min())!r}); "
                             f"return a non-negative standard error")
    a, b = np.broadcast_arrays(a, b)
    try:
        s = np.broadcast_to(s, a.shape)
    except ValueError:
        raise NumericalError(f"lemma {lemma_id}: stderr has shape {s.shape}, which does not match "
                             f"the sides' shape {a.shape}; return a scalar or one per entry") from None
    try:
        tol = np.broadcast_to(np.asarray(atol, dtype=np.float64)
                              + np.asarray(rtol, dtype=np.float64) * np.abs(b), a.shape)
    except ValueError:
        raise NumericalError(f"lemma {lemma_id}: a tolerance has shape "
                             f"{np.shape(atol) or np.shape(rtol)}, which does not match the sides' "
                             f"shape {a.shape}; return a scalar or one per entry") from None
    if relation == "==":
        ms = [Measurement(float(abs(x - y)), float(t), "<=", float(e), label or "|lhs - rhs|",
                          {"lhs": float(x), "rhs": float(y)})
              for x, y, t, e in zip(a.ravel(), b.ravel(), tol.ravel(), s.ravel())]
    else:
        sign = 1.0 if relation == "<=" else -1.0
        ms = [Measurement(float(x), float(y + sign * t), relation, float(e), label or "lhs",
                          {"lhs": float(x), "rhs": float(y)})
              for x, y, t, e in zip(a.ravel(), b.ravel(), tol.ravel(), s.ravel())]
    worst = max(range(len(ms)), key=lambda i: _severity(ms[i]))
    m = ms[worst]
    if len(ms) > 1:
        idx = tuple(int(i) for i in np.unravel_index(worst, a.shape))
        m = Measurement(m.value, m.bound, m.relation, m.stderr, m.label, {**m.detail, "index": idx})
    return m


def _severity(m: Measurement, z: float = 4.0) -> float:
    """Signed violation margin (bigger is worse), in the bound's units, band included."""
    band = z * m.stderr
    return (m.value + band - m.bound) if m.relation == "<=" else (m.bound - (m.value - band))


def lemma(*, id: str, instances: Any, relation: str = "<=", rtol: float | Callable = 0.0,
          atol: float | Callable = 0.0, statement: str | None = None, paper: str = "user lemma",
          tag: str = "M", ref: str = "-", max_examples: Mapping[str, int] | int | None = None,
          z: float = 4.0, optimise: Mapping[str, int] | int | bool | None = None,
          lhs: Callable | None = None, rhs: Callable | None = None, **knobs):
    """A lemma ``lhs <relation> rhs`` as a Claim: decorate ``f(instance, [rng], **knobs)``
    returning ``(lhs, rhs[, stderr])``, or pass ``lhs=`` and ``rhs=`` (functions of the instance).

    ``rtol`` and ``atol`` are non-negative numbers, or functions of the instance returning one
    (or an array that broadcasts against the sides): a tolerance that follows the numerics of
    the instance, e.g. ``rtol=lambda inst: backward_stable(n, np.linalg.cond(inst))`` with the
    helpers of :mod:`theorycheck.tolerance` (docs/lemmas.md). ``optimise`` is the optimiser
    phase's budget (see :class:`~theorycheck.claims.engine.Claim`).

    Parameters
    ----------
    id : str
        Unique dotted id.
    instances : strategy, sequence, mapping or callable
        As for :func:`~theorycheck.claims.engine.claim`.
    relation : str
        ``"<="``, ``">="`` or ``"=="``.
    rtol, atol : float or callable
        Relative and absolute tolerance, or functions of the instance (see above).
    statement : str or None
        Prose; default ``"lhs <relation> rhs"`` built from the function name.
    paper, tag, ref : str
        As for a claim (tag ``M``: standard mathematics, docs/theory.md §0.1).
    max_examples : int, mapping or None
        The search effort.
    z : float
        Band half-width in standard errors when a third return value is a standard error.
    optimise : int, mapping, bool or None
        The optimiser phase's budget, or False.
    lhs, rhs : callable or None
        The two sides as functions of the instance (instead of decorating).
    **knobs
        Constants passed to the function as keyword arguments.

    Returns
    -------
    Claim, or a decorator returning one
    """
    from theorycheck.claims.engine import check_claim_fields
    check_claim_fields(id=id, statement="" if statement is None else statement, paper=paper,
                       tag=tag, ref=ref, instances=instances, z=z)
    if not isinstance(relation, str) or relation not in RELATIONS:
        raise ClaimError(f"lemma {id}: relation={relation!r} is invalid; use one of "
                         f"{', '.join(map(repr, RELATIONS))}")
    if isinstance(rtol, bool) or isinstance(atol, bool):
        raise ClaimError(f"lemma {id}: rtol/atol must be numbers, not booleans; pass e.g. "
                         f"rtol=1e-9")
    rtol = _check_tolerance("rtol", rtol, id)
    atol = _check_tolerance("atol", atol, id)
    if (lhs is None) != (rhs is None):
        raise ClaimError(f"lemma {id}: pass both lhs= and rhs=, or neither (and decorate a "
                         f"function returning (lhs, rhs))")
    for name, f in (("lhs", lhs), ("rhs", rhs)):
        if f is not None and not callable(f):
            raise ClaimError(f"lemma {id}: {name}={f!r:.60} is not callable; pass a function of "
                             f"the instance")

    def build(fn: Callable) -> Claim:
        if isinstance(fn, type) or not callable(fn):
            what = f"class {fn.__name__}" if isinstance(fn, type) else type(fn).__name__
            raise ClaimError(f"lemma {id}: @lemma decorates a function, got {what}; decorate a "
                             f"function of the instance returning (lhs, rhs)")
        try:
            wants_rng = "rng" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            raise ClaimError(f"lemma {id}: the signature of {fn!r:.60} cannot be read; decorate "
                             f"a plain Python function") from None

        def measure(instance, *, rng=None, **kw):
            check_finite_instance(instance, id)
            out = fn(instance, rng=rng, **kw) if wants_rng else fn(instance, **kw)
            if not isinstance(out, tuple) or len(out) not in (2, 3):
                raise ClaimError(f"lemma {id}: {fn.__name__} returned {type(out).__name__}; "
                                 f"return a tuple (lhs, rhs) or (lhs, rhs, stderr)")
            lhs_, rhs_ = _scalar(out[0]), _scalar(out[1])
            return compare(lhs_, rhs_, relation, _scalar(_tolerance_at("rtol", rtol, instance, id)),
                           _scalar(_tolerance_at("atol", atol, instance, id)),
                           _scalar(out[2]) if len(out) == 3 else 0.0, lemma_id=id)

        measure.__name__ = getattr(fn, "__name__", "lemma")
        measure.__module__ = getattr(fn, "__module__", __name__)
        measure.__wrapped_lemma__ = fn
        # the engine reads knobs and the rng from measure's signature: mirror fn's
        params = [inspect.Parameter("instance", inspect.Parameter.POSITIONAL_OR_KEYWORD),
                  inspect.Parameter("rng", inspect.Parameter.KEYWORD_ONLY, default=None)]
        params += [p for n, p in inspect.signature(fn).parameters.items()
                   if p.kind is inspect.Parameter.KEYWORD_ONLY and n != "rng"]
        if not wants_rng:
            params = [p for p in params if p.name != "rng"]
        measure.__signature__ = inspect.Signature(params)
        stmt = statement or (f"{measure.__name__}: lhs {relation} rhs (rtol={_tolerance_name(rtol)}, "
                             f"atol={_tolerance_name(atol)})")
        return claim(id=id, statement=stmt, paper=paper, tag=tag, ref=ref, instances=instances,
                     max_examples=max_examples, z=z, optimise=optimise, **knobs)(measure)

    if lhs is not None:
        def fn(instance):
            return lhs(instance), rhs(instance)
        fn.__name__ = getattr(lhs, "__name__", "lemma")
        fn.__module__ = getattr(lhs, "__module__", __name__)
        return build(fn)
    return build


def _safe_name(claim_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", claim_id)


_CLAIM_LINE = re.compile(r"^claim = find_claim\(.*\)$", re.MULTILINE)


def reproducer(result: ClaimResult, path: str | None = None, *, script_dir: str | Path | None = None) -> str | None:
    """The engine's reproducer snippet, pointed at the folder ``path`` its claim came from.

    Parameters
    ----------
    result : ClaimResult
        A result with a counterexample.
    path : str, optional
        The user folder (or file) of the claim; None for a built-in claim, found by id.
    script_dir : str or Path, optional
        The folder the snippet will be saved in: ``path`` is then written relative to the
        script's own location (``Path(__file__)``), so the script runs from any directory
        and nothing absolute is baked in. Without it, ``path`` is made absolute.
    """
    if result.reproducer is None:
        return None
    base_id = result.claim_id.split("[")[0]
    if path is None:
        locate = f"find_claim({base_id!r})"
    elif script_dir is None:
        locate = f"find_claim({base_id!r}, {str(Path(path).resolve())!r})"
    else:
        rel = Path(os.path.relpath(Path(path).resolve(), Path(script_dir).resolve())).as_posix()
        locate = f"find_claim({base_id!r}, Path(__file__).resolve().parent / {rel!r})"
    snippet = _CLAIM_LINE.sub(lambda _: f"claim = {locate}", result.reproducer, count=1)
    if script_dir is not None and path is not None:
        snippet = "from pathlib import Path\n" + snippet
    return snippet


def _stems(folder: Path, claim_id: str) -> list[Path]:
    stem = folder / _safe_name(claim_id)
    return [stem.with_name(stem.name + ext) for ext in (".py", ".npz", ".json")]


def save_counterexample(result: ClaimResult, folder: str | Path, path: str | None = None) -> Path | None:
    """Write a failing or erroring result's instance to ``folder``, or clear a stale one.

    Writes ``ID.npz`` (its arrays and numbers, keyed by their place in the instance),
    ``ID.json`` (verdict, seed, measurements, traceback) and ``ID.py``: a script that
    re-measures the instance, prints the verdict and exits 1 while it still fails or
    errors. The script finds a user claim through ``path`` written relative to itself,
    so it runs from any directory. A result without a counterexample (the claim now
    holds, or is inconclusive) removes the files an earlier run left for the same id.
    Returns the .py path, or None.

    Parameters
    ----------
    result : ClaimResult
        The result of a check.
    folder : str or Path
        Where the files go (created if needed).
    path : str or None
        The claim's folder or file, for a user claim (None for a built-in one).
    """
    folder = Path(folder)
    if result.counterexample is None:
        for old in _stems(folder, result.claim_id):
            old.unlink(missing_ok=True)
        return None
    folder.mkdir(parents=True, exist_ok=True)
    py, npz, js = _stems(folder, result.claim_id)
    arrays = {f"a{i}": np.asarray(v) for i, (_, v) in enumerate(_leaves(result.counterexample))}
    keys = {f"a{i}": p for i, (p, _) in enumerate(_leaves(result.counterexample))}
    tmp = npz.with_name(npz.stem + ".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(npz)
    atomic_write_json(js, {
        "id": result.claim_id, "verdict": result.verdict, "seed": result.seed,
        "scale": result.scale, "npz_keys": keys, "reason": result.reason,
        "counterexample": jsonable(result.counterexample),
        "measurements": result.counterexample_measurements, "traceback": result.traceback})
    return atomic_write_text(py, _script(result, reproducer(result, path, script_dir=folder)))


def replay_arrays(instance, npz_path: str | Path):
    """``instance`` with its arrays replaced by those saved in ``npz_path`` (by
    :func:`save_counterexample`), so that a reproducer replays them bit for bit, dtype
    included (a printed array re-reads as float64 and may differ from, e.g., a float32
    original). Numbers and the structure come from ``instance``; an absent file leaves it
    unchanged. Raises NumericalError when a saved array's shape does not match."""
    npz_path = Path(npz_path)
    if not npz_path.exists():
        return instance
    with np.load(npz_path, allow_pickle=False) as data:
        saved = {k: data[k] for k in data.files}
    counter = [0]

    def walk(obj, path):
        if isinstance(obj, np.ndarray):
            key = f"a{counter[0]}"
            counter[0] += 1
            if key not in saved:
                return obj
            arr = saved[key]
            if arr.shape != obj.shape:
                raise NumericalError(f"{npz_path.name}: {key} ({path}) has shape {arr.shape} but "
                                     f"the instance has {obj.shape}; the .npz belongs to another "
                                     f"counterexample: save it again")
            return arr
        if isinstance(obj, Mapping):
            return type(obj)({k: walk(v, f"{path}[{k!r}]") for k, v in obj.items()}) \
                if type(obj) is dict else {k: walk(v, f"{path}[{k!r}]") for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            items = [walk(v, f"{path}[{i}]") for i, v in enumerate(obj)]
            if isinstance(obj, list):
                return items
            return type(obj)(*items) if hasattr(obj, "_fields") else tuple(items)
        if isinstance(obj, (int, float, complex, np.number)) and not isinstance(obj, bool):
            counter[0] += 1   # numbers are saved too (see _leaves); they replay from the text
        return obj

    return walk(instance, "instance")


def _script(result: ClaimResult, snippet: str) -> str:
    """The reproducer snippet as a script: imports at the top, the rest in ``main()``, so that
    importing it (a claim discovery that walks the report folder) runs and binds nothing.
    The instance's arrays are replayed from the ``.npz`` saved beside it (exact bits)."""
    lines = snippet.splitlines()
    at = next((i for i, ln in enumerate(lines) if ln.startswith("instance = ")), None)
    if at is not None:
        lines.insert(at + 1, "instance = replay_arrays(instance, Path(__file__).resolve()"
                             ".with_suffix('.npz'))  # the saved arrays, bit for bit")
        lines.insert(0, "from theorycheck.claims.lemmas import replay_arrays")
        if "from pathlib import Path" not in lines:
            lines.insert(0, "from pathlib import Path")
    imports = [ln for ln in lines if ln.startswith(("import ", "from "))]
    body = [ln for ln in lines if ln not in imports]
    return "\n".join(
        [f"# {result.claim_id}: {result.verdict} (seed {result.seed}, scale {result.scale})",
         "# Re-measures the saved instance and prints the verdict; exits 1 while it fails or errors.",
         *imports, "", "", "def main() -> str:",
         *(f"    {ln}" for ln in body), "    return verdict", "", "",
         'if __name__ == "__main__":',
         '    raise SystemExit(1 if main() in ("fails", "error") else 0)', ""])


def check(c: Claim, scale: str = "quick", seed: int = 0, *, save_to: str | Path | None = None,
          path: str | None = None, verbose: bool = True, max_examples: int | None = None,
          database=None) -> ClaimResult:
    """Run a lemma from Python; on fails/error print the reproducer and save it under ``save_to``.

    ``max_examples`` and ``database`` are passed to :func:`~theorycheck.claims.engine.run_claim`.
    """
    res = run_claim(c, scale=scale, seed=seed, max_examples=max_examples, database=database)
    if res.verdict in ("fails", "error"):
        saved = save_counterexample(res, save_to, path) if save_to is not None else None
        if verbose:
            print(describe_result(res))
            if res.reproducer:
                print("reproduce with:\n" + reproducer(res, path))
            if saved:
                print(f"saved: {saved}")
    return res


def as_test(c: Claim, scale: str = "quick", seed: int = 0, expect: str = "holds",
            save_to: str | Path | None = "theorycheck-counterexamples"):
    """A pytest test asserting the verdict; a failure's message carries the reproducer."""
    def test():
        res = run_claim(c, scale=scale, seed=seed)
        if res.verdict != expect and res.verdict in ("fails", "error") and save_to is not None:
            save_counterexample(res, save_to)
        assert res.verdict == expect, describe_result(res) + (
            "\nreproduce with:\n" + res.reproducer if res.reproducer else "")
    test.__name__ = "test_" + _safe_name(c.id).replace(".", "_")
    return test
