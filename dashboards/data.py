"""Run folders as the dashboard sees them: listing, loading with a status, and path safety.

Everything here is plain Python (no Streamlit), so it is tested directly. A run folder is what
``ftrag bench`` writes (``compare/pipeline/bench.py``): ``config.json``, ``summary.json``,
``results.parquet``, ``report.md``, ``plots/`` and, in newer runs, ``retrievability/``. A folder
without ``summary.json`` is a partial run (interrupted or failed); one with an older summary
schema is reported as such instead of half-rendered.

Paths typed by a user (a URL query parameter or a text box) never leave the runs folder the
dashboard was started with: they are resolved, symlinks included, and checked for containment.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compare.harness.run_record import MIN_SCHEMA, schema_problem

# What a finished bench writes; `plots` is a folder. `retrievability/` is optional (newer runs).
EXPECTED_FILES = ("config.json", "summary.json", "results.parquet", "report.md", "plots")
OPTIONAL_FILES = ("retrievability",)
RUN_MARKERS = ("config.json", "summary.json", "results.parquet")  # any of these makes a folder a run

COMPLETE, PARTIAL, OLD, BROKEN = "complete", "partial", "old schema", "unreadable"
HOW_TO_RUN = "Make one with `make bench` (or `ftrag bench --runs DIR`), then reload this page."


@dataclass(frozen=True)
class RunInfo:
    """One run folder: its name, status and which expected files exist.

    Args:
        name: the folder name, ``<timestamp>-<bench name>``.
        status: ``complete``, ``partial`` (no summary.json), ``old schema`` or ``unreadable``.
        message: what the status means and what to do, in one or two sentences.
    """

    name: str
    path: Path
    status: str
    present: tuple[str, ...]
    missing: tuple[str, ...]
    schema_version: int | None = None
    message: str = ""

    @property
    def complete(self) -> bool:
        return self.status == COMPLETE


@dataclass
class Run:
    """A loaded run: the summary and config as dicts, results and the retrievability page table
    as DataFrames (``None`` when absent), and any problem met while reading them."""

    info: RunInfo
    summary: dict[str, Any] | None = None
    config: dict[str, Any] = field(default_factory=dict)
    results: Any = None  # pandas.DataFrame | None
    pages: Any = None  # pandas.DataFrame | None
    problems: list[str] = field(default_factory=list)


def resolve_inside(root: Path, text: str) -> Path | None:
    """``text`` (relative to ``root`` or absolute) resolved with symlinks followed, or ``None``
    when it lands outside ``root``: ``../``, absolute paths elsewhere and symlinks out are refused.

    >>> resolve_inside(Path("/srv/runs"), "../etc") is None
    True
    """
    if "\x00" in text:
        return None
    base = root.resolve()
    path = (base / text.strip()).resolve()
    return path if path == base or path.is_relative_to(base) else None


def runs_folder(root: Path, text: str) -> tuple[Path, str]:
    """The folder to list runs from: ``root`` or a sub-folder typed by the user.

    Returns the folder and an error message ('' when fine); on error the folder is ``root``.
    """
    if not text.strip():
        return root.resolve(), ""
    path = resolve_inside(root, text)
    if path is None:
        return root.resolve(), f"`{text}` is outside the runs folder {root.resolve()}; showing that folder."
    if not path.is_dir():
        return root.resolve(), f"`{text}` is not a folder inside {root.resolve()}; showing that folder."
    return path, ""


def run_path(folder: Path, root: Path, name: str) -> tuple[Path | None, str]:
    """The run folder ``name`` inside ``folder`` (itself inside ``root``), or an error message."""
    path = resolve_inside(root, str(folder / name))
    if path is None:
        return None, f"`{name}` points outside the runs folder {root.resolve()}; it was not opened."
    if not path.is_dir() or not is_run(path):
        return None, f"`{name}` is not a run folder in {folder}."
    return path, ""


def is_run(path: Path) -> bool:
    """A folder holding any file a bench writes (an empty folder is nothing yet); a sweep's folder
    (``sweep.csv``) is not a bench run: the Sweeps page lists those."""
    return any((path / m).exists() for m in RUN_MARKERS) and not (path / "sweep.csv").exists()


def list_runs(folder: Path, root: Path) -> list[RunInfo]:
    """Run folders directly inside ``folder``, newest first (names start with a timestamp).

    Hidden folders (``.cache``) and symlinks that lead out of ``root`` are left out.
    """
    if not folder.is_dir():
        return []
    out = []
    for child in folder.iterdir():
        if child.name.startswith(".") or resolve_inside(root, str(child)) is None:
            continue
        if child.is_dir() and is_run(child):
            out.append(inspect_run(child))
    return sorted(out, key=lambda r: r.name, reverse=True)


def sub_folders(folder: Path, root: Path) -> list[str]:
    """Folders inside ``folder`` that are not runs (e.g. ``runs/ci``): places to look next."""
    if not folder.is_dir():
        return []
    return sorted(
        c.name
        for c in folder.iterdir()
        if c.is_dir() and not c.name.startswith(".") and not is_run(c) and resolve_inside(root, str(c))
    )


def read_json(path: Path) -> tuple[Any, str]:
    """Parsed JSON, or ``None`` and a one-line reason (missing, not JSON, not UTF-8)."""
    if not path.is_file():
        return None, f"{path.name} is missing"
    try:
        return json.loads(path.read_text(encoding="utf-8")), ""
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, f"{path.name} is not valid JSON ({exc})"


def summary_status(summary: Any, error: str) -> tuple[str, int | None, str]:
    """(status, schema version, message) of a parsed ``summary.json`` (``None`` when unreadable)."""
    if summary is None and "missing" in error:
        return (
            PARTIAL,
            None,
            "No summary.json: the bench did not finish (interrupted, still running, or failed). "
            "Continue it with `ftrag bench --resume --name NAME` or start a new one.",
        )
    if not isinstance(summary, dict):
        return BROKEN, None, f"summary.json cannot be read: {error or 'it is not a JSON object'}."
    version = summary.get("schema_version")
    version = version if isinstance(version, int) else None
    if schema_problem(summary):
        return (
            OLD,
            version,
            f"This run was written by an older ftrag (summary schema version {version}); the dashboard "
            f"reads version {MIN_SCHEMA} or newer. Re-run the bench (`make bench`) to see it here.",
        )
    return COMPLETE, version, ""


def inspect_run(path: Path) -> RunInfo:
    """Status and file inventory of one run folder (reads only summary.json)."""
    present = tuple(n for n in (*EXPECTED_FILES, *OPTIONAL_FILES) if (path / n).exists())
    missing = tuple(n for n in EXPECTED_FILES if n not in present)
    summary, error = read_json(path / "summary.json")
    status, version, message = summary_status(summary, error)
    return RunInfo(path.name, path, status, present, missing, version, message)


def load_run(path: Path) -> Run:
    """Everything the pages show about one run; problems are collected, never raised."""
    import pandas as pd

    info = inspect_run(path)
    run = Run(info)
    config, error = read_json(path / "config.json")
    run.config = config if isinstance(config, dict) else {}
    if error and info.status != PARTIAL:
        run.problems.append(error)
    if info.status != COMPLETE:
        return run
    run.summary, _ = read_json(path / "summary.json")
    if (path / "results.parquet").is_file():
        try:
            run.results = pd.read_parquet(path / "results.parquet")
        except Exception as exc:  # pyarrow raises several types for a truncated file
            run.problems.append(f"results.parquet cannot be read ({type(exc).__name__}: {exc})")
    pages = path / "retrievability" / "pages.csv"
    if pages.is_file():
        try:
            run.pages = pd.read_csv(pages, keep_default_na=False, na_values=[""])
        except (ValueError, pd.errors.ParserError) as exc:
            run.problems.append(f"retrievability/pages.csv cannot be read ({exc})")
    return run


def files_signature(path: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, mtime, size) of a run's files: a cache key that changes when a bench rewrites them."""
    names = ("config.json", "summary.json", "results.parquet", "retrievability/pages.csv")
    return tuple(
        (n, (path / n).stat().st_mtime_ns, (path / n).stat().st_size) for n in names if (path / n).is_file()
    )


def index_folder(root: Path, summary: dict[str, Any]) -> Path | None:
    """The saved FAISS index folder of a run, only if it lies inside ``root``.

    The summary records an absolute path (``<runs>/.cache/index/<key>``); when the runs folder has
    moved, the same key under this ``root`` is tried. Anything outside ``root`` is not read.
    """
    index = summary.get("index") or {}
    candidates = [str(index.get("path") or "")]
    if index.get("key"):
        candidates.append(f".cache/index/{index['key']}")
    for text in candidates:
        path = resolve_inside(root, text) if text else None
        if path is not None and path != root.resolve() and (path / "manifest.json").is_file():
            return path
    return None


def default_run(runs: list[RunInfo]) -> RunInfo:
    """The run shown first: the newest complete one (a bench still running is newer but empty),
    else the newest."""
    return next((r for r in runs if r.complete), runs[0])


def run_label(info: RunInfo) -> str:
    """How a run appears in pickers: its name, with the status when it is not complete."""
    return info.name if info.complete else f"{info.name} ({info.status})"


def model_of(run: Run) -> str:
    """The generator model of a run, from config.json (the train section names it)."""
    return str((run.config.get("train") or {}).get("model", "?"))


def is_nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
