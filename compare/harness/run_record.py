"""A bench run's record, ``summary.json``: its schema (the sections, typed), its version, and the
one place it is written and read. The pipeline writes it; the recommender, the content report, the
lm-eval bridge and the dashboard read it through :func:`read_summary` (or check
:func:`schema_problem`), so a run of an older schema is refused in one line everywhere alike.
Importable without torch."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

from corpus.errors import UserError
from corpus.io import atomic_write_text

# The version a bench writes, and the oldest one the readers still understand.
SCHEMA_VERSION = 2
MIN_SCHEMA = 2


class SystemRecord(TypedDict, total=False):
    """One system's measures (compare.scoring.evaluate.summarize, keys of compare.scoring.metrics),
    their interval and costs (compare.scoring.costs), and how it was made."""

    questions: int
    accuracy: float
    accuracy_ci95: list[float]  # bootstrap interval of accuracy
    exact_match: float
    token_f1: float
    abstention_accuracy: float  # share of unanswerable questions declined
    false_abstention_rate: float  # share of answerable questions declined
    wrong_answer_rate: float
    citation_precision: float  # over the answers to answerable questions that do not decline
    citation_recall: float
    grounded_correct: float
    style_compliance: float
    by_kind: dict[str, float]
    prompt_tokens: float
    output_tokens: float
    throughput_qps: float
    retrieval_ms: float
    generation_ms: float
    latency_p50_ms: float
    latency_p95_ms: float
    ttft_p50_ms: float
    single_retrieval_ms: float
    single_generation_ms: float
    latency_samples: int
    usd_per_1k_queries: float
    hosted_usd_per_1k: float
    upfront_usd: float
    upfront_seconds: float
    storage_bytes: int
    route: str  # a routed system's rule


class RunSummary(TypedDict, total=False):
    """``summary.json``: the run's sections, in the order the pipeline writes them."""

    schema_version: int
    name: str
    dataset: str
    profile: str
    warnings: list[str]
    run_folder: str
    splits_assigned: dict[str, Any]  # what `data splits` put where, when the QA file gave no split
    trainset: dict[str, Any]  # generated training data: counts per recipe and filter, the recipe
    stage_seconds: dict[str, float]
    index: dict[str, Any]
    tuning: dict[str, Any]  # every dev choice: retriever, prompts, lr and epochs, reader, gate, route
    model: dict[str, Any]
    engine: dict[str, Any]
    adapters: dict[str, Any]
    executor: dict[str, Any]
    retrievability: dict[str, Any]
    abstention: dict[str, Any]
    routes: dict[str, str]  # each routed system's rule (compare.pipeline.route)
    scenarios: dict[str, Any]  # one entry per scenario (compare.scenarios.registry)
    machine: dict[str, Any]
    cache_hits: dict[str, Any]
    prices: dict[str, Any]
    systems: dict[str, SystemRecord]
    comparisons: list[dict[str, Any]]
    break_even: list[dict[str, Any]]
    expectations: list[dict[str, Any]]
    model_axis: dict[str, Any]
    wall_seconds: float


# What a stage returns besides its value: the summary sections it measured, e.g.
# ``{"index": {...}, "stage_seconds": {"index": 1.2}}``. Stages never write into the summary; the
# bench merges what they return (:func:`merge_facts`), so which stage wrote what is visible in one place.
Facts = dict[str, Any]


def merge_facts(summary: dict[str, Any], *facts: Mapping[str, Any]) -> dict[str, Any]:
    """``summary`` with each stage's facts merged in, in order: a mapping into a mapping merges key
    by key (two stages' ``stage_seconds`` add up), anything else replaces. Returns ``summary``."""
    for part in facts:
        for key, value in part.items():
            old = summary.get(key)
            if isinstance(old, dict) and isinstance(value, Mapping):
                merge_facts(old, value)
            else:
                summary[key] = copy.deepcopy(value)  # the record never shares a stage's objects
    return summary


def adapter_folder(card: Mapping[str, Any]) -> Path:
    """The folder an adapter's card points at: the epoch dev tuning chose where it chose one
    (``adapter``), else the trained adapter in the card's ``path``."""
    return Path(card.get("adapter") or Path(card["path"]) / "adapter")


def write_summary(run: Path, summary: RunSummary | dict[str, Any], indent: int = 2) -> None:
    """``run/summary.json``, written whole or not at all (a reader never sees half a record)."""
    atomic_write_text(Path(run) / "summary.json", json.dumps(summary, indent=indent, default=str) + "\n")


def schema_problem(summary: Any) -> str | None:
    """Why ``summary`` is not a run record this version reads (None: it is one)."""
    if not isinstance(summary, dict) or not isinstance(summary.get("systems"), dict):
        return "not a run summary (no `systems` object)"
    version = summary.get("schema_version")
    if not isinstance(version, int) or version < MIN_SCHEMA:
        return f"schema version {version} is too old (this version reads {MIN_SCHEMA} or newer)"
    return None


def read_summary(run: Path) -> RunSummary:
    """A finished run's record; one line naming the file and what to do for anything else."""
    path = Path(run) / "summary.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run}: no summary.json; point to a finished `ftrag bench` run folder")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise UserError(f"{path}: not valid JSON ({msg}); re-run the bench") from None
    if why := schema_problem(summary):
        raise UserError(f"{path}: {why}; re-run the bench")
    if not summary["systems"]:
        raise UserError(f"{path}: the run scored no systems; re-run the bench with --systems")
    return summary
