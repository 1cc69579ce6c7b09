"""Sharded FAISS indexes: N indexes over slices of the vectors, searched in parallel and merged.

A shard holds global int64 ids, so merging is a top-k over the shards' top-k lists. Results are
ordered by score, then by id (lower first), so ties come out the same way on every run and for
every shard count: ``ShardedIndex(shards).search(q, k)`` equals one exact index over the same
vectors searched with that order. FAISS itself breaks ties by internal position, which differs
between one index and N shards, so each shard's list is re-cut under the (score, id) order and
deepened while ties cross the k-th place.

Shards of an IVF index share one trained quantizer and PQ codebook (they are copies of one
trained, empty index), so probing is identical in every shard and a sharded IVF-PQ search
returns what the unsharded index would.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import faiss
import numpy as np

from corpus.errors import UserError

# Below this many queries shards are searched in turn: handing work to the pool cost ~0.7 ms on
# 2 loaded cores, more than one shard's single-query IVF-PQ search (0.03-0.1 ms at 250k vectors).
POOL_MIN_QUERIES = 16


def shard_name(i: int) -> str:
    return f"index-{i:02d}.faiss"


def shard_bounds(n: int, shards: int) -> list[tuple[int, int]]:
    """Contiguous row ranges ``[start, stop)`` of ``n`` rows cut into ``shards`` near-equal slices."""
    if not isinstance(shards, int) or shards < 1:
        raise UserError(f"`shards` must be a positive integer, got {shards!r}")
    edges = [n * i // shards for i in range(shards + 1)]
    return list(itertools.pairwise(edges))


def _ordered(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's best ``k`` by (score desc, id asc); empty slots (id -1, score -inf) go last."""
    if scores.shape[1] < k:  # fewer candidates than k in all: pad as FAISS does
        pad = k - scores.shape[1]
        scores = np.hstack([scores, np.full((len(scores), pad), -np.inf, np.float32)])
        ids = np.hstack([ids, np.full((len(ids), pad), -1, np.int64)])
    scores = np.where(ids < 0, -np.inf, scores).astype(np.float32)
    order = np.lexsort((ids, -scores), axis=-1)[:, :k]
    rows = np.arange(len(order))[:, None]
    return scores[rows, order], ids[rows, order]


def search_exact_ties(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``index.search`` cut to the top ``k`` by (score, id), deepening while ties cross place k."""
    return _ordered(*_search_deep(index, queries, k), k)


def _search_deep(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw ``(scores, ids)`` at least ``k`` deep that hold every candidate tied with place k."""
    k = min(k, int(index.ntotal))
    depth = min(k + 1, int(index.ntotal))  # one past k: is place k+1 tied with place k?
    while True:
        scores, ids = index.search(queries, depth)
        full = ids[:, -1] >= 0  # a full list: more candidates may sit beyond it
        tied = scores[:, -1] == scores[:, k - 1]  # the last place ties place k: the tie may go on
        if depth >= index.ntotal or not (full & tied).any():
            return scores, ids
        depth = min(2 * depth, int(index.ntotal))


def merge_topk(parts: list[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge per-shard ``(scores, ids)`` lists (any widths) into one top-k by (score desc, id asc)."""
    scores = np.concatenate([s for s, _ in parts], axis=1)
    ids = np.concatenate([i for _, i in parts], axis=1)
    return _ordered(scores, ids, k)


class ShardedIndex:
    """N FAISS indexes queried by a thread pool (FAISS releases the GIL), top-k merged.

    Quacks like the FAISS index :class:`retrieval.index.ChunkIndex` holds: ``ntotal``, ``d``,
    ``search``, ``add_with_ids``, ``remove_ids``.

    >>> sharded = ShardedIndex([shard_a, shard_b])  # doctest: +SKIP
    >>> scores, ids = sharded.search(queries, 10)  # doctest: +SKIP
    """

    def __init__(self, shards: list[faiss.Index], threads: int | None = None):
        if not shards:
            raise UserError("`shards` must hold at least one index")
        self.shards = shards
        self.threads = threads or min(len(shards), os.cpu_count() or 1)
        self._pool: ThreadPoolExecutor | None = None

    @property
    def ntotal(self) -> int:
        return sum(int(s.ntotal) for s in self.shards)

    @property
    def d(self) -> int:
        return int(self.shards[0].d)

    @property
    def is_trained(self) -> bool:
        return all(s.is_trained for s in self.shards)

    def _map(self, fn, items, pool: bool = True):  # type: ignore[no-untyped-def]
        if self.threads == 1 or len(items) == 1 or not pool:
            return [fn(x) for x in items]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="ftrag-shard")
        return list(self._pool.map(fn, items))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(scores, ids)`` per query over all shards, as one index would return them."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        live = [s for s in self.shards if s.ntotal]
        if not live:
            return np.full((len(q), k), -np.inf, np.float32), np.full((len(q), k), -1, np.int64)
        # Each pool thread gets its share of the cores for FAISS's own OpenMP threads: N shards x
        # all cores oversubscribed 2 cores 4x (batch throughput fell 4x at 4 shards).
        pooled = len(q) >= POOL_MIN_QUERIES and self.threads > 1
        omp = max(1, faiss.omp_get_max_threads() // min(self.threads, len(live))) if pooled else None

        def one(shard: faiss.Index) -> tuple[np.ndarray, np.ndarray]:
            if omp is not None:
                faiss.omp_set_num_threads(omp)  # per thread: only this pool thread's OpenMP team
            return _search_deep(shard, q, k)

        # each shard's list holds its top k and everything tied with its k-th: the union's top k is exact
        return merge_topk(self._map(one, live, pool=pooled), k)

    def add_with_ids(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """New vectors go to the smallest shard, which keeps shards balanced under updates."""
        min(self.shards, key=lambda s: s.ntotal).add_with_ids(vectors, ids)

    def remove_ids(self, selector: faiss.IDSelector) -> int:
        return sum(int(s.remove_ids(selector)) for s in self.shards)

    def write(self, folder: Path) -> list[str]:
        """Write ``index-NN.faiss`` files into ``folder``; returns their names."""
        names = [shard_name(i) for i in range(len(self.shards))]
        for shard, name in zip(self.shards, names, strict=True):
            faiss.write_index(shard, str(folder / name))
        return names

    @classmethod
    def read(cls, folder: Path, names: list[str]) -> ShardedIndex:
        return cls([faiss.read_index(str(folder / name)) for name in names])
