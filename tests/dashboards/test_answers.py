"""The Questions page's logic: outcomes, filters, answers side by side, highlighting, chunks."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dashboards import answers, data

NAN = math.nan


@pytest.mark.parametrize(
    "row, expected",
    [
        ({"kind": "fact", "correct": 1.0}, answers.CORRECT),
        ({"kind": "fact", "correct": 0.0}, answers.INCORRECT),
        ({"kind": "style", "correct": NAN}, answers.UNSCORED),
        ({"kind": "fact"}, answers.UNSCORED),
        ({"kind": "unanswerable", "correct": NAN, "abstention_correct": 1.0}, answers.CORRECT),
        ({"kind": "unanswerable", "correct": NAN, "abstention_correct": 0.0}, answers.INCORRECT),
    ],
)
def test_outcome(row: dict[str, Any], expected: str) -> None:
    assert answers.outcome(row) == expected


@pytest.fixture
def results(runs_root: Path, names: Any) -> pd.DataFrame:
    return answers.with_outcome(data.load_run(runs_root / names.full).results)


@pytest.mark.parametrize(
    "systems, kinds, splits, wanted, text, qids",
    [
        ([], [], [], "any", "", ["q-memory", "q-license", "q-none", "q-style"]),
        (["base"], [], [], "correct", "", []),  # base is never right, and never abstains
        (["base"], [], [], "incorrect", "", ["q-memory", "q-license", "q-none", "q-style"]),
        (["hybrid"], [], [], "correct", "", ["q-memory", "q-license", "q-none"]),  # abstained: correct
        (["rag"], [], [], "incorrect", "", []),
        (["ft"], ["fact"], [], "incorrect", "", ["q-license"]),
        (["ft", "hybrid"], [], [], "incorrect", "", ["q-license", "q-none", "q-style"]),
        ([], ["unanswerable"], [], "any", "", ["q-none"]),
        ([], [], ["dev"], "any", "", []),
        ([], [], [], "any", "LICENSE", ["q-license"]),
        ([], [], [], "any", "16 gb", ["q-memory"]),  # matches the gold answer too
    ],
)
def test_filter_qids(results: pd.DataFrame, systems, kinds, splits, wanted, text, qids) -> None:
    assert answers.filter_qids(results, systems, kinds, splits, wanted, text) == qids


def test_filter_qids_adds_outcomes_when_missing(results: pd.DataFrame) -> None:
    raw = results.drop(columns="outcome")
    assert answers.filter_qids(raw, ["rag"], [], [], "correct") == [
        "q-memory",
        "q-license",
        "q-none",
        "q-style",
    ]


def test_answers_side_by_side(results: pd.DataFrame) -> None:
    got = answers.answers_for(results, "q-memory", ["hybrid", "base", "raft"])
    assert [a.system for a in got] == ["hybrid", "base"]  # asked order, absent systems skipped
    hybrid, base = got
    assert hybrid.outcome == answers.CORRECT and hybrid.cited_docs == ["products/widgetron"]
    assert hybrid.retrieved[0].startswith("products/widgetron") and base.retrieved == []
    facts = answers.question_facts(results, "q-memory")
    assert facts["golds"] == ["16 GB", "16GB"] and facts["sources"] == ["products/widgetron"]


@pytest.mark.parametrize(
    "value, expected",
    [(None, []), (NAN, []), (np.array(["a", "b"]), ["a", "b"]), (["x"], ["x"]), ((), [])],
)
def test_listed(value: Any, expected: list[str]) -> None:
    assert answers.listed(value) == expected


@pytest.mark.parametrize(
    "text, needles, expected",
    [
        ("It has 16 GB.", ["16 gb"], f"It has {answers.MARK}16 GB</mark>."),
        ("no match", ["zzz"], "no match"),
        ("x", [], "x"),
        (
            "<b>3</b> & 30 s",
            ["3"],
            f"&lt;b&gt;{answers.MARK}3</mark>&lt;/b&gt; &amp; 30 s",
        ),  # escaped, whole numbers
        (
            "Marit Owqvist",
            ["Owqvist", "Marit Owqvist"],
            f"{answers.MARK}Marit Owqvist</mark>",
        ),  # longest wins
        ("a+b=c", ["+b"], f"a{answers.MARK}+b</mark>=c"),  # regex characters are literal
        (
            "every year, Every Year",
            ["every year"],
            f"{answers.MARK}every year</mark>, {answers.MARK}Every Year</mark>",
        ),
    ],
)
def test_highlight(text: str, needles: list[str], expected: str) -> None:
    assert answers.highlight(text, needles) == expected


def test_read_chunks_from_the_saved_index(runs_root: Path, names: Any) -> None:
    summary = data.load_run(runs_root / names.full).summary
    chunks = answers.read_chunks(data.index_folder(runs_root, summary))
    assert len(chunks) == 4 and any("16 GB" in c["text"] for c in chunks.values())
    assert answers.read_chunks(runs_root / "nowhere") == {}


@pytest.mark.parametrize(
    "page, size, expected", [(1, 2, ["a", "b"]), (2, 2, ["c"]), (3, 2, []), (0, 2, ["a", "b"])]
)
def test_page_of(page: int, size: int, expected: list[str]) -> None:
    assert answers.page_of(["a", "b", "c"], page, size) == expected
