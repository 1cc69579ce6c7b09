"""``ftrag estimate``: training memory, time and cost projections for other sizes and GPUs."""

from __future__ import annotations

import argparse
import json

from finetune.estimate import METHODS, estimate, format_estimate, load_hardware, parse_count


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
    gpus = ", ".join(load_hardware()["gpus"])
    p = sub.add_parser("estimate", help="project training memory, time and cost for a model size and GPU")
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
