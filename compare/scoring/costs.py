"""Cost model: measured seconds times dated hardware prices, token prices of hosted models, storage,
and the break-even query volume between systems.

Prices live in ``compare/scoring/prices.json`` (CPU box, hosted token prices) and
``finetune/hardware.json`` (GPUs); both are dated and meant to be edited. Every figure here is
a measured time or size multiplied by a price: nothing is estimated from model size.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from compare.scoring.scorers import break_even_queries
from corpus.errors import UserError
from finetune.estimate import load_hardware

PRICES = Path(__file__).with_name("prices.json")


def load_prices(path: Path = PRICES) -> dict[str, Any]:
    """The price table: ``hardware`` ($/h per machine, ``cpu`` included), ``hosted``, ``date``."""
    table = json.loads(Path(path).read_text())
    gpus = load_hardware()
    hardware = {"cpu": float(table["cpu_usd_per_hour"])}
    hardware |= {name: float(g["usd_per_hour"]) for name, g in gpus["gpus"].items()}
    return {"date": table["date"], "gpu_date": gpus["date"], "hardware": hardware, "hosted": table["hosted"]}


def hourly_rate(prices: Mapping[str, Any], hardware: str) -> float:
    """USD per hour of ``hardware``; an unknown name is a ValueError listing the known ones."""
    rate = prices["hardware"].get(hardware)
    if rate is None:
        raise UserError(
            f"`hardware` {hardware!r} is not in the price table; one of {', '.join(prices['hardware'])}"
        )
    return float(rate)


def usd(seconds: float, usd_per_hour: float) -> float:
    """Cost of ``seconds`` of a machine billed at ``usd_per_hour``."""
    return seconds * usd_per_hour / 3600


def hosted_per_1k(prompt_tokens: float, output_tokens: float, price: Mapping[str, float]) -> float:
    """USD per 1000 queries at a hosted model's token prices, for the same prompt and answer sizes."""
    return 1000 * (prompt_tokens * price["input_per_mtok"] + output_tokens * price["output_per_mtok"]) / 1e6


def folder_bytes(path: Path | None) -> int:
    """Total size of the files under ``path`` (0 when absent)."""
    if not path or not Path(path).exists():
        return 0
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def system_costs(
    summary: Mapping[str, Any], upfront_seconds: float, storage_bytes: int, usd_per_hour: float
) -> dict[str, float]:
    """Per-query and up-front cost of one system on the bench machine.

    Per query: batched busy seconds per question (1 / throughput) at the machine's price;
    up front: training and index build seconds at the same price.
    """
    per_query_s = 1 / summary["throughput_qps"] if summary.get("throughput_qps") else math.nan
    return {
        "usd_per_1k_queries": 1000 * usd(per_query_s, usd_per_hour),
        "upfront_seconds": upfront_seconds,
        "upfront_usd": usd(upfront_seconds, usd_per_hour),
        "storage_bytes": storage_bytes,
    }


def break_even_table(costs: Mapping[str, Mapping[str, float]]) -> list[dict[str, Any]]:
    """For each pair (A, B) where A costs more up front but less per query: queries until A pays off."""
    rows = []
    for a, ca in costs.items():
        for b, cb in costs.items():
            extra = ca["upfront_usd"] - cb["upfront_usd"]
            saving = (cb["usd_per_1k_queries"] - ca["usd_per_1k_queries"]) / 1000
            if a != b and extra > 0 and saving > 0:
                n = break_even_queries(
                    ca["upfront_usd"],
                    ca["usd_per_1k_queries"] / 1000,
                    cb["upfront_usd"],
                    cb["usd_per_1k_queries"] / 1000,
                )
                rows.append({"system": a, "versus": b, "break_even_queries": n})
    return rows
