"""Content: every page of the corpus as a retrieval target and as a training signal (the content
report of ``ftrag content-report``), filterable, with a drill-down into one page's questions."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from compare.content import pages as C
from compare.content import render as R
from dashboards import content, data, ui

SHOWN = ("doc_id", "retrieval", "learning", "freshness", "questions", "r_cumulative", "top1", "cited",
         "ft_correct", "ft_old_value", "instead", "reasons")  # fmt: skip
COLUMN_CONFIG = {
    "doc_id": st.column_config.TextColumn("page"),
    "r_cumulative": st.column_config.NumberColumn("r(d)", format="%d"),
    "top1": st.column_config.NumberColumn("top hit for its questions", format="percent"),
    "cited": st.column_config.NumberColumn("RAG cites it", format="percent"),
    "ft_correct": st.column_config.NumberColumn("fine-tune correct", format="percent"),
    "ft_old_value": st.column_config.NumberColumn("old value after update", format="percent"),
    "instead": st.column_config.TextColumn("retrieved instead"),
    "reasons": st.column_config.TextColumn("reasons and fixes", width="large"),
}


def headline(pages: pd.DataFrame) -> None:
    counts = C.axis_counts(pages)
    cols = st.columns(4)
    cols[0].metric("Pages that need work", f"{int((pages['weak_axes'] > 0).sum())} of {len(pages)}")
    for col, axis in zip(cols[1:], C.AXES, strict=True):
        col.metric(f"Weak on {axis}", counts[axis][C.WEAK], help=f"{counts[axis][C.NA]} pages n/a")


def page_table(pages: pd.DataFrame) -> pd.DataFrame:
    st.subheader("Pages, those that need work first")
    left, mid, right = st.columns([2, 1, 2])
    verdicts = left.multiselect("Verdict", [C.WEAK, C.STRONG, C.NA], key="ct_verdict", placeholder="all")
    axis = mid.selectbox("On", [content.ANY_AXIS, *C.AXES], key="ct_axis")
    text = right.text_input("Text", key="ct_text", placeholder="page, title or reason")
    shown = content.filter_pages(pages, verdicts, axis, text)
    df = shown[[c for c in SHOWN if c in shown]].copy()
    for col in ("instead", "reasons"):  # all-empty columns are read as floats
        df[col] = df[col].astype("string").fillna("")
    st.dataframe(df, hide_index=True, column_config=COLUMN_CONFIG, width="stretch")
    st.caption(R.thresholds_line())
    return shown


def drill_down(run: data.Run, pages: pd.DataFrame) -> None:
    st.subheader("One page")
    if pages.empty:
        st.info("No page matches the filters.")
        return
    page = st.selectbox("Page", pages["doc_id"].tolist(), key="ct_page")
    row = pages.set_index("doc_id").loc[page]
    st.markdown(f"**{row['title']}**: retrieval {row['retrieval']}, learning {row['learning']}, "
                f"freshness {row['freshness']}")  # fmt: skip
    for reason in content.reasons_of(row):
        st.markdown(f"- {reason}")
    questions = content.page_questions(run.results, page) if run.results is not None else pd.DataFrame()
    if questions.empty:
        st.info("No question of this run has this page as a gold source.")
        return
    st.dataframe(questions, hide_index=True, width="stretch")
    st.caption("✓ / ✗: scored correct or not. Retrieved first: the page of the chunk the retriever ranked "
               "first (another page means it was retrieved instead).")  # fmt: skip


def render() -> None:
    run = ui.page("Content")
    if run is None:
        return
    pages, source = content.load_pages(ui.context().root, run)
    if pages is None:
        st.info(source)
        return
    if source == "live":
        st.info(
            "This run has no content report yet, so this table is what the run folder alone gives: no "
            "page-text causes and no old-value check. For the full report run "
            f"`ftrag content-report {run.info.path}` and reload."
        )
    headline(pages)
    notes = content.na_notes(run.results, pages)
    if notes:
        st.info("\n".join(f"- {n}" for n in notes))
    drill_down(run, page_table(pages))


if __name__ == "__main__":
    render()
