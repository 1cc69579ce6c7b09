"""The content report of a run without the fine-tune (``--systems base,rag``) and of questions
without fact ids (a user's own qa.jsonl): learning is n/a, and a missed question is named by its id."""

from __future__ import annotations

import pandas as pd

from compare.content import pages as C


def rows(systems: tuple[str, ...], correct: float = 1.0) -> pd.DataFrame:
    """Two answerable questions on one page, no fact ids, answered by each of ``systems``."""
    out = []
    for system in systems:
        for qid in ("q1", "q2"):
            out.append({
                "qid": qid, "split": "test", "kind": "fact", "fact_id": None, "question": f"{qid}?",
                "gold": "x", "golds": ["x"], "sources": ["docs/a"], "system": system, "text": "x",
                "citations": ["docs/a#0"] if system == "rag" else [],
                "cited_docs": ["docs/a"] if system == "rag" else [],
                "retrieved": ["docs/a#0"] if system == "rag" else [],
                "correct": correct if qid == "q1" else 0.0,
            })  # fmt: skip
    return pd.DataFrame(out)


def test_a_run_without_ft_has_learning_na_instead_of_failing() -> None:
    """``groupby.apply`` on no ft rows returns a frame, which used to fail the table's build with
    "Buffer has wrong number of dimensions (expected 1, got 2)"."""
    table = C.page_table(C.RunInputs(rows(("base", "rag"))))
    row = table.set_index("doc_id").loc["docs/a"]
    assert row["learning"] == C.NA and pd.isna(row["ft_correct"]) and row["retrieval"] == C.STRONG
    empty = C.learning_stats(C.own_questions(rows(("base",))))
    assert empty.empty and list(empty) == ["ft_questions", "ft_correct", "ft_missed"]


def test_questions_without_fact_ids_are_named_by_their_id() -> None:
    stats = C.learning_stats(C.own_questions(rows(("rag", "ft"))))
    assert stats.loc["docs/a", "ft_missed"] == "q2" and stats.loc["docs/a", "ft_correct"] == 0.5
