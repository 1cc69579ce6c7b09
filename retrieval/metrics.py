"""Retrieval metrics as small pure functions over one query's ranking.

``ranked`` is a list of ids best-first; ``relevant`` the set of relevant ids (or, for nDCG, a
mapping id -> graded relevance). Gains in nDCG are linear, as in trec_eval and the BEIR/MTEB
leaderboards, so our figures are comparable with published ones (tests cross-check them
against trec_eval through pytrec_eval).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the relevant ids found in the top ``k``."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & relevant) / len(relevant)


def precision_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the top ``k`` slots holding a relevant id (missing slots count as misses)."""
    return len(set(ranked[:k]) & relevant) / k if k > 0 else 0.0


def hit_rate_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """1.0 if any relevant id is in the top ``k``."""
    return 1.0 if set(ranked[:k]) & relevant else 0.0


def mrr_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Reciprocal rank of the first relevant id within the top ``k``; 0 if none."""
    for rank, doc in enumerate(ranked[:k], start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], grades: Mapping[str, float], k: int) -> float:
    """Normalised discounted cumulative gain with linear gains (trec_eval's ``ndcg_cut``)."""
    dcg = sum(grades.get(doc, 0.0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def query_metrics(ranked: Sequence[str], grades: Mapping[str, float], ks: Sequence[int]) -> dict[str, float]:
    """Every metric at every cutoff for one query, plus nDCG@10."""
    relevant = {d for d, g in grades.items() if g > 0}
    out: dict[str, float] = {}
    for k in ks:
        out[f"recall@{k}"] = recall_at_k(ranked, relevant, k)
        out[f"precision@{k}"] = precision_at_k(ranked, relevant, k)
        out[f"mrr@{k}"] = mrr_at_k(ranked, relevant, k)
        out[f"hit@{k}"] = hit_rate_at_k(ranked, relevant, k)
    out["ndcg@10"] = ndcg_at_k(ranked, grades, 10)
    return out


def mean_metrics(per_query: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Macro average over queries (every query weighs the same)."""
    if not per_query:
        return {}
    names = next(iter(per_query.values())).keys()
    return {m: sum(q[m] for q in per_query.values()) / len(per_query) for m in names}
