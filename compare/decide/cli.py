"""``ftrag recommend``: rank the systems of a finished run for a use case, with measured reasons."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compare.decide.projection import measured_line
from compare.decide.recommend import Ranked, rank, system_facts
from compare.decide.usecase import UseCase, load_usecase, presets
from compare.harness.run_record import read_summary as load_summary
from compare.pipeline.model_axis import model_slug, size_note, verdict_basis
from corpus.io import atomic_write_text


def describe(uc: UseCase) -> str:
    needs = [
        f"knowledge changes {uc.changes} ({uc.updates_per_month:.1f} updates a month)",
        f"citations {uc.citations}",
        f"house style {uc.style}",
        f"p95 budget {uc.p95_ms:.0f} ms" if uc.p95_ms else "no latency budget",
        f"{uc.queries_per_month:,} queries a month",
        f"budget ${uc.budget_usd_per_month:,.0f} a month" if uc.budget_usd_per_month else "no cost budget",
    ]
    if uc.local_only:
        needs.append("local only")
    if uc.accuracy_floor:
        needs.append(f"accuracy at least {uc.accuracy_floor:.2f}")
    return f"{uc.name}: {uc.description}\n  needs: " + "; ".join(needs)


def render(ranked: Sequence[Ranked], uc: UseCase, summary: Mapping[str, Any], run: Path) -> list[str]:
    device = summary.get("machine", {}).get("device", "?")
    lines = [describe(uc), "", f"ranking from run {run} ({summary.get('dataset')}, measured on {device}):",
             f"  ({verdict_basis(summary)})"]  # fmt: skip
    for n, r in enumerate(ranked, 1):
        status = "meets every must" if r.meets_all else "misses: " + "; ".join(r.failed)
        lines.append(f"{n}. {r.system:<7} score {r.points:5.2f}  ({status})")
        lines += [f"     - {reason}" for reason in r.reasons]
    best = ranked[0]
    if best.meets_all:
        lines += ["", f"recommendation: {best.system}"]
    else:
        lines += [
            "",
            f"no system meets every must; closest: {best.system} (relax a must or change the setup)",
        ]
    return lines


def model_tops(run: Path, summary: Mapping[str, Any], uc: UseCase, top: str) -> list[tuple[str, str, str]]:
    """(model, size, first-ranked system) for every model of a model-axis run, smallest first;
    the other models' summaries are their runs under ``<run>/models/``."""
    rows = summary.get("model_axis", {}).get("rows", [])
    primary = summary.get("model", {}).get("name")
    tops = []
    for row in rows:
        if row["model"] == primary:
            tops.append((row["model"], row["size"], top))
            continue
        other = run / "models" / model_slug(row["model"]) / "summary.json"
        if other.is_file():
            ranked = rank(system_facts(json.loads(other.read_text(encoding="utf-8"))), uc)
            tops.append((row["model"], row["size"], ranked[0].system))
    return tops


def cmd_recommend(args: argparse.Namespace) -> int:
    from compare.decide.projection import project, projection_lines
    from finetune.estimate import load_hardware

    run = Path(args.run)
    summary = load_summary(run)
    names = list(presets()) if args.profile == "all" else [args.profile]
    report = {}
    for name in names:
        uc = load_usecase(name)
        ranked = rank(system_facts(summary), uc)
        lines = render(ranked, uc, summary, run)
        note = size_note(model_tops(run, summary, uc, ranked[0].system))
        lines += [note] if note else []
        if not args.no_projection:
            rows = project(summary, ranked[0].system)
            lines += ["", measured_line(summary, ranked[0].system, run)]
            lines += projection_lines(rows, load_hardware()["date"])
        print("\n".join(lines) + "\n")
        report[uc.name] = {"usecase": uc.to_dict(), "ranking": [r.__dict__ for r in ranked]}
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(report, indent=2, default=str) + "\n")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recommend", help="rank base/RAG/FT/hybrid of a run for a use case, with reasons")
    p.add_argument("--run", required=True, help="a finished `ftrag bench` run folder")
    p.add_argument(
        "--profile",
        default="all",
        help=f"preset ({', '.join(presets())}), a YAML file, or 'all' presets (default)",
    )
    p.add_argument("--no-projection", action="store_true", help="leave out projections to other sizes/GPUs")
    p.add_argument("--json", help="also write the rankings as JSON here")
    p.set_defaults(func=cmd_recommend)
