"""Live queries against a run's saved index, read only: which pages come back for a query?

The index is the one the bench built (``<runs>/.cache/index/<key>``), loaded with
``retrieval.index.ChunkIndex.load`` (checksums verified), searched with the run's configured
retriever and embedder. Nothing is built, embedded into the index or written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from retrieval.config import RetrievalConfig
from retrieval.embed import Embedder
from retrieval.search import make_retriever


@dataclass(frozen=True)
class PageHit:
    """A page in a query's results: its best chunk, that chunk's rank and score."""

    rank: int
    doc_id: str
    chunk_id: str
    score: float
    text: str


def retrieval_config(section: Mapping[str, Any] | None) -> Any:
    """A ``RetrievalConfig`` from a run's config.json section; unknown keys (newer runs) dropped."""
    known = {f.name for f in fields(RetrievalConfig)}
    return RetrievalConfig(**{k: v for k, v in (section or {}).items() if k in known})


def make_embedder(cfg: Any) -> Any:
    """The run's query embedder. PyTorch backend and no embedding cache: the dashboard writes
    nothing (the ONNX backend would export a model file on first use), and a query or two a
    minute gains nothing from either; the vectors match the ONNX ones within 1e-5."""
    return Embedder(cfg.embedder, batch_size=1, use_cache=False, backend="torch")


def open_retriever(index_dir: Path, section: Mapping[str, Any] | None) -> Any:
    """The run's retriever over its saved index (loaded read-only, embedder checked)."""
    from retrieval.index import ChunkIndex

    cfg = retrieval_config(section)
    embedder = make_embedder(cfg)
    index = ChunkIndex.load(index_dir, embedder_name=embedder.name)
    return make_retriever(cfg.retriever, index, embedder, cfg)


def search_pages(retriever: Any, query: str, k: int = 10) -> list[PageHit]:
    """The top ``k`` pages for ``query``: chunk hits folded into pages, best chunk kept.

    Chunks are fetched 5x deeper than ``k`` pages, as the retrievability analysis does, so a
    page with many strong chunks does not crowd the others out.
    """
    if not query.strip():
        return []
    hits = retriever.retrieve([query.strip()], k * 5)[0]
    out: list[PageHit] = []
    for h in hits:
        if any(p.doc_id == h.doc_id for p in out):
            continue
        out.append(PageHit(len(out) + 1, h.doc_id, h.chunk_id, float(h.score), h.chunk.text))
        if len(out) == k:
            break
    return out
