"""The Sweeps page through Streamlit's AppTest, over the fixture runs folder (conftest.py) plus sweep
folders written by compare/sweep/report.py from a hand-made variant table: a finished sweep (Pareto
plot with a hover per variant, table, rule verdicts), an unfinished one, none at all, and a sweep
symlinked from outside the runs folder (never listed)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from compare.sweep.grid import SweepConfig
from compare.sweep.report import finish, write_csv
from dashboards import data, sweeps
from finetune.config import TrainConfig

VIEW = "views/sweeps.py"
DONE, RUNNING = "20260105-120000-sweep", "20260106-120000-sweep"
KNOBS = {"lr": 2e-3, "epochs": 3, "r": 16, "target_modules": "all", "method": "auto", "fact_fraction": 1.0,
         "corrupt_fraction": 0.0, "phrasings": 0, "replay": 0.0}  # fmt: skip


def variant(name: str, acc: float, ret: float, **knobs: Any) -> dict[str, Any]:
    return {"variant": name, **KNOBS, **knobs, "status": "done", "reason": "", "accuracy": acc,
            "accuracy_trained": acc, "style": 1.0, "abstention": 0.7, "retention": ret, "drift_kl": 1 - ret,
            "examples": 222, "corrupted": 0, "replay_examples": 0, "facts_trained": 100,
            "trainable_params": 4_884_480, "params": 139_400_000, "trainable_share": 0.035,
            "train_seconds": 60.0, "wall_seconds": 70.0, "cost_usd": 0.0017, "peak_memory_mb": 2000.0,
            "method_used": "lora", "device": "cpu", "cached": False, "adapter_key": "k" + name,
            "kept_probes": 100}  # fmt: skip


ROWS = [
    variant("lr=2e-05 phrasings=1", 0.0, 0.95, lr=2e-5, phrasings=1),
    variant("lr=2e-05 phrasings=0", 0.01, 0.9, lr=2e-5),
    variant("lr=0.002 phrasings=1", 0.3, 0.04, phrasings=1),
    variant("lr=0.002 phrasings=0", 0.5, 0.05),
]


def write_sweep(run: Path, rows: list[dict]) -> dict[str, Any]:
    run.mkdir(parents=True)
    configs = {"sweep": SweepConfig(knobs="lr=2e-5,2e-3 x phrasings=1,0"), "train": TrainConfig(epochs=3)}
    summary = {
        "kind": "sweep", "sweep_version": 1, "name": "sweep", "dataset": "fixture", "profile": "quick",
        "config": {k: v.to_dict() for k, v in configs.items()}, "knobs": ["lr", "phrasings"],
        "questions": 126, "answerable": 113, "probes": 250, "kept_probes": 100, "margin": 0.05,
        "machine": {"platform": "Linux", "cpus": 2, "device": "cpu"},
        "budget": {"wall_seconds": 900.0, "train_seconds": 600.0, "cost_usd": 0.0068, "usd_per_hour": 0.1,
                   "trained": 4, "cached": 0, "skipped": 0},
    }  # fmt: skip
    return finish(run, summary, rows)


def texts(at: Any) -> str:
    kinds = ("title", "subheader", "markdown", "caption", "info", "warning", "error")
    return "\n".join(
        [str(e.value) for k in kinds for e in getattr(at, k)] + [f"{m.label}: {m.value}" for m in at.metric]
    )


def open_sweeps(app_for: Any, root: Path, **query: str) -> Any:
    at = app_for(root, **query).run()
    at.switch_page(VIEW).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Sweeps"
    return at


def test_finished_sweep_shows_pareto_table_and_verdicts(app_for: Any, runs_root: Path, names: Any) -> None:
    write_sweep(runs_root / DONE, ROWS)
    at = open_sweeps(app_for, runs_root, run=names.full)
    table = at.dataframe[0].value
    assert table["variant"].tolist() == [r["variant"] for r in ROWS]
    assert table["pareto"].tolist() == [True, True, False, True]
    text = texts(at)
    assert "A learning rate of 1e-5 to 5e-5 is the one to use**: did not hold" in text
    assert "Higher learning rates make the model forget more**: held" in text
    assert "QLoRA makes a single GPU enough**: not measured" in text
    assert "Rules that held" in text and "Wall time: 15.0 min" in text
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2  # knowledge vs retention, accuracy vs a knob
    spec = json.loads(charts[0].proto.spec)
    assert "Knowledge vs retention" in json.dumps(spec["title"])
    tooltips = json.dumps([layer.get("encoding", {}).get("tooltip") for layer in spec["layer"]])
    assert '"field": "variant"' in tooltips and '"field": "lr"' in tooltips  # a hover per variant
    at.selectbox(key="sw_knob").set_value("phrasings").run()
    assert not at.exception


def test_sweep_folders_are_not_bench_runs(runs_root: Path, names: Any) -> None:
    write_sweep(runs_root / DONE, ROWS)
    listed = [r.name for r in data.list_runs(runs_root, runs_root)]
    assert DONE not in listed and names.full in listed
    assert sweeps.list_sweeps(runs_root, runs_root) == [DONE]


def test_unfinished_sweep_shows_the_variants_done(app_for: Any, runs_root: Path) -> None:
    write_sweep(runs_root / DONE, ROWS)
    (runs_root / RUNNING).mkdir()
    write_csv(runs_root / RUNNING / "sweep.csv", ROWS[:1])
    at = open_sweeps(app_for, runs_root)
    assert at.selectbox(key="sw_run").value == RUNNING  # newest first
    assert "has not finished" in texts(at)
    assert at.dataframe[0].value["variant"].tolist() == [ROWS[0]["variant"]]


def test_no_sweeps_says_how_to_make_one(app_for: Any, empty_root: Path) -> None:
    at = open_sweeps(app_for, empty_root)
    assert "No sweeps" in texts(at) and "ftrag sweep --profile quick" in texts(at)


def test_sweep_outside_the_runs_folder_is_never_listed(runs_root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "20990101-000000-sweep"
    write_sweep(outside, ROWS)
    os.symlink(outside, runs_root / "20990101-000000-sweep")
    assert sweeps.list_sweeps(runs_root, runs_root) == []
    loaded = sweeps.load_sweep(runs_root, runs_root, "20990101-000000-sweep")
    assert loaded.summary is None and loaded.table is None and "not a sweep folder" in loaded.problems[0]
    loaded = sweeps.load_sweep(runs_root, runs_root, "../elsewhere/20990101-000000-sweep")
    assert loaded.summary is None and loaded.problems
