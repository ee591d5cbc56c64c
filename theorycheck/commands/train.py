"""``theorycheck train``: train the BFC learner on G* (docs/theory.md §1.5-§1.6), through the
results store, with a live progress bar; ``--mode all`` compares the three modes.

The settings (TOML file, flags, ``--set``) are checked once, by the ``bfc-train`` run kind
(:meth:`~theorycheck.runs.kinds.RunKind.parse`); the checked config object then goes to
:func:`~theorycheck.runs.kinds.run_once` unchanged."""

from __future__ import annotations

from theorycheck.commands._common import (add_store_argument, load_toml, parse_assignment,
                                          parse_value, store_path)
from theorycheck.commands._common import console as _console
from theorycheck.errors import SpecError
from theorycheck.validation import check_int

_FLAGS = ("d", "L", "k", "k_target", "steps", "lr", "batch", "N", "target_seed", "delta",
          "connections")


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train the BFC learner (e2e, layerwise, two-layer)",
                       description="Train the quadratic learner on the BFC target and record the "
                                   "run in the results store. A run already stored is found, not "
                                   "recomputed; an interrupted run continues with --resume.")
    p.add_argument("--config", metavar="FILE.toml",
                   help="settings as TOML (keys as in TrainConfig; flags below override them)")
    p.add_argument("--mode", default=None,
                   help="e2e | layerwise | two-layer | all (default: e2e, or the file's mode)")
    p.add_argument("--seed", default=None, help="run seed (default 0)")
    p.add_argument("--d", help="input dimension")
    p.add_argument("--L", help="number of layers of G*")
    p.add_argument("--k", help="learner hidden width")
    p.add_argument("--k-target", dest="k_target", help="target width k_l")
    p.add_argument("--steps", help="steps per stage, e.g. 3000,6000")
    p.add_argument("--lr", help="step size, or one per stage, e.g. 3e-3")
    p.add_argument("--batch", help="minibatch size")
    p.add_argument("--N", help="fixed training-set size (default: fresh samples every step)")
    p.add_argument("--target-seed", dest="target_seed", help="seed of the target's weights")
    p.add_argument("--delta", help="information-gap exponent")
    p.add_argument("--connections", help="chain | dense")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any other TrainConfig setting (repeatable; TOML values), e.g. "
                        "--set lambda_wd=1e-4 --set tied=false")
    add_store_argument(p)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run")
    p.add_argument("--retry-failed", action="store_true", help="rerun a run recorded as failed")
    p.add_argument("--plot", metavar="DIR", help="write loss and feature-error figures to DIR")
    p.set_defaults(func=run)


def settings_from_args(args) -> tuple[dict, list[str], int]:
    """(TrainConfig settings, modes, seed) from a TOML file, flags and --set pairs; the
    values are parsed here and checked once, by the run kind."""
    from theorycheck.papers.bfc.training import MODES, _FIELDS
    settings: dict = {}
    if args.config is not None:
        settings.update(_train_table(load_toml(args.config, what="--config", hint="pass a TOML "
                                               "file of training settings")))
    for key in _FLAGS:
        val = getattr(args, key, None)
        if val is not None:
            settings[key] = parse_value(val)
    for pair in args.set:
        key, val = parse_assignment(pair)
        settings[key] = val
    unknown = sorted(set(settings) - set(_FIELDS))
    if unknown:
        raise SpecError(f"unknown training setting {unknown[0]!r}; valid keys: {', '.join(_FIELDS)}")
    mode = args.mode if args.mode is not None else settings.pop("mode", "e2e")
    settings.pop("mode", None)
    if mode == "all":
        modes = list(MODES)
    elif mode in MODES:
        modes = [mode]
    else:
        raise SpecError(f"--mode {mode!r} is invalid; choose one of {', '.join(MODES)} or all")
    seed = check_int("--seed", args.seed if args.seed is not None else settings.pop("seed", 0),
                     min_value=0, max_value=2**32 - 1)
    settings.pop("seed", None)
    return settings, modes, seed


def _train_table(data: dict) -> dict:
    """A --config file's settings: top-level keys, or a [train] table (which wins)."""
    if "train" in data and isinstance(data["train"], dict):
        data = {**{k: v for k, v in data.items() if k != "train"}, **data["train"]}
    return data


def run(args) -> int:
    from rich.table import Table

    from theorycheck.runs.kinds import get_kind
    from theorycheck.runs.store import Store

    import os

    from theorycheck.runs.store import config_hash, describe_owner, run_is_live

    settings, modes, seed = settings_from_args(args)
    store = store_path(args.store)
    if args.plot is not None:
        from theorycheck.commands._common import output_folder
        output_folder("--plot", args.plot)
    console = _console()
    kind = get_kind("bfc-train")
    # every config is checked (sizes included) before anything is stored
    cfgs = {mode: kind.parse({**settings, "mode": mode}, seed) for mode in modes}
    if args.resume:
        if not (os.path.exists(store) and os.path.getsize(store) > 0):
            raise SpecError(f"--resume: no store at {store!r} to resume; pass the store of the "
                            f"interrupted run with --store, or drop --resume")
        with Store(store, create=False) as st:
            for mode, cfg in cfgs.items():
                h = config_hash(kind.name, kind.stored(cfg), seed)
                row = st.run(h)
                if row is None or not (row.get("checkpoint_step") or row["status"] == "done"):
                    raise SpecError(f"--resume: run {h[:12]} ({mode}) has no checkpoint in "
                                    f"{store!r} (it was never interrupted); drop --resume to "
                                    f"start it")
    existing = {}
    if os.path.isfile(store) and os.path.getsize(store) > 0:
        with Store(store, create=False) as st:
            for mode, cfg in cfgs.items():
                existing[mode] = st.run(config_hash(kind.name, kind.stored(cfg), seed))
    for mode, cfg in cfgs.items():  # sizes of the runs still to do, before anything is stored
        row = existing.get(mode)
        if row is None or row["status"] != "done":
            cfg.budget()
    rows = {}
    for mode in modes:
        cfg = cfgs[mode]
        with Store(store) as st:
            (h,) = st.ensure([(kind.name, kind.stored(cfg), seed)])
            row = st.run(h)
        if run_is_live(row):
            raise SpecError(f"run {h[:12]} ({mode}) is {describe_owner(row)} in {store!r}; wait "
                            f"for it to finish, or stop that process and pass --resume")
        if row["status"] == "done":
            console.print(f"{mode}: found in {store} as {h[:12]}, not recomputed", highlight=False)
        elif row.get("checkpoint_step") and not args.resume and row["status"] != "failed":
            raise SpecError(f"run {h[:12]} ({mode}) was interrupted at step {row['checkpoint_step']}; "
                            f"pass --resume to continue it")
        elif row["status"] == "failed" and not args.retry_failed:
            raise SpecError(f"run {h[:12]} ({mode}) is recorded as failed: "
                            f"{(row.get('error') or '').splitlines()[0]}; pass --retry-failed to rerun it")
        if row["status"] != "done":
            row = _run_with_progress(kind, cfg, seed, store, args.retry_failed, mode)
            if row["status"] == "failed":
                raise SpecError(f"{mode} run {h[:12]} failed: {(row.get('error') or '').splitlines()[0]}")
        rows[mode] = row
    table = Table(title=f"BFC training (d={cfg.d}, L={cfg.L}, seed {seed}); store {store}")
    for col in ("mode", "run", "final test loss", "loss / top energy", "err_2 after stage 2",
                "err_2 final", "correction ratio 2", "seconds", "steps/s"):
        table.add_column(col, justify="left" if col in ("mode", "run") else "right")
    for mode, row in rows.items():
        s = row["summary"]
        table.add_row(mode, row["hash"][:12], _f(s.get("final_test_loss")), _f(s.get("final_rel_loss")),
                      _f(s.get("err_lin_2_after_stage")), _f(s.get("err_lin_2_final")),
                      _f(s.get("correction_ratio_2")), _f(s.get("seconds"), ".1f"),
                      _f(s.get("steps_per_s"), ".0f"))
    console.print(table)
    if args.plot:
        from theorycheck.commands.plot import write_figures
        for path in write_figures(store, [r["hash"] for r in rows.values()],
                                  list(rows), args.plot):
            console.print(f"wrote {path}", highlight=False)
    return 0


def _run_with_progress(kind, cfg, seed: int, store: str, retry_failed: bool, mode: str) -> dict:
    """Run the checked config ``cfg`` through the store with a live bar fed by the trainer's
    ``progress`` callback (one call per diagnostic row)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from theorycheck.papers.bfc.training import stages
    from theorycheck.runs.kinds import run_once

    total = sum(s for _, s, _ in stages(cfg))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task(f"{mode}", total=total)

        def update(row):
            errs = " ".join(f"err_{k.rsplit('_', 1)[1]}={v:.2e}" for k, v in row.items()
                            if k.startswith("err_lin_"))
            bar.update(task, completed=row["step"],
                       description=f"{mode} stage {row['stage']} loss/top={row['rel_loss']:.3e} {errs}")

        return run_once(kind.name, cfg, seed, store, retry_failed=retry_failed, progress=update)


def _f(v, fmt=".3g") -> str:
    if v is None:
        return "-"
    try:
        return format(float(v), fmt)
    except (TypeError, ValueError):
        return str(v)
