"""The recommender on hand-made run summaries: every preset ranks with reasons, hard needs are
honoured, reasons cite the measured numbers; use-case validation; the CLI; projections."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from compare.decide.projection import project, serving_projection
from compare.decide.recommend import rank, system_facts
from compare.decide.usecase import UseCase, load_usecase, parse_usecase, presets
from finetune.estimate import load_hardware


def sys_summary(acc: float, cite: float, style: float, p95: float, per_1k: float, upfront: float) -> dict:
    return {
        "accuracy": acc, "questions": 100, "citation_precision": cite, "style_compliance": style,
        "latency_p50_ms": 0.6 * p95, "latency_p95_ms": p95, "usd_per_1k_queries": per_1k,
        "upfront_usd": upfront,
        "prompt_tokens": 500.0 if cite else 40.0, "output_tokens": 12.0,
    }  # fmt: skip


def fresh_row(system: str, update: str, after: float, seconds: float, old: float = 0.0) -> dict:
    return {
        "system": system, "update": update, "update_seconds": seconds,
        "changed_before": {"n": 30, "accuracy": 0.1, "old_value_rate": 0.5},
        "changed_after": {"n": 30, "accuracy": after, "old_value_rate": old},
        "unchanged_after": None,
    }  # fmt: skip


def make_summary(ft_acc: float = 0.6) -> dict:
    return {
        "schema_version": 2,
        "dataset": "toy",
        "machine": {"device": "cpu"},
        "prices": {"usd_per_hour": 0.10},
        "adapters": {"sft": {"tokens_seen": 100_000}},
        "systems": {
            "base": sys_summary(0.0, 0.0, 0.0, 1500, 0.008, 0.0),
            "rag": sys_summary(0.55, 0.48, 0.43, 2800, 0.025, 0.0001),
            "ft": sys_summary(ft_acc, 0.0, 1.0, 1100, 0.006, 0.011),
            "hybrid": sys_summary(0.71, 0.0, 1.0, 1850, 0.024, 0.0113),
        },
        "scenarios": {
            "freshness": {
                "systems": {
                    "base": fresh_row("base", "none", 0.0, 0),
                    "rag (re-index)": fresh_row("rag", "re-index", 0.52, 3.1),
                    "ft": fresh_row("ft", "none", 0.05, 0, old=0.6),
                    "ft (re-train)": fresh_row("ft", "re-train", 0.40, 140.0),
                    "hybrid (re-index)": fresh_row("hybrid", "re-index", 0.45, 3.1),
                    "hybrid (re-index + re-train)": fresh_row("hybrid", "re-index + re-train", 0.6, 143.1),
                }
            },
            "forgetting": {"adapters": {"ft": {"retention": 0.8, "drift_kl": 0.05}}},
        },
    }


@pytest.mark.parametrize("name", sorted(presets()))
def test_every_preset_ranks_every_system_with_reasons(name: str) -> None:
    uc = load_usecase(name)
    ranked = rank(system_facts(make_summary()), uc)
    assert sorted(r.system for r in ranked) == ["base", "ft", "hybrid", "rag"]
    assert all(r.reasons for r in ranked)
    assert all(
        any(ch.isdigit() for ch in reason) for r in ranked for reason in r.reasons if "runs" not in reason
    )


@pytest.mark.parametrize("ft_acc", [0.3, 0.6, 0.95])
@pytest.mark.parametrize("name", ["policy-assistant", "regulated"])
def test_citations_must_never_ranks_a_citation_less_system_first(name: str, ft_acc: float) -> None:
    summary = make_summary(ft_acc)
    ranked = rank(system_facts(summary), load_usecase(name))
    first = ranked[0].system
    assert summary["systems"][first]["citation_precision"] > 0
    for r in ranked:
        if summary["systems"][r.system]["citation_precision"] == 0:
            assert any("no citations" in f for f in r.failed)


def test_style_must_and_latency_budget_and_cost_budget_are_hard() -> None:
    facts = system_facts(make_summary())
    ranked = rank(facts, UseCase(style="must", citations="none"))
    assert {r.system for r in ranked if r.meets_all} == {"ft", "hybrid"}
    ranked = rank(facts, UseCase(p95_ms=1200, citations="none"))
    assert [r.system for r in ranked if r.meets_all] == ["ft"] and ranked[0].system == "ft"
    ranked = rank(facts, UseCase(queries_per_month=1_000_000, budget_usd_per_month=10, citations="none"))
    # $/month = 1000 x usd_per_1k: only base (8) and ft (6) fit a $10 budget
    assert {r.system for r in ranked if r.meets_all} == {"base", "ft"}


def test_freshness_reason_cites_update_path_and_time() -> None:
    facts = system_facts(make_summary())
    assert facts["rag"].update == "re-index" and facts["rag"].changed_after == 0.52
    assert facts["ft"].update == "re-train" and facts["ft"].update_seconds == 140.0
    assert facts["hybrid"].update == "re-index + re-train"
    assert facts["ft"].update_usd == pytest.approx(140 / 3600 * 0.10)
    assert (
        facts["ft"].retention == 0.8
        and facts["hybrid"].retention == 0.8
        and math.isnan(facts["rag"].retention)
    )
    ranked = {r.system: r for r in rank(facts, load_usecase("support-kb-weekly"))}
    assert "0.52 accuracy on changed facts after a 3.1 s re-index" in ranked["rag"].reasons
    assert "0.40 accuracy on changed facts after a 2.3 min re-train" in ranked["ft"].reasons
    assert any("keeps 80% of the general probes" in x for x in ranked["ft"].reasons)


def test_weekly_changes_weigh_freshness() -> None:
    facts = system_facts(make_summary(ft_acc=0.62))  # forgetting costs ft 0.06
    never = {r.system: r.points for r in rank(facts, UseCase(changes="never", citations="none"))}
    weekly = {r.system: r.points for r in rank(facts, UseCase(changes="weekly", citations="none"))}
    assert never["ft"] > never["rag"] and weekly["rag"] > weekly["ft"]


def test_where_wrong_answers_cost_more_a_system_that_abstains_ranks_higher() -> None:
    """Same accuracy, different guessing: rag answers 20% wrongly, hybrid 40%. A cost of 1 per wrong
    answer moves them apart by exactly the difference, 0.2 points (the other needs are unchanged)."""
    summary = make_summary()
    for name, acc, wrong in (("rag", 0.55, 0.2), ("hybrid", 0.55, 0.4)):
        summary["systems"][name] |= {"accuracy": acc, "wrong_answer_rate": wrong}
    facts = system_facts(summary)
    plain = {r.system: r for r in rank(facts, UseCase(citations="none", changes="never"))}
    careful = {
        r.system: r for r in rank(facts, UseCase(citations="none", changes="never", wrong_answer_cost=1.0))
    }
    gap = careful["rag"].points - careful["hybrid"].points - (plain["rag"].points - plain["hybrid"].points)
    assert gap == pytest.approx(0.2)
    assert "answers 20% of the test questions wrongly (each wrong answer costs 1 more than none)" in (
        careful["rag"].reasons
    )
    assert not any("wrongly" in x for x in plain["rag"].reasons)
    assert load_usecase("regulated").wrong_answer_cost == 1.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"changes": "hourly"}, "`changes` must be one of"),
        ({"citations": "maybe"}, "`citations` must be one of"),
        ({"p95_ms": -1}, "`p95_ms` must be a number"),
        ({"queries_per_month": "many"}, "`queries_per_month` must be a number"),
        ({"accuracy_floor": 2}, "`accuracy_floor` must be in"),
        ({"local_only": "yes"}, "`local_only` must be true or false"),
        ({"wrong_answer_cost": -1}, "`wrong_answer_cost` must be a number"),
        ({"latency": 100}, "unknown field"),
        (["weekly"], "must be a mapping"),
    ],
)
def test_usecase_validation_names_the_field(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message) as exc:
        parse_usecase(data, "mine.yaml")
    assert str(exc.value).startswith("mine.yaml:")


def test_load_usecase_from_file_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text("changes: daily\ncitations: must\n")
    uc = load_usecase(str(path))
    assert uc.name == "team" and uc.updates_per_month == 30
    path.write_text("changes: [daily\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_usecase(str(path))
    with pytest.raises(ValueError, match="no preset or file named"):
        load_usecase("nonexistent-preset")
    assert len(presets()) >= 5


def test_recommend_cli(run_cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(make_summary()))
    rc, out, err = run_cli(
        "recommend", "--run", run, "--profile", "policy-assistant", "--json", tmp_path / "r.json"
    )
    assert rc == 0, err
    assert "recommendation: rag" in out and "PROJECTION (not measured" in out and "MEASURED: rag" in out
    assert "gives no citations" in out
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["policy-assistant"]["ranking"][0]["system"] == "rag"
    rc, out, _ = run_cli("recommend", "--run", run, "--no-projection")
    assert rc == 0 and out.count("recommendation") + out.count("no system meets") == len(presets())
    assert "PROJECTION" not in out
    (run / "summary.json").write_text(json.dumps({"schema_version": 1, "systems": {}}))
    rc, _, err = run_cli("recommend", "--run", run)
    assert rc == 2 and "too old" in err
    rc, _, err = run_cli("recommend", "--run", tmp_path / "nope")
    assert rc == 2 and "no summary.json" in err


def test_projection_grows_with_size_and_is_labelled() -> None:
    hw = load_hardware()
    small = serving_projection(1e9, 500, 12, "H100", hw)
    big = serving_projection(70e9, 500, 12, "H100", hw)
    assert big["latency_ms"] > 10 * small["latency_ms"] and big["gpus"] >= 2 and small["gpus"] == 1
    assert serving_projection(1e9, 500, 12, "T4", hw)["latency_ms"] > small["latency_ms"]
    rows = project(make_summary(), "ft", sizes=("1B", "7B"), gpus=("H100",))
    assert [r["params"] for r in rows] == ["1B", "7B"] and all(r["projected"] for r in rows)
    assert rows[1]["train_hours"] > rows[0]["train_hours"] > 0
    assert "train_hours" not in project(make_summary(), "rag", sizes=("1B",), gpus=("H100",))[0]


def test_a_tie_is_scored_as_a_tie_so_other_needs_decide() -> None:
    summary = make_summary(ft_acc=0.58)  # ft 0.58 vs rag 0.55: not significant on 100 questions
    summary["comparisons"] = [{"a": "rag", "b": "ft", "tie": True, "p_value": 0.6}]
    facts = system_facts(summary)
    assert facts["rag"].ties == ("ft",) and facts["rag"].tie_accuracy == pytest.approx(0.565)
    ranked = {r.system: r for r in rank(facts, UseCase(changes="never", citations="none"))}
    assert any("a tie with ft" in x for x in ranked["rag"].reasons)
    # equal accuracy points: ft's lost general probes (-0.06) now decide for rag
    assert ranked["rag"].points > ranked["ft"].points
    summary["comparisons"] = [{"a": "rag", "b": "ft", "tie": False, "p_value": 0.01}]
    ranked = {r.system: r for r in rank(system_facts(summary), UseCase(changes="never", citations="none"))}
    assert ranked["ft"].points == pytest.approx(0.58 - 0.06)
