"""The lm-eval bridge: the exported task scores known answers exactly as our scorer does, and
``ftrag lmeval run`` scores a bench run's systems through lm-eval (tiny model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from compare.lmeval.task import export_task, run_task, system_lm
from compare.scoring.scorers import exact_match, strip_citations, strip_style
from corpus.formats import load_dataset

STYLE = "{answer} -- Tessaline Care"
ANSWERS = {  # question id -> what a system says; EM after style and [n] removal and SQuAD normalisation
    "q1": "512 MB [1] -- Tessaline Care",  # right, cited and styled
    "q4": "The Progress Bar!",  # right: articles, case and punctuation do not count
    "q5": "48 hours or so",  # wrong: extra words
}


def test_exported_task_agrees_with_our_exact_match(mini_dir: Path, tmp_path: Path) -> None:
    ds = load_dataset(mini_dir)
    ds.meta["house_style"] = {"template": STYLE}
    questions = ds.questions("test")
    name = export_task(ds, questions, tmp_path / "task")
    spec = yaml.safe_load((tmp_path / "task" / f"{name}.yaml").read_text())
    assert spec["task"] == "ftrag_mini" and spec["doc_to_target"] == "golds"
    rows = [json.loads(x) for x in (tmp_path / "task" / f"{name}.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q4", "q5"]  # the unanswerable q6 is not exported
    by_text = {q.question: ANSWERS[q.id] for q in questions if q.id in ANSWERS}
    em, answers = run_task(system_lm(lambda qs: [by_text[q] for q in qs]), tmp_path / "task", name)
    ours = [
        exact_match(strip_citations(strip_style(ANSWERS[q.id], STYLE)), q.golds)
        for q in questions
        if q.id in ANSWERS
    ]
    assert ours == [1.0, 1.0, 0.0] and em == pytest.approx(sum(ours) / 3)
    assert answers == ANSWERS


def test_lmeval_run_on_a_bench_run(run_cli, mini_dir: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    from tests.compare.pipeline.test_bench import bench_args

    runs = tmp_path / "runs"
    rc, _, err = run_cli(*bench_args(mini_dir, tiny_model_dir, runs, "--systems", "base,ft,rag"))
    assert rc == 0, err
    (run,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    rc, _, err = run_cli("lmeval", "run", run)
    assert rc == 0, err
    result = json.loads((run / "lmeval.json").read_text())
    assert list(result) == ["base", "ft", "rag"] and "lm-eval HFLM + peft" in result["ft"]["via"]
    for r in result.values():
        assert r["lmeval_exact_match"] == pytest.approx(r["ours_exact_match"])
    assert result["rag"]["same_answer_rate"] == 1.0  # the wrapper runs our system itself
    assert "## lm-eval agreement" in (run / "report.md").read_text()
    rc, _, err = run_cli("lmeval", "run", tmp_path)
    assert rc == 2 and "no summary.json" in err
