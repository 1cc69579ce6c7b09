"""The data model shared by both tracks: documents, chunks, questions and datasets.

Shapes follow the id-keyed style of IR toolkits: ``docs: dict[doc_id, Document]``,
``qrels: dict[qid, set[doc_id]]``, so retrieval metrics and training data builders read the
same structures.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from corpus.errors import UserError

Split = Literal["train", "dev", "test"]
Kind = Literal["fact", "unanswerable", "style", "probe"]
SPLITS: tuple[str, ...] = ("train", "dev", "test")
KINDS: tuple[str, ...] = ("fact", "unanswerable", "style", "probe")


def text_hash(text: str) -> str:
    """Short, stable content hash used for cache keys and manifests."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Document:
    """One page of the corpus. ``doc_id`` is its path relative to ``docs/`` without suffix."""

    doc_id: str
    title: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    version: str = "v1"

    @property
    def content_hash(self) -> str:
        return text_hash(self.title + "\n" + self.text)


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of a document.

    ``chunk_id`` is ``doc_id#n``; ``n`` counts chunks within the document, so ids are stable
    across runs as long as the document's text and the chunking settings do not change.
    """

    chunk_id: str
    doc_id: str
    text: str
    heading_path: tuple[str, ...] = ()
    n_tokens: int = 0

    @property
    def content_hash(self) -> str:
        return text_hash(self.text)


@dataclass(frozen=True)
class QAItem:
    """One question of ``qa.jsonl`` (see DESIGN.md for the field meanings)."""

    id: str
    question: str
    answer: str
    aliases: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    split: str = "test"
    kind: str = "fact"
    fact_id: str | None = None
    template: str | None = None
    old_answer: str | None = None  # set in update versions: the value before the change
    generated: bool = False  # written by `ftrag data qagen`, not by a person or the generator
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def golds(self) -> tuple[str, ...]:
        """The answer and its aliases: every string that counts as correct."""
        return (self.answer, *self.aliases) if self.answer else tuple(self.aliases)

    def to_json(self) -> dict[str, Any]:
        """The ``qa.jsonl`` record; optional fields appear only when set, in a fixed order."""
        out: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "aliases": list(self.aliases),
            "sources": list(self.sources),
            "split": self.split,
            "kind": self.kind,
            "fact_id": self.fact_id,
            "template": self.template,
        }
        if self.old_answer is not None:
            out["old_answer"] = self.old_answer
        if self.generated:
            out["generated"] = True
        if self.metadata:
            out["metadata"] = self.metadata
        return out


@dataclass(frozen=True)
class DatasetUpdate:
    """A later corpus version: the changed documents and the questions whose answers changed."""

    version: str
    docs: dict[str, Document]
    qa: list[QAItem]


@dataclass
class Dataset:
    """Documents, questions and named update versions, plus the dataset manifest (``meta``)."""

    name: str
    docs: dict[str, Document]
    qa: list[QAItem] = field(default_factory=list)
    updates: dict[str, DatasetUpdate] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def house_style(self) -> dict[str, Any] | None:
        """The manifest's ``house_style`` when it is a mapping (``template``, ``description``), else None."""
        style = self.meta.get("house_style")
        return style if isinstance(style, dict) else None

    @property
    def abstain_answer(self) -> str:
        """What a system says when the corpus does not answer (``abstain_answer`` in the manifest)."""
        return str(self.meta.get("abstain_answer", "I don't know"))

    @property
    def abstain_reply(self) -> str:
        """The abstain answer as a system of this house says it: in the house style's ``template``
        where there is one (what the adapter learns and prompted systems are shown), so an answer
        the abstention gate or a routing rule declines is not also scored as out of style."""
        return styled(self.abstain_answer, self.house_style)

    def questions(self, split: str | None = None, kind: str | None = None) -> list[QAItem]:
        """Questions filtered by split and/or kind, in file order."""
        return [
            q for q in self.qa if (split is None or q.split == split) and (kind is None or q.kind == kind)
        ]

    def queries(self, split: str | None = None) -> dict[str, str]:
        """``qid -> question`` for questions that have gold sources (retrieval evaluation)."""
        return {q.id: q.question for q in self.questions(split) if q.sources}

    def qrels(self, split: str | None = None) -> dict[str, set[str]]:
        """``qid -> {doc_id}``: the relevance judgments that QA sources imply."""
        return {q.id: set(q.sources) for q in self.questions(split) if q.sources}

    def with_update(self, version: str) -> Dataset:
        """The dataset as it stands after ``version``: changed docs replaced, answers updated."""
        if version not in self.updates:
            known = ", ".join(sorted(self.updates)) or "none"
            raise UserError(f"unknown update version {version!r} (known: {known})")
        upd = self.updates[version]
        docs = {**self.docs, **upd.docs}
        changed = {q.id: q for q in upd.qa}
        qa = [changed.get(q.id, q) for q in self.qa]
        known_ids = {q.id for q in self.qa}
        qa += [q for q in upd.qa if q.id not in known_ids]
        return replace(self, docs=docs, qa=qa, meta={**self.meta, "version": version})


def styled(answer: str, house_style: dict[str, Any] | None) -> str:
    """The answer as the house style writes it (``{answer} -- Tessaline Care``)."""
    if not house_style or "template" not in house_style:
        return answer
    return str(house_style["template"]).format(answer=answer)
