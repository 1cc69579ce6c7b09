"""Tables the pages show, built from a run's ``summary.json`` as pandas DataFrames.

Pure functions of plain dicts: the shapes are those written by ``compare/pipeline/report.py`` and
``compare/scenarios/core.py``. Missing numbers become NaN (shown as '-'), never an exception, because
older or partial runs lack some sections.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from compare.scoring.metrics import MAX, metrics
from dashboards.data import is_nan

# Shown for a missing number. Not a hyphen: Streamlit renders table cells as markdown, where a lone
# hyphen becomes a list bullet.
MISSING = "–"


@dataclass(frozen=True)
class Column:
    """One measure of the systems table: summary key, header with unit, which way is better."""

    key: str
    label: str
    better: str  # MAX or MIN
    kind: str = "rate"  # rate | ms | usd | seconds


def columns(keys: Sequence[str]) -> tuple[Column, ...]:
    """The dashboard's columns of registered metrics (``compare.scoring.metrics``), in ``keys`` order."""
    return tuple(Column(m.key, m.label, m.better, m.kind) for m in metrics(keys))


SYSTEM_COLUMNS = columns(
    ("accuracy", "grounded_correct", "citation_precision", "latency_p50_ms", "latency_p95_ms",
     "usd_per_1k_queries", "upfront_usd", "upfront_seconds")
)  # fmt: skip
HYBRID_COLUMNS = columns(
    ("accuracy", "exact_match", "grounded_correct", "citation_precision", "abstention_accuracy",
     "latency_p95_ms", "usd_per_1k_queries", "upfront_usd")
)  # fmt: skip
TRACKS = ("rag", "ft", "hybrid", "raft", "routed")
COMBINED = ("hybrid", "routed")  # systems that combine the two tracks


def num(value: Any) -> float:
    """A float, NaN for anything missing or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def fmt_value(value: Any, kind: str = "rate") -> str:
    """A number for display with its unit style; '-' when missing."""
    if is_nan(value) or not isinstance(value, int | float):
        return MISSING
    if kind == "usd":
        if value == 0:
            return "$0"
        return "< $0.0001" if abs(value) < 0.0001 else f"${value:,.4f}"
    if kind == "ms":
        return f"{value:,.0f}"
    if kind == "seconds":
        if value == 0 or abs(value) >= 10:
            return f"{value:,.1f}"
        return f"{value:.2g}" if abs(value) < 1 else f"{value:.2f}"  # a 0.0048 s re-index is not 0.0
    return f"{value:.3f}"


def fmt_delta(value: Any, kind: str = "rate") -> str:
    """A signed difference for display ('+0.120', '-35', '+$0.0012'); '-' when missing."""
    if is_nan(value) or not isinstance(value, int | float):
        return MISSING
    sign = "+" if value > 0 else "-" if value < 0 else "±"
    return sign + fmt_value(abs(value), kind)


def systems_table(summary: Mapping[str, Any], columns: Sequence[Column] = SYSTEM_COLUMNS) -> pd.DataFrame:
    """One row per system (index), one column per measure (headers with units), floats."""
    systems = summary.get("systems") or {}
    rows = {name: {c.label: num(s.get(c.key)) for c in columns} for name, s in systems.items()}
    return pd.DataFrame.from_dict(rows, orient="index", columns=[c.label for c in columns])


def best_per_column(df: pd.DataFrame, better: Mapping[str, str]) -> dict[str, list[str]]:
    """Row labels holding the best value of each column (ties: all of them).

    A column whose values are all equal or all missing has no best (highlighting every row
    would say nothing).
    """
    out: dict[str, list[str]] = {}
    for col, way in better.items():
        if col not in df:
            continue
        values = pd.to_numeric(df[col], errors="coerce").dropna()
        if values.empty or values.nunique() == 1:
            out[col] = []
            continue
        best = values.max() if way == MAX else values.min()
        out[col] = [str(i) for i in values.index[values == best]]
    return out


def styled_systems(df: pd.DataFrame, columns: Sequence[Column] = SYSTEM_COLUMNS) -> Any:
    """A pandas Styler: units formatted, the best value of every column highlighted."""
    kinds = {c.label: c.kind for c in columns}
    best = best_per_column(df, {c.label: c.better for c in columns})

    def highlight(col: pd.Series) -> list[str]:
        return [
            "background-color: #d1f2d9; font-weight: 600" if str(i) in best.get(col.name, []) else ""
            for i in col.index
        ]

    formats = {label: (lambda v, k=kind: fmt_value(v, k)) for label, kind in kinds.items() if label in df}
    return df.style.apply(highlight, axis=0).format(formats)


def points_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """Per system: accuracy, latency, cost and up-front numbers for the scatter plots."""
    keys = (
        "accuracy",
        "latency_p50_ms",
        "latency_p95_ms",
        "usd_per_1k_queries",
        "upfront_usd",
        "upfront_seconds",
        "grounded_correct",
    )
    rows = [
        {"system": name, **{k: num(s.get(k)) for k in keys}}
        for name, s in (summary.get("systems") or {}).items()
    ]
    return pd.DataFrame(rows, columns=["system", *keys])


def kinds_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """Long table (system, kind, value, measure) of the per-question-kind scores."""
    rows = []
    for name, s in (summary.get("systems") or {}).items():
        for kind, value in sorted((s.get("by_kind") or {}).items()):
            measure = "abstention accuracy" if kind == "unanswerable" else "accuracy"
            rows.append({"system": name, "kind": kind, "value": num(value), "measure": measure})
    return pd.DataFrame(rows, columns=["system", "kind", "value", "measure"])


def selective_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """Long table (system, coverage, accuracy, threshold) of each retrieving system's selective-
    accuracy curve on test (before its abstention gate), plus where its gate put it."""
    rows = []
    for name, entry in (summary.get("abstention") or {}).items():
        for threshold, coverage, accuracy in entry.get("curve") or []:
            rows.append({"system": name, "coverage": num(coverage), "accuracy": num(accuracy),
                         "threshold": num(threshold)})  # fmt: skip
    return pd.DataFrame(rows, columns=["system", "coverage", "accuracy", "threshold"])


def retrieval_frame(summary: Mapping[str, Any]) -> pd.DataFrame:
    """Retrieval metrics of every retriever measured on the scored split."""
    metrics = ("recall@1", "recall@5", "mrr@10", "ndcg@10")
    found = ((summary.get("index") or {}).get("retrieval")) or {}
    rows = {name: {m: num(v.get(m)) for m in metrics} for name, v in found.items()}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(metrics))


def hybrid_verdict(summary: Mapping[str, Any]) -> str:
    """One sentence per combined system (hybrid, routed): does it beat the better of the two
    tracks on accuracy?"""
    systems = summary.get("systems") or {}
    acc = {n: num(systems[n].get("accuracy")) for n in ("rag", "ft", *COMBINED) if n in systems}
    combos = [n for n in COMBINED if n in acc]
    if not combos:
        return "This run has no hybrid system (add it with `--systems base,rag,ft,hybrid,routed`)."
    tracks = {n: v for n, v in acc.items() if n not in COMBINED and not math.isnan(v)}
    if not tracks:
        return " ".join(
            f"{n} reached {acc[n]:.3f} accuracy; no RAG or FT track to compare with." for n in combos
        )
    best = max(tracks, key=lambda n: tracks[n])
    lines = []
    for n in combos:
        delta = acc[n] - tracks[best]
        word = "above" if delta > 0 else "below" if delta < 0 else "level with"
        lines.append(
            f"{n} reached {acc[n]:.3f} accuracy, {abs(delta):.3f} {word} the better track "
            f"({best}, {tracks[best]:.3f})."
        )
    return " ".join(lines)


def freshness_frame(fresh: Mapping[str, Any]) -> pd.DataFrame:
    """One row per system and update path: accuracy on changed facts before/after and its cost."""
    rows = []
    for label, s in (fresh.get("systems") or {}).items():
        before, after = s.get("changed_before") or {}, s.get("changed_after") or {}
        rows.append(
            {
                "system (update)": label,
                "update": s.get("update", "none"),
                "update time (s)": num(s.get("update_seconds")),
                "changed facts: accuracy before": num(before.get("accuracy")),
                "changed facts: accuracy after": num(after.get("accuracy")),
                "old value after": num(after.get("old_value_rate")),
                "unchanged facts: accuracy after": num((s.get("unchanged_after") or {}).get("accuracy")),
            }
        )
    return pd.DataFrame(rows)


def freshness_long(fresh: Mapping[str, Any]) -> pd.DataFrame:
    """(system (update), phase, accuracy) rows for a before/after bar chart."""
    rows = []
    for label, s in (fresh.get("systems") or {}).items():
        for phase, key in (("before the update", "changed_before"), ("after the update", "changed_after")):
            rows.append(
                {
                    "system (update)": label,
                    "phase": phase,
                    "accuracy": num((s.get(key) or {}).get("accuracy")),
                }
            )
    return pd.DataFrame(rows, columns=["system (update)", "phase", "accuracy"])


def forgetting_frame(forget: Mapping[str, Any]) -> pd.DataFrame:
    """One row per adapter: share of general probes kept, how many were lost, drift in nats."""
    rows = []
    for label, a in (forget.get("adapters") or {}).items():
        families = a.get("lost_by_family") or {}
        rows.append(
            {
                "adapter": label,
                "retention": num(a.get("retention")),
                "probes lost": len(a.get("lost") or []),
                "lost by family": ", ".join(f"{k} {v}" for k, v in sorted(families.items())) or MISSING,
                "drift KL (nats)": num(a.get("drift_kl")),
            }
        )
    return pd.DataFrame(rows)


def serving_frame(serving: Mapping[str, Any]) -> pd.DataFrame:
    """One row per system and served weight type: accuracy, its interval and the paired test."""
    rows = [
        {
            "system": name,
            "weights": label,
            "accuracy": num(r.get("accuracy")),
            "low": num((r.get("ci95") or [None, None])[0]),
            "high": num((r.get("ci95") or [None, None])[1]),
            "difference": num(r.get("difference")),
            "p": num(r.get("p_value")),
        }
        for name, by in (serving.get("systems") or {}).items()
        for label, r in by.items()
    ]
    return pd.DataFrame(rows)


def style_frame(style: Mapping[str, Any]) -> pd.DataFrame:
    """One row per system: where its style comes from and how often it is kept."""
    rows = [
        {
            "system": name,
            "style from": s.get("style_from", MISSING),
            "compliance": num(s.get("compliance")),
            "compliance on correct answers": num(s.get("compliance_when_correct")),
        }
        for name, s in style.items()
        if isinstance(s, Mapping)
    ]
    return pd.DataFrame(rows)


def ranking_frame(ranked: Iterable[Any]) -> pd.DataFrame:
    """The recommender's ranking (``compare.decide.recommend.Ranked`` items) as a table."""
    rows = [
        {
            "rank": i,
            "system": r.system,
            "score": round(r.points, 3),
            "meets every must": not r.failed,
            "monthly cost ($)": r.monthly_usd,
            "misses": "; ".join(r.failed) or MISSING,
        }
        for i, r in enumerate(ranked, start=1)
    ]
    return pd.DataFrame(rows)


def projection_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """``compare.decide.projection.project`` rows with headers that say they are projections."""
    names = {
        "params": "reader size",
        "gpu": "GPU",
        "gpus": "GPUs",
        "latency_ms": "projected latency (ms)",
        "usd_per_1k_queries": "projected $ per 1k queries",
        "train_hours": "projected training (h)",
        "train_usd": "projected training ($)",
    }
    df = pd.DataFrame(list(rows))
    return df[[c for c in names if c in df]].rename(columns=names)


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``a.b.c`` keys (lists kept as values)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out |= flatten(value, name + ".")
        else:
            out[name] = value
    return out


def config_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> pd.DataFrame:
    """Settings that differ between two runs' config.json (missing on one side shows '-')."""
    fa, fb = flatten(a), flatten(b)
    keys = sorted(k for k in set(fa) | set(fb) if fa.get(k, MISSING) != fb.get(k, MISSING))
    rows = [{"setting": k, "run A": str(fa.get(k, MISSING)), "run B": str(fb.get(k, MISSING))} for k in keys]
    return pd.DataFrame(rows, columns=["setting", "run A", "run B"])


def systems_diff(
    a: Mapping[str, Any], b: Mapping[str, Any], columns: Sequence[Column] = SYSTEM_COLUMNS
) -> pd.DataFrame:
    """For every system in both runs and every measure: A, B, B - A and whether B is better."""
    sa, sb = a.get("systems") or {}, b.get("systems") or {}
    rows = []
    for name in [n for n in sa if n in sb]:
        for c in columns:
            va, vb = num(sa[name].get(c.key)), num(sb[name].get(c.key))
            delta = vb - va
            better = (
                "" if math.isnan(delta) or delta == 0 else ("B" if (delta > 0) == (c.better == MAX) else "A")
            )
            rows.append(
                {
                    "system": name,
                    "measure": c.label,
                    "run A": va,
                    "run B": vb,
                    "B - A": delta,
                    "better": better,
                    "kind": c.kind,
                }
            )
    return pd.DataFrame(rows, columns=["system", "measure", "run A", "run B", "B - A", "better", "kind"])


def meta_frame(runs: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Side-by-side facts of runs (label -> {"summary", "config"}): what was run, where, how long."""
    rows: dict[str, dict[str, str]] = {}
    for label, r in runs.items():
        s, c = r.get("summary") or {}, r.get("config") or {}
        systems = s.get("systems") or {}
        first = next(iter(systems.values()), {})
        rows[label] = {
            "dataset": str(s.get("dataset", MISSING)),
            "profile": str(s.get("profile", MISSING)),
            "model": str((c.get("train") or {}).get("model", MISSING)),
            "device": str((s.get("machine") or {}).get("device", MISSING)),
            "systems": ", ".join(systems) or MISSING,
            "questions per system": str(first.get("questions", MISSING)),
            "scenarios": ", ".join(s.get("scenarios") or {}) or MISSING,
            "wall time (min)": MISSING
            if is_nan(minutes := num(s.get("wall_seconds")) / 60)
            else f"{minutes:.1f}",
        }
    return pd.DataFrame(rows)


def only_in(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Systems only in run A, and only in run B."""
    sa, sb = set(a.get("systems") or {}), set(b.get("systems") or {})
    return sorted(sa - sb), sorted(sb - sa)
