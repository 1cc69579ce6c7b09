"""The retrieval track's one config dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field

from corpus.errors import UserError

INDEX_KINDS = ("auto", "flat", "hnsw", "ivfpq")
# Auto choice by corpus size: exact search is cheap below ~50k vectors (a few ms on 2 cores);
# HNSW keeps p95 low up to millions; IVF-PQ keeps memory bounded beyond that.
FLAT_MAX = 50_000
HNSW_MAX = 2_000_000

EMBED_BATCH = 1024  # chunks per embedding call: big enough to keep the encoder busy, ~1.5 MB of vectors


@dataclass(frozen=True)
class RetrievalConfig:
    """How the RAG side embeds, indexes and retrieves.

    Args:
        embedder: a registered embedder name (``minilm``) or a sentence-transformers folder.
        index_type: ``auto`` picks flat / HNSW / IVF-PQ by corpus size.
        retriever: ``dense``, ``bm25`` or ``hybrid`` (reciprocal-rank fusion of the two).
        k: chunks returned per query.
    """

    embedder: str = field(default="minilm", metadata={"help": "embedder name or model folder"})
    embed_backend: str = field(default="onnx", metadata={"help": "onnx (faster on CPU) | torch"})
    index_type: str = field(default="auto", metadata={"help": "auto | flat | hnsw | ivfpq"})
    retriever: str = field(default="dense", metadata={"help": "dense | bm25 | hybrid"})
    k: int = field(default=5, metadata={"help": "chunks returned per query"})
    # small batches keep activations in cache: 16 beat 32-128 by 5-30% on a 2-core CPU
    batch_size: int = field(default=16, metadata={"help": "embedding batch size"})
    rrf_k: int = field(default=60, metadata={"help": "reciprocal-rank-fusion constant"})
    hnsw_m: int = field(default=32, metadata={"help": "HNSW links per node"})
    hnsw_ef_construction: int = field(default=200, metadata={"help": "HNSW build beam"})
    hnsw_ef_search: int = field(default=128, metadata={"help": "HNSW query beam (recall vs speed)"})
    ivf_nlist: int = field(default=0, metadata={"help": "IVF lists (0 = 4*sqrt(n))"})
    pq_m: int = field(default=48, metadata={"help": "PQ sub-quantizers (must divide the dimension)"})
    ivf_nprobe: int = field(default=16, metadata={"help": "IVF lists probed per query"})
    ivf_train_sample: int = field(
        default=0,
        metadata={"help": "vectors IVF-PQ trains on (0 = 39 per list, see index.train_sample_size)"},
    )
    shards: int = field(
        default=1, metadata={"help": "FAISS indexes over slices of the vectors (flat, ivfpq)"}
    )

    def __post_init__(self) -> None:
        if self.index_type not in INDEX_KINDS:
            raise UserError(f"`index_type` must be one of {', '.join(INDEX_KINDS)}, got {self.index_type!r}")
        for name in ("k", "batch_size", "rrf_k", "hnsw_m", "hnsw_ef_construction", "hnsw_ef_search", "pq_m",
                     "ivf_nprobe", "shards"):  # fmt: skip
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UserError(f"`{name}` must be a positive integer, got {value!r}")
        for name in ("ivf_nlist", "ivf_train_sample"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise UserError(f"`{name}` must be an integer >= 0, got {value!r}")
        if self.shards > 1 and self.index_type == "hnsw":
            raise UserError(
                "`shards` > 1 needs index_type flat or ivfpq (HNSW cannot delete, so it rebuilds)"
            )
        if self.embed_backend not in ("onnx", "torch"):
            raise UserError(f"`embed_backend` must be onnx or torch, got {self.embed_backend!r}")
        if not self.embedder:
            raise UserError("`embedder` must name a registered embedder or a model folder")


def auto_index_kind(n_vectors: int) -> str:
    """The index the ``auto`` setting picks for a corpus of ``n_vectors`` chunks."""
    if n_vectors <= FLAT_MAX:
        return "flat"
    return "hnsw" if n_vectors <= HNSW_MAX else "ivfpq"
