"""The content report as files: the page table as CSV and as markdown (weak pages first, with
their reasons; strong pages after; the thresholds every verdict used)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from compare.content.pages import (
    LEARN_WEAK_BELOW,
    LONG_PARAGRAPH_WORDS,
    MIN_QUESTIONS,
    NA,
    STALE_WEAK_FROM,
    STRONG,
    TOP1_WEAK_BELOW,
    VOCAB_WEAK_BELOW,
    WEAK,
    axis_counts,
    top_causes,
)
from compare.scoring import scorers as S


def to_csv(table: pd.DataFrame) -> str:
    """The page table as CSV (shares rounded to 4 places, empty cells for n/a numbers)."""
    return table.round(4).to_csv(index=False, lineterminator="\n")


def _pct(value: Any) -> str:
    return "-" if S.missing(value) else f"{float(value):.0%}"


def _cell(text: Any) -> str:
    text = "-" if S.missing(text) or text == "" else str(text).replace(" | ", "<br>")
    return text.replace("|", "/").replace("\n", " ")


def thresholds_line() -> str:
    return (
        f"Verdicts: retrieval weak when under {TOP1_WEAK_BELOW:.0%} of its questions have it as the top hit "
        f"(or r(d) is never/rare); learning weak when the fine-tune answers under {LEARN_WEAK_BELOW:.0%}; "
        f"freshness weak when it gives the old value for {STALE_WEAK_FROM:.0%} or more of the page's changed "
        f"facts; n/a under {MIN_QUESTIONS} questions. Text causes: paragraphs over {LONG_PARAGRAPH_WORDS} "
        f"words, answers under no heading, question words on the page under {VOCAB_WEAK_BELOW:.0%}."
    )


def weak_rows(table: pd.DataFrame) -> list[str]:
    lines = ["| page | retrieval | learning | freshness | questions | top-1 | cited | ft correct | "
             "old value | reasons |", "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in table[table["weak_axes"] > 0].to_dict("records"):
        lines.append(
            f"| {r['doc_id']} | {r['retrieval']} | {r['learning']} | {r['freshness']} | {r['questions']} | "
            f"{_pct(r['top1'])} | {_pct(r['cited'])} | {_pct(r['ft_correct'])} | {_pct(r['ft_old_value'])} "
            f"| {_cell(r['reasons'])} |"
        )
    return lines


def strong_rows(table: pd.DataFrame) -> list[str]:
    lines = ["| page | retrieval | learning | freshness | questions | r(d) | top-1 | cited | ft correct |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in table[table["weak_axes"] == 0].to_dict("records"):
        rd = "-" if S.missing(r["r_cumulative"]) else f"{float(r['r_cumulative']):.0f}"
        lines.append(
            f"| {r['doc_id']} | {r['retrieval']} | {r['learning']} | {r['freshness']} | {r['questions']} | "
            f"{rd} | {_pct(r['top1'])} | {_pct(r['cited'])} | {_pct(r['ft_correct'])} |"
        )
    return lines


def render_markdown(table: pd.DataFrame, title: str, about: Sequence[str], notes: Sequence[str]) -> str:
    """The report: what it covers, counts per axis, top causes, what is missing, then the pages
    that need work (with reasons) and the others."""
    counts = axis_counts(table)
    lines = [f"# Content report: {title}", "", *about, ""]
    lines += ["| axis | weak | strong | n/a |", "|---|---|---|---|"]
    lines += [f"| {a} | {c[WEAK]} | {c[STRONG]} | {c[NA]} |" for a, c in counts.items()]
    need = int((table["weak_axes"] > 0).sum())
    lines += ["", f"{need} of {len(table)} pages need work."]
    causes = top_causes(table)
    if causes:
        lines += ["Most frequent reasons: " + "; ".join(f"{k} ({n} pages)" for k, n in causes) + "."]
    if notes:
        lines += ["", "Not measured in this run:", *[f"- {n}" for n in notes]]
    lines += ["", thresholds_line(), "", "## Pages that need work", ""]
    lines += weak_rows(table) if need else ["None."]
    lines += ["", "## Other pages", "", *strong_rows(table)]
    return "\n".join(lines) + "\n"
