from __future__ import annotations

from pathlib import Path

import pytest

from corpus.formats import load_dataset
from retrieval.index import ChunkIndex
from retrieval.search import RETRIEVERS, BM25Retriever, make_retriever, retrieve_docs, rrf_fuse


@pytest.fixture
def index(mini_dir: Path, keyword_embedder):
    return ChunkIndex.build(list(load_dataset(mini_dir).docs.values()), keyword_embedder)


def test_rrf_exact_scores() -> None:
    fused = rrf_fuse([["a", "b", "c"], ["b", "d"]], k=4, rrf_k=60)
    assert [d for d, _ in fused] == ["b", "a", "d", "c"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1][1] == pytest.approx(1 / 61)
    # a tie (a: 1/61 only) vs (x: 1/61 only) breaks by first appearance
    assert [d for d, _ in rrf_fuse([["a"], ["x"]], k=2)] == ["a", "x"]


def test_bm25_ranks_the_page_with_the_rare_term_first(index) -> None:
    bm25 = BM25Retriever(index.chunks)
    (hits,) = bm25.retrieve(["Who wrote the scheduler?"], 3)
    assert hits[0].doc_id == "guide/config" and hits[0].rank == 1
    assert bm25.retrieve(["the of and"], 3) == [[]]  # stopwords only: no match, no crash
    assert bm25.retrieve(["zzzz qqqq"], 3) == [[]]  # no term matches: nothing ranked


@pytest.mark.parametrize("name", sorted(RETRIEVERS))
def test_every_registered_retriever(index, keyword_embedder, name: str) -> None:
    retriever = make_retriever(name, index, keyword_embedder)
    results = retriever.retrieve(["license", "memory widgetron"], 2)
    assert len(results) == 2 and all(len(r) <= 2 for r in results)
    assert results[0][0].doc_id == "faq"
    assert [h.rank for h in results[1]] == list(range(1, len(results[1]) + 1))


def test_unknown_retriever_lists_valid_names(index, keyword_embedder) -> None:
    with pytest.raises(ValueError, match="choose one of bm25, dense, hybrid"):
        make_retriever("splade", index, keyword_embedder)


def test_retrieve_docs_keeps_first_occurrence(index, keyword_embedder) -> None:
    (hits,) = make_retriever("dense", index, keyword_embedder).retrieve(["widgetron"], 10)
    docs = retrieve_docs(hits)
    assert len(docs) == len(set(docs))


def test_reranker_hook_reorders_candidates(index, keyword_embedder) -> None:
    def prefer_support(query: str, hits: list) -> list:
        return sorted(hits, key=lambda h: h.doc_id != "support")

    plain = make_retriever("dense", index, keyword_embedder).retrieve(["license"], 2)[0]
    reranked = make_retriever("dense", index, keyword_embedder, reranker=prefer_support).retrieve(
        ["license"], 2
    )[0]
    assert plain[0].doc_id == "faq"
    assert reranked[0].doc_id == "support" and [h.rank for h in reranked] == [1, 2]
