"""The ``theorycheck`` command line. Each subcommand lives in ``theorycheck.commands``.

The error boundary
------------------
:func:`main` is the one place where failures become exit statuses:

* every expected failure (bad input: :class:`~theorycheck.errors.TheorycheckError`; the file
  system: ``OSError`` and its kinds, ``UnicodeDecodeError``; the results store:
  ``sqlite3`` errors and damaged JSON in a row; size: ``MemoryError`` and budget refusals)
  is one line on stderr, ``theorycheck COMMAND: error: ...`` naming the value and the fix,
  and exit status 2;
* Ctrl-C (``KeyboardInterrupt``, also while the command's modules are still importing) is
  one line saying what was kept, and exit status 130;
* anything else is a bug in theorycheck: the traceback, then one line saying so and how to
  report it, and exit status 3.

The global flag ``--debug`` (anywhere on the line) shows the traceback of any failure, and
``--memory-budget`` / ``--time-budget`` set the budgets of :mod:`theorycheck.budget`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = ("check", "tighten", "target", "train", "plot", "three-layer", "labels", "sweep", "results",
               "kernel")
BUG_EXIT = 3
REPORT_TO = ("please report it, with the command line and the traceback above, on the "
             "theorycheck issue tracker")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the bad argument and where help is."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def _add_globals(parser: argparse.ArgumentParser, top: bool) -> None:
    """The global flags, on the top parser and (without defaults, so they never override a
    value given before the command) on every subcommand."""
    dflt = (lambda v: v) if top else (lambda v: argparse.SUPPRESS)
    parser.add_argument("--debug", action="store_true", default=dflt(False),
                        help="show the traceback of any failure" if top else argparse.SUPPRESS)
    parser.add_argument("--memory-budget", default=dflt(None), metavar="SIZE",
                        help=("memory a command may plan to use, e.g. 8GiB or 75%% (default: "
                              "$THEORYCHECK_MEMORY_BUDGET, else 50%% of the available memory)")
                        if top else argparse.SUPPRESS)
    parser.add_argument("--time-budget", default=dflt(None), metavar="DURATION",
                        help=("estimated compute time a command may start, e.g. 12h (default: "
                              "$THEORYCHECK_TIME_BUDGET, else 24h)") if top else argparse.SUPPRESS)


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield sub
                yield from _subparsers(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="theorycheck",
                     description="Executable theory of hierarchical deep learning.")
    parser.add_argument("--version", action="version", version=_version())
    _add_globals(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        importlib.import_module(f"theorycheck.commands.{name.replace('-', '_')}").add_parser(sub)
    from theorycheck.commands._common import plain_text
    for p in [parser, *_subparsers(parser)]:
        if p is not parser:
            _add_globals(p, top=False)
        p.description, p.epilog = plain_text(p.description), plain_text(p.epilog)
        for action in p._actions:
            action.help = plain_text(action.help)
            for choice in getattr(action, "_choices_actions", ()):
                choice.help = plain_text(choice.help)
    return parser


def _command_of(argv) -> str:
    """The subcommand named on the line (for messages), before anything is parsed."""
    for a in argv:
        if a in SUBCOMMANDS:
            return a
    return ""


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    command = _command_of(argv)
    prefix = f"theorycheck {command}".rstrip()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        command = args.command or command
        prefix = f"theorycheck {command}".rstrip()
        debug = debug or bool(getattr(args, "debug", False))
        from theorycheck import budget
        budget.set_memory_budget(args.memory_budget)
        budget.set_time_budget(args.time_budget)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except SystemExit:
        raise
    except KeyboardInterrupt as exc:
        if debug:
            _traceback()
        kept = str(exc) or "results written so far are kept"
        _line(f"{prefix}: interrupted; {kept}")
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 1
    except BaseException as exc:  # the boundary: classify every other failure
        message = expected_message(exc)
        if message is None:
            _traceback()
            _line(f"{prefix}: internal error: {type(exc).__name__}: {_first_line(exc)}; "
                  f"this is a bug in theorycheck, {REPORT_TO}")
            return BUG_EXIT
        if debug:
            _traceback()
        _line(f"{prefix}: error: {message}")
        return 2
    finally:
        _reset_budgets()


def expected_message(exc: BaseException) -> str | None:
    """The one line for an expected failure (bad input, files, the store, sizes); None for
    a bug."""
    import json
    import sqlite3

    from theorycheck.budget import BUDGET_FIX
    from theorycheck.errors import TheorycheckError, os_error_message

    if isinstance(exc, TheorycheckError):
        return _first_line(exc)
    if isinstance(exc, MemoryError):
        what = _first_line(exc) or "an allocation failed"
        return (f"out of memory ({what}); lower the sizes of the command, {BUDGET_FIX} "
                f"so that it is refused before it starts")
    if isinstance(exc, UnicodeDecodeError):
        return (f"a file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                f"{exc.start}); save it as UTF-8")
    if isinstance(exc, OSError):
        return os_error_message(exc)
    if isinstance(exc, sqlite3.Error):
        return (f"the results store cannot be used ({type(exc).__name__}: {_first_line(exc)}); "
                f"check it with 'theorycheck results --store PATH --check', or pass another "
                f"--store")
    if isinstance(exc, json.JSONDecodeError):
        return (f"a JSON value is damaged ({_first_line(exc)}); check the store with "
                f"'theorycheck results --store PATH --check' or fix the JSON file")
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[0].split()) if text else ""


def _line(text: str) -> None:
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    print(" ".join(text.split()), file=sys.stderr, flush=True)


def _traceback() -> None:
    import traceback
    traceback.print_exc(file=sys.stderr)


def _quiet_stdout() -> None:
    """After a broken pipe (``theorycheck results | head``): point stdout at /dev/null so the
    interpreter's final flush does not fail again."""
    import os
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _reset_budgets() -> None:
    budget = sys.modules.get("theorycheck.budget")
    if budget is not None:
        budget.set_memory_budget(None)
        budget.set_time_budget(None)


def _version() -> str:
    from theorycheck._version import __version__
    return f"theorycheck {__version__}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
