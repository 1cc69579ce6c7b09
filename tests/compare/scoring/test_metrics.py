"""The metric registry: one place for each measure's key, headers, direction and format."""

from __future__ import annotations

import pytest

from compare.scoring.metrics import MAX, METRICS, REPORT_TABLE, Metric, metrics
from corpus.errors import UserError


def test_the_report_and_the_dashboard_read_the_same_registry() -> None:
    from compare.pipeline.report import COLUMNS
    from dashboards.tables import HYBRID_COLUMNS, SYSTEM_COLUMNS

    assert [k for k, _, _ in COLUMNS] == list(REPORT_TABLE)
    assert [h for _, h, _ in COLUMNS][:3] == ["accuracy", "EM", "F1"]
    for col in (*SYSTEM_COLUMNS, *HYBRID_COLUMNS):
        m = METRICS[col.key]
        assert (col.label, col.better, col.kind) == (m.label, m.better, m.kind)
    assert len(SYSTEM_COLUMNS) == 8 and len(HYBRID_COLUMNS) == 8


@pytest.mark.parametrize(
    ("key", "better"),
    [
        ("accuracy", "max"),
        ("latency_p95_ms", "min"),
        ("usd_per_1k_queries", "min"),
        ("throughput_qps", "max"),
    ],
)
def test_which_way_is_better(key: str, better: str) -> None:
    assert METRICS[key].better == better


def test_an_unknown_metric_names_the_known_ones() -> None:
    with pytest.raises(UserError, match="unknown metric nope; registered: accuracy, exact_match"):
        metrics(["accuracy", "nope"])


def test_a_metric_needs_a_direction() -> None:
    with pytest.raises(ValueError, match="`better` must be 'max' or 'min'"):
        Metric("x", "x", "x", "up")
    assert Metric("x", "x", "x", MAX).fmt.format(0.5) == "0.500"
