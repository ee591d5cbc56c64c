"""``theorycheck check -j N``: claims split into parts and run in worker processes give the
same report as one process (timings aside), and an interrupted run still reports."""

from __future__ import annotations

import dataclasses
import json
import math
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from theorycheck.claims.engine import (Measurement, claim, merge_grid_parts, run_claim,
                                       run_grid_part)
from theorycheck.claims.parallel import Task, plan, previous_seconds, run_claims, start_workers
from theorycheck.commands.main import main

ROOT = Path(__file__).resolve().parents[1]

#: grid claims with every kind of instance: holds, a NaN, an error, a discard, a warning, a failure
GRIDS = '''
import math, warnings
from hypothesis import assume
from theorycheck import claim, Measurement, grid

@claim(id="p.mixed", statement="v <= 1", paper="me", tag="M", ref="-",
       instances=grid(i=list(range(12))))
def mixed(inst, rng):
    i = inst["i"]
    if i == 3:
        raise ValueError("three is bad")
    assume(i != 5)
    if i in (4, 9):
        warnings.warn(f"warned at {i % 2}", RuntimeWarning)
    if i == 7:
        return Measurement(float("nan"), 1.0, label="nan")
    v = 2.0 if i in (8, 10) else float(rng.uniform(0, 1))
    return [Measurement(v, 1.0, label="v"), Measurement(0.5, 1.0, label="half")]

@claim(id="p.holds", statement="u <= 1", paper="me", tag="M", ref="-",
       instances=grid(i=list(range(7)), j=[0, 1]))
def holds(inst, rng):
    return Measurement(float(rng.uniform(0, 1)), 1.0, stderr=0.001)
'''

CHEAP = ["gaussian.moments.double_factorial", "gaussian.mc.agrees_with_exact",
         "hermite.energy.parseval", "kernels.span_lemma", "bfc.lemma.lift_spanning"]


def _comparable(report: Path) -> dict:
    """report.json without what depends on the run rather than the claims: timings, the
    creation date, the number of jobs."""
    data = json.loads(report.read_text())
    for row in data["claims"]:
        row.pop("seconds")
        (row.get("optimiser") or {}).pop("seconds", None)
    for key in ("created", "jobs", "wall_seconds"):
        data["meta"].pop(key)
    return data


def _user_claims(tmp_path):
    """The claims of GRIDS in a module named after the test (discovery caches user modules
    by name, so each test needs its own)."""
    folder = tmp_path / "grids"
    folder.mkdir()
    name = "grids_" + "".join(ch if ch.isalnum() else "_" for ch in tmp_path.name)
    (folder / f"{name}.py").write_text(GRIDS)
    from theorycheck.claims.discovery import discover
    return folder, {c.id: c for c in discover(folder)}


def _same(a, b) -> bool:
    da, db = a.to_dict(), b.to_dict()
    da.pop("seconds"), db.pop("seconds")
    ja, jb = (json.dumps(x, sort_keys=True, default=repr) for x in (da, db))
    assert ja == jb, {k: (da[k], db[k]) for k in da if json.dumps(da[k], default=repr) != json.dumps(db[k], default=repr)}
    return True


@pytest.mark.parametrize("parts", [1, 2, 3, 5, 12])
def test_grid_parts_merge_to_the_whole_claim(tmp_path, parts):
    _, claims = _user_claims(tmp_path)
    c = claims["p.mixed"]
    whole = run_claim(c, seed=3)
    assert whole.verdict == "fails" and whole.n_errors == 1 and whole.discarded == 1
    assert whole.counterexample == {"i": 7}          # the first failure (NaN), not i = 8
    assert [w["message"] for w in whole.warnings if w["category"] == "RuntimeWarning"] == [
        "warned at 0", "warned at 1"]
    split = [run_grid_part(c, "quick", 3, range(k, 12, parts)) for k in range(parts)]
    merged = merge_grid_parts(c, "quick", 3, list(reversed(split)))  # any order of parts
    assert _same(whole, merged)
    assert merged.seconds == pytest.approx(sum(p.seconds for p in split))


def test_overlapping_parts_are_refused(tmp_path):
    from theorycheck.errors import ClaimError
    _, claims = _user_claims(tmp_path)
    c = claims["p.holds"]
    with pytest.raises(ClaimError, match="overlap"):
        merge_grid_parts(c, "quick", 0, [run_grid_part(c, "quick", 0, [0, 1]),
                                         run_grid_part(c, "quick", 0, [1, 2])])


def test_plan_splits_grids_and_starts_the_longest_first(tmp_path):
    _, claims = _user_claims(tmp_path)
    cs = [claims["p.holds"], claims["p.mixed"]]
    # one process: nothing is split, the order is the claims' (no times known)
    assert [(t.claim, t.indices) for t in plan(cs, "quick", jobs=1)] == [(0, None), (1, None)]
    # no times: each grid in min(n, jobs) strided parts
    tasks = plan(cs, "quick", jobs=2)
    assert [(t.claim, t.part, t.indices) for t in tasks if t.claim == 1] == [
        (1, 0, (0, 2, 4, 6, 8, 10)), (1, 1, (1, 3, 5, 7, 9, 11))]
    # known times: the long claim is cut finer and starts first
    tasks = plan(cs, "quick", jobs=2, previous={"p.holds": 1.0, "p.mixed": 60.0})
    assert tasks[0].claim == 1 and tasks[-1] == Task(0, 0, 1, None, 1.0)
    mixed = [t for t in tasks if t.claim == 1]
    assert len(mixed) == 6 and sorted(i for t in mixed for i in t.indices) == list(range(12))
    assert math.isclose(sum(t.estimate for t in mixed), 60.0)


def test_previous_seconds_reads_a_report_of_the_same_scale(tmp_path):
    from theorycheck.claims.parallel import TIMES_FILE, record_seconds
    rep = tmp_path / "report.json"
    assert previous_seconds(tmp_path, "quick") == {}
    rep.write_text(json.dumps({"meta": {"scale": "quick"}, "claims": [{"id": "a", "seconds": 2.5}]}))
    assert previous_seconds(tmp_path, "quick") == previous_seconds(rep, "quick") == {"a": 2.5}
    assert previous_seconds(tmp_path, "full") == {}
    rep.write_text("not json")
    assert previous_seconds(tmp_path, "quick") == {}
    # the times file keeps every claim's latest time per scale, across selections
    _, claims = _user_claims(tmp_path)
    r = run_claim(claims["p.holds"])
    record_seconds(tmp_path, "full", [r])
    assert previous_seconds(tmp_path, "full") == {"p.holds": round(r.seconds, 3)}
    assert json.loads((tmp_path / TIMES_FILE).read_text()).keys() == {"full"}


def test_workers_give_the_same_results_as_one_process(tmp_path):
    folder, claims = _user_claims(tmp_path)
    cs = [claims["p.mixed"], claims["p.holds"]]
    here = run_claims(cs, seed=5, jobs=1, source=folder)
    there = run_claims(cs, seed=5, jobs=2, source=folder)
    assert [r.claim_id for r in there] == ["p.mixed", "p.holds"]
    assert all(_same(a, b) for a, b in zip(here, there))


def test_workers_started_early_are_taken_over_or_stopped(tmp_path):
    """``check`` starts its workers before discovering the claims; run_claims takes them over
    (same results), and stops them when it runs the claims here or for another setting."""
    folder, claims = _user_claims(tmp_path)
    cs = [claims["p.mixed"], claims["p.holds"]]
    here = run_claims(cs, seed=5, jobs=1, source=folder)
    with start_workers(2, folder) as workers:
        procs = list(workers.executor._processes.values())
        there = run_claims(cs, seed=5, jobs=2, source=folder, workers=workers)
        assert workers.executor is None
    assert all(_same(a, b) for a, b in zip(here, there))
    assert procs and not any(p.is_alive() for p in procs)
    for jobs, source in ((1, folder), (2, None)):   # run here; another source: stopped, not used
        with start_workers(2, folder) as workers:
            procs = list(workers.executor._processes.values())
            if source is None:
                with pytest.raises(Exception, match="not those discovered"):
                    run_claims(cs, seed=5, jobs=jobs, source=source, workers=workers)
            else:
                assert all(_same(a, b) for a, b in
                           zip(here, run_claims(cs, seed=5, jobs=jobs, source=source, workers=workers)))
            assert workers.executor is None and not any(p.is_alive() for p in procs)
    with start_workers(1) as workers:
        assert workers is None


def test_check_report_is_the_same_with_one_or_two_jobs(tmp_path):
    """The determinism check of ``check -j``: cheap built-in claims (grids and hypothesis
    searches) and the user grids above, once in one process and once on two workers."""
    folder, _ = _user_claims(tmp_path)
    sel = [a for cid in CHEAP for a in ("-c", cid)]
    reports = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}"
        main(["check", *sel, "--out", str(out), "-j", jobs, "--no-example-db"])
        assert main(["check", str(folder), "--out", str(tmp_path / f"u{jobs}"), "-j", jobs]) == 1
        reports[jobs] = (_comparable(out / "report.json"), _comparable(tmp_path / f"u{jobs}" / "report.json"))
    assert reports["1"] == reports["2"]
    builtin = reports["2"][0]
    assert [c["id"] for c in builtin["claims"]] == CHEAP
    assert builtin["summary"]["error"] == 0


def test_the_check_line_names_the_slowest_claim_and_its_share(tmp_path, capsys):
    folder, _ = _user_claims(tmp_path)
    main(["check", str(folder), "--out", str(tmp_path / "rep"), "-j", "1"])
    out = capsys.readouterr().out
    assert "slowest claim: p." in out and "% of the" in out and "with -j 1" in out
    meta = json.loads((tmp_path / "rep" / "report.json").read_text())["meta"]
    assert meta["jobs"] == 1 and meta["finished"] == meta["selected"] == 2
    assert meta["interrupted"] is False
    assert set(previous_seconds(tmp_path / "rep", "quick")) == {"p.mixed", "p.holds"}


INTERRUPT = '''
import os, signal, time
from theorycheck import claim, Measurement, grid

@claim(id="i.first", statement="fast", paper="me", tag="M", ref="-", instances=[0])
def first(i):
    open(os.environ["TC_MARK"], "a").close()
    return Measurement(0, 1)

@claim(id="i.stop", statement="Ctrl-C while it runs", paper="me", tag="M", ref="-", instances=[0])
def stop(i):
    # with -j 2 the other worker may still be starting: wait until i.first has run, and a
    # little more for its result to reach the parent
    for _ in range(600):
        if os.path.exists(os.environ["TC_MARK"]):
            break
        time.sleep(0.05)
    time.sleep(1.0)
    os.kill(int(os.environ["TC_PARENT"]), signal.SIGINT)
    time.sleep(30)
    return Measurement(0, 1)
'''


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_leaves_a_report_of_the_finished_claims(tmp_path, jobs):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "stop.py").write_text(INTERRUPT)
    out = tmp_path / "rep"
    code = ("import os, sys; os.environ['TC_PARENT'] = str(os.getpid()); "
            "from theorycheck.commands.main import main; "
            f"sys.exit(main(['check', {str(tmp_path / 'p')!r}, '--out', {str(out)!r}, '-j', {jobs!r}, "
            "'-c', 'i.first', '-c', 'i.stop']))")
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT), "TC_MARK": str(tmp_path / "first-ran")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert "1 of 2 claims checked" in proc.stderr.strip().splitlines()[-1]
    data = json.loads((out / "report.json").read_text())
    assert [c["id"] for c in data["claims"]] == ["i.first"]
    assert data["meta"]["interrupted"] is True and data["meta"]["selected"] == 2


def test_check_starts_workers_early_only_for_the_whole_builtin_library(tmp_path, monkeypatch):
    import theorycheck.claims.parallel as P
    seen = []

    class Stop(Exception):
        pass

    def spy(jobs, source=None):
        seen.append((jobs, source))
        raise Stop

    monkeypatch.setattr(P, "start_workers", spy)
    folder, _ = _user_claims(tmp_path)
    for argv in (["-j", "2"], ["-j", "2", "-c", "p.holds"], ["-j", "2", str(folder)], ["-j", "1"]):
        assert main(["check", *argv, "--out", str(tmp_path / "rep")]) != 0   # stopped by the spy
    assert seen == [(2, None), (1, None), (1, str(folder)), (1, None)]


PRINTS = '''
from theorycheck import claim, Measurement

@claim(id="o.say", statement="prints", paper="me", tag="M", ref="-", instances=[{"i": 0}, {"i": 1}])
def say(inst):
    print(f"worker output {inst['i']}", end="")
    return Measurement(0, 1)

@claim(id="o.other", statement="v <= 1", paper="me", tag="M", ref="-", instances=[{}])
def other(inst):
    return Measurement(0, 1)
'''


def test_workers_leave_fast_without_losing_what_they_printed(tmp_path):
    """Workers exit without the interpreter's teardown once every result is back; output a
    claim printed into the worker's buffer (a pipe is block-buffered) must still appear, and
    the exit must come after multiprocessing's flush of the standard streams."""
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "prints.py").write_text(PRINTS)
    code = ("import sys; from theorycheck.commands.main import main; "
            f"sys.exit(main(['check', {str(tmp_path / 'p')!r}, '--out', {str(tmp_path / 'rep')!r}, "
            "'-j', '2', '--no-example-db']))")
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "worker output 0" in proc.stdout and "worker output 1" in proc.stdout
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert data["meta"]["jobs"] == 2 and data["summary"]["holds"] == 2


CRASH = '''
import os
from theorycheck import claim, Measurement, grid

@claim(id="c.ok", statement="fine", paper="me", tag="M", ref="-", instances=grid(i=[0, 1, 2]))
def ok(inst):
    return Measurement(0, 1)

@claim(id="c.dies", statement="kills its process", paper="me", tag="M", ref="-",
       instances=grid(i=[0, 1]))
def dies(inst):
    if inst["i"] == 1:
        os._exit(3)
    return Measurement(0, 1)
'''


def test_a_worker_that_dies_makes_its_claim_an_error(tmp_path, capsys):
    (tmp_path / "crash.py").write_text(CRASH)
    out = tmp_path / "rep"
    assert main(["check", str(tmp_path), "--out", str(out), "-j", "2"]) == 1
    rows = {c["id"]: c for c in json.loads((out / "report.json").read_text())["claims"]}
    assert rows["c.ok"]["verdict"] == "holds" and rows["c.ok"]["instances"] == 3
    assert rows["c.dies"]["verdict"] == "error"
    assert "died twice" in rows["c.dies"]["reason"]


def test_jobs_is_validated(capsys):
    assert main(["check", "-c", "gaussian.moments.*", "-j", "0"]) == 2
    assert "--jobs=" in capsys.readouterr().err


#: claims that share a per-process cache: each records the process that computed its run
SHARED = '''
import os
from theorycheck import claim, Measurement, grid

RUNS = {}

def run(seed):
    if seed not in RUNS:
        RUNS[seed] = os.getpid()
    return RUNS[seed]

@claim(id="s.first", statement="x", paper="me", tag="M", ref="-",
       instances=grid(seed=[0, 1, 2, 3]), shares="s.runs")
def first(inst):
    return Measurement(0.5, 1.0, label="first", detail={"pid": run(inst["seed"]), "me": os.getpid()})

@claim(id="s.second", statement="x", paper="me", tag="M", ref="-",
       instances=grid(seed=[0, 1, 2, 3]), shares="s.runs")
def second(inst):
    assert run(inst["seed"]) == os.getpid(), "the shared run was computed in another process"
    return Measurement(0.5, 1.0, label="second")

@claim(id="s.alone", statement="x", paper="me", tag="M", ref="-", instances=grid(seed=[0, 1, 2, 3]))
def alone(inst):
    return Measurement(0.5, 1.0, label="alone")
'''


def test_claims_sharing_a_cache_run_in_one_worker_in_their_order(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / f"shared_{tmp_path.name.replace('-', '_')}.py").write_text(SHARED)
    from theorycheck.claims.discovery import discover
    claims = discover(folder)
    ids = [c.id for c in claims]
    tasks = plan(claims, "quick", jobs=2, previous={i: 10.0 for i in ids})
    bundle = [t for t in tasks if t.also]
    assert len(bundle) == 1 and [claims[i].id for i in bundle[0].members] == ["s.first", "s.second"]
    assert bundle[0].indices is None and bundle[0].estimate == 20.0
    assert not any(t.claim in bundle[0].members for t in tasks if t is not bundle[0])
    assert "s.first + s.second" in bundle[0].label(claims)
    # one process: the bundle is not formed (every claim shares the one process anyway)
    assert not any(t.also for t in plan(claims, "quick", jobs=1))
    results = run_claims(claims, jobs=2, source=folder, previous={i: 10.0 for i in ids})
    assert [r.verdict for r in results] == ["holds"] * 3, [r.traceback for r in results]
    # without a shared name no bundle is formed
    loose = [dataclasses.replace(c, shares=None) for c in claims]
    assert plan(loose, "quick", jobs=2, previous={i: 10.0 for i in ids})[0].also == ()


def test_a_bad_shares_name_is_refused():
    from theorycheck.errors import ClaimError
    with pytest.raises(ClaimError, match="shares=.*non-empty string"):
        claim(id="x.y", statement="s", paper="p", tag="M", ref="-", instances=[{}], shares="")(
            lambda inst: Measurement(0.0, 1.0))
