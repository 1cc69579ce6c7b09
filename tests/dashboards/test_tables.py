"""Tables from summary.json: best-per-column, formatting, scenarios, run differences."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from compare.scoring.metrics import MAX, MIN
from dashboards import tables
from dashboards.tables import MISSING

NAN = math.nan


@pytest.mark.parametrize(
    "values, better, best",
    [
        ({"a": 0.5, "b": 0.7, "c": 0.1}, MAX, ["b"]),
        ({"a": 0.5, "b": 0.7, "c": 0.1}, MIN, ["c"]),
        ({"a": 0.7, "b": 0.7, "c": 0.1}, MAX, ["a", "b"]),  # ties: all of them
        ({"a": 0.3, "b": 0.3, "c": 0.3}, MAX, []),  # all equal: nothing stands out
        ({"a": NAN, "b": 0.2, "c": 0.4}, MIN, ["b"]),  # missing values never win
        ({"a": NAN, "b": NAN, "c": NAN}, MAX, []),
        ({"a": 0.0, "b": 1200.0, "c": 800.0}, MIN, ["a"]),
    ],
)
def test_best_per_column(values: dict[str, float], better: str, best: list[str]) -> None:
    df = pd.DataFrame({"m": values})
    assert tables.best_per_column(df, {"m": better, "absent": MAX}) == {"m": best}


@pytest.mark.parametrize(
    "value, kind, text",
    [
        (0.6667, "rate", "0.667"),
        (NAN, "rate", MISSING),
        (None, "ms", MISSING),
        ("x", "rate", MISSING),
        (2096.4, "ms", "2,096"),
        (0.0, "usd", "$0"),
        (4.2e-07, "usd", "< $0.0001"),
        (0.02682, "usd", "$0.0268"),
        (1234.5, "usd", "$1,234.5000"),
        (16.36, "seconds", "16.4"),
        (0.0048, "seconds", "0.0048"),
        (4.154, "seconds", "4.15"),
        (0.0, "seconds", "0.0"),
        (0.02, "seconds", "0.02"),
    ],
)
def test_fmt_value(value: Any, kind: str, text: str) -> None:
    assert tables.fmt_value(value, kind) == text


@pytest.mark.parametrize(
    "value, kind, text",
    [
        (0.12, "rate", "+0.120"),
        (-35.0, "ms", "-35"),
        (0.0, "rate", "±0.000"),
        (NAN, "ms", MISSING),
        (0.0012, "usd", "+$0.0012"),
    ],
)
def test_fmt_delta(value: float, kind: str, text: str) -> None:
    assert tables.fmt_delta(value, kind) == text


def summary(**systems: dict[str, Any]) -> dict[str, Any]:
    return {"systems": systems}


def test_systems_table_has_units_and_nan_for_missing() -> None:
    df = tables.systems_table(summary(rag={"accuracy": 0.7, "latency_p50_ms": 900}, base={"accuracy": True}))
    assert list(df.index) == ["rag", "base"]
    assert "p50 latency (ms)" in df and "cost per 1k queries ($)" in df
    assert df.loc["rag", "accuracy"] == 0.7 and math.isnan(df.loc["rag", "p95 latency (ms)"])
    assert math.isnan(df.loc["base", "accuracy"])  # a bool is not a measurement


def test_styled_systems_highlights_the_best_cell() -> None:
    df = tables.systems_table(
        summary(a={"accuracy": 0.9, "latency_p50_ms": 900}, b={"accuracy": 0.5, "latency_p50_ms": 100})
    )
    html = tables.styled_systems(df).to_html()
    style = html.split("</style>")[0]
    # a's accuracy (row 0, column 0) and b's p50 latency (row 1, column 3) are the best cells
    assert set(re.findall(r"row(\d+)_col(\d+)", style)) == {("0", "0"), ("1", "3")}
    assert "0.900" in html and ">100<" in html and f">{MISSING}<" in html


def test_kinds_frame_labels_abstention() -> None:
    df = tables.kinds_frame(summary(rag={"by_kind": {"fact": 0.8, "unanswerable": 0.4}}))
    assert df.to_dict("records") == [
        {"system": "rag", "kind": "fact", "value": 0.8, "measure": "accuracy"},
        {"system": "rag", "kind": "unanswerable", "value": 0.4, "measure": "abstention accuracy"},
    ]


def test_selective_frame_is_one_row_per_curve_point() -> None:
    data = summary(rag={}) | {
        "abstention": {"rag": {"threshold": 0.41, "curve": [[None, 1.0, 0.4], [0.41, 0.5, 0.8]]}}
    }
    rows = tables.selective_frame(data).to_dict("records")
    assert [(r["system"], r["coverage"], r["accuracy"]) for r in rows] == [
        ("rag", 1.0, 0.4),
        ("rag", 0.5, 0.8),
    ]
    assert math.isnan(rows[0]["threshold"]) and rows[1]["threshold"] == 0.41
    assert tables.selective_frame(summary(rag={})).empty  # a run before abstention was measured


@pytest.mark.parametrize(
    "systems, words",
    [
        ({"rag": 0.7, "ft": 0.5, "hybrid": 0.8}, ["0.100 above", "(rag, 0.700)"]),
        ({"rag": 0.7, "ft": 0.5, "hybrid": 0.6}, ["0.100 below", "(rag, 0.700)"]),
        ({"rag": 0.4, "ft": 0.6, "hybrid": 0.6}, ["level with", "(ft, 0.600)"]),
        ({"hybrid": 0.6}, ["no RAG or FT track"]),
        (
            {"rag": 0.7, "ft": 0.5, "hybrid": 0.6, "routed": 0.72},
            ["hybrid reached 0.600", "routed reached 0.720", "0.020 above"],
        ),
        ({"rag": 0.7, "ft": 0.5, "routed": 0.7}, ["routed reached 0.700", "level with"]),
        ({"rag": 0.6, "ft": 0.2}, ["no hybrid system", "--systems"]),
    ],
)
def test_hybrid_verdict(systems: dict[str, float], words: list[str]) -> None:
    text = tables.hybrid_verdict(summary(**{k: {"accuracy": v} for k, v in systems.items()}))
    assert all(w in text for w in words), text


def test_scenario_frames(runs_root: Any, names: Any) -> None:
    from dashboards import data

    sc = data.load_run(runs_root / names.full).summary["scenarios"]
    fresh = tables.freshness_frame(sc["freshness"])
    assert (
        len(fresh) == 5 and fresh.set_index("system (update)").loc["ft (re-train)", "update time (s)"] == 40
    )
    assert math.isnan(fresh.set_index("system (update)").loc["base", "unchanged facts: accuracy after"])
    long = tables.freshness_long(sc["freshness"])
    assert len(long) == 10 and set(long["phase"]) == {"before the update", "after the update"}
    forget = tables.forgetting_frame(sc["forgetting"]).set_index("adapter")
    assert forget.loc["ft", "probes lost"] == 4 and forget.loc["ft", "lost by family"] == "capitals 4"
    style = tables.style_frame(sc["style"]).set_index("system")
    assert style.loc["hybrid", "style from"] == "learned + prompt" and math.isnan(
        style.loc["base", "compliance on correct answers"]
    )
    assert tables.freshness_frame({}).empty and tables.forgetting_frame({}).empty


def test_config_diff_lists_only_differences() -> None:
    a = {"bench": {"context_k": 1, "seed": 0}, "train": {"epochs": 3}}
    b = {"bench": {"context_k": 3, "seed": 0}, "retrieval": {"k": 5}}
    assert tables.config_diff(a, b).to_dict("records") == [
        {"setting": "bench.context_k", "run A": "1", "run B": "3"},
        {"setting": "retrieval.k", "run A": MISSING, "run B": "5"},
        {"setting": "train.epochs", "run A": "3", "run B": MISSING},
    ]
    assert tables.config_diff(a, a).empty


def test_systems_diff_knows_which_way_is_better() -> None:
    a = summary(rag={"accuracy": 0.5, "latency_p50_ms": 1000}, ft={"accuracy": 0.4})
    b = summary(rag={"accuracy": 0.6, "latency_p50_ms": 1200}, base={"accuracy": 0.0})
    df = tables.systems_diff(a, b).set_index("measure")
    assert set(df["system"]) == {"rag"}
    assert df.loc["accuracy", "better"] == "B" and df.loc["accuracy", "B - A"] == pytest.approx(0.1)
    assert df.loc["p50 latency (ms)", "better"] == "A"  # slower is worse
    assert df.loc["p95 latency (ms)", "better"] == ""  # not measured in either
    assert tables.only_in(a, b) == (["ft"], ["base"])


def test_meta_frame() -> None:
    run = {
        "summary": {"dataset": "d", "wall_seconds": 120, "systems": {"rag": {"questions": 9}}},
        "config": {"train": {"model": "m"}},
    }
    meta = tables.meta_frame({"A": run, "B": {}})
    assert meta["A"][["model", "questions per system", "wall time (min)"]].tolist() == ["m", "9", "2.0"]
    assert set(meta["B"]) == {MISSING}


def test_ranking_frame() -> None:
    ranked = [
        SimpleNamespace(system="rag", points=1.21, failed=[], monthly_usd=0.3),
        SimpleNamespace(system="ft", points=0.5, failed=["no citations"], monthly_usd=0.1),
    ]
    df = tables.ranking_frame(ranked)
    assert list(df["rank"]) == [1, 2] and list(df["meets every must"]) == [True, False]
    assert list(df["misses"]) == [MISSING, "no citations"]


def test_projection_frame_says_projected() -> None:
    row = {
        "system": "rag",
        "params": "7B",
        "gpu": "H100",
        "gpus": 1,
        "latency_ms": 40.0,
        "usd_per_1k_queries": 0.01,
        "projected": True,
    }
    proj = tables.projection_frame([row])
    assert list(proj.columns) == [
        "reader size",
        "GPU",
        "GPUs",
        "projected latency (ms)",
        "projected $ per 1k queries",
    ]


def test_serving_frame_has_one_row_per_system_and_precision() -> None:
    from dashboards.tables import serving_frame

    row = {"accuracy": 0.45, "ci95": [0.36, 0.54], "difference": 0.0, "p_value": 1.0}
    sv = {
        "main": "F32",
        "systems": {"ft": {"F32": row, "Q4_0": {**row, "accuracy": 0.405, "difference": -0.045}}},
    }
    df = serving_frame(sv)
    assert df[["weights", "accuracy", "difference"]].values.tolist() == [
        ["F32", 0.45, 0.0],
        ["Q4_0", 0.405, -0.045],
    ]
    assert serving_frame({"skipped": "x"}).empty
