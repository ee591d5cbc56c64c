"""Files and folders that cannot be what a command needs: outputs that are empty, files where
a folder is needed (or the reverse), under a file, in a folder the kernel refuses; inputs that
are missing, folders, not UTF-8, not TOML / JSON / a matrix. Each is one line naming the path
and the fix, exit status 2, and nothing already on disk changes (an earlier report stays)."""

from __future__ import annotations

import numpy as np
import pytest

from ._cli import Unchanged, make_store, refused

CLAIM = '''
from theorycheck import Measurement, claim

@claim(id="mine.tiny", statement="1 <= 2", paper="-", tag="M", ref="-", instances=[1, 2])
def tiny(inst):
    return Measurement(1.0, 2.0)
'''


@pytest.fixture
def world(tmp_path):
    """A folder with a user claim, an earlier report, a store, a file, a folder and inputs."""
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "mine.py").write_text(CLAIM)
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "report.json").write_text('{"earlier": true}\n')
    (tmp_path / "a-file").write_text("not a folder\n")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "binary.toml").write_bytes(b"d = 4\n\xff\xfe\x00bad")
    (tmp_path / "bad.toml").write_text("[sweep\nkind = \n")
    (tmp_path / "grid.toml").write_text('[sweep]\nkind = "target-energy"\n[grid]\nd = [2]\nn = [4]\n')
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe{}")
    (tmp_path / "nocells.json").write_text('{"eps": 0.5}')
    (tmp_path / "badcells.json").write_text('{"cells": [{"x": 1}]}')
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "words.txt").write_text("a b\nc d\n")
    (tmp_path / "ragged.txt").write_text("1 2\n3\n")
    np.save(tmp_path / "rect.npy", np.zeros((3, 4)))
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    np.save(tmp_path / "complex.npy", np.eye(3) * 1j)
    np.save(tmp_path / "objects.npy", np.array([None, 1], dtype=object), allow_pickle=True)
    np.save(tmp_path / "strings.npy", np.array([["a", "b"], ["c", "d"]]))
    np.save(tmp_path / "nan.npy", np.full((3, 3), np.nan))
    np.save(tmp_path / "A5.npy", np.eye(5))
    (tmp_path / "fake.npy").write_text("not numpy")
    make_store(tmp_path / "s.sqlite")
    return tmp_path


OUTPUTS = [
    # check --out
    (["check", "claims", "--out", ""], ("--out=''", "empty path")),
    (["check", "claims", "--out", "a-file"], ("--out='a-file'", "is a file")),
    (["check", "claims", "--out", "a-file/sub"], ("a-file", "is a file, not a folder")),
    (["check", "claims", "--out", "a-file/sub/deeper"], ("a-file", "not a folder")),
    (["check", "claims", "--out", "/sys/theorycheck-report"], ("/sys/theorycheck-report",)),
    # results --export
    (["results", "--store", "s.sqlite", "--export", ""], ("--export=''", "empty path")),
    (["results", "--store", "s.sqlite", "--export", "a-folder"], ("a-folder", "is a folder")),
    (["results", "--store", "s.sqlite", "--export", "out/"], ("out/", "is a folder")),
    (["results", "--store", "s.sqlite", "--export", "x.xlsx"], ("unknown suffix", ".csv")),
    (["results", "--store", "s.sqlite", "--export", "x"], ("unknown suffix",)),
    (["results", "--store", "s.sqlite", "--export", "a-file/x.csv"], ("a-file", "not a folder")),
    (["results", "--store", "s.sqlite", "--export", "/sys/x.csv"], ("/sys",)),
    (["results", "--store", "s.sqlite", "--curves", "--export", "a-folder"], ("is a folder",)),
    # plot --out, train --plot
    (["plot", "abc", "--store", "s.sqlite", "--out", "a-file"], ("--out='a-file'", "is a file")),
    (["plot", "abc", "--store", "s.sqlite", "--out", ""], ("--out=''",)),
    (["plot", "abc", "--store", "s.sqlite", "--out", "a-file/x"], ("not a folder",)),
    (["train", "--steps", "1,1", "--plot", "a-file"], ("--plot='a-file'", "is a file")),
    (["train", "--steps", "1,1", "--plot", ""], ("--plot=''",)),
    (["train", "--steps", "1,1", "--plot", "a-file/figs"], ("not a folder",)),
    # three-layer exponents / figures --out
    (["three-layer", "exponents", "--out", "a-file"], ("--out='a-file'", "is a file")),
    (["three-layer", "exponents", "--out", ""], ("--out=''",)),
    (["three-layer", "figures", "--out", "a-file"], ("--out='a-file'",)),
    (["three-layer", "figures", "--out", "a-file/img"], ("not a folder",)),
    # kernel scaling --json, kernel figure --out
    (["kernel", "scaling", "--json", ""], ("--json=''",)),
    (["kernel", "scaling", "--json", "a-folder"], ("is a folder",)),
    (["kernel", "scaling", "--json", "cells.csv"], ("unknown suffix", ".json")),
    (["kernel", "scaling", "--json", "a-file/c.json"], ("not a folder",)),
    (["kernel", "figure", "--json", "nocells.json", "--out", ""], ("--out=''",)),
    (["kernel", "figure", "--json", "nocells.json", "--out", "a-folder"], ("is a folder",)),
    (["kernel", "figure", "--json", "nocells.json", "--out", "fig.bmp"], ("unknown suffix",)),
    # labels study --out / --figures
    (["labels", "study", "--out", "", "--in-process"], ("--out=''",)),
    (["labels", "study", "--out", "a-folder", "--in-process"], ("is a folder",)),
    (["labels", "study", "--figures", "a-file", "--in-process"], ("--figures='a-file'",)),
    (["labels", "study", "--figures", "", "--in-process"], ("--figures=''",)),
]


@pytest.mark.parametrize("argv, needle", OUTPUTS, ids=[" ".join(a) for a, _ in OUTPUTS])
def test_bad_output_paths(argv, needle, world, capsys):
    with Unchanged(world):
        refused(argv, capsys, needle)


INPUTS = [
    # train --config
    (["train", "--config", "missing.toml"], ("--config 'missing.toml' does not exist",)),
    (["train", "--config", "a-folder"], ("a-folder",)),
    (["train", "--config", "binary.toml"], ("not UTF-8 text", "binary.toml")),
    (["train", "--config", "bad.toml"], ("not valid TOML", "bad.toml")),
    (["train", "--config", "grid.toml"], ("unknown training setting",)),
    (["train", "--config", ""], ("--config",)),
    # three-layer --matrix
    (["three-layer", "--matrix", "missing.npy"], ("--matrix='missing.npy' does not exist",)),
    (["three-layer", "--matrix", "a-folder"], ("is a folder",)),
    (["three-layer", "--matrix", ""], ("--matrix=''", "empty path")),
    (["three-layer", "--matrix", "words.txt"], ("could not be read as a matrix",)),
    (["three-layer", "--matrix", "ragged.txt"], ("could not be read as a matrix",)),
    (["three-layer", "--matrix", "empty.txt"], ("--matrix='empty.txt'",)),
    (["three-layer", "--matrix", "binary.toml"], ("--matrix='binary.toml'",)),
    (["three-layer", "--matrix", "rect.npy"], ("shape (3, 4)", "square")),
    (["three-layer", "--matrix", "cube.npy"], ("shape (2, 2, 2)",)),
    (["three-layer", "--matrix", "complex.npy"], ("complex128",)),
    (["three-layer", "--matrix", "objects.npy"], ("could not be read",)),
    (["three-layer", "--matrix", "strings.npy"], ("<U1",)),
    (["three-layer", "--matrix", "nan.npy"], ("non-finite",)),
    (["three-layer", "--matrix", "fake.npy"], ("could not be read",)),
    (["three-layer", "--matrix", "A5.npy", "--d", "4"], ("--d=4", "5 x 5", "--d 5")),
    (["three-layer", "--matrix", "A5.npy", "--rank", "2"], ("--rank", "--matrix")),
    (["three-layer", "--matrix", "A5.npy"], ("A is invalid", "--normalise")),
    # grid files
    (["sweep", "missing.toml"], ("grid file 'missing.toml' does not exist",)),
    (["sweep", "a-folder"], ("is a folder",)),
    (["sweep", "binary.toml"], ("not UTF-8",)),
    (["sweep", "bad.toml"], ("not valid TOML",)),
    (["sweep", ""], ("''",)),
    (["labels", "study", "--grid", "missing.toml"], ("missing.toml",)),
    (["labels", "study", "--grid", "bad.toml"], ("not valid TOML",)),
    (["three-layer", "exponents", "--grid", "missing.toml", "--out", "o"], ("missing.toml",)),
    (["three-layer", "exponents", "--grid", "binary.toml", "--out", "o"], ("not UTF-8",)),
    # check PATH
    (["check", "missing-folder"], ("'missing-folder' does not exist",)),
    (["check", "a-folder"], ("holds no .py files",)),
    (["check", "a-file"], ("a-file",)),
    # kernel figure --json
    (["kernel", "figure", "--json", "missing.json", "--out", "f.png"], ("does not exist",)),
    (["kernel", "figure", "--json", "a-folder", "--out", "f.png"], ("a folder",)),
    (["kernel", "figure", "--json", "bad.json", "--out", "f.png"], ("not valid JSON",)),
    (["kernel", "figure", "--json", "binary.json", "--out", "f.png"], ("not valid JSON",)),
    (["kernel", "figure", "--json", "nocells.json", "--out", "f.png"], ("no list of cells",)),
    (["kernel", "figure", "--json", "list.json", "--out", "f.png"], ("no list of cells",)),
    (["kernel", "figure", "--json", "badcells.json", "--out", "f.png"], ("no list of cells",)),
    (["kernel", "figure", "--json", ",", "--out", "f.png"], ("no file named",)),
    # stores that are missing for reading commands
    (["results", "--store", "missing.sqlite"], ("no store at 'missing.sqlite'",)),
    (["plot", "abc", "--store", "missing.sqlite"], ("missing.sqlite",)),
    (["kernel", "scaling", "--from-store", "missing.sqlite"], ("missing.sqlite",)),
    (["sweep", "grid.toml", "--resume", "--store", "missing.sqlite"], ("--resume: no store",)),
]


@pytest.mark.parametrize("argv, needle", INPUTS, ids=[" ".join(a) for a, _ in INPUTS])
def test_bad_input_files(argv, needle, world, capsys):
    with Unchanged(world):
        refused(argv, capsys, needle)


BROKEN_CLAIMS = {
    "syntax error": ("def broken(:\n", "could not import"),
    "raises on import": ("raise RuntimeError('boom')\n", "boom"),
    "no claims": ("x = 1\n", "defines no claims"),
    "duplicate ids": (CLAIM + CLAIM.replace("def tiny", "def tiny2"), "defined twice"),
    "not UTF-8": (b"\xff\xfe = 1\n", "could not import"),
    "bad tag": (CLAIM.replace('tag="M"', 'tag="Z"'), "tag='Z'"),
    "id with spaces": (CLAIM.replace('"mine.tiny"', '"mine tiny"'), "id='mine tiny'"),
    "instances a number": (CLAIM.replace("instances=[1, 2]", "instances=5"), "instances=5"),
    "statement a number": (CLAIM.replace('statement="1 <= 2"', "statement=12"), "statement=12"),
}


@pytest.mark.parametrize("case", list(BROKEN_CLAIMS))
def test_a_claim_folder_that_cannot_be_checked(case, world, capsys):
    text, needle = BROKEN_CLAIMS[case]
    f = world / "broken" / "mod.py"
    f.parent.mkdir()
    f.write_bytes(text if isinstance(text, bytes) else text.encode())
    with Unchanged(world / "report", world / "theorycheck-report"):
        refused(["check", "broken", "--out", "report"], capsys, needle)


def test_an_empty_claim_folder_exits_2_not_an_empty_report(world, capsys):
    (world / "empty").mkdir()
    (world / "empty" / "notes.py").write_text("# nothing here\n")
    with Unchanged(world):
        refused(["check", "empty", "--out", "report"], capsys, ("defines no claims", "empty"))
