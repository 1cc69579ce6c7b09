"""Large-corpus benchmark: flat vs IVF-PQ (trained on a sample) vs sharded IVF-PQ, and a 100M projection.

    nice -n 10 .venv/bin/python bench/scale_perf.py [--vectors 1000000] [--queries 1000] [--shards 4]
        [--out docs/scale_perf.json]

Vectors are synthetic, seeded, clustered Gaussian (``--clusters`` centres in ``--dim``
dimensions, each point its centre plus noise, L2-normalised), so nearest neighbours are
meaningful and recall@10 against exact search says something. Queries are fresh points from
the same clusters. Vectors are streamed to a ``.npy`` file on disk as the streaming index build
writes them; the IVF-PQ indexes are built from that file through ``retrieval.index`` (sample,
train, add block by block), so their peak memory is what the streaming path needs.

Per index: build time, peak RSS during the build (``VmHWM``, reset per phase), recall@10 vs
exact search, single-query latency p50/p95 and batched throughput. The 100M figures are a
projection from the measured ones, with the formulas written next to them in the JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retrieval.config import RetrievalConfig
from retrieval.index import ADD_BLOCK, make_faiss_index, train_index, train_sample_size
from retrieval.shards import ShardedIndex, shard_bounds
from retrieval.stream import VectorFile

K = 10
EMBED_CHUNKS_PER_S = 84.6  # MiniLM on this CPU, docs/retrieval_perf.json: what a real build adds


def rss_mb() -> float:
    return _status("VmRSS")


def peak_mb() -> float:
    return _status("VmHWM")


def _status(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so each phase reports its own peak."""
    Path("/proc/self/clear_refs").write_text("5")


def clustered(n: int, dim: int, clusters: int, seed: int, block: int = 50_000):
    """Blocks of seeded clustered Gaussian vectors (unit norm); centres are fixed by ``seed``."""
    centres = np.random.default_rng(seed).standard_normal((clusters, dim)).astype(np.float32)
    rng = np.random.default_rng(seed + 1)
    for a in range(0, n, block):
        m = min(block, n - a)
        x = centres[rng.integers(0, clusters, m)] + 0.6 * rng.standard_normal((m, dim), dtype=np.float32)
        yield x / np.linalg.norm(x, axis=1, keepdims=True)


def queries_for(n: int, dim: int, clusters: int, seed: int) -> np.ndarray:
    centres = np.random.default_rng(seed).standard_normal((clusters, dim)).astype(np.float32)
    rng = np.random.default_rng(seed + 99)  # other points of the same clusters: not in the index
    x = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[f >= 0]) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def latency(search, queries: np.ndarray, n: int) -> dict[str, float]:
    """Single-query p50/p95 (one OpenMP thread, as ChunkIndex.search runs few queries) and batch QPS."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    times = []
    try:
        for q in queries[:n]:
            t0 = time.perf_counter()
            search(q[None, :])
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        faiss.omp_set_num_threads(threads)
    t0 = time.perf_counter()
    search(queries)
    batch_s = time.perf_counter() - t0
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95)),
            "single_queries": len(times), "batch_queries": len(queries),
            "batch_qps": len(queries) / batch_s}  # fmt: skip


def phase_flat(vf: VectorFile, queries: np.ndarray, args) -> tuple[dict, np.ndarray]:
    reset_peak()
    base = rss_mb()
    t0 = time.perf_counter()
    index = faiss.IndexFlatIP(vf.dim)
    for a in range(0, len(vf), ADD_BLOCK):
        index.add(vf[a : a + ADD_BLOCK])
    build_s = time.perf_counter() - t0
    _, truth = index.search(queries, K)  # exact: the ground truth for every recall below
    lat = latency(lambda q, index=index: index.search(q, K), queries, args.single_flat)
    out = {"kind": "flat", "build_s": build_s, "peak_rss_mb": peak_mb(), "rss_before_mb": base,
           "index_bytes": int(index.ntotal) * vf.dim * 4, "recall@10": 1.0, **lat}  # fmt: skip
    del index
    return out, truth


def phase_ivfpq(vf: VectorFile, queries: np.ndarray, truth: np.ndarray, cfg: RetrievalConfig, args):
    reset_peak()
    base = rss_mb()
    t0 = time.perf_counter()
    index = make_faiss_index("ivfpq", vf.dim, len(vf), cfg)
    rows = train_index(index, vf, cfg.ivf_train_sample, seed=0)
    train_s = time.perf_counter() - t0
    template = faiss.clone_index(index)  # trained and empty: the shards start from it
    block = vf[0:ADD_BLOCK]
    t1 = time.perf_counter()
    index.quantizer.search(block, 1)  # the coarse assignment alone, to split the add cost for the projection
    assign_s = (time.perf_counter() - t1) * len(vf) / len(block)
    del block
    t1 = time.perf_counter()
    for a in range(0, len(vf), ADD_BLOCK):
        index.add_with_ids(vf[a : a + ADD_BLOCK], np.arange(a, min(a + ADD_BLOCK, len(vf)), dtype=np.int64))
    add_s = time.perf_counter() - t1
    peak = peak_mb()
    out = {"kind": "ivfpq", "nlist": int(index.nlist), "pq_m": cfg.pq_m, "train_vectors": len(rows),
           "train_s": train_s, "add_s": add_s, "assign_s_estimate": assign_s, "build_s": train_s + add_s,
           "peak_rss_mb": peak, "rss_before_mb": base, "index_bytes": len(faiss.serialize_index(index)),
           "by_nprobe": {}}  # fmt: skip
    for nprobe in args.nprobes:
        index.nprobe = nprobe
        _, found = index.search(queries, K)
        lat = latency(lambda q: index.search(q, K), queries, args.single)
        out["by_nprobe"][nprobe] = {"recall@10": recall(found, truth), **lat}
    index.nprobe = cfg.ivf_nprobe
    out["coarse_ms"] = latency(lambda q: index.quantizer.search(q, cfg.ivf_nprobe), queries, args.single)[
        "p50_ms"
    ]
    out.update(out["by_nprobe"][cfg.ivf_nprobe])
    out["rerank"] = rerank(index, vf, queries, truth, args)
    return out, index, template


def rerank(index, vf: VectorFile, queries: np.ndarray, truth: np.ndarray, args) -> dict:
    """IVF-PQ top-``depth`` candidates re-scored exactly from the vectors on disk (memory map)."""
    vecs = np.load(vf.path, mmap_mode="r")
    depth = args.rerank_depth

    def search(q: np.ndarray) -> np.ndarray:
        _, cand = index.search(q, depth)
        out = np.empty((len(q), K), dtype=np.int64)
        for r, (qv, c) in enumerate(zip(q, cand, strict=True)):
            c = np.sort(c[c >= 0])
            scores = vecs[c] @ qv
            out[r] = c[np.argsort(-scores, kind="stable")[:K]]
        return out

    return {"depth": depth, "nprobe": index.nprobe, "recall@10": recall(search(queries), truth),
            **latency(search, queries, args.single)}  # fmt: skip


def phase_sharded(vf: VectorFile, queries, truth, template, single: np.ndarray, args) -> dict:
    reset_peak()
    base = rss_mb()
    t0 = time.perf_counter()
    parts = []
    for start, stop in shard_bounds(len(vf), args.shards):
        part = faiss.clone_index(template)
        for a in range(start, stop, ADD_BLOCK):
            b = min(a + ADD_BLOCK, stop)
            part.add_with_ids(vf[a:b], np.arange(a, b, dtype=np.int64))
        parts.append(part)
    add_s = time.perf_counter() - t0
    sharded = ShardedIndex(parts)
    _, found = sharded.search(queries, K)
    same = float(np.mean([set(f) == set(s) for f, s in zip(found, single, strict=True)]))
    out = {"kind": f"ivfpq x{args.shards} shards", "shards": args.shards, "add_s": add_s,
           "peak_rss_mb": peak_mb(), "rss_before_mb": base, "recall@10": recall(found, truth),
           "same_ids_as_unsharded": same,
           **latency(lambda q: sharded.search(q, K), queries, args.single)}  # fmt: skip
    return out


def project(n: int, target: int, dim: int, flat: dict, ivf: dict, cfg: RetrievalConfig) -> dict:
    """Scale the measured figures from ``n`` to ``target`` vectors; each formula is written down."""
    r = target / n
    nlist_t = cfg.ivf_nlist or int(4 * math.sqrt(target))
    lr = nlist_t / ivf["nlist"]
    code = cfg.pq_m + 8  # PQ code + int64 id per vector in the inverted lists
    sample_t = train_sample_size(nlist_t, target, cfg.ivf_train_sample)
    ivf_bytes = target * code + nlist_t * dim * 4 + 256 * dim * 4
    encode_s = max(ivf["add_s"] - ivf["assign_s_estimate"], 0.0)
    return {
        "label": "PROJECTION from the measured run, not a measurement",
        "vectors": target, "nlist": nlist_t, "train_vectors": sample_t,
        "flat": {
            "memory_gb": target * dim * 4 / 1e9,
            "formula_memory": "n x dim x 4 bytes",
            "p50_ms": flat["p50_ms"] * r, "formula_latency": "linear in n (every vector scored)",
        },
        "ivfpq": {
            "memory_gb": ivf_bytes / 1e9,
            "formula_memory": (
                "n x (pq_m + 8 id) bytes + nlist x dim x 4 (centroids) + 256 x dim x 4 (codebooks)"
            ),
            "build_peak_gb": (ivf_bytes + sample_t * dim * 4 + ADD_BLOCK * dim * 4) / 1e9,
            "formula_build_peak": "index + training sample (39 x nlist x dim x 4) + one add block",
            "train_s": ivf["train_s"] * lr**2,
            "formula_train": (
                "k-means: sample x nlist x dim x iters, sample = 39 x nlist -> scales with nlist^2"
            ),
            "add_s": ivf["assign_s_estimate"] * r * lr + encode_s * r,
            "formula_add": "coarse assignment n x nlist x dim (flat quantizer) + PQ encoding linear in n",
            "embed_days_at_measured_rate": target / EMBED_CHUNKS_PER_S / 86400,
            "p50_ms": ivf["coarse_ms"] * lr + max(ivf["p50_ms"] - ivf["coarse_ms"], 0) * r / lr,
            "formula_latency": (
                "coarse nlist x dim (x nlist ratio) + scan nprobe x n/nlist codes (x n/nlist ratio)"
            ),
            "disk_gb": (target * dim * 4 + ivf_bytes) / 1e9,
            "formula_disk": "vectors.npy n x dim x 4 (kept for rebuilds and re-ranking) + index files",
        },
    }  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vectors", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--clusters", type=int, default=2_000)
    ap.add_argument("--queries", type=int, default=1_000)
    ap.add_argument("--single", type=int, default=200, help="single queries timed (IVF-PQ)")
    ap.add_argument("--single-flat", type=int, default=50, help="single queries timed (flat)")
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--nprobes", default="16,64")
    ap.add_argument("--rerank-depth", type=int, default=100)
    ap.add_argument("--project", type=int, default=100_000_000)
    ap.add_argument("--workdir", help="where the vectors file goes (default: a temp folder)")
    ap.add_argument("--out", default="docs/scale_perf.json")
    args = ap.parse_args()
    args.nprobes = [int(x) for x in args.nprobes.split(",")]
    if args.vectors < 10_000:
        raise SystemExit("--vectors must be at least 10000 (IVF-PQ needs 39 x 256 training vectors)")
    cfg = RetrievalConfig(index_type="ivfpq")
    args.nprobes = sorted(set(args.nprobes) | {cfg.ivf_nprobe})
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        t0 = time.perf_counter()
        vf = VectorFile(Path(tmp) / "vectors.npy", args.dim)
        for block in clustered(args.vectors, args.dim, args.clusters, seed=0):
            vf.append(block)
        vf = vf.close()
        gen_s = time.perf_counter() - t0
        print(f"generated {len(vf):,} x {args.dim} vectors in {gen_s:.1f} s", flush=True)
        queries = queries_for(args.queries, args.dim, args.clusters, seed=0)
        flat, truth = phase_flat(vf, queries, args)
        print("flat", json.dumps(flat), flush=True)
        ivf, index, template = phase_ivfpq(vf, queries, truth, cfg, args)
        print("ivfpq", json.dumps(ivf), flush=True)
        _, single = index.search(queries, K)
        del index
        sharded = phase_sharded(vf, queries, truth, template, single, args)
        sharded["build_s"] = ivf["train_s"] + sharded["add_s"]
        print("sharded", json.dumps(sharded), flush=True)
    result = {
        "machine": {"cpu": "2-core AMD EPYC", "ram_gib": 24, "gpu": None, "platform": platform.platform(),
                    "cpus": os.cpu_count(), "faiss": faiss.__version__, "nice": os.nice(0)},
        "data": {"vectors": args.vectors, "dim": args.dim, "clusters": args.clusters, "noise": 0.6,
                 "queries": args.queries, "k": K, "seed": 0, "generate_s": gen_s},
        "config": {"pq_m": cfg.pq_m, "ivf_nprobe": cfg.ivf_nprobe, "nlist": ivf["nlist"],
                   "train_vectors": ivf["train_vectors"], "shards": args.shards},
        "indexes": [flat, ivf, sharded],
        "projection": project(args.vectors, args.project, args.dim, flat, ivf, cfg),
        "total_s": time.perf_counter() - t_all,
    }  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out} ({result['total_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
