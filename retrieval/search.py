"""Retrievers behind one interface, chosen by name from a registry: dense, bm25, hybrid.

BM25 comes from ``bm25s`` (a maintained library; we do not hand-write BM25). Hybrid fuses the
two rankings by reciprocal-rank fusion, which needs no score calibration between them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from corpus.errors import UserError
from corpus.model import Chunk
from retrieval.config import RetrievalConfig
from retrieval.context import Hit

if TYPE_CHECKING:  # FAISS loads with the index, not with the retrievers' registry
    from retrieval.index import ChunkIndex

# A re-ranker reorders candidates: (query, hits) -> hits. No cross-encoder is bundled; the hook
# exists so one can be plugged in without touching the retrievers.
Reranker = Callable[[str, list[Hit]], list[Hit]]


class Retriever(Protocol):
    name: str

    def retrieve(self, queries: Sequence[str], k: int) -> list[list[Hit]]: ...


def _ranked(pairs: list[tuple[Chunk, float]]) -> list[Hit]:
    return [Hit(c, s, r) for r, (c, s) in enumerate(pairs, start=1)]


def rrf_fuse(rankings: Sequence[Sequence[str]], k: int, rrf_k: int = 60) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion: score(d) = sum over rankings of 1 / (rrf_k + rank(d)).

    Ties break by first appearance, so the result is deterministic.
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (rrf_k + rank)
    order = {key: i for i, key in enumerate(dict.fromkeys(k for r in rankings for k in r))}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))[:k]


class DenseRetriever:
    name = "dense"

    def __init__(self, index: ChunkIndex, embedder: Any):
        self.index, self.embedder = index, embedder
        self.timings: dict[str, float] = {"embed": 0.0, "search": 0.0}

    def retrieve(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        t0 = time.perf_counter()
        qv = (
            self.embedder.encode(list(queries))
            if len(queries) > 1
            else self.embedder.encode_query(queries[0])
        )
        t1 = time.perf_counter()
        out = [_ranked(r) for r in self.index.search(qv, k)]
        self.timings["embed"] += t1 - t0
        self.timings["search"] += time.perf_counter() - t1
        return out


class BM25Retriever:
    name = "bm25"

    def __init__(self, chunks: list[Chunk]):
        import bm25s

        self._bm25s = bm25s
        self.chunks = chunks
        self.model = bm25s.BM25()
        tokens = bm25s.tokenize([c.text for c in chunks], stopwords="en", show_progress=False)
        self.model.index(tokens, show_progress=False)

    def retrieve(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        k = min(k, len(self.chunks))
        tokens = self._bm25s.tokenize(list(queries), stopwords="en", show_progress=False, return_ids=False)
        out = []
        for toks in tokens:
            if not toks or k == 0:  # only stopwords: nothing to match
                out.append([])
                continue
            idx, scores = self.model.retrieve([toks], k=k, show_progress=False, n_threads=1)
            # score 0 means no query term occurs in the chunk: not a match, whatever its rank
            pairs = [(self.chunks[int(i)], float(s)) for i, s in zip(idx[0], scores[0], strict=True) if s > 0]
            out.append(_ranked(pairs))
        return out


class HybridRetriever:
    name = "hybrid"

    def __init__(self, dense: DenseRetriever, bm25: BM25Retriever, rrf_k: int = 60, depth: int = 50):
        self.dense, self.bm25, self.rrf_k, self.depth = dense, bm25, rrf_k, depth

    def retrieve(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        depth = max(k, self.depth)  # fuse deeper lists than we return: RRF needs the overlap
        dense, lexical = self.dense.retrieve(queries, depth), self.bm25.retrieve(queries, depth)
        out = []
        for d, b in zip(dense, lexical, strict=True):
            by_id = {h.chunk_id: h.chunk for h in (*d, *b)}
            fused = rrf_fuse([[h.chunk_id for h in d], [h.chunk_id for h in b]], k, self.rrf_k)
            out.append([Hit(by_id[cid], s, r) for r, (cid, s) in enumerate(fused, start=1)])
        return out


class RerankedRetriever:
    """Fetch ``depth`` candidates from ``base``, reorder them with ``reranker``, keep ``k``."""

    def __init__(self, base: Retriever, reranker: Reranker, depth: int = 50):
        self.base, self.reranker, self.depth = base, reranker, depth
        self.name = f"{base.name}+rerank"

    def retrieve(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        out = []
        for q, hits in zip(queries, self.base.retrieve(queries, max(k, self.depth)), strict=True):
            ranked = self.reranker(q, hits)[:k]
            out.append([Hit(h.chunk, h.score, r) for r, h in enumerate(ranked, start=1)])
        return out


RETRIEVERS: dict[str, Callable[[ChunkIndex, Any, RetrievalConfig], Retriever]] = {}


def register_retriever(name: str, factory: Callable[[ChunkIndex, Any, RetrievalConfig], Retriever]) -> None:
    RETRIEVERS[name] = factory


register_retriever("dense", lambda index, emb, cfg: DenseRetriever(index, emb))
register_retriever("bm25", lambda index, emb, cfg: BM25Retriever(index.chunks))
register_retriever(
    "hybrid",
    lambda index, emb, cfg: HybridRetriever(
        DenseRetriever(index, emb), BM25Retriever(index.chunks), cfg.rrf_k
    ),
)


def make_retriever(
    name: str,
    index: ChunkIndex,
    embedder: Any,
    cfg: RetrievalConfig | None = None,
    reranker: Reranker | None = None,
) -> Retriever:
    """A retriever by registry name, optionally re-ranked; an unknown name lists the valid ones."""
    if name not in RETRIEVERS:
        raise UserError(f"unknown retriever {name!r}; choose one of {', '.join(sorted(RETRIEVERS))}")
    retriever = RETRIEVERS[name](index, embedder, cfg or RetrievalConfig())
    return RerankedRetriever(retriever, reranker) if reranker is not None else retriever


def retrieve_docs(hits: list[Hit]) -> list[str]:
    """Document ids in rank order, first occurrence only (chunk ranking -> page ranking)."""
    return list(dict.fromkeys(h.doc_id for h in hits))
