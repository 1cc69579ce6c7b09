"""Sweeps: ``ftrag sweep`` results. Knowledge vs retention with the Pareto front (a hover per
variant), the variant table, the rules of thumb with their verdicts, and accuracy against a knob."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import charts, sweeps, ui

SHOWN = ("variant", "status", "accuracy", "accuracy_trained", "retention", "drift_kl", "style", "examples",
         "trainable_share", "train_seconds", "cost_usd", "pareto", "cached", "reason")  # fmt: skip
COLUMN_CONFIG = {
    "accuracy": st.column_config.NumberColumn("accuracy", format="%.3f"),
    "accuracy_trained": st.column_config.NumberColumn("accuracy (trained facts)", format="%.3f"),
    "retention": st.column_config.NumberColumn("retention", format="%.3f"),
    "drift_kl": st.column_config.NumberColumn("drift KL", format="%.3f"),
    "style": st.column_config.NumberColumn("style", format="%.2f"),
    "trainable_share": st.column_config.NumberColumn("trainable", format="percent"),
    "train_seconds": st.column_config.NumberColumn("train s", format="%.0f"),
    "cost_usd": st.column_config.NumberColumn("cost $", format="%.4f"),
}
ICON = {"held": "✅", "did not hold": "❌", "not measured": "➖"}


def pareto_chart(points: pd.DataFrame) -> alt.LayerChart:
    tips = [alt.Tooltip("variant:N")] + [
        alt.Tooltip(f"{c}:Q", format=".3f")
        for c in ("accuracy", "retention", "drift_kl", "style")
        if c in points
    ]
    tips += [alt.Tooltip(f"{k}:N") for k in sweeps.KNOB_COLUMNS if k in points]
    base = alt.Chart(points).encode(
        x=alt.X("retention:Q", title="retention of general probes", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("accuracy:Q", title="knowledge accuracy", scale=alt.Scale(domain=[0, 1])),
        tooltip=tips,
    )
    dots = base.mark_circle(size=140, opacity=0.8).encode(
        color=alt.Color(
            "front:N",
            title="",
            scale=alt.Scale(domain=["on the Pareto front", "dominated"], range=["#d62728", "#1f77b4"]),
        )
    )
    front = (
        alt.Chart(points[points["front"] == "on the Pareto front"])
        .mark_line(strokeDash=[4, 3], color="#d62728")
        .encode(x="retention:Q", y="accuracy:Q", order="retention:Q")
    )
    labels = base.mark_text(align="left", dx=9, dy=-8, fontSize=11).encode(text="variant:N")
    title = alt.TitleParams(
        "Knowledge vs retention",
        subtitle="upper right is better; hover a point for its knobs",
        anchor="start",
    )
    return (front + dots + labels).properties(title=title, height=charts.HEIGHT)


def knob_chart(df: pd.DataFrame, knob: str) -> alt.Chart:
    done = df[df["status"] == "done"].copy()
    done[knob] = done[knob].astype(str)
    return (
        alt.Chart(done)
        .mark_circle(size=120)
        .encode(
            x=alt.X(f"{knob}:O", title=knob, sort=sweeps.knob_values(done, knob)),
            y=alt.Y("accuracy:Q", title="knowledge accuracy", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("variant:N", legend=None),
            tooltip=["variant:N", alt.Tooltip("accuracy:Q", format=".3f")],
        )
        .properties(title=f"Accuracy vs {knob}", height=300)
    )


def pick(ctx: ui.Ctx) -> sweeps.Sweep | None:
    names = sweeps.list_sweeps(ctx.folder, ctx.root)
    if not names:
        st.info(f"No sweeps in {ctx.folder}. {sweeps.HOW_TO_SWEEP}")
        return None
    name = st.selectbox("Sweep", names, key="sw_run", help="Newest first.")
    sweep = sweeps.load_sweep(ctx.folder, ctx.root, name)
    for problem in sweep.problems:
        st.warning(problem)
    return sweep


def caption(sweep: sweeps.Sweep) -> None:
    s = sweep.summary or {}
    if not sweep.finished:
        st.warning(
            "This sweep has not finished (still running or interrupted): the variants done so far. Run "
            "the same `ftrag sweep` command again to continue; finished variants come from the cache."
        )
        return
    cfg, b = s.get("config", {}), s.get("budget", {})
    st.caption(
        f"Sweep `{sweep.name}`: dataset {s.get('dataset', '?')}, {s.get('profile', '?')} profile, model "
        f"{cfg.get('train', {}).get('model', '?')} on {s.get('machine', {}).get('device', '?')}; knowledge "
        f"accuracy on {s.get('questions', '?')} `{cfg.get('sweep', {}).get('split', '?')}` questions "
        f"(held-out phrasings), retention on {s.get('kept_probes', '?')} general probes the base answers."
    )
    cols = st.columns(4)
    cols[0].metric("Variants", len(s.get("variants", [])), help=f"{b.get('skipped', 0)} skipped")
    cols[1].metric("Trained / cached", f"{b.get('trained', 0)} / {b.get('cached', 0)}")
    cols[2].metric("Wall time", f"{b.get('wall_seconds', 0) / 60:.1f} min")
    held = sum(r.get("status") == "held" for r in s.get("rules", []))
    cols[3].metric("Rules that held", f"{held} of {len(s.get('rules', []))}")


def render() -> None:
    st.title("Sweeps")
    sweep = pick(ui.context())
    if sweep is None:
        return
    caption(sweep)
    df = sweeps.variants(sweep)
    points = sweeps.pareto_points(df)
    if not points.empty:
        st.altair_chart(pareto_chart(points), width="stretch")
    st.subheader("Variants")
    st.dataframe(
        df[[c for c in SHOWN if c in df]], hide_index=True, column_config=COLUMN_CONFIG, width="stretch"
    )
    if sweep.finished:
        st.subheader("Rules of thumb on this corpus")
        for r in sweeps.verdict_rows(sweep.summary):
            st.markdown(f"{ICON.get(r['verdict'], '')} **{r['rule']}**: {r['verdict']}. {r['numbers']}")
    knobs = [k for k in (sweep.summary or {}).get("knobs", []) if k in df]
    if knobs and not points.empty:
        knob = st.selectbox("Accuracy against", knobs, key="sw_knob")
        st.altair_chart(knob_chart(df, knob), width="stretch")


if __name__ == "__main__":
    render()
