"""Freshness and style scenario logic on hand-made data, and their report sections."""

from __future__ import annotations

import math

import pytest

from compare.answering.specs import SYSTEMS
from compare.harness.records import Answer
from compare.scenarios.core import (
    after_variants,
    fresh_scores,
    stale_answer,
    style,
    update_dataset,
    update_seconds,
    update_split,
)
from compare.scenarios.report import scenario_lines
from corpus.model import Dataset, QAItem


def q(qid: str, answer: str, split: str = "test", old: str | None = None, kind: str = "fact") -> QAItem:
    return QAItem(qid, f"question {qid}?", answer, split=split, kind=kind, fact_id=qid, old_answer=old)


@pytest.mark.parametrize(
    ("text", "old", "golds", "stale"),
    [
        ("It is 512 MB.", "512 MB", ["1 GB"], True),
        ("It is 1 GB.", "512 MB", ["1 GB"], False),
        ("Was 512 MB, now 1 GB", "512 MB", ["1 GB"], False),  # gives the new value too
        ("No idea", "512 MB", ["1 GB"], False),
        ("512 MB", None, ["1 GB"], False),
    ],
)
def test_stale_answer(text: str, old: str | None, golds: list[str], stale: bool) -> None:
    assert stale_answer(text, old, golds) is stale


def test_fresh_scores_counts_new_and_old_values_after_stripping_style() -> None:
    questions = [q("a", "1 GB", old="512 MB"), q("b", "45 s", old="30 s"), q("c", "red", old="blue")]
    answers = [
        Answer("a", "x", "1 GB -- Care [1]"),
        Answer("b", "x", "30 s -- Care"),
        Answer("c", "x", "I don't know"),
    ]
    s = fresh_scores(questions, answers, "{answer} -- Care")
    assert s == {"n": 3, "accuracy": pytest.approx(1 / 3), "old_value_rate": pytest.approx(1 / 3)}
    assert math.isnan(fresh_scores([], [], None)["accuracy"])


def test_update_split_and_update_dataset() -> None:
    qa = [q(f"t{i}", "v", "test") for i in range(6)] + [q("u", "", "test", kind="unanswerable")]
    qa += [q(f"r{i}", "v", "train") for i in range(6)] + [q("d0", "v", "dev"), q("d1", "v", "dev")]
    ds = Dataset("d", {}, qa)
    changed_ids = {"t0", "t1", "r0", "r1", "d0"}
    changed, unchanged = update_split(ds, changed_ids, "test", 3, seed=0)
    assert [x.id for x in changed] == ["t0", "t1"]
    assert len(unchanged) == 3 and {x.id for x in unchanged} <= {"t2", "t3", "t4", "t5"}  # no unanswerable
    assert update_split(ds, changed_ids, "test", 3, seed=0)[1] == unchanged  # seeded
    data = update_dataset(ds, changed_ids, replay=1.5, seed=0)
    train = data.questions("train")
    assert {"r0", "r1"} <= {x.id for x in train} and len(train) == 2 + 3  # 1.5 x 2 unchanged replayed
    assert [x.id for x in data.questions("dev")] == ["d0"] and not data.questions("test")
    assert len(update_dataset(ds, changed_ids, replay=0, seed=0).questions("train")) == 2


@pytest.mark.parametrize(
    ("system", "updates", "variants"),
    [
        ("base", {"reindex": {}, "retrain": {}}, [""]),
        ("rag", {"reindex": {}, "retrain": {}}, ["re-index"]),
        ("ft", {"reindex": {}, "retrain": {}}, ["", "re-train"]),
        ("ft", {"reindex": {}}, [""]),
        ("hybrid", {"reindex": {}, "retrain": {}}, ["re-index", "re-index + re-train"]),
        ("hybrid", {"reindex": {}}, ["re-index"]),
    ],
)
def test_after_variants(system: str, updates: dict, variants: list[str]) -> None:
    out = after_variants(SYSTEMS[system], updates)
    assert [v for v, _ in out] == variants
    for variant, spec in out:
        assert (spec is None) == (variant == "")
        if spec is not None and "re-train" in variant:
            assert spec.adapter == "sft-update"


def test_update_seconds_adds_the_parts() -> None:
    updates = {"reindex": {"seconds": 2.0}, "retrain": {"wall_seconds": 100.0}}
    assert update_seconds("", updates) == 0
    assert update_seconds("re-index", updates) == 2.0
    assert update_seconds("re-train", updates) == 100.0
    assert update_seconds("re-index + re-train", updates) == 102.0


def test_style_scenario_names_the_source_and_scores_correct_answers_only() -> None:
    rows = {
        "rag": [
            {"kind": "fact", "correct": 1.0, "style_compliant": 0.0},
            {"kind": "fact", "correct": 0.0, "style_compliant": 1.0},
        ],
        "ft": [{"kind": "fact", "correct": 1.0, "style_compliant": 1.0}],
        "hybrid": [{"kind": "unanswerable", "correct": math.nan, "style_compliant": 1.0}],
    }
    systems = {"rag": {"style_compliance": 0.5}, "ft": {"style_compliance": 1.0}, "hybrid": {}}
    out = style(systems, rows)
    assert out["rag"]["style_from"] == "prompt" and out["rag"]["compliance_when_correct"] == 0.0
    assert out["ft"]["style_from"] == "learned" and out["ft"]["compliance_when_correct"] == 1.0
    assert out["hybrid"]["style_from"] == "learned + prompt"
    assert math.isnan(out["hybrid"]["compliance_when_correct"])


def test_scenario_report_sections() -> None:
    sc = {
        "freshness": {"skipped": "the dataset has no update version"},
        "forgetting": {
            "probes": 10, "kept": 4, "kept_by_family": {"arithmetic": 4}, "replay_examples": 5,
            "adapters": {"ft": {"retention": 0.75, "lost": ["a"], "lost_by_family": {"arithmetic": 1},
                                "drift_kl": 0.1234}},
        },
        "style": {"ft": {"style_from": "learned", "compliance": 1.0, "compliance_when_correct": 1.0}},
    }  # fmt: skip
    text = "\n".join(scenario_lines(sc))
    assert "Skipped: the dataset has no update version." in text
    assert "| ft | 0.750 | 1 | arithmetic 1 | 0.1234 | - |" in text
    assert "| ft | learned | 1.000 | 1.000 |" in text


def test_continued_training_cache_key_ignores_how_the_runs_folder_is_spelled(tmp_path) -> None:
    from compare.harness.stages import adapter_key
    from finetune.config import TrainConfig

    ds = Dataset("d", {}, [q("r0", "v", "train")])
    cfg = TrainConfig()
    rel = adapter_key(ds, cfg, "sft-update", {"init_adapter": "runs/.cache/adapter/abc123/adapter"})
    absolute = adapter_key(
        ds, cfg, "sft-update", {"init_adapter": f"{tmp_path}/.cache/adapter/abc123/adapter"}
    )
    other = adapter_key(ds, cfg, "sft-update", {"init_adapter": "runs/.cache/adapter/def456/adapter"})
    assert rel == absolute != other
    assert adapter_key(ds, cfg, "sft", {}) != adapter_key(ds, cfg, "sft-replay", {"replay": [("q", "a")]})


@pytest.mark.parametrize(
    ("rule", "variants", "after"),
    [
        # judge: RAG re-indexed answers both; the stale adapter's "I don't know" on c2 costs it
        ("judge", ["routed", "routed (re-index)", "routed (re-index + re-train)"], [0.5, 1.0]),
        ("rag", ["routed", "routed (re-index)"], [1.0]),  # never asks the adapter: no re-training path
    ],
)
def test_composed_freshness_composes_the_parts_after_each_update(rule, variants, after) -> None:
    from dataclasses import replace

    from compare.scenarios.core import composed_freshness

    changed = [q("c1", "1 GB", old="512 MB"), q("c2", "2 GB", old="1 GB")]
    spec = replace(SYSTEMS["routed"], rule=rule)
    before = {"routed": [Answer("c1", "routed", "512 MB"), Answer("c2", "routed", "1 GB")]}
    afters = {
        "rag (re-index)": [Answer("c1", "rag", "1 GB [1]"), Answer("c2", "rag", "2 GB [1]")],
        "ft": [Answer("c1", "ft", "512 MB"), Answer("c2", "ft", "I don't know")],
        "ft (re-train)": [Answer("c1", "ft", "1 GB"), Answer("c2", "ft", "2 GB")],
    }
    updates = {"reindex": {"seconds": 1.5}, "retrain": {"wall_seconds": 30.0}}
    out = composed_freshness(spec, changed, before, afters, updates, None, "I don't know")
    assert list(out) == variants
    assert out["routed"]["changed_after"]["old_value_rate"] == 1.0  # no update: the old values stand
    assert [out[v]["changed_after"]["accuracy"] for v in variants[1:]] == after
    assert out["routed (re-index)"]["update_seconds"] == 1.5
    assert all(out[v]["changed_after"]["old_value_rate"] == 0.0 for v in variants[1:])
