"""Decide: describe the use case (or start from a preset), get the recommender's ranking of the
run's systems with a reason per measured number, and projections to larger models, labelled."""

from __future__ import annotations

from typing import Any

import streamlit as st

from compare.decide.projection import hardware_date, measured_line, project, projection_lines
from compare.decide.recommend import Ranked, rank, system_facts
from compare.decide.usecase import LEVELS, UPDATES_PER_MONTH, UseCase, load_usecase, presets
from dashboards import charts, data, tables, ui

CUSTOM = "(start from defaults)"


def starting_point() -> UseCase:
    names = [CUSTOM, *presets()]
    choice = st.selectbox(
        "Start from a preset",
        names,
        key="uc_preset",
        help="Presets live in compare/decide/usecases/*.yaml; every field can be changed below.",
    )
    if choice == CUSTOM:
        return UseCase()
    uc = load_usecase(choice)
    st.caption(uc.description)
    return uc


def profile(start: UseCase) -> UseCase:
    """The use-case widgets, initialised from ``start`` (keys carry its name, so picking another
    preset resets them)."""
    k = f"uc:{start.name}:"
    c1, c2, c3 = st.columns(3)
    changes = c1.select_slider("Knowledge changes", list(UPDATES_PER_MONTH), start.changes, key=k + "changes")
    citations = c1.radio("Citations", LEVELS, LEVELS.index(start.citations), horizontal=True, key=k + "cite")
    style = c1.radio("House style", LEVELS, LEVELS.index(start.style), horizontal=True, key=k + "style")
    p95 = c2.number_input(
        "p95 latency budget (ms, 0 = none)", 0.0, None, float(start.p95_ms), 100.0, key=k + "p95"
    )
    queries = c2.number_input("Queries a month", 0, None, int(start.queries_per_month), 1000, key=k + "q")
    budget = c2.number_input(
        "Running budget ($ a month, 0 = none)",
        0.0,
        None,
        float(start.budget_usd_per_month),
        10.0,
        key=k + "budget",
    )
    floor = c3.slider(
        "Minimum accuracy (a must)", 0.0, 1.0, float(start.accuracy_floor), 0.05, key=k + "floor"
    )
    local = c3.toggle("Data must stay on this machine", start.local_only, key=k + "local")
    return UseCase(
        name=start.name,
        description=start.description,
        changes=changes,
        citations=citations,
        style=style,
        p95_ms=float(p95),
        queries_per_month=int(queries),
        budget_usd_per_month=float(budget),
        local_only=bool(local),
        accuracy_floor=float(floor),
    )


def verdict(ranked: list[Ranked]) -> None:
    best = ranked[0]
    if best.meets_all:
        st.success(f"Recommended for this use case: **{best.system}** (score {best.points:.2f}).")
    else:
        st.warning(
            f"No system meets every must; the closest is **{best.system}**. Relax a must or change the setup."
        )


def ranking(ranked: list[Ranked]) -> None:
    df = tables.ranking_frame(ranked)
    st.altair_chart(
        charts.bars(
            df.assign(meets=df["meets every must"].map({True: "meets every must", False: "misses a must"})),
            "system",
            "score",
            "Recommender score per system",
            "score (points)",
            color="meets",
            colors={"meets every must": "#2e7d32", "misses a must": "#9e9e9e"},
            fmt=".2f",
            domain=None,
            subtitle="Systems that meet every must rank first, whatever their score.",
        ),
        width="stretch",
    )
    shown = df.style.format(
        {
            "score": "{:.2f}",
            "meets every must": lambda ok: "yes" if ok else "no",
            "monthly cost ($)": lambda v: tables.fmt_value(v, "usd"),
        }
    )
    st.table(shown.hide(axis="index"))
    for i, r in enumerate(ranked):
        with st.expander(f"{i + 1}. {r.system}: why", expanded=i == 0):
            st.markdown("\n".join(f"- {reason}" for reason in r.reasons))
            for miss in r.failed:
                st.markdown(f"- :red[misses: {miss}]")


def projections(summary: dict[str, Any], run: data.Run, system: str) -> None:
    with st.expander(f"Projection of {system} to larger models and GPUs (NOT measured)"):
        try:
            rows = project(summary, system)
            hw_date = hardware_date()
            measured = measured_line(summary, system, run.info.path)
        except (KeyError, ValueError, OSError) as exc:
            st.info(f"No projection for this run ({exc}).")
            return
        st.markdown(f"**{measured}**")
        st.warning(projection_lines(rows, hw_date)[0])
        st.dataframe(tables.projection_frame(rows), hide_index=True)


def render() -> None:
    run = ui.page("Decide", "Every reason below cites a number measured in this run.")
    if run is None:
        return
    summary = run.summary or {}
    try:
        uc = profile(starting_point())
        ranked = rank(system_facts(summary), uc)
    except ValueError as exc:
        st.error(f"This use case is not valid: {exc}")
        return
    except (KeyError, TypeError) as exc:
        st.error(f"This run lacks a number the recommender needs ({exc}); re-run the bench.")
        return
    verdict(ranked)
    ranking(ranked)
    projections(summary, run, ranked[0].system)
    st.caption(
        "Monthly cost: queries a month x the measured cost per 1k queries, plus updates a month x the "
        "measured cost of one update (re-index or re-train), on the bench machine."
    )


if __name__ == "__main__":
    render()
