"""kill -9 during indexing, training and generation, then ``--resume``: the finished run equals an
uninterrupted one (index files identical, adapter weights equal, answers identical). And two
benches writing to one runs folder at once: both finish, each in its own run folder, with one
copy of every cached stage.

The benches run on the 5-document fixture with the tiny random Llama; a kill lands at a planted
pause (tests/reliability/pause_ftrag.py), so it always hits the stage it is meant to.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

HERE = Path(__file__).parent


def bench_args(mini: Path, model: Path, runs: Path) -> list[str]:
    tiny = ["train.r=2", "train.alpha=4", "train.epochs=3", "train.batch_size=1", "train.device=cpu",
            "train.target_modules=q_proj,v_proj", "train.checkpoint_every=1", "bench.latency_samples=1",
            "bench.max_new_tokens=4", "bench.tune=false", f"train.model={model}"]  # fmt: skip
    sets = [x for item in tiny for x in ("--set", item)]
    return ["bench", "--dataset", str(mini), "--runs", str(runs), *sets, "--scenarios", "none"]


def kill_at(helpers, point: str, argv: list[str], tmp: Path, timeout: float = 240) -> None:
    """Start ftrag paused at ``point``, wait for the pause, then SIGKILL it."""
    marker = tmp / f"paused-{point}"
    log = (tmp / f"{point}.log").open("w")
    cmd = [sys.executable, str(HERE / "pause_ftrag.py"), point, str(marker), *argv]
    proc = subprocess.Popen(cmd, cwd=helpers.repo, env=helpers.ftrag_env(), stdout=log, stderr=log)
    deadline = time.monotonic() + timeout
    while not marker.exists():
        assert proc.poll() is None, (tmp / f"{point}.log").read_text()[-3000:]
        assert time.monotonic() < deadline, f"never reached {point}"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL
    log.close()


def runs_of(runs: Path) -> list[Path]:
    return sorted(p for p in runs.iterdir() if not p.name.startswith("."))


def answers(run: Path) -> list[tuple]:
    df = pd.read_parquet(run / "results.parquet")
    return sorted(zip(df["system"], df["qid"], df["text"], strict=True))


def index_files(runs: Path) -> dict[str, bytes]:
    (key,) = [p for p in (runs / ".cache" / "index").iterdir() if p.is_dir() and not p.name.startswith(".")]
    return {n: (key / n).read_bytes() for n in ("index.faiss", "vectors.npy", "ids.npy", "chunks.jsonl")}


def adapter_weights(runs: Path) -> dict:
    from safetensors.torch import load_file

    (key,) = [p for p in (runs / ".cache" / "adapter").iterdir() if p.is_dir()]
    return load_file(key / "adapter" / "adapter_model.safetensors")


def same_weights(a: dict, b: dict) -> bool:
    import torch

    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


TRAIN = ["--r", "2", "--alpha", "4", "--batch-size", "1", "--device", "cpu", "--epochs", "3",
         "--target-modules", "q_proj,v_proj", "--checkpoint-every", "1"]  # fmt: skip


def test_kill_during_training_then_resume_equals_one_run(
    run_cli, helpers, mini_dir: Path, tiny_model: Path, tmp_path: Path
) -> None:
    """The fast one (default selection): ``ftrag train`` killed after its first checkpoint."""
    from safetensors.torch import load_file

    out, ref = tmp_path / "killed", tmp_path / "ref"
    kill_at(helpers, "train", ["train", str(mini_dir), "--model", str(tiny_model), "--out", str(out), *TRAIN],
            tmp_path)  # fmt: skip
    assert json.loads((out / "checkpoint" / "state.json").read_text())["step"] == 1
    assert not (out / "adapter").exists()
    rc, _, err = run_cli("train", mini_dir, "--model", tiny_model, "--out", out, "--resume", *TRAIN)
    assert rc == 0, err
    rc, _, err = run_cli("train", mini_dir, "--model", tiny_model, "--out", ref, *TRAIN)
    assert rc == 0, err
    card = json.loads((out / "training_card.json").read_text())
    assert card["finished"] and card["steps"] == json.loads((ref / "training_card.json").read_text())["steps"]
    weights = [load_file(d / "adapter" / "adapter_model.safetensors") for d in (out, ref)]
    assert same_weights(*weights)


@pytest.mark.slow  # three killed benches and two whole ones: about a minute on 2 idle cores
def test_kill_during_index_train_and_answers_then_resume(
    run_cli, helpers, mini_dir: Path, tiny_model: Path, tmp_path: Path
) -> None:
    runs, ref = tmp_path / "runs", tmp_path / "ref"
    argv = bench_args(mini_dir, tiny_model, runs)
    kill_at(helpers, "index", argv, tmp_path)
    assert [p.name for p in runs_of(runs)] and not (runs / ".cache" / "adapter").exists()
    staged = [p for p in (runs / ".cache" / "index").iterdir() if ".staging-" in p.name]
    assert staged and not [p for p in (runs / ".cache" / "index").iterdir() if p.is_dir() and
                           not p.name.startswith(".")]  # killed before the index was swapped in  # fmt: skip
    kill_at(helpers, "train", [*argv, "--resume"], tmp_path)
    (ckpt,) = (runs / ".cache" / "adapter").glob("*/checkpoint/state.json")
    assert json.loads(ckpt.read_text())["step"] == 1  # killed mid-training (3 steps in all)
    kill_at(helpers, "answers", [*argv, "--resume"], tmp_path)
    assert len(list((runs / ".cache" / "answers").glob("*.json"))) == 2  # base and rag were done
    rc, _, err = run_cli(*argv, "--resume")
    assert rc == 0, err
    rc, _, err = run_cli(*bench_args(mini_dir, tiny_model, ref))
    assert rc == 0, err
    (run,), (clean,) = runs_of(runs), runs_of(ref)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["adapters"]["sft"]["finished"] and summary["adapters"]["sft"]["steps"] == 3
    assert index_files(runs) == index_files(ref)
    assert same_weights(adapter_weights(runs), adapter_weights(ref))
    assert answers(run) == answers(clean) and len(answers(run)) == 4 * 4


@pytest.mark.slow  # two whole benches side by side: about 25 s on 2 idle cores
def test_two_benches_at_once_share_the_cache_and_keep_their_runs_apart(
    helpers, mini_dir: Path, tiny_model: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    argv = bench_args(mini_dir, tiny_model, runs)
    procs = [helpers.ftrag_process(*argv) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    first, second = runs_of(runs)
    summaries = [json.loads((r / "summary.json").read_text()) for r in (first, second)]
    assert json.loads((first / "config.json").read_text()) == json.loads((second / "config.json").read_text())
    # each stage was built once; the other bench waited on its lock and loaded it
    assert sorted(s["cache_hits"]["index"] for s in summaries) == [False, True]
    assert sorted(s["cache_hits"]["adapter:sft"] for s in summaries) == [False, True]
    cache = runs / ".cache"
    assert len([p for p in (cache / "index").iterdir() if p.is_dir()]) == 1
    assert len([p for p in (cache / "adapter").iterdir() if p.is_dir()]) == 1
    assert len(list((cache / "answers").glob("*.json"))) == 4  # one per system, not per bench
    assert not [p for p in cache.rglob("*") if ".staging-" in p.name or p.name.endswith(".tmp")]
    assert answers(first) == answers(second)
