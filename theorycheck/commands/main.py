"""The ``theorycheck`` command line. Each subcommand lives in ``theorycheck.commands``."""

from __future__ import annotations

import argparse
import importlib
import sys

from theorycheck.errors import TheorycheckError

SUBCOMMANDS = ("check", "tighten", "target", "train", "plot", "three-layer", "labels", "sweep", "results",
               "kernel")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the bad argument and where help is."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="theorycheck",
                     description="Executable theory of hierarchical deep learning.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        importlib.import_module(f"theorycheck.commands.{name.replace('-', '_')}").add_parser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except TheorycheckError as exc:
        print(f"theorycheck {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"theorycheck {args.command}: interrupted; results written so far are kept",
              file=sys.stderr)
        return 130


def _version() -> str:
    from theorycheck._version import __version__
    return f"theorycheck {__version__}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
