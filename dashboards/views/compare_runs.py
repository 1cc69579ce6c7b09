"""Compare runs: two runs side by side (what was run, every system's measures, the settings
that differ), with the difference B - A and which run is better on each measure."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboards import charts, data, tables, ui

OTHER_KEY = "cmp_other"
GOOD, BAD = "color: #137333; font-weight: 600", "color: #b3261e; font-weight: 600"


def pick_other(ctx: ui.Ctx, a: data.Run) -> data.Run | None:
    """Run B: another complete run of the folder (``?other=NAME`` preselects it)."""
    names = [r.name for r in ctx.runs if r.complete and r.name != a.info.name]
    if not names:
        st.info(f"Only one complete run in {ctx.folder}: run another bench to compare. {data.HOW_TO_RUN}")
        return None
    if st.session_state.get(OTHER_KEY) not in names:
        st.session_state[OTHER_KEY] = names[0]
        wanted = str(st.query_params.get("other", ""))
        path, error = data.run_path(ctx.folder, ctx.root, wanted) if wanted else (None, "")
        if error or (wanted and (path is None or path.name not in names)):
            st.error(error or f"`{wanted}` is not another complete run in {ctx.folder}.")
        elif path is not None:
            st.session_state[OTHER_KEY] = path.name
    name = st.selectbox("Run B (compared with the run chosen in the sidebar, run A)", names, key=OTHER_KEY)
    st.query_params["other"] = name
    info = next(r for r in ctx.runs if r.name == name)
    return ui.cached_run(str(info.path), data.files_signature(info.path))


def diff_table(a: dict[str, Any], b: dict[str, Any]) -> None:
    df = tables.systems_diff(a, b)
    if df.empty:
        st.info("The two runs have no system in common.")
        return
    shown = pd.DataFrame(
        {
            "system": df["system"],
            "measure": df["measure"],
            "run A": [tables.fmt_value(v, k) for v, k in zip(df["run A"], df["kind"], strict=True)],
            "run B": [tables.fmt_value(v, k) for v, k in zip(df["run B"], df["kind"], strict=True)],
            "B - A": [tables.fmt_delta(v, k) for v, k in zip(df["B - A"], df["kind"], strict=True)],
            "better": df["better"].replace("", tables.MISSING),
        }
    )

    def colour(row: pd.Series) -> list[str]:
        tone = GOOD if row["better"] == "B" else BAD if row["better"] == "A" else ""
        return [tone if c == "B - A" else "" for c in row.index]

    height = min(900, 38 + 35 * len(shown))  # every row visible up to ~25 rows
    st.dataframe(shown.style.apply(colour, axis=1), hide_index=True, width="stretch", height=height)
    st.caption("Green: run B is better on that measure (higher accuracy, lower latency or cost); red: worse.")


def accuracy_chart(a: data.Run, b: data.Run) -> None:
    rows = [
        {"system": name, "run": f"{label}: {run.info.name}", "accuracy": tables.num(s.get("accuracy"))}
        for label, run in (("A", a), ("B", b))
        for name, s in ((run.summary or {}).get("systems") or {}).items()
    ]
    st.altair_chart(
        charts.grouped_bars(
            pd.DataFrame(rows),
            "system",
            "run",
            "accuracy",
            "Accuracy per system, run A vs run B",
            charts.ACCURACY_AXIS,
            x_title="system",
        ),
        width="stretch",
    )


def render() -> None:
    st.title("Compare runs")
    ctx = ui.context()
    a = ui.complete_run(ctx)
    if a is None:
        return
    b = pick_other(ctx, a)
    if b is None:
        return
    if not b.info.complete or b.summary is None:
        ui.show_incomplete(b)
        return
    sa, sb = a.summary or {}, b.summary or {}
    st.subheader("What was run")
    meta = tables.meta_frame({f"A: {a.info.name}": vars(a), f"B: {b.info.name}": vars(b)})
    st.dataframe(meta, width="stretch")
    accuracy_chart(a, b)
    st.subheader("Every measure, per system")
    diff_table(sa, sb)
    only_a, only_b = tables.only_in(sa, sb)
    if only_a or only_b:
        st.caption(f"Only in run A: {', '.join(only_a) or '-'}; only in run B: {', '.join(only_b) or '-'}.")
    st.subheader("Settings that differ (config.json)")
    cfg = tables.config_diff(a.config, b.config)
    if cfg.empty:
        st.markdown("The two runs used the same settings.")
    else:
        st.dataframe(cfg, hide_index=True, width="stretch")


if __name__ == "__main__":
    render()
