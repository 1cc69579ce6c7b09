"""Unanswerable questions from the pages: the changed name occurs on no page, and the rest stays."""

from __future__ import annotations

import pytest

from corpus.absent import absent_questions, flat, renumbered, respliced

PAGES = ["The Brisil 40 Pro was launched in 2010. The Brisil 41 Pro followed.",
         "SESSION_COOKIE_AGE defaults to 1209600. CACHE_TIMEOUT is 300."]  # fmt: skip


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # 41 is on a page, so the next free number is asked about
        ("In what year was the Brisil 40 Pro launched?", "In what year was the Brisil 39 Pro launched?"),
        ("For Brisil 40 Pro, what is the warranty?", "For Brisil 39 Pro, what is the warranty?"),
        ("What is the default value of SESSION_COOKIE_AGE?", None),  # no number in a name
    ],
)
def test_renumbered(question: str, expected: str | None) -> None:
    got = renumbered(question, flat(" ".join(PAGES)))
    assert (got[0] if got else None) == expected


def test_respliced_takes_a_part_of_another_identifier() -> None:
    import random

    got = respliced("What does SESSION_COOKIE_AGE default to?", flat(" ".join(PAGES)), ["AGE", "TIMEOUT"],
                    random.Random(0))  # fmt: skip
    assert got == (
        "What does SESSION_COOKIE_TIMEOUT default to?",
        "SESSION_COOKIE_AGE -> SESSION_COOKIE_TIMEOUT",
    )


def test_absent_questions_are_capped_seeded_and_never_on_a_page() -> None:
    questions = ["When was the Brisil 40 Pro launched?", "What does SESSION_COOKIE_AGE default to?",
                 "What is a cookie?"]  # fmt: skip
    out = absent_questions(questions, PAGES, limit=5, seed=3)
    assert len(out) == 2 and absent_questions(questions, PAGES, limit=5, seed=3) == out
    assert {a.made_from for a in out} == set(questions[:2])
    for a in out:
        new = a.changed.split(" -> ")[1]
        assert new in a.question and new.lower() not in flat(" ".join(PAGES))
    assert len(absent_questions(questions, PAGES, limit=1)) == 1
