"""Overview: every system's accuracy, attribution, latency and cost, and where each one sits on
the accuracy-latency and accuracy-cost trade-offs."""

from __future__ import annotations

import streamlit as st

from dashboards import charts, tables, ui


def expectations(summary: dict) -> None:
    """The literature's expected pattern, checked against this run (not asserted)."""
    checks = summary.get("expectations") or []
    if not checks:
        return
    with st.expander("Does the expected pattern appear? (checks from the report)"):
        for e in checks:
            mark = ":green[yes]" if e.get("holds") else ":red[no]"
            st.markdown(f"- {mark}: {e.get('expectation')} ({e.get('measured')})")


def systems_section(summary: dict) -> None:
    st.subheader("Systems")
    df = tables.systems_table(summary)
    st.table(tables.styled_systems(df))
    prices = summary.get("prices") or {}
    st.caption(
        "Green: the best value of each column. Accuracy, grounded-correct and citation precision are "
        "shares of the answerable test questions; base and ft give no citations, so their attribution "
        "is 0 by design. Latency: one question at a time, retrieval included. Costs: measured seconds x "
        f"${prices.get('usd_per_hour', '?')}/h ({prices.get('hardware', '?')}, prices of "
        f"{prices.get('date', '?')}); training/index cost is paid once, before the first query."
    )


def tradeoff_section(summary: dict) -> None:
    points = tables.points_frame(summary)
    left, right = st.columns(2)
    left.altair_chart(
        charts.accuracy_scatter(
            points,
            "latency_p50_ms",
            "single-request latency, p50 (ms)",
            "Accuracy vs latency",
            "Up and to the left is better.",
        ),
        width="stretch",
    )
    right.altair_chart(
        charts.accuracy_scatter(
            points,
            "usd_per_1k_queries",
            "cost per 1,000 queries (USD, bench machine)",
            "Accuracy vs cost",
            "Bubble area: up-front cost (training and/or index build), smallest at $0; one under "
            "the cost of 1,000 queries stays small.",
            size="upfront_usd",
            size_title="up-front cost (USD)",
            size_floor=float(points["usd_per_1k_queries"].max()) if not points.empty else 0.0,
        ),
        width="stretch",
    )
    kinds = tables.kinds_frame(summary)
    if not kinds.empty:
        st.altair_chart(
            charts.grouped_bars(
                kinds,
                "kind",
                "system",
                "value",
                "Accuracy per question kind",
                "share correct (or abstained)",
                x_title="question kind",
                subtitle="For unanswerable questions the bar is abstention accuracy: saying 'I don't know'.",
            ),
            width="stretch",
        )


def abstention_section(summary: dict) -> None:
    points = tables.selective_frame(summary)
    if points.empty:
        return
    st.subheader("Abstention")
    st.altair_chart(charts.selective_chart(points), width="stretch")
    gates = {n: t.get("abstain") for n, t in (summary.get("tuning") or {}).get("systems", {}).items()}
    lines = [f"- {n}: threshold {g['threshold']:.3f}, dev abstention {g['abstention']:.2f}, dev accuracy "
             f"{g['accuracy_before']:.3f} -> {g['accuracy']:.3f}" if g.get("threshold") is not None else
             f"- {n}: no gate ({g.get('reason') or 'not tuned'})" for n, g in gates.items() if g]  # fmt: skip
    st.caption("The gate each retrieving system got on dev (abstain when no quoted sentence supports the "
               "question well enough):\n" + "\n".join(lines))  # fmt: skip


def retrieval_section(summary: dict) -> None:
    df = tables.retrieval_frame(summary)
    if df.empty:
        return
    st.subheader("Retrieval")
    index = summary.get("index") or {}
    st.dataframe(df.style.format("{:.3f}"), width="content")
    st.caption(
        f"How often the gold page is among the retrieved chunks, per retriever, on the scored split; "
        f"index of {index.get('chunks', '?')} chunks ({index.get('kind', '?')})."
    )


def render() -> None:
    run = ui.page("Overview")
    if run is None:
        return
    summary = run.summary or {}
    for warning in summary.get("warnings") or []:
        st.warning(f"Dataset warning: {warning}")
    systems_section(summary)
    tradeoff_section(summary)
    expectations(summary)
    abstention_section(summary)
    retrieval_section(summary)


if __name__ == "__main__":
    render()
