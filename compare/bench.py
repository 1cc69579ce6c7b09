"""``ftrag bench``: the default benchmark.

It runs what exists so far: dataset validation and statistics, then the retrieval stage (index
build into the run folder, and recall/MRR/nDCG of the dense, BM25 and hybrid retrievers on the
test split). It writes ``runs/<timestamp>-<name>/`` with the resolved config and ``summary.json``.
The generation systems (base, rag, ft, hybrid) join as the harness lands.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from corpus.chunking import ChunkConfig
from corpus.config import add_config_args, config_from_args, save_config
from corpus.errors import DataError
from corpus.formats import load
from corpus.io import atomic_write_text
from corpus.model import Dataset
from corpus.paths import resolve_dataset
from corpus.validate import dataset_stats, dataset_warnings, format_report
from retrieval.config import RetrievalConfig

SCHEMA_VERSION = 1


def new_run_dir(runs: Path, name: str) -> Path:
    """A fresh ``runs/<timestamp>-<name>/``; never reuses a folder another bench created."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        path = runs / (f"{stamp}-{name}" + (f"-{n}" if n else ""))
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a run folder under {runs}")


def retrieval_stage(ds: Dataset, run: Path, cfg: RetrievalConfig, chunking: ChunkConfig) -> dict:
    """Build the index into the run folder and score every registered retriever on the test split."""
    from retrieval.embed import Embedder
    from retrieval.evaluate import RetrievalEvaluator
    from retrieval.index import ChunkIndex
    from retrieval.search import RETRIEVERS, make_retriever

    print("\nretrieval: building the index")
    emb = Embedder(cfg.embedder, batch_size=cfg.batch_size, backend=cfg.embed_backend)
    index = ChunkIndex.build(list(ds.docs.values()), emb, cfg, chunking, progress=True)
    index.save(run / "index")
    embedded, cached = emb.stats["encoded"], emb.stats["cached"]  # before queries add to them
    out: dict = {"index": {"kind": index.kind, "chunks": len(index.chunks), **index.manifest["build"]}}
    split = "test" if ds.qrels("test") else None
    if not ds.qrels(split):
        print("retrieval: no questions with sources; skipping evaluation")
        return out
    results = {}
    for name in sorted(RETRIEVERS):
        results[name] = RetrievalEvaluator(ds, split=split)(make_retriever(name, index, emb, cfg))
    out["metrics"] = results
    names = sorted(results)
    b = index.manifest["build"]
    print(f"retrieval on {split or 'all'} split: {int(results[names[0]]['queries'])} queries, "
          f"{len(index.chunks)} chunks ({index.kind}), index built in {b['seconds']:.1f} s "
          f"({embedded} chunks embedded, {cached} from cache)")  # fmt: skip
    print(f"  {'metric':<12}" + "".join(f"{n:>9}" for n in names))
    for m in ("recall@1", "recall@5", "mrr@10", "ndcg@10"):
        print(f"  {m:<12}" + "".join(f"{results[n][m]:>9.3f}" for n in names))
    return out


def cmd_bench(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    path = resolve_dataset(args.dataset)
    loaded = load(path, qa=args.qa)
    if loaded.problems:
        raise DataError(loaded.problems)
    chunking, retrieval = config_from_args(ChunkConfig, args), config_from_args(RetrievalConfig, args)
    stats = dataset_stats(loaded.dataset, chunking)
    warnings = dataset_warnings(loaded.dataset)
    print(format_report(loaded, stats, warnings))
    run = new_run_dir(Path(args.runs), args.name)
    save_config(
        run / "config.json",
        chunking=chunking,
        retrieval=retrieval,
        bench={"dataset": str(path), "qa": args.qa, "name": args.name, "retrieval": not args.no_retrieval},
    )
    stages = (
        {} if args.no_retrieval else {"retrieval": retrieval_stage(loaded.dataset, run, retrieval, chunking)}
    )
    summary = {
        "schema_version": SCHEMA_VERSION,
        "stages": ["dataset", *stages],
        "dataset": stats,
        **stages,
        "warnings": [str(w) for w in warnings],
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "wall_seconds": round(time.perf_counter() - t0, 3),
    }
    atomic_write_text(run / "summary.json", json.dumps(summary, indent=2) + "\n")
    print(f"run folder: {run}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run the benchmark on a dataset (default: the bundled one)")
    p.add_argument("--dataset", help="dataset folder or bundled name (default: tessaline)")
    p.add_argument("--qa", help="questions JSONL for a plain docs folder")
    p.add_argument("--runs", default="runs", help="folder for run folders (default: runs)")
    p.add_argument("--name", default="bench", help="run name (default: bench)")
    p.add_argument("--no-retrieval", action="store_true", help="skip the retrieval stage")
    add_config_args(p, ChunkConfig)
    add_config_args(p, RetrievalConfig)
    p.set_defaults(func=cmd_bench)
