"""The model axis: the same comparison for more than one generator, and whether the verdict moves.

On the bundled facts the ordering of RAG and fine-tuning flips with the reader (DESIGN.md, "A fair
comparison"), so a verdict reached with one small model may not hold at another size. The ``full``
profile runs every system for each model; this module turns their summaries into one table and a
plain statement: which systems lead at each size (ties by the paired test count as ties), and
between which measured sizes the leader changes. Pure functions over summaries.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

_SIZE = re.compile(r"^\s*([\d.]+)\s*([KMBT]?)\s*$", re.IGNORECASE)
_SCALE = {"": 1, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def model_slug(name: str) -> str:
    """The folder name of a model's run under ``<run>/models/`` (a path or name made file-safe)."""
    return re.sub(r"[^\w.-]+", "_", name)


def parse_size(text: str) -> float:
    """``"135M"`` -> 1.35e8; unknown or empty -> nan (sorted last)."""
    m = _SIZE.match(text or "")
    return float(m.group(1)) * _SCALE[m.group(2).upper()] if m else float("nan")


def leaders(summary: Mapping[str, Any]) -> list[str]:
    """The systems tied with the most accurate one (the paired test cannot tell them apart)."""
    systems = summary.get("systems", {})
    if not systems:
        return []
    best = max(systems, key=lambda n: systems[n].get("accuracy", 0.0))
    tied = {c["a"] if c["b"] == best else c["b"] for c in summary.get("comparisons", [])
            if c.get("tie") and best in (c["a"], c["b"])}  # fmt: skip
    return sorted({best} | (tied & set(systems)), key=lambda n: (-systems[n].get("accuracy", 0.0), n))


def axis_rows(summaries: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per model, smallest first: size, each system's accuracy and interval, the leaders
    and the knobs dev tuning chose."""
    rows = []
    for model, s in summaries.items():
        size = s.get("model", {}).get("size", "")
        rows.append({
            "model": model,
            "size": size,
            "params": s.get("model", {}).get("params"),
            "accuracy": {n: v.get("accuracy") for n, v in s.get("systems", {}).items()},
            "ci95": {n: v.get("accuracy_ci95") for n, v in s.get("systems", {}).items()},
            "leaders": leaders(s),
            "tuned": {n: t.get("chosen") for n, t in s.get("tuning", {}).get("systems", {}).items()},
            "run": s.get("run_folder", ""),
        })  # fmt: skip
    return sorted(rows, key=lambda r: (r["params"] or parse_size(r["size"]) or 0, r["model"]))


def flips(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Where the leader changes between consecutive measured sizes: the leaders before and after
    share no system (a tie that still includes the earlier leader is not a flip)."""
    out = []
    for a, b in itertools.pairwise(rows):
        if a["leaders"] and b["leaders"] and not set(a["leaders"]) & set(b["leaders"]):
            out.append({"from_model": a["model"], "from_size": a["size"], "from": a["leaders"],
                        "to_model": b["model"], "to_size": b["size"], "to": b["leaders"]})  # fmt: skip
    return out


def verdict(rows: Sequence[Mapping[str, Any]]) -> str:
    """The answer to "does the verdict depend on model size?" in one sentence: yes (the leader
    changes between two measured sizes), partly (one system leads or ties for the lead at every
    size, but others lead only at some), or no (the same leaders everywhere)."""
    if len(rows) < 2:
        return "one model measured: run more than one (bench.models) to see the size axis"
    changes = flips(rows)
    per_size = "; ".join(f"{r['size'] or r['model']}: {' = '.join(r['leaders'])}" for r in rows)
    if changes:
        parts = [
            f"{' = '.join(c['from'])} leads at {c['from_size'] or c['from_model']}, "
            f"{' = '.join(c['to'])} at {c['to_size'] or c['to_model']}: the verdict flips between "
            f"{c['from_size'] or c['from_model']} and {c['to_size'] or c['to_model']} (measured at both)"
            for c in changes
        ]
        return "yes: " + "; ".join(parts)
    common = [n for n in rows[0]["leaders"] if all(n in r["leaders"] for r in rows)]
    if all(set(r["leaders"]) == set(rows[0]["leaders"]) for r in rows):
        return f"no: {' = '.join(common)} lead(s) at every measured size ({_sizes(rows)})"
    only = sorted({n for r in rows for n in r["leaders"]} - set(common))
    return (
        f"partly: {' = '.join(common)} leads or ties for the lead at every measured size, "
        f"{', '.join(only)} only at some ({per_size})"
    )


def axis_lines(axis: Mapping[str, Any]) -> list[str]:
    """The report section "Does the verdict depend on model size?"."""
    rows = axis.get("rows", [])
    if not rows:
        return []
    systems = list(dict.fromkeys(n for r in rows for n in r["accuracy"]))
    lines = [
        "## Does the verdict depend on model size?",
        "",
        "The whole comparison, dev tuning included, for each model (accuracy on the test split, 95% "
        "interval). Leaders: the most accurate system and those the paired test cannot tell from it.",
        "",
        "| model | size | " + " | ".join(systems) + " | leaders |",
        "|---|---|" + "---|" * len(systems) + "---|",
    ]
    for r in rows:
        cells = [_acc(r["accuracy"].get(n), r["ci95"].get(n)) for n in systems]
        lines.append(
            f"| {r['model']} | {r['size']} | " + " | ".join(cells) + f" | {' = '.join(r['leaders'])} |"
        )
    return [*lines, "", f"**{axis['verdict']}**", ""]


def _acc(value: float | None, ci: Sequence[float] | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f} [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else f"{value:.3f}"


def _sizes(rows: Sequence[Mapping[str, Any]]) -> str:
    return ", ".join(r["size"] or r["model"] for r in rows)


def model_axis(summaries: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Rows, flips and the one-sentence verdict, as stored in ``summary["model_axis"]``."""
    rows = axis_rows(summaries)
    return {"rows": rows, "flips": flips(rows), "verdict": verdict(rows)}


def size_note(tops: Sequence[tuple[str, str, str]]) -> str:
    """What the recommender adds for a use case measured with several models: ``tops`` holds
    (model, size, first-ranked system) per model, smallest first."""
    if len(tops) < 2:
        return ""
    where = "; ".join(f"{m} ({size}): {top}" for m, size, top in tops)
    changes = [(a, b) for a, b in itertools.pairwise(tops) if a[2] != b[2]]
    if not changes:
        return f"model size: the same system comes first at every measured size ({where})"
    between = ", ".join(f"between {a[1] or a[0]} and {b[1] or b[0]}" for a, b in changes)
    return f"model size: the recommendation flips {between} (measured at both): {where}"


def verdict_basis(summary: Mapping[str, Any]) -> str:
    """The model, its size and the knobs a run's verdict was reached with, in one line."""
    model = summary.get("model", {})
    who = f"{model.get('name', 'the run model')} ({model.get('size', '?')})"
    tuned = summary.get("tuning", {}).get("systems", {})
    if not tuned:
        return f"verdict reached with {who}; knobs as configured (no dev tuning)"
    chosen = "; ".join(
        f"{n} {', '.join(f'{k}={v}' for k, v in t['chosen'].items())}" for n, t in tuned.items()
    )
    routes = summary.get("tuning", {}).get("routes", {})
    chosen += "".join(f"; {n} rule={r['chosen']}" for n, r in routes.items())
    return f"verdict reached with {who}; knobs chosen on dev: {chosen}"
