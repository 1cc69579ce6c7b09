"""``ftrag bench`` on a folder of pages and questions people write: no train split, no fact ids, no
splits, no updates, no house style. The fine-tune side trains on data generated from the pages."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def test_bench_on_pages_and_questions_alone(run_cli, own_bench_args, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    args = own_bench_args(runs, "--scenarios", "freshness,style")
    rc, out, err = run_cli(*args)
    assert rc == 0, err
    (run,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    summary = json.loads((run / "summary.json").read_text())
    # the user's questions went to dev and test, stratified by kind (40% of the 6 answerable ones and
    # of the 2 unanswerable ones, rounded); none was dropped
    assert summary["splits_assigned"] == {"dev": 3, "test": 5}
    results = pd.read_parquet(run / "results.parquet")
    assert set(results["system"]) == {"base", "rag", "ft", "hybrid", "routed"} and len(results) == 5 * 5
    assert set(results["kind"]) == {"fact", "unanswerable"}
    ts = summary["trainset"]
    assert ts["pages"] == 3 and ts["pages_covered"] == 3 and ts["replaced_train"] == 0
    assert ts["items"]["qa"] >= 2 * 6 and set(ts["recipes"]) == {"qa"}
    # the recipe trial was known to be undecidable before the reader ran: no reader, no distill recipe
    assert "the reader was not run and distill not made" in ts["untried"]
    assert ts["rule_round_trip"] == {"asked": 0, "agreed": 0}
    taught = ts["answers_taught"]  # [answers a generated item teaches, answerable questions] per split
    assert taught["dev"][1] == 2 and taught["test"][1] == 4 and 1 <= taught["test"][0] <= 4
    # two answerable dev questions cannot tell recipes apart (compare.pipeline.tuning.MIN_TAUGHT_DEV): the
    # first is kept untried, and the report says why
    recipe = summary["tuning"]["recipe"]
    assert recipe["chosen"] == ts["recipe"] == "qa" and recipe["trials"] == []
    assert "of the 2 dev questions" in recipe["skipped"]
    assert "update" in summary["scenarios"]["freshness"]["skipped"]
    assert "no house style" in summary["scenarios"]["style"]["skipped"]
    report = (run / "report.md").read_text()
    assert "## Training data generated from the pages" in report and "Pages covered: 3 of 3" in report
    assert "kept without a dev trial" in report
    # abstention: each retrieving system's gate chosen on dev (or left off, with the reason), and
    # its selective-accuracy curve on test, from answering all 5 questions down
    for name in ("rag", "hybrid"):
        gate = summary["tuning"]["systems"][name]["abstain"]
        assert gate["unanswerable"] == 1 and (gate["threshold"] is None) == bool(gate["reason"])
        curve = summary["abstention"][name]["curve"]
        assert curve[0][0] is None and all(0 < c <= 1 for _, c, _ in curve)
    assert "## Abstention" in report and "Selective accuracy on test" in report
    gated = results[results["gated_text"] != ""]
    assert set(gated["text"]) <= {"I don't know"} and gated["support"].notna().all()
    assert "[tune] warning: 2 answerable dev questions" in out  # a tiny dev set tunes few knobs
    # a repeated bench takes the generated data from the cache
    rc, out, err = run_cli(*args)
    assert rc == 0, err
    assert "[trainset] cached" in out


def test_no_train_split_and_generation_off_is_refused_before_indexing(
    run_cli, own_bench_args, tmp_path
) -> None:
    rc, out, err = run_cli(*own_bench_args(tmp_path / "runs", "--set", "trainset.mode=never"))
    assert rc == 2 and "train split is empty and trainset.mode is never" in err
    errors = [ln for ln in err.splitlines() if ln.startswith("ftrag:")]
    assert "[index]" not in out and len(errors) == 1
