"""Projections of a measured architecture to other model sizes and GPUs (labelled as projections).

Training uses the fine-tune track's estimator (FLOPs at a stated efficiency); serving uses the two
textbook bounds: prefill is compute-bound (2N FLOPs per prompt token), one-request decoding is
memory-bound (every weight read once per output token). The prompt and answer lengths are the run's
measured ones, so RAG's longer prompts are carried into the projection.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from finetune.estimate import estimate, load_hardware, parse_count

# Assumed shares of peak: 35% of bf16 FLOP/s (the estimator's default) and 60% of memory bandwidth
# for batch-1 decoding; both are stated next to every projected number.
FLOPS_EFFICIENCY = 0.35
BANDWIDTH_EFFICIENCY = 0.6
BYTES_PER_PARAM = 2  # bf16 serving weights


def serving_projection(
    params: float, prompt_tokens: float, output_tokens: float, gpu: str, hw: Mapping[str, Any]
) -> dict[str, float]:
    """Single-request latency and batched cost per 1k queries of a ``params`` model on ``gpu``."""
    g = hw["gpus"][gpu]
    peak = g["tflops_bf16"] * 1e12 * FLOPS_EFFICIENCY
    gpus = max(1, math.ceil(params * BYTES_PER_PARAM * 1.2 / (g["memory_gb"] * 1e9)))  # 20% for KV cache
    prefill = 2 * params * prompt_tokens / (peak * gpus)
    decode = output_tokens * params * BYTES_PER_PARAM / (g["memory_tbs"] * 1e12 * BANDWIDTH_EFFICIENCY * gpus)
    busy = 2 * params * (prompt_tokens + output_tokens) / (peak * gpus)  # batched: compute-bound
    return {
        "gpus": gpus,
        "latency_ms": 1000 * (prefill + decode),
        "usd_per_1k_queries": 1000 * busy / 3600 * g["usd_per_hour"] * gpus,
    }


def project(
    summary: Mapping[str, Any], system: str, sizes: Sequence[str] = ("1B", "7B", "70B"),
    gpus: Sequence[str] = ("A10G", "H100"),
) -> list[dict[str, Any]]:  # fmt: skip
    """Projected serving latency and cost, and adapter training time and cost, of ``system``."""
    hw = load_hardware()
    s = summary["systems"][system]
    uses_adapter = system in ("ft", "hybrid", "raft", "routed")
    tokens = summary.get("adapters", {}).get("sft", {}).get("tokens_seen", 0) if uses_adapter else 0
    rows = []
    for size in sizes:
        params = parse_count(size)
        for gpu in gpus:
            row = {"system": system, "params": size, "gpu": gpu, "projected": True,
                   **serving_projection(params, s["prompt_tokens"], s["output_tokens"], gpu, hw)}  # fmt: skip
            if tokens:
                est = estimate(params, "qlora", gpu, tokens, hardware=hw)
                row |= {"train_hours": est.hours, "train_usd": est.usd, "train_gpus": est.gpus_needed}
            rows.append(row)
    return rows


def duration(seconds: float) -> str:
    """Seconds, minutes or hours, whichever reads best."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def projection_lines(rows: Sequence[Mapping[str, Any]], hw_date: str) -> list[str]:
    """Text lines of a projection table, every one labelled."""
    out = [
        f"PROJECTION (not measured; bf16 serving at {FLOPS_EFFICIENCY:.0%} of peak FLOP/s and "
        f"{BANDWIDTH_EFFICIENCY:.0%} of memory bandwidth, QLoRA training per the estimator; "
        f"prices of {hw_date}, finetune/hardware.json):"
    ]
    for r in rows:
        line = (
            f"  {r['system']} with a {r['params']} reader on {r['gpus']} x {r['gpu']}: "
            f"~{r['latency_ms']:,.0f} ms a request, ~${r['usd_per_1k_queries']:.4f} per 1k queries"
        )
        if "train_hours" in r:
            line += f"; training the adapter ~{duration(r['train_hours'] * 3600)}, ~${r['train_usd']:.3f}"
        out.append(line)
    return out


def hardware_date() -> str:
    """The date of the hardware price table the projections use (finetune.estimate), for a caption."""
    return str(load_hardware()["date"])


def measured_line(summary: Mapping[str, Any], system: str, run: Path) -> str:
    """The measured small-model numbers the projections sit next to."""
    s = summary["systems"][system]
    model = "the run's model"
    if (run / "config.json").is_file():
        model = json.loads((run / "config.json").read_text()).get("train", {}).get("model", model)
    adapter = summary.get("adapters", {}).get("sft", {}) if system in ("ft", "hybrid", "routed") else {}
    train = f", adapter training {adapter['wall_seconds']:.0f} s" if adapter.get("wall_seconds") else ""
    return (
        f"MEASURED: {system} with {model} on {summary.get('machine', {}).get('device', '?')}: "
        f"p50 {s['latency_p50_ms']:.0f} ms, p95 {s['latency_p95_ms']:.0f} ms a request, "
        f"${s['usd_per_1k_queries']:.4f} per 1k queries{train}"
    )
