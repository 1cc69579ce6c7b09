"""Candidate questions from a user's own pages, for content teams without a QA set.

The question rules of :mod:`corpus.qarules` (read by :mod:`corpus.trainset`) ask one question per
fact a page states: its first phrasing, the answer a verbatim span of the page. Each item is marked
``generated`` with its source and rule, and lands in a split chosen by a hash of its id, so the
same question lands in the same split every run. Model-written questions and the round trip are
``ftrag data trainset``'s (they need a model).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from corpus.model import Document, QAItem
from corpus.trainset import read_pages

_SPLIT_SHARE = (("train", 0.6), ("dev", 0.2), ("test", 0.2))


def _split_for(key: str) -> str:
    """A stable split from a hash: the same question lands in the same split every run."""
    x = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    acc = 0.0
    for split, share in _SPLIT_SHARE:
        acc += share
        if x <= acc:
            return split
    return "test"


def generate_qa(docs: Iterable[Document], max_per_doc: int = 20) -> list[QAItem]:
    """One question per fact of every page (at most ``max_per_doc`` a page), answers verified spans."""
    items: list[QAItem] = []
    count: dict[str, int] = {}
    for pf in read_pages(docs).facts:
        n = count.get(pf.doc_id, 0)
        if n >= max_per_doc:
            continue
        count[pf.doc_id] = n + 1
        qid = f"gen.{pf.doc_id.replace('/', '.')}.{n}"
        items.append(QAItem(
            id=qid, question=pf.fact.questions[0], answer=pf.fact.answer, sources=(pf.doc_id,),
            split=_split_for(qid), kind="fact", fact_id=f"{pf.doc_id}#{n}", template=pf.fact.rule,
            generated=True, metadata={"evidence": pf.fact.evidence},
        ))  # fmt: skip
    return items
