"""Every bad input of the foundation: one clear line naming file and line, exit 2, nothing written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

Setup = Callable[[Path], list[str]]  # mutates the copied dataset, returns extra CLI args


def _qa_line(root: Path, line: str) -> None:
    with (root / "qa.jsonl").open("a") as fh:
        fh.write(line + "\n")


def _rec(**overrides: object) -> str:
    rec = {"id": "q9", "question": "Q?", "answer": "A", "sources": ["install"], "split": "test"}
    rec.update(overrides)
    return json.dumps({k: v for k, v in rec.items() if v is not None})


CASES: list[tuple[str, Setup, str]] = [
    ("missing folder", lambda r: [str(r / "nope")], "no such file or folder"),
    ("empty corpus", lambda r: [_empty(r)], "empty corpus"),
    ("binary file", lambda r: _write(r / "docs/bin.md", b"ab\x00cd"), "bin.md: binary file"),
    ("non-utf8 file", lambda r: _write(r / "docs/l1.md", b"caf\xe9"), "l1.md:1: not valid UTF-8"),
    ("malformed jsonl", lambda r: _qa_line(r, "{not json") or [], "qa.jsonl:7: malformed JSON"),
    (
        "duplicate question id",
        lambda r: _qa_line(r, _rec(id="q1")) or [],
        "qa.jsonl:7: duplicate question id 'q1'",
    ),
    (
        "missing source doc",
        lambda r: _qa_line(r, _rec(sources=["ghost"])) or [],
        "qa.jsonl:7: question 'q9' names source 'ghost'",
    ),
    ("no gold answer", lambda r: _qa_line(r, _rec(answer="")) or [], "qa.jsonl:7: field `answer`"),
    ("bad split", lambda r: _qa_line(r, _rec(split="holdout")) or [], "qa.jsonl:7: field `split`"),
    ("bad kind", lambda r: _qa_line(r, _rec(kind="trivia")) or [], "qa.jsonl:7: field `kind`"),
    (
        "escaping source id",
        lambda r: _qa_line(r, _rec(sources=["../x"])) or [],
        "qa.jsonl:7: source '../x' tries to escape",
    ),
    ("duplicate doc id", lambda r: _write(r / "docs/support.txt", b"again"), "duplicate doc id 'support'"),
    (
        "bad front matter",
        lambda r: _write(r / "docs/fm.md", b"---\ntitle: [unclosed\n---\nx"),
        "fm.md:1: front matter",
    ),
    ("non-object line", lambda r: _qa_line(r, "[1, 2]") or [], "qa.jsonl:7: expected a JSON object"),
]


def _write(path: Path, data: bytes) -> list[str]:
    path.write_bytes(data)
    return []


def _empty(root: Path) -> str:
    (root / "empty").mkdir()
    return str(root / "empty")


@pytest.mark.parametrize("name, setup, expected", CASES, ids=[c[0] for c in CASES])
def test_validate_reports_bad_input(mini_dir: Path, run_cli, name: str, setup: Setup, expected: str) -> None:
    extra = setup(mini_dir)
    target = extra[0] if extra else str(mini_dir)
    rc, out, err = run_cli("data", "validate", target)
    assert rc == 2
    assert expected in out + err
    if err:  # hard errors: exactly one line, no traceback
        assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("name, setup, expected", CASES, ids=[c[0] for c in CASES])
def test_bench_refuses_bad_input_with_one_line(
    mini_dir: Path, run_cli, tmp_path: Path, name, setup, expected
) -> None:
    extra = setup(mini_dir)
    target = extra[0] if extra else str(mini_dir)
    runs = tmp_path / "runs"
    rc, _, err = run_cli("bench", "--dataset", target, "--runs", runs)
    assert rc == 2
    assert err.startswith("ftrag: error: ") and err.count("\n") == 1 and expected in err
    assert not runs.exists()  # nothing half-written


def test_qagen_bad_input_writes_nothing(mini_dir: Path, run_cli, tmp_path: Path) -> None:
    (mini_dir / "docs" / "bin.md").write_bytes(b"\x00\x01")
    out = tmp_path / "qa.jsonl"
    rc, _, err = run_cli("data", "qagen", mini_dir / "docs", "--out", out)
    assert rc == 2 and "binary file" in err and not out.exists()


def test_synth_refuses_to_overwrite_without_force(tmp_path: Path, run_cli) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep.txt").write_text("mine")
    rc, _, err = run_cli("data", "synth", "--entities", "4", "--attributes", "4", "--out", tmp_path / "d")
    assert rc == 2 and "--force" in err
    assert (tmp_path / "d" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "flag, value, field",
    [
        ("--entities", "2", "entities"),
        ("--phrasings", "9", "phrasings"),
        ("--unanswerable-frac", "0.7", "unanswerable_frac"),
    ],
)
def test_synth_config_errors_name_the_field(
    tmp_path: Path, run_cli, flag: str, value: str, field: str
) -> None:
    rc, _, err = run_cli("data", "synth", flag, value, "--out", tmp_path / "d")
    assert rc == 2 and f"`{field}`" in err and not (tmp_path / "d").exists()


def test_chunk_config_error_names_the_field(mini_dir: Path, run_cli) -> None:
    rc, _, err = run_cli("data", "validate", mini_dir, "--max-tokens", "100", "--overlap-tokens", "60")
    assert rc == 2 and "`overlap_tokens`" in err
