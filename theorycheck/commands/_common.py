"""Plumbing shared by every command: the console, the results-store path, ``--set KEY=VALUE``
values, comma lists of numbers, TOML files and the sweep progress bar.

The results store
-----------------
Every command that reads or writes runs uses one store file, chosen in this order:

1. ``--store PATH`` on the command line;
2. the environment variable ``THEORYCHECK_STORE``;
3. ``store = "..."`` in a grid file's ``[sweep]`` table (commands that read a grid);
4. ``theorycheck-results.sqlite`` in the current folder.

Values
------
A value given on the command line (``--set KEY=VALUE``, ``--where KEY=VALUE``, and the value
flags of ``theorycheck train``) is read as a TOML value, as in a config file: ``true`` /
``false``, integers, reals (``3e-3``, ``inf``), ``[1, 2]`` and quoted strings; ``none`` is
None; ``a,b,c`` is a list of such values; anything else is the text itself. So
``--set hints=false`` is a boolean, while ``--set hints=False`` is the text ``"False"``, which a
boolean key refuses.

Lists and worker counts
-----------------------
A list of numbers is one comma-separated value everywhere: ``--ds 8,12,16``, ``--r 1,2,3``,
``--eps 0.01,0.5`` (:func:`int_list`, :func:`real_list`; the old space-separated ``--r 1 2 3``
still works for one release, with a deprecation notice). A number of worker processes is
``-j/--jobs N`` in every command (``--workers`` is its deprecated alias).

Output files
------------
No default writes into the source tree: figures and their data go to
``theorycheck-figures/`` in the current folder unless ``--out`` / ``--json`` say otherwise,
and files are created with the user's umask (:mod:`theorycheck.atomic`).
"""

from __future__ import annotations

import os
import time
from typing import Any

from theorycheck.errors import SpecError
from theorycheck.tomlfile import read_toml, tomllib

LOG_WIDTH = 160
DEFAULT_STORE = "theorycheck-results.sqlite"
DEFAULT_FIGURES = "theorycheck-figures"  # figures and their data, in the current folder
STORE_ENV = "THEORYCHECK_STORE"


def store_help(grid: bool = False) -> str:
    """The ``--store`` help text; ``grid``: the command also reads a grid's ``[sweep] store``."""
    return (f"results store file (default: ${STORE_ENV} if set, else "
            + ("the grid's [sweep] store if any, else " if grid else "")
            + f"{DEFAULT_STORE} in the current folder)")


def console(**kwargs):
    """The console every command prints through: the terminal's width, or 160 columns when
    output goes to a file or a CI log (so wide tables stay one row per line)."""
    from rich.console import Console
    c = Console(**kwargs)
    if not c.is_terminal:
        c = Console(width=max(c.width, LOG_WIDTH), **kwargs)
    return c


# -- the results store ----------------------------------------------------------------------

def add_store_argument(parser, *, grid: bool = False, help: str | None = None) -> None:
    """Add ``--store PATH`` (default None: resolved by :func:`store_path`)."""
    parser.add_argument("--store", default=None, metavar="PATH", help=help or store_help(grid))


def store_path(given: str | None = None, grid_store: str | None = None) -> str:
    """The results store to use: ``--store``, else ``$THEORYCHECK_STORE``, else the grid
    file's ``[sweep] store``, else ``theorycheck-results.sqlite`` in the current folder."""
    if given is not None and not str(given).strip():
        raise SpecError("--store='' is invalid: an empty path; pass a file path such as "
                        "results.sqlite, or leave --store out for the default")
    env = os.environ.get(STORE_ENV)
    if env is not None and not env.strip():
        raise SpecError(f"{STORE_ENV}='' is invalid: an empty path; unset it or name a file")
    return given or env or grid_store or DEFAULT_STORE


# -- values on the command line -------------------------------------------------------------

def parse_value(text: str) -> Any:
    """One command-line value (see the module docstring for the grammar)."""
    if not isinstance(text, str):
        return text
    text = text.strip()
    if text == "none":
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    if "," in text:
        return [parse_value(t) for t in text.split(",") if t.strip()]
    return text


def parse_assignment(item: str, option: str = "--set") -> tuple[str, Any]:
    """``KEY=VALUE`` as ``(key, parse_value(VALUE))``; one-line error without ``=``."""
    key, sep, raw = str(item).partition("=")
    key = key.strip()
    if not sep or not key:
        raise SpecError(f"{option} {item!r} is invalid; write KEY=VALUE, e.g. {option} d=16")
    return key, parse_value(raw)


def _items(name: str, text, what: str, example: str) -> list[str]:
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise SpecError(f"{name}={text!r} is invalid: empty list; pass {what}, e.g. {example}")
    return parts


def int_list(name: str, text, *, min_value: int | None = 1) -> list[int]:
    """Comma-separated integers (``"8,12,16"``), each checked with ``min_value``."""
    from theorycheck.validation import check_int
    return [check_int(name, p, min_value=min_value)
            for p in _items(name, text, "comma-separated integers", "8,12,16")]


def real_list(name: str, text, *, positive: bool = True) -> list[float]:
    """Comma-separated reals (``"0.4,0.5"``), positive unless ``positive=False``."""
    from theorycheck.validation import check_real
    return [check_real(name, p, positive=positive)
            for p in _items(name, text, "comma-separated numbers", "0.4,0.5")]


def seed_count(name: str, value, axes: dict, *, min_value: int = 1, what: str = "") -> int:
    """A number of seeds for a study whose cells are the product of ``axes`` (name: values)
    and the seeds, checked (with the product) against the memory budget before any list of
    cells is built (:func:`theorycheck.runs.sweep.check_grid_size`)."""
    from theorycheck.runs.sweep import check_grid_size
    from theorycheck.validation import check_int
    n = check_int(name, value, min_value=min_value)
    check_grid_size({k: list(v) for k, v in axes.items()}, n, what or f"{name}={n}")
    return n


def list_option(name: str, tokens, *, kind: str = "int", min_value: int | None = 1,
                positive: bool = True, prog: str = "theorycheck") -> list:
    """The one list syntax of the command line, ``--ds 8,12,16``, for an option that still
    accepts the old space-separated form (``nargs="+"``): several tokens are joined and a
    one-line deprecation notice naming the comma form goes to stderr."""
    tokens = [tokens] if isinstance(tokens, (str, int, float)) else list(tokens)
    text = ",".join(str(t) for t in tokens)
    if len(tokens) > 1:
        deprecation_notice(prog, f"{name} {' '.join(map(str, tokens))}", f"{name} {text}")
    if kind == "int":
        return int_list(name, text, min_value=min_value)
    return real_list(name, text, positive=positive)


def deprecation_notice(prog: str, old: str, new: str) -> None:
    """One line on stderr: ``PROG: DeprecationWarning: OLD is deprecated ...; use NEW``."""
    import sys
    sys.stderr.write(f"{prog}: DeprecationWarning: {old} is deprecated and will be removed in "
                     f"the next release; use {new}\n")


def add_deprecated_flag(parser, flag: str, *, dest: str, new: str) -> None:
    """Keep ``flag`` working for one release as a hidden alias of the option stored in
    ``dest``: using it prints a :func:`deprecation_notice` naming ``new``."""
    import argparse

    class _Deprecated(argparse.Action):
        def __call__(self, parser_, namespace, values, option_string=None):
            deprecation_notice(parser_.prog, option_string, new)
            setattr(namespace, self.dest, values)

    parser.add_argument(flag, dest=dest, action=_Deprecated, help=argparse.SUPPRESS)


def add_jobs_argument(parser, *, help: str, default=None, deprecated: tuple[str, ...] = ()) -> None:
    """Add ``-j/--jobs N``, the one name of a worker count (dest ``jobs``); each flag in
    ``deprecated`` (e.g. ``--workers``) still works, hidden from the help, with a
    :func:`deprecation_notice` naming ``-j/--jobs``."""
    parser.add_argument("-j", "--jobs", default=default, dest="jobs", metavar="N", help=help)
    for flag in deprecated:
        add_deprecated_flag(parser, flag, dest="jobs", new="-j/--jobs")


WORKER_BYTES = 256 * 2**20  # a worker process: interpreter, numpy, numba, dask


def worker_count(name: str, value) -> int:
    """A number of worker processes (``-j/--jobs``), checked against the memory
    budget at :data:`WORKER_BYTES` each before any process starts."""
    from theorycheck.budget import check_memory
    from theorycheck.validation import check_int
    n = check_int(name, value, min_value=1)
    check_memory(lambda k: k * float(WORKER_BYTES), name, n, what=f"{n} worker processes")
    return n


def name_list(text) -> list[str]:
    """Comma-separated names (``"poly,network"``), blanks dropped."""
    return [p.strip() for p in str(text).split(",") if p.strip()]


# -- files ----------------------------------------------------------------------------------

def _nearest_existing(path: "os.PathLike | str"):
    from pathlib import Path
    p = Path(os.path.abspath(path))
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def output_folder(name: str, value) -> str:
    """``value`` as an output folder, checked before any work: not empty, not an existing
    file, and inside a writable folder (one line naming ``name`` otherwise)."""
    from pathlib import Path
    text = "" if value is None else str(value)
    if not text.strip():
        raise SpecError(f"{name}={text!r} is invalid: an empty path; pass a folder, e.g. "
                        f"{name} results/")
    p = Path(text)
    if p.exists() and not p.is_dir():
        raise SpecError(f"{name}={text!r} is invalid: it is a file, not a folder; pass a folder "
                        f"path")
    _writable(name, text, _nearest_existing(p))
    return text


def output_file(name: str, value, suffixes: tuple[str, ...] = ()) -> str:
    """``value`` as an output file, checked before any work: not empty, not a folder, with
    one of ``suffixes`` (when given), inside a writable folder."""
    from pathlib import Path
    text = "" if value is None else str(value)
    if not text.strip():
        raise SpecError(f"{name}={text!r} is invalid: an empty path; pass a file path")
    p = Path(text)
    if p.is_dir() or text.endswith(("/", os.sep)):
        raise SpecError(f"{name}={text!r} is invalid: it is a folder; pass a file path")
    if suffixes and p.suffix.lower() not in suffixes:
        raise SpecError(f"{name}={text!r} is invalid: unknown suffix {p.suffix!r}; use "
                        f"{' or '.join(suffixes)}")
    if p.exists() and not os.access(p, os.W_OK):
        raise SpecError(f"{name}={text!r} cannot be written (permission denied); check its "
                        f"permissions or choose another path")
    _writable(name, text, _nearest_existing(p.parent if str(p.parent) else Path(".")))
    return text


def _writable(name: str, text: str, base) -> None:
    if not base.is_dir():
        raise SpecError(f"{name}={text!r} is invalid: {str(base)!r} is a file, not a folder; "
                        f"choose another path")
    if not os.access(base, os.W_OK | os.X_OK):
        raise SpecError(f"{name}={text!r} cannot be written: folder {str(base)!r} is not writable; "
                        f"check its permissions or choose another path")


def load_toml(path: str, *, what: str, hint: str) -> dict:
    """A TOML file as a dict; one-line error when it is missing, unreadable, not UTF-8 or
    not valid TOML."""
    return read_toml(path, what=what, hint=hint)


# -- progress -------------------------------------------------------------------------------

class SweepProgress:
    """A live bar for a sweep on stderr: done / running / failed / remaining and an ETA. Use
    as a context manager and pass :meth:`update` as ``run_sweep(progress=...)``."""

    def __init__(self, total: int, enabled: bool = True, console=None):
        from rich.console import Console
        self.console = console if console is not None else Console(stderr=True)
        self.total, self.enabled = total, enabled
        self.t0 = time.perf_counter()

    def __enter__(self):
        if self.enabled:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            self.progress = Progress(TextColumn("sweep"), BarColumn(bar_width=16), MofNCompleteColumn(),
                                     TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
                                     TextColumn("ETA"), TimeRemainingColumn(),
                                     console=self.console, transient=False)
            self.progress.__enter__()
            self.task = self.progress.add_task("sweep", total=self.total, counts="")
        return self

    def update(self, counts: dict, total: int) -> None:
        if not self.enabled:
            return
        finished = counts.get("done", 0) + counts.get("failed", 0)
        remaining = total - finished - counts.get("running", 0)
        text = (f"done {counts.get('done', 0)} running {counts.get('running', 0)} "
                f"failed {counts.get('failed', 0)} remaining {remaining}")
        self.progress.update(self.task, completed=finished, counts=text)

    def __exit__(self, *exc):
        if self.enabled:
            self.progress.__exit__(*exc)


def add_valued_options(parser, rows) -> None:
    """Add ``--flag VALUE`` options from ``(flag, default, help)`` rows; the values are
    parsed and checked by the command, where their meaning is known."""
    for flag, default, help_ in rows:
        parser.add_argument(flag, default=default, help=help_)


_MARKUP = ((r":[a-z]+:`~?([^`]+)`", r"\1"), (r"``([^`]+)``", r"\1"), (r"\*\*([^*]+)\*\*", r"\1"))


def plain_text(text: str | None) -> str | None:
    """``text`` without reStructuredText markup (double backquotes, roles such as
    ``:func:`x```, bold): what ``--help`` prints."""
    import re
    if text is None:
        return None
    for pattern, repl in _MARKUP:
        text = re.sub(pattern, repl, text)
    return text


def action_parser(sub, name: str, help_: str, doc: str, actions, default: str):
    """A subcommand whose first positional argument is one of ``actions``; its description
    is the second paragraph of the command module's docstring ``doc``."""
    p = sub.add_parser(name, help=help_, description=doc.split("\n\n")[1])
    p.add_argument("action", nargs="?", default=default, choices=actions)
    return p
