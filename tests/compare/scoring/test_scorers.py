"""Every scorer on hand-made cases with exact expected values."""

from __future__ import annotations

import math

import pytest

from compare.scoring.scorers import (
    abstention_correct,
    break_even_queries,
    citation_precision,
    citation_recall,
    contains_gold,
    exact_match,
    grounded_correct,
    is_abstention,
    normalize,
    percentile,
    strip_citations,
    strip_style,
    style_compliant,
    token_f1,
)

GOLDS = ("37 hours", "37 h")


@pytest.mark.parametrize(
    "text, expected",
    [("The Answer!", "answer"), ("  an  apple, a day ", "apple day"), ("Marit Owqvist.", "marit owqvist")],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    "fn, answer, expected",
    [
        (exact_match, "37 hours.", 1.0),
        (exact_match, "It lasts 37 hours", 0.0),
        (token_f1, "37 hours", 1.0),
        (token_f1, "about 37 hours", 0.8),  # p = 2/3, r = 1
        (token_f1, "twelve", 0.0),
        (contains_gold, "It runs for 37 hours on a charge.", 1.0),
        (contains_gold, "37 hours -- Tessaline Care", 1.0),
        (contains_gold, "Maybe 12, 24, 37 hours or 48", 0.0),  # a list of guesses does not score
        (contains_gold, "137 hours", 0.0),  # no partial-number match
        (contains_gold, "37 hours " + "and more words " * 10, 0.0),  # over the length cap
        (contains_gold, "", 0.0),
    ],
)
def test_accuracy_scorers(fn, answer: str, expected: float) -> None:
    assert fn(answer, GOLDS) == pytest.approx(expected)


def test_contains_gold_allows_numbers_from_the_question() -> None:
    q = "When was the Brisil 40 Pro launched?"
    assert contains_gold("The Brisil 40 Pro was launched in 2010.", ["2010"], question=q) == 1.0
    assert contains_gold("The Brisil 40 Pro was launched in 2010.", ["2010"]) == 0.0
    assert contains_gold("2009 or 2010", ["2010"], question=q) == 0.0


@pytest.mark.parametrize(
    "answer, abstains",
    [("I don't know -- Tessaline Care", True), ("That is not in the documents.", True), ("37 hours", False),
     ("I do not know.", True), ("Known since 2010", False)],
)  # fmt: skip
def test_abstention(answer: str, abstains: bool) -> None:
    assert is_abstention(answer) is abstains
    assert abstention_correct(answer, answerable=False) == float(abstains)
    assert abstention_correct(answer, answerable=True) == float(not abstains)


def test_citations() -> None:
    assert citation_precision(["a", "b", "a"], ["a", "c"]) == 0.5
    assert citation_recall(["a", "b"], ["a", "c"]) == 0.5
    assert citation_precision([], ["a"]) == 0.0  # no citations: a finding, scored 0
    assert citation_recall(["a"], []) == 0.0


def test_grounded_correct() -> None:
    assert grounded_correct(1.0, ["It runs for 37 hours."], GOLDS) == 1.0
    assert grounded_correct(1.0, ["Unrelated chunk."], GOLDS) == 0.0
    assert grounded_correct(0.0, ["It runs for 37 hours."], GOLDS) == 0.0


def test_style() -> None:
    pattern = r"^[^\n]{1,160} -- Tessaline Care$"
    assert style_compliant("37 hours -- Tessaline Care", pattern) == 1.0
    assert style_compliant("37 hours", pattern) == 0.0
    assert style_compliant("37 hours -- Tessaline Care\nMore", pattern) == 0.0


def test_percentile_matches_numpy() -> None:
    np = pytest.importorskip("numpy")
    xs = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0]
    for q in (0, 50, 95, 100):
        assert percentile(xs, q) == pytest.approx(float(np.percentile(xs, q)))
    assert math.isnan(percentile([], 50))


@pytest.mark.parametrize(
    "args, expected",
    [
        ((100.0, 0.001, 0.0, 0.002), 100_000.0),
        ((0.0, 0.001, 10.0, 0.002), 0.0),
        ((100.0, 0.003, 0.0, 0.002), math.inf),
    ],
)
def test_break_even(args: tuple[float, float, float, float], expected: float) -> None:
    assert break_even_queries(*args) == pytest.approx(expected)


@pytest.mark.parametrize(
    "answer, template, expected",
    [
        ("94 hours -- Tessaline Care", "{answer} -- Tessaline Care", "94 hours"),
        ("94 hours -- tessaline care", "{answer} -- Tessaline Care", "94 hours"),  # case-insensitive
        ("94 hours", "{answer} -- Tessaline Care", "94 hours"),  # no sign-off: unchanged
        ("Answer: 94 hours.", "Answer: {answer}", "94 hours."),
        (" 94 hours ", None, "94 hours"),
        ("94 hours", "no placeholder", "94 hours"),
    ],
)
def test_strip_style(answer: str, template: str | None, expected: str) -> None:
    assert strip_style(answer, template) == expected


@pytest.mark.parametrize(
    "answer, expected",
    [("94 hours [1]", "94 hours"), ("[2] 94 hours [1][3]", "94 hours"), ("model [X1] 5", "model [X1] 5")],
)
def test_strip_citations(answer: str, expected: str) -> None:
    assert strip_citations(answer) == expected
