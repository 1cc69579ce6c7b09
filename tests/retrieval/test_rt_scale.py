"""Large corpora: streaming builds, IVF-PQ trained on a sample, sharded search."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
import pytest

from corpus.errors import DataError
from corpus.formats import load_dataset
from retrieval.config import RetrievalConfig
from retrieval.index import ChunkIndex, build_faiss, make_faiss_index, train_index, train_sample_size
from retrieval.shards import ShardedIndex, shard_bounds
from retrieval.stream import VectorFile, build_streaming, iter_jsonl_documents


@pytest.fixture
def docs(mini_dir: Path):
    return list(load_dataset(mini_dir).docs.values())


class CountingEmbedder:
    """Wraps the keyword embedder; records every batch size and how many documents were read."""

    def __init__(self, inner, consumed: list[int]):
        self.inner, self.consumed = inner, consumed
        self.name, self.dim, self.stats = inner.name, inner.dim, inner.stats
        self.calls: list[tuple[int, int]] = []  # (batch size, documents read so far)

    def encode(self, texts, progress: bool = False):
        self.calls.append((len(texts), self.consumed[0]))
        return self.inner.encode(texts)


def _lazy(docs) -> tuple[Iterator, list[int]]:
    consumed = [0]

    def gen():
        for d in docs:
            consumed[0] += 1
            yield d

    return gen(), consumed


QUERIES = ["scheduler", "license widgetron", "memory timeout", "retries support", "progress"]


@pytest.mark.parametrize("kind, shards", [("flat", 1), ("flat", 3), ("hnsw", 1)])
def test_streaming_build_equals_in_memory_build(docs, keyword_embedder, tmp_path: Path, kind, shards) -> None:
    cfg = RetrievalConfig(index_type=kind, shards=shards)
    eager = ChunkIndex.build(docs, keyword_embedder, cfg)
    manifest = build_streaming(iter(docs), keyword_embedder, tmp_path / "idx", cfg, batch_size=2)
    streamed = ChunkIndex.load(tmp_path / "idx", embedder_name="keywords")
    assert manifest["build"]["streamed"] and manifest["kind"] == kind
    assert [c.chunk_id for c in streamed.chunks] == [c.chunk_id for c in eager.chunks]
    assert [c.text for c in streamed.chunks] == [c.text for c in eager.chunks]
    np.testing.assert_array_equal(streamed.vectors, eager.vectors)
    np.testing.assert_array_equal(streamed.ids, eager.ids)
    assert streamed.manifest["doc_hashes"] == eager.manifest["doc_hashes"]
    assert isinstance(streamed.index, ShardedIndex) == (shards > 1)
    for q in QUERIES:
        qv = keyword_embedder.encode_query(q)
        got = [(c.chunk_id, round(s, 5)) for c, s in streamed.search(qv, 4)[0]]
        assert got == [(c.chunk_id, round(s, 5)) for c, s in eager.search(qv, 4)[0]]


@pytest.mark.parametrize("batch_size", [1, 2, 3, 100])
def test_streaming_holds_one_batch_and_reads_documents_lazily(docs, keyword_embedder, tmp_path, batch_size):
    stream, consumed = _lazy(docs)
    emb = CountingEmbedder(keyword_embedder, consumed)
    manifest = build_streaming(stream, emb, tmp_path / "idx", batch_size=batch_size)
    n = manifest["n_vectors"]
    sizes = [size for size, _ in emb.calls]
    assert max(sizes) == manifest["build"]["max_batch"] <= batch_size and sum(sizes) == n
    assert sizes[:-1] == [batch_size] * (len(sizes) - 1)  # full batches, the remainder last
    if batch_size < n:  # the first batch was embedded before the whole corpus was read
        assert emb.calls[0][1] < len(docs)
    assert manifest["build"]["documents"] == len(docs) and "chunk_ids" not in manifest


def test_streaming_reads_jsonl_lazily_and_names_bad_lines(tmp_path: Path, keyword_embedder) -> None:
    path = tmp_path / "docs.jsonl"
    lines = [json.dumps({"id": f"d{i}", "text": f"# D{i}\n\nscheduler {i}"}) for i in range(5)]
    path.write_text("\n".join(lines) + "\n")
    manifest = build_streaming(iter_jsonl_documents(path), keyword_embedder, tmp_path / "idx", batch_size=2)
    assert manifest["n_vectors"] == 5 and sorted(manifest["doc_hashes"]) == [f"d{i}" for i in range(5)]
    path.write_text(lines[0] + "\n{oops\n")
    with pytest.raises(DataError, match=r"docs\.jsonl:2: malformed JSON"):
        list(iter_jsonl_documents(path))
    path.write_text(lines[0] + "\n" + json.dumps({"id": "x"}) + "\n")
    with pytest.raises(DataError, match=r"docs\.jsonl:2: field `text` is missing"):
        list(iter_jsonl_documents(path))
    path.write_text(lines[0] + "\n" + lines[0] + "\n")
    with pytest.raises(DataError, match=r"docs\.jsonl:2: duplicate doc id 'd0'"):
        list(iter_jsonl_documents(path))
    with pytest.raises(DataError, match="empty corpus"):
        build_streaming(iter([]), keyword_embedder, tmp_path / "empty")
    assert not (tmp_path / "empty").exists()


def test_vector_file_roundtrip(tmp_path: Path) -> None:
    rows = np.random.default_rng(0).standard_normal((70_000, 3)).astype(np.float32)
    vf = VectorFile(tmp_path / "v.npy", 3)
    for a in range(0, len(rows), 9_999):
        vf.append(rows[a : a + 9_999])
    vf = vf.close()
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy"), rows)  # a valid .npy file
    assert vf.shape == (70_000, 3)
    np.testing.assert_array_equal(vf[65_000:65_600], rows[65_000:65_600])
    pick = np.array([0, 5, 65_535, 65_536, 69_999])
    np.testing.assert_array_equal(vf[pick], rows[pick])
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(DataError, match=r"bad\.npy"):
        VectorFile(tmp_path / "bad.npy")


def _clustered(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((20, dim))
    x = centers[rng.integers(0, 20, n)] + 0.3 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("shards", [1, 3])
def test_ivfpq_from_disk_equals_ivfpq_from_memory(tmp_path: Path, shards: int) -> None:
    vecs = _clustered(3_000)
    cfg = RetrievalConfig(index_type="ivfpq", pq_m=2, ivf_nlist=16, ivf_train_sample=2_000, shards=shards)
    vf = VectorFile(tmp_path / "v.npy", 8)
    for a in range(0, len(vecs), 1_000):
        vf.append(vecs[a : a + 1_000])
    ids = np.arange(len(vecs), dtype=np.int64)
    eager, streamed = build_faiss("ivfpq", vecs, ids, cfg), build_faiss("ivfpq", vf.close(), ids, cfg)
    as_list = (lambda x: x.shards) if shards > 1 else (lambda x: [x])
    assert len(as_list(eager)) == shards
    for e, s in zip(as_list(eager), as_list(streamed), strict=True):
        assert faiss.serialize_index(e).tobytes() == faiss.serialize_index(s).tobytes()


def test_ivfpq_on_too_few_vectors_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="IVF-PQ needs at least 256 vectors to train, got 100"):
        build_faiss("ivfpq", _clustered(100), np.arange(100), RetrievalConfig(pq_m=2, ivf_nlist=4))


class RecordingIVF:
    """Stands in for an untrained IVF-PQ index: keeps what ``train`` was given."""

    is_trained, nlist = False, 8

    def train(self, x):
        self.seen = x.copy()


def test_ivfpq_trains_on_exactly_the_requested_sample(tmp_path: Path, monkeypatch) -> None:
    vecs = _clustered(20_000)
    monkeypatch.setattr(faiss, "extract_index_ivf", lambda index: index)
    a, b = RecordingIVF(), RecordingIVF()
    rows = train_index(a, vecs, requested=1_234, seed=7)
    train_index(b, vecs, requested=1_234, seed=7)
    assert a.seen.shape == (1_234, 8) and len(np.unique(rows)) == 1_234
    np.testing.assert_array_equal(a.seen, b.seen)  # the same seed draws the same sample
    np.testing.assert_array_equal(a.seen, vecs[rows])
    vf = VectorFile(tmp_path / "v.npy", 8)
    vf.append(vecs)
    c = RecordingIVF()
    train_index(c, vf.close(), requested=1_234, seed=7)  # from disk: the same rows
    np.testing.assert_array_equal(c.seen, a.seen)
    d = RecordingIVF()
    train_index(d, vecs, requested=1_234, seed=8)
    assert not np.array_equal(d.seen, a.seen)


def test_train_sample_size_follows_faiss_rule_of_thumb() -> None:
    assert train_sample_size(4_000, 1_000_000) == 39 * 4_000
    assert train_sample_size(10, 1_000_000) == 39 * 256  # PQ codebooks need 256 centroids' worth
    assert train_sample_size(4_000, 50_000) == 50_000  # never more than there is
    assert train_sample_size(4_000, 1_000_000, requested=5_000) == 5_000


def test_ivfpq_training_is_deterministic() -> None:
    vecs = _clustered(3_000)
    cfg = RetrievalConfig(index_type="ivfpq", pq_m=2, ivf_nlist=16, ivf_train_sample=2_000)
    first, second = (make_faiss_index("ivfpq", 8, len(vecs), cfg) for _ in range(2))
    train_index(first, vecs, cfg.ivf_train_sample)
    train_index(second, vecs, cfg.ivf_train_sample)
    assert faiss.serialize_index(first).tobytes() == faiss.serialize_index(second).tobytes()


def _exact_topk(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """One flat index, every score, cut by (score desc, id asc): the order shards must reproduce."""
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    scores, ids = flat.search(queries, len(vectors))
    order = np.lexsort((ids, -scores), axis=-1)[:, :k]
    return np.take_along_axis(scores, order, 1), np.take_along_axis(ids, order, 1)


def _sharded_flat(vectors: np.ndarray, shards: int) -> ShardedIndex:
    parts = []
    for a, b in shard_bounds(len(vectors), shards):
        part = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
        part.add_with_ids(vectors[a:b], np.arange(a, b, dtype=np.int64))
        parts.append(part)
    return ShardedIndex(parts)


@pytest.mark.parametrize("shards", [1, 2, 3, 7])
@pytest.mark.parametrize("k", [1, 5, 10, 64])
@pytest.mark.parametrize("nq", [1, 25])  # FAISS takes another code path (BLAS) from 20 queries
def test_sharded_search_equals_one_flat_index_including_ties(shards: int, k: int, nq: int) -> None:
    rng = np.random.default_rng(shards * 100 + k)
    # small integer vectors: every dot product is exact, so many scores tie exactly
    vectors = rng.integers(-1, 2, size=(600, 6)).astype(np.float32)
    queries = rng.integers(-1, 2, size=(nq, 6)).astype(np.float32)
    want_s, want_i = _exact_topk(vectors, queries, k)
    got_s, got_i = _sharded_flat(vectors, shards).search(queries, k)
    np.testing.assert_array_equal(got_i, want_i)
    np.testing.assert_array_equal(got_s, want_s)


@pytest.mark.parametrize("shards", [2, 3, 7])
def test_sharded_ivfpq_equals_unsharded_on_real_vectors(shards: int) -> None:
    vecs = _clustered(3_000)
    base = dict(index_type="ivfpq", pq_m=2, ivf_nlist=16, ivf_nprobe=4, ivf_train_sample=2_000)
    ids = np.arange(len(vecs), dtype=np.int64)
    one = build_faiss("ivfpq", vecs, ids, RetrievalConfig(**base))
    many = build_faiss("ivfpq", vecs, ids, RetrievalConfig(**base, shards=shards))
    assert isinstance(many, ShardedIndex) and many.ntotal == len(vecs)
    s1, i1 = ShardedIndex([one]).search(vecs[:50], 10)
    s2, i2 = many.search(vecs[:50], 10)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_array_equal(s1, s2)


def test_more_shards_than_vectors_and_k_beyond_ntotal() -> None:
    vectors = np.eye(4, dtype=np.float32)
    scores, ids = _sharded_flat(vectors, 7).search(vectors[:1], 6)
    assert ids[0].tolist() == [0, 1, 2, 3, -1, -1] and scores[0, 0] == 1.0


def test_sharded_index_updates_and_saves(docs, keyword_embedder, tmp_path: Path) -> None:
    index = ChunkIndex.build(docs, keyword_embedder, RetrievalConfig(index_type="flat", shards=3))
    report = index.update(docs[1:], keyword_embedder, removed=[docs[0].doc_id])
    assert report.chunks_removed >= 1 and index.index.ntotal == len(index.chunks)
    index.save(tmp_path / "idx")
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["shards"] == ["index-00.faiss", "index-01.faiss", "index-02.faiss"]
    assert not (tmp_path / "idx" / "index.faiss").exists()
    again = ChunkIndex.load(tmp_path / "idx")
    assert [c.chunk_id for c in again.chunks] == [c.chunk_id for c in index.chunks]


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_corrupt_shard_is_an_error_naming_the_file(docs, keyword_embedder, tmp_path: Path, damage) -> None:
    build_streaming(docs, keyword_embedder, tmp_path / "idx", RetrievalConfig(index_type="flat", shards=3))
    shard = tmp_path / "idx" / "index-01.faiss"
    if damage == "delete":
        shard.unlink()
    else:
        shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(DataError, match=r"index-01\.faiss is missing, corrupt or truncated"):
        ChunkIndex.load(tmp_path / "idx")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"shards": 0}, "`shards` must be a positive integer"),
        ({"shards": 2, "index_type": "hnsw"}, "`shards` > 1 needs index_type flat or ivfpq"),
        ({"ivf_train_sample": -1}, "`ivf_train_sample` must be an integer >= 0"),
    ],
)
def test_bad_config_names_the_field(kwargs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetrievalConfig(**kwargs)


def test_bad_batch_size_names_the_field(docs, keyword_embedder, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
        build_streaming(docs, keyword_embedder, tmp_path / "idx", batch_size=0)


def test_cli_streaming_build_then_search(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "idx"
    flags = ["--stream", "--stream-batch", "16", "--shards", "2", "--index-type", "flat", "--out", out]
    rc, stdout, err = run_cli("index", "build", "tessaline", *flags)
    assert rc == 0, err
    assert "(flat, 2 shards, dim 384), streamed in" in stdout and "batches of <= 16" in stdout
    rc, stdout, _ = run_cli("index", "search", out, "Where is the Brisil 40 Pro assembled?", "-k", "3")
    assert rc == 0 and "products/brisil-40-pro#0" in stdout.splitlines()[1]
    rc, _, err = run_cli("index", "build", "tessaline", "--stream", "--stream-batch", "0", "--out", out)
    assert rc != 0 and "`batch_size` must be a positive integer" in err
