"""Sweep folders as the Sweeps page sees them (plain Python, tested directly).

A sweep folder is what ``ftrag sweep`` writes (``compare/sweep/report.py``): ``sweep.csv`` after
every variant, then ``summary.json`` (``"kind": "sweep"``), ``report.md`` and ``plots/`` when the
sweep finishes. A folder with ``sweep.csv`` and no summary is a sweep still running or interrupted.
Like every dashboard read, nothing outside the runs folder is opened (symlinks followed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dashboards import data

TABLE = "sweep.csv"
KNOB_COLUMNS = ("lr", "epochs", "r", "target_modules", "method", "fact_fraction", "corrupt_fraction",
                "phrasings", "replay")  # fmt: skip
HOW_TO_SWEEP = "Make one with `ftrag sweep --profile quick` (about 15 minutes on a 2-core CPU), then reload."


@dataclass
class Sweep:
    """A loaded sweep: its summary (``None`` while unfinished), the variant table, and problems."""

    name: str
    path: Path
    summary: dict[str, Any] | None = None
    table: pd.DataFrame | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.summary is not None


def is_sweep(path: Path) -> bool:
    return (path / TABLE).is_file()


def list_sweeps(folder: Path, root: Path) -> list[str]:
    """Names of the sweep folders directly in ``folder`` (inside ``root``), newest first."""
    if not folder.is_dir():
        return []
    out = [
        c.name
        for c in folder.iterdir()
        if not c.name.startswith(".") and resolve(root, c) is not None and c.is_dir() and is_sweep(c)
    ]
    return sorted(out, reverse=True)


def resolve(root: Path, path: Path) -> Path | None:
    return data.resolve_inside(root, str(path))


def load_sweep(folder: Path, root: Path, name: str) -> Sweep:
    """The sweep ``name`` in ``folder``; a path outside ``root`` or unreadable files become problems."""
    path = resolve(root, folder / name)
    sweep = Sweep(name, path or folder / name)
    if path is None or not is_sweep(path):
        sweep.problems.append(f"`{name}` is not a sweep folder inside {root}.")
        return sweep
    table = resolve(root, path / TABLE)
    try:
        sweep.table = pd.read_csv(table, keep_default_na=False, na_values=[""]) if table else None
    except (ValueError, pd.errors.ParserError) as exc:
        sweep.problems.append(f"sweep.csv cannot be read ({exc}).")
    summary_path = resolve(root, path / "summary.json")
    if summary_path is not None and summary_path.is_file():
        summary, error = data.read_json(summary_path)
        if isinstance(summary, dict) and summary.get("kind") == "sweep":
            sweep.summary = summary
        else:
            sweep.problems.append(error or "summary.json is not a sweep summary.")
    return sweep


def variants(sweep: Sweep) -> pd.DataFrame:
    """One row per variant: from the summary when finished (with ``pareto``), else from sweep.csv."""
    if sweep.summary and sweep.summary.get("variants"):
        df = pd.DataFrame(sweep.summary["variants"])
    elif sweep.table is not None:
        df = sweep.table.copy()
    else:
        return pd.DataFrame(columns=["variant", "status"])
    if "pareto" not in df:
        df["pareto"] = False
    for col in ("accuracy", "accuracy_trained", "retention", "drift_kl", "style", "trainable_share",
                "train_seconds", "cost_usd"):  # fmt: skip
        if col in df:
            df[col] = pd.to_numeric(df[col], errors="coerce")
    return df


def pareto_points(df: pd.DataFrame) -> pd.DataFrame:
    """Finished variants with both a knowledge accuracy and a retention (what the Pareto plot draws)."""
    if df.empty or "retention" not in df:
        return df.iloc[0:0]
    done = df[df["status"] == "done"].dropna(subset=["accuracy", "retention"]).copy()
    done["front"] = done["pareto"].map(lambda p: "on the Pareto front" if bool(p) else "dominated")
    return done


def knob_values(df: pd.DataFrame, knob: str) -> list[str]:
    """A knob's values in the table as text, in a numeric order where they are numbers."""

    def key(text: str) -> tuple:
        try:
            v = float(text)
        except ValueError:
            return (1, 0.0, text)
        return (0, math.inf if knob == "phrasings" and v == 0 else v, text)

    return sorted({str(v) for v in df[knob]}, key=key) if knob in df else []


def verdict_rows(summary: dict[str, Any] | None) -> list[dict[str, str]]:
    return [
        {"rule": r.get("claim", ""), "verdict": r.get("status", ""), "numbers": r.get("detail", "")}
        for r in (summary or {}).get("rules", [])
    ]
