"""Altair chart builders: every chart has a title saying what it shows and axis titles with units.

Builders take the DataFrames of :mod:`dashboards.tables` and return Altair charts; they draw
nothing themselves, so they are tested by inspecting the chart spec.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from retrieval.retrievability import lorenz_curve

# Axis titles stay short: a vertical title longer than the plot pushes the chart title out of view.
ACCURACY_AXIS = "accuracy (answerable questions)"
HEIGHT = 420  # Streamlit fits title, axes and plot into this height


def _title(text: str, subtitle: str = "") -> alt.TitleParams:
    return alt.TitleParams(text, subtitle=subtitle or alt.Undefined, anchor="start")


BUBBLE_AREA = (80, 1600)  # px²: the smallest bubble stays visible, the largest stays inside the plot


def size_scale(values: pd.Series, floor: float = 0.0) -> alt.Scale:
    """A linear area scale from 0 (the smallest bubble) to the largest value or ``floor``.

    Left to itself Vega-Lite spans the data (``[0, max]``), so in a run where every system's value
    is near zero the largest of them, however tiny, got the largest bubble (rag's index build of
    $0.0000006 next to base's $0)."""
    top = max(float(np.nanmax(values)) if values.notna().any() else 0.0, floor if np.isfinite(floor) else 0.0)
    return alt.Scale(type="linear", domain=[0, top if top > 0 else 1], range=list(BUBBLE_AREA), clamp=True)


def accuracy_scatter(
    points: pd.DataFrame,
    x: str,
    x_title: str,
    title: str,
    subtitle: str = "",
    size: str | None = None,
    size_title: str = "",
    log_x: bool = False,
    size_floor: float = 0.0,
) -> alt.LayerChart:
    """Systems as points: accuracy (y) against ``x``; bubble area by ``size`` when given, growing
    from the smallest bubble at 0 to the largest at the biggest value or ``size_floor`` if that
    is bigger (so values that are all near zero stay small)."""
    df = points.dropna(subset=[x, "accuracy"])
    tooltip = [
        alt.Tooltip("system:N"),
        alt.Tooltip("accuracy:Q", format=".3f"),
        alt.Tooltip(f"{x}:Q", title=x_title, format=",.4g"),
    ]
    if size:
        tooltip.append(alt.Tooltip(f"{size}:Q", title=size_title, format=",.4g"))
    scale = alt.Scale(type="symlog") if log_x else alt.Scale(zero=True)
    base = alt.Chart(df).encode(
        x=alt.X(f"{x}:Q", title=x_title, scale=scale),
        y=alt.Y("accuracy:Q", title=ACCURACY_AXIS, scale=alt.Scale(domain=[0, 1])),
        tooltip=tooltip,
    )
    area = (
        alt.Size(f"{size}:Q", title=size_title, scale=size_scale(df[size], size_floor), legend=None)
        if size
        else alt.value(160)
    )
    # No legends: each point is labelled with its system, and the tooltip gives the bubble's value.
    dots = base.mark_circle(opacity=0.75, stroke="white", strokeWidth=1).encode(
        color=alt.Color("system:N", legend=None), size=area
    )
    labels = base.mark_text(align="left", dx=12, dy=-10, fontSize=12).encode(text="system:N")
    return (dots + labels).properties(title=_title(title, subtitle), height=HEIGHT)


def grouped_bars(
    df: pd.DataFrame,
    x: str,
    group: str,
    y: str,
    title: str,
    y_title: str,
    subtitle: str = "",
    x_title: str | None = None,
    domain: Sequence[float] | None = (0, 1),
    order: Sequence[str] | None = None,
) -> alt.Chart:
    """Bars of ``y`` per ``x``, side by side per ``group`` (e.g. accuracy per kind per system);
    ``order`` fixes the order of the groups (e.g. before, then after)."""
    scale = alt.Scale(domain=list(domain)) if domain else alt.Undefined
    sort = list(order) if order else "ascending"
    return (
        alt.Chart(df.dropna(subset=[y]))
        .mark_bar()
        .encode(
            x=alt.X(
                f"{x}:N", title=x_title if x_title is not None else x, sort=None, axis=alt.Axis(labelAngle=0)
            ),
            xOffset=alt.XOffset(f"{group}:N", sort=sort),
            y=alt.Y(f"{y}:Q", title=y_title, scale=scale),
            color=alt.Color(f"{group}:N", title=group, sort=sort),
            tooltip=[f"{x}:N", f"{group}:N", alt.Tooltip(f"{y}:Q", format=".3f")],
        )
        .properties(title=_title(title, subtitle), height=HEIGHT)
    )


def bars(
    df: pd.DataFrame,
    x: str,
    y: str,
    title: str,
    y_title: str,
    subtitle: str = "",
    color: str | None = None,
    domain: Sequence[float] | None = (0, 1),
    fmt: str = ".3f",
    colors: dict[str, str] | None = None,
) -> alt.LayerChart:
    """Bars of ``y`` per ``x`` with the value written on each bar (a bar of 0.02 next to one of 40
    is invisible, its label is not); coloured by ``color`` (fixed ``colors`` per value if given)."""
    scale = alt.Scale(domain=list(domain)) if domain else alt.Undefined
    base = alt.Chart(df.dropna(subset=[y])).encode(
        x=alt.X(f"{x}:N", title=x, sort=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y(f"{y}:Q", title=y_title, scale=scale),
        tooltip=[f"{x}:N", alt.Tooltip(f"{y}:Q", format=fmt)],
    )
    bar = base.mark_bar()
    if color:
        cscale = alt.Scale(domain=list(colors), range=list(colors.values())) if colors else alt.Undefined
        bar = bar.encode(color=alt.Color(f"{color}:N", title=color, scale=cscale))
    text = base.mark_text(dy=-8, fontSize=12).encode(text=alt.Text(f"{y}:Q", format=fmt))
    return (bar + text).properties(title=_title(title, subtitle), height=HEIGHT)


def lorenz_points(values: Sequence[float]) -> pd.DataFrame:
    """Lorenz curve points: share of pages (least retrievable first) vs share of r(d)."""
    x, y = lorenz_curve([float(v) for v in values])
    return pd.DataFrame({"share of pages": x, "share of retrievability": y})


def lorenz_chart(values: Sequence[float], gini: float, cutoff: int | None) -> alt.LayerChart:
    """The Lorenz curve of retrievability against the line of perfect equality."""
    points = lorenz_points(values)
    line = np.linspace(0, 1, 2)
    equal = pd.DataFrame({"share of pages": line, "share of retrievability": line})
    enc = {
        "x": alt.X(
            "share of pages:Q", title="share of pages, least retrievable first", axis=alt.Axis(format="%")
        ),
        "y": alt.Y(
            "share of retrievability:Q", title="share of all retrievals r(d)", axis=alt.Axis(format="%")
        ),
    }
    diag = alt.Chart(equal).mark_line(strokeDash=[5, 4], color="grey").encode(**enc)
    curve = (
        alt.Chart(points)
        .mark_line(point=True, color="#1f77b4")
        .encode(**enc, tooltip=[alt.Tooltip(c, format=".0%") for c in points.columns])
    )
    where = f" (top-{cutoff} results)" if cutoff else ""
    sub = f"Gini {gini:.3f}: 0 = every page equally findable, 1 = a few pages take every query{where}."
    return (diag + curve).properties(title=_title("Lorenz curve of page retrievability", sub), height=HEIGHT)


def selective_chart(points: pd.DataFrame) -> alt.Chart:
    """Accuracy among the answered questions against the share answered, one line per system: the
    price of abstaining (left: fewer answers; up: the ones given are right more often)."""
    enc = {
        "x": alt.X("coverage:Q", title="share of test questions answered", axis=alt.Axis(format="%"),
                   scale=alt.Scale(domain=[0, 1])),
        "y": alt.Y("accuracy:Q", title="accuracy among the answered", axis=alt.Axis(format="%"),
                   scale=alt.Scale(domain=[0, 1])),
        "color": alt.Color("system:N", title="system"),
    }  # fmt: skip
    sub = (
        "Each system abstains below a rising threshold of its dev-chosen support signal; an answered "
        "unanswerable question is wrong."
    )
    return (
        alt.Chart(points)
        .mark_line(point=True)
        .encode(
            **enc,
            tooltip=[
                "system",
                alt.Tooltip("coverage:Q", format=".0%"),
                alt.Tooltip("accuracy:Q", format=".1%"),
                "threshold",
            ],
        )
        .properties(title=_title("Selective accuracy", sub), height=HEIGHT)
    )
