"""The sweep's run folder: ``sweep.csv`` (one row per variant), ``summary.json`` (resolved config,
variants, Pareto front, rule verdicts, budget), ``report.md`` and ``plots/`` (knowledge vs
retention with the Pareto front marked; accuracy against each swept knob). Written atomically,
and ``sweep.csv`` after every variant, so an interrupted sweep leaves what it finished."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compare.pipeline.plots import _save
from compare.sweep.grid import knob_text
from compare.sweep.rules import HELD, NOT_HELD, Verdict, check_rules, pareto_front
from compare.sweep.run import COLUMNS
from corpus.io import atomic_write_text

SUMMARY_KIND = "sweep"
SUMMARY_VERSION = 1
MARK = {HELD: "held", NOT_HELD: "did not hold"}


def _cell(v: Any) -> Any:
    if isinstance(v, float):
        # six significant digits, not decimals: a tiny training's cost (3e-7 $) must not read as 0
        return "" if math.isnan(v) else float(f"{v:.6g}")
    return v


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _cell(r.get(k, "")) for k in COLUMNS})
    atomic_write_text(path, buf.getvalue())


def with_pareto(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows with ``pareto``: on the knowledge (accuracy) x retention front among finished variants."""
    points = [
        (float(r["accuracy"]), float(r["retention"])) if r.get("status") == "done" else (math.nan, math.nan)
        for r in rows
    ]
    return [dict(r, pareto=p) for r, p in zip(rows, pareto_front(points), strict=True)]


def fmt(v: Any, digits: int = 3) -> str:
    if isinstance(v, bool) or v is None:
        return "-" if v is None else ("yes" if v else "no")
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.{digits}f}"
    return str(v)


TABLE = (
    ("variant", "variant"), ("accuracy", "accuracy"), ("accuracy_trained", "acc. (trained facts)"),
    ("retention", "retention"), ("drift_kl", "drift KL"), ("style", "style"), ("examples", "examples"),
    ("trainable_share", "trainable %"), ("train_seconds", "train s"), ("cost_usd", "cost $"),
    ("pareto", "Pareto"),
)  # fmt: skip


def table_md(rows: Sequence[Mapping[str, Any]]) -> str:
    """The variant table in markdown (skipped and failed variants say why)."""
    out = ["| " + " | ".join(t for _, t in TABLE) + " |", "|" + "---|" * len(TABLE)]
    for r in rows:
        if r.get("status") != "done":
            out.append(f"| {r['variant']} | {r['status']}: {r.get('reason', '')} |" + " |" * (len(TABLE) - 2))
            continue
        cells = []
        for key, _ in TABLE:
            v = r.get(key)
            if key == "trainable_share":
                cells.append(f"{100 * float(v):.2f}")
            elif key in ("train_seconds",):
                cells.append(f"{float(v):.0f}")
            elif key == "cost_usd":
                cells.append(f"{float(v):.4f}")
            else:
                cells.append(fmt(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def verdicts_md(verdicts: Sequence[Verdict]) -> str:
    return "\n".join(f"- **{v.claim}**: {v.status}. {v.detail}." for v in verdicts)


def report_md(
    summary: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], verdicts: Sequence[Verdict]
) -> str:
    """The report: what was swept and scored how, the table, the rules of thumb, the Pareto front."""
    cfg, b = summary["config"], summary["budget"]
    sweep, train = cfg["sweep"], cfg["train"]
    front = [r["variant"] for r in rows if r.get("pareto")]
    held = [v for v in verdicts if v.status == HELD]
    failed = [v for v in verdicts if v.status == NOT_HELD]
    lines = [
        f"# Sweep `{summary['name']}` on {summary['dataset']}",
        "",
        f"{len(rows)} variants of {', '.join(summary['knobs']) or 'no knob'} ({sweep['profile']} profile), "
        f"model {train['model']} on {summary['machine']['device']} ({summary['machine']['cpus']} CPUs); "
        f"{b['trained']} trained, {b['cached']} from the cache, {b['skipped']} skipped; "
        f"wall time {b['wall_seconds'] / 60:.1f} min (CPU time {b.get('cpu_seconds', 0) / 60:.1f} min), "
        f"training {b['train_seconds'] / 60:.1f} min, "
        f"training cost ${b['cost_usd']:.4f} at ${b['usd_per_hour']}/h ({sweep['hardware']}).",
        "",
        f"Knowledge accuracy: closed book on the {summary['questions']} `{sweep['split']}` questions "
        f"({summary['answerable']} answerable), held-out phrasings of the facts (never trained on). "
        + (
            "Dev, not test: a sweep chooses settings, and a split settings were chosen on no longer "
            "gives an unbiased score; the bench scores test once. "
            if sweep["split"] == "dev"
            else ""
        )
        + "`acc. (trained facts)` counts only the facts the variant trained on (it differs when "
        "fact_fraction < 1). Retention: share of the "
        f"{summary['kept_probes']} general probes the base model answers (of {summary['probes']}) still "
        "answered after fine-tuning; drift: mean next-token KL(base || adapter) on general text (nats). "
        f"Base training config: {train['epochs']} epochs, lr {train['lr']}, r {train['r']}, batch "
        f"{train['batch_size']}, seed {train['seed']}.",
        "",
        table_md(rows),
        "",
        "## Rules of thumb on this corpus",
        "",
        f"{len(held)} held, {len(failed)} did not hold, "
        f"{len(verdicts) - len(held) - len(failed)} not measured "
        f"(a difference under {summary['margin']} counts as none).",
        "",
        verdicts_md(verdicts),
        "",
        "## Pareto front (knowledge accuracy x retention)",
        "",
        ("On the front: " + ", ".join(f"`{n}`" for n in front) + ".") if front else "No finished variant.",
        "",
        "![knowledge vs retention](plots/pareto.png)",
        *[f"![accuracy vs {k}](plots/accuracy_{k}.png)" for k in summary["knobs"]],
        "",
    ]
    return "\n".join(lines)


def write_plots(folder: Path, rows: Sequence[Mapping[str, Any]], knobs: Sequence[str]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    rs = [r for r in rows if r.get("status") == "done"]
    out = []
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for r in rs:
        ax.scatter([r["retention"]], [r["accuracy"]], s=60, alpha=0.75, color="C3" if r["pareto"] else "C0")
        ax.annotate(r["variant"], (r["retention"], r["accuracy"]), textcoords="offset points",
                    xytext=(5, 4), fontsize=7)  # fmt: skip
    front = sorted((r["retention"], r["accuracy"]) for r in rs if r["pareto"])
    if front:
        ax.plot(*zip(*front, strict=True), color="C3", lw=1, ls="--", label="Pareto front")
        ax.legend(fontsize=8)
    ax.set_xlabel("retention of general probes the base answers")
    ax.set_ylabel("knowledge accuracy (held-out phrasings)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title("Knowledge vs retention")
    out.append(_save(fig, folder / "pareto.png"))
    for knob in knobs:
        out.append(knob_plot(plt, folder / f"accuracy_{knob}.png", rs, knob))
    plt.close("all")
    return out


def knob_plot(plt: Any, path: Path, rows: Sequence[Mapping[str, Any]], knob: str) -> str:
    """Accuracy against one knob's values, a line per setting of the other knobs."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    values = sorted({knob_text(knob, r[knob]) for r in rows}, key=lambda t: _sort_key(knob, t))
    lines: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        rest = " ".join(p for p in r["variant"].split() if not p.startswith(f"{knob}=")) or "defaults"
        lines.setdefault(rest, []).append((values.index(knob_text(knob, r[knob])), r["accuracy"]))
    for label, pts in lines.items():
        xs, ys = zip(*sorted(pts), strict=True)
        ax.plot(xs, ys, marker="o", label=label)
    ax.set_xticks(range(len(values)), [("all" if knob == "phrasings" and v == "0" else v) for v in values])
    ax.set_xlabel(knob)
    ax.set_ylabel("knowledge accuracy (held-out phrasings)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(f"Accuracy vs {knob}")
    if len(lines) > 1:
        ax.legend(fontsize=7)
    return _save(fig, path)


def _sort_key(knob: str, text: str) -> Any:
    try:
        v = float(text)
    except ValueError:
        return (1, 0.0, text)
    return (0, math.inf if knob == "phrasings" and v == 0 else v, text)


def finish(run: Path, summary: dict[str, Any], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """sweep.csv, plots, report.md and summary.json (last: its presence marks a finished sweep)."""
    rows = with_pareto(rows)
    verdicts = check_rules(rows)
    write_csv(run / "sweep.csv", rows)
    summary["plots"] = [
        str(Path(p).relative_to(run)) for p in write_plots(run / "plots", rows, summary["knobs"])
    ]
    summary["variants"] = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                           for r in rows]  # fmt: skip
    summary["pareto"] = [r["variant"] for r in rows if r["pareto"]]
    summary["rules"] = [v.__dict__ for v in verdicts]
    atomic_write_text(run / "report.md", report_md(summary, rows, verdicts))
    atomic_write_text(run / "summary.json", json.dumps(summary, indent=1, default=str) + "\n")
    return summary
