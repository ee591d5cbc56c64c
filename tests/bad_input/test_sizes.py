"""Sizes refused before any work: each command and public entry point estimates its memory
(or time, or term count) first and refuses with the estimate and the largest size that fits
(docs/errors.md, budgets). The suite fixes the budgets (8 GiB, 24 h: conftest.py), so no case
allocates or loops in proportion to the size it refuses; none asserts a timing."""

from __future__ import annotations

import numpy as np
import pytest

from theorycheck.errors import BudgetError, TheorycheckError

from ._cli import Unchanged, make_store, refused, run

MEM = ("needs", "GiB", "memory budget is 8.0 GiB")

CLI_SIZES = [
    # (argv, what the one line must contain)
    (["target", "--d", "1000000"], ("--d=1000000 needs", "use --d <=") + MEM[2:]),
    (["target", "--d", "1e6"], ("--d=1000000 needs",)),
    (["target", "--d", "3000"], ("--d=3000 needs", "exact layer polynomials")),
    (["target", "--d", "9", "--samples", "1e12"],
     ("--samples=1000000000000 needs at least", "days", "use --samples <=")),
    (["target", "--d", "20", "--samples", "1e13"], ("--samples=10000000000000", "time budget")),
    (["target", "--d", "8", "--L", "8"],
     ("degree 256 in 8 variables", "terms", "limit", "--no-expand")),
    (["target", "--d", "7", "--L", "6"], ("degree 64 in 7 variables", "--no-expand")),
    (["target", "--d", "8", "--L", "5", "--latex"], ("degree 32 in 8", "--no-expand")),
    (["target", "--d", "4", "--L", "8", "--exact-max-d", "4"], ("degree 256 in 4",)),
    (["target", "--d", "2", "--L", "8", "--k-target", "2000"], ("needs", "GiB")),
    (["three-layer", "--m1", "1e9"], ("--m1=1000000000 needs", "use --m1 <=") + MEM[2:]),
    (["three-layer", "--n1", "1e10"], ("--n1=10000000000 needs", "use --n1 <=")),
    (["three-layer", "--n2", "1e10"], ("--n2=10000000000 needs", "use --n2 <=")),
    (["three-layer", "--d", "1e6"], ("--d=1000000 needs", "use --d <=")),
    (["three-layer", "--m2", "1e8"], ("--m2=100000000 needs", "use --m2 <=")),
    (["three-layer", "--n1", "1e6", "--baselines"], ("--n1=1000000 needs", "baselines")),
    (["train", "--d", "1e6"], ("d=1000000 needs", "use d <=", "training run")),
    (["train", "--d", "1000000"], ("d=1000000 needs",)),
    (["train", "--mode", "two-layer", "--set", "two_layer_width=1000000"],
     ("two_layer_width=1000000 needs", "use two_layer_width <=")),
    (["train", "--steps", "1e11,1"], ("steps=[100000000000, 1] needs at least", "days",
                                      "use at most", "steps in all")),
    (["train", "--steps", "1e12"], ("needs at least", "time budget")),
    (["train", "--mode", "layerwise", "--steps", "1e11"], ("needs at least",)),
    (["train", "--N", "1e10"], ("N=10000000000 needs", "use N <=")),
    (["train", "--batch", "1e9"], ("batch=1000000000 needs", "use batch <=")),
    (["train", "--set", "n_test=1e10"], ("n_test=10000000000 needs", "use n_test <=")),
    (["train", "--k", "1e6"], ("k=1000000 needs", "use k <=")),
    (["train", "--mode", "all", "--d", "1e6"], ("d=1000000 needs",)),
    (["kernel", "span", "--N", "1000000"], ("--N=1000000 needs", "use --N <=", "sections")),
    (["kernel", "span", "--N", "1e8", "--d", "3", "--q", "2"], ("--N=100000000 needs",)),
    (["kernel", "span", "--kernel", "gaussian", "--N", "1e8"], ("--N=100000000 needs",)),
    (["kernel", "scaling", "--ns", "16,1000000", "--ds", "4", "--seeds", "2", "--learners",
      "poly"], ("--ns=1000000 needs", "Gram matrices", "use --ns <=")),
    (["labels", "show", "--d", "1e9"], ("--d=1000000000 needs", "use --d <=")),
    (["labels", "show", "--per-level", "1e8"], ("--per-level=100000000 needs",)),
    (["labels", "study", "--r", "1", "--seeds", "1", "--set", "n=1e9"],
     ("n=1000000000 needs", "depth-study cell", "use n <=")),
    (["labels", "study", "--r", "1", "--seeds", "1", "--set", "width=1e9"],
     ("width=1000000000 needs",)),
    (["labels", "study", "--r", "1", "--seeds", "1", "--set", "d=1e9"], ("d=1000000000 needs",)),
    (["three-layer", "exponents", "--ds", "8,12", "--ns", "100,1e9", "--seeds", "2", "--learners",
      "three_layer", "--serial", "--out", "out"], ("n=1000000000 needs", "use n <=")),
    (["sweep", "g.toml", "-j", "1e6"], ("--jobs=1000000 needs", "worker processes",
                                         "use --jobs <=")),
    (["labels", "study", "--r", "1", "--seeds", "1", "--jobs", "1e5"], ("--jobs=100000",)),
    (["three-layer", "exponents", "--jobs", "1e5", "--out", "o"], ("--jobs=100000 needs",)),
    (["three-layer", "figures", "--jobs", "1e5", "--out", "o"], ("--jobs=100000 needs",)),
    (["kernel", "scaling", "--jobs", "1e5"], ("--jobs=100000 needs",)),
    (["sweep", "g.toml", "--threads-per-worker", "1e9"], ("--threads-per-worker=1000000000",)),
    (["three-layer", "exponents", "--seeds", "1e9", "--out", "o"], ("runs", "seeds: 1000000000")),
    (["three-layer", "figures", "--seeds", "1e9", "--out", "o"], ("seeds: 1000000000",)),
    (["labels", "study", "--seeds", "1e9"], ("labels study", "seeds: 1000000000")),
    (["kernel", "scaling", "--seeds", "1e10"], ("kernel scaling", "seeds: 10000000000")),
    (["--memory-budget", "1MiB", "target", "--d", "4"],
     ("needs", "memory budget is 1.0 MiB (--memory-budget 1MiB)")),
    (["target", "--memory-budget", "1MiB", "--d", "4"], ("--memory-budget 1MiB",)),
    (["--time-budget", "1s", "train", "--steps", "1e8"], ("time budget is 1.0 s (--time-budget 1s)",)),
    (["train", "--time-budget", "10min", "--steps", "1e9"], ("--time-budget 10min",)),
]


@pytest.mark.parametrize("argv, needle", CLI_SIZES, ids=[" ".join(a) for a, _ in CLI_SIZES])
def test_cli_size_refused_with_the_estimate(argv, needle, capsys, tmp_path):
    store = make_store(tmp_path / "theorycheck-results.sqlite")
    (tmp_path / "g.toml").write_text('[sweep]\nkind = "target-energy"\n[grid]\nd = [2]\nn = [4]\n')
    with Unchanged(tmp_path):
        refused(argv, capsys, needle)


def test_refused_train_size_leaves_no_run_and_no_store(capsys, tmp_path):
    refused(["train", "--d", "1e6", "--store", "fresh.sqlite"], capsys, "d=1000000 needs")
    assert not (tmp_path / "fresh.sqlite").exists()
    # ... so the same command with a size that fits needs no --retry-failed
    refused(["train", "--d", "1e6", "--store", "fresh.sqlite"], capsys, "d=1000000 needs")


SWEEP_SIZES = [
    ('[sweep]\nkind = "bfc-train"\n[grid]\nd = [8, 1000000]\n', ("d=1000000 needs", "run bfc-train")),
    ('[sweep]\nkind = "bfc-train"\n[grid]\nsteps = [100000000000]\n', ("needs at least",)),
    ('[sweep]\nkind = "kernel-fit"\n[grid]\nN = [100000000]\n', ("N=100000000 needs", "Gram")),
    ('[sweep]\nkind = "kernel-fit"\n[base]\nlearner = "network"\n[grid]\nd = [1000000]\n',
     ("d=1000000 needs",)),
    ('[sweep]\nkind = "three-layer-fit"\n[base]\nlearner = "three_layer"\nd = 8\n'
     '[grid]\nn = [1000000000]\n', ("needs", "three_layer cell")),
    ('[sweep]\nkind = "three-layer-fit"\n[base]\nlearner = "poly_krr"\nd = 8\n'
     '[grid]\nn = [10000000]\n', ("needs", "poly_krr")),
    ('[sweep]\nkind = "label-depth"\n[grid]\nr = [1]\nn = [1000000000]\n', ("n=1000000000 needs",)),
    ('[sweep]\nkind = "target-energy"\nseeds = 1000000000000\n[grid]\nd = [4]\n',
     ("1.00e+12 runs", "use at most")),
]


@pytest.mark.parametrize("grid, needle", SWEEP_SIZES)
def test_sweep_run_sizes_refused_before_anything_is_stored(grid, needle, capsys, tmp_path):
    (tmp_path / "g.toml").write_text(grid)
    store = make_store(tmp_path / "s.sqlite")
    with Unchanged(tmp_path):
        refused(["sweep", "g.toml", "--store", store, "--serial", "--no-progress"], capsys, needle)
    refused(["sweep", "g.toml", "--store", "absent.sqlite", "--serial", "--no-progress"], capsys,
            needle)
    assert not (tmp_path / "absent.sqlite").exists()


def _axis(n: int) -> str:
    return "[" + ", ".join(str(i) for i in range(2, n + 2)) + "]"


@pytest.mark.parametrize("axes", [3, 4])
def test_a_huge_grid_is_refused_before_it_is_expanded(axes, capsys, tmp_path):
    side = {3: 2008, 4: 301}[axes]  # 8.1e9 grid points either way
    keys = ["d", "n", "chunk", "k"][:axes]
    (tmp_path / "g.toml").write_text('[sweep]\nkind = "target-energy"\n[grid]\n'
                                     + "".join(f"{k} = {_axis(side)}\n" for k in keys))
    line = refused(["sweep", "g.toml", "--serial"], capsys, ("runs", "use at most", "to expand"))
    assert "8.10e+09 runs" in line or "8.21e+09 runs" in line


def test_load_grid_refuses_the_product_before_expanding(tmp_path):
    from theorycheck.runs.sweep import GridError, load_grid
    (tmp_path / "g.toml").write_text('[sweep]\nkind = "target-energy"\n[grid]\n'
                                     + "".join(f"{k} = {_axis(2008)}\n" for k in ("d", "n", "chunk")))
    with pytest.raises(BudgetError, match="8.10e"):
        load_grid(tmp_path / "g.toml")


# -- the public API --------------------------------------------------------------------------

def _api_cases():
    from theorycheck.maths.kernel_methods import fit_kernel_ridge, make_kernel
    from theorycheck.papers.bfc.learner import init_learner, learner_spec
    from theorycheck.papers.bfc.span_lemma import span_experiment
    from theorycheck.papers.bfc.symbolic import mc_energy_table, symbolic_target
    from theorycheck.papers.bfc.target import build_target, target_spec
    from theorycheck.papers.bfc.training import train, train_config
    from theorycheck.papers.labels.hierarchies import generate
    from theorycheck.papers.three_layer.baselines import run_baseline
    from theorycheck.papers.three_layer.learner import ThreeLayerConfig, run_three_layer
    from theorycheck.papers.three_layer.quadratic_features import quadratic_target

    rng = np.random.default_rng(0)
    small = build_target(d=3, L=3)
    q8 = quadratic_target(8)
    return {
        "build_target d": (lambda: build_target(d=10**6, L=3), "d=1000000 needs"),
        "build_target k": (lambda: build_target(d=4, L=3, k_target=10**6), "needs"),
        "symbolic_target terms": (lambda: symbolic_target(build_target(d=8, L=6)), "terms"),
        "symbolic_target line": (lambda: symbolic_target(build_target(d=3000, L=2), line="random"),
                                 "d=3000 needs"),
        "mc_energy_table n": (lambda: mc_energy_table(small, 10**14, rng), "n=100000000000000"),
        "quadratic_target d": (lambda: quadratic_target(10**6), "d=1000000 needs"),
        "run_three_layer m1": (lambda: run_three_layer(q8, 100, 100, rng,
                                                       config=ThreeLayerConfig(m1=10**9)),
                               "m1=1000000000 needs"),
        "run_three_layer n1": (lambda: run_three_layer(q8, 10**11, 100, rng), "n1="),
        "run_baseline n": (lambda: run_baseline("poly_krr", q8, 10**7, rng), "n=10000000 needs"),
        "init_learner d": (lambda: init_learner(learner_spec(10**9, 2, tied=False)), "d=1000000000 needs"),
        "span_experiment N": (lambda: span_experiment("poly", 6, 4, 10**8, rng), "N=100000000"),
        # the Gaussian kernel has no finite feature map: the solve needs the N x N Gram
        "fit_kernel_ridge N": (lambda: fit_kernel_ridge(make_kernel("gaussian", 1),
                                                        np.zeros((10**6, 1)), np.zeros(10**6), rng),
                               "N=1000000 needs"),
        "train d": (lambda: train(train_config(d=10**6)), "d=1000000 needs"),
        "train steps": (lambda: train(train_config(steps=10**12)), "needs at least"),
        "generate d": (lambda: generate(10**10, 2), "d=10000000000 needs"),
        "generate labels": (lambda: generate(16, 2, 10**9), "labels=2000000000 needs"),
    }


API = ["build_target d", "build_target k", "symbolic_target terms", "symbolic_target line",
       "mc_energy_table n", "quadratic_target d", "run_three_layer m1", "run_three_layer n1",
       "run_baseline n", "init_learner d", "span_experiment N", "fit_kernel_ridge N", "train d",
       "train steps", "generate d", "generate labels"]


@pytest.mark.parametrize("case", API)
def test_api_size_refused_with_the_estimate(case):
    fn, needle = _api_cases()[case]
    with pytest.raises(BudgetError) as info:
        fn()
    msg = str(info.value)
    assert needle in msg and "\n" not in msg
    assert ("use " in msg and "<=" in msg) or "in all" in msg or "--no-expand" in msg \
        or "line=" in msg or "no " in msg


def test_run_once_refuses_before_recording(tmp_path):
    from theorycheck.runs.kinds import run_once
    with pytest.raises(BudgetError, match="d=1000000 needs"):
        run_once("bfc-train", {"d": 10**6}, 0, tmp_path / "s.sqlite")
    assert not (tmp_path / "s.sqlite").exists()


@pytest.mark.parametrize("text, needle", [
    ("xx", "not a size"), ("-1GiB", "not a size"), ("8PB", "unknown unit"), ("0", "at least 1 byte"),
    ("150%", "(0, 100]"), ("", "not a size"), ("1e400", "at least 1 byte"), ("8 GiB GiB", "not a size"),
])
def test_bad_memory_budget_is_one_line(text, needle, capsys, monkeypatch):
    refused([f"--memory-budget={text}", "target", "--d", "2"], capsys, ("--memory-budget", needle))
    monkeypatch.setenv("THEORYCHECK_MEMORY_BUDGET", text or " ")
    if text:
        refused(["target", "--d", "2"], capsys, ("THEORYCHECK_MEMORY_BUDGET", needle))


@pytest.mark.parametrize("text", ["0s", "-3h", "soon", "12 fortnights", "inf"])
def test_bad_time_budget_is_one_line(text, capsys):
    refused([f"--time-budget={text}", "target", "--d", "2"], capsys, "--time-budget")


def test_budget_error_is_a_spec_error():
    assert issubclass(BudgetError, TheorycheckError)
