"""The sweep's pure parts: knob grids and their errors, the Pareto front, and the rule checks on
hand-made variant tables."""

from __future__ import annotations

import math
from typing import Any

import pytest

from compare.sweep.grid import KNOBS, SweepConfig, parse_grids, variant_grid, varied_knobs
from compare.sweep.rules import HELD, NOT_HELD, NOT_MEASURED, RULES, check_rules, pareto_front
from finetune.config import TrainConfig

TRAIN = TrainConfig()


def test_grid_is_the_cartesian_product_with_readable_names() -> None:
    variants = variant_grid(parse_grids("lr=2e-5,1e-4,5e-4,1e-3 x phrasings=1,2,0"), TRAIN)
    assert len(variants) == 12
    assert [v.name for v in variants[:4]] == [
        "lr=2e-05 phrasings=1",
        "lr=2e-05 phrasings=2",
        "lr=2e-05 phrasings=0",
        "lr=0.0001 phrasings=1",
    ]
    cfg = variants[1].train_config(TRAIN)
    assert cfg.lr == 2e-5 and cfg.phrasings == 2 and cfg.epochs == TRAIN.epochs
    assert varied_knobs(variants) == ["lr", "phrasings"]


def test_union_of_grids_keeps_the_defaults_once() -> None:
    grids = parse_grids(f"epochs=3,{TRAIN.epochs}; lr=1e-4,{TRAIN.lr:g}; r=4,16")
    names = [v.name for v in variant_grid(grids, TRAIN)]
    # the default setting (epochs 7 = lr 2e-3 = r 16) appears once, under its first name
    assert names == ["epochs=3", f"epochs={TRAIN.epochs}", "lr=0.0001", "r=4"]


@pytest.mark.parametrize(
    "knob, setting",
    [
        ("r=4", {"r": 4, "alpha": 8}),  # alpha follows the rank: the LoRA scale stays
        ("target_modules=qv", {"target_modules": "q_proj,v_proj"}),
        ("target_modules=q_proj+k_proj", {"target_modules": "q_proj,k_proj"}),
        ("method=qlora", {"method": "qlora"}),
        ("fact_fraction=0.5", {"fact_fraction": 0.5}),
        ("corrupt_fraction=0.25", {"corrupt_fraction": 0.25}),
        ("epochs=3", {"epochs": 3}),
    ],
)
def test_each_knob_sets_its_train_field(knob: str, setting: dict[str, Any]) -> None:
    (v,) = variant_grid(parse_grids(knob), TRAIN)
    cfg = v.train_config(TRAIN)
    assert {k: getattr(cfg, k) for k in setting} == setting


def test_replay_is_a_sweep_level_knob() -> None:
    (v,) = variant_grid(parse_grids("replay=0.5"), TRAIN)
    assert v.train_config(TRAIN) == TRAIN and v.settings(TRAIN)["replay"] == 0.5
    assert set(v.settings(TRAIN)) == set(KNOBS)


@pytest.mark.parametrize(
    "text, message",
    [
        ("learning_rate=1e-4", "unknown knob 'learning_rate'; knobs: lr, epochs"),
        ("lr=abc", "knob `lr` has a bad value 'abc'; it takes a number in (0, 1)"),
        ("lr=2", "knob `lr` has a bad value '2'"),
        ("epochs=0", "knob `epochs` has a bad value '0'; it takes a positive integer"),
        ("phrasings=-1", "knob `phrasings` has a bad value '-1'"),
        ("method=full", "knob `method` has a bad value 'full'; it takes lora or qlora"),
        ("fact_fraction=0", "knob `fact_fraction` has a bad value '0'"),
        ("corrupt_fraction=1", "knob `corrupt_fraction` has a bad value '1'"),
        ("replay=-0.5", "knob `replay` has a bad value '-0.5'"),
        ("lr", "must look like name=v1,v2"),
        ("lr=", "knob `lr` has no values"),
        ("lr=1e-4 x lr=1e-3", "knob `lr` appears twice"),
    ],
)
def test_bad_knobs_say_what_to_change(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_grids(text)


def test_config_validates_its_fields() -> None:
    with pytest.raises(ValueError, match="`profile`"):
        SweepConfig(profile="huge")
    with pytest.raises(ValueError, match="`probes`"):
        SweepConfig(probes=-1)
    with pytest.raises(ValueError, match="unknown knob 'lrr'"):
        SweepConfig(knobs="lrr=1")


@pytest.mark.parametrize(
    "points, front",
    [
        ([(0.5, 0.5)], [True]),
        ([(0.2, 0.9), (0.9, 0.2), (0.5, 0.5), (0.4, 0.4)], [True, True, True, False]),
        ([(0.5, 0.5), (0.5, 0.5)], [True, True]),  # equal points: neither beats the other
        ([(0.5, 0.5), (0.5, 0.6)], [False, True]),  # better on one axis, as good on the other
        ([(0.9, math.nan), (0.1, 0.1)], [False, True]),  # a point without retention is never on it
        ([], []),
    ],
)
def test_pareto_front(points: list[tuple[float, float]], front: list[bool]) -> None:
    assert pareto_front(points) == front


# Hand-made variant tables: every knob column at its default unless the row says otherwise.
DEFAULTS = {"lr": 2e-3, "epochs": 7, "r": 16, "target_modules": "all", "method": "auto", "fact_fraction": 1.0,
            "corrupt_fraction": 0.0, "phrasings": 0, "replay": 0.0}  # fmt: skip


def row(acc: float = 0.5, ret: float = 0.5, **knobs: Any) -> dict[str, Any]:
    extra = {k: knobs.pop(k) for k in list(knobs) if k not in DEFAULTS}
    r = {**DEFAULTS, **knobs, "status": "done", "accuracy": acc, "accuracy_trained": acc, "retention": ret,
         "drift_kl": 1 - ret, "examples": 222, "trainable_share": 0.036, "peak_memory_mb": 2000.0,
         "method_used": "lora"}  # fmt: skip
    r["variant"] = " ".join(f"{k}={v}" for k, v in knobs.items()) or "defaults"
    return r | extra


RULE_CASES = [
    ("low-lr", [row(0.0, lr=2e-5), row(0.5, lr=2e-3)], NOT_HELD),
    ("low-lr", [row(0.48, lr=2e-5), row(0.5, lr=2e-3)], HELD),  # within the margin of the best
    ("low-lr", [row(0.0, lr=1e-4), row(0.5, lr=2e-3)], NOT_MEASURED),  # no lr in 1e-5..5e-5
    ("low-lr", [row(lr=2e-5), row(lr=2e-3, phrasings=1)], NOT_MEASURED),  # differ in two knobs
    ("lr-forgets", [row(ret=0.9, lr=2e-5), row(ret=0.1, lr=2e-3)], HELD),
    ("lr-forgets", [row(ret=0.5, lr=2e-5), row(ret=0.48, lr=2e-3)], NOT_HELD),
    ("lr-forgets", [row(ret=math.nan, lr=2e-5), row(ret=0.5, lr=2e-3)], NOT_MEASURED),
    ("epochs", [row(0.3, epochs=1), row(0.6, epochs=3), row(0.62, epochs=7)], HELD),
    ("epochs", [row(0.3, epochs=3), row(0.4, epochs=5), row(0.8, epochs=10)], NOT_HELD),
    ("epochs", [row(0.3, epochs=3), row(0.4, epochs=5)], NOT_MEASURED),
    ("examples", [row(0.6, examples=222)], NOT_HELD),
    ("examples", [row(0.2, examples=222), row(0.8, examples=5000)], HELD),
    ("examples", [row(0.8, examples=5000)], NOT_MEASURED),
    ("quality", [row(0.5, fact_fraction=0.5), row(0.3, corrupt_fraction=0.5)], HELD),
    ("quality", [row(0.3, fact_fraction=0.5), row(0.5, corrupt_fraction=0.5)], NOT_HELD),
    ("quality", [row(0.5, fact_fraction=0.5), row(0.3, corrupt_fraction=0.25)], NOT_MEASURED),
    ("lora-share", [row(trainable_share=0.001), row(trainable_share=0.0025, r=4)], HELD),
    ("lora-share", [row(trainable_share=0.036)], NOT_HELD),
    ("lora-share", [{**row(), "status": "skipped"}], NOT_MEASURED),
    (
        "qlora",
        [row(method="qlora", method_used="qlora", peak_memory_mb=900.0), row(peak_memory_mb=1500.0)],
        HELD,
    ),
    ("qlora", [row(method="qlora", method_used="qlora", peak_memory_mb=90000.0)], NOT_HELD),
    (
        "qlora",
        [{**row(method="qlora"), "status": "skipped", "reason": "QLoRA needs a CUDA GPU"}],
        NOT_MEASURED,
    ),
    ("phrasings", [row(0.2, phrasings=1), row(0.5, phrasings=0)], HELD),
    ("phrasings", [row(0.5, phrasings=1), row(0.52, phrasings=2)], NOT_HELD),
    ("phrasings", [row(0.5)], NOT_MEASURED),
    ("replay", [row(ret=0.1), row(ret=0.5, replay=0.5)], HELD),
    ("replay", [row(ret=0.5), row(ret=0.5, replay=0.5)], NOT_HELD),
]


@pytest.mark.parametrize("rule, rows, status", RULE_CASES)
def test_rule_checks_on_hand_made_tables(rule: str, rows: list[dict], status: str) -> None:
    (verdict,) = check_rules(rows, [r for r in RULES if r.name == rule])
    assert verdict.status == status, verdict.detail
    assert verdict.detail and verdict.claim


def test_every_rule_has_a_case_and_numbers_in_its_detail() -> None:
    assert {r.name for r in RULES} == {c[0] for c in RULE_CASES}
    verdicts = check_rules([row(0.0, ret=0.9, lr=2e-5), row(0.5, ret=0.1, lr=2e-3)])
    low = next(v for v in verdicts if v.rule == "low-lr")
    assert "2e-05: 0.00" in low.detail and low.numbers["accuracy"] == {"2e-05": 0.0, "0.002": 0.5}
    qlora = next(v for v in verdicts if v.rule == "qlora")
    assert qlora.status == NOT_MEASURED and "method=lora,qlora" in qlora.detail


def test_a_rule_is_checked_in_every_group_that_varies_its_knob_alone() -> None:
    (low,) = [r for r in RULES if r.name == "low-lr"]
    agree = [row(0.0, lr=2e-5, phrasings=1), row(0.3, lr=2e-3, phrasings=1), row(0.0, lr=2e-5),
             row(0.5, lr=2e-3)]  # fmt: skip
    (v,) = check_rules(agree, [low])
    assert v.status == NOT_HELD and "with phrasings=1: did not hold" in v.detail
    assert set(v.numbers) == {"phrasings=1", "phrasings=0"}
    mixed = [row(0.0, lr=2e-5, phrasings=1), row(0.3, lr=2e-3, phrasings=1), row(0.5, lr=2e-5),
             row(0.5, lr=2e-3)]  # fmt: skip
    (v,) = check_rules(mixed, [low])
    assert v.status == NOT_HELD and v.detail.startswith("mixed: ") and "with phrasings=0: held" in v.detail
