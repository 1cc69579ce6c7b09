"""``ftrag content-report RUN``: every page of a finished run's corpus as a retrieval target and as a
training signal, with a verdict per axis and reasons; writes ``RUN/content/pages.csv`` and
``RUN/content/report.md`` (pages that need work first)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd

from compare.content.pages import (
    LEARNING_SYSTEM,
    RunInputs,
    axis_counts,
    page_table,
    retrieval_system,
)
from compare.content.render import render_markdown, to_csv
from compare.harness.run_record import read_summary as load_summary
from corpus.errors import UserError
from corpus.formats import load_dataset
from corpus.io import atomic_write_text
from corpus.model import Dataset, QAItem
from corpus.paths import resolve_dataset

REQUIRED = ("config.json", "summary.json", "results.parquet")
OUT_DIR = "content"


def check_run(run: Path) -> None:
    """A clear one-line error for a folder that is not a finished run, naming what is missing."""
    if not run.is_dir():
        raise FileNotFoundError(f"{run}: no such run folder; point to a finished `ftrag bench` run folder")
    missing = [n for n in REQUIRED if not (run / n).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{run}: partial run, missing {', '.join(missing)}; finish it (`ftrag bench --resume`) "
            "or point to a finished run folder"
        )


def run_dataset(config: dict[str, Any], override: str | None) -> Dataset:
    """The dataset the run used (config.json records its path), or ``override``."""
    section = config.get("dataset") or {}
    path = resolve_dataset(override or section.get("path") or section.get("name"))
    if not path.exists():
        raise FileNotFoundError(f"{path}: the run's dataset is not there; pass --dataset PATH")
    return load_dataset(path, qa=None if override else section.get("qa"))


def changed_questions(ds: Dataset, freshness: dict[str, Any]) -> dict[str, QAItem]:
    """qid -> the question as the run's update version has it (new answer and ``old_answer``)."""
    version = freshness.get("version")
    if not version or version not in ds.updates:
        return {}
    ids = {q.id for q in ds.updates[version].qa}
    return {q.id: q for q in ds.with_update(version).qa if q.id in ids}


def read_retrievability(run: Path) -> pd.DataFrame | None:
    path = run / "retrievability" / "pages.csv"
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError) as exc:
        raise UserError(f"{path}: cannot be read ({exc}); re-run the bench") from None


def missing_notes(inp: RunInputs, freshness: dict[str, Any]) -> list[str]:
    """What the report could not measure from this run, and why."""
    notes = []
    if inp.retrievability is None:
        notes.append("r(d): the run has no retrievability/pages.csv (runs older than the analysis lack it; "
                     "re-run the bench, or `ftrag retrievability` on the corpus)")  # fmt: skip
    if retrieval_system(inp.results) is None:
        notes.append("top-1 and citations: no rag or hybrid system in this run")
    if LEARNING_SYSTEM not in set(inp.results["system"]):
        notes.append("learning: no ft system in this run")
    if "skipped" in freshness or not freshness:
        notes.append(f"freshness: {freshness.get('skipped', 'the run has no freshness scenario')}")
    else:
        after = ((freshness.get("systems") or {}).get("ft (re-train)") or {}).get("changed_after") or {}
        level = f" (run level: {after['accuracy']:.2f} on changed facts)" if "accuracy" in after else ""
        notes.append(
            "freshness after the update, per page: the freshness scenario keeps only run-level rates in "
            f"summary.json{level}; per page this report shows how often the adapter trained before the "
            "update gives the old value (from results.parquet and the update's questions)"
        )
    return notes


def about_lines(run: Path, summary: dict[str, Any], config: dict[str, Any], inp: RunInputs) -> list[str]:
    machine = summary.get("machine") or {}
    res = inp.results
    return [
        f"Run `{run}`: dataset {summary.get('dataset', '?')}, {summary.get('profile', '?')} profile, "
        f"model {(config.get('train') or {}).get('model', '?')}, measured on {machine.get('device', '?')} "
        f"({machine.get('cpus', '?')} CPUs).",
        f"{res['qid'].nunique()} {(config.get('bench') or {}).get('split', 'test')} questions; retrieval "
        f"from the `{retrieval_system(res) or '-'}` system's retrieved and cited chunks, learning from "
        f"`{LEARNING_SYSTEM}`; a page's questions are those whose gold sources include it.",
    ]


def build(run: Path, dataset: str | None = None) -> tuple[pd.DataFrame, str]:
    """The page table and the markdown report of a run folder."""
    check_run(run)
    summary = load_summary(run)
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    ds = run_dataset(config, dataset)
    freshness = (summary.get("scenarios") or {}).get("freshness") or {}
    inp = RunInputs(
        results=pd.read_parquet(run / "results.parquet"),
        docs=ds.docs,
        retrievability=read_retrievability(run),
        changed=changed_questions(ds, freshness),
        changed_pages=freshness.get("changed_pages") or (),
        template=(ds.meta.get("house_style") or {}).get("template"),
    )
    table = page_table(inp)
    text = render_markdown(
        table, run.name, about_lines(run, summary, config, inp), missing_notes(inp, freshness)
    )
    return table, text


def cmd_content_report(args: argparse.Namespace) -> int:
    run = Path(args.run)
    table, text = build(run, args.dataset)
    out = run / OUT_DIR
    atomic_write_text(out / "pages.csv", to_csv(table))
    atomic_write_text(out / "report.md", text)
    need = table[table["weak_axes"] > 0]
    counts = axis_counts(table)
    print(
        f"{len(table)} pages, {len(need)} need work: "
        + ", ".join(f"{c['weak']} weak on {a}" for a, c in counts.items())
    )
    for r in need.head(args.top).to_dict("records"):
        print(f"  {r['doc_id']}: {r['reasons'].split(' | ')[0]}")
    print(f"wrote {out / 'pages.csv'} and {out / 'report.md'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "content-report", help="per page: retrievable? learnable? fresh? with reasons and fixes"
    )
    p.add_argument("run", help="a finished `ftrag bench` run folder")
    p.add_argument("--dataset", help="the corpus, when it is no longer at the path config.json records")
    p.add_argument("--top", type=int, default=5, help="pages that need work to print (default 5)")
    p.set_defaults(func=cmd_content_report)
