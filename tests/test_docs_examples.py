"""Every example of README.md and docs/*.md runs in the suite, so no doc drifts.

Each fenced block of the docs is listed in ``BLOCKS`` with what it is: ``python`` (executed),
``shell`` (its command lines executed; in a block with ``$ `` prompts only those lines),
``toml`` (a grid file, expanded with ``load_grid``), or ``output`` / ``diagram`` (not an
example). A block that is not listed fails :func:`test_every_block_is_listed`, so nothing is
skipped silently. Each command line is executed as written, or, where ``REDUCED`` says so, at
a reduced size (the reduced form keeps the flags and changes only sizes); the few that cannot
run here are in ``EXTERNAL`` with the reason. Every ``theorycheck`` command line, in blocks
and in inline code, is also parsed by the real parser.

The examples of one file run in order in one sandbox folder (a copy of what they read:
``examples/`` with smaller grids, the JSON data of ``docs/img``, a folder of claims for
``path/to/my_proofs/``, a default store holding one small run), so a ``results`` line sees
the runs an earlier line recorded and nothing is written into the source tree. The files
whose examples take long even at the reduced size carry the ``slow`` marker
(``python -m pytest -m slow tests/test_docs_examples.py``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)

BLOCKS = {
    "README.md#0": "shell", "README.md#1": "shell", "README.md#2": "shell",
    "README.md#3": "python", "README.md#4": "python", "README.md#5": "shell",
    "docs/architecture.md#0": "diagram", "docs/architecture.md#1": "diagram",
    "docs/architecture.md#2": "diagram",
    "docs/bfc.md#0": "shell", "docs/bfc.md#1": "python", "docs/bfc.md#2": "python",
    "docs/bfc.md#3": "shell",
    "docs/errors.md#0": "shell", "docs/errors.md#1": "shell", "docs/errors.md#2": "shell",
    "docs/kernels.md#0": "shell", "docs/kernels.md#1": "shell", "docs/kernels.md#2": "output",
    "docs/kernels.md#3": "shell", "docs/kernels.md#4": "shell", "docs/kernels.md#5": "toml",
    "docs/kernels.md#6": "shell", "docs/kernels.md#7": "shell", "docs/kernels.md#8": "shell",
    "docs/kernels.md#9": "shell", "docs/kernels.md#10": "shell",
    "docs/labels.md#0": "shell", "docs/labels.md#1": "shell", "docs/labels.md#2": "shell",
    "docs/labels.md#3": "shell", "docs/labels.md#4": "shell", "docs/labels.md#5": "shell",
    "docs/labels.md#6": "shell",
    "docs/lemmas.md#0": "shell", "docs/lemmas.md#1": "output", "docs/lemmas.md#2": "python",
    "docs/lemmas.md#3": "python",
    "docs/sweeps.md#0": "toml", "docs/sweeps.md#1": "output", "docs/sweeps.md#2": "shell",
    "docs/sweeps.md#3": "shell", "docs/sweeps.md#4": "shell", "docs/sweeps.md#5": "python",
    "docs/sweeps.md#6": "python",
    "docs/targets.md#0": "python",
    "docs/three-layer.md#0": "shell", "docs/three-layer.md#1": "shell",
}

# Lines that cannot run in a test, and why (they are still parsed when they are theorycheck's).
EXTERNAL = {
    "pip install -e .": "installs the package (the suite runs on an installed package)",
    'pip install -e ".[test,docs]"': "installs the package",
    "python -m pytest": "the whole suite: this test is part of it",
    "dask scheduler --host 10.0.0.5 --port 8786": "needs the scheduler host of the example",
    "OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 dask worker tcp://10.0.0.5:8786 --nworkers 16 --nthreads 1":
        "needs the scheduler host of the example",
    "theorycheck sweep grid.toml --scheduler tcp://10.0.0.5:8786 --store /shared/theorycheck-results.sqlite":
        "needs the scheduler host of the example",
}

# Reduced sizes: the same command with fewer seeds, dimensions, sample sizes or steps.
REDUCED = {
    "theorycheck check": "theorycheck check -c 'gaussian.*'",
    "theorycheck check --scale full --seed 7": "theorycheck check -c 'gaussian.moments.*' --scale full --seed 7",
    "theorycheck check --max-examples 500": "theorycheck check -c 'gaussian.moments.*' --max-examples 500",
    "pytest --theorycheck": "pytest --theorycheck --collect-only",
    "pytest --theorycheck -m A": "pytest --theorycheck -m A --collect-only",
    "pytest --theorycheck --theorycheck-scale full --theorycheck-seed 3 -n 2":
        "pytest --theorycheck --theorycheck-scale full --theorycheck-seed 3 -n 2 -k gaussian.moments",
    "theorycheck train --mode all --plot docs/img":
        "theorycheck train --mode all --plot docs/img --d 8 --steps 40,80",
    "python -m theorycheck kernel scaling --Ls 2,3 --ds 6,8,10,12 --learners poly,gaussian,ntk,rf,network --json docs/img/kernel_scaling.json":
        "python -m theorycheck kernel scaling --Ls 2 --ds 6,8 --ns 16,32 --seeds 2 --steps 20 --learners poly,network --json docs/img/kernel_scaling_reduced.json",
    "python -m theorycheck labels study --scale full --r 4 --seeds 5 --set width=1024 --set label_gain=1 --set kernel=false --set mlp=false":
        "python -m theorycheck labels study --scale full --r 2 --seeds 1 --set width=64 --set n=300 --set n_test=300 --set label_gain=1 --set kernel=false --set mlp=false --serial",
    "python -m theorycheck labels study --scale full --r 4 --seeds 5 --set kernel=false --set mlp=false":
        "python -m theorycheck labels study --scale full --r 2 --seeds 1 --set width=64 --set n=300 --set n_test=300 --set kernel=false --set mlp=false --serial",
    "python -m theorycheck labels study --r 1,2,3 --seeds 5 -j 2 --figures docs/img":
        "python -m theorycheck labels study --r 1,2 --seeds 1 -j 2 --figures docs/img --set n=300 --set n_test=300 --set width=64 --set mlp_epochs=1",
    "python -m theorycheck labels study --r 1,2,3 --seeds 5 --mlp-hidden 256,256 --mlp-epochs 20":
        "python -m theorycheck labels study --r 1,2 --seeds 1 --mlp-hidden 16,16 --mlp-epochs 1 --set n=300 --set n_test=300 --set width=64 --serial",
    "python -m theorycheck labels study --scale full --r 1,2,3,4 --seeds 5":
        "python -m theorycheck labels study --scale full --r 1,2 --seeds 1 --set n=300 --set n_test=300 --set width=64 --set mlp_epochs=1 --serial",
    "python -m theorycheck labels study --r 1,2,3 --seeds 5":
        "python -m theorycheck labels study --r 1,2 --seeds 1 --set n=300 --set n_test=300 --set width=64 --set mlp_epochs=1",
    "python -m theorycheck labels study --r 1,2,3 --seeds 5 -j 2 --store labels.sqlite":
        "python -m theorycheck labels study --r 1,2 --seeds 1 -j 2 --store labels.sqlite --set n=300 --set n_test=300 --set width=64 --set mlp_epochs=1",
    "python -m theorycheck labels study --r 1,2,3 --seeds 5 --serial":
        "python -m theorycheck labels study --r 1,2 --seeds 1 --serial --set n=300 --set n_test=300 --set width=64 --set mlp_epochs=1",
    "python -m theorycheck labels study --r 1,2,3 --seeds 10":
        "python -m theorycheck labels study --r 1,2 --seeds 2 --set n=300 --set n_test=300 --set width=64 --set mlp_epochs=1",
    "python -m theorycheck labels study --r 1,2,3 --seeds 5 --in-process":
        "python -m theorycheck labels study --r 1,2 --seeds 1 --in-process --set n=300 --set n_test=300 --set width=64 --set mlp_epochs=1",
    "python -m theorycheck three-layer exponents --ds 8,12,16,20 --ns 125,250,500,1000,2000,4000 --seeds 5 --serial":
        "python -m theorycheck three-layer exponents --ds 8,12 --ns 125,250 --seeds 2 --serial --learners three_layer,poly_krr",
    "python -m theorycheck three-layer --d 20 --n1 2400 --n2 600 --m1 4096 --baselines":
        "python -m theorycheck three-layer --d 8 --n1 400 --n2 100 --m1 256 --baselines",
    "python -m theorycheck three-layer figures --out docs/img -j 2 --seeds 5":
        "python -m theorycheck three-layer figures --out docs/img -j 2 --seeds 2 --ds 8,12 --ns 125,250",
    "python -m theorycheck check -c 'three_layer.*'": "python -m theorycheck check -c 'three_layer.*' --max-examples 2",
    "python examples/depth_report.py --store theorycheck-results.sqlite --kernels":
        "python examples/depth_report.py --store theorycheck-results.sqlite --no-bound --out docs/img "
        "--steps-scale 0.02 --figure-d 4",
    "python benchmarks/bench_kernel.py": "python benchmarks/bench_kernel.py --N 500",
    "python benchmarks/bench_ridge_path.py": "python benchmarks/bench_ridge_path.py --n 300",
    "python benchmarks/bench_ridge_path.py --n 8000": "python benchmarks/bench_ridge_path.py --n 400",
    "python -m theorycheck kernel scaling --Ls 3 --learners poly --ds 6 --ns 2048,2304,2560,2816,3072,3328,3584,3840,4096 --seeds 3 --ridge-grid spectral --ridge-solver cholesky --eps 0.01 -j 1 --json docs/img/kernel_cliff_L3_d6.json":
        "python -m theorycheck kernel scaling --Ls 3 --learners poly --ds 3 --ns 103,310 --seeds 2 --ridge-grid spectral --ridge-solver cholesky --eps 0.01 -j 1 --json docs/img/kernel_cliff_L3_d6_reduced.json",
    "python -m theorycheck kernel scaling --Ls 2 --learners poly --ds 6,8,10 --ns 128,144,160,176,192,208,224,240,256,288,320,352,384,416,448,480,512,544,576,608,640,704,768,832,896,960,1024,1088,1152,1216,1280,1408 --seeds 3 --ridge-grid spectral --ridge-solver cholesky --eps 0.01 -j 1 --json docs/img/kernel_cliff_L2.json":
        "python -m theorycheck kernel scaling --Ls 2 --learners poly --ds 4,5 --ns 64,128 --seeds 2 --ridge-grid spectral --ridge-solver cholesky --eps 0.01 -j 1 --json docs/img/kernel_cliff_L2_reduced.json",
    "python -m theorycheck kernel scaling --Ls 3 --learners gaussian,ntk --ds 6 --ns 256,512,1024,2048,3072,4096 --seeds 3 --ridge-grid spectral --ridge-solver cholesky --eps 0.01 -j 1 --json docs/img/kernel_cliff_gaussian_ntk.json":
        "python -m theorycheck kernel scaling --Ls 3 --learners gaussian,ntk --ds 3 --ns 64,128 --seeds 2 --ridge-grid spectral --ridge-solver cholesky --eps 0.01 -j 1 --json docs/img/kernel_cliff_gaussian_ntk_reduced.json",
}

# The grids of examples/ at a reduced size (same kind and keys, fewer values).
REDUCED_GRIDS = {
    "kernel_scaling.toml": '[sweep]\nkind = "kernel-fit"\nseeds = 1\n[base]\nsteps = 20\nn_test = 200\n'
                           '[grid]\nlearner = ["poly", "network"]\nL = [2]\nd = [6]\nN = [16, 32]\n',
    "label_depth.toml": '[sweep]\nkind = "label-depth"\nseeds = 1\n[base]\nn = 300\nn_test = 300\n'
                        'width = 64\nmlp_epochs = 1\n[grid]\nr = [1, 2]\n',
    "depth_study.toml": '[sweep]\nkind = "bfc-depth"\nseeds = 1\n[base]\nsteps_scale = 0.02\n'
                        'n_test = 500\n[grid]\nL = [2]\nd = [4]\nN = [32, 64]\n',
    "depth_classification.toml": '[sweep]\nkind = "bfc-depth"\nseeds = 1\n[base]\nloss = "logistic"\n'
                                 'L = 2\nd = 4\nsteps_scale = 0.02\nn_test = 500\n[grid]\n'
                                 'mode = ["e2e", "layerwise"]\nN = [64]\n',
    "three_layer_exponents.toml": '[sweep]\nkind = "three-layer-fit"\nseeds = 2\n[grid]\n'
                                  'learner = ["three_layer", "poly_krr"]\nd = [8, 12]\nn = [125, 250]\n',
}
REDUCED_GRID_TOML = ('[sweep]\nkind = "target-energy"\nseeds = 1\n[base]\nn = 4096\n[grid]\nd = [8]\n'
                     'L = [3]\n[[runs]]\nkind = "claim"\nclaim = "gaussian.mc.agrees_with_exact"\n'
                     'seeds = [0]\n')

# Python blocks at a reduced size: (text in the block, its replacement).
REDUCED_PYTHON = {
    "docs/bfc.md#1": [("steps=(3000, 6000)", "steps=(40, 80)"), ("d=16", "d=8")],
}

# Exit statuses other than 0 that a line documents.
EXIT = {
    "theorycheck --debug train --d 1e6": 2,
    "theorycheck target --d x --debug": 2,
    "theorycheck train --d 1e6": 2,
    "theorycheck results --show 3fa2c1": 2,   # a placeholder hash: "matches no run"
}
if importlib.util.find_spec("pyarrow") is None:   # the line says "needs pyarrow"
    EXIT["theorycheck results --export runs.parquet"] = 2

# Files whose examples take more than about 30 s on 2 loaded cores, even reduced.
SLOW_FILES = {"README.md", "docs/bfc.md", "docs/lemmas.md", "docs/labels.md", "docs/kernels.md",
              "docs/sweeps.md", "docs/three-layer.md"}


def _blocks(path: str):
    text = (ROOT / path).read_text()
    for i, m in enumerate(FENCE.finditer(text)):
        yield f"{path}#{i}", m.group(1), m.group(2)


def _commands(body: str) -> list[str]:
    """The command lines of a shell block: continuation lines joined, comments and (with
    ``$`` prompts) output lines dropped; ``a && b`` gives two lines."""
    body = re.sub(r"\\\n\s*", " ", body)
    lines = body.splitlines()
    if any(ln.startswith("$ ") for ln in lines):
        lines = [ln[2:] for ln in lines if ln.startswith("$ ")]
    out = []
    for ln in lines:
        ln = ln.split("  #")[0].strip()
        if ln and not ln.startswith("#"):
            out.extend(part.strip() for part in ln.split("&&"))
    return out


def _norm(line: str) -> str:
    return " ".join(shlex.split(line))


def _theorycheck_argv(line: str) -> list[str] | None:
    argv = shlex.split(line)
    if argv[:1] == ["theorycheck"]:
        return argv[1:]
    if argv[:3] == ["python", "-m", "theorycheck"]:
        return argv[3:]
    return None


def test_every_block_is_listed():
    found = {key: lang for f in FILES for key, lang, _ in _blocks(f)}
    assert set(found) == set(BLOCKS), {"unlisted": sorted(set(found) - set(BLOCKS)),
                                       "stale": sorted(set(BLOCKS) - set(found))}
    for key, lang in found.items():
        assert lang in ("", "bash", "python", "toml", "text"), key
        if lang == "python":
            assert BLOCKS[key] == "python", key


def test_reductions_and_exceptions_name_real_lines():
    lines = {_norm(c) for f in FILES for key, _, body in _blocks(f) if BLOCKS[key] == "shell"
             for c in _commands(body)}
    for table in (REDUCED, EXTERNAL, EXIT):
        stale = [k for k in table if _norm(k) not in lines]
        assert not stale, stale


def _inline_commands() -> list[tuple[str, str]]:
    out = []
    for f in FILES:
        text = FENCE.sub("", (ROOT / f).read_text())
        for span in re.findall(r"`([^`\n]+)`", text):
            # a command with arguments; not a bare command name, not syntax notation
            # ("..." or [a|b]), not a placeholder such as GRID.toml or ID
            if re.match(r"(python -m )?theorycheck [a-z-]+ \S", span) and not re.search(r"\.\.\.|\||\[", span) \
                    and not re.search(r"\b[A-Z]{2,}\b", span.split(" ", 2)[-1]):
                out.append((f, span))
    return out


def test_every_command_line_parses():
    """Every theorycheck line of the docs, fenced or inline, parses with the real parser."""
    from theorycheck.commands.main import build_parser

    lines = [(key, c) for f in FILES for key, _, body in _blocks(f) if BLOCKS[key] == "shell"
             for c in _commands(body)] + _inline_commands()
    parsed, bad = 0, []
    for where, line in lines:
        argv = _theorycheck_argv(line)
        if argv is None:
            continue
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:   # --help exits 0
            if exc.code != 0:
                bad.append(f"{where}: {line!r}")
        parsed += 1
    assert not bad, bad
    assert parsed >= 50


# -- running them ---------------------------------------------------------------------------

def _sandbox(tmp: Path) -> Path:
    (tmp / "examples").mkdir()
    for name, text in REDUCED_GRIDS.items():
        (tmp / "examples" / name).write_text(text)
    for script in (ROOT / "examples").glob("*.py"):
        shutil.copy(script, tmp / "examples" / script.name)
    (tmp / "docs" / "img").mkdir(parents=True)
    for p in (ROOT / "docs" / "img").glob("*.json"):
        shutil.copy(p, tmp / "docs" / "img" / p.name)
    readme_claim = next(body for key, _, body in _blocks("README.md") if BLOCKS[key] == "python")
    for folder in ("path/to/my_proofs", "that/folder"):
        (tmp / folder).mkdir(parents=True)
        (tmp / folder / "mine.py").write_text(readme_claim.replace("print(", "(") + "\n")
    from theorycheck.runs.kinds import run_once   # a default store with one small run in it
    run_once("target-energy", {"d": 4, "n": 1024}, seed=0,
             store_path=str(tmp / "theorycheck-results.sqlite"))
    return tmp


def _env() -> dict:
    env = {**os.environ, "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("THEORYCHECK_STORE", None)   # the docs mean the default store
    return env


def _run_line(line: str, cwd: Path) -> subprocess.CompletedProcess:
    argv = shlex.split(REDUCED.get(line, line))
    env = _env()
    while argv and re.match(r"^[A-Z_]+=", argv[0]):
        k, _, v = argv.pop(0).partition("=")
        env[k] = v
    if argv[0] == "theorycheck":
        argv = [sys.executable, "-m", "theorycheck", *argv[1:]]
    elif argv[0] == "pytest":
        argv = [sys.executable, "-m", "pytest", "-p", "theorycheck.pytest_plugin", "-q",
                "-p", "no:cacheprovider", "--rootdir", str(cwd), *argv[1:]]
    elif argv[0] == "python":
        argv = [sys.executable, *argv[1:]]
        if len(argv) > 1 and argv[1].endswith(".py"):
            argv[1] = str(ROOT / argv[1])   # a repository script, run from the sandbox
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def _exec_python(key: str, body: str, cwd: Path) -> None:
    for old, new in REDUCED_PYTHON.get(key, ()):
        assert old in body, (key, old)
        body = body.replace(old, new)
    module = types.ModuleType(re.sub(r"\W", "_", f"docs_example_{key}"))
    sys.modules[module.__name__] = module   # dataclasses look their module up
    here = os.getcwd()
    os.chdir(cwd)
    try:
        exec(compile(body, key, "exec"), module.__dict__)
    finally:
        os.chdir(here)
        sys.modules.pop(module.__name__, None)


def _run_file(path: str, tmp: Path) -> int:
    cwd = _sandbox(tmp)
    ran = 0
    for key, _, body in _blocks(path):
        kind = BLOCKS[key]
        if kind == "python":
            _exec_python(key, body, cwd)
            ran += 1
        elif kind == "toml":
            from theorycheck.runs.sweep import load_grid
            (cwd / "grid.toml").write_text(body)
            assert load_grid(cwd / "grid.toml").runs   # the example as written expands
            (cwd / "grid.toml").write_text(REDUCED_GRID_TOML)
            ran += 1
        elif kind == "shell":
            for line in _commands(body):
                line = next((k for k in (*REDUCED, *EXTERNAL, *EXIT) if _norm(k) == _norm(line)), line)
                if line in EXTERNAL:
                    continue
                out = _run_line(line, cwd)
                want = EXIT.get(line, 0)
                assert out.returncode == want, (f"{key}: {REDUCED.get(line, line)!r} exited "
                                                f"{out.returncode}, want {want}\n{out.stdout[-2000:]}\n"
                                                f"{out.stderr[-3000:]}")
                ran += 1
    return ran


def _file_params():
    for f in FILES:
        if not any(BLOCKS.get(key) in ("python", "shell", "toml") for key, _, _ in _blocks(f)):
            continue
        marks = [pytest.mark.slow] if f in SLOW_FILES else []
        yield pytest.param(f, marks=marks, id=f)


@pytest.mark.parametrize("path", list(_file_params()))
def test_docs_examples_run(path, tmp_path):
    assert _run_file(path, tmp_path) >= 1
