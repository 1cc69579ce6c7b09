"""Chart specs: every chart has a title, axis titles with units, and short vertical titles (a long
one pushes the chart title out of view in Streamlit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import altair as alt
import pandas as pd
import pytest

from dashboards import charts

POINTS = pd.DataFrame(
    {
        "system": ["base", "rag", "ft"],
        "accuracy": [0.0, 0.7, float("nan")],
        "latency_p50_ms": [1200.0, 2100.0, 800.0],
        "usd_per_1k_queries": [0.008, 0.027, 0.005],
        "upfront_usd": [0.0, 1e-6, 0.0009],
    }
)
LONG = pd.DataFrame({"kind": ["fact", "fact"], "system": ["rag", "ft"], "value": [0.7, float("nan")]})
BUILDERS: list[tuple[str, Callable[[], Any]]] = [
    (
        "scatter",
        lambda: charts.accuracy_scatter(POINTS, "latency_p50_ms", "latency p50 (ms)", "Accuracy vs latency"),
    ),
    (
        "bubble",
        lambda: charts.accuracy_scatter(
            POINTS,
            "usd_per_1k_queries",
            "USD per 1k",
            "Accuracy vs cost",
            size="upfront_usd",
            size_title="up-front USD",
        ),
    ),
    ("grouped", lambda: charts.grouped_bars(LONG, "kind", "system", "value", "Per kind", "share correct")),
    ("bars", lambda: charts.bars(LONG, "system", "value", "Per system", "share correct", color="kind")),
    ("lorenz", lambda: charts.lorenz_chart([0, 1, 3], 0.4, 10)),
    (
        "selective",
        lambda: charts.selective_chart(
            pd.DataFrame(
                {
                    "system": ["rag"] * 2,
                    "coverage": [1.0, 0.5],
                    "accuracy": [0.4, 0.8],
                    "threshold": [float("nan"), 0.41],
                }
            )
        ),
    ),
]


def layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec.get("layer", [spec])


@pytest.mark.parametrize("name, build", BUILDERS)
def test_chart_has_title_and_axis_titles(name: str, build: Callable[[], Any]) -> None:
    spec = build().to_dict()
    assert spec["title"]["text"]
    for layer in layers(spec):
        enc = layer.get("encoding", {})
        for axis in ("x", "y"):
            if axis in enc:
                assert enc[axis].get("title"), f"{name}: {axis} axis has no title"
                if axis == "y":
                    assert len(enc[axis]["title"]) <= 40, f"{name}: y title too long for the plot height"


def test_scatter_drops_systems_without_a_number() -> None:
    chart = charts.accuracy_scatter(POINTS, "latency_p50_ms", "ms", "t")
    assert sorted(chart.data["system"]) == ["base", "rag"]  # ft has no accuracy


def test_bubble_size_is_the_upfront_cost() -> None:
    spec = BUILDERS[1][1]().to_dict()
    assert spec["layer"][0]["encoding"]["size"]["field"] == "upfront_usd"


def test_grouped_bars_keep_the_given_group_order() -> None:
    chart = charts.grouped_bars(LONG, "kind", "system", "value", "t", "y", order=["rag", "ft"])
    assert chart.to_dict()["encoding"]["xOffset"]["sort"] == ["rag", "ft"]


def test_bars_write_the_value_on_each_bar() -> None:
    spec = charts.bars(LONG, "system", "value", "t", "y", fmt=".2f").to_dict()
    assert (
        spec["layer"][1]["mark"]["type"] == "text" and spec["layer"][1]["encoding"]["text"]["format"] == ".2f"
    )


@pytest.mark.parametrize(
    "values, y",
    [([1, 1, 1, 1], [0, 0.25, 0.5, 0.75, 1]), ([0, 0, 0, 4], [0, 0, 0, 0, 1]), ([0, 0], [0, 0.5, 1])],
)
def test_lorenz_points(values: list[float], y: list[float]) -> None:
    df = charts.lorenz_points(values)
    assert list(df["share of retrievability"]) == pytest.approx(y)
    assert df["share of pages"].iloc[0] == 0 and df["share of pages"].iloc[-1] == 1


def test_charts_are_altair() -> None:
    assert all(isinstance(build(), alt.TopLevelMixin) for _, build in BUILDERS)


def bubble_areas(chart: Any) -> dict[str, float]:
    """Each system's bubble area (px²) as Vega-Lite draws it from the spec's linear size scale."""
    spec = chart.to_dict()
    enc = spec["layer"][0]["encoding"]["size"]
    scale = enc["scale"]
    assert scale["type"] == "linear" and scale["domain"][0] == 0
    hi, (a, b) = scale["domain"][1], scale["range"]
    return {r["system"]: a + (b - a) * min(r[enc["field"]] / hi, 1.0) for r in chart.data.to_dict("records")}


def test_a_zero_upfront_cost_is_the_smallest_bubble_and_near_zero_stays_small() -> None:
    """A base,rag run on CPU: base $0 up front, rag's index build $0.00000056. The scale used to
    span the data, [0, 5.6e-7], so rag, at its top, got the largest bubble."""
    points = pd.DataFrame({"system": ["base", "rag"], "accuracy": [0.0, 0.86],
                           "usd_per_1k_queries": [0.0107, 0.0121], "upfront_usd": [0.0, 5.6e-7]})  # fmt: skip
    chart = charts.accuracy_scatter(points, "usd_per_1k_queries", "USD per 1k", "t", size="upfront_usd",
                                    size_floor=float(points["usd_per_1k_queries"].max()))  # fmt: skip
    area = bubble_areas(chart)
    assert area["base"] == charts.BUBBLE_AREA[0] and area["rag"] < charts.BUBBLE_AREA[0] + 1


def test_bubble_area_grows_with_upfront_cost() -> None:
    points = POINTS.assign(accuracy=[0.0, 0.7, 0.5], upfront_usd=[0.0, 0.02, 0.5])
    area = bubble_areas(charts.accuracy_scatter(points, "usd_per_1k_queries", "x", "t", size="upfront_usd",
                                                size_floor=0.027))  # fmt: skip
    assert area["base"] == charts.BUBBLE_AREA[0] < area["rag"] < area["ft"] == charts.BUBBLE_AREA[1]


def test_all_zero_sizes_are_all_smallest() -> None:
    points = POINTS.assign(upfront_usd=0.0)
    area = bubble_areas(charts.accuracy_scatter(points, "latency_p50_ms", "x", "t", size="upfront_usd"))
    assert set(area.values()) == {charts.BUBBLE_AREA[0]}
