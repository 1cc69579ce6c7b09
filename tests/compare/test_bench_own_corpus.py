"""``ftrag bench`` on a folder of pages and questions people write: no train split, no fact ids, no
splits, no updates, no house style. The fine-tune side trains on data generated from the pages."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

PAGES = {
    "install.md": "# Installing Quillon\n\nQuillon was released in 2019. The Quillon daemon is written by "
    "Mara Lind.\nTo start the daemon, run quillon serve.\nThe default port is 8420.\n",
    "config.md": "# Configuration\n\n- Timeout: 45 seconds\n- Cache size: 256 MB\n\nThe log level defaults "
    "to warning. Quillon is a small search daemon for text files.\n",
    "limits.md": "# Limits\n\nEach Quillon index comes with a limit of 40000 documents. Queries are "
    "cancelled after 30 seconds.\n",
}
QUESTIONS = [
    {"id": "u1", "question": "Which port does Quillon listen on unless told otherwise?",
     "answer": "8420", "sources": ["install"]},
    {"id": "u2", "question": "Who wrote the Quillon daemon?", "answer": "Mara Lind", "sources": ["install"]},
    {"id": "u3", "question": "How long may a Quillon query run?", "answer": "30 seconds",
     "sources": ["limits"]},
    {"id": "u4", "question": "What does Quillon log by default?", "answer": "warning", "sources": ["config"]},
    {"id": "u5", "question": "Which command starts Quillon?", "answer": "quillon serve",
     "sources": ["install"]},
    {"id": "u6", "question": "How big is the Quillon cache?", "answer": "256 MB", "sources": ["config"]},
    {"id": "u7", "question": "Does Quillon support GPUs?", "answer": "", "kind": "unanswerable"},
    {"id": "u8", "question": "Who funds Quillon?", "answer": "", "kind": "unanswerable"},
]  # fmt: skip


def own_corpus(tmp_path: Path) -> tuple[Path, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in PAGES.items():
        (docs / name).write_text(text)
    qa = tmp_path / "qa.jsonl"
    qa.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return docs, qa


def test_bench_on_pages_and_questions_alone(run_cli, tiny_model_dir: Path, tmp_path: Path) -> None:
    docs, qa = own_corpus(tmp_path)
    runs = tmp_path / "runs"
    sets = ["train.r=2", "train.alpha=4", "train.epochs=2", "train.batch_size=2", "train.device=cpu",
            "train.target_modules=q_proj,v_proj", "bench.latency_samples=1", "bench.max_new_tokens=4",
            f"train.model={tiny_model_dir}",
            # a random tiny model confirms nothing: the rules' pairs without the round trip, and its
            # own answers (with the page) as the distillation recipe, so dev chooses between two
            "trainset.round_trip=false", "trainset.model_questions=false"]  # fmt: skip
    args = ["bench", "--docs", docs, "--qa", qa, "--runs", runs, "--scenarios", "freshness,style"]
    rc, out, err = run_cli(*args, *[x for s in sets for x in ("--set", s)])
    assert rc == 0, err
    (run,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    summary = json.loads((run / "summary.json").read_text())
    # the user's questions went to dev and test, stratified by kind (40% of the 6 answerable ones and
    # of the 2 unanswerable ones, rounded); none was dropped
    assert summary["splits_assigned"] == {"dev": 3, "test": 5}
    results = pd.read_parquet(run / "results.parquet")
    assert set(results["system"]) == {"base", "rag", "ft", "hybrid"} and len(results) == 4 * 5
    assert set(results["kind"]) == {"fact", "unanswerable"}
    ts = summary["trainset"]
    assert ts["pages"] == 3 and ts["pages_covered"] == 3 and ts["replaced_train"] == 0
    assert ts["items"]["qa"] >= 2 * 6 and set(ts["recipes"]) == {"qa", "distill"}
    assert summary["tuning"]["recipe"]["chosen"] == ts["recipe"] in {"qa", "distill"}
    assert len(summary["tuning"]["recipe"]["trials"]) == 2
    assert "update" in summary["scenarios"]["freshness"]["skipped"]
    report = (run / "report.md").read_text()
    assert "## Training data generated from the pages" in report and "Pages covered: 3 of 3" in report
    assert "[tune] warning: 2 answerable dev questions" in out  # a tiny dev set tunes few knobs
    # a repeated bench takes the generated data from the cache
    rc, out, err = run_cli(*args, *[x for s in sets for x in ("--set", s)])
    assert rc == 0, err and "[trainset] cached" in out


def test_no_train_split_and_generation_off_is_refused_before_indexing(
    run_cli, tiny_model_dir, tmp_path
) -> None:
    docs, qa = own_corpus(tmp_path)
    rc, out, err = run_cli("bench", "--docs", docs, "--qa", qa, "--runs", tmp_path / "runs", "--set",
                           f"train.model={tiny_model_dir}", "--set", "trainset.mode=never")  # fmt: skip
    assert rc == 2 and "train split is empty and trainset.mode is never" in err
    errors = [ln for ln in err.splitlines() if ln.startswith("ftrag:")]
    assert "[index]" not in out and len(errors) == 1
