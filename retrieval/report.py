"""Writing retrievability results: page table (CSV), Lorenz curve (PNG), markdown report."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from corpus.io import atomic_write_text
from retrieval.retrievability import RetrievabilityResult, lorenz_curve

COLUMNS = ("doc_id", "title", "status", "r_cumulative", "r_gravity", "own_queries", "own_top1", "own_found",
           "vocab_overlap", "tokens", "winner", "winner_similarity", "diagnoses")  # fmt: skip


def pages_csv(result: RetrievabilityResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for p in result.pages:
        row = {**vars(p), "diagnoses": "; ".join(p.diagnoses)}
        w.writerow(
            [
                round(v, 4) if isinstance(v, float) else ("" if v is None else v)
                for v in (row[c] for c in COLUMNS)
            ]
        )
    return buf.getvalue()


def plot_lorenz(result: RetrievabilityResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y = lorenz_curve([p.r_cumulative for p in result.pages])
    fig, ax = plt.subplots(figsize=(5, 5), dpi=110)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect equality")
    ax.plot(x, y, color="tab:blue", label=f"pages (Gini {result.gini_cumulative:.2f})")
    ax.set_xlabel("share of pages, least retrievable first")
    ax.set_ylabel(f"share of retrievability r(d), cutoff {result.cutoff}")
    ax.set_title("Lorenz curve of retrievability")
    ax.legend(loc="upper left")
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


def markdown_report(result: RetrievabilityResult, limit: int = 30) -> str:
    never = [p for p in result.pages if p.status == "never"]
    rare = [p for p in result.pages if p.status == "rare"]
    lines = [
        "# Retrievability report",
        "",
        f"{len(result.pages)} pages, {result.n_queries} queries ({result.query_source}), "
        f"cutoff {result.cutoff}.",
        f"Gini of r(d): {result.gini_cumulative:.3f} (cumulative), {result.gini_gravity:.3f} (gravity, "
        f"beta {result.beta}). 0 means every page is equally findable.",
        f"Never retrieved: {len(never)} pages. Rarely retrieved: {len(rare)} pages.",
        "",
        "![Lorenz curve](lorenz.png)",
        "",
        "## Pages that need work",
        "",
        "| page | status | r(d) | own queries top-1 | diagnosis |",
        "|---|---|---|---|---|",
    ]
    weak = [p for p in result.pages if p.diagnoses][:limit]
    for p in weak:
        lines.append(
            f"| {p.doc_id} | {p.status} | {p.r_cumulative:g} | {p.own_top1:.0%} | {'; '.join(p.diagnoses)} |"
        )
    if not weak:
        lines.append("| (none) | | | | |")
    return "\n".join(lines) + "\n"


def write_report(result: RetrievabilityResult, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "pages.csv", pages_csv(result))
    plot_lorenz(result, out / "lorenz.png")
    atomic_write_text(out / "report.md", markdown_report(result))
    return [out / "pages.csv", out / "lorenz.png", out / "report.md"]
