"""The ``ftrag`` command line. Subcommands register themselves from their packages.

Bad input ends with one line on stderr and exit code 2; set ``FTRAG_DEBUG=1`` for tracebacks.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from compare import bench_cli, content_cli, injection, lmeval_cli, recommend_cli, sweep_cli
from compare.trainset import cli as trainset_cli
from corpus import cli as corpus_cli
from corpus.errors import DataError
from finetune import cli as finetune_cli
from retrieval import cli as retrieval_cli

COMMANDS = (
    corpus_cli.register,
    retrieval_cli.register,
    finetune_cli.register,
    bench_cli.register,
    lmeval_cli.register,
    recommend_cli.register,
    content_cli.register,
    injection.register,
    sweep_cli.register,
)
USER_ERRORS = (
    DataError,
    ValueError,
    FileExistsError,
    FileNotFoundError,
    NotADirectoryError,
    KeyError,
)


def plugin_commands() -> list:
    """``register`` functions of packages above this one (the dashboard), found through the
    ``ftrag.commands`` entry-point group, so ``compare`` never imports them."""
    from importlib.metadata import entry_points

    return [ep.load() for ep in sorted(entry_points(group="ftrag.commands"), key=lambda e: e.name)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ftrag",
        description="Fine-tune or RAG? Measure both on your corpus and get a recommendation.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in (*COMMANDS, *plugin_commands()):
        register(sub)
    trainset_cli.register_data(subcommands(sub.choices["data"]))
    return parser


def subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    """The sub-command group of ``parser`` (``ftrag data``), to add commands from above ``corpus``."""
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def remove_partial(path: Path | None) -> None:
    """A run folder this command created and never finished (no summary.json) is removed when the
    command is refused, so bad input leaves nothing behind; an interrupted run (Ctrl-C, kill) keeps
    its folder for ``--resume``."""
    if path is not None and Path(path).is_dir() and not (Path(path) / "summary.json").exists():
        shutil.rmtree(path, ignore_errors=True)


# Loggers of libraries that warn about things ftrag never uses: bitsandbytes' optional CPU 4-bit
# kernel (ftrag's 4-bit QLoRA needs CUDA; on CPU it trains LoRA in float32).
QUIET_LOGGERS = ("bitsandbytes.backends.cpu.ops",)


def main(argv: Sequence[str] | None = None) -> int:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        if os.environ.get("FTRAG_DEBUG"):
            raise
        remove_partial(getattr(args, "partial_output", None))
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"ftrag: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ftrag: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
