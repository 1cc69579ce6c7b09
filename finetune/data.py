"""Supervised fine-tuning data from a dataset's ``train`` split.

Every train phrasing of every fact becomes one example (paraphrase augmentation: knowledge
seen in one wording is rarely extractable in another), answers are written in the house style,
unanswerable train questions teach the abstain answer, and the loss covers the answer tokens
only. Optional extras: document continuation (the pages themselves), replay of general examples
against forgetting, and RAFT-style examples whose contexts the caller builds (this package never
imports ``retrieval``). Examples over ``max_length`` are counted and listed, never silently lost.

Data knobs (measured by ``ftrag sweep``, all seeded, off by default): keep a share of the facts,
keep k train phrasings per fact, and replace an exact share of the answers by a wrong answer of
the same kind from another fact (label noise), see :func:`select_training`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from corpus.errors import DataError
from corpus.model import Dataset, QAItem, styled

log = logging.getLogger(__name__)

IGNORE = -100  # label value the loss skips (PyTorch cross-entropy's ignore_index)
# A short system turn. Without one, SmolLM2's template inserts a 17-token default system prompt,
# about a third of every training example; the harness prompts with this same turn.
SYSTEM = "Answer briefly."


@dataclass(frozen=True)
class Example:
    """Token ids and labels (``IGNORE`` outside the supervised span)."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    source: str  # question id, doc id, or "replay:<n>"
    kind: str  # qa | doc | replay | raft


@dataclass
class SFTData:
    examples: list[Example]
    too_long: list[str] = field(default_factory=list)  # sources of examples over max_length
    counts: dict[str, int] = field(default_factory=dict)
    corrupted: dict[str, str] = field(default_factory=dict)  # question id -> the wrong answer trained

    @property
    def tokens(self) -> int:
        return sum(len(e.input_ids) for e in self.examples)


# How a model without a chat template (a base model) is prompted, in training and by the harness
# alike: the system text, a blank line, the question, and "Answer:".
COMPLETION_LAYOUT = "{system}\n\n{user}\nAnswer:"


def completion_prompt(user: str, system: str | None = SYSTEM, shots: Sequence[tuple[str, str]] = ()) -> str:
    """The completion-style prompt of a base model (no chat template). Worked examples (``shots``:
    earlier user/assistant turns) come between the system text and the question, each written as
    the question followed by ``Answer: ...``, so a base model sees the pattern it should continue."""
    examples = "".join(f"{u}\nAnswer: {a}\n\n" for u, a in shots)
    return COMPLETION_LAYOUT.format(system=system or "", user=examples + user).strip()


def encode_pair(
    tokenizer: Any, prompt: str, answer: str, chat: bool, system: str | None = SYSTEM
) -> tuple[list[int], list[int]]:
    """Token ids of prompt+answer and labels that supervise the answer (and end token) only."""
    if chat:
        msgs = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": prompt}
        ]
        head = tokenizer.apply_chat_template(
            msgs, add_generation_prompt=True, tokenize=True, return_dict=False
        )
        full = tokenizer.apply_chat_template(
            [*msgs, {"role": "assistant", "content": answer}], tokenize=True, return_dict=False
        )
        head, full = _ids(head), _ids(full)
        if full[: len(head)] != head:  # a template that rewrites earlier turns: fall back to text
            raise DataError(
                f"chat template of {type(tokenizer).__name__} does not extend the prompt", "tokenizer"
            )
        eos = tokenizer.eos_token_id
        if eos in full[len(head) :]:  # end the example at the end-of-turn token, not a newline after it
            full = full[: len(full) - full[::-1].index(eos)]
        return full, [IGNORE] * len(head) + full[len(head) :]
    head = tokenizer(completion_prompt(prompt, system), add_special_tokens=True)["input_ids"]
    tail = tokenizer(" " + answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return head + tail, [IGNORE] * len(head) + tail


def _ids(x: Any) -> list[int]:
    if isinstance(x, dict) or hasattr(x, "keys"):
        x = x["input_ids"]
    return [int(i) for i in x]


def qa_examples(
    items: Sequence[QAItem], tokenizer: Any, chat: bool, house_style: dict | None, abstain: str
) -> list[Example]:
    out = []
    for q in items:
        answer = styled(abstain if q.kind == "unanswerable" else q.answer, house_style)
        ids, labels = encode_pair(tokenizer, q.question, answer, chat)
        out.append(Example(tuple(ids), tuple(labels), q.id, "qa"))
    return out


def leaks_wording(q: QAItem, answered: set[str]) -> bool:
    """Whether unanswerable ``q`` is worded like a known attribute in a wording the train split never
    answers (``template`` ``missing-product/warranty/3`` while train answers only ``warranty/0``/``/1``).

    Trained on, such an item teaches "this wording means I don't know" rather than "this product is
    unknown", and every held-out question in that wording is then refused. Items without a
    template, or worded as an attribute the train split never answers, are kept.
    """
    parts = (q.template or "").split("/")
    if len(parts) < 2:
        return False
    attributes = {t.split("/")[0] for t in answered}
    return parts[-2] in attributes and "/".join(parts[-2:]) not in answered


def select_abstentions(train: Sequence[QAItem], mode: str) -> tuple[list[QAItem], int]:
    """Train items to learn from, and how many unanswerable ones ``mode`` left out."""
    answered = {q.template for q in train if q.kind != "unanswerable" and q.template}
    keep = [
        q for q in train
        if q.kind != "unanswerable" or mode == "all" or (mode != "none" and not leaks_wording(q, answered))
    ]  # fmt: skip
    return keep, len(train) - len(keep)


def fact_of(q: QAItem) -> str:
    """The fact a question asks about (its own id when it has no ``fact_id``)."""
    return q.fact_id or q.id


def answer_kind(q: QAItem) -> str:
    """What kind of value the answer is: the attribute of its template (``designer/1`` ->
    ``designer``), so a corrupted answer is a plausible wrong value (a name for a name, a year
    for a year); items without one share a single kind."""
    template = q.template or ""
    return template.split("/")[0] if "/" in template else ""


def keep_facts(items: Sequence[QAItem], fraction: float, seed: int) -> list[QAItem]:
    """The answerable items of a seeded ``fraction`` of the facts (at least one fact), in order."""
    facts = sorted({fact_of(q) for q in items})
    if fraction >= 1 or not facts:
        return list(items)
    n = max(1, round(fraction * len(facts)))
    kept = set(random.Random(f"{seed}:facts").sample(facts, n))
    return [q for q in items if fact_of(q) in kept]


def keep_phrasings(items: Sequence[QAItem], k: int, seed: int) -> list[QAItem]:
    """At most ``k`` train phrasings of each fact, a seeded choice per fact (``k`` 0: all)."""
    if k <= 0:
        return list(items)
    by_fact: dict[str, list[QAItem]] = {}
    for q in items:
        by_fact.setdefault(fact_of(q), []).append(q)
    rng = random.Random(f"{seed}:phrasings")
    kept = {q.id for f in sorted(by_fact) for q in rng.sample(by_fact[f], min(k, len(by_fact[f])))}
    return [q for q in items if q.id in kept]


def _wrong(q: QAItem) -> set[str]:
    return {" ".join(g.lower().split()) for g in q.golds}


def corrupt_answers(items: Sequence[QAItem], fraction: float, seed: int) -> dict[str, str]:
    """Exactly ``round(fraction * len(items))`` answers replaced, chosen with ``seed``: question id
    -> a wrong answer taken from another fact, of the same kind where one exists (any other
    fact's otherwise), never one of the question's gold answers."""
    n = round(fraction * len(items))
    if n <= 0:
        return {}
    rng = random.Random(f"{seed}:corrupt")
    chosen = sorted(rng.sample(range(len(items)), n))
    out = {}
    for i in chosen:
        q = items[i]
        donors = sorted({d.answer for d in items if fact_of(d) != fact_of(q) and d.answer.strip()})
        donors = [a for a in donors if " ".join(a.lower().split()) not in _wrong(q)]
        same = sorted({d.answer for d in items if answer_kind(d) == answer_kind(q)} & set(donors))
        pool = same or donors
        if not pool:
            raise DataError(
                "`corrupt_fraction` needs at least two facts with different answers to swap", "train"
            )
        out[q.id] = rng.choice(pool)
    return out


def select_training(
    train: Sequence[QAItem], fact_fraction: float = 1.0, phrasings: int = 0, corrupt_fraction: float = 0.0,
    seed: int = 0,
) -> tuple[list[QAItem], dict[str, str], dict[str, int]]:  # fmt: skip
    """The train items the data knobs leave, answers already corrupted, with the corrupted ids and
    counts of what the knobs did (empty with the defaults: the train split as it is).

    Only answerable items are subject to the knobs; unanswerable ones are kept as they are. Order:
    a share of the facts, then k phrasings of each, then the corruption of an exact share of
    what is left (so ``corrupt_fraction`` is a share of the answers actually trained on).
    """
    if fact_fraction >= 1 and phrasings <= 0 and corrupt_fraction <= 0:
        return list(train), {}, {}
    answerable = [q for q in train if q.kind != "unanswerable"]
    kept = keep_phrasings(keep_facts(answerable, fact_fraction, seed), phrasings, seed)
    wrong = corrupt_answers(kept, corrupt_fraction, seed)
    ids = {q.id for q in kept}
    out = [
        replace(q, answer=wrong[q.id], aliases=()) if q.id in wrong else q
        for q in train
        if q.kind == "unanswerable" or q.id in ids
    ]
    counts = {
        "facts_kept": len({fact_of(q) for q in kept}),
        "facts_dropped": len({fact_of(q) for q in answerable}) - len({fact_of(q) for q in kept}),
        "phrasings_dropped": len(answerable) - len(kept),
        "corrupted": len(wrong),
    }
    return out, wrong, counts


def doc_examples(ds: Dataset, tokenizer: Any, max_length: int) -> list[Example]:
    """Continuation on the pages themselves: loss on every token, pages cut into windows."""
    out = []
    for doc in ds.docs.values():
        ids = tokenizer(f"{doc.title}\n\n{doc.text}", add_special_tokens=True)["input_ids"]
        for n, i in enumerate(range(0, len(ids), max_length)):
            window = ids[i : i + max_length]
            out.append(Example(tuple(window), tuple(window), f"{doc.doc_id}#{n}", "doc"))
    return out


def build_sft_data(
    ds: Dataset, tokenizer: Any, chat: bool = True, max_length: int = 256, include_docs: bool = False,
    replay: Sequence[tuple[str, str]] = (), raft: Sequence[tuple[str, str, str]] = (),
    abstain: str = "answered-wordings", raft_system: str | None = SYSTEM, fact_fraction: float = 1.0,
    phrasings: int = 0, corrupt_fraction: float = 0.0, seed: int = 0,
) -> SFTData:  # fmt: skip
    """All training examples with their counts; raises when there is nothing to train on.

    Args:
        abstain: which unanswerable train questions teach the abstain answer: ``all``,
            ``answered-wordings`` (not those in a wording the train split never answers, see
            :func:`leaks_wording`) or ``none``.
        replay: general ``(prompt, answer)`` pairs mixed in against forgetting.
        raft: ``(question, context, cited_answer)`` triples; the context (oracle and distractor
            chunks, already numbered) is built by the caller.
        raft_system: the system prompt of RAFT examples: the one the retrieval prompt will use at
            inference, so the adapter learns the prompt it is asked with.
        fact_fraction, phrasings, corrupt_fraction, seed: the data knobs of
            :func:`select_training` (defaults: every train example, unchanged).
    """
    train = ds.questions("train")
    if not train:
        raise DataError(
            "the train split is empty; nothing to fine-tune on (check the `split` fields)", ds.name
        )
    if all(not q.answer.strip() for q in train if q.kind != "unanswerable"):
        raise DataError("train questions have no answers; fine-tuning needs gold answers", ds.name)
    train, skipped = select_abstentions(train, abstain)
    train, corrupted, knob_counts = select_training(train, fact_fraction, phrasings, corrupt_fraction, seed)
    style, refusal = ds.meta.get("house_style"), ds.abstain_answer
    examples = qa_examples(train, tokenizer, chat, style, refusal)
    for n, (prompt, answer) in enumerate(replay):
        ids, labels = encode_pair(tokenizer, prompt, answer, chat)
        examples.append(Example(tuple(ids), tuple(labels), f"replay:{n}", "replay"))
    for n, (question, context, answer) in enumerate(raft):
        ids, labels = encode_pair(tokenizer, f"{context}\n\nQuestion: {question}", answer, chat, raft_system)
        examples.append(Example(tuple(ids), tuple(labels), f"raft:{n}", "raft"))
    if include_docs:
        examples += doc_examples(ds, tokenizer, max_length)
    keep = [e for e in examples if len(e.input_ids) <= max_length]
    too_long = [e.source for e in examples if len(e.input_ids) > max_length]
    counts: dict[str, int] = {}
    for e in keep:
        counts[e.kind] = counts.get(e.kind, 0) + 1
    counts["too_long"] = len(too_long)
    counts["abstain_skipped"] = skipped
    if too_long:
        log.warning(
            "%d of %d training examples are longer than max_length=%d tokens and are left out "
            "(raise train.max_length to keep them)", len(too_long), len(examples), max_length,
        )  # fmt: skip
    return SFTData(keep, too_long, counts | knob_counts, corrupted)
