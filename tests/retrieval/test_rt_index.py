"""FAISS indexes: build, search, save/load checks and incremental update."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from corpus.errors import DataError
from corpus.formats import load_dataset
from retrieval.config import RetrievalConfig, auto_index_kind
from retrieval.index import ChunkIndex

KINDS = ["flat", "hnsw"]


@pytest.fixture
def docs(mini_dir: Path):
    return list(load_dataset(mini_dir).docs.values())


@pytest.mark.parametrize("kind", KINDS)
def test_keyword_query_finds_its_page_first(docs, keyword_embedder, kind: str) -> None:
    index = ChunkIndex.build(docs, keyword_embedder, RetrievalConfig(index_type=kind))
    assert index.kind == kind and len(index.chunks) == index.index.ntotal
    (hits,) = index.search(keyword_embedder.encode_query("scheduler"), 3)
    assert hits[0][0].doc_id == "guide/config"
    assert hits[0][1] == pytest.approx(max(s for _, s in hits))


def test_auto_choice_by_size() -> None:
    assert [auto_index_kind(n) for n in (10, 50_000, 50_001, 3_000_000)] == ["flat", "flat", "hnsw", "ivfpq"]


def test_ivfpq_on_synthetic_vectors() -> None:
    from retrieval.index import make_faiss_index

    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((3000, 32)).astype("float32")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index = make_faiss_index("ivfpq", 32, 3000, RetrievalConfig(pq_m=8, ivf_nprobe=64))
    index.train(vecs)
    index.add_with_ids(vecs, np.arange(3000))
    _, ids = index.search(vecs[:50], 1)
    assert (ids[:, 0] == np.arange(50)).mean() >= 0.8  # compressed, but still finds itself
    with pytest.raises(ValueError, match="`pq_m`"):
        make_faiss_index("ivfpq", 30, 10, RetrievalConfig(pq_m=8))


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_roundtrip(docs, keyword_embedder, tmp_path: Path, kind: str) -> None:
    index = ChunkIndex.build(docs, keyword_embedder, RetrievalConfig(index_type=kind))
    index.save(tmp_path / "idx")
    again = ChunkIndex.load(tmp_path / "idx", embedder_name="keywords")
    q = keyword_embedder.encode_query("license widgetron")
    assert [(c.chunk_id, round(s, 5)) for c, s in index.search(q, 4)[0]] == [
        (c.chunk_id, round(s, 5)) for c, s in again.search(q, 4)[0]
    ]
    assert again.manifest["chunk_ids"] == [c.chunk_id for c in index.chunks]


def test_load_refuses_other_embedder_and_corrupt_files(docs, keyword_embedder, tmp_path: Path) -> None:
    ChunkIndex.build(docs, keyword_embedder).save(tmp_path / "idx")
    with pytest.raises(DataError, match="built with embedder 'keywords', not 'minilm'"):
        ChunkIndex.load(tmp_path / "idx", embedder_name="minilm")
    data = (tmp_path / "idx" / "index.faiss").read_bytes()
    (tmp_path / "idx" / "index.faiss").write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(DataError, match=r"index\.faiss is missing, corrupt or truncated"):
        ChunkIndex.load(tmp_path / "idx")
    with pytest.raises(DataError, match="no index here"):
        ChunkIndex.load(tmp_path / "nothing")


def test_empty_corpus_is_an_error(keyword_embedder) -> None:
    with pytest.raises(DataError, match="empty corpus"):
        ChunkIndex.build([], keyword_embedder)


def _changed(docs):
    by_id = {d.doc_id: d for d in docs}
    new = replace(by_id["support"], text="# Support\n\nThe scheduler answers support tickets within 2 hours.")
    return [new if d.doc_id == "support" else d for d in docs]


@pytest.mark.parametrize("kind", KINDS)
def test_update_reembeds_only_changed_pages(docs, keyword_embedder, tmp_path: Path, kind: str) -> None:
    index = ChunkIndex.build(docs, keyword_embedder, RetrievalConfig(index_type=kind))
    before = {c.chunk_id: c.content_hash for c in index.chunks}
    keyword_embedder.stats["encoded"] = 0
    report = index.update(_changed(docs), keyword_embedder)
    assert report.docs_changed == ["support"] and report.docs_added == [] and report.embedded == 1
    assert report.chunks_removed == 1 and report.chunks_added == 1
    after = {c.chunk_id: c.content_hash for c in index.chunks}
    assert {k for k in after if after[k] != before.get(k)} == {"support#0"}
    assert len(index.chunks) == index.index.ntotal == len(index.vectors)
    (hits,) = index.search(keyword_embedder.encode_query("scheduler support"), 1)
    assert hits[0][0].text.endswith("within 2 hours.")
    again = index.update(_changed(docs), keyword_embedder)  # nothing changed now
    assert again.embedded == 0 and again.docs_changed == []
    index.save(tmp_path / "idx")
    assert (
        ChunkIndex.load(tmp_path / "idx")
        .search(keyword_embedder.encode_query("scheduler support"), 1)[0][0][0]
        .text.endswith("within 2 hours.")
    )


def test_update_adds_and_removes_documents(docs, keyword_embedder) -> None:
    index = ChunkIndex.build(docs, keyword_embedder)
    extra = replace(docs[0], doc_id="new/page", text="# New\n\nretries retries")
    report = index.update([*docs, extra], keyword_embedder, removed=["faq"])
    assert report.docs_added == ["new/page"] and report.docs_removed == ["faq"]
    assert {c.doc_id for c in index.chunks} == {d.doc_id for d in docs if d.doc_id != "faq"} | {"new/page"}
    (hits,) = index.search(keyword_embedder.encode_query("retries"), 1)
    assert hits[0][0].doc_id == "new/page"


def test_update_refuses_another_embedder(docs, keyword_embedder, make_keyword_embedder) -> None:
    index = ChunkIndex.build(docs, keyword_embedder)
    other = make_keyword_embedder(["x"])
    other.name = "other"
    with pytest.raises(DataError, match="built with embedder"):
        index.update(docs, other)
