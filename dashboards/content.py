"""The content page's data: the run's content report (``content/pages.csv``, written by ``ftrag
content-report``) or, without one, what the run folder alone gives; filters; one page's questions
with every system's answer. Reads only inside the runs folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from compare.content import pages as C
from dashboards import data
from dashboards.answers import listed

ANY_AXIS = "any axis"
REPORT = Path("content") / "pages.csv"


def report_path(root: Path, run: data.Run) -> Path | None:
    """The run's ``content/pages.csv`` if it exists and lies inside ``root`` (symlinks followed)."""
    path = data.resolve_inside(root, str(run.info.path / REPORT))
    return path if path is not None and path.is_file() else None


def load_pages(root: Path, run: data.Run) -> tuple[pd.DataFrame | None, str]:
    """The page table and where it came from: ``"report"``, ``"live"`` (computed from the run's
    results and retrievability table, without page texts or the update's questions), or an
    explanation of why there is none."""
    path = report_path(root, run)
    if path is not None:
        try:
            return pd.read_csv(path, keep_default_na=False, na_values=[""]), "report"
        except (ValueError, pd.errors.ParserError) as exc:
            return None, f"content/pages.csv cannot be read ({exc}); run `ftrag content-report` again."
    if run.results is None or run.results.empty:
        return None, "This run has no results.parquet, so there are no questions to attribute to pages."
    fresh = ((run.summary or {}).get("scenarios") or {}).get("freshness") or {}
    inp = C.RunInputs(run.results, retrievability=run.pages, changed_pages=fresh.get("changed_pages") or ())
    return C.page_table(inp), "live"


def filter_pages(pages: pd.DataFrame, verdicts: Sequence[str], axis: str, text: str) -> pd.DataFrame:
    """Pages whose verdict on ``axis`` (or on any axis) is one of ``verdicts`` (all when empty) and
    whose page, title or reasons contain ``text`` (case-insensitive)."""
    keep = pd.Series(True, index=pages.index)
    if verdicts:
        axes = C.AXES if axis == ANY_AXIS else (axis,)
        keep &= pages[list(axes)].isin(list(verdicts)).any(axis=1)
    needle = text.strip().lower()
    if needle:
        hay = pages[["doc_id", "title", "reasons"]].fillna("").astype(str).agg(" ".join, axis=1).str.lower()
        keep &= hay.str.contains(needle, regex=False)
    return pages[keep]


def page_questions(results: pd.DataFrame, page: str) -> pd.DataFrame:
    """One row per question whose gold sources include ``page``: the gold answer, each system's
    answer marked right or wrong, and the page the retrieval put first when it was another one."""
    own = C.own_questions(results)
    own = own[own["page"] == page]
    if own.empty:
        return pd.DataFrame(columns=["qid", "question", "gold"])
    rows: dict[str, dict[str, Any]] = {}
    for r in own.to_dict("records"):
        row = rows.setdefault(r["qid"], {"qid": r["qid"], "question": r["question"], "gold": r["gold"]})
        mark = "" if data.is_nan(r["correct"]) else (" ✓" if r["correct"] >= 1 else " ✗")
        row[r["system"]] = f"{r['text']}{mark}"
        top = C.top_hit(r["retrieved"])
        if top and r["system"] == C.retrieval_system(results):
            row["retrieved first"] = top if top != page else "this page"
            row["cited"] = ", ".join(listed(r["cited_docs"])) or "-"
    return pd.DataFrame(list(rows.values()))


def _na_reason(axis: str, systems: set[str]) -> str:
    """Why ``axis`` is n/a on every page, from what the run holds."""
    if axis == "retrieval":
        if not systems & set(C.RETRIEVAL_SYSTEMS):
            return "this run has no retrieval system (rag or hybrid)"
        return f"no page is the gold source of {C.MIN_QUESTIONS} or more answerable questions"
    if C.LEARNING_SYSTEM not in systems:
        return f"this run has no fine-tuned system ({C.LEARNING_SYSTEM}); bench with `--systems` naming it"
    if axis == "learning":
        return f"no page has {C.MIN_QUESTIONS} or more questions scored for {C.LEARNING_SYSTEM}"
    return ("it needs the freshness scenario (a dataset with an update version) and the content "
            "report's old-value check (`ftrag content-report`)")  # fmt: skip


def na_notes(results: pd.DataFrame | None, pages: pd.DataFrame) -> list[str]:
    """One line per axis that is n/a on every page, saying what the run lacks for it."""
    if pages.empty or results is None or "system" not in results:
        return []
    systems = set(results["system"])
    return [f"{axis.capitalize()} is n/a on every page: {_na_reason(axis, systems)}."
            for axis in C.AXES if axis in pages and (pages[axis] == C.NA).all()]  # fmt: skip


def reasons_of(row: pd.Series | dict[str, Any]) -> list[str]:
    return [r for r in str(row.get("reasons") or "").split(" | ") if r and r != "nan"]
