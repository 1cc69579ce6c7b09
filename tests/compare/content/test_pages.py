"""The content report: per-page aggregation on a hand-made run with exactly known numbers, each
diagnosis table-driven, and ``ftrag content-report`` on a hand-made run folder."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from compare.content import pages as C
from compare.content import render as R
from corpus.model import Document, QAItem

LONG = " ".join(["The Gamma has a long story and a sturdy frame."] * 7) + " It carries 3 years of cover."
DOCS = {
    "a/alpha": Document("a/alpha", "Alpha", "# Alpha\n\n## Specs\n\nThe Alpha runs for 10 hours."),
    "a/beta": Document("a/beta", "Beta", "Beta notes. The Beta weighs 5 kg."),
    "a/gamma": Document("a/gamma", "Gamma", f"# Gamma\n\n## Warranty\n\n{LONG}"),
    "a/orphan": Document("a/orphan", "Orphan", "# Orphan\n\nNobody asks about this."),
}
# qid, question, gold, sources
QUESTIONS = [
    ("q1", "How long does the Alpha run?", "10 hours", ["a/alpha"]),
    ("q2", "What does the Alpha cost?", "$5", ["a/alpha"]),
    ("q3", "How heavy is the Beta?", "5 kg", ["a/beta"]),
    ("q4", "What colour is the Beta?", "red", ["a/beta"]),
    ("q5", "How long is the Gamma warranty?", "3 years", ["a/gamma"]),
    ("q6", "Gamma warranty length?", "3 years", ["a/gamma", "a/alpha"]),
]
# system -> qid -> (answer text, correct, retrieved chunk ids, cited pages)
ANSWERS: dict[str, dict[str, tuple[str, float, list[str], list[str]]]] = {
    "rag": {
        "q1": ("10 hours [1]", 1.0, ["a/alpha#0"], ["a/alpha"]),
        "q2": ("I don't know", 0.0, ["a/beta#0"], []),
        "q3": ("2 kg", 0.0, ["a/alpha#1"], ["a/alpha"]),
        "q4": ("blue", 0.0, ["a/alpha#0"], []),
        "q5": ("3 years [1]", 1.0, ["a/gamma#0"], ["a/gamma"]),
        "q6": ("3 years [1]", 1.0, ["a/alpha#0"], ["a/alpha"]),
        "q7": ("I don't know", math.nan, ["a/orphan#0"], []),
    },
    "ft": {
        "q1": ("10 hours", 1.0, [], []),
        "q2": ("$7", 0.0, [], []),
        "q3": ("4 kg", 0.0, [], []),
        "q4": ("green", 0.0, [], []),
        "q5": ("3 years", 1.0, [], []),
        "q6": ("2 years", 0.0, [], []),
        "q7": ("Marit", math.nan, [], []),
    },
}


def results() -> pd.DataFrame:
    """results.parquet rows (the columns the content report reads), plus one unanswerable question."""
    qs = [*QUESTIONS, ("q7", "Who founded Orphan?", "", [])]
    rows = []
    for system, answers in ANSWERS.items():
        for qid, question, gold, sources in qs:
            text, ok, retrieved, cited = answers[qid]
            rows.append({
                "qid": qid, "split": "test", "kind": "fact" if sources else "unanswerable",
                "fact_id": qid, "question": question, "gold": gold, "golds": [gold] if gold else [],
                "sources": sources, "system": system, "text": text, "citations": [],
                "cited_docs": cited, "retrieved": retrieved, "correct": ok,
            })  # fmt: skip
    return pd.DataFrame(rows)


CHANGED = {
    "q1": QAItem(
        "q1", "How long does the Alpha run?", "12 hours", sources=("a/alpha",), old_answer="10 hours"
    )
}


@pytest.fixture
def table() -> pd.DataFrame:
    inp = C.RunInputs(results(), DOCS, None, CHANGED, ["a/alpha"], None)
    return C.page_table(inp).set_index("doc_id")


def test_per_page_numbers_are_exact(table: pd.DataFrame) -> None:
    alpha, beta, gamma = table.loc["a/alpha"], table.loc["a/beta"], table.loc["a/gamma"]
    # alpha: q1 (top hit, cited, both right), q2 (beta retrieved), q6 (gold with gamma, top hit, cited)
    assert alpha["questions"] == 3 and alpha["top1"] == pytest.approx(2 / 3)
    assert alpha["cited"] == pytest.approx(2 / 3) and alpha["rag_correct"] == pytest.approx(2 / 3)
    assert alpha["ft_correct"] == pytest.approx(1 / 3) and alpha["ft_missed"] == "q2; q6"
    assert alpha["changed"] and alpha["changed_questions"] == 1 and alpha["ft_old_value"] == 1.0
    assert (alpha["retrieval"], alpha["learning"], alpha["freshness"]) == ("strong", "weak", "weak")
    # beta: alpha's chunks win both its questions and alpha is not a gold source of either
    assert beta["top1"] == 0.0 and beta["instead"] == "a/alpha" and beta["instead_share"] == 1.0
    assert beta["other_gold_top"] == 0.0 and beta["cited"] == 0.0 and beta["ft_correct"] == 0.0
    assert (beta["retrieval"], beta["learning"], beta["freshness"]) == ("weak", "weak", "n/a")
    assert beta["no_heading"] == 1 and beta["answers_missing"] == 1
    # gamma: q6's top hit is alpha, which is also a gold source of q6
    assert gamma["top1"] == 0.5 and gamma["other_gold_top"] == 0.5 and gamma["instead_pages"] == 1
    assert gamma["longest_paragraph"] == len(LONG.split())
    orphan = table.loc["a/orphan"]
    assert orphan["questions"] == 0 and orphan["weak_axes"] == 0 and orphan["retrieval"] == "n/a"


def test_pages_that_need_work_come_first(table: pd.DataFrame) -> None:
    order = list(table.index)
    assert order[:2] == ["a/beta", "a/alpha"]  # two weak axes each, then the lower top-1 share first
    assert table["weak_axes"].tolist() == sorted(table["weak_axes"], reverse=True)
    assert "near-duplicate a/alpha is retrieved instead for 100%" in table.loc["a/beta", "reasons"]
    assert "sit under no heading" in table.loc["a/beta", "reasons"]
    assert "old value for 100%" in table.loc["a/alpha", "reasons"]
    assert table.loc["a/orphan", "reasons"] == ""


def test_retrievability_rare_page_is_weak_even_without_questions() -> None:
    retr = pd.DataFrame([{"doc_id": "a/orphan", "title": "Orphan", "status": "never", "r_cumulative": 0.0,
                          "winner": None, "winner_similarity": None}])  # fmt: skip
    table = C.page_table(C.RunInputs(results(), DOCS, retr)).set_index("doc_id")
    assert table.loc["a/orphan", "retrieval"] == "weak"
    assert "never retrieved (r(d) = 0)" in table.loc["a/orphan", "reasons"]
    assert table.index[0] in ("a/alpha", "a/beta")  # still sorted by weak axes


def test_without_texts_or_update_the_other_axes_still_work() -> None:
    table = C.page_table(C.RunInputs(results())).set_index("doc_id")
    assert set(table.index) == {"a/alpha", "a/beta", "a/gamma"}
    assert table["freshness"].eq("n/a").all() and table["vocab_overlap"].isna().all()
    assert table.loc["a/beta", "retrieval"] == "weak"


@pytest.mark.parametrize(
    ("doc", "tops", "expected"),
    [
        ("a", ["a", "a"], None),
        ("a", ["b", "a", "b", "c"], ("b", 0.5)),
        ("a", [None, "c"], ("c", 0.5)),
        ("a", [], None),
    ],
)
def test_retrieved_instead(doc: str, tops: list[str | None], expected: Any) -> None:
    assert C.retrieved_instead(doc, tops) == expected


@pytest.mark.parametrize(
    ("text", "answers", "expected"),
    [
        ("Runs for 10 Hours.", ["10 hours"], 9),
        ("abc", ["zzz", ""], None),
        ("x 5 kg, or 5kg", ["5kg", "5 kg"], 2),
    ],
)
def test_answer_position(text: str, answers: list[str], expected: int | None) -> None:
    assert C.answer_position(text, answers) == expected


@pytest.mark.parametrize(
    ("text", "needle", "words"),
    [
        ("# T\n\nOne two three.\n\nFour five six seven.", "Four", 4),
        ("# T\n\n- a: one two\n- b: three four five six\n\nEnd.", "three", 6),
        (LONG, "3 years", len(LONG.split())),
    ],
)
def test_paragraph_words(text: str, needle: str, words: int) -> None:
    assert C.paragraph_words(text, text.index(needle)) == words


@pytest.mark.parametrize(
    ("text", "needle", "heading"),
    [
        ("# Alpha\n\n## Specs\n\nRuns 10 hours.", "10 hours", "Specs"),
        ("Plain text, 10 hours.", "10 hours", None),
        ("# Alpha\n\nRuns 10 hours.\n\n## Later", "10 hours", "Alpha"),
    ],
)
def test_heading_above(text: str, needle: str, heading: str | None) -> None:
    assert C.heading_above(text, text.index(needle)) == heading


@pytest.mark.parametrize(
    ("questions", "text", "overlap"),
    [
        (["battery life Alpha"], "The Alpha battery life is long.", 1.0),
        (["How long does the Alpha keep working?"], "The Alpha runs for 10 hours.", 0.25),
        (["what is it?"], "anything", 1.0),  # stop words only: nothing to compare
    ],
)
def test_vocabulary_overlap(questions: list[str], text: str, overlap: float) -> None:
    assert C.vocabulary_overlap(questions, text) == pytest.approx(overlap)


@pytest.mark.parametrize(
    ("answer", "old", "golds", "stale"),
    [
        ("It runs 10 hours", "10 hours", ["12 hours"], True),
        ("It runs 12 hours", "10 hours", ["12 hours"], False),
        ("10 hours or 12 hours", "10 hours", ["12 hours"], False),
        ("10 hours", None, ["12 hours"], False),
    ],
)
def test_gives_old_value(answer: str, old: str | None, golds: list[str], stale: bool) -> None:
    assert C.gives_old_value(answer, old, golds) is stale


@pytest.mark.parametrize(
    ("row", "verdicts"),
    [
        ({"top1": 0.49, "questions": 4, "ft_correct": 0.5, "ft_questions": 4}, ("weak", "strong", "n/a")),
        ({"top1": 0.0, "questions": 1, "ft_correct": 0.0, "ft_questions": 1}, ("n/a", "n/a", "n/a")),
        ({"status": "rare", "ft_old_value": 0.5, "changed_questions": 1}, ("weak", "n/a", "weak")),
        (
            {"top1": 1.0, "questions": 2, "ft_old_value": 0.0, "changed_questions": 2},
            ("strong", "n/a", "strong"),
        ),
    ],
)
def test_verdicts(row: dict[str, Any], verdicts: tuple[str, str, str]) -> None:
    assert (C.retrieval_verdict(row), C.learning_verdict(row), C.freshness_verdict(row)) == verdicts


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"longest_paragraph": 61}, ["buried in a 61-word paragraph"]),
        ({"longest_paragraph": 60, "no_heading": 2}, ["2 answer(s) sit under no heading"]),
        ({"answers_missing": 1, "vocab_overlap": 0.2}, ["not found on the page", "vocabulary mismatch: 20%"]),
        ({"vocab_overlap": 0.34, "no_heading": 0}, []),
    ],
)
def test_text_reasons(row: dict[str, Any], expected: list[str]) -> None:
    got = C.text_reasons(row)
    assert len(got) == len(expected) and all(e in g for e, g in zip(expected, got, strict=True))


def test_markdown_counts_and_orders(table: pd.DataFrame) -> None:
    text = R.render_markdown(table.reset_index(), "tiny", ["about"], ["r(d): missing"])
    assert "| retrieval | 1 | 2 | 1 |" in text and "| learning | 2 | 1 | 1 |" in text
    assert "- r(d): missing" in text and "2 of 4 pages need work." in text
    weak = text.split("## Pages that need work")[1].split("## Other pages")[0]
    assert weak.index("a/beta") < weak.index("a/alpha") and "a/gamma" not in weak  # gamma: 50% is not weak
    assert "a/orphan" in text.split("## Other pages")[1]


# --- the command line ---------------------------------------------------------------------------------


def write_dataset(root: Path) -> Path:
    ds = root / "data"
    for doc in DOCS.values():
        (ds / "docs" / f"{doc.doc_id}.md").parent.mkdir(parents=True, exist_ok=True)
        (ds / "docs" / f"{doc.doc_id}.md").write_text(doc.text, encoding="utf-8")
    rows = [{"id": q, "question": t, "answer": g, "sources": s, "split": "test"} for q, t, g, s in QUESTIONS]
    (ds / "qa.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    upd = ds / "updates" / "v2"
    (upd / "docs" / "a").mkdir(parents=True)
    (upd / "docs" / "a" / "alpha.md").write_text("# Alpha\n\n## Specs\n\nThe Alpha runs for 12 hours.")
    new = {**rows[0], "answer": "12 hours", "old_answer": "10 hours"}
    (upd / "qa.jsonl").write_text(json.dumps(new) + "\n", encoding="utf-8")
    return ds


def write_run(root: Path) -> Path:
    run = root / "runs" / "20260101-000000-tiny"
    run.mkdir(parents=True)
    cfg = {"dataset": {"name": "tiny", "path": str(write_dataset(root)), "qa": None}, "train": {"model": "m"}}
    fresh = {"version": "v2", "changed_pages": ["a/alpha"], "systems": {}}
    summary = {
        "schema_version": 2, "dataset": "tiny", "profile": "quick", "systems": {"rag": {"accuracy": 0.5}},
        "machine": {"device": "cpu", "cpus": 2}, "scenarios": {"freshness": fresh},
    }  # fmt: skip
    (run / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    results().to_parquet(run / "results.parquet", index=False)
    return run


def test_cli_writes_csv_and_markdown_weak_pages_first(tmp_path: Path, run_cli: Any) -> None:
    run = write_run(tmp_path)
    rc, out, err = run_cli("content-report", run)
    assert rc == 0, err
    assert "4 pages, 2 need work: 1 weak on retrieval, 2 weak on learning, 1 weak on freshness" in out
    pages = pd.read_csv(run / "content" / "pages.csv")
    assert pages["doc_id"].tolist()[:2] == ["a/beta", "a/alpha"] and pages["doc_id"].iloc[-1] == "a/orphan"
    assert pages.set_index("doc_id").loc["a/alpha", "ft_old_value"] == 1.0
    report = (run / "content" / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# Content report: 20260101-000000-tiny")
    assert "r(d): the run has no retrievability/pages.csv" in report
    assert "freshness after the update, per page" in report


def test_cli_missing_run_exits_2(tmp_path: Path, run_cli: Any) -> None:
    rc, _, err = run_cli("content-report", tmp_path / "nope")
    assert rc == 2 and "no such run folder" in err and len(err.strip().splitlines()) == 1


def test_cli_partial_run_names_missing_files(tmp_path: Path, run_cli: Any) -> None:
    run = write_run(tmp_path)
    (run / "summary.json").unlink()
    (run / "results.parquet").unlink()
    rc, _, err = run_cli("content-report", run)
    assert rc == 2 and "partial run, missing summary.json, results.parquet" in err
    assert not (run / "content").exists()


def test_cli_moved_dataset_says_to_pass_it(tmp_path: Path, run_cli: Any) -> None:
    run = write_run(tmp_path)
    (tmp_path / "data").rename(tmp_path / "moved")
    rc, _, err = run_cli("content-report", run)
    assert rc == 2 and "pass --dataset PATH" in err
    rc, _, err = run_cli("content-report", run, "--dataset", tmp_path / "moved")
    assert rc == 0, err
