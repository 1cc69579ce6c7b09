"""Training on several processes: the row split, and 2 CPU processes (gloo) against one process."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from finetune.config import TrainConfig
from finetune.distributed import shard_rows

ROOT = Path(__file__).resolve().parents[2]


def test_each_rank_takes_its_strided_share_of_a_batch() -> None:
    rows = [7, 3, 9, 1, 4]  # one micro-batch, sorted by length: striding balances the lengths
    assert [shard_rows(rows, r, 2) for r in (0, 1)] == [([7, 9, 4], 1.0), ([3, 1], 1.0)]
    shares = [shard_rows(rows, r, 3)[0] for r in range(3)]
    assert sorted(i for s in shares for i in s) == sorted(rows)  # every row once, none twice
    # fewer rows than processes: the idle rank runs a stand-in row whose loss weighs nothing
    assert [shard_rows([5], r, 2) for r in (0, 1)] == [([5], 1.0), ([5], 0.0)]


def test_shard_gradients_sum_to_the_one_process_gradient(
    mini_dir: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """What the loop does on each rank (its rows, loss / global supervised tokens, x world x weight,
    then DDP's mean) gives the gradient of one process on the whole batch."""
    from finetune.loss import answer_loss
    from finetune.train import collate

    tr = one_process(write_dataset(mini_dir), tiny_model_dir, tmp_path / "one")
    for name, p in tr.model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.1)
    params = {n: p for n, p in tr.model.named_parameters() if p.requires_grad}
    ex, rows, world = tr.data.examples, list(range(3)), 2
    n = sum(int(t != -100) for i in rows for t in ex[i].labels[1:])
    answer_loss(tr.model, collate([ex[i] for i in rows], tr.pad_id, "cpu"))[0].div(n).backward()
    whole = {k: p.grad.clone() for k, p in params.items()}
    tr.model.zero_grad()
    for rank in range(world):
        mine, weight = shard_rows(rows, rank, world)
        loss = answer_loss(tr.model, collate([ex[i] for i in mine], tr.pad_id, "cpu"))[0]
        (loss / n * world * weight / world).backward()  # the last / world: DDP's average
    assert all(torch.allclose(whole[k], p.grad, atol=1e-6) for k, p in params.items())


# Runs under the launcher on every process: train 2 steps, stop, resume in a new trainer, finish.
WORKER = """
import json, sys
from pathlib import Path
from corpus.formats import load_dataset
from finetune.config import TrainConfig
from finetune.train import AdapterTrainer

data, out, cfg = sys.argv[1], Path(sys.argv[2]), TrainConfig(**json.loads(sys.argv[3]))
def trainer():  # loads the model folder itself, on this process's device
    return AdapterTrainer(cfg, load_dataset(Path(data)), out)
trainer().fit(stop_after=2, progress=False)
resumed = trainer()
resumed.resume()
resumed.fit(progress=False)
"""

# 9 train examples in batches of 4, 2 micro-batches a step: batches of 4, 4 and 1 (the last leaves
# rank 1 a stand-in row), 2 steps an epoch, 2 epochs; the one dev question is a stand-in too.
# float32 (the CPU default) spelled out: the tolerances below are about float32 sums in another order
CFG = {"r": 4, "alpha": 8, "lr": 5e-3, "epochs": 2, "batch_size": 4, "grad_accum": 2, "device": "cpu",
       "target_modules": "q_proj,v_proj,down_proj", "threads": 1, "dtype": "float32"}  # fmt: skip
WORDS = ["what is the battery of brisil 40 pro ?", "how long does it last ?", "who designed brisil ?",
         "what is a b c ?", "how long does the battery of brisil 40 pro last ?", "is it 94 hours ?",
         "what is the question ?", "who is tessaline ?", "what does brisil 40 pro last ?"]  # fmt: skip


def write_dataset(mini_dir: Path) -> Path:
    lines = [json.loads(line) for line in (mini_dir / "qa.jsonl").read_text().splitlines()]
    lines = [q for q in lines if q["split"] != "train"] + [
        {"id": f"t{i}", "question": q, "answer": " ".join(["94 hours"] * (1 + i % 3)), "aliases": [],
         "sources": ["install"], "split": "train", "kind": "fact", "fact_id": f"f{i}", "template": "t0"}
        for i, q in enumerate(WORDS)
    ]  # fmt: skip
    (mini_dir / "qa.jsonl").write_text("".join(json.dumps(q) + "\n" for q in lines))
    return mini_dir


def one_process(data: Path, model_dir: Path, out: Path):
    from corpus.formats import load_dataset
    from finetune.train import AdapterTrainer

    return AdapterTrainer(TrainConfig(**CFG, model=str(model_dir)), load_dataset(data), out)


def test_launch_configs_are_shipped_and_parse() -> None:
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.utils import DistributedType

    from finetune.distributed import CONFIGS

    ddp = load_config_from_file(str(Path(CONFIGS) / "ddp.yaml"))
    fsdp = load_config_from_file(str(Path(CONFIGS) / "fsdp.yaml"))
    assert ddp.distributed_type == DistributedType.MULTI_GPU and ddp.mixed_precision == "no"
    assert fsdp.distributed_type == DistributedType.FSDP and fsdp.fsdp_config["fsdp_version"] == 2
    assert 'finetune = ["*.json", "accelerate/*.yaml"]' in (ROOT / "pyproject.toml").read_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def adapter(out: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(out / "adapter" / "adapter_model.safetensors")


@pytest.mark.slow
def test_two_cpu_processes_match_one(mini_dir: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    """DDP on 2 gloo processes, interrupted and resumed, reaches the weights of one uninterrupted
    process with the same global batch; only rank 0 writes; the card's figures are global."""
    data = write_dataset(mini_dir)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    # torchrun: `accelerate launch --cpu` starts several CPU processes only through mpirun
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
           str(script), str(data), str(tmp_path / "ddp"),
           json.dumps({**CFG, "model": str(tiny_model_dir)})]  # fmt: skip
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    wall = time.perf_counter() - t0

    ref = one_process(data, tiny_model_dir, tmp_path / "one").fit(progress=False)
    card = json.loads((tmp_path / "ddp" / "training_card.json").read_text())
    assert card["processes"] == 2 and ref["processes"] == 1 and card["steps"] == ref["steps"] == 4
    # global accounting: the same tokens as one process (computed positions differ: each rank
    # runs its own shared prefix and pads to its own longest row)
    assert card["tokens_seen"] == ref["tokens_seen"] and card["supervised_tokens"] == ref["supervised_tokens"]
    for (s1, a), (s2, b) in zip(card["train_loss"], ref["train_loss"], strict=True):
        assert s1 == s2 and a == pytest.approx(b, abs=1e-4)
    assert [x for _, x in card["dev_loss"]] == pytest.approx([x for _, x in ref["dev_loss"]], abs=1e-4)
    # Tolerance 1e-6: float32 sums in another order (shards pad to other widths) through 4 Adam steps.
    a, b = adapter(tmp_path / "ddp"), adapter(tmp_path / "one")
    assert a.keys() == b.keys()
    diff = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert diff < 1e-6, diff  # measured 2.5e-08
    assert sorted(p.name for p in (tmp_path / "ddp" / "epochs").iterdir()) == ["1", "2"]
    assert not list((tmp_path / "ddp").glob(".*tmp"))  # no half-written folder from a second writer
    print(f"2 processes: {wall:.1f} s wall (launch to exit), max |diff| {diff:.2e}, "
          f"{card['tokens_per_second'] / 2:.0f} tokens/s per process, train {card['train_seconds']} s; "
          f"1 process: {ref['tokens_per_second']:.0f} tokens/s, train {ref['train_seconds']} s")  # fmt: skip
    shutil.rmtree(tmp_path / "ddp")
