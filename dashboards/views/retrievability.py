"""Retrievability: which pages of the corpus the retriever can find at all (Lorenz curve, Gini,
the page table with diagnoses), and a query box that searches the run's saved index."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from dashboards import charts, data, search, tables, ui

SHOWN = (
    "doc_id",
    "title",
    "status",
    "r_cumulative",
    "own_top1",
    "own_found",
    "vocab_overlap",
    "tokens",
    "winner",
    "diagnoses",
)
COLUMN_CONFIG = {
    "doc_id": st.column_config.TextColumn("page"),
    "r_cumulative": st.column_config.NumberColumn("times retrieved r(d)", format="%d"),
    "own_top1": st.column_config.NumberColumn("own queries: top-1", format="percent"),
    "own_found": st.column_config.NumberColumn("own queries: found", format="percent"),
    "vocab_overlap": st.column_config.NumberColumn("query words on page", format="percent"),
    "winner": st.column_config.TextColumn("page that outranks it"),
    "diagnoses": st.column_config.TextColumn("diagnosis", width="large"),
}


def headline(facts: dict[str, Any], pages: pd.DataFrame | None) -> None:
    n = facts.get("pages", len(pages) if pages is not None else "?")
    never = facts.get("never", int((pages["status"] == "never").sum()) if pages is not None else "?")
    cols = st.columns(4)
    cols[0].metric(
        "Gini of r(d)",
        f"{facts['gini']:.3f}" if "gini" in facts else tables.MISSING,
        help="0: every page equally retrievable; towards 1: a few pages take every query.",
    )
    cols[1].metric("Never retrieved", f"{never} of {n} pages")
    cols[2].metric("Pages with a diagnosis", facts.get("flagged", tables.MISSING))
    cols[3].metric(
        "Generated queries",
        facts.get("queries", tables.MISSING),
        help="Titles, headings, sentences, keywords.",
    )


def page_table(pages: pd.DataFrame) -> None:
    st.subheader("Pages, least retrievable first")
    left, right = st.columns([3, 1])
    statuses = left.multiselect(
        "Status", ["never", "rare", "ok"], key="rt_status", placeholder="all statuses"
    )
    flagged = right.toggle("Only pages with a diagnosis", key="rt_flagged")
    df = pages[[c for c in SHOWN if c in pages]].copy()
    for col, empty in (("winner", tables.MISSING), ("diagnoses", "")):  # all-empty columns are read as floats
        if col in df:
            df[col] = df[col].astype("string").fillna(empty)
    if statuses:
        df = df[df["status"].isin(statuses)]
    if flagged and "diagnoses" in df:
        df = df[df["diagnoses"].fillna("").astype(str).str.len() > 0]
    st.dataframe(df, hide_index=True, column_config=COLUMN_CONFIG, width="stretch")
    st.caption(
        "r(d): how many generated queries return the page in the top results. Own queries: those made "
        "from the page itself (its title, headings, sentences). Each diagnosis says what to change."
    )


def query_box(ctx: ui.Ctx, run: data.Run, pages: pd.DataFrame | None) -> None:
    st.subheader("Which pages come back for a query?")
    index_dir = data.index_folder(ctx.root, run.summary or {})
    if index_dir is None:
        st.info("The run's saved index is not inside the runs folder, so live queries are not available.")
        return
    section = run.config.get("retrieval") or {}
    query = st.text_input("Type a query", key="rt_query", placeholder="e.g. how long is the warranty?")
    st.caption(
        f"Searches the index this run built ({section.get('retriever', 'dense')} retriever, "
        f"{section.get('embedder', 'minilm')} embedder), read only."
    )
    if not query.strip():
        return
    try:
        retriever = ui.cached_retriever(str(index_dir), json.dumps(section, sort_keys=True))
        hits = search.search_pages(retriever, query, k=10)
    except (OSError, ValueError, ImportError, RuntimeError) as exc:  # DataError is a ValueError
        st.error(f"The saved index cannot be searched: {exc}")
        return
    status = dict(zip(pages["doc_id"], pages["status"], strict=False)) if pages is not None else {}
    rows = [
        {
            "rank": h.rank,
            "page": h.doc_id,
            "status": status.get(h.doc_id, tables.MISSING),
            "score": round(h.score, 4),
            "best chunk": h.chunk_id,
        }
        for h in hits
    ]
    if not rows:
        st.info("No page matches this query.")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    with st.expander("Text of the best chunk of each page"):
        for h in hits:
            st.markdown(f"**{h.rank}. {h.doc_id}** (`{h.chunk_id}`)")
            st.text(h.text)


def render() -> None:
    run = ui.page("Retrievability")
    if run is None:
        return
    facts = (run.summary or {}).get("retrievability") or {}
    pages = run.pages
    if pages is None or pages.empty:
        st.info(
            "This run has no retrievability analysis (runs written before it joined the bench lack it). "
            "Re-run `make bench`, or analyse a corpus directly with `ftrag retrievability`."
        )
    else:
        headline(facts, pages)
        gini = facts.get("gini")
        if gini is None:
            from retrieval.retrievability import gini as gini_of

            gini = gini_of(pages["r_cumulative"].tolist())
        st.altair_chart(charts.lorenz_chart(pages["r_cumulative"].tolist(), gini, facts.get("cutoff")))
        page_table(pages)
    query_box(ui.context(), run, pages if pages is not None and not pages.empty else None)


if __name__ == "__main__":
    render()
