"""``ftrag data ...``: validate a corpus, generate the fictional dataset, generate QA."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from corpus.chunking import ChunkConfig
from corpus.config import add_config_args, config_from_args
from corpus.errors import UserError, group_problems
from corpus.formats import FORMATS, load
from corpus.io import atomic_write_text, dumps_jsonl
from corpus.paths import resolve_dataset
from corpus.qagen import generate_qa
from corpus.synthetic import SynthConfig, generate, write_dataset
from corpus.validate import dataset_stats, dataset_warnings, format_report


def add_source_args(p: argparse.ArgumentParser) -> None:
    """Flags every command that reads a corpus shares."""
    p.add_argument(
        "--format",
        default="auto",
        choices=["auto", *FORMATS],
        help="input format (default: detect)",
    )
    p.add_argument(
        "--encoding-errors", default="strict", choices=["strict", "replace"],
        help="non-UTF-8 files are errors (strict) or decoded with U+FFFD and listed (replace)",
    )  # fmt: skip


def cmd_validate(args: argparse.Namespace) -> int:
    loaded = load(
        resolve_dataset(args.path),
        qa=args.qa,
        fmt=args.format,
        encoding_errors=args.encoding_errors,
    )
    cfg = config_from_args(ChunkConfig, args)
    stats = dataset_stats(loaded.dataset, cfg) if loaded.dataset.docs else None
    warnings = dataset_warnings(loaded.dataset)
    if args.json:
        print(json.dumps({"stats": stats, "problems": [str(p) for p in group_problems(loaded.problems)],
                          "warnings": [str(w) for w in group_problems([*loaded.warnings, *warnings])],
                          "skipped": loaded.skipped}, indent=2))  # fmt: skip
    else:
        print(format_report(loaded, stats, warnings))
    return 2 if loaded.problems else 0


def cmd_synth(args: argparse.Namespace) -> int:
    cfg = config_from_args(SynthConfig, args)
    out = write_dataset(generate(cfg), args.out, force=args.force)
    loaded = load(out)
    print(format_report(loaded, dataset_stats(loaded.dataset), dataset_warnings(loaded.dataset)))
    print(f"wrote {out}")
    return 2 if loaded.problems else 0


def cmd_qagen(args: argparse.Namespace) -> int:
    loaded = load(args.docs, fmt=args.format, encoding_errors=args.encoding_errors)
    if loaded.problems:
        from corpus.errors import DataError

        raise DataError(loaded.problems)
    if args.max_per_doc < 1:
        raise UserError(f"`--max-per-doc` must be a positive integer, got {args.max_per_doc}")
    out = Path(args.out)
    if out.exists() and not args.force:
        raise FileExistsError(f"{out} exists; pass --force to overwrite it")
    items = generate_qa(loaded.dataset.docs.values(), max_per_doc=args.max_per_doc)
    atomic_write_text(out, dumps_jsonl([q.to_json() for q in items]))
    by_pattern = Counter(q.template for q in items)
    by_split = Counter(q.split for q in items)
    covered = len({q.sources[0] for q in items})
    print(f"{len(items)} questions from {covered} of {len(loaded.dataset.docs)} documents -> {out}")
    print("  by pattern: " + ", ".join(f"{k} {v}" for k, v in sorted(by_pattern.items())))
    print("  by split:   " + ", ".join(f"{k} {by_split[k]}" for k in ("train", "dev", "test")))
    if loaded.skipped:
        print(f"  skipped {len(loaded.skipped)} files (see `ftrag data validate`)", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="validate, generate and inspect datasets")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")

    p = dsub.add_parser("validate", help="print counts and every problem found in a corpus")
    p.add_argument("path", help="dataset folder, docs folder, JSONL/CSV file, BEIR folder, or a bundled name")
    p.add_argument("--qa", help="questions JSONL for a plain docs folder")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_source_args(p)
    add_config_args(p, ChunkConfig)
    p.set_defaults(func=cmd_validate)

    p = dsub.add_parser("synth", help="generate the fictional dataset (deterministic)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    add_config_args(p, SynthConfig)
    p.set_defaults(func=cmd_synth)

    p = dsub.add_parser("qagen", help="generate candidate questions from your own documents")
    p.add_argument("docs", help="docs folder or JSONL/CSV documents")
    p.add_argument("--out", required=True, help="questions JSONL to write")
    p.add_argument("--max-per-doc", type=int, default=20, help="cap per document (default: 20)")
    p.add_argument("--force", action="store_true", help="overwrite --out")
    add_source_args(p)
    p.set_defaults(func=cmd_qagen)
