"""``ftrag bench``'s arguments. The bench itself (torch, FAISS, the models) loads only when the
command runs, so ``ftrag --help`` and every other command start without it."""

from __future__ import annotations

import argparse

from compare.answering.executors import add_executor_args
from compare.answering.specs import SYSTEMS
from compare.config import PROFILES
from compare.engines.registry import add_engine_args


def cmd_bench(args: argparse.Namespace) -> int:
    from compare.pipeline.bench import cmd_bench as run

    return run(args)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="compare base, RAG, fine-tuned and hybrid systems on a dataset")
    p.add_argument("--dataset", help="dataset folder, docs folder or bundled name (default: tessaline)")
    p.add_argument("--docs", dest="dataset", help="a folder of your own pages (with --qa)")
    p.add_argument("--qa", help="questions JSONL for a plain docs folder")
    p.add_argument("--profile", choices=sorted(PROFILES), help="quick (default) or full")
    p.add_argument("--systems", help="comma-separated: " + ", ".join(SYSTEMS))
    p.add_argument("--device", help="auto | cpu | cuda (QLoRA is used on CUDA)")
    p.add_argument(
        "--set",
        action="append",
        metavar="SECTION.FIELD=VALUE",
        help="override any config field, e.g. train.epochs=3 or bench.context_k=2 (repeatable)",
    )
    p.add_argument("--config", help="a saved config.json to start from")
    p.add_argument("--runs", default="runs", help="folder for run folders (default: runs)")
    p.add_argument("--name", default="bench", help="run name (default: bench)")
    p.add_argument("--resume", action="store_true", help="continue the newest unfinished run of this name")
    p.add_argument(
        "--scenarios",
        help="scenarios after the comparison: freshness,forgetting,style (default all; 'none' skips them)",
    )
    add_executor_args(p)
    add_engine_args(p)
    p.set_defaults(func=cmd_bench)
