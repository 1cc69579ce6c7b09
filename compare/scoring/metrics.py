"""The measures a run reports, registered once: the summary key each is stored under, its short
header in the report's table, its label with unit on the dashboard, which way is better and how it
is printed. The report (``compare.pipeline.report``) and the dashboard's tables (``dashboards.tables``) both
read this registry, so a new measure is one registration. Importable without torch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from corpus.errors import UserError

MAX, MIN = "max", "min"


@dataclass(frozen=True)
class Metric:
    key: str  # in each system's entry of summary.json and in results.parquet
    header: str  # the report's table
    label: str  # the dashboard, with its unit
    better: str  # MAX or MIN
    fmt: str = "{:.3f}"
    kind: str = "rate"  # rate | ms | usd | seconds | tokens | qps: how the dashboard shows it

    def __post_init__(self) -> None:
        if self.better not in (MAX, MIN):
            raise ValueError(f"metric {self.key!r}: `better` must be {MAX!r} or {MIN!r}, got {self.better!r}")


METRICS: dict[str, Metric] = {}


def register_metric(metric: Metric) -> None:
    METRICS[metric.key] = metric


def metrics(keys: Sequence[str]) -> list[Metric]:
    """The registered metrics of ``keys``, in that order; an unknown key raises, naming the known."""
    unknown = [k for k in keys if k not in METRICS]
    if unknown:
        raise UserError(f"unknown metric {', '.join(unknown)}; registered: {', '.join(METRICS)}")
    return [METRICS[k] for k in keys]


for _m in (
    Metric("accuracy", "accuracy", "accuracy", MAX),
    Metric("exact_match", "EM", "exact match", MAX),
    Metric("token_f1", "F1", "token F1", MAX),
    Metric("abstention_accuracy", "abstain", "abstention accuracy", MAX),
    Metric("citation_precision", "cite P", "citation precision", MAX),
    Metric("grounded_correct", "grounded", "grounded-correct", MAX),
    Metric("style_compliance", "style", "house style", MAX),
    Metric("prompt_tokens", "prompt tok", "prompt tokens", MIN, "{:.0f}", "tokens"),
    Metric("latency_p50_ms", "p50 ms", "p50 latency (ms)", MIN, "{:.0f}", "ms"),
    Metric("latency_p95_ms", "p95 ms", "p95 latency (ms)", MIN, "{:.0f}", "ms"),
    Metric("throughput_qps", "q/s", "throughput (q/s)", MAX, "{:.2f}", "qps"),
    Metric("usd_per_1k_queries", "$/1k q", "cost per 1k queries ($)", MIN, "{:.4f}", "usd"),
    Metric("upfront_usd", "upfront $", "training/index cost ($)", MIN, "{:.4f}", "usd"),
    Metric("upfront_seconds", "upfront s", "training/index time (s)", MIN, "{:.0f}", "seconds"),
):
    register_metric(_m)

# The report's results table, left to right.
REPORT_TABLE = (
    "accuracy", "exact_match", "token_f1", "abstention_accuracy", "citation_precision", "grounded_correct",
    "style_compliance", "prompt_tokens", "latency_p50_ms", "latency_p95_ms", "throughput_qps",
    "usd_per_1k_queries", "upfront_usd",
)  # fmt: skip
