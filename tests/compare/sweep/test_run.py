"""``ftrag sweep`` end to end on the 5-document fixture with a tiny random Llama: the run folder,
re-running reuses finished variants (no training, no answering), QLoRA skipped without CUDA with
its reason, and one-line errors for bad knobs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from compare.sweep.run import replay_mix, sample_items


def sweep_args(mini_dir: Path, model: Path, runs: Path, *extra: str) -> list:
    tiny = [
        "train.r=2",
        "train.alpha=4",
        "train.epochs=1",
        "train.batch_size=2",
        "train.device=cpu",
        "train.target_modules=q_proj,v_proj",
        f"train.model={model}",
        "sweep.max_new_tokens=4",
        "sweep.probes=6",
        "sweep.split=test",
    ]
    sets = [x for item in tiny for x in ("--set", item)]
    return ["sweep", "--dataset", mini_dir, "--runs", runs, "--quiet", *sets, *extra]


def test_sweep_run_folder_then_cached_repeat(
    run_cli, mini_dir: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    knobs = ("--knob", "lr=1e-3,5e-3", "--knob", "method=lora,qlora")
    rc, out, err = run_cli(*sweep_args(mini_dir, tiny_model_dir, runs, *knobs))
    assert rc == 0, err
    (run,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    assert run.name.endswith("-sweep")
    assert {"sweep.csv", "summary.json", "report.md", "plots"} <= {p.name for p in run.iterdir()}
    rows = list(csv.DictReader((run / "sweep.csv").open()))
    assert [r["variant"] for r in rows] == [
        "lr=0.001 method=lora", "lr=0.001 method=qlora", "lr=0.005 method=lora", "lr=0.005 method=qlora"
    ]  # fmt: skip
    done = [r for r in rows if r["status"] == "done"]
    assert len(done) == 2 and all(r["cached"] == "False" for r in done)
    assert all(r["status"] == "skipped" and "CUDA" in r["reason"] for r in rows if r["method"] == "qlora")
    for r in done:
        assert 0 <= float(r["accuracy"]) <= 1 and 0 < float(r["trainable_share"]) < 1
        assert float(r["train_seconds"]) > 0 and float(r["cost_usd"]) > 0 and r["examples"] == "1"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["kind"] == "sweep" and summary["config"]["train"]["epochs"] == 1
    assert summary["config"]["sweep"]["split"] == "test" and summary["knobs"] == ["lr", "method"]
    assert {v["rule"] for v in summary["rules"]} >= {"low-lr", "qlora", "phrasings"}
    qlora = next(v for v in summary["rules"] if v["rule"] == "qlora")
    assert qlora["status"] == "not measured" and "CUDA" in qlora["detail"]
    report = (run / "report.md").read_text()
    assert "## Rules of thumb on this corpus" in report and "| lr=0.001 method=lora |" in report
    assert (run / "plots" / "pareto.png").is_file() and (run / "plots" / "accuracy_lr.png").is_file()
    assert out.count("training sft adapter") == 2 and "[not measured] QLoRA makes a single GPU enough" in out
    # the same sweep again: every finished variant from the cache, no training, no answering
    rc, out, err = run_cli(*sweep_args(mini_dir, tiny_model_dir, runs, *knobs))
    assert rc == 0, err
    second = max(p for p in runs.iterdir() if not p.name.startswith("."))
    again = [r for r in csv.DictReader((second / "sweep.csv").open()) if r["status"] == "done"]
    assert "training sft" not in out and all(r["cached"] == "True" for r in again)
    assert [r["accuracy"] for r in again] == [r["accuracy"] for r in done]
    # a new value trains only the new variant
    new = ("--knob", "lr=1e-3,2e-3", "--knob", "method=lora")
    rc, out, err = run_cli(*sweep_args(mini_dir, tiny_model_dir, runs, *new))
    assert rc == 0, err
    assert out.count("training sft adapter") == 1


def test_data_knobs_and_replay_train_what_they_say(
    run_cli, mini_dir: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    rc, _, err = run_cli(*sweep_args(mini_dir, tiny_model_dir, runs, "--knob", "replay=0,2"))
    assert rc == 0, err
    (run,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    rows = {r["variant"]: r for r in csv.DictReader((run / "sweep.csv").open())}
    assert rows["replay=0"]["replay_examples"] == "0" and rows["replay=2"]["replay_examples"] == "2"


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--knob", "lrate=1e-3"), "unknown knob 'lrate'; knobs: lr, epochs"),
        (("--knob", "lr=fast"), "knob `lr` has a bad value 'fast'"),
        (("--set", "sweep.probes=-2"), "`probes` must be >= 0"),
        (("--set", "sweep.split=nope"), "no questions in the 'nope' split"),
        (("--set", "sweep.hardware=abacus"), "`hardware` 'abacus' is not in the price table"),
    ],
)
def test_bad_input_is_one_line(run_cli, mini_dir: Path, tmp_path: Path, extra: tuple, message: str) -> None:
    rc, _, err = run_cli("sweep", "--dataset", mini_dir, "--runs", tmp_path / "runs", *extra)
    assert rc == 2 and message in err and "Traceback" not in err


def test_replay_mix_and_samples_are_seeded() -> None:
    pairs = [(f"q{i}", f"a{i}") for i in range(3)]
    mix = replay_mix(pairs, 7, seed=1)
    assert len(mix) == 7 and set(mix) == set(pairs) and mix == replay_mix(pairs, 7, seed=1)
    assert replay_mix(pairs, 0, seed=1) == [] and replay_mix([], 5, seed=1) == []
    assert sample_items(list(range(10)), 4, 0) == sample_items(list(range(10)), 4, 0)
    assert sample_items(list(range(10)), 0, 0) == list(range(10))
