"""Index builds in bounded memory, for corpora larger than RAM.

``build_streaming`` reads documents one at a time (any iterable; :func:`iter_jsonl_documents`
reads a JSONL file lazily), chunks each, embeds ``batch_size`` chunks at a time and appends the
vectors to ``vectors.npy`` on disk. Only then is the FAISS index built, from the file:
IVF-PQ trains on a seeded sample of rows and vectors are added block by block, one shard at a
time. Memory holds one batch of chunks and vectors, one block, and the index itself (for
IVF-PQ: ``pq_m`` bytes + an 8-byte id per vector), never the corpus.

The folder it writes is the one :meth:`retrieval.index.ChunkIndex.save` writes (same files,
same checksums), so :meth:`ChunkIndex.load` reads it; on a small corpus it is the same index
the in-memory :meth:`ChunkIndex.build` gives. The manifest lists no chunk ids (that list grows
with the corpus): ``chunks.jsonl`` holds them in row order.
"""

from __future__ import annotations

import json
import shutil
import struct
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from corpus.chunking import ChunkConfig, chunk_document
from corpus.errors import DataError, Problem, UserError
from corpus.io import replace_dir
from corpus.loaders import Loaded, _doc_record
from corpus.model import Chunk, Dataset, Document
from retrieval.config import EMBED_BATCH, RetrievalConfig
from retrieval.index import FILES, FORMAT_VERSION, _sha256, build_faiss, resolve_kind, write_faiss

NPY_HEADER = 128  # bytes; room for any shape, so the header can be rewritten once the row count is known


class VectorFile:
    """A float32 ``.npy`` matrix on disk, appended to row by row and read back by row ranges.

    Reads use plain file reads, not a memory map, so resident memory is only what a caller asks
    for (a memory map would count every page it touched). ``len``, ``shape`` and indexing by a
    slice or an array of row numbers work like an array's.
    """

    def __init__(self, path: str | Path, dim: int | None = None):
        self.path = Path(path)
        if dim is not None:  # a new file: header now, rewritten by close()
            self.dim, self.n = int(dim), 0
            self._fh: Any = self.path.open("wb")
            self._fh.write(self._header(0))
            return
        self._fh = None
        with self.path.open("rb") as fh:
            try:
                version = np.lib.format.read_magic(fh)
                read = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, fortran, dtype = read(fh)
            except ValueError as exc:
                raise DataError(f"not a .npy matrix ({exc}); rebuild the index", self.path) from None
            offset = fh.tell()
        if dtype != np.float32 or fortran or len(shape) != 2:
            raise DataError(f"expected a float32 matrix, got {dtype} {shape}", self.path)
        self.n, self.dim, self.offset = int(shape[0]), int(shape[1]), offset

    def _header(self, n: int) -> bytes:
        text = repr({"descr": "<f4", "fortran_order": False, "shape": (n, self.dim)})
        body = text.ljust(NPY_HEADER - 10 - 1) + "\n"
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body.encode("latin1")

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype="<f4")
        if rows.ndim != 2 or rows.shape[1] != self.dim:
            raise ValueError(f"expected rows of dimension {self.dim}, got shape {rows.shape}")
        self._fh.write(rows.tobytes())
        self.n += len(rows)

    def close(self) -> VectorFile:
        """Finish a file being written (write the row count) and reopen it for reading."""
        self._fh.seek(0)
        self._fh.write(self._header(self.n))
        self._fh.close()
        return VectorFile(self.path)

    def __len__(self) -> int:
        return self.n

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.dim)

    def _read(self, fh: Any, start: int, stop: int) -> np.ndarray:
        fh.seek(self.offset + start * self.dim * 4)
        out = np.fromfile(fh, dtype="<f4", count=(stop - start) * self.dim)
        if len(out) != (stop - start) * self.dim:
            raise DataError(f"truncated: rows {start}-{stop} of {self.n} are missing", self.path)
        return out.reshape(stop - start, self.dim)

    def __getitem__(self, key: slice | np.ndarray) -> np.ndarray:
        with self.path.open("rb") as fh:
            if isinstance(key, slice):
                start, stop, step = key.indices(self.n)
                if step != 1:
                    raise ValueError("VectorFile slices take no step")
                return self._read(fh, start, max(start, stop))
            rows = np.asarray(key, dtype=np.int64)
            if len(rows) and (np.any(np.diff(rows) < 0) or rows[0] < 0 or rows[-1] >= self.n):
                raise ValueError("VectorFile rows must be sorted and within range")
            out = np.empty((len(rows), self.dim), dtype=np.float32)
            block = 65_536  # read sequentially a block at a time, keep the sampled rows
            for a in range(0, self.n, block):
                lo, hi = np.searchsorted(rows, [a, a + block])
                if hi > lo:
                    out[lo:hi] = self._read(fh, a, min(a + block, self.n))[rows[lo:hi] - a]
            return out


def iter_jsonl_documents(path: str | Path) -> Iterator[Document]:
    """Documents from a JSONL file, read one line at a time (``{"id", "title"?, "text"}``).

    A bad line is a :class:`DataError` naming the file and line, as the eager loader reports it.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("documents file not found", path)
    seen: set[str] = set()
    out = Loaded(Dataset(path.stem, {}))
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                msg = f"malformed JSON ({exc.msg} at column {exc.colno})"
                raise DataError(Problem(str(path), msg, line_no)) from None
            if not isinstance(rec, dict):
                raise DataError(
                    Problem(str(path), f"expected a JSON object, got {type(rec).__name__}", line_no)
                )
            doc = _doc_record(rec, path, line_no, out)
            if out.problems:
                raise DataError(out.problems[0])
            assert doc is not None
            if doc.doc_id in seen:
                raise DataError(Problem(str(path), f"duplicate doc id {doc.doc_id!r}", line_no))
            seen.add(doc.doc_id)
            yield doc


def _chunk_record(c: Chunk) -> str:
    rec = {"chunk_id": c.chunk_id, "doc_id": c.doc_id, "text": c.text,
           "heading_path": list(c.heading_path), "n_tokens": c.n_tokens}  # fmt: skip
    return json.dumps(rec, ensure_ascii=False) + "\n"


def _embed_stream(docs: Iterable[Document], embedder: Any, chunking: ChunkConfig, folder: Path,
                  batch_size: int) -> tuple[VectorFile, dict[str, str], dict[str, int]]:  # fmt: skip
    """Pass 1: chunks to ``chunks.jsonl``, vectors to ``vectors.npy``, one batch in memory."""
    vectors = VectorFile(folder / "vectors.npy", int(embedder.dim))
    doc_hashes: dict[str, str] = {}
    stats = {"documents": 0, "batches": 0, "max_batch": 0}
    pending: list[str] = []

    def flush(texts: list[str]) -> None:
        vectors.append(embedder.encode(texts))
        stats["batches"] += 1
        stats["max_batch"] = max(stats["max_batch"], len(texts))

    with (folder / "chunks.jsonl").open("w", encoding="utf-8") as fh:
        for doc in docs:
            if doc.doc_id in doc_hashes:
                raise DataError(f"duplicate doc id {doc.doc_id!r} in the document stream", "index build")
            doc_hashes[doc.doc_id] = doc.content_hash
            stats["documents"] += 1
            for chunk in chunk_document(doc, chunking):
                fh.write(_chunk_record(chunk))
                pending.append(chunk.text)
                if len(pending) == batch_size:
                    flush(pending)
                    pending = []
        if pending:
            flush(pending)
    return vectors.close(), doc_hashes, stats


def build_streaming(
    docs: Iterable[Document], embedder: Any, out: str | Path, cfg: RetrievalConfig | None = None,
    chunking: ChunkConfig | None = None, batch_size: int = EMBED_BATCH,
) -> dict[str, Any]:  # fmt: skip
    """Chunk, embed and index ``docs`` in bounded memory into the index folder ``out``.

    Args:
        docs: any iterable of documents; it is consumed once, lazily.
        embedder: anything with ``name``, ``dim``, ``stats`` and ``encode(texts)``.
        out: the index folder, replaced atomically when the build succeeds.
        batch_size: chunks per ``encode`` call: the most vectors held in memory at once.

    Returns:
        The manifest written (``build`` records documents, batches and the largest batch).
    """
    cfg, chunking = cfg or RetrievalConfig(), chunking or ChunkConfig()
    if not isinstance(batch_size, int) or batch_size < 1:
        raise UserError(f"`batch_size` must be a positive integer, got {batch_size!r}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.staging-"))
    try:
        t0 = time.perf_counter()
        vectors, doc_hashes, stats = _embed_stream(docs, embedder, chunking, staging, batch_size)
        if not len(vectors):
            raise DataError("empty corpus: nothing to index", "index build")
        embed_s = time.perf_counter() - t0
        kind = resolve_kind(cfg, len(vectors))
        ids = np.arange(len(vectors), dtype=np.int64)
        np.save(staging / "ids.npy", ids)
        shards = write_faiss(build_faiss(kind, vectors, ids, cfg), staging)
        files = {name: _sha256(staging / name) for name in (*(shards or FILES[:1]), *FILES[1:], "ids.npy")}
        manifest: dict[str, Any] = {
            "format_version": FORMAT_VERSION, "embedder": embedder.name, "dim": int(embedder.dim),
            "kind": kind, "config": dict(vars(cfg)), "chunking": chunking.to_dict(),
            "doc_hashes": doc_hashes, "next_id": len(vectors),
            "build": {"embed_seconds": round(embed_s, 3), "embedded": embedder.stats.get("encoded", 0),
                      "backend": getattr(embedder, "backend", "n/a"), "streamed": True, **stats,
                      "seconds": round(time.perf_counter() - t0, 3)},
            "n_vectors": len(vectors), "files": files,
        }  # fmt: skip
        if shards:
            manifest["shards"] = shards
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        replace_dir(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest
