"""``ftrag bench``: the default benchmark.

For now it runs what exists: it loads and validates the dataset, chunks it, and writes a run
folder (resolved config + summary) with the dataset statistics. Systems join as their tracks land.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from corpus.chunking import ChunkConfig
from corpus.config import add_config_args, config_from_args, save_config
from corpus.errors import DataError
from corpus.formats import load
from corpus.io import atomic_write_text
from corpus.paths import resolve_dataset
from corpus.validate import dataset_stats, dataset_warnings, format_report

SCHEMA_VERSION = 1


def new_run_dir(runs: Path, name: str) -> Path:
    """A fresh ``runs/<timestamp>-<name>/``; never reuses a folder another bench created."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        path = runs / (f"{stamp}-{name}" + (f"-{n}" if n else ""))
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a run folder under {runs}")


def cmd_bench(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    path = resolve_dataset(args.dataset)
    loaded = load(path, qa=args.qa)
    if loaded.problems:
        raise DataError(loaded.problems)
    chunking = config_from_args(ChunkConfig, args)
    stats = dataset_stats(loaded.dataset, chunking)
    warnings = dataset_warnings(loaded.dataset)
    print(format_report(loaded, stats, warnings))
    run = new_run_dir(Path(args.runs), args.name)
    save_config(
        run / "config.json",
        chunking=chunking,
        bench={"dataset": str(path), "qa": args.qa, "name": args.name},
    )
    summary = {
        "schema_version": SCHEMA_VERSION,
        "stage": "dataset",
        "dataset": stats,
        "warnings": [str(w) for w in warnings],
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "wall_seconds": round(time.perf_counter() - t0, 3),
    }
    atomic_write_text(run / "summary.json", json.dumps(summary, indent=2) + "\n")
    print(f"run folder: {run}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run the benchmark on a dataset (default: the bundled one)")
    p.add_argument("--dataset", help="dataset folder or bundled name (default: tessaline)")
    p.add_argument("--qa", help="questions JSONL for a plain docs folder")
    p.add_argument("--runs", default="runs", help="folder for run folders (default: runs)")
    p.add_argument("--name", default="bench", help="run name (default: bench)")
    add_config_args(p, ChunkConfig)
    p.set_defaults(func=cmd_bench)
