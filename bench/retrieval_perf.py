"""Retrieval benchmark: embedding throughput, query latency, HNSW recall, build time and size.

    .venv/bin/python bench/retrieval_perf.py [--sizes 10000,100000] [--queries 200] [--out FILE]

1. Embedding throughput on the same chunks: our index-build path (``Embedder.encode`` with a
   cold cache) against sentence-transformers ``encode`` at its default settings, alternated
   three times, medians reported.
2. Query latency (embed the query + search, one request at a time) for flat and HNSW at each
   size, p50/p95 over real question texts, and HNSW recall@10 against exact search.
   Corpus vectors at 10k/100k are made from real chunk embeddings: each is a random mix of two
   real vectors plus small noise, renormalised, so the index sees a realistic, clustered
   distribution (uniform random vectors are far harder for HNSW than text embeddings are).
3. Build time and bytes on disk per index.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus.chunking import ChunkConfig, chunk_documents
from corpus.formats import load_dataset
from corpus.synthetic import SynthConfig, generate, write_dataset
from retrieval.config import RetrievalConfig
from retrieval.index import ChunkIndex


def corpus_chunks(entities: int) -> tuple[list[str], list[str]]:
    """Chunk texts and question texts of a generated corpus of ``entities`` products."""
    with tempfile.TemporaryDirectory() as tmp:
        ds = load_dataset(write_dataset(generate(SynthConfig(entities=entities, seed=1)), Path(tmp) / "d"))
    chunks = chunk_documents(ds.docs.values(), ChunkConfig(max_tokens=64, overlap_tokens=8))
    return [c.text for c in chunks], [q.question for q in ds.qa]


def embedding_throughput(texts: list[str], reps: int = 3) -> dict[str, float]:
    from retrieval.embed import Embedder

    ours_s, st_s = [], []
    for _ in range(reps):
        with tempfile.TemporaryDirectory() as cache:
            os.environ["FTRAG_CACHE"] = cache  # cold cache: every chunk is really embedded
            emb = Embedder("minilm")
            t0 = time.perf_counter()
            ours = emb.encode(texts)
            ours_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        theirs = emb.model.encode(texts)  # sentence-transformers defaults (batch 32)
        st_s.append(time.perf_counter() - t0)
    theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    return {
        "chunks": len(texts),
        "ours_chunks_per_s": len(texts) / statistics.median(ours_s),
        "st_chunks_per_s": len(texts) / statistics.median(st_s),
        "max_abs_diff": float(np.abs(ours - theirs).max()),
    }


def query_embedding_latency(questions: list[str]) -> dict[str, float]:
    """One query at a time, as a user waits: ours (ONNX Runtime) vs sentence-transformers."""
    from retrieval.embed import Embedder

    emb = Embedder("minilm", use_cache=False)
    out: dict[str, float] = {}
    for name, fn in (("ours", emb.encode_query), ("st", lambda q: emb.model.encode([q]))):
        for q in questions[:10]:
            fn(q)  # warm-up
        times = []
        for q in questions:
            t0 = time.perf_counter()
            fn(q)
            times.append((time.perf_counter() - t0) * 1000)
        out[f"{name}_p50_ms"], out[f"{name}_p95_ms"] = np.percentile(times, 50), np.percentile(times, 95)
    return {k: float(v) for k, v in out.items()}


def synthetic_vectors(base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
    w = rng.uniform(0.5, 1.0, (n, 1)).astype(np.float32)
    v = w * base[i] + (1 - w) * base[j] + rng.normal(0, 0.02, (n, base.shape[1])).astype(np.float32)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def latency(index: ChunkIndex, emb, queries: list[str]) -> tuple[list[float], np.ndarray]:
    times, ids = [], []
    for q in queries:
        t0 = time.perf_counter()
        (hits,) = index.search(emb.encode_query(q), 10)  # our query path, as `ftrag index search` runs it
        times.append((time.perf_counter() - t0) * 1000)
        ids.append([int(c.doc_id[1:]) for c, _ in hits])
    return times, np.array(ids)


def bench_sizes(base: np.ndarray, queries: list[str], sizes: list[int]) -> list[dict]:
    from corpus.model import Chunk
    from retrieval.embed import Embedder

    emb = Embedder("minilm", use_cache=False)
    emb.encode_query("warm up")
    rows = []
    for n in sizes:
        vecs = synthetic_vectors(base, n)
        chunks = [Chunk(f"d{i}#0", f"d{i}", "") for i in range(n)]
        exact_ids = None
        for kind in ("flat", "hnsw"):
            t0 = time.perf_counter()
            faiss_index = ChunkIndex._make(kind, vecs, np.arange(n, dtype=np.int64), RetrievalConfig())
            build_s = time.perf_counter() - t0
            index = ChunkIndex(chunks, vecs, np.arange(n, dtype=np.int64), faiss_index, {"kind": kind})
            times, ids = latency(index, emb, queries)
            with tempfile.TemporaryDirectory() as tmp:
                import faiss

                faiss.write_index(faiss_index, f"{tmp}/i.faiss")
                size = Path(f"{tmp}/i.faiss").stat().st_size
            if kind == "flat":
                exact_ids = ids
            recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, exact_ids, strict=True)]))
            rows.append({"n": n, "kind": kind, "build_s": build_s, "bytes": size,
                         "p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95)),
                         "recall@10_vs_flat": recall})  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entities", type=int, default=400, help="products in the generated corpus")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--out", help="write results JSON here")
    args = ap.parse_args()
    texts, questions = corpus_chunks(args.entities)
    print(f"{len(texts)} chunks, {len(questions)} questions", flush=True)
    thr = embedding_throughput(texts)
    print(json.dumps(thr), flush=True)
    rng = np.random.default_rng(0)
    queries = [questions[i] for i in rng.choice(len(questions), args.queries, replace=False)]
    qlat = query_embedding_latency(queries)
    print(json.dumps(qlat), flush=True)
    from retrieval.embed import Embedder

    base = Embedder("minilm", use_cache=False).encode(texts)
    rows = bench_sizes(base, queries, [int(s) for s in args.sizes.split(",")])
    import torch

    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "threads": torch.get_num_threads()}
    result = {"machine": machine, "embedding": thr, "query_embedding": qlat, "indexes": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
