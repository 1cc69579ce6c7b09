"""The serving-precision scenario: its scores on hand-made rows, when it skips, its report rows."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from compare.config import BenchConfig
from compare.scenarios.report import serving_lines
from compare.scenarios.serving import precision_scores, serving


def _rows(correct: list[int], unanswerable: int = 1) -> list[dict]:
    rows = [{"qid": f"q{i}", "kind": "lookup", "correct": c} for i, c in enumerate(correct)]
    return rows + [{"qid": f"u{i}", "kind": "unanswerable", "correct": 0} for i in range(unanswerable)]


def test_precision_scores_are_paired_against_the_main_precision() -> None:
    main = {f"q{i}": float(c) for i, c in enumerate([1, 1, 1, 1, 0, 0])}
    out = precision_scores(_rows([1, 0, 0, 0, 0, 1]), main, seed=0)
    assert out["questions"] == 6  # the unanswerable question is not in the accuracy
    assert out["accuracy"] == pytest.approx(2 / 6)
    assert out["difference"] == pytest.approx(2 / 6 - 4 / 6)
    assert out["p_value"] == pytest.approx(0.625)  # 3 discordant one way, 1 the other: exact McNemar
    assert out["ci95"][0] <= out["accuracy"] <= out["ci95"][1]


def test_the_main_precision_ties_with_itself() -> None:
    main = {f"q{i}": float(c) for i, c in enumerate([1, 0, 1])}
    out = precision_scores(_rows([1, 0, 1]), main, seed=0)
    assert out["difference"] == 0 and out["p_value"] == 1.0


def test_serving_is_skipped_with_the_reason_off_llamacpp() -> None:
    ctx = SimpleNamespace(res=SimpleNamespace(engine_name="hf"), configs={"bench": BenchConfig()})
    assert "needs --engine llamacpp" in serving(ctx)["skipped"]


def test_an_unknown_serving_precision_names_the_field() -> None:
    with pytest.raises(ValueError, match="`serving_precisions` has unknown \\['q3'\\]"):
        BenchConfig(serving_precisions="q8_0,q3")


def test_serving_lines_show_each_precision() -> None:
    row = {"accuracy": 0.5, "ci95": [0.4, 0.6], "difference": -0.1, "p_value": 0.02, "questions": 10}
    sv = {"main": "F32", "systems": {"ft": {"F32": {**row, "difference": 0.0, "p_value": 1.0}, "Q4_0": row}}}
    text = "\n".join(serving_lines(sv))
    assert "| ft | F32 | 0.500 | [0.400, 0.600] | +0.000 | 1.000 |" in text
    assert "| ft | Q4_0 | 0.500 | [0.400, 0.600] | -0.100 | 0.020 |" in text
    assert "Skipped: x." in "\n".join(serving_lines({"skipped": "x"}))
