"""The hybrid's reader: which adapter reads the retrieved chunks, chosen on dev.

The closed-book ``sft`` adapter never saw a context in training, so the hybrid (that adapter with
chunks in front of the question) neither reads nor cites: on the bundled dataset it stayed 0.18
under RAG with citation precision 0.000. RAFT (Zhang et al. 2024) trains the reader on what it will
see: each train question with retrieved chunks (the oracle and distractors), the answer cited
``[n]``; for a share of them the oracle is taken out and the answer is the one memorised,
uncited (or the abstain answer: ``bench.raft_no_oracle``), and the unanswerable train questions
teach the abstain answer, so the adapter learns when the context lacks the answer; for another
share the page in the context says something else than the train answer (another answer of the
same form put in its place) and the target is what the page says, so the adapter learns to
follow the context over what it memorised (the freshness scenario measures it after a re-index
update). The context-trained adapters also keep the closed-book pairs (finetune.data); ``raft``
trains from the base weights, ``mix`` and ``distill`` train the closed-book adapter on
(compare.answering.readers). Which reader the hybrid uses is a dev choice like every other knob
(``bench.hybrid_readers``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from compare.answering.readers import READERS
from corpus.model import Dataset, QAItem, styled
from retrieval.context import assemble_context

# RAFT's 1 - P: the share of answerable train questions whose context has no oracle chunk. Zhang et
# al. found 60-80% with the oracle best; without one the answer here is the abstain answer.
RAFT_NO_ORACLE = 0.2
# Chunks retrieved per RAFT example beyond the prompt's k, so a context without the oracle still
# holds distractors.
RAFT_EXTRA_HITS = 2
# Context over memory: the share of answerable train questions (of those keeping the oracle) whose
# context holds another value than the train answer, which is then the target.
RAFT_COUNTERFACTUAL = 0.2
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")


def no_oracle_ids(questions: Sequence[QAItem], share: float, seed: int) -> set[str]:
    """The seeded ``share`` of answerable questions whose RAFT context leaves out the oracle."""
    pool = sorted(q.id for q in questions if q.kind != "unanswerable")
    return set(random.Random(seed).sample(pool, round(share * len(pool)))) if pool else set()


def shape(answer: str) -> str:
    """An answer's form: numbers as 0, capitalised words as A, other words as they are ("27 months"
    -> "0 months", "Marit Owqvist" -> "A A"); answers of one form can stand in for each other."""
    words = _DIGITS.sub("0", answer).split()
    return " ".join("A" if w[:1].isupper() else w for w in words)


def counterfactual(answer: str, pool: Sequence[str], rng: random.Random) -> str | None:
    """Another answer of ``pool`` with ``answer``'s form (None: there is none), chosen with ``rng``."""
    same = sorted({a for a in pool if a != answer and shape(a) == shape(answer)})
    return rng.choice(same) if same else None


def context_hits(hits: Sequence[Any], sources: Sequence[str], keep_oracle: bool, n: int) -> list[Any]:
    """The first ``n`` hits, or the first ``n`` that come from no gold source."""
    return list(hits[:n]) if keep_oracle else [h for h in hits if h.doc_id not in sources][:n]


def cited_answer(answer: str, doc_ids: Sequence[str], sources: Sequence[str], fallback: str) -> str:
    """``answer [n]`` with ``n`` the first numbered chunk from a gold source; ``fallback`` when
    none is (the context does not hold the answer: the abstain answer, or the answer uncited)."""
    n = next((i + 1 for i, d in enumerate(doc_ids) if d in sources), None)
    return f"{answer} [{n}]" if n else fallback


def raft_examples(
    ds: Dataset, retriever: Any, k: int, budget: int, seed: int, no_oracle: str = "memory"
) -> list[tuple[str, str, str]]:
    """(question, numbered context, cited answer) for every train question: answerable ones with
    the retriever's chunks (two at least, so there is a distractor), a seeded share of them with the
    oracle left out (answered as ``no_oracle`` says, compare.answering.readers.NO_ORACLE);
    unanswerable ones with their chunks and the abstain answer."""
    style = ds.meta.get("house_style")
    train = ds.questions("train")
    n = max(2, k)
    hits = retriever.retrieve([q.question for q in train], n + RAFT_EXTRA_HITS) if train else []
    drop = no_oracle_ids(train, RAFT_NO_ORACLE, seed)
    flip = no_oracle_ids([q for q in train if q.id not in drop], RAFT_COUNTERFACTUAL, seed + 1)
    pool, rng = [q.answer for q in train if q.kind != "unanswerable"], random.Random(seed)
    out = []
    for q, hs in zip(train, hits, strict=True):
        answerable = q.kind != "unanswerable"
        ctx = assemble_context(context_hits(hs, q.sources, q.id not in drop, n), budget)
        text, value = ctx.text, q.answer
        said = re.compile(r"(?<!\w)" + re.escape(q.answer) + r"(?!\w)") if q.answer else None
        other = counterfactual(q.answer, pool, rng) if said and q.id in flip and said.search(text) else None
        if other:  # the page says otherwise: the target is what it says
            text, value = said.sub(lambda _, o=other: o, text), other
        fallback = ds.abstain_answer if no_oracle == "abstain" else value
        answer = cited_answer(value, ctx.doc_ids, q.sources, fallback) if answerable else None
        out.append((q.question, text, styled(answer or ds.abstain_answer, style)))
    return out


def distill_examples(ds: Dataset, teacher: str, res: Any, cache: Any, key: str) -> list[tuple[str, str, str]]:
    """(question, numbered context, the ``teacher`` system's answer) for every train question:
    what the teacher's prompt, worked examples included, makes the model answer, as the target of
    a reader prompted without them (compare.answering.readers, ``distill``). The teacher's answers
    are cached under ``key`` and what they depend on."""
    from dataclasses import replace

    from compare.answering.specs import SYSTEMS
    from compare.answering.systems import build_prompts, cached_answers

    train = ds.questions("train")
    if not train:
        return []
    spec = replace(SYSTEMS[teacher], name=f"{teacher}@teacher")
    _, contexts, _ = build_prompts(spec, train, res)
    answers, _ = cached_answers(cache, spec, train, res, key)
    return [(q.question, c.text, a.text) for q, c, a in zip(train, contexts, answers, strict=True)]


def reading_with(spec: Any, name: str) -> Any:
    """The hybrid ``spec`` with adapter ``name`` as its reader (itself when that is its adapter).
    A context-trained reader learned the prompt without worked examples (finetune.data), as the
    raft system does."""
    from dataclasses import replace

    if name == spec.adapter:
        return spec
    reader = READERS[name]
    return replace(
        spec,
        adapter=name,
        examples=not reader.contexts,
        about=f"{reader.about} ({name}), and retrieved chunks",
    )


def choose_reader(dev_accuracy: Mapping[str, float]) -> str:
    """The reader with the best dev accuracy; a tie keeps the earlier one (``sft`` first: no
    second adapter to serve)."""
    if not dev_accuracy:
        raise ValueError("no readers to choose from")
    names = list(dev_accuracy)
    return max(names, key=lambda r: (round(dev_accuracy[r], 12), -names.index(r)))


def reader_note(name: str, reader: Mapping[str, Any]) -> str:
    """The report's line on a system's reader: each reader's dev accuracy and the one chosen, so
    the report shows what training the adapter for context bought over the naive combination."""
    tried = ", ".join(f"{r} {a:.3f}" for r, a in reader["dev_accuracy"].items())
    line = f"- {name}: reader **{reader['chosen']}** (dev accuracy: {tried}; compare.answering.readers)"
    closed = reader.get("closed_book")
    if closed:
        (start, a), (chosen, b) = closed.items()
        serves = "so one adapter could serve both" if b >= a else "so ft keeps its own"
        line += f"; closed book on dev {chosen} {b:.3f} against {start} {a:.3f}, {serves}"
    return line
