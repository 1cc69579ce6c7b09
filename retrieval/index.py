"""FAISS inner-product indexes over chunks: build, save/load with a manifest, incremental update.

An index folder holds ``index.faiss`` (or ``index-NN.faiss`` shards), ``vectors.npy``,
``chunks.jsonl`` and ``manifest.json`` (embedder, dimension, chunking, chunk ids and hashes,
per-document hashes, file checksums).
Loading verifies the checksums and the embedder, so a truncated file or a different embedder
is a clear error, never silently wrong results.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from corpus.chunking import ChunkConfig, chunk_documents
from corpus.errors import DataError, UserError
from corpus.io import replace_dir
from corpus.model import Chunk, Document
from retrieval.config import RetrievalConfig, auto_index_kind
from retrieval.shards import ShardedIndex, shard_bounds

FORMAT_VERSION = 1
FILES = ("index.faiss", "vectors.npy", "chunks.jsonl")
# FAISS's k-means rule of thumb: at least 39 training points per centroid, or it warns and the
# centroids are poorly placed; it subsamples above 256 per centroid, so more only costs time.
TRAIN_POINTS_PER_LIST = 39
PQ_CENTROIDS = 256  # 8-bit PQ codes: every sub-quantizer is a 256-centroid k-means too
# PQ sub-quantizers cluster dim/pq_m-dimensional slices (8 dims at 384/48): 64 points per centroid
# place them well, and training them on all 39 x nlist sampled vectors took 45 s of 52 s at 40k.
PQ_TRAIN_PER_CENTROID = 64
ADD_BLOCK = 65_536  # rows added to an index per call when streaming from disk (~100 MB at dim 384)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def make_faiss_index(kind: str, dim: int, n: int, cfg: RetrievalConfig) -> faiss.Index:
    """An empty, ID-addressable inner-product index of ``kind`` sized for ``n`` vectors."""
    if kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if kind == "hnsw":
        inner = faiss.IndexHNSWFlat(dim, cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = cfg.hnsw_ef_construction
        inner.hnsw.efSearch = cfg.hnsw_ef_search
        return faiss.IndexIDMap2(inner)
    if kind == "ivfpq":
        if dim % cfg.pq_m:
            raise UserError(f"`pq_m` ({cfg.pq_m}) must divide the embedding dimension ({dim})")
        nlist = cfg.ivf_nlist or max(1, int(4 * math.sqrt(max(n, 1))))
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, cfg.pq_m, 8, faiss.METRIC_INNER_PRODUCT)
        index.nprobe = cfg.ivf_nprobe
        index.pq.cp.max_points_per_centroid = PQ_TRAIN_PER_CENTROID
        return index
    raise ValueError(f"unknown index kind {kind!r}")


def resolve_kind(cfg: RetrievalConfig, n: int) -> str:
    """The index kind to build for ``n`` vectors; ``auto`` with shards skips HNSW (it cannot delete)."""
    if cfg.index_type != "auto":
        kind = cfg.index_type
    else:
        kind = auto_index_kind(n)
        kind = "ivfpq" if kind == "hnsw" and cfg.shards > 1 else kind
    if kind == "hnsw" and cfg.shards > 1:
        raise UserError("`shards` > 1 needs index_type flat or ivfpq")
    return kind


def train_sample_size(nlist: int, n: int, requested: int = 0) -> int:
    """Vectors IVF-PQ trains on: ``requested``, else 39 per coarse list (and per PQ centroid).

    k-means over millions of vectors buys nothing but time; 39 x nlist is FAISS's floor.
    """
    want = requested or TRAIN_POINTS_PER_LIST * max(nlist, PQ_CENTROIDS)
    return min(n, want)


def sample_rows(n: int, size: int, seed: int = 0) -> np.ndarray:
    """``size`` distinct row numbers out of ``n``, sorted (sequential reads), fixed by ``seed``."""
    if size >= n:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False)).astype(np.int64)


def train_index(index: faiss.Index, vectors: Any, requested: int = 0, seed: int = 0) -> np.ndarray:
    """Train ``index`` (if it needs it) on a seeded sample of ``vectors``; returns the rows used.

    ``vectors`` is an array or a :class:`retrieval.stream.VectorFile` (read from disk, rows only).
    """
    if index.is_trained:
        return np.zeros(0, dtype=np.int64)
    ivf = faiss.extract_index_ivf(index)
    if len(vectors) < max(ivf.nlist, PQ_CENTROIDS):
        raise UserError(
            f"IVF-PQ needs at least {max(ivf.nlist, PQ_CENTROIDS)} vectors to train, got {len(vectors)}; "
            "use index_type flat"
        )
    rows = sample_rows(len(vectors), train_sample_size(ivf.nlist, len(vectors), requested), seed)
    index.train(np.ascontiguousarray(vectors[rows], dtype=np.float32))
    return rows


def build_faiss(kind: str, vectors: Any, ids: np.ndarray, cfg: RetrievalConfig) -> Any:
    """A trained, filled index (a :class:`ShardedIndex` when ``cfg.shards`` > 1).

    ``vectors`` may be an in-memory array or a :class:`retrieval.stream.VectorFile`; rows are
    added ``ADD_BLOCK`` at a time, so only the index and one block are in memory.
    """
    n, dim = len(vectors), int(vectors.shape[1])
    template = make_faiss_index(kind, dim, n, cfg)
    train_index(template, vectors, cfg.ivf_train_sample)
    parts = []
    for start, stop in shard_bounds(n, cfg.shards):
        # every shard is a copy of one trained, empty index: same lists, same codebooks
        part = faiss.clone_index(template) if cfg.shards > 1 else template
        for a in range(start, stop, ADD_BLOCK):
            b = min(a + ADD_BLOCK, stop)
            part.add_with_ids(np.ascontiguousarray(vectors[a:b], dtype=np.float32), ids[a:b])
        parts.append(part)
    return ShardedIndex(parts) if cfg.shards > 1 else parts[0]


@dataclass
class UpdateReport:
    """What an incremental update did, for the freshness scenario."""

    docs_changed: list[str] = field(default_factory=list)
    docs_added: list[str] = field(default_factory=list)
    docs_removed: list[str] = field(default_factory=list)
    chunks_removed: int = 0
    chunks_added: int = 0
    embedded: int = 0
    seconds: float = 0.0


class ChunkIndex:
    """Chunks, their vectors and a FAISS index; rows are addressed by stable int64 ids."""

    def __init__(self, chunks: list[Chunk], vectors: np.ndarray, ids: np.ndarray, index: faiss.Index,
                 manifest: dict[str, Any]):  # fmt: skip
        self.chunks, self.vectors, self.ids, self.index, self.manifest = chunks, vectors, ids, index, manifest
        self._row_of = {int(i): r for r, i in enumerate(ids)}

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @classmethod
    def build(
        cls, docs: list[Document], embedder: Any, cfg: RetrievalConfig | None = None,
        chunking: ChunkConfig | None = None, progress: bool = False,
    ) -> ChunkIndex:  # fmt: skip
        """Chunk, embed (cache-aware) and index ``docs``."""
        cfg, chunking = cfg or RetrievalConfig(), chunking or ChunkConfig()
        if not docs:
            raise DataError("empty corpus: nothing to index", "index build")
        t0 = time.perf_counter()
        chunks = chunk_documents(docs, chunking)
        vectors = embedder.encode([c.text for c in chunks], progress=progress)
        embed_s = time.perf_counter() - t0
        kind = resolve_kind(cfg, len(chunks))
        manifest = {
            "format_version": FORMAT_VERSION, "embedder": embedder.name, "dim": int(embedder.dim),
            "kind": kind, "config": {k: v for k, v in vars(cfg).items()}, "chunking": chunking.to_dict(),
            "doc_hashes": {d.doc_id: d.content_hash for d in docs}, "next_id": len(chunks),
            "build": {"embed_seconds": round(embed_s, 3), "embedded": embedder.stats.get("encoded", 0),
                      "backend": getattr(embedder, "backend", "n/a")},
        }  # fmt: skip
        ids = np.arange(len(chunks), dtype=np.int64)
        index = cls._make(kind, vectors, ids, cfg)
        manifest["build"]["seconds"] = round(time.perf_counter() - t0, 3)
        return cls(chunks, vectors, ids, index, manifest)

    @staticmethod
    def _make(kind: str, vectors: np.ndarray, ids: np.ndarray, cfg: RetrievalConfig) -> Any:
        return build_faiss(kind, vectors, ids, cfg)

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[Chunk, float]]]:
        """Top-``k`` chunks per query vector, best first."""
        k = min(k, len(self.chunks))
        if k == 0:
            return [[] for _ in range(len(queries))]
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if len(q) < 16:  # a few queries: OpenMP start-up costs more than it saves (2x slower at 100k)
            threads = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)
            try:
                scores, ids = self.index.search(q, k)
            finally:
                faiss.omp_set_num_threads(threads)
        else:
            scores, ids = self.index.search(q, k)
        return [
            [(self.chunks[self._row_of[int(i)]], float(s)) for s, i in zip(srow, irow, strict=True) if i >= 0]
            for srow, irow in zip(scores, ids, strict=True)
        ]

    def update(self, docs: list[Document], embedder: Any, removed: list[str] | None = None) -> UpdateReport:
        """Re-index only documents whose content changed (or are new); drop ``removed`` ones."""
        t0 = time.perf_counter()
        if embedder.name != self.manifest["embedder"]:
            raise DataError(
                f"index was built with embedder {self.manifest['embedder']!r}, not {embedder.name!r}; "
                "rebuild it with `ftrag index build`", "index update"
            )  # fmt: skip
        hashes = self.manifest["doc_hashes"]
        report = UpdateReport(docs_removed=sorted(set(removed or []) & set(hashes)))
        todo = [d for d in docs if hashes.get(d.doc_id) != d.content_hash]
        report.docs_changed = sorted(d.doc_id for d in todo if d.doc_id in hashes)
        report.docs_added = sorted(d.doc_id for d in todo if d.doc_id not in hashes)
        gone = set(report.docs_changed) | set(report.docs_removed)
        keep = [r for r, c in enumerate(self.chunks) if c.doc_id not in gone]
        report.chunks_removed = len(self.chunks) - len(keep)
        new_chunks = chunk_documents(todo, ChunkConfig(**self.manifest["chunking"]))
        before = embedder.stats.get("encoded", 0)
        new_vecs = embedder.encode([c.text for c in new_chunks]) if new_chunks else self.vectors[:0]
        report.embedded, report.chunks_added = embedder.stats.get("encoded", 0) - before, len(new_chunks)
        start = int(self.manifest["next_id"])
        new_ids = np.arange(start, start + len(new_chunks), dtype=np.int64)
        self._apply(keep, new_chunks, new_vecs, new_ids)
        for d in todo:
            hashes[d.doc_id] = d.content_hash
        for doc_id in report.docs_removed:
            hashes.pop(doc_id, None)
        self.manifest["next_id"] = start + len(new_chunks)
        report.seconds = round(time.perf_counter() - t0, 4)
        return report

    def _apply(self, keep: list[int], chunks: list[Chunk], vecs: np.ndarray, ids: np.ndarray) -> None:
        dropped = np.setdiff1d(self.ids, self.ids[keep])
        if self.kind == "hnsw":  # HNSW cannot delete: rebuild the graph from stored vectors
            cfg = RetrievalConfig(**self.manifest["config"])
            all_vecs = np.concatenate([self.vectors[keep], vecs])
            all_ids = np.concatenate([self.ids[keep], ids])
            self.index = self._make("hnsw", all_vecs, all_ids, cfg)
        else:
            if len(dropped):
                self.index.remove_ids(faiss.IDSelectorArray(dropped))
            if len(chunks):
                self.index.add_with_ids(vecs, ids)
        self.chunks = [self.chunks[r] for r in keep] + chunks
        self.vectors = np.concatenate([self.vectors[keep], vecs])
        self.ids = np.concatenate([self.ids[keep], ids])
        self._row_of = {int(i): r for r, i in enumerate(self.ids)}

    def save(self, path: str | Path) -> Path:
        """Write the index folder atomically (staging folder, then swap)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.staging-"))
        try:
            shards = write_faiss(self.index, staging)
            np.save(staging / "vectors.npy", self.vectors)
            np.save(staging / "ids.npy", self.ids)
            with (staging / "chunks.jsonl").open("w", encoding="utf-8") as fh:
                for c in self.chunks:
                    rec = {"chunk_id": c.chunk_id, "doc_id": c.doc_id, "text": c.text,
                           "heading_path": list(c.heading_path), "n_tokens": c.n_tokens}  # fmt: skip
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            files = {
                name: _sha256(staging / name) for name in (*(shards or FILES[:1]), *FILES[1:], "ids.npy")
            }
            manifest = {**self.manifest, "n_vectors": len(self.chunks), "files": files,
                        "chunk_ids": [c.chunk_id for c in self.chunks]}  # fmt: skip
            manifest.pop("shards", None)
            if shards:
                manifest["shards"] = shards
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
            replace_dir(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path, embedder_name: str | None = None) -> ChunkIndex:
        """Load and verify an index folder; ``embedder_name`` must match the one it was built with."""
        path = Path(path)
        mpath = path / "manifest.json"
        if not mpath.is_file():
            raise DataError("no index here (manifest.json missing); build one with `ftrag index build`", path)
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"manifest is corrupt ({exc}); rebuild the index", mpath) from None
        if manifest.get("format_version") != FORMAT_VERSION:
            raise DataError(
                f"index format {manifest.get('format_version')} is not {FORMAT_VERSION}; rebuild it", mpath
            )
        if embedder_name is not None and manifest["embedder"] != embedder_name:
            raise DataError(
                f"index was built with embedder {manifest['embedder']!r}, not {embedder_name!r}; "
                "search with the same embedder or rebuild the index", path
            )  # fmt: skip
        for name, digest in manifest["files"].items():
            if not (path / name).is_file() or _sha256(path / name) != digest:
                raise DataError(
                    f"{name} is missing, corrupt or truncated (checksum mismatch); rebuild the index", path
                )
        index = read_faiss(path, manifest)
        vectors = np.load(path / "vectors.npy", allow_pickle=False)
        ids = np.load(path / "ids.npy", allow_pickle=False)
        chunks = []
        for line in (path / "chunks.jsonl").read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            chunks.append(
                Chunk(r["chunk_id"], r["doc_id"], r["text"], tuple(r["heading_path"]), r["n_tokens"])
            )
        if not (index.ntotal == len(chunks) == len(vectors) == len(ids)):
            raise DataError("index, vectors and chunks disagree in size; rebuild the index", path)
        return cls(chunks, vectors, ids, index, manifest)


def write_faiss(index: Any, folder: Path) -> list[str]:
    """Write ``index.faiss`` (returns ``[]``) or one ``index-NN.faiss`` per shard (returns the names)."""
    if isinstance(index, ShardedIndex):
        return index.write(folder)
    faiss.write_index(index, str(folder / "index.faiss"))
    return []


def read_faiss(path: Path, manifest: dict[str, Any]) -> Any:
    """The FAISS index (or shards) of a verified index folder."""
    if manifest.get("shards"):
        return ShardedIndex.read(path, list(manifest["shards"]))
    return faiss.read_index(str(path / "index.faiss"))
