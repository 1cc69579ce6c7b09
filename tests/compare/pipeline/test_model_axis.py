"""The model axis: per-model leaders, flips between sizes, the report section and the
recommender's note, on hand-made summaries; and a two-model bench on the fixture."""

from __future__ import annotations

from typing import Any

import pytest

from compare.pipeline.model_axis import axis_lines, leaders, model_axis, parse_size, size_note


def summary(name: str, size: str, params: int, acc: dict[str, float], ties: tuple = ()) -> dict[str, Any]:
    pairs = [
        {"a": a, "b": b, "tie": (a, b) in ties or (b, a) in ties}
        for i, a in enumerate(acc)
        for b in list(acc)[i + 1 :]
    ]
    return {
        "model": {"name": name, "size": size, "params": params},
        "systems": {n: {"accuracy": v, "accuracy_ci95": [v - 0.1, v + 0.1]} for n, v in acc.items()},
        "comparisons": pairs,
        "tuning": {"systems": {"rag": {"chosen": {"k": 1}}}},
    }


SMALL = summary("small", "135M", 135_000_000, {"rag": 0.40, "ft": 0.81, "hybrid": 0.60})
LARGE = summary("large", "270M", 268_000_000, {"rag": 0.83, "ft": 0.60, "hybrid": 0.70})


def test_leaders_are_the_best_and_its_direct_ties() -> None:
    assert leaders(SMALL) == ["ft"]
    tied = summary(
        "m", "1B", 1, {"rag": 0.5, "ft": 0.48, "hybrid": 0.2}, ties=(("rag", "ft"), ("ft", "hybrid"))
    )
    assert leaders(tied) == ["rag", "ft"]  # hybrid ties ft but not the leader: not a leader
    assert leaders({}) == []


@pytest.mark.parametrize(
    ("summaries", "starts"),
    [
        (
            {"large": LARGE, "small": SMALL},
            "yes: ft leads at 135M, rag at 270M: the verdict flips between 135M and 270M",
        ),
        (
            {"small": SMALL, "small2": summary("small2", "360M", 360_000_000, {"rag": 0.5, "ft": 0.9})},
            "no: ft lead(s) at every",
        ),
        ({"small": SMALL}, "one model measured"),
        # a tie that still holds the earlier leader is not a flip
        (
            {"small": SMALL, "b": summary("b", "1B", 10**9, {"rag": 0.8, "ft": 0.78}, ties=(("rag", "ft"),))},
            "partly: ft leads or ties for the lead at every measured size, rag only at some "
            "(135M: ft; 1B: rag = ft)",
        ),
    ],
)
def test_verdict_names_the_sizes_it_flips_between(summaries: dict, starts: str) -> None:
    axis = model_axis(summaries)
    assert axis["verdict"].startswith(starts)
    assert [r["params"] for r in axis["rows"]] == sorted(r["params"] for r in axis["rows"])  # smallest first


def test_axis_section_has_a_row_per_model_and_the_verdict() -> None:
    lines = axis_lines(model_axis({"small": SMALL, "large": LARGE}))
    text = "\n".join(lines)
    assert lines[0] == "## Does the verdict depend on model size?"
    assert "| small | 135M | 0.400 [0.30, 0.50] | 0.810 [0.71, 0.91] | 0.600 [0.50, 0.70] | ft |" in text
    assert "**yes: ft leads at 135M, rag at 270M" in text
    assert axis_lines({}) == []


def test_size_note_and_size_parsing() -> None:
    assert parse_size("135M") == 1.35e8 and parse_size("7B") == 7e9 and parse_size("?") != parse_size("?")
    assert size_note([("a", "135M", "ft")]) == ""
    assert size_note([("a", "135M", "ft"), ("b", "270M", "ft")]).startswith("model size: the same system")
    note = size_note([("a", "135M", "ft"), ("b", "270M", "rag")])
    assert note.startswith("model size: the recommendation flips between 135M and 270M (measured at both)")


def test_verdict_basis_names_model_size_and_knobs() -> None:
    from compare.pipeline.model_axis import verdict_basis

    s = summary("smollm2-135m", "135M", 1, {"rag": 0.5})
    assert verdict_basis(s) == "verdict reached with smollm2-135m (135M); knobs chosen on dev: rag k=1"
    assert verdict_basis({}).endswith("knobs as configured (no dev tuning)")
