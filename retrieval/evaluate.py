"""Retrieval evaluation over a dataset: QA sources (or BEIR qrels) are the relevance judgments."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from corpus.model import Dataset
from retrieval.metrics import mean_metrics, query_metrics
from retrieval.search import Retriever, retrieve_docs


def qrels_with_grades(ds: Dataset, split: str | None) -> dict[str, dict[str, float]]:
    """``qid -> {doc_id: grade}``; graded BEIR judgments when present, else 1 per source."""
    out: dict[str, dict[str, float]] = {}
    for q in ds.questions(split):
        graded = q.metadata.get("qrels") if isinstance(q.metadata.get("qrels"), dict) else None
        grades = {d: float(g) for d, g in graded.items()} if graded else {d: 1.0 for d in q.sources}
        if any(g > 0 for g in grades.values()):
            out[q.id] = grades
    return out


@dataclass
class RetrievalEvaluator:
    """Scores a retriever at document level: chunk hits are collapsed to their pages.

    Follows the evaluator contract of the harness: ``name``, ``primary_metric``,
    ``higher_is_better`` and ``__call__ -> dict[str, float]``.
    """

    ds: Dataset
    split: str | None = "test"
    ks: Sequence[int] = (1, 3, 5, 10)
    chunk_depth: int = 100  # chunks fetched per query before collapsing to documents
    batch_size: int = 64
    name: str = "retrieval"
    primary_metric: str = "ndcg@10"
    higher_is_better: bool = True
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    rankings: dict[str, list[str]] = field(default_factory=dict)

    def __call__(self, retriever: Retriever, progress: bool = False) -> dict[str, float]:
        qrels = qrels_with_grades(self.ds, self.split)
        queries = {q.id: q.question for q in self.ds.questions(self.split) if q.id in qrels}
        ids = list(queries)
        t0 = time.perf_counter()
        for i in tqdm(
            range(0, len(ids), self.batch_size),
            disable=None if progress else True,
            desc="retrieving",
            unit="batch",
        ):
            part = ids[i : i + self.batch_size]
            for qid, hits in zip(
                part, retriever.retrieve([queries[q] for q in part], self.chunk_depth), strict=True
            ):
                self.rankings[qid] = retrieve_docs(hits)
        seconds = time.perf_counter() - t0
        self.per_query = {qid: query_metrics(self.rankings[qid], qrels[qid], self.ks) for qid in ids}
        return {**mean_metrics(self.per_query), "queries": float(len(ids)), "seconds": round(seconds, 3)}
