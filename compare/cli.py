"""The ``ftrag`` command line. Subcommands register themselves from their packages.

Bad input (a ``UserError``: a bad option, field, file or name) ends with one line on stderr and exit
code 2; set ``FTRAG_DEBUG=1`` for its traceback. Any other exception is a bug in ftrag: its
traceback is kept, with a line saying so, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from compare import injection
from compare.content import cli as content_cli
from compare.decide import cli as recommend_cli
from compare.lmeval import cli as lmeval_cli
from compare.pipeline import cli as bench_cli
from compare.sweep import cli as sweep_cli
from compare.trainset import cli as trainset_cli
from corpus import cli as corpus_cli
from corpus.errors import UserError
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
# What the user must fix; a missing or existing path is one too (the OS error names it).
USER_ERRORS = (UserError, FileExistsError, FileNotFoundError, NotADirectoryError)
BUG_LINE = (
    "ftrag: internal error: this is a bug in ftrag, not in your input; please report it with the "
    "traceback above and the command you ran (FTRAG_DEBUG=1 shows tracebacks for input errors too)"
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


# The project's packages: their INFO lines are the commands' progress output.
PACKAGES = ("corpus", "retrieval", "finetune", "compare", "dashboards")


class ConsoleHandler(logging.Handler):
    """The library's log lines as a command's output: INFO to stdout, warnings and errors to
    stderr, the message alone. The streams are looked up when a line is written, so a redirect
    (the sweep's driver, a test's capture) sees them."""

    def emit(self, record: logging.LogRecord) -> None:
        stream = sys.stdout if record.levelno < logging.WARNING else sys.stderr
        try:
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # a closed stream must not end the command
            self.handleError(record)


def console_logging(level: int = logging.INFO) -> None:
    """Send the project's log lines to the console (once per process, however often main runs)."""
    for name in PACKAGES:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(h, ConsoleHandler) for h in logger.handlers):
            logger.addHandler(ConsoleHandler())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    console_logging()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        if os.environ.get("FTRAG_DEBUG"):
            raise
        remove_partial(getattr(args, "partial_output", None))
        print(f"ftrag: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ftrag: interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print(BUG_LINE, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
