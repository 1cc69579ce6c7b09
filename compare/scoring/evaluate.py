"""Score answers: one row per (question, system), then one summary per system.

The scorers are the pure functions of :mod:`compare.scoring.scorers`; this module only wires them to
questions, answers and chunk texts. Accuracy is scored on the answer without the house style's
fixed text, so a system is not punished twice (style is its own column).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from statistics import fmean
from typing import Any

from compare.harness.records import Answer
from compare.scoring import scorers as S
from corpus.model import QAItem


def score_answer(
    q: QAItem, a: Answer, chunk_text: Mapping[str, str], style: Mapping[str, Any] | None
) -> dict:
    """Every per-question score of one answer (answerable-only scores are nan when unanswerable)."""
    answerable = q.kind != "unanswerable"
    text = S.bare_answer(a.text, (style or {}).get("template"))
    nan = math.nan
    correct = S.contains_gold(text, q.golds, q.question) if answerable else nan
    row = {
        "exact_match": S.exact_match(text, q.golds) if answerable else nan,
        "token_f1": S.token_f1(text, q.golds) if answerable else nan,
        "correct": correct,
        "abstention_correct": S.abstention_correct(a.text, answerable),
        # Precision is over the answers that claim something: a declined question cites nothing and
        # claims nothing (its cost is in accuracy and the false-abstention rate), so it is no 0 here.
        "citation_precision": (
            S.citation_precision(a.cited_docs, q.sources)
            if answerable and not S.is_abstention(a.text)
            else nan
        ),
        "citation_recall": S.citation_recall(a.cited_docs, q.sources) if answerable else nan,
        "grounded_correct": (
            S.grounded_correct(correct, [chunk_text.get(c, "") for c in a.citations], q.golds)
            if answerable
            else nan
        ),
        "style_compliant": S.style_compliant(a.text, style["pattern"])
        if style and "pattern" in style
        else nan,
    }
    return row


def result_rows(
    questions: Sequence[QAItem],
    answers: Sequence[Answer],
    chunk_text: Mapping[str, str],
    style: Mapping[str, Any] | None,
) -> list[dict]:
    """Per-question table rows: the question, its gold, the answer, citations, scores and timings."""
    by_id = {q.id: q for q in questions}
    rows = []
    for a in answers:
        q = by_id[a.qid]
        rows.append(
            {
                "qid": q.id,
                "split": q.split,
                "kind": q.kind,
                "fact_id": q.fact_id,
                "question": q.question,
                "gold": q.answer,
                "golds": list(q.golds),
                "sources": list(q.sources),
                **asdict(a),
                **score_answer(q, a, chunk_text, style),
            }
        )
    return rows


def _mean(rows: Sequence[dict], key: str) -> float:
    vals = [r[key] for r in rows if not S.missing(r[key])]
    return fmean(vals) if vals else math.nan


def wrong_answer_rate(rows: Sequence[dict]) -> float:
    """Share of questions answered wrongly: an answer (not an abstention) that is not correct, or
    any answer to an unanswerable question. What a use case that fears wrong answers more than
    missing ones weighs (compare.decide.recommend)."""
    if not rows:
        return math.nan
    return sum(answered_wrongly(r) for r in rows) / len(rows)


def answered_wrongly(row: Mapping[str, Any]) -> bool:
    """An unanswerable question answered, or an answerable one answered (not abstained) incorrectly."""
    if row["kind"] == "unanswerable":
        return row["abstention_correct"] != 1.0
    return row["abstention_correct"] == 1.0 and row["correct"] != 1.0


def summarize(rows: Sequence[dict], single: Sequence[Answer]) -> dict[str, Any]:
    """One system's summary: accuracy, attribution, style, tokens and latency.

    ``rows`` are its batched answers (throughput); ``single`` its one-at-a-time answers (latency).
    """
    answerable = [r for r in rows if r["kind"] != "unanswerable"]
    unanswerable = [r for r in rows if r["kind"] == "unanswerable"]
    busy = sum(r["retrieval_s"] + r["generation_s"] for r in rows)
    waits = [a.retrieval_s + a.generation_s for a in single]
    out = {
        "questions": len(rows),
        "accuracy": _mean(answerable, "correct"),
        "exact_match": _mean(answerable, "exact_match"),
        "token_f1": _mean(answerable, "token_f1"),
        "abstention_accuracy": _mean(unanswerable, "abstention_correct") if unanswerable else math.nan,
        "false_abstention_rate": 1 - _mean(answerable, "abstention_correct") if answerable else math.nan,
        "wrong_answer_rate": wrong_answer_rate(rows),
        "citation_precision": _mean(answerable, "citation_precision"),
        "citation_recall": _mean(answerable, "citation_recall"),
        "grounded_correct": _mean(answerable, "grounded_correct"),
        "style_compliance": _mean(rows, "style_compliant"),
        "prompt_tokens": _mean(rows, "prompt_tokens"),
        "output_tokens": _mean(rows, "output_tokens"),
        "throughput_qps": len(rows) / busy if busy else math.nan,
        "retrieval_ms": 1000 * _mean(rows, "retrieval_s"),
        "generation_ms": 1000 * _mean(rows, "generation_s"),
        "latency_p50_ms": 1000 * S.percentile(waits, 50),
        "latency_p95_ms": 1000 * S.percentile(waits, 95),
        "ttft_p50_ms": 1000 * S.percentile([a.ttft_s + a.retrieval_s for a in single], 50),
        "single_retrieval_ms": 1000 * fmean([a.retrieval_s for a in single]) if single else math.nan,
        "single_generation_ms": 1000 * fmean([a.generation_s for a in single]) if single else math.nan,
        "latency_samples": len(single),
    }
    out["by_kind"] = {
        kind: _mean(
            [r for r in rows if r["kind"] == kind],
            "correct" if kind != "unanswerable" else "abstention_correct",
        )
        for kind in sorted({r["kind"] for r in rows})
    }
    return out
