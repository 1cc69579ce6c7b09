"""The QA files people actually write: null answers, kind aliases, a single `source`, file names
as sources, misspelt fields; and the messages: closest matches, repeated errors summarised."""

# ruff: noqa: E501  (the case tables keep one case per line)
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from corpus.errors import DataError, Problem, group_problems, line_ranges
from corpus.formats import load
from corpus.loaders import Loaded, check_sources, load_qa, parse_qa
from corpus.model import Dataset, Document
from corpus.validate import NO_TRAIN, dataset_warnings, format_report

BASE: dict[str, Any] = {"id": "q1", "question": "How much memory?", "answer": "512 MB"}

# (name, fields over BASE (None deletes one), expected fields of the QAItem)
ACCEPTED: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "null answer, unanswerable",
        {"answer": None, "kind": "unanswerable"},
        {"answer": "", "kind": "unanswerable"},
    ),
    ("kind answerable", {"kind": "answerable"}, {"kind": "fact"}),
    ("kind factual, any case", {"kind": "Factual"}, {"kind": "fact"}),
    ("kind no-answer", {"kind": "no_answer", "answer": None}, {"kind": "unanswerable", "answer": ""}),
    ("kind none", {"kind": "none", "answer": ""}, {"kind": "unanswerable"}),
    ("kind null is fact", {"kind": None}, {"kind": "fact"}),
    ("numeric answer", {"answer": 1889}, {"answer": "1889"}),
    ("single source", {"source": "install.md"}, {"sources": ("install.md",)}),
    ("sources a string", {"sources": "install"}, {"sources": ("install",)}),
    ("source and sources", {"sources": ["faq"], "source": "install"}, {"sources": ("faq", "install")}),
    ("null sources and aliases", {"sources": None, "aliases": None}, {"sources": (), "aliases": ()}),
    ("split validation", {"split": "validation"}, {"split": "dev", "metadata": {}}),
    ("split given", {"split": "train"}, {"split": "train", "metadata": {}}),
    ("split missing", {}, {"split": "test", "metadata": {"split_given": False}}),
    ("unknown field kept", {"anwser": "x", "split": "dev"}, {"metadata": {"anwser": "x"}}),
]

REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("null answer, answerable", {"answer": None},
     'field `answer` is missing or empty; every answerable question needs a gold answer '
     '(mark one that has none with "kind": "unanswerable")'),
    ("unknown kind", {"kind": "trivia"}, "field `kind` is 'trivia'; use one of fact, unanswerable, style, probe"),
    ("bad split", {"split": "holdout"}, "field `split` is 'holdout'; use one of train, dev, test"),
    ("source a number", {"source": 3}, "field `source` must be a string (or use `sources`, a list of strings)"),
    ("sources of numbers", {"sources": [1]}, "field `sources` must be a list of strings"),
    ("escaping single source", {"source": "../x"},
     "source '../x' tries to escape the corpus folder; use a relative id without '..' (field `sources`)"),
]  # fmt: skip


def _rec(fields: dict[str, Any]) -> dict[str, Any]:
    rec = {**BASE, **fields}
    return {k: v for k, v in rec.items() if v is not None or k in ("answer", "kind", "sources", "aliases")}


@pytest.mark.parametrize("name, fields, expected", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_accepted_records(name: str, fields: dict[str, Any], expected: dict[str, Any]) -> None:
    item = parse_qa(_rec(fields), Path("qa.jsonl"), 3)
    assert not isinstance(item, Problem), item
    assert {k: getattr(item, k) for k in expected} == expected


@pytest.mark.parametrize("name, fields, message", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_records(name: str, fields: dict[str, Any], message: str) -> None:
    assert parse_qa(_rec(fields), Path("qa.jsonl"), 3) == Problem("qa.jsonl", message, 3)


@pytest.mark.parametrize(
    "field, warning",
    [
        ("anwser", "unknown field 'anwser' (did you mean 'answer'?); kept in metadata"),
        ("Question", "unknown field 'Question' (did you mean 'question'?); kept in metadata"),
        ("query", "unknown field 'query' (did you mean 'question'?); kept in metadata"),
        ("doc_id", "unknown field 'doc_id' (did you mean 'sources'?); kept in metadata"),
        ("zzz", "unknown field 'zzz'; kept in metadata"),
    ],
)
def test_unknown_field_warning_names_the_closest_field(field: str, warning: str) -> None:
    warnings: list[Problem] = []
    parse_qa({**BASE, field: "x"}, Path("qa.jsonl"), 3, warnings)
    assert [str(w) for w in warnings] == [f"qa.jsonl:3: {warning}"]


def _qa_file(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_one_warning_per_unknown_field_per_file(tmp_path: Path) -> None:
    qa = _qa_file(tmp_path / "qa.jsonl", [{**BASE, "id": f"q{i}", "anwser": "x"} for i in range(5)])
    out = Loaded(Dataset("d", {}))
    assert len(load_qa(qa, out)) == 5
    assert [str(w) for w in out.warnings] == [
        f"{qa}:1-5: unknown field 'anwser' (did you mean 'answer'?); kept in metadata (5 lines)"
    ]


DOCS = {d: Document(d, d, "text") for d in ("install", "installation", "guide/config", "faq")}


@pytest.mark.parametrize(
    "source, resolved, problem",
    [
        ("install", "install", None),
        ("install.md", "install", None),
        ("docs/install.md", "install", None),
        ("./docs/guide/config.rst", "guide/config", None),
        ("faq.html#license", "faq", None),
        ("install.txt", "install", None),
        ("instal", None, "question 'q1' names source 'instal', which is not a document (closest: install, installation)"),
        ("config", None, "question 'q1' names source 'config', which is not a document (closest: guide/config)"),
        ("zzz", None, "question 'q1' names source 'zzz', which is not a document"),
    ],
)  # fmt: skip
def test_sources_resolve_to_doc_ids(source: str, resolved: str | None, problem: str | None) -> None:
    item = parse_qa({**BASE, "sources": [source]}, Path("qa.jsonl"), 2)
    assert not isinstance(item, Problem)
    items, out = [(2, item)], Loaded(Dataset("d", {}))
    check_sources(items, DOCS, Path("qa.jsonl"), out)
    assert [str(p) for p in out.problems] == ([f"qa.jsonl:2: {problem}"] if problem else [])
    assert items[0][1].sources == ((resolved,) if resolved else (source,))


@pytest.mark.parametrize(
    "lines, ranges",
    [([3], "3"), ([1, 2, 3], "1-3"), ([1, 4, 9, 10, 11, 12], "1, 4, 9-12"), ([12, 1, 1], "1, 12"),
     (list(range(1, 40, 2)), "1, 3, 5, 7, 9, 11, ...")],
)  # fmt: skip
def test_line_ranges(lines: list[int], ranges: str) -> None:
    assert line_ranges(lines) == ranges


def test_repeated_problems_are_grouped_by_file_and_message() -> None:
    msg = "field `answer` is missing or empty"
    raw = [Problem("qa.jsonl", msg, n) for n in range(1, 51)] + [
        Problem("qa.jsonl", "other", 7),
        Problem("b.jsonl", msg, 3),
        Problem("qa.jsonl", msg, 60),
    ]
    grouped = group_problems(raw)
    assert [str(p) for p in grouped] == [
        f"qa.jsonl, lines 1-50, 60: {msg} (51 lines)",
        "qa.jsonl:7: other",
        f"b.jsonl:3: {msg}",
    ]
    assert group_problems(grouped) == grouped  # idempotent
    err = DataError([Problem("qa.jsonl", msg, n) for n in range(1, 51)])
    assert str(err) == f"qa.jsonl:1-50: {msg} (50 lines)"


def test_validate_prints_warnings_and_grouped_problems(mini_dir: Path, run_cli) -> None:
    with (mini_dir / "qa.jsonl").open("a") as fh:
        for n in range(3):
            fh.write(
                json.dumps({"id": f"x{n}", "question": "Q?", "anwser": "A", "sources": ["install"]}) + "\n"
            )
    rc, out, _ = run_cli("data", "validate", mini_dir)
    qa = mini_dir / "qa.jsonl"
    assert rc == 2
    assert f"  {qa}:7-9: unknown field 'anwser' (did you mean 'answer'?); kept in metadata (3 lines)" in out
    assert "problems 1:" in out
    assert f"  {qa}:7-9: field `answer` is missing or empty;" in out


def test_empty_train_split_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\nText.")
    loaded = load(tmp_path / "docs")
    assert not loaded.problems
    assert dataset_warnings(loaded.dataset) == [Problem("docs", NO_TRAIN)]
    assert f"  docs: {NO_TRAIN}" in format_report(loaded, None, dataset_warnings(loaded.dataset))


def test_docs_without_text_are_a_problem(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.html").write_text("<html><body><nav>Home</nav></body></html>")
    (root / "b.md").write_text("")
    loaded = load(root)
    assert [str(p) for p in loaded.problems] == [
        f"{root}: no text in any of the 2 documents; nothing to retrieve or train on"
    ]
    assert dataset_warnings(loaded.dataset) == []  # no pages to generate from: no "will generate" promise
