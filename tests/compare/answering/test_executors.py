"""Executors: the batch plan, config validation, and ``--executor ray`` on a local Ray with 2 CPUs
giving the same answers and sweep rows as the local executor (a tiny random Llama, the 5-document
fixture)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from compare.answering.executors import EXECUTORS, ExecutorConfig
from compare.harness.prompting import plan_batches
from tests.compare.pipeline.test_bench import bench_args
from tests.compare.sweep.test_run import sweep_args


def test_batches_are_sorted_by_length_then_cut_in_order() -> None:
    prompts = ["ccc", "a", "bbbb", "dd", "e"]
    assert plan_batches(prompts, 2) == [[1, 4], [3, 0], [2]]
    assert plan_batches(prompts, 10) == [[1, 4, 3, 0, 2]]
    assert plan_batches([], 4) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "dask"}, "`name` must be one of local, ray"),
        ({"workers": -1}, "`workers` must be >= 0"),
        ({"worker_cpus": 0}, "`worker_cpus` must be a positive integer"),
        ({"worker_gpus": -0.5}, "`worker_gpus` must be >= 0"),
        ({"address": "auto"}, "`address` is a Ray cluster's; pass --executor ray"),
    ],
)
def test_config_names_the_bad_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        ExecutorConfig(**kwargs)


def test_registry_has_both_executors() -> None:
    assert set(EXECUTORS) == {"local", "ray"} and ExecutorConfig().name == "local"


def sets(items: list[str]) -> list[str]:
    return [x for item in items for x in ("--set", item)]


# The columns that must not depend on where a batch ran (timings may and do).
SAME = [
    "qid",
    "system",
    "text",
    "citations",
    "retrieved",
    "correct",
    "exact_match",
    "token_f1",
    "prompt_tokens",
]


def test_ray_bench_answers_equal_local(run_cli, mini_dir: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    # the bench tests' tiny settings, then these (a later --set wins)
    common = sets(["bench.latency_samples=1", "bench.max_new_tokens=6", "bench.batch_size=2"])
    frames, summaries = {}, {}
    for name, extra in (("local", []), ("ray", ["--executor", "ray", "--workers", "2"])):
        runs = tmp_path / name  # separate caches: the ray run must answer, not read local answers
        rc, out, err = run_cli(*bench_args(mini_dir, tiny_model_dir, runs, *common, *extra))
        assert rc == 0, err
        (run,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
        frames[name] = pd.read_parquet(run / "results.parquet").sort_values(["system", "qid"])
        summaries[name] = json.loads((run / "summary.json").read_text())
        config = json.loads((run / "config.json").read_text())
        assert config["executor"]["name"] == name
    assert "[ray] started a local Ray" in out
    assert summaries["ray"]["executor"]["workers"] == 2 and summaries["local"]["executor"]["name"] == "local"
    local, ray = (frames[n][[c for c in SAME if c in frames[n]]].reset_index(drop=True) for n in frames)
    assert len(local) == 20 and set(local["system"]) == {"base", "rag", "ft", "hybrid", "routed"}
    pd.testing.assert_frame_equal(local, ray)
    for system in ("base", "rag", "ft", "hybrid"):
        a, b = summaries["local"]["systems"][system], summaries["ray"]["systems"][system]
        assert a["accuracy"] == b["accuracy"] and a["token_f1"] == b["token_f1"]
    # dev tuning ran its trials on the workers too and chose the same knobs
    assert (
        summaries["local"]["tuning"]["systems"]["rag"]["chosen"]
        == summaries["ray"]["tuning"]["systems"]["rag"]["chosen"]
    )


def test_ray_sweep_rows_equal_local(run_cli, mini_dir: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    rows = {}
    grid = ["--knob", "lr=1e-3,5e-3,2e-2"]
    for name, extra in (("local", []), ("ray", ["--executor", "ray", "--workers", "2"])):
        runs = tmp_path / name
        rc, out, err = run_cli(*sweep_args(mini_dir, tiny_model_dir, runs, *grid, *extra))
        assert rc == 0, err
        (run,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
        rows[name] = list(csv.DictReader((run / "sweep.csv").open()))
        assert json.loads((run / "summary.json").read_text())["executor"]["name"] == name
    assert "[ray] 3 variants over 2 workers" in out
    keep = ("variant", "status", "accuracy", "style", "retention", "examples", "adapter_key")
    assert [r["variant"] for r in rows["ray"]] == ["lr=0.001", "lr=0.005", "lr=0.02"]
    assert [{k: r[k] for k in keep} for r in rows["local"]] == [{k: r[k] for k in keep} for r in rows["ray"]]
    # A worker trains on one thread, the local run on two: oneDNN's matmuls sum in another order,
    # so the adapters agree to float rounding and the drift (a KL of ~1e-6 here) to about 1e-9.
    for a, b in zip(rows["local"], rows["ray"], strict=True):
        assert float(a["drift_kl"]) == pytest.approx(float(b["drift_kl"]), rel=1e-2, abs=1e-8)
    assert all(r["status"] == "done" and r["cached"] == "False" for r in rows["ray"])


def test_ray_without_an_index_names_the_system(tmp_path: Path) -> None:
    """The executor checks a system's needs before anything is sent to a worker."""
    from compare.answering.executors import RayExecutor
    from compare.answering.specs import SYSTEMS
    from compare.answering.systems import Resources

    ex = RayExecutor.__new__(RayExecutor)  # no cluster: the check comes first
    with pytest.raises(ValueError, match="system 'rag' needs an index"):
        ex.generate(Resources(None, None), SYSTEMS["rag"], ["q"])
