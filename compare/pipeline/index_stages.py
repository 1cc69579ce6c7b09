"""The retrieval side of a bench run: the cached index and its metrics, the retriever dev chose,
and which pages that retriever can find at all (retrievability)."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from compare.harness.run_record import Facts
from compare.harness.stages import StageCache
from compare.pipeline.tuning import RETRIEVER_METRIC, choose_retriever
from corpus.model import Dataset
from retrieval.config import RetrievalConfig
from retrieval.embed import Embedder
from retrieval.evaluate import RetrievalEvaluator
from retrieval.report import write_report
from retrieval.retrievability import analyze, page_queries
from retrieval.search import RETRIEVERS, make_retriever

log = logging.getLogger(__name__)


def retrieval_metrics(ds: Dataset, index: Any, emb: Any, cfg: RetrievalConfig, split: str) -> dict:
    """recall/MRR/nDCG of every registered retriever on the scored split."""
    if not ds.qrels(split):
        return {}
    return {
        name: RetrievalEvaluator(ds, split=split)(make_retriever(name, index, emb, cfg))
        for name in sorted(RETRIEVERS)
    }


def index_stage(ds: Dataset, configs: dict, cache: StageCache) -> tuple[Any, dict, Any, Facts]:
    """The configured retriever over the cached index, its chunk texts, the embedder, and the
    index's facts (its build, retrieval metrics and, when tuned, the retriever dev chose)."""
    rcfg = configs["retrieval"]
    log.info("\n[index] chunking and embedding the corpus")
    index, emb, info = cache.index(ds, configs["chunking"], rcfg)
    log.info(
        f"[index] {info['chunks']} chunks ({info['kind']}), {'cached' if info['cached'] else 'built'}"
        f" (build took {info['seconds']:.1f} s)"
    )
    facts: Facts = {
        "index": info | {"retrieval": retrieval_metrics(ds, index, emb, rcfg, configs["bench"].split)},
        "stage_seconds": {"index": round(info["seconds"], 1)},
    }
    if configs["bench"].tune and configs["bench"].tune_retrievers and ds.qrels("dev"):
        rcfg, facts["tuning"] = tune_retriever(ds, index, emb, rcfg)
        configs["retrieval"] = rcfg
    retriever = make_retriever(rcfg.retriever, index, emb, rcfg)
    return retriever, {c.chunk_id: c.text for c in index.chunks}, emb, facts


def tune_retriever(ds: Dataset, index: Any, emb: Any, rcfg: RetrievalConfig) -> tuple[RetrievalConfig, Facts]:
    """The retrieval config with the retriever that ranks best on dev (MRR@10; no generation), and
    the trial as the run's ``tuning`` facts."""
    t0 = time.perf_counter()
    metrics = retrieval_metrics(ds, index, emb, rcfg, "dev")
    best = choose_retriever(metrics, rcfg.retriever)
    tuning = {"split": "dev"}
    tuning["retriever"] = {
        "chosen": best,
        "default": rcfg.retriever,
        "metric": RETRIEVER_METRIC,
        "scores": {n: round(m[RETRIEVER_METRIC], 4) for n, m in metrics.items()},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    log.info(f"[tune:retriever] {RETRIEVER_METRIC} on dev: " + ", ".join(
        f"{n} {m[RETRIEVER_METRIC]:.3f}" for n, m in metrics.items()) + f" -> {best}")  # fmt: skip
    return replace(rcfg, retriever=best), tuning


def retrievability_stage(ds: Dataset, configs: dict, run: Path, index_path: str | None) -> Facts:
    """Which pages the configured retriever can find at all (generated page queries), written to
    ``run/retrievability/`` for content teams and the dashboard; seconds on the bundled corpus."""
    from retrieval.index import ChunkIndex

    rcfg, t0 = configs["retrieval"], time.perf_counter()
    queries = [q for d in ds.docs.values() for q in page_queries(d)]
    if not queries or index_path is None:
        return {}
    index = ChunkIndex.load(Path(index_path))
    emb = Embedder.from_config(rcfg)
    result = analyze(ds.docs, queries, make_retriever(rcfg.retriever, index, emb, rcfg), index)
    write_report(result, run / "retrievability")
    r = result.facts()
    log.info(f"[retrievability] {r['pages']} pages, Gini {r['gini']:.3f}, {r['never']} never retrieved")
    return {"retrievability": r, "stage_seconds": {"retrievability": round(time.perf_counter() - t0, 1)}}
