"""Bootstrap intervals, the exact McNemar test, pairwise comparisons and tie groups."""

from __future__ import annotations

import math

import pytest

from compare.scoring.stats import bootstrap_ci, comparisons, mcnemar_exact, paired_difference, tie_groups


def test_bootstrap_ci_brackets_the_mean_and_narrows_with_more_questions() -> None:
    small = [1.0] * 6 + [0.0] * 4
    lo, hi = bootstrap_ci(small, seed=1)
    assert lo < 0.6 < hi and lo >= 0 and hi <= 1
    big_lo, big_hi = bootstrap_ci(small * 20, seed=1)
    assert big_hi - big_lo < hi - lo
    assert bootstrap_ci([1.0] * 5) == (1.0, 1.0)
    assert bootstrap_ci(small, seed=3) == bootstrap_ci(small, seed=3)  # seeded
    assert all(math.isnan(x) for x in bootstrap_ci([]))


@pytest.mark.parametrize(
    ("only_a", "only_b", "p"),
    [
        (0, 0, 1.0),
        (5, 5, 1.0),
        (10, 0, 2 / 2**10),  # every discordant pair favours a
        (6, 1, 2 * (1 + 7) / 2**7),
        (3, 1, 1.0 * 2 * (1 + 4) / 16),
    ],
)
def test_mcnemar_exact_known_values(only_a: int, only_b: int, p: float) -> None:
    assert mcnemar_exact(only_a, only_b) == pytest.approx(min(1.0, p))
    assert mcnemar_exact(only_b, only_a) == pytest.approx(min(1.0, p))  # symmetric


def test_paired_difference_and_ties() -> None:
    a = {f"q{i}": 1.0 for i in range(20)}
    b = {f"q{i}": float(i < 8) for i in range(20)}  # a right on 12 questions b gets wrong
    d = paired_difference(a, b)
    assert d["n"] == 20 and d["difference"] == pytest.approx(0.6) and d["p_value"] < 0.001 and not d["tie"]
    c = {**a, "q0": 0.0}  # one question apart
    assert paired_difference(a, c)["tie"] and paired_difference(a, c)["p_value"] == 1.0
    assert paired_difference(a, {"z": 1.0})["n"] == 0
    pairs = comparisons({"a": a, "b": b, "c": c})
    assert [(p["a"], p["b"], p["tie"]) for p in pairs] == [
        ("a", "b", False),
        ("a", "c", True),
        ("b", "c", False),
    ]
    groups = tie_groups(["a", "b", "c"], pairs)
    assert groups["a"] == {"a", "c"} == groups["c"] and groups["b"] == {"b"}


def test_expectations_resting_on_a_tie_say_so() -> None:
    from compare.pipeline.report import mark_ties

    checks = [
        {
            "expectation": "FT above base, below RAG",
            "holds": True,
            "measured": "base 0.000 < ft 0.523 < rag 0.550",
        },
        {"expectation": "base about 0", "holds": True, "measured": "base 0.000"},
    ]
    pairs = [{"a": "rag", "b": "ft", "tie": True, "p_value": 0.78}, {"a": "base", "b": "ft", "tie": False}]
    out = mark_ties(checks, pairs)
    assert out[0]["measured"].endswith("(a tie: rag vs ft p = 0.78)") or out[0]["measured"].endswith(
        "(a tie: ft vs rag p = 0.78)"
    )
    assert out[0]["tie"] and "tie" not in out[1]
