"""Training benchmark: our loop vs Hugging Face Trainer + PEFT, utilisation, memory and quality.

    .venv/bin/python bench/train_perf.py --out docs/train_perf.json            # everything
    .venv/bin/python bench/train_perf.py --skip-quality --qlora-steps 0         # speed only (~2 min)

Each phase runs in its own process (so its peak memory is its own) on the same model
(SmolLM2-135M-Instruct, in the training config's dtype: ``auto`` is fp32 on CPU, ``--dtype
bfloat16`` trains the frozen base in bf16) and the train split of the first
``--products`` products of the bundled dataset (the quick profile: 20 products = 100 facts):

- speed: our loop and the Trainer, same examples, LoRA config, batch size, learning rate and
  schedule, ``--speed-epochs`` each, one after the other; where the fused forward applied, our
  loop also on torch's own matmul and on the generic forward, for each part's share. Tokens/s
  counts the examples' input tokens (padding excluded) over training time only; dev loss (mean
  per answer token) is computed the same way for both after the same number of examples.
- utilisation: tokens/s x 4N FLOPs per token over this machine's measured matmul FLOP/s in the
  dtype trained in (for fp32 the faster of torch's ``mm`` and oneDNN), and the FLOPs our loop
  actually executes over the same peak.
- quality: train with the quick profile, then greedy answers (16 new tokens) to the held-out test
  phrasings, scored "gold contained in a short answer", with the adapter and with the base model.
- qlora: a few QLoRA steps on CPU (tokens/s, peak memory); QLoRA on CUDA where one is present.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus.config import add_config_args, config_from_args
from finetune.config import PROFILES, TrainConfig

WORK = Path(os.environ.get("TMPDIR", "/tmp")) / "ftrag-train-perf"


def subset(ds: Any, products: int) -> Any:
    """The first ``products`` products' questions (all splits) and a matching share of unanswerables."""
    product = {q.id: q.fact_id.rsplit(".", 1)[0] for q in ds.qa if q.kind != "unanswerable" and q.fact_id}
    keep = set(sorted(set(product.values()))[:products])
    unans = [q for q in ds.qa if q.kind == "unanswerable"]
    share = len(keep) / max(1, len(set(product.values())))
    qa = [q for q in ds.qa if product.get(q.id) in keep]
    return replace(ds, qa=qa + unans[: round(share * len(unans))])


def load_subset(products: int) -> Any:
    from corpus.formats import load_dataset
    from corpus.paths import datasets_dir

    return subset(load_dataset(datasets_dir() / "tessaline"), products)


def matmul_flops(n: int = 1024, reps: int = 20, dtype: str = "float32", kernel: str = "torch") -> float:
    """Matmul FLOP/s of this machine in ``dtype`` through ``kernel`` (torch's ``mm``, which is MKL
    for fp32 on CPU, or oneDNN's linear); best of five timings."""
    import torch

    from finetune.fused import pick_linear

    linear = pick_linear(kernel, "cpu")[1]
    a, b = torch.randn(n, n, dtype=getattr(torch, dtype)), torch.randn(n, n, dtype=getattr(torch, dtype))
    for _ in range(3):
        linear(a, b)
    best = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            linear(a, b)
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0))
    return best


def measure_peaks() -> dict[str, float]:
    """fp32 through both kernels and bf16; ``float32`` is the faster fp32 kernel's rate (the
    machine's measured peak, which utilisation is taken against)."""
    from finetune.fused import onednn_linear

    peaks = {"float32_torch": matmul_flops(), "bfloat16": matmul_flops(dtype="bfloat16")}
    if onednn_linear() is not None:
        peaks["float32_onednn"] = matmul_flops(kernel="onednn")
    peaks["float32"] = max(v for k, v in peaks.items() if k.startswith("float32_"))
    return peaks


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def accuracy(model: Any, tok: Any, items: list, batch: int = 16) -> float:
    """Gold contained in a short greedy answer (answers longer than 24 words do not count)."""
    import torch

    from finetune.data import SYSTEM

    tok.padding_side = "left"
    hits = 0
    for i in range(0, len(items), batch):
        part = items[i : i + batch]
        chats = [
            [{"role": "system", "content": SYSTEM}, {"role": "user", "content": q.question}] for q in part
        ]
        prompts = [tok.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in chats]
        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=16, do_sample=False, pad_token_id=tok.pad_token_id)
        for q, row in zip(part, out[:, enc["input_ids"].shape[1] :], strict=True):
            answer = norm(tok.decode(row, skip_special_tokens=True))
            hits += len(answer.split()) <= 24 and any(norm(g) and norm(g) in answer for g in q.golds)
    return hits / max(1, len(items))


def _memory_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def phase_ours(cfg: TrainConfig, products: int, quality: bool) -> dict[str, Any]:
    """Our loop; with ``quality``, also held-out accuracy of the adapter and of the base model."""
    import torch

    from finetune.train import AdapterTrainer

    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    ds = load_subset(products)
    tr = AdapterTrainer(cfg, ds, WORK / f"ours-{cfg.method}")
    card = tr.fit(progress=False)
    keys = ("train_seconds", "tokens_per_second", "tokens_seen", "steps", "params", "trainable_params",
            "examples", "dev_loss", "method", "executed_flops", "dtype", "attention",
            "share_prefix", "fused", "fused_off", "matmul")  # fmt: skip
    out = {k: card[k] for k in keys} | {"peak_memory_mb": _memory_mb()}
    if quality:
        tests = [q for q in ds.questions("test") if q.kind == "fact"]
        out["test_questions"] = len(tests)
        out["accuracy_adapter"] = accuracy(tr.model, tr.tokenizer, tests)
        with tr.model.disable_adapter():
            out["accuracy_base"] = accuracy(tr.model, tr.tokenizer, tests)
    return out


def phase_trainer(cfg: TrainConfig, products: int) -> dict[str, Any]:
    """HF Trainer + PEFT on exactly our examples, LoRA settings, batch size and schedule."""
    import torch
    from transformers import Trainer, TrainingArguments

    from finetune.train import AdapterTrainer

    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    # examples, dev set and the LoRA model; the Trainer runs the model's own (unfused) forward
    ours = AdapterTrainer(replace(cfg, fused=False), load_subset(products), WORK / "hf-data")
    rows = [{"input_ids": list(e.input_ids), "labels": list(e.labels)} for e in ours.data.examples]
    args = TrainingArguments(
        output_dir=str(WORK / "hf"), per_device_train_batch_size=cfg.batch_size, learning_rate=cfg.lr,
        num_train_epochs=cfg.epochs, warmup_steps=max(1, int(cfg.warmup_ratio * ours.total_steps)),
        lr_scheduler_type="linear", gradient_accumulation_steps=cfg.grad_accum, logging_steps=10**6,
        save_strategy="no", report_to=[], seed=cfg.seed, use_cpu=True, max_grad_norm=1.0,
        weight_decay=cfg.weight_decay, dataloader_num_workers=0,
    )  # fmt: skip
    collate = _trainer_collate(ours.pad_id)
    trainer = Trainer(model=ours.model, args=args, train_dataset=rows, data_collator=collate)
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    tokens = sum(len(r["input_ids"]) for r in rows) * cfg.epochs
    return {"train_seconds": seconds, "tokens_per_second": tokens / seconds, "tokens_seen": tokens,
            "dev_loss": ours.dev_loss(), "peak_memory_mb": _memory_mb()}  # fmt: skip


def _trainer_collate(pad: int) -> Any:
    import torch

    def collate(batch: list[dict]) -> dict[str, Any]:
        width = max(len(r["input_ids"]) for r in batch)
        ids = torch.tensor([r["input_ids"] + [pad] * (width - len(r["input_ids"])) for r in batch])
        labels = torch.tensor([r["labels"] + [-100] * (width - len(r["labels"])) for r in batch])
        lengths = torch.tensor([len(r["input_ids"]) for r in batch])
        return {
            "input_ids": ids,
            "labels": labels,
            "attention_mask": (torch.arange(width)[None] < lengths[:, None]).long(),
        }

    return collate


def run_phase(fn: Any, *args: Any) -> dict[str, Any]:
    """``fn(*args)`` in a fresh process, so peak memory and threads are the phase's own."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# Our loop again with one part switched off, for each part's share of the speed.
# The bf16 arm goes the other way: the large matmuls' inputs rounded to bf16 (mixed precision).
ABLATIONS = {"ours_torch_matmul": {"matmul": "torch"}, "ours_generic": {"fused": False},
             "ours_bf16_matmul": {"matmul": "onednn-bf16"}}  # fmt: skip


def speed(cfg: TrainConfig, args: argparse.Namespace, peaks: dict[str, float]) -> dict[str, Any]:
    side = replace(cfg, epochs=args.speed_epochs, patience=0)
    ours = run_phase(phase_ours, side, args.products, False)
    print("ours", json.dumps(ours), flush=True)
    # utilisation against the matmul rate of the dtype the base ran in (bf16 is ~4x fp32 where native)
    peak = peaks["bfloat16" if "bfloat16" in ours["dtype"] else "float32"]
    n = ours["params"]
    ours["utilisation_4N"] = ours["tokens_per_second"] * 4 * n / peak
    ours["utilisation_executed"] = ours["executed_flops"] / ours["train_seconds"] / peak
    result = {"config": side.to_dict(), "ours": ours}
    for name, change in ABLATIONS.items() if ours["fused"] and not args.skip_ablations else ():
        arm = run_phase(phase_ours, replace(side, **change), args.products, False)
        print(name, json.dumps(arm), flush=True)
        result[name] = arm | {"ours_over_this": ours["tokens_per_second"] / arm["tokens_per_second"]}
    if not args.skip_trainer:
        hf = run_phase(phase_trainer, side, args.products)
        print("hf_trainer", json.dumps(hf), flush=True)
        result["hf_trainer"] = hf
        result["speedup"] = ours["tokens_per_second"] / hf["tokens_per_second"]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--products", type=int, default=20, help="products of the bundled dataset (quick: 20)")
    ap.add_argument("--speed-epochs", type=int, default=1, help="epochs of the side-by-side speed run")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-trainer", action="store_true")
    ap.add_argument("--skip-ablations", action="store_true", help="only our loop as configured")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--qlora-steps", type=int, default=2, help="QLoRA steps to time (0 = skip)")
    ap.add_argument("--out", help="results JSON")
    add_config_args(ap, TrainConfig)
    args = ap.parse_args()
    cfg = config_from_args(TrainConfig, args, **{"device": "cpu", **_unless_given(args, PROFILES["quick"])})
    peaks = measure_peaks()
    result: dict[str, Any] = {"machine": machine(peaks), "products": args.products}
    print(json.dumps(result["machine"]), flush=True)
    if not args.skip_speed:
        result["speed"] = speed(cfg, args, peaks)
    if not args.skip_quality:
        result["quality"] = {"config": cfg.to_dict(), **run_phase(phase_ours, cfg, args.products, True)}
        print("quality", json.dumps(result["quality"]), flush=True)
    if args.qlora_steps:
        result["qlora_cpu"] = run_phase(phase_qlora, cfg, args.products, args.qlora_steps)
        print("qlora_cpu", json.dumps(result["qlora_cpu"]), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


def machine(peaks: dict[str, float]) -> dict[str, Any]:
    import torch

    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = re.search(r"model name\s*:\s*(.*)", info)
    return {"platform": platform.platform(), "cpu": cpu.group(1) if cpu else platform.processor(),
            "cpus": os.cpu_count(), "torch": torch.__version__,
            **{f"matmul_gflops_{k}": v / 1e9 for k, v in peaks.items()}}  # fmt: skip


def _unless_given(args: argparse.Namespace, profile: dict[str, Any]) -> dict[str, Any]:
    """Profile values the command line did not override."""
    return {k: v for k, v in profile.items() if getattr(args, k, None) is None}


def phase_qlora(cfg: TrainConfig, products: int, steps: int) -> dict[str, Any]:
    """A few QLoRA steps (4-bit NF4 base) against as many LoRA steps, same batches."""
    import torch

    from finetune.train import AdapterTrainer

    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    ds = load_subset(products)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tr = AdapterTrainer(replace(cfg, method="qlora", device=device), ds, WORK / "qlora")
    card = tr.fit(stop_after=steps, progress=False)
    return {"device": device, "steps": steps, "tokens_per_second": card["tokens_per_second"],
            "peak_memory_mb": card["peak_memory_mb"] if device == "cuda" else _memory_mb()}  # fmt: skip


if __name__ == "__main__":
    main()
