"""Questions: browse the scored questions; every system's answer side by side with the gold
answer, its citations and the chunks it retrieved (gold answer highlighted)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboards import answers, tables, ui

PAGE_SIZE = 10
BADGE = {
    answers.CORRECT: ("correct", "green"),
    answers.INCORRECT: ("wrong", "red"),
    answers.UNSCORED: ("not scored", "gray"),
}
BOX = "white-space:pre-wrap;font-size:0.9rem;line-height:1.45;border-left:3px solid #ccd;padding:4px 10px"


def filters(results: pd.DataFrame) -> tuple[list[str], list[str], list[str], str, str]:
    """The filter widgets; returns systems, kinds, splits, outcome, text."""
    systems = list(dict.fromkeys(results["system"]))
    cols = st.columns([2, 2, 1, 2])
    chosen = cols[0].multiselect("Systems", systems, default=systems, key="q_systems")
    kinds = cols[1].multiselect(
        "Question kind", sorted(results["kind"].unique()), key="q_kinds", placeholder="all kinds"
    )
    splits = cols[2].multiselect(
        "Split", sorted(results["split"].unique()), key="q_splits", placeholder="all"
    )
    wanted = cols[3].radio(
        "Answer of a selected system is",
        answers.OUTCOMES,
        horizontal=True,
        key="q_outcome",
        help="Unanswerable questions count as correct when the system abstained.",
    )
    text = st.text_input("Search questions and gold answers", key="q_text", placeholder="e.g. warranty")
    return chosen, kinds, splits, wanted, text


def chunk_block(chunk_id: str, chunk: dict[str, Any] | None, golds: list[str], cited: bool) -> None:
    head = f"**{chunk_id}**" + (" · cited" if cited else "")
    st.markdown(head)
    if chunk is None:
        st.caption("(chunk text not in the saved index: it may have been rebuilt since this run)")
        return
    st.html(f'<div style="{BOX}">{answers.highlight(chunk["text"], golds)}</div>')


def answer_column(a: answers.SystemAnswer, facts: dict[str, Any], chunks: dict[str, dict]) -> None:
    label, color = BADGE[a.outcome]
    st.markdown(f"**{a.system}** :{color}-badge[{label}]")
    st.html(f'<div style="{BOX}">{answers.highlight(a.text, facts["golds"]) or "(empty answer)"}</div>')
    if a.cited_docs:
        marks = [f"`{d}`" + (" ✓" if d in facts["sources"] else " ✗") for d in a.cited_docs]
        st.caption("Cites: " + ", ".join(marks) + "  (✓ a gold source)")
    elif a.retrieved:
        st.caption("Cites nothing.")
    if a.retrieved:
        with st.expander(f"{len(a.retrieved)} retrieved chunk(s)"):
            for cid in a.retrieved:
                chunk_block(cid, chunks.get(cid), facts["golds"], cid in a.citations)


def question_card(results: pd.DataFrame, qid: str, systems: list[str], chunks: dict[str, dict]) -> None:
    facts = answers.question_facts(results, qid)
    with st.container(border=True):
        st.markdown(f"#### {facts['question']}")
        gold = " / ".join(f"`{g}`" for g in facts["golds"]) if facts["kind"] != "unanswerable" else "(none)"
        sources = ", ".join(f"`{s}`" for s in facts["sources"]) or tables.MISSING
        st.markdown(f"Gold answer: {gold} · sources: {sources}")
        st.caption(f"{facts['kind']} question · {facts['split']} split · id `{qid}`")
        picked = answers.answers_for(results, qid, systems)
        for col, a in zip(st.columns(max(1, len(picked))), picked, strict=False):
            with col:
                answer_column(a, facts, chunks)


def render() -> None:
    st.title("Questions")
    ctx = ui.context()
    run = ui.complete_run(ctx)
    if run is None:
        return
    if run.results is None or run.results.empty:
        st.warning("This run has no per-question results (results.parquet is missing or empty).")
        return
    st.caption(ui.run_caption(run) + " Highlighted: the gold answer where it occurs.")
    results = answers.with_outcome(run.results)
    systems, kinds, splits, wanted, text = filters(results)
    qids = answers.filter_qids(results, systems, kinds, splits, wanted, text)
    chunks = ui.chunks_of(ctx)
    if not chunks and results["retrieved"].map(lambda v: len(answers.listed(v))).sum():
        st.info("The run's saved index was not found inside the runs folder, so chunk texts are not shown.")
    pages = max(1, -(-len(qids) // PAGE_SIZE))
    if st.session_state.get("q_page", 1) > pages:  # fewer matches than before: back to page 1
        st.session_state["q_page"] = 1
    left, right = st.columns([1, 3])
    page = left.number_input(f"Page (of {pages})", 1, pages, 1, key="q_page")
    right.markdown(f"**{len(qids)}** of {results['qid'].nunique()} questions match.")
    for qid in answers.page_of(qids, int(page), PAGE_SIZE):
        question_card(results, qid, systems or list(dict.fromkeys(results["system"])), chunks)


if __name__ == "__main__":
    render()
