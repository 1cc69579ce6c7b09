"""FAISS inner-product indexes over chunks: build, save/load with a manifest, incremental update.

An index folder holds ``index.faiss``, ``vectors.npy``, ``chunks.jsonl`` and ``manifest.json``
(embedder, dimension, chunking, chunk ids and hashes, per-document hashes, file checksums).
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
from corpus.errors import DataError
from corpus.io import replace_dir
from corpus.model import Chunk, Document
from retrieval.config import RetrievalConfig, auto_index_kind

FORMAT_VERSION = 1
FILES = ("index.faiss", "vectors.npy", "chunks.jsonl")


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
            raise ValueError(f"`pq_m` ({cfg.pq_m}) must divide the embedding dimension ({dim})")
        nlist = cfg.ivf_nlist or max(1, int(4 * math.sqrt(max(n, 1))))
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, cfg.pq_m, 8, faiss.METRIC_INNER_PRODUCT)
        index.nprobe = cfg.ivf_nprobe
        return index
    raise ValueError(f"unknown index kind {kind!r}")


def _train_sample(vectors: np.ndarray, max_n: int = 100_000, seed: int = 0) -> np.ndarray:
    """IVF-PQ trains on a sample: k-means over millions of vectors buys nothing but time."""
    if len(vectors) <= max_n:
        return vectors
    idx = np.random.default_rng(seed).choice(len(vectors), max_n, replace=False)
    return vectors[np.sort(idx)]


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
        kind = auto_index_kind(len(chunks)) if cfg.index_type == "auto" else cfg.index_type
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
    def _make(kind: str, vectors: np.ndarray, ids: np.ndarray, cfg: RetrievalConfig) -> faiss.Index:
        index = make_faiss_index(kind, vectors.shape[1], len(vectors), cfg)
        if not index.is_trained:
            index.train(_train_sample(vectors))
        if len(vectors):
            index.add_with_ids(vectors, ids)
        return index

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
            faiss.write_index(self.index, str(staging / "index.faiss"))
            np.save(staging / "vectors.npy", self.vectors)
            np.save(staging / "ids.npy", self.ids)
            with (staging / "chunks.jsonl").open("w", encoding="utf-8") as fh:
                for c in self.chunks:
                    rec = {"chunk_id": c.chunk_id, "doc_id": c.doc_id, "text": c.text,
                           "heading_path": list(c.heading_path), "n_tokens": c.n_tokens}  # fmt: skip
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            files = {name: _sha256(staging / name) for name in (*FILES, "ids.npy")}
            manifest = {**self.manifest, "n_vectors": len(self.chunks), "files": files,
                        "chunk_ids": [c.chunk_id for c in self.chunks]}  # fmt: skip
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
        index = faiss.read_index(str(path / "index.faiss"))
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
