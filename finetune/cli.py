"""``ftrag train``, ``ftrag adapter merge`` and ``ftrag estimate``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from corpus.config import add_config_args, config_from_args, save_config
from corpus.formats import load_dataset
from corpus.paths import resolve_dataset
from finetune.config import TrainConfig
from finetune.estimate import METHODS, estimate, format_estimate, load_hardware, parse_count


def cmd_train(args: argparse.Namespace) -> int:
    from finetune.train import AdapterTrainer

    ds = load_dataset(resolve_dataset(args.dataset))
    cfg = config_from_args(TrainConfig, args)
    out = Path(args.out) if args.out else Path("adapters") / f"{ds.name}-{cfg.model.replace('/', '_')}"
    trainer = AdapterTrainer(cfg, ds, out)
    if args.resume:
        trainer.resume()
    say = print if trainer.dist.is_main else lambda *a, **k: None  # one voice under `accelerate launch`
    if trainer.dist.is_main:
        save_config(out / "config.json", train=cfg)
    n, c = len(trainer.data.examples), trainer.data.counts
    say(f"training {trainer.method} on {cfg.model} ({trainer.device}): {n} examples {c}, "
        f"{len(trainer.dev)} dev, {trainer.total_steps} steps")  # fmt: skip
    try:
        card = trainer.fit()
    except KeyboardInterrupt:
        done = "a checkpoint" if trainer.ckpt_dir.is_dir() else "no checkpoint yet"
        say(f"ftrag: stopped at step {trainer.state.step}; {out} has {done} "
            "(checkpoints are swapped in atomically): rerun with --resume", file=sys.stderr)  # fmt: skip
        raise
    dev = [round(x, 3) for _, x in card["dev_loss"]]
    say(f"done in {card['wall_seconds']:.0f} s, {card['tokens_per_second']:.0f} tokens/s, "
        f"peak {card['peak_memory_mb']:.0f} MB; dev loss by epoch {dev}")  # fmt: skip
    if card["processes"] > 1:
        each = card["tokens_per_second"] / card["processes"]
        say(f"{card['processes']} processes: {each:.0f} tokens/s each")
    say(f"adapter -> {out / 'adapter'}; card -> {out / 'training_card.json'}")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from peft import PeftModel

    from finetune.models import load_model

    adapter = Path(args.adapter)
    if not (adapter / "adapter_config.json").is_file():
        raise FileNotFoundError(
            f"{adapter}: no adapter_config.json; point to the adapter folder of a training run"
        )
    model, tok = load_model(args.model, device="cpu", dtype="float32")
    merged = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    merged.save_pretrained(args.out, safe_serialization=True)
    tok.save_pretrained(args.out)
    print(f"merged {adapter} into {args.model} -> {args.out}")
    return 0


def cmd_estimate(args: argparse.Namespace) -> int:
    e = estimate(
        parse_count(args.params), args.method, args.gpu, parse_count(args.tokens), r=args.r,
        batch=args.batch, seq=args.seq, efficiency=args.efficiency,
    )  # fmt: skip
    if args.json:
        print(json.dumps({**vars(e), "total_gb": e.total_gb, "projection": True}, indent=2))
    else:
        print(format_estimate(e))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="fine-tune a LoRA/QLoRA adapter on a dataset's train split")
    p.add_argument("dataset", help="dataset folder or bundled name")
    p.add_argument("--out", help="output folder (default: adapters/<dataset>-<model>)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    add_config_args(p, TrainConfig)
    p.set_defaults(func=cmd_train)

    adapter = sub.add_parser("adapter", help="work with trained adapters")
    asub = adapter.add_subparsers(dest="adapter_command", required=True, metavar="COMMAND")
    p = asub.add_parser("merge", help="merge an adapter into its base model (a plain HF model folder)")
    p.add_argument("adapter", help="adapter folder (<run>/adapter)")
    p.add_argument("--model", default="smollm2-135m", help="base model the adapter was trained on")
    p.add_argument("--out", required=True, help="output model folder")
    p.set_defaults(func=cmd_merge)

    gpus = ", ".join(load_hardware()["gpus"])
    p = sub.add_parser("estimate", help="project training memory, time and cost (model size x GPU)")
    p.add_argument("--params", required=True, help="model size, e.g. 135M, 7B, 70B")
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--gpu", default="H100", help=f"one of: {gpus} (default: H100)")
    p.add_argument("--tokens", default="10M", help="training tokens (examples x length x epochs), e.g. 10M")
    p.add_argument("--r", type=int, default=16, help="LoRA rank (default: 16)")
    p.add_argument("--batch", type=int, default=1, help="micro-batch size (default: 1)")
    p.add_argument("--seq", type=int, default=512, help="sequence length (default: 512)")
    p.add_argument(
        "--efficiency", type=float, default=0.35, help="share of peak FLOP/s reached (default: 0.35)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_estimate)
