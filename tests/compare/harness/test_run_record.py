"""The run record: written whole, read back as written, and refused in one line when it is not a
record this version reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from compare.harness.run_record import (
    MIN_SCHEMA,
    SCHEMA_VERSION,
    merge_facts,
    read_summary,
    schema_problem,
    write_summary,
)
from corpus.errors import UserError

GOOD = {"schema_version": SCHEMA_VERSION, "name": "bench", "systems": {"rag": {"accuracy": 0.5}}}


def test_written_then_read_back_as_written(tmp_path: Path) -> None:
    write_summary(tmp_path, GOOD)
    assert read_summary(tmp_path) == GOOD
    assert not list(tmp_path.glob(".*"))  # no temporary file left beside it


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "summary.json: not valid JSON (Expecting property name enclosed in double quotes); re-run"),
        ("[1, 2]", "summary.json: not a run summary (no `systems` object); re-run the bench"),
        (json.dumps({"systems": {"rag": {}}}), "schema version None is too old"),
        (
            json.dumps({"schema_version": MIN_SCHEMA - 1, "systems": {}}),
            f"schema version {MIN_SCHEMA - 1} is too old",
        ),
        (json.dumps({"schema_version": SCHEMA_VERSION, "systems": {}}), "the run scored no systems"),
    ],
)
def test_what_is_not_a_record_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "summary.json").write_text(text)
    with pytest.raises(UserError, match=re.escape(message)):
        read_summary(tmp_path)


def test_a_folder_without_a_record_names_itself(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no summary\.json; point to a finished `ftrag bench` run"):
        read_summary(tmp_path)


def test_schema_problem_is_none_for_a_record() -> None:
    assert schema_problem(GOOD) is None and schema_problem({"schema_version": "2", "systems": {}})


def test_stage_facts_merge_section_by_section() -> None:
    summary = {"name": "bench", "stage_seconds": {"trainset": 3.0}}
    index = {"index": {"key": "k1", "chunks": 50}, "stage_seconds": {"index": 1.5}}
    tuning = {"tuning": {"split": "dev", "systems": {"ft": {"lr": 0.002}}}}
    prompts = {"tuning": {"split": "dev", "systems": {"rag": {"k": 3}}}, "stage_seconds": {"index": 2.0}}
    merge_facts(summary, index, tuning, prompts)
    assert summary == {
        "name": "bench",
        "stage_seconds": {"trainset": 3.0, "index": 2.0},  # a later stage's figure replaces an earlier one
        "index": {"key": "k1", "chunks": 50},
        "tuning": {"split": "dev", "systems": {"ft": {"lr": 0.002}, "rag": {"k": 3}}},
    }
    assert list(summary) == ["name", "stage_seconds", "index", "tuning"]  # the order stages ran in
    index["index"]["chunks"] = 0  # the record holds copies: a stage changing its own dict later
    assert summary["index"]["chunks"] == 50


def test_a_value_that_is_not_a_mapping_replaces() -> None:
    assert merge_facts({"warnings": ["a"], "n": 1}, {"warnings": ["b"], "n": {"x": 1}}) == {
        "warnings": ["b"],
        "n": {"x": 1},
    }
