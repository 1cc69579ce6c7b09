"""``ftrag sweep``: train and score one adapter per variant of a few knobs and check the fine-tuning
rules of thumb on the variant table (:mod:`compare.sweep.rules`). Writes ``runs/<stamp>-<name>/``."""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from pathlib import Path
from typing import Any

from compare.answering.executors import (
    ExecutorConfig,
    add_executor_args,
    executor_items,
    open_executor,
)
from compare.sweep.grid import PROFILES, SweepConfig, parse_grids, variant_grid, varied_knobs
from compare.sweep.rules import MARGIN
from corpus.config import apply_overrides
from corpus.errors import UserError
from finetune.config import TrainConfig


def resolve_configs(args: argparse.Namespace) -> dict[str, Any]:
    """Defaults, then the profile, then ``--set`` overrides, then ``--knob`` grids (which replace the
    profile's grids: several ``--knob`` flags make one cartesian product)."""
    configs: dict[str, Any] = {"sweep": SweepConfig(), "train": TrainConfig(), "executor": ExecutorConfig()}
    profile = args.profile or "quick"
    if profile not in PROFILES:
        raise UserError(f"`profile` must be one of {', '.join(PROFILES)}, got {profile!r}")
    items = [f"{sec}.{k}={v}" for sec, kv in PROFILES[profile].items() for k, v in kv.items()]
    items += [f"sweep.profile={profile}", *(args.set or [])]
    if args.knob:
        parse_grids(" x ".join(args.knob))  # a bad knob names itself before anything else happens
        items.append("sweep.knobs=" + " x ".join(args.knob))
    items += [f"train.device={args.device}"] if args.device else []
    return apply_overrides(configs, items + executor_items(args))


def cmd_sweep(args: argparse.Namespace) -> int:
    from compare.pipeline.bench import latest_unfinished, new_run_dir
    from compare.scoring.costs import hourly_rate, load_prices
    from compare.sweep.fanout import SweepJob, run_sweep
    from compare.sweep.report import finish, write_csv
    from corpus.paths import resolve_dataset

    t0 = time.perf_counter()
    configs = resolve_configs(args)
    sweep, train = configs["sweep"], configs["train"]
    variants = variant_grid(parse_grids(sweep.knobs), train)
    knobs = varied_knobs(variants)
    path = resolve_dataset(args.dataset)
    runs = Path(args.runs)
    # absolute paths: a Ray worker rebuilds the context from them wherever it runs
    job = SweepJob(str(Path(path).resolve()), args.qa and str(Path(args.qa).resolve()), configs,
                   str((runs / ".cache").resolve()))  # fmt: skip
    ctx = job.context()
    ds = ctx.ds
    run = latest_unfinished(runs, args.name) if args.resume else new_run_dir(runs, args.name)
    print(
        f"sweep ({sweep.profile}): {len(variants)} variants of {', '.join(knobs) or 'no knob'} on {ds.name} "
        f"({len(ds.questions('train'))} train questions, {len(ctx.questions)} {sweep.split} questions "
        f"scored, {len(ctx.probes)} probes); run folder {run}"
    )

    def on_row(rows: list[dict]) -> None:  # the table so far, kept up to date in the run folder
        write_csv(run / "sweep.csv", rows)

    with open_executor(configs["executor"]) as executor:
        rows = run_sweep(executor, job, variants, on_row, progress=not args.quiet, ctx=ctx)
        ran_on = executor.describe()
    wall = time.perf_counter() - t0
    summary = sweep_summary(args.name, configs, ctx, path, knobs, rows, ran_on)
    summary["budget"] = budget(rows, hourly_rate(load_prices(), sweep.hardware), wall)
    finish(run, summary, rows)
    print_table(summary)
    print(f"run folder: {run}  ({wall / 60:.1f} min)")
    return 0


def sweep_summary(
    name: str, configs: dict[str, Any], ctx: Any, path: Path, knobs: list[str], rows: list[dict], ran_on: dict
) -> dict[str, Any]:
    """The sweep's record: what was varied, on which data and machine (the budget comes apart)."""
    from compare.sweep.report import SUMMARY_KIND, SUMMARY_VERSION
    from compare.sweep.run import cuda_available

    sweep, done = configs["sweep"], [r for r in rows if r["status"] == "done"]
    return {
        "kind": SUMMARY_KIND,
        "sweep_version": SUMMARY_VERSION,
        "name": name,
        "dataset": ctx.ds.name,
        "dataset_path": str(path),
        "profile": sweep.profile,
        "config": {k: v.to_dict() for k, v in configs.items()},
        "knobs": knobs,
        "grids": [{k: list(v) for k, v in g.items()} for g in parse_grids(sweep.knobs)],
        "questions": len(ctx.questions),
        "answerable": sum(q.kind != "unanswerable" for q in ctx.questions),
        "probes": len(ctx.probes),
        "kept_probes": max((r.get("kept_probes", 0) for r in done), default=0),
        "margin": MARGIN,
        "executor": ran_on,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "device": "cuda" if cuda_available() else "cpu",
        },
    }


def budget(rows: list[dict], rate: float, wall: float) -> dict[str, Any]:
    """What the sweep cost: wall and CPU time, training time (new and all), dollars, variants."""
    done = [r for r in rows if r["status"] == "done"]
    return {
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu_seconds(), 1),
        "train_seconds": round(sum(r["train_seconds"] for r in done if not r["cached"]), 1),
        "train_seconds_all": round(sum(r["train_seconds"] for r in done), 1),
        "cost_usd": sum(r["cost_usd"] for r in done),
        "usd_per_hour": rate,
        "trained": sum(not r["cached"] for r in done),
        "cached": sum(bool(r["cached"]) for r in done),
        "skipped": sum(r["status"] != "done" for r in rows),
    }


def cpu_seconds() -> float:
    """CPU time this process has used (user + system): on a shared machine the wall time also
    counts what other processes took."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def print_table(summary: dict[str, Any]) -> None:
    """The variant table and the rule verdicts on stdout."""
    print()
    print(f"{'variant':<34} {'acc':>6} {'acc(tr)':>7} {'retain':>6} {'drift':>6} {'style':>5} "
          f"{'ex':>5} {'train %':>7} {'s':>5} {'pareto':>6}")  # fmt: skip
    for r in summary["variants"]:
        if r["status"] != "done":
            print(f"{r['variant']:<34} {r['status']}: {r['reason']}")
            continue
        print(
            f"{r['variant']:<34} {_f(r['accuracy'])} {_f(r['accuracy_trained']):>7} {_f(r['retention'])} "
            f"{_f(r['drift_kl'])} {_f(r['style'], 2):>5} {r['examples']:>5} "
            f"{100 * r['trainable_share']:>7.2f} {r['train_seconds']:>5.0f} {'*' if r['pareto'] else '':>6}"
        )
    print()
    for v in summary["rules"]:
        print(f"  [{v['status']}] {v['claim']}: {v['detail']}")


def _f(v: Any, digits: int = 3) -> str:
    return f"{'-':>6}" if v is None else f"{v:>6.{digits}f}"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep", help="train one adapter per knob setting; check the fine-tuning rules of thumb"
    )
    p.add_argument("--dataset", help="dataset folder or bundled name (default: tessaline)")
    p.add_argument("--qa", help="questions JSONL for a plain docs folder")
    p.add_argument(
        "--profile", choices=sorted(PROFILES), help="quick (default: 2 x 2, 8 min on 2 CPU cores) or sweep"
    )
    p.add_argument(
        "--knob",
        action="append",
        metavar="NAME=V1,V2",
        help="a knob and its values (repeatable: a cartesian product), e.g. lr=2e-5,1e-4 --knob "
        "phrasings=1,0; knobs: lr, epochs, r, target_modules, method, fact_fraction, corrupt_fraction, "
        "phrasings, replay",
    )
    p.add_argument("--device", help="auto | cpu | cuda (qlora variants need cuda)")
    p.add_argument(
        "--set",
        action="append",
        metavar="SECTION.FIELD=VALUE",
        help="override a config field, e.g. train.epochs=5 or sweep.split=test (repeatable)",
    )
    p.add_argument("--runs", default="runs", help="folder for run folders (default: runs)")
    p.add_argument("--name", default="sweep", help="run name (default: sweep)")
    p.add_argument("--resume", action="store_true", help="continue the newest unfinished sweep of this name")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_executor_args(p)
    p.set_defaults(func=cmd_sweep)
