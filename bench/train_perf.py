"""Training benchmark: our loop vs Hugging Face Trainer + PEFT, utilisation, memory and quality.

    .venv/bin/python bench/train_perf.py --products 20 --epochs 6 --out docs/train_perf.json

Both trainers get the same model (SmolLM2-135M-Instruct), the same examples (train split of the
first N products of the bundled dataset), the same LoRA config, batch size, learning rate,
schedule length and epochs, in one process, one after the other. Tokens/s counts non-padding
input tokens. Dev loss is computed the same way for both (mean loss per answer token). The
matmul peak is measured on the same machine, so utilisation = tokens/s x 4N / peak.
Quality: greedy answers (16 new tokens) to the held-out test phrasings, scored as "gold contained
in the short answer", for the trained adapter and for the base model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus.formats import load_dataset
from corpus.paths import datasets_dir
from finetune.config import TrainConfig
from finetune.data import SYSTEM
from finetune.models import load_model
from finetune.train import AdapterTrainer, peak_memory_mb


def subset(ds, products: int):
    """The first ``products`` products' questions (all splits) and a matching share of unanswerables."""
    keep = sorted({q.fact_id.rsplit(".", 1)[0] for q in ds.qa if q.kind != "unanswerable"})[:products]
    share = products / max(1, len({q.fact_id.rsplit(".", 1)[0] for q in ds.qa if q.kind != "unanswerable"}))
    unans = [q for q in ds.qa if q.kind == "unanswerable"]
    qa = [q for q in ds.qa if q.kind != "unanswerable" and q.fact_id.rsplit(".", 1)[0] in keep]
    return replace(ds, qa=qa + unans[: round(share * len(unans))])


def matmul_flops(n: int = 1024, reps: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def accuracy(model, tok, items, batch: int = 16) -> float:
    """Gold contained in a short greedy answer (answers longer than 24 words do not count)."""
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


def run_ours(cfg: TrainConfig, ds, out: Path) -> tuple[dict, AdapterTrainer]:
    tr = AdapterTrainer(cfg, ds, out)
    card = tr.fit(progress=False)
    return card, tr


def run_hf_trainer(cfg: TrainConfig, ds, out: Path, ours: AdapterTrainer) -> dict:
    """HF Trainer + PEFT on exactly our examples and LoRA settings."""
    from transformers import Trainer, TrainingArguments

    from finetune.train import apply_lora

    model, tok = load_model(cfg.model, "cpu", "float32")
    model = apply_lora(model, cfg)
    rows = [{"input_ids": list(e.input_ids), "labels": list(e.labels)} for e in ours.data.examples]

    def collate(batch):
        width = max(len(r["input_ids"]) for r in batch)
        pad = tok.pad_token_id
        ids = torch.tensor([r["input_ids"] + [pad] * (width - len(r["input_ids"])) for r in batch])
        labels = torch.tensor([r["labels"] + [-100] * (width - len(r["labels"])) for r in batch])
        lengths = torch.tensor([len(r["input_ids"]) for r in batch])
        mask = (torch.arange(width)[None] < lengths[:, None]).long()
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}

    args = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=cfg.batch_size, learning_rate=cfg.lr,
        num_train_epochs=cfg.epochs, warmup_steps=max(1, int(cfg.warmup_ratio * ours.total_steps)),
        lr_scheduler_type="linear",
        logging_steps=1000, save_strategy="no", report_to=[], seed=cfg.seed, use_cpu=True,
        max_grad_norm=1.0, weight_decay=cfg.weight_decay, dataloader_num_workers=0,
    )  # fmt: skip
    trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collate)
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    tokens = sum(len(r["input_ids"]) for r in rows) * cfg.epochs
    ours_model = ours.model
    ours.model = model  # reuse our dev-loss code on the Trainer's model: same measure for both
    dev = ours.dev_loss()
    ours.model = ours_model
    return {"wall_seconds": seconds, "tokens_per_second": tokens / seconds, "dev_loss": dev}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--products", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--skip-trainer", action="store_true")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--include-docs", action="store_true", help="also train on the pages")
    ap.add_argument("--lr", type=float, default=TrainConfig.lr)
    ap.add_argument("--out", help="results JSON")
    args = ap.parse_args()
    torch.manual_seed(0)
    ds = subset(load_dataset(datasets_dir() / "tessaline"), args.products)
    cfg = TrainConfig(epochs=args.epochs, device="cpu", include_docs=args.include_docs, lr=args.lr)
    peak = matmul_flops()
    print(f"matmul peak {peak / 1e9:.1f} GFLOP/s; {len(ds.questions('train'))} train questions", flush=True)
    work = Path(os.environ.get("TMPDIR", "/tmp")) / "ftrag-train-perf"
    card, tr = run_ours(cfg, ds, work / "ours")
    n = card["params"]
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "matmul_gflops": peak / 1e9}
    result = {"machine": machine,
              "config": cfg.to_dict(), "products": args.products, "ours": {k: card[k] for k in (
                  "wall_seconds", "tokens_per_second", "tokens_seen", "peak_memory_mb", "trainable_params",
                  "params", "examples", "dev_loss")}}  # fmt: skip
    result["ours"]["utilisation_4N"] = card["tokens_per_second"] * 4 * n / peak
    print(json.dumps(result["ours"]), flush=True)
    if not args.skip_quality:
        tests = [q for q in ds.questions("test") if q.kind == "fact"]
        result["quality"] = {"test_questions": len(tests), "adapter": accuracy(tr.model, tr.tokenizer, tests)}
        with tr.model.disable_adapter():
            result["quality"]["base"] = accuracy(tr.model, tr.tokenizer, tests)
        print(json.dumps(result["quality"]), flush=True)
    if not args.skip_trainer:
        result["hf_trainer"] = run_hf_trainer(cfg, ds, work / "hf", tr)
        result["speedup"] = card["tokens_per_second"] / result["hf_trainer"]["tokens_per_second"]
        print(json.dumps(result["hf_trainer"]), f"speedup {result['speedup']:.2f}x", flush=True)
    result["peak_memory_mb_process"] = peak_memory_mb("cpu")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
