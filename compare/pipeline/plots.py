"""The report's PNG plots (matplotlib, headless)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _save(fig: Any, path: Path) -> str:
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(path)
    return str(path)


def _scatter(
    ax: Any, systems: Mapping[str, Mapping[str, Any]], xkey: str, sizes: list[float] | None = None
) -> None:
    for i, (name, s) in enumerate(systems.items()):
        x, y = s[xkey], s["accuracy"]
        if any(math.isnan(v) for v in (x, y)):
            continue
        ax.scatter([x], [y], s=sizes[i] if sizes else 60, alpha=0.7)
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(6, 4))
    ax.set_ylabel("accuracy (test, answerable)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)


def write_plots(folder: Path, systems: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """accuracy vs latency, accuracy vs cost (bubble = up-front cost), attribution, per-kind bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    fig, ax = plt.subplots(figsize=(5.5, 4))
    _scatter(ax, systems, "latency_p50_ms")
    ax.set_xlabel("single-request latency p50 (ms)")
    ax.set_title("Accuracy vs latency")
    out.append(_save(fig, folder / "accuracy_latency.png"))
    fig, ax = plt.subplots(figsize=(5.5, 4))
    up = [s["upfront_usd"] for s in systems.values()]
    # Area from $0, against at least the dearest 1,000 queries: a near-zero up-front cost (an index)
    # stays a small bubble instead of being stretched to the largest when every other cost is zero.
    top = max([*up, *(s.get("usd_per_1k_queries") or 0 for s in systems.values())]) or 1.0
    _scatter(ax, systems, "usd_per_1k_queries", [60 + 900 * u / top for u in up])
    ax.set_xlabel("cost per 1,000 queries (USD, bench machine)")
    ax.set_title("Accuracy vs cost (bubble: up-front cost)")
    out.append(_save(fig, folder / "accuracy_cost.png"))
    out.append(
        _bars(
            plt,
            folder / "attribution.png",
            systems,
            ["citation_precision", "citation_recall", "grounded_correct"],
            "Attribution",
            lambda s, k: s[k],
        )
    )
    kinds = sorted({k for s in systems.values() for k in s["by_kind"]})
    out.append(
        _bars(
            plt,
            folder / "by_kind.png",
            systems,
            kinds,
            "Accuracy by question kind (unanswerable: abstention)",
            lambda s, k: s["by_kind"].get(k, math.nan),
        )
    )
    plt.close("all")
    return out


def _bars(
    plt: Any, path: Path, systems: Mapping[str, Mapping[str, Any]], keys: list[str], title: str, get: Any
) -> str:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    width = 0.8 / max(1, len(keys))
    for j, key in enumerate(keys):
        vals = [0 if math.isnan(get(s, key)) else get(s, key) for s in systems.values()]
        ax.bar([i + j * width for i in range(len(systems))], vals, width, label=key.replace("_", " "))
    ax.set_xticks([i + width * (len(keys) - 1) / 2 for i in range(len(systems))], list(systems))
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("rate")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)
