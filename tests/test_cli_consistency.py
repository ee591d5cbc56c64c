"""One command line: one name for a worker count (``-j/--jobs``, old spellings deprecated with
a notice), one list syntax (comma lists), defaults that never write into the source tree,
files created with the user's umask, and help text without markup."""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

import pytest

from theorycheck.commands.main import _subparsers, build_parser

ROOT = Path(__file__).resolve().parents[1]
SOURCE_TREE = {"theorycheck", "proofs", "docs", "tests", "examples", "benchmarks"}  # tracked folders
MARKUP = ("``", ":func:", ":class:", ":mod:", ":data:", ":meth:", "[bold]", "[/", "**")


def _parsers():
    parser = build_parser()
    return [parser, *_subparsers(parser)]


def _visible(action) -> list[str]:
    return [] if action.help == argparse.SUPPRESS else list(action.option_strings)


def test_one_name_for_the_worker_count():
    with_jobs = []
    for p in _parsers():
        for a in p._actions:
            assert a.dest != "workers", f"{p.prog}: {a.option_strings} should be -j/--jobs"
            if a.dest == "jobs":
                with_jobs.append(p.prog)
                if _visible(a):
                    assert _visible(a) == ["-j", "--jobs"], (p.prog, a.option_strings)
    for prog in ("theorycheck sweep", "theorycheck labels study", "theorycheck three-layer",
                 "theorycheck kernel"):
        assert prog in with_jobs


@pytest.mark.parametrize("argv", [
    ["sweep", "grid.toml", "--workers", "3"],
    ["labels", "study", "--workers", "3"],
    ["three-layer", "exponents", "--workers", "3"],
])
def test_old_worker_flag_is_a_deprecated_alias(argv, capsys):
    args = build_parser().parse_args(argv)
    assert args.jobs == "3"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "DeprecationWarning: --workers is deprecated" in err[0] and "use -j/--jobs" in err[0]
    # the new spelling is silent
    assert build_parser().parse_args([*argv[:-2], "-j", "3"]).jobs == "3"
    assert capsys.readouterr().err == ""


def test_lists_are_comma_lists_everywhere():
    """No option takes space-separated values, except ``--r``'s old form (deprecated)."""
    for p in _parsers():
        for a in p._actions:
            if a.option_strings and a.nargs in ("+", "*") and a.help != argparse.SUPPRESS:
                assert (p.prog, a.option_strings) == ("theorycheck labels study", ["--r"]), \
                    (p.prog, a.option_strings)


def test_labels_depths_comma_list_and_deprecated_space_form(capsys):
    from theorycheck.commands.labels import _study_config

    parser = build_parser()
    comma = _study_config(parser.parse_args(["labels", "study", "--r", "1,2,3", "--seeds", "2"]))
    assert comma[1] == [1, 2, 3] and capsys.readouterr().err == ""
    spaced = _study_config(parser.parse_args(["labels", "study", "--r", "1", "2", "3", "--seeds", "2"]))
    assert spaced[1] == [1, 2, 3]
    err = capsys.readouterr().err
    assert "DeprecationWarning: --r 1 2 3 is deprecated" in err and "use --r 1,2,3" in err


def test_defaults_never_write_into_the_source_tree():
    outputs = ("out", "json", "figures", "plot", "store", "export")
    checked = 0
    for p in _parsers():
        for a in p._actions:
            if a.dest in outputs and isinstance(a.default, str):
                checked += 1
                first = Path(a.default).parts[0]
                assert first not in SOURCE_TREE, f"{p.prog} {a.option_strings} defaults to {a.default}"
    assert checked >= 4


def test_help_has_no_markup():
    for p in _parsers():
        text = p.format_help()
        found = [m for m in MARKUP if m in text]
        assert not found, f"{p.prog} --help shows {found}"


def test_markup_check_can_fail():
    from theorycheck.commands._common import plain_text

    assert plain_text("runs ``scaling`` via :func:`theorycheck.x`") == "runs scaling via theorycheck.x"


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_atomic_files_follow_the_umask(tmp_path, mask):
    from matplotlib.figure import Figure

    from theorycheck.atomic import atomic_write_text, save_figure

    old = os.umask(mask)
    try:
        a = atomic_write_text(tmp_path / "a.txt", "x")
        f = save_figure(Figure(figsize=(1, 1)), tmp_path / "f.png")
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
    finally:
        os.umask(old)
    want = stat.S_IMODE(plain.stat().st_mode)
    assert want == 0o666 & ~mask
    assert stat.S_IMODE(a.stat().st_mode) == want and stat.S_IMODE(f.stat().st_mode) == want


def test_replacing_a_file_keeps_its_mode(tmp_path):
    from theorycheck.atomic import atomic_write_text

    p = tmp_path / "kept.txt"
    p.write_text("old")
    p.chmod(0o640)
    atomic_write_text(p, "new")
    assert p.read_text() == "new" and stat.S_IMODE(p.stat().st_mode) == 0o640
