"""``ftrag index ...``, ``ftrag retrieval eval`` and ``ftrag retrievability``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from corpus.chunking import ChunkConfig
from corpus.config import add_config_args, config_from_args, save_config
from corpus.errors import DataError, UserError
from corpus.formats import load, load_dataset
from corpus.loaders import Loaded, check_sources, load_qa
from corpus.model import Dataset
from corpus.paths import resolve_dataset
from retrieval.config import EMBED_BATCH, RetrievalConfig
from retrieval.retrievability import PageQuery
from retrieval.search import RETRIEVERS, make_retriever


def _dataset(args: argparse.Namespace) -> Dataset:
    return load_dataset(resolve_dataset(args.dataset), qa=getattr(args, "qa", None),
                        fmt=getattr(args, "format", "auto"))  # fmt: skip


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_index(ds: Dataset, cfg: RetrievalConfig, chunking: ChunkConfig, progress: bool = True):
    from retrieval.embed import Embedder
    from retrieval.index import ChunkIndex

    embedder = Embedder.from_config(cfg)
    return ChunkIndex.build(list(ds.docs.values()), embedder, cfg, chunking, progress=progress), embedder


def cmd_index_build_streaming(args: argparse.Namespace) -> int:
    """A JSONL file is read one document at a time; other formats load, then chunk and embed in batches."""
    from retrieval.embed import Embedder
    from retrieval.stream import build_streaming, iter_jsonl_documents

    cfg, chunking = config_from_args(RetrievalConfig, args), config_from_args(ChunkConfig, args)
    path = Path(args.dataset)
    if path.suffix == ".jsonl" and path.is_file():
        docs, name = iter_jsonl_documents(path), path.stem
    else:
        ds = _dataset(args)
        docs, name = iter(ds.docs.values()), ds.name
    emb = Embedder.from_config(cfg)
    out = Path(args.out) if args.out else Path("indexes") / name
    manifest = build_streaming(docs, emb, out, cfg, chunking, batch_size=args.stream_batch)
    save_config(out / "config.json", retrieval=cfg, chunking=chunking)
    b = manifest["build"]
    kind = manifest["kind"] + (f", {len(manifest['shards'])} shards" if manifest.get("shards") else "")
    print(f"indexed {b['documents']} documents as {manifest['n_vectors']} chunks ({kind}, dim {emb.dim}), "
          f"streamed in {b['batches']} batches of <= {args.stream_batch}")  # fmt: skip
    print(f"  embedded {emb.stats['encoded']}, from cache {emb.stats['cached']}, {b['seconds']:.2f} s")
    print(f"  {_size(out) / 1e6:.2f} MB on disk -> {out}")
    return 0


def cmd_index_build(args: argparse.Namespace) -> int:
    if args.stream:
        return cmd_index_build_streaming(args)
    ds = _dataset(args)
    cfg, chunking = config_from_args(RetrievalConfig, args), config_from_args(ChunkConfig, args)
    out = Path(args.out) if args.out else Path("indexes") / ds.name
    if out.exists() and not (out / "manifest.json").is_file() and (out.is_file() or any(out.iterdir())):
        # saving swaps the folder in whole: never replace a file or a folder that is not an index
        raise FileExistsError(f"{out} exists and is not an index folder; choose another --out")
    index, emb = build_index(ds, cfg, chunking)
    out = index.save(out)
    save_config(out / "config.json", retrieval=cfg, chunking=chunking)
    b = index.manifest["build"]
    print(f"indexed {len(ds.docs)} documents as {len(index.chunks)} chunks ({index.kind}, dim {emb.dim})")
    print(f"  embedded {emb.stats['encoded']}, from cache {emb.stats['cached']}, {b['seconds']:.2f} s")
    print(f"  {_size(out) / 1e6:.2f} MB on disk -> {out}")
    return 0


def cmd_index_update(args: argparse.Namespace) -> int:
    from retrieval.embed import Embedder
    from retrieval.index import ChunkIndex

    ds = _dataset(args)
    if args.version:
        ds = ds.with_update(args.version)
    index = ChunkIndex.load(args.index)
    emb = Embedder(index.manifest["embedder"])
    removed = sorted(set(index.manifest["doc_hashes"]) - set(ds.docs)) if args.prune else []
    rep = index.update(list(ds.docs.values()), emb, removed=removed)
    index.save(args.index)
    print(f"updated {args.index}: {len(rep.docs_changed)} changed, {len(rep.docs_added)} added, "
          f"{len(rep.docs_removed)} removed documents; chunks -{rep.chunks_removed} +{rep.chunks_added}, "
          f"embedded {rep.embedded}, {rep.seconds:.2f} s")  # fmt: skip
    return 0


def cmd_index_search(args: argparse.Namespace) -> int:
    from retrieval.embed import Embedder
    from retrieval.index import ChunkIndex

    query = args.query.strip()
    if not query:
        raise UserError("empty query; type some words to search for")
    index = ChunkIndex.load(args.index, embedder_name=args.embedder)
    emb = Embedder(index.manifest["embedder"])
    n = emb.n_tokens(query)
    if n > emb.max_tokens:
        print(
            f"note: query is {n} tokens; the embedder reads only the first {emb.max_tokens}", file=sys.stderr
        )
    cfg = RetrievalConfig(**index.manifest["config"])
    retriever = make_retriever(args.retriever, index, emb, cfg)
    t0 = time.perf_counter()
    (hits,) = retriever.retrieve([query], args.k)
    ms = (time.perf_counter() - t0) * 1000
    print(f"{len(hits)} hits for {query!r} ({args.retriever}, {ms:.1f} ms)")
    for h in hits:
        first = h.chunk.text.split("\n\n", 1)[-1].replace("\n", " ")
        print(f"{h.rank:>3}. {h.score:7.4f}  {h.chunk_id:<40} {first[:90]}")
    return 0


def parse_ks(text: str) -> tuple[int, ...]:
    """``--ks 1,3,5`` as positive integers; anything else names the flag."""
    try:
        ks = tuple(int(k) for k in text.split(","))
    except ValueError:
        ks = ()
    if not ks or min(ks) < 1:
        raise UserError(f"`--ks` must be comma-separated positive integers such as 1,3,5, got {text!r}")
    return ks


def cmd_eval(args: argparse.Namespace) -> int:
    from retrieval.embed import Embedder
    from retrieval.evaluate import RetrievalEvaluator
    from retrieval.index import ChunkIndex

    ks = parse_ks(args.ks)  # before the index is built: a bad flag fails at once
    ds = _dataset(args)
    cfg, chunking = config_from_args(RetrievalConfig, args), config_from_args(ChunkConfig, args)
    if cfg.retriever != "all" and cfg.retriever not in RETRIEVERS:
        make_retriever(cfg.retriever, None, None)  # raises, naming the valid ones
    index, emb = (ChunkIndex.load(args.index), None) if args.index else build_index(ds, cfg, chunking)
    emb = emb or Embedder(index.manifest["embedder"])
    split = None if args.split == "all" else args.split
    names = sorted(RETRIEVERS) if cfg.retriever == "all" else [cfg.retriever]
    results = {}
    for name in names:
        ev = RetrievalEvaluator(ds, split=split, ks=ks)
        results[name] = ev(make_retriever(name, index, emb, cfg), progress=True)
    if not results[names[0]].get("queries"):
        raise DataError(
            f"no questions with sources in split {args.split!r}; nothing to evaluate", args.dataset
        )
    metrics = [f"{m}@{k}" for m in ("recall", "precision", "mrr", "hit") for k in ks] + ["ndcg@10"]
    print(f"retrieval on {ds.name} ({args.split}, {int(results[names[0]]['queries'])} queries, "
          f"{len(index.chunks)} chunks, {index.kind})")  # fmt: skip
    print(f"{'metric':<14}" + "".join(f"{n:>10}" for n in names))
    for m in metrics:
        print(f"{m:<14}" + "".join(f"{results[n][m]:>10.4f}" for n in names))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _given_queries(path: Path, docs: dict) -> list[PageQuery]:
    """Queries from a QA JSONL (each owned by its first source, written as a doc id or a file name
    such as ``install.md``) or a text file, one per line."""

    if not path.is_file():
        raise DataError("queries file not found; check --queries", path)
    if path.suffix == ".jsonl":
        loaded = Loaded(Dataset("queries", {}))
        items = load_qa(path, loaded)
        check_sources(items, docs, path, loaded)
        if loaded.problems:
            raise DataError(loaded.problems)
        return [PageQuery(q.question, q.sources[0] if q.sources else None, "given") for _, q in items]
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return [PageQuery(ln, None, "given") for ln in lines]


def cmd_retrievability(args: argparse.Namespace) -> int:
    from retrieval.report import write_report
    from retrieval.retrievability import analyze, page_queries

    if args.cutoff < 1:
        raise UserError(f"`--cutoff` must be a positive integer, got {args.cutoff}")
    if not args.beta >= 0:  # a negative exponent would reward low ranks
        raise UserError(f"`--beta` must be >= 0, got {args.beta}")
    loaded = load(resolve_dataset(args.docs), fmt=args.format)
    if loaded.problems:
        raise DataError(loaded.problems)
    docs = loaded.dataset.docs
    cfg, chunking = config_from_args(RetrievalConfig, args), config_from_args(ChunkConfig, args)
    if args.queries:
        queries, source = _given_queries(Path(args.queries), docs), f"given: {args.queries}"
    else:
        queries = [q for d in docs.values() for q in page_queries(d)]
        source = "generated from each page's title, headings and key sentences"
    if not queries:
        raise DataError("no queries to run", args.queries or args.docs)
    index, emb = build_index(loaded.dataset, cfg, chunking)
    retriever = make_retriever(cfg.retriever, index, emb, cfg)
    result = analyze(docs, queries, retriever, index, cutoff=args.cutoff, beta=args.beta, progress=True,
                     query_source=source)  # fmt: skip
    out = Path(args.out)
    paths = write_report(result, out)
    save_config(out / "config.json", retrieval=cfg, chunking=chunking,
                retrievability={"cutoff": args.cutoff, "beta": args.beta, "queries": source})  # fmt: skip
    never = sum(p.status == "never" for p in result.pages)
    flagged = sum(bool(p.diagnoses) for p in result.pages)
    gini = result.gini_cumulative
    print(f"{len(docs)} pages, {len(queries)} queries, cutoff {args.cutoff}: "
          f"Gini {gini:.3f}, {never} never retrieved, {flagged} with diagnoses")  # fmt: skip
    for p in [p for p in result.pages if p.diagnoses][:10]:
        print(f"  {p.doc_id}: r={p.r_cumulative:g}, own top-1 {p.own_top1:.0%}: {p.diagnoses[0]}")
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _common(p: argparse.ArgumentParser, dataset: bool = True) -> None:
    if dataset:
        p.add_argument("dataset", help="dataset folder, docs folder, JSONL/CSV, BEIR folder or bundled name")
        p.add_argument("--qa", help="questions JSONL for a plain docs folder")
    add_config_args(p, RetrievalConfig)
    add_config_args(p, ChunkConfig)


def register(sub: argparse._SubParsersAction) -> None:
    idx = sub.add_parser("index", help="build, update and search FAISS indexes")
    isub = idx.add_subparsers(dest="index_command", required=True, metavar="COMMAND")
    p = isub.add_parser("build", help="chunk, embed and index a corpus")
    _common(p)
    p.add_argument("--out", help="index folder (default: indexes/<dataset name>)")
    p.add_argument(
        "--stream",
        action="store_true",
        help="bounded memory: embed in batches to disk, then index (for corpora larger than RAM)",
    )
    p.add_argument("--stream-batch", type=int, default=EMBED_BATCH,
                   help=f"chunks embedded per batch with --stream (default: {EMBED_BATCH})")  # fmt: skip
    p.set_defaults(func=cmd_index_build)

    p = isub.add_parser("update", help="re-index only the documents that changed")
    p.add_argument("index", help="index folder")
    p.add_argument("dataset", help="the corpus as it is now")
    p.add_argument("--version", help="apply this update version of the dataset first (e.g. v2)")
    p.add_argument("--prune", action="store_true", help="also drop documents no longer in the corpus")
    p.set_defaults(func=cmd_index_update)

    p = isub.add_parser("search", help="print the ranked chunks for a query")
    p.add_argument("index", help="index folder")
    p.add_argument("query", help="the query text")
    p.add_argument("-k", type=int, default=5, help="hits to print (default: 5)")
    p.add_argument("--retriever", default="dense", choices=sorted(RETRIEVERS))
    p.add_argument("--embedder", help="refuse to search unless the index was built with this embedder")
    p.set_defaults(func=cmd_index_search)

    ret = sub.add_parser("retrieval", help="retrieval evaluation")
    rsub = ret.add_subparsers(dest="retrieval_command", required=True, metavar="COMMAND")
    p = rsub.add_parser("eval", help="recall@k, precision@k, MRR, hit rate and nDCG@10 on a dataset")
    _common(p)
    p.add_argument("--index", help="use a saved index instead of building one in memory")
    p.add_argument("--split", default="test", choices=["train", "dev", "test", "all"])
    p.add_argument("--ks", default="1,3,5,10", help="cutoffs (default: 1,3,5,10)")
    p.add_argument("--json", help="also write the metrics to this JSON file")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("retrievability", help="which pages can be found at all (r(d), Gini, diagnoses)")
    p.add_argument("docs", help="docs folder, dataset folder, JSONL/CSV documents")
    p.add_argument(
        "--queries", help="QA JSONL (owned by their first source) or text file, one query per line"
    )
    p.add_argument("--cutoff", type=int, default=10, help="rank cutoff c (default: 10)")
    p.add_argument("--beta", type=float, default=0.5, help="gravity exponent (default: 0.5)")
    p.add_argument("--out", default="retrievability", help="output folder (default: retrievability)")
    p.add_argument("--format", default="auto")
    add_config_args(p, RetrievalConfig)
    add_config_args(p, ChunkConfig)
    p.set_defaults(func=cmd_retrievability)
