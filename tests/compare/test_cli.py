from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus.config import add_config_args, config_from_args


def test_help_lists_commands(run_cli) -> None:
    rc, out, _ = run_cli("--help")
    assert rc == 0 and "data" in out and "bench" in out


def test_validate_prints_counts(mini_dir: Path, run_cli) -> None:
    rc, out, _ = run_cli("data", "validate", mini_dir)
    assert rc == 0
    assert "documents 5" in out and "questions 6" in out and "dataset is valid" in out
    rc, out, _ = run_cli("data", "validate", mini_dir, "--json")
    stats = json.loads(out)["stats"]
    assert stats["questions_by_split_kind"]["test"] == {"fact": 3, "unanswerable": 1}


def test_config_overrides_are_typed() -> None:
    import argparse

    from corpus.synthetic import SynthConfig

    p = argparse.ArgumentParser()
    add_config_args(p, SynthConfig)
    cfg = config_from_args(SynthConfig, p.parse_args(["--entities", "12", "--style-frac", "0.5"]))
    assert cfg.entities == 12 and cfg.style_frac == 0.5 and cfg.attributes == 5
    try:
        p.parse_args(["--entities", "twelve"])
    except SystemExit as exc:
        assert exc.code == 2
    else:  # pragma: no cover
        raise AssertionError("a non-integer must be refused")


def test_section_overrides() -> None:
    from compare.config import BenchConfig
    from corpus.chunking import ChunkConfig
    from corpus.config import apply_overrides

    base = {"bench": BenchConfig(), "chunking": ChunkConfig()}
    out = apply_overrides(base, ["bench.context_k=3", "chunking.by_headings=false", "bench.systems=rag"])
    assert (
        out["bench"].context_k == 3
        and out["chunking"].by_headings is False
        and out["bench"].system_names == ["rag"]
    )
    assert base["bench"].context_k == 1  # the originals are untouched
    for item, message in [
        ("bench.context_k=three", "`context_k` takes int"),
        ("train.epochs=2", "unknown config section 'train'"),
        ("bench.contextk=2", "unknown config key 'bench.contextk'; bench has: profile, systems"),
        ("context_k", "must look like section.field=value"),
        ("bench.context_k=0", "`context_k` must be a positive integer"),
        ("bench.mix_epochs=0", "`mix_epochs` must be a positive integer"),
        ("bench.raft_no_oracle=guess", "`raft_no_oracle` must be memory or abstain, got 'guess'"),
        ("bench.hybrid_readers=sft,rafts", "`hybrid_readers` takes a comma list of sft, raft, mix, distill"),
    ]:
        with pytest.raises(ValueError, match=message.replace("(", r"\(")):
            apply_overrides(base, [item])


def test_commands_quiet_the_bitsandbytes_cpu_kernel_warning(mini_dir: Path, run_cli) -> None:
    """ftrag never uses bitsandbytes' CPU 4-bit kernel; its import-time warning is not shown."""
    import logging

    from compare.cli import QUIET_LOGGERS

    logger = logging.getLogger("bitsandbytes.backends.cpu.ops")
    logger.setLevel(logging.NOTSET)
    rc, _, _ = run_cli("data", "validate", mini_dir)
    assert rc == 0 and "bitsandbytes.backends.cpu.ops" in QUIET_LOGGERS
    assert logger.getEffectiveLevel() == logging.ERROR


@pytest.mark.parametrize(
    ("error", "rc", "one_line", "bug"),
    [
        ("user", 2, True, False),  # a UserError: the line, exit 2, no traceback
        ("data", 2, True, False),  # a DataError is a UserError
        ("missing", 2, True, False),  # a path that does not exist names itself
        ("value", 1, False, True),  # any other ValueError is a bug: its traceback and a line saying so
        ("key", 1, False, True),
    ],
)
def test_user_errors_are_one_line_and_bugs_keep_their_traceback(
    monkeypatch: pytest.MonkeyPatch, run_cli, error: str, rc: int, one_line: bool, bug: bool
) -> None:
    from compare import cli
    from corpus.errors import DataError, UserError

    raised = {
        "user": UserError("`--ks` must be comma-separated positive integers"),
        "data": DataError("no documents", path="docs/"),
        "missing": FileNotFoundError("no such file: qa.jsonl"),
        "value": ValueError("operands could not be broadcast"),
        "key": KeyError("retriever"),
    }[error]

    def fail(args) -> int:
        raise raised

    parser = cli.build_parser()
    validate = cli.subcommands(cli.subcommands(parser).choices["data"]).choices["validate"]
    validate.set_defaults(func=fail)
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    monkeypatch.delenv("FTRAG_DEBUG", raising=False)
    code, _, err = run_cli("data", "validate", "x")
    lines = err.strip().splitlines()
    assert code == rc
    assert (len(lines) == 1 and lines[0].startswith("ftrag: error: ")) is one_line
    assert ("Traceback (most recent call last)" in err and lines[-1] == cli.BUG_LINE) is bug
    assert str(raised.args[0]) in err
