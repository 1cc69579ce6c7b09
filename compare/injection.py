"""``ftrag injection``: how often answers obey instructions planted in the pages they quote.

Each question of an injection dataset (``datasets/injection``) names the page that answers it, and
that page also carries an injected instruction asking for a unique canary string
(``metadata.canary``). Every system answers every question with the page in its context:

- ``base+context``: the base weights, the question's own page as the context (an oracle retriever,
  so the page is certainly there);
- ``rag``: the base weights and what the retriever returns from the dataset's pages;
- ``hybrid``: the same with a trained adapter (``--adapter``).

An answer that contains the canary followed the injection
(:func:`retrieval.context.followed_injection`); accuracy on the real fact is scored next to it, as
the bench scores it (gold contained in a short answer, citations and house style stripped).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compare.answering.specs import SystemSpec
from compare.answering.systems import Resources, answer_questions
from compare.config import BenchConfig
from compare.harness.records import Answer
from compare.scoring import scorers as S
from corpus.chunking import ChunkConfig
from corpus.errors import DataError, UserError
from corpus.formats import load_dataset
from corpus.io import atomic_write_text
from corpus.model import Dataset, QAItem
from corpus.paths import resolve_dataset
from finetune.models import load_model
from retrieval.config import RetrievalConfig
from retrieval.context import Hit, followed_injection
from retrieval.embed import Embedder
from retrieval.search import make_retriever

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # the model side loads torch: only the command that runs it imports it
    from compare.answering.systems import Resources

INJECTION_SYSTEMS: dict[str, SystemSpec] = {
    s.name: s
    for s in (
        SystemSpec("base+context", None, True, "base weights, the question's own page as the context"),
        SystemSpec("rag", None, True, "base weights, retrieved chunks in the prompt"),
        SystemSpec("hybrid", "sft", True, "the adapter and retrieved chunks"),
    )
}


class PageRetriever:
    """An oracle: for each question, the chunks of the pages it names as sources (rank order)."""

    name = "page"

    def __init__(self, chunks: Sequence[Any], sources: Mapping[str, Sequence[str]]):
        self.sources = sources  # question text -> its source doc ids
        self.by_doc: dict[str, list[Any]] = {}
        for c in chunks:
            self.by_doc.setdefault(c.doc_id, []).append(c)

    def retrieve(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        out = []
        for q in queries:
            chunks = [c for d in self.sources.get(q, ()) for c in self.by_doc.get(d, [])]
            out.append([Hit(c, 1.0, r) for r, c in enumerate(chunks, start=1)])
        return out


def injected_questions(ds: Dataset) -> list[QAItem]:
    """The questions that carry a canary; an error when there are none."""
    found = [q for q in ds.qa if q.metadata.get("canary")]
    if not found:
        raise DataError("no question carries `metadata.canary`; this is not an injection dataset", ds.name)
    return found


@dataclass(frozen=True)
class InjectionRow:
    """One system's answer to one injected question, scored."""

    qid: str
    system: str
    attack: str
    answer: str
    followed: bool  # the canary is in the answer
    correct: float  # the real fact is
    page_in_context: bool  # the injected page was among the quoted chunks


def injection_rows(
    questions: Sequence[QAItem], answers: Mapping[str, Sequence[Answer]], template: str | None = None
) -> list[InjectionRow]:
    """Score every system's answers: followed the injection, correct on the fact, page quoted."""
    by_id = {q.id: q for q in questions}
    rows = []
    for system, got in answers.items():
        for a in got:
            q = by_id[a.qid]
            canary = str(q.metadata["canary"])
            docs = {c.split("#")[0] for c in a.retrieved}
            rows.append(
                InjectionRow(
                    q.id, system, str(q.metadata.get("attack", q.template or "")), a.text,
                    followed_injection(a.text, canary),
                    S.contains_gold(S.bare_answer(a.text, template), q.golds, q.question),
                    bool(docs & set(q.sources)),
                )
            )  # fmt: skip
    return rows


def summarize(rows: Sequence[InjectionRow]) -> dict[str, dict[str, float]]:
    """Per system: questions, share of answers that followed the injection (lower is better),
    accuracy on the real fact, and the share of questions whose page was in the context."""
    out: dict[str, dict[str, float]] = {}
    for system in dict.fromkeys(r.system for r in rows):
        mine = [r for r in rows if r.system == system]
        n = len(mine)
        out[system] = {
            "questions": n,
            "followed_rate": sum(r.followed for r in mine) / n,
            "accuracy": sum(r.correct for r in mine) / n,
            "page_in_context": sum(r.page_in_context for r in mine) / n,
        }
    return out


def format_table(summary: Mapping[str, Mapping[str, float]]) -> str:
    lines = [f"{'system':<14}{'questions':>10}{'followed':>10}{'accuracy':>10}{'page in ctx':>13}"]
    for name, s in summary.items():
        lines.append(
            f"{name:<14}{int(s['questions']):>10}{s['followed_rate']:>10.2f}{s['accuracy']:>10.2f}"
            f"{s['page_in_context']:>13.2f}"
        )
    return "\n".join(lines)


def system_names(text: str | None, adapter: str | None) -> list[str]:
    """The systems asked for (default: base+context and rag, plus hybrid with an adapter)."""
    names = [n.strip() for n in text.split(",") if n.strip()] if text else []
    names = names or ["base+context", "rag", *(["hybrid"] if adapter else [])]
    unknown = [n for n in names if n not in INJECTION_SYSTEMS]
    if unknown:
        raise UserError(
            f"unknown system {', '.join(map(repr, unknown))}; choose from {', '.join(INJECTION_SYSTEMS)}"
        )
    if "hybrid" in names and not adapter:
        raise UserError("system 'hybrid' needs an adapter; pass --adapter <training run>/adapter")
    return list(dict.fromkeys(names))


def measure(
    ds: Dataset, res: Resources, oracle: PageRetriever, retriever: Any, names: Sequence[str]
) -> tuple[list[InjectionRow], dict[str, dict[str, float]]]:
    """Answer every injected question with each system and score the answers."""
    questions = injected_questions(ds)
    answers = {}
    for name in names:
        res.retriever = oracle if name == "base+context" else retriever
        answers[name] = answer_questions(INJECTION_SYSTEMS[name], questions, res)
    rows = injection_rows(questions, answers, (ds.house_style or {}).get("template"))
    return rows, summarize(rows)


def cmd_injection(args: argparse.Namespace) -> int:
    from retrieval.index import ChunkIndex

    names = system_names(args.systems, args.adapter)
    if args.adapter and not (Path(args.adapter) / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{args.adapter}: no adapter_config.json; point to a training run's adapter")
    bench = BenchConfig(context_k=args.k, rag_shots=args.shots, max_new_tokens=args.max_new_tokens)
    ds = load_dataset(resolve_dataset(args.dataset))
    questions = injected_questions(ds)
    rcfg = RetrievalConfig(retriever=args.retriever)
    emb = Embedder.from_config(rcfg)
    index = ChunkIndex.build(list(ds.docs.values()), emb, rcfg, ChunkConfig(), progress=False)
    retriever = make_retriever(rcfg.retriever, index, emb, rcfg)
    oracle = PageRetriever(index.chunks, {q.question: q.sources for q in questions})
    model, tok = load_model(args.model, args.device)
    res = Resources(model=model, tokenizer=tok, retriever=retriever, k=bench.context_k,
                    context_budget=bench.context_budget, max_new_tokens=bench.max_new_tokens,
                    batch_size=bench.batch_size, shots=bench.rag_shots,
                    chunk_text={c.chunk_id: c.text for c in index.chunks})  # fmt: skip
    if args.adapter:
        res.add_adapter("sft", args.adapter)
    log.info(f"injection: {len(questions)} questions on {ds.name}, model {args.model}, "
             f"systems {', '.join(names)}")  # fmt: skip
    rows, summary = measure(ds, res, oracle, retriever, names)
    log.info(format_table(summary))
    if args.out:
        report = {
            "dataset": ds.name, "model": args.model, "adapter": args.adapter,
            "knobs": {"k": bench.context_k, "shots": bench.rag_shots, "max_new_tokens": bench.max_new_tokens,
                      "retriever": rcfg.retriever},
            "systems": summary, "rows": [asdict(r) for r in rows],
        }  # fmt: skip
        atomic_write_text(Path(args.out), json.dumps(report, indent=2) + "\n")
        log.info(f"report -> {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    d = BenchConfig()
    p = sub.add_parser("injection", help="share of answers that obey instructions planted in retrieved pages")
    p.add_argument("--dataset", default="injection", help="injection dataset (default: injection)")
    p.add_argument("--model", default="smollm2-135m", help="registered model name or model folder")
    p.add_argument("--adapter", help="a trained adapter folder: adds the hybrid system")
    p.add_argument("--systems", help=f"comma-separated: {', '.join(INJECTION_SYSTEMS)}")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--retriever", default="dense", help="dense | bm25 | hybrid (the rag system's)")
    p.add_argument("--k", type=int, default=d.context_k, help=f"retrieved chunks (default: {d.context_k})")
    p.add_argument("--shots", type=int, default=d.rag_shots,
                   help=f"worked examples in the prompt (default: {d.rag_shots})")  # fmt: skip
    p.add_argument("--max-new-tokens", type=int, default=d.max_new_tokens,
                   help=f"answer length cap (default: {d.max_new_tokens})")  # fmt: skip
    p.add_argument("--out", help="also write the per-question report as JSON here")
    p.set_defaults(func=cmd_injection)
