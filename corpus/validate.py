"""Dataset statistics and consistency checks behind ``ftrag data validate``.

Problems (from loading) make the dataset unusable and exit with code 2. Warnings are things a
careful user wants to know but that do not stop a run: an answer that is not verbatim in its
sources (the scorers cannot check grounding then), a test question that also appears in train.
"""

from __future__ import annotations

import re
from collections import Counter

from corpus.chunking import ChunkConfig, chunk_documents, count_tokens
from corpus.errors import Problem, group_problems
from corpus.loaders import Loaded
from corpus.model import KINDS, SPLITS, Dataset

NO_TRAIN = "no train questions: `ftrag bench` will generate training data from the pages"


def _contains(text: str, span: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(span.lower()) + r"(?!\w)", text.lower()) is not None


def dataset_warnings(ds: Dataset) -> list[Problem]:
    """Consistency checks that do not stop a run."""
    out: list[Problem] = []
    train_q = {q.question.strip().lower() for q in ds.questions("train")}
    if not train_q and any(d.text.strip() for d in ds.docs.values()):
        where = "qa.jsonl" if ds.qa else ds.name
        out.append(Problem(where, NO_TRAIN))
    for q in ds.qa:
        if q.split == "test" and q.question.strip().lower() in train_q:
            out.append(Problem("qa.jsonl", f"test question {q.id!r} also appears in train (leak)"))
        if q.kind != "unanswerable" and q.answer and q.sources:
            texts = [ds.docs[s].text for s in q.sources if s in ds.docs]
            if texts and not any(_contains(t, g) for t in texts for g in q.golds):
                out.append(Problem("qa.jsonl", f"answer of {q.id!r} is not verbatim in its sources"))
    for version, upd in ds.updates.items():
        docs = {**ds.docs, **upd.docs}
        for q in upd.qa:
            texts = [docs[s].text for s in q.sources if s in docs]
            if q.answer and texts and not any(_contains(t, q.answer) for t in texts):
                out.append(
                    Problem(
                        f"updates/{version}/qa.jsonl",
                        f"new answer of {q.id!r} is not in its sources",
                    )
                )
    return out


def dataset_stats(ds: Dataset, chunk_config: ChunkConfig | None = None) -> dict[str, object]:
    """Counts a user checks before spending compute: docs, tokens, chunks, questions."""
    chunks = chunk_documents(ds.docs.values(), chunk_config)
    tokens = [count_tokens(d.text) for d in ds.docs.values()]
    grid = Counter((q.split, q.kind) for q in ds.qa)
    return {
        "name": ds.name,
        "documents": len(ds.docs),
        "tokens": sum(tokens),
        "tokens_per_doc_max": max(tokens, default=0),
        "chunks": len(chunks),
        "chunk_tokens_mean": round(sum(c.n_tokens for c in chunks) / max(len(chunks), 1), 1),
        "questions": len(ds.qa),
        "questions_by_split_kind": {
            s: {k: grid[(s, k)] for k in KINDS if grid[(s, k)]}
            for s in SPLITS
            if any(grid[(s, k)] for k in KINDS)
        },
        "facts": len({q.fact_id for q in ds.qa if q.fact_id and q.kind == "fact"}),
        "updates": {v: {"documents": len(u.docs), "questions": len(u.qa)} for v, u in ds.updates.items()},
    }


def format_report(loaded: Loaded, stats: dict[str, object] | None, warnings: list[Problem]) -> str:
    """The text ``ftrag data validate`` prints: the loader's warnings and ``warnings``, then the
    problems; a message repeated on many lines of a file is shown once with its lines."""
    lines = [f"dataset {loaded.dataset.name} (format: {loaded.fmt})"]
    if stats:
        lines.append(
            f"  documents {stats['documents']}  tokens {stats['tokens']}  chunks {stats['chunks']} "
            f"(mean {stats['chunk_tokens_mean']} tokens)  questions {stats['questions']}  "
            f"facts {stats['facts']}"
        )
        table = stats["questions_by_split_kind"]
        assert isinstance(table, dict)
        if table:
            lines.append("  questions  " + "  ".join(f"{k:>12}" for k in KINDS))
            for split, row in table.items():
                lines.append(f"  {split:<9}  " + "  ".join(f"{row.get(k, 0):>12}" for k in KINDS))
        for version, u in stats["updates"].items():  # type: ignore[union-attr]
            lines.append(
                f"  update {version}: {u['documents']} changed documents, {u['questions']} changed questions"
            )
    if loaded.skipped:
        lines.append(f"skipped {len(loaded.skipped)}:")
        lines += [f"  {path}: {why}" for path, why in loaded.skipped[:50]]
        if len(loaded.skipped) > 50:
            lines.append(f"  ... and {len(loaded.skipped) - 50} more")
    if loaded.replaced:
        lines.append(f"decoded with replacement characters {len(loaded.replaced)}:")
        lines += [f"  {p}" for p in loaded.replaced]
    shown = group_problems([*loaded.warnings, *warnings])
    if shown:
        lines.append(f"warnings {len(shown)}:")
        lines += [f"  {w}" for w in shown]
    problems = group_problems(loaded.problems)
    lines.append(f"problems {len(problems)}" + (":" if problems else " - dataset is valid"))
    lines += [f"  {p}" for p in problems]
    return "\n".join(lines)
