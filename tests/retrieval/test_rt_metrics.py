"""Metric functions: exact values on a hand-made ranking, and agreement with trec_eval."""

from __future__ import annotations

import math
import random

import pytest

from retrieval.metrics import (
    hit_rate_at_k,
    mean_metrics,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    query_metrics,
    recall_at_k,
)

RANKED = ["d3", "d1", "d7", "d2", "d9"]
RELEVANT = {"d1", "d2", "d5"}

CASES = [
    (recall_at_k, 1, 0.0),
    (recall_at_k, 2, 1 / 3),
    (recall_at_k, 5, 2 / 3),
    (precision_at_k, 2, 0.5),
    (precision_at_k, 5, 0.4),
    (precision_at_k, 10, 0.2),  # missing slots count as misses
    (mrr_at_k, 1, 0.0),
    (mrr_at_k, 5, 0.5),
    (hit_rate_at_k, 1, 0.0),
    (hit_rate_at_k, 2, 1.0),
]


@pytest.mark.parametrize("fn, k, expected", CASES)
def test_exact_values(fn, k: int, expected: float) -> None:
    assert fn(RANKED, RELEVANT, k) == pytest.approx(expected)


def test_ndcg_by_hand() -> None:
    grades = {"d1": 1.0, "d2": 1.0, "d5": 1.0}
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(RANKED, grades, 10) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(["d1", "d2", "d5"], grades, 10) == pytest.approx(1.0)
    assert ndcg_at_k(RANKED, {}, 10) == 0.0


def test_mean_is_macro_average() -> None:
    per_query = {"a": {"x": 1.0}, "b": {"x": 0.0}, "c": {"x": 0.5}}
    assert mean_metrics(per_query) == {"x": 0.5}


def test_agrees_with_trec_eval() -> None:
    pytrec_eval = pytest.importorskip("pytrec_eval")
    rng = random.Random(0)
    docs = [f"d{i}" for i in range(30)]
    qrels, run, ours = {}, {}, {}
    for q in range(40):
        qid = f"q{q}"
        qrels[qid] = {d: rng.choice([1, 2, 3]) for d in rng.sample(docs, rng.randint(1, 5))}
        ranked = rng.sample(docs, 15)
        run[qid] = {d: float(15 - i) for i, d in enumerate(ranked)}  # scores decreasing with rank
        ours[qid] = query_metrics(ranked, {d: float(g) for d, g in qrels[qid].items()}, (5, 10))
    ev = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.5", "recall.10", "P.5", "recip_rank"})
    theirs = ev.evaluate(run)
    assert len(qrels) == len(theirs) == 40
    for qid in qrels:
        assert ours[qid]["ndcg@10"] == pytest.approx(theirs[qid]["ndcg_cut_10"], abs=1e-4)
        assert ours[qid]["recall@5"] == pytest.approx(theirs[qid]["recall_5"], abs=1e-6)
        assert ours[qid]["recall@10"] == pytest.approx(theirs[qid]["recall_10"], abs=1e-6)
        assert ours[qid]["precision@5"] == pytest.approx(theirs[qid]["P_5"], abs=1e-6)
        rr = theirs[qid]["recip_rank"]
        assert ours[qid]["mrr@10"] == pytest.approx(rr if rr >= 0.1 else 0.0, abs=1e-6)
