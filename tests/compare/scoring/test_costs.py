"""Cost model: measured seconds x dated prices, hosted token prices, break-even table."""

from __future__ import annotations

import math

import pytest

from compare.scoring.costs import (
    break_even_table,
    folder_bytes,
    hosted_per_1k,
    load_prices,
    system_costs,
    usd,
)


def test_price_table_is_dated_and_has_this_machine_and_gpus() -> None:
    p = load_prices()
    assert (
        p["date"]
        and p["gpu_date"]
        and p["hardware"]["cpu"] > 0
        and p["hardware"]["H100"] > p["hardware"]["T4"]
    )
    assert all(v["date"] and v["input_per_mtok"] > 0 for v in p["hosted"].values())


def test_costs_are_seconds_times_price() -> None:
    assert usd(3600, 0.10) == pytest.approx(0.10)
    assert hosted_per_1k(1000, 100, {"input_per_mtok": 1.0, "output_per_mtok": 10.0}) == pytest.approx(2.0)
    c = system_costs({"throughput_qps": 4.0}, upfront_seconds=36, storage_bytes=7, usd_per_hour=0.10)
    assert c == {
        "usd_per_1k_queries": pytest.approx(1000 * 0.25 * 0.10 / 3600),
        "upfront_seconds": 36,
        "upfront_usd": pytest.approx(0.001),
        "storage_bytes": 7,
    }
    assert math.isnan(system_costs({"throughput_qps": math.nan}, 0, 0, 0.1)["usd_per_1k_queries"])


def test_break_even_pairs() -> None:
    costs = {
        "ft": {"upfront_usd": 1.0, "usd_per_1k_queries": 0.5},  # pays 1.0 up front, saves 0.5 / 1k over rag
        "rag": {"upfront_usd": 0.0, "usd_per_1k_queries": 1.0},
        "hybrid": {"upfront_usd": 1.0, "usd_per_1k_queries": 2.0},  # dearer both ways: never pays back
    }
    assert break_even_table(costs) == [
        {"system": "ft", "versus": "rag", "break_even_queries": pytest.approx(2000)}
    ]


def test_folder_bytes(tmp_path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_bytes(b"12345")
    (tmp_path / "y").write_bytes(b"12")
    assert folder_bytes(tmp_path) == 7 and folder_bytes(tmp_path / "missing") == 0 and folder_bytes(None) == 0
