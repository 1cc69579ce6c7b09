"""Dev and test splits for a user's own questions when the QA file gives none.

A team brings a few dozen questions without splits: they are the only held-out truth, so they go
to dev (for tuning) and test (scored once), seeded and stratified by kind, so each split gets its
share of unanswerable questions. Generated items are the train split (compare.trainset).
"""

from __future__ import annotations

import random
from dataclasses import replace

from corpus.model import Dataset, QAItem

DEV_SHARE = 0.4  # of the user's questions: enough dev questions to tune on, most kept for test


def unsplit(ds: Dataset) -> list[QAItem]:
    """The questions whose split the file did not give (the loader marks them ``split_given``)."""
    return [q for q in ds.qa if q.metadata.get("split_given") is False]


def assign_splits(items: list[QAItem], dev_share: float = DEV_SHARE, seed: int = 0) -> dict[str, str]:
    """Question id -> ``dev`` | ``test``: a seeded ``dev_share`` of each kind to dev (at least one
    of a kind with two or more questions), the rest to test."""
    out: dict[str, str] = {}
    for kind in sorted({q.kind for q in items}):
        ids = sorted(q.id for q in items if q.kind == kind)
        random.Random(f"{seed}:{kind}").shuffle(ids)
        n_dev = round(len(ids) * dev_share) or (1 if len(ids) > 1 else 0)
        out.update({i: "dev" for i in ids[:n_dev]} | {i: "test" for i in ids[n_dev:]})
    return out


def split_user_questions(ds: Dataset, seed: int = 0) -> tuple[Dataset, dict[str, int]]:
    """``ds`` with its unsplit questions in dev and test, and how many went where (empty: none to split)."""
    todo = unsplit(ds)
    if not todo:
        return ds, {}
    where = assign_splits(todo, DEV_SHARE, seed)
    qa = [replace(q, split=where[q.id]) if q.id in where else q for q in ds.qa]
    counts = {s: sum(1 for v in where.values() if v == s) for s in ("dev", "test")}
    return replace(ds, qa=qa), counts


def first_facts(ds: Dataset, n: int) -> Dataset:
    """The questions of the first ``n`` facts (sorted by fact id) and a matching share of the
    unanswerable ones; documents are kept whole (retrieval still searches the full corpus).

    Only questions that carry a ``fact_id`` are sampled: a user's own questions have none and are
    all kept (as are unanswerable ones where no question has a fact id)."""
    facts = sorted({q.fact_id for q in ds.qa if q.kind != "unanswerable" and q.fact_id})
    if not n or n >= len(facts):
        return ds
    keep = set(facts[:n])
    unanswerable = [q for q in ds.qa if q.kind == "unanswerable"]
    share = round(len(unanswerable) * n / len(facts))
    answerable = [q for q in ds.qa if q.kind != "unanswerable" and (q.fact_id in keep or not q.fact_id)]
    return replace(ds, qa=answerable + unanswerable[:share])
