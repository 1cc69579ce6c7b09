"""Hybrid and scenarios: the hybrid against the two tracks, then what decides real projects:
a knowledge update (freshness), what fine-tuning breaks (forgetting), the house style, and whether
the adapter's knowledge survives quantised serving."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboards import charts, tables, ui

RATE = "{:.3f}"


def _fmt(df: pd.DataFrame, seconds: tuple[str, ...] = (), text: tuple[str, ...] = ()) -> Any:
    """A Styler: rates to 3 decimals, seconds to 1, missing as '-'."""
    formats = {
        c: (lambda v, k="seconds" if c in seconds else "rate": tables.fmt_value(v, k))
        for c in df.columns
        if c not in text
    }
    return df.style.format(formats)


def not_run(name: str, section: dict[str, Any] | None, flag: str) -> bool:
    """Say why a scenario has nothing to show; True when it was skipped or not run."""
    if section is None:
        st.info(f"The {name} scenario was not run. Run it with `ftrag bench --scenarios {flag}`.")
        return True
    if "skipped" in section:
        st.info(f"The {name} scenario was skipped: {section['skipped']}.")
        return True
    return False


def hybrid_section(summary: dict[str, Any]) -> None:
    st.header("Hybrid vs the two tracks")
    st.markdown(tables.hybrid_verdict(summary))
    systems = {k: v for k, v in (summary.get("systems") or {}).items() if k in tables.TRACKS}
    if not systems:
        return
    df = tables.systems_table({"systems": systems}, tables.HYBRID_COLUMNS)
    st.table(tables.styled_systems(df, tables.HYBRID_COLUMNS))
    long = df[["accuracy", "grounded-correct", "citation precision"]].reset_index(names="system")
    long = long.melt(id_vars="system", var_name="measure", value_name="rate")
    st.altair_chart(
        charts.grouped_bars(
            long,
            "measure",
            "system",
            "rate",
            "Hybrid vs RAG and fine-tuning",
            "rate (answerable questions)",
            x_title="measure",
            subtitle="Hybrid = the fine-tuned adapter reading retrieved chunks.",
        ),
        width="stretch",
    )
    st.caption(
        "Green: the best value per column. raft (if present) is an adapter trained on retrieved contexts."
    )


def freshness_section(fresh: dict[str, Any] | None) -> None:
    st.header("Freshness: when the knowledge changes")
    if not_run("freshness", fresh, "freshness"):
        return
    assert fresh is not None
    pages, changed = len(fresh.get("changed_pages") or []), fresh.get("changed_questions", "?")
    st.markdown(
        f"Update `{fresh.get('version', '?')}` changed {pages} pages; scored on {changed} changed questions "
        f"(and {fresh.get('unchanged_questions', '?')} unchanged ones after a re-train). RAG re-indexes the "
        "changed pages; FT stays stale or is re-trained."
    )
    st.altair_chart(
        charts.grouped_bars(
            tables.freshness_long(fresh),
            "system (update)",
            "phase",
            "accuracy",
            "Accuracy on changed facts, before and after the update",
            "accuracy on changed facts",
            x_title="system (how it took the update)",
            order=["before the update", "after the update"],
        ),
        width="stretch",
    )
    df = tables.freshness_frame(fresh)
    st.table(_fmt(df, seconds=("update time (s)",), text=("system (update)", "update")).hide(axis="index"))
    st.caption(
        "Update time: seconds the update took on the bench machine (re-index of the changed pages "
        "and/or continued training). Old value after: share of changed questions still answered "
        "with the value from before the change."
    )
    update_time_chart(df[["system (update)", "update time (s)"]])


def update_time_chart(times: Any) -> None:
    """Seconds each update path took; values written on the bars (0.005 s next to 40 s is invisible)."""
    st.altair_chart(
        charts.bars(
            times,
            "system (update)",
            "update time (s)",
            "Time each system needed to take the update",
            "update time (seconds)",
            domain=None,
            fmt=".3~g",
            subtitle="0 s: not updated (the system answers from what it knew before).",
        ),
        width="stretch",
    )


def forgetting_section(forget: dict[str, Any] | None) -> None:
    st.header("Forgetting: what fine-tuning breaks")
    if not_run("forgetting", forget, "forgetting"):
        return
    assert forget is not None
    st.markdown(
        f"Of {forget.get('probes', '?')} general probes the base model answers {forget.get('kept', '?')} "
        "correctly; retention is the share of those each adapter still answers (closed book). RAG keeps "
        "the base weights, so its retention is the base model's by construction."
    )
    df = tables.forgetting_frame(forget)
    if df.empty:
        st.info("No adapter was scored for forgetting in this run.")
        return
    st.altair_chart(
        charts.bars(
            df,
            "adapter",
            "retention",
            "General knowledge kept after fine-tuning",
            "share of probes still answered",
        ),
        width="stretch",
    )
    st.table(_fmt(df, text=("adapter", "probes lost", "lost by family")).hide(axis="index"))
    st.caption("Drift: mean next-token KL divergence from the base model on general text, in nats.")


def style_section(style: dict[str, Any] | None) -> None:
    st.header("House style")
    if not_run("style", style, "style"):
        return
    df = tables.style_frame(style or {})
    st.altair_chart(
        charts.bars(
            df,
            "system",
            "compliance",
            "House-style compliance per system",
            "share of answers in style",
            color="style from",
        ),
        width="stretch",
    )
    st.table(_fmt(df, text=("system", "style from")).hide(axis="index"))
    st.caption("Prompted systems are told the style; the adapter learned it from its training answers.")


def serving_section(serving: dict[str, Any] | None) -> None:
    st.header("Serving precision")
    if not_run("serving", serving, "serving"):
        return
    df = tables.serving_frame(serving or {})
    st.table(_fmt(df, text=("system", "weights")).hide(axis="index"))
    st.caption(
        f"The closed-book adapter's test accuracy with the base weights served at each precision by "
        f"llama.cpp (the adapter applied at load); difference and exact McNemar p against the run's "
        f"own {(serving or {}).get('main', '?')}. p >= 0.05: no measurable change."
    )


def render() -> None:
    run = ui.page("Hybrid and scenarios")
    if run is None:
        return
    summary = run.summary or {}
    scenarios = summary.get("scenarios") or {}
    hybrid_section(summary)
    freshness_section(scenarios.get("freshness"))
    forgetting_section(scenarios.get("forgetting"))
    style_section(scenarios.get("style"))
    serving_section(scenarios.get("serving"))


if __name__ == "__main__":
    render()
