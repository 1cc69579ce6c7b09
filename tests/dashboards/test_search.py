"""Live queries against a run's saved index (keyword embedder: rankings are known exactly)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dashboards import data, search


@pytest.fixture
def retriever(runs_root: Path, names: Any, keyword_emb: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The run's retriever as the dashboard opens it, with the keyword embedder swapped in."""
    run = data.load_run(runs_root / names.full)
    monkeypatch.setattr(search, "make_embedder", lambda cfg: keyword_emb)
    return search.open_retriever(data.index_folder(runs_root, run.summary), run.config["retrieval"])


@pytest.mark.parametrize(
    "query, first",
    [
        ("widgetron memory", "products/widgetron"),
        ("license support", "policies/license"),
        ("how many retries does the scheduler make", "guide/scheduler"),
    ],
)
def test_search_pages_ranks_the_right_page_first(retriever: Any, query: str, first: str) -> None:
    hits = search.search_pages(retriever, query, k=3)
    assert hits[0].doc_id == first and hits[0].rank == 1 and hits[0].chunk_id.startswith(first)
    assert hits[0].score == pytest.approx(max(h.score for h in hits))


def test_search_pages_folds_chunks_into_pages(retriever: Any) -> None:
    hits = search.search_pages(retriever, "memory timeout license", k=10)
    assert len({h.doc_id for h in hits}) == len(hits) == 4  # every page once, whatever its chunks
    assert [h.rank for h in hits] == [1, 2, 3, 4]
    assert search.search_pages(retriever, "memory", k=1)[0].doc_id == "products/widgetron"


def test_empty_query_returns_nothing(retriever: Any) -> None:
    assert search.search_pages(retriever, "   ", k=5) == []


def test_retrieval_config_drops_unknown_keys() -> None:
    cfg = search.retrieval_config({"retriever": "bm25", "k": 3, "type": "RetrievalConfig", "future_knob": 1})
    assert cfg.retriever == "bm25" and cfg.k == 3
    assert search.retrieval_config(None).retriever == "dense"


def test_a_different_embedder_is_refused(
    runs_root: Path, names: Any, make_keyword_embedder: Any, monkeypatch
) -> None:
    """The index checks the embedder it was built with: a mismatch is a clear error, not bad results."""
    from corpus.errors import DataError

    other = make_keyword_embedder(["memory"])
    other.name = "another-model"
    monkeypatch.setattr(search, "make_embedder", lambda cfg: other)
    run = data.load_run(runs_root / names.full)
    with pytest.raises(DataError, match="built with embedder 'keywords'"):
        search.open_retriever(data.index_folder(runs_root, run.summary), run.config["retrieval"])
