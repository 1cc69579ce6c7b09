"""The estimator against published points (each within 25%) and its arithmetic."""

from __future__ import annotations

import pytest

from finetune.estimate import (
    calibrated_efficiency,
    estimate,
    format_estimate,
    lora_params,
    memory_breakdown,
    parse_count,
    shape_for,
)


@pytest.mark.parametrize(
    "text, value", [("7B", 7e9), ("135M", 1.35e8), ("1.5e9", 1.5e9), ("10k", 1e4), (3, 3.0)]
)
def test_parse_count(text, value) -> None:
    assert parse_count(text) == pytest.approx(value)


def test_parse_count_refuses_garbage() -> None:
    with pytest.raises(ValueError, match="cannot read"):
        parse_count("seven billion")


def test_qlora_65b_fits_one_48gb_gpu() -> None:
    # QLoRA paper (Dettmers et al. 2023): a 65B model fine-tunes on a single 48 GB GPU (~41 GB used)
    e = estimate(65e9, "qlora", "A6000", 1e6)
    assert e.gpus_needed == 1 and e.total_gb <= 48
    assert abs(e.total_gb - 41) / 41 <= 0.25


def test_qlora_7b_needs_about_5_to_6_gb() -> None:
    total = estimate(7e9, "qlora", "RTX4090", 1e6).total_gb
    assert 5 * 0.75 <= total <= 6 * 1.25


def test_full_70b_needs_several_80gb_gpus() -> None:
    # mixed-precision AdamW: 16 bytes per parameter (ZeRO paper) = 1,120 GB for 70B
    e = estimate(70e9, "full", "H100", 1e6)
    assert e.gpus_needed >= 8
    assert abs(e.total_gb - 1120) / 1120 <= 0.25


def test_flops_rule_and_cost() -> None:
    full, lora = estimate(7e9, "full", "H100", 1e9), estimate(7e9, "lora", "H100", 1e9)
    assert full.flops == pytest.approx(6 * 7e9 * 1e9) and lora.flops == pytest.approx(4 * 7e9 * 1e9)
    seconds = lora.flops / (989e12 * 0.35)
    assert lora.hours == pytest.approx(seconds / 3600) and lora.usd == pytest.approx(lora.hours * 2.99)
    assert "PROJECTION" in format_estimate(lora)


def test_lora_is_a_small_share_and_shapes_interpolate() -> None:
    hidden, layers, _ = shape_for(7e9)
    assert (hidden, layers) == (4096, 32)
    share = lora_params(hidden, layers, 16) / 7e9
    assert 0.001 < share < 0.01  # r=16 on every projection: well under 1% of the parameters
    h, n, _ = shape_for(20e9)
    assert 5120 < h < 6656 and 40 < n < 60


def test_bad_inputs_name_the_field() -> None:
    with pytest.raises(ValueError, match="`method`"):
        memory_breakdown(7e9, "prefix")
    with pytest.raises(ValueError, match="unknown GPU"):
        estimate(7e9, "lora", "TPU9", 1e6)
    with pytest.raises(ValueError, match="`efficiency`"):
        estimate(7e9, "lora", "H100", 1e6, efficiency=1.5)


def test_calibration_from_a_measured_run() -> None:
    assert calibrated_efficiency(1000, 1e8, "lora", 8e11) == pytest.approx(4 * 1e8 * 1000 / 8e11)


def test_cli_estimate(run_cli) -> None:
    rc, out, _ = run_cli(
        "estimate", "--params", "7B", "--method", "qlora", "--gpu", "RTX4090", "--tokens", "5M"
    )
    assert rc == 0 and out.startswith("PROJECTION (not measured): qlora") and "1 x RTX4090" in out
    rc, _, err = run_cli("estimate", "--params", "big", "--method", "lora")
    assert rc == 2 and "cannot read 'big'" in err
