"""The Questions page's logic: which questions match the filters, each system's answer and
outcome, the retrieved chunks' text (read from the run's saved index), and answer highlighting.

Rows are those of ``results.parquet`` (``compare.scoring.evaluate.result_rows``): one per question and
system. An unanswerable question counts as correct when the system abstained.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

CORRECT, INCORRECT, UNSCORED = "correct", "incorrect", "unscored"
OUTCOMES = ("any", CORRECT, INCORRECT)
MARK = '<mark style="background:#ffe08a;padding:0 2px;border-radius:3px">'


def outcome(row: pd.Series | dict[str, Any]) -> str:
    """``correct``, ``incorrect`` or ``unscored`` for one result row (unanswerable: abstained?)."""
    key = "abstention_correct" if row.get("kind") == "unanswerable" else "correct"
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return UNSCORED
    return CORRECT if float(value) >= 0.5 else INCORRECT


def with_outcome(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` plus an ``outcome`` column."""
    out = results.copy()
    out["outcome"] = [outcome(r) for r in results.to_dict("records")] if len(results) else []
    return out


def filter_qids(
    results: pd.DataFrame,
    systems: Sequence[str],
    kinds: Sequence[str],
    splits: Sequence[str],
    wanted: str = "any",
    text: str = "",
) -> list[str]:
    """Question ids, in file order, where a selected system's answer has the ``wanted`` outcome.

    Empty ``systems``/``kinds``/``splits`` mean no filter on that column; ``text`` matches the
    question or the gold answer, case-insensitively.
    """
    df = results if "outcome" in results else with_outcome(results)
    keep = pd.Series(True, index=df.index)
    for col, values in (("system", systems), ("kind", kinds), ("split", splits)):
        if values:
            keep &= df[col].isin(list(values))
    if wanted != "any":
        keep &= df["outcome"] == wanted
    if text.strip():
        needle = text.strip().lower()
        keep &= df["question"].str.lower().str.contains(needle, regex=False) | df["gold"].astype(
            str
        ).str.lower().str.contains(needle, regex=False)
    return list(dict.fromkeys(df.loc[keep, "qid"]))


def listed(value: Any) -> list[str]:
    """A parquet list cell (numpy array, list or None) as a list of strings."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [str(v) for v in list(value)]


@dataclass(frozen=True)
class SystemAnswer:
    """One system's answer to one question, ready to show."""

    system: str
    text: str
    outcome: str
    citations: list[str]
    cited_docs: list[str]
    retrieved: list[str]


def answers_for(results: pd.DataFrame, qid: str, systems: Sequence[str]) -> list[SystemAnswer]:
    """Every selected system's answer to ``qid``, in the order of ``systems``."""
    rows = {r["system"]: r for r in results[results["qid"] == qid].to_dict("records")}
    return [
        SystemAnswer(
            name,
            str(rows[name].get("text", "")),
            outcome(rows[name]),
            listed(rows[name].get("citations")),
            listed(rows[name].get("cited_docs")),
            listed(rows[name].get("retrieved")),
        )
        for name in systems
        if name in rows
    ]


def highlight(text: str, needles: Iterable[str]) -> str:
    """``text`` HTML-escaped, with every case-insensitive occurrence of a needle in ``<mark>``.

    Longer needles win where they overlap (``Marit Owqvist`` over ``Owqvist``); the text is
    escaped first, so a page's own HTML is shown, never rendered.
    """
    words = sorted({n.strip() for n in needles if n and n.strip()}, key=len, reverse=True)
    if not words:
        return html.escape(text)
    pattern = re.compile("|".join(_bounded(w) for w in words), re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(text):
        out += [html.escape(text[last : m.start()]), MARK, html.escape(m.group(0)), "</mark>"]
        last = m.end()
    return "".join([*out, html.escape(text[last:])])


def _bounded(word: str) -> str:
    """A regex for ``word`` that does not match inside a longer word or number (gold ``3``
    must not light up the 3 of ``30 s``)."""
    left = r"(?<!\w)" if re.match(r"\w", word) else ""
    right = r"(?!\w)" if re.search(r"\w$", word) else ""
    return left + re.escape(word) + right


def read_chunks(index_dir: Path) -> dict[str, dict[str, Any]]:
    """``chunk_id -> {doc_id, text, heading_path}`` from a saved index's ``chunks.jsonl``
    (read only; no FAISS load, no embedder)."""
    path = index_dir / "chunks.jsonl"
    out: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return out
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                out[rec["chunk_id"]] = rec
    return out


def question_facts(results: pd.DataFrame, qid: str) -> dict[str, Any]:
    """The question's own fields (same for every system): text, gold answers, sources, kind."""
    row = results[results["qid"] == qid].iloc[0].to_dict()
    return {
        "qid": qid,
        "question": str(row.get("question", "")),
        "gold": str(row.get("gold", "")),
        "golds": listed(row.get("golds")) or [str(row.get("gold", ""))],
        "sources": listed(row.get("sources")),
        "kind": str(row.get("kind", "")),
        "split": str(row.get("split", "")),
    }


def page_of(items: Sequence[str], page: int, size: int) -> list[str]:
    """The ``page``-th (1-based) slice of ``size`` items; pages past the end are empty."""
    start = max(0, (page - 1) * size)
    return list(items[start : start + size])
