"""Training memory, time and cost estimates, for sizes and GPUs we did not measure.

Memory (bytes, per model copy):
- weights: 2 bytes/param in bf16; QLoRA stores NF4 with double-quantised constants, about
  4.127 bits/param (Dettmers et al. 2023);
- trainable state: gradients plus AdamW moments (and an fp32 master copy for full fine-tuning):
  16 bytes per param in total for full mixed-precision training (ZeRO paper), 12 per adapter
  param for (Q)LoRA;
- activations: with gradient checkpointing, one layer input per layer plus one layer's working set
  (~34 bytes x batch x seq x hidden, Korthikanti et al. 2022) and the fp32 logits;
- a fixed framework overhead (CUDA context, allocator slack).
Time: FLOPs = c x N x tokens with c = 6 for full training and 4 for (Q)LoRA (the frozen base
needs activation gradients but no weight gradients), divided by peak FLOP/s x efficiency.
The efficiency defaults to 0.35 and can be calibrated from a measured training card. Every
figure is a projection and is labelled as such.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.errors import UserError

HARDWARE = Path(__file__).with_name("hardware.json")
METHODS = ("full", "lora", "qlora")
# (params, hidden size, layers, vocab) of common decoder shapes; other sizes interpolate in log space
SHAPES = [
    (0.135e9, 576, 30, 49152), (1.1e9, 2048, 22, 32000), (7e9, 4096, 32, 32000), (13e9, 5120, 40, 32000),
    (33e9, 6656, 60, 32000), (65e9, 8192, 80, 32000), (70e9, 8192, 80, 32000), (405e9, 16384, 126, 128256),
]  # fmt: skip
OVERHEAD_GB = 0.8


def parse_count(text: str | float | int) -> float:
    """``7B`` -> 7e9, ``135M`` -> 1.35e8, ``10M`` tokens -> 1e7; plain numbers pass through."""
    if isinstance(text, (int, float)):
        return float(text)
    try:
        return float(text)
    except ValueError:
        pass
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMbBtT]?)\s*", text)
    if not m:
        raise UserError(f"cannot read {text!r} as a count; use forms like 135M, 7B, 1.5e9")
    return float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}[m.group(2).lower()]


def shape_for(params: float) -> tuple[int, int, int]:
    """``(hidden, layers, vocab)`` for a parameter count, from the nearest known shapes."""
    pts = sorted(SHAPES)
    if params <= pts[0][0]:
        return pts[0][1:]
    for (p0, h0, l0, v0), (p1, h1, l1, v1) in itertools.pairwise(pts):
        if p0 <= params <= p1:
            t = (math.log(params) - math.log(p0)) / (math.log(p1) - math.log(p0))
            return round(h0 + t * (h1 - h0)), round(l0 + t * (l1 - l0)), v1 if t > 0.5 else v0
    return pts[-1][1:]


def lora_params(hidden: int, layers: int, r: int) -> float:
    """Adapter size with LoRA on every attention and MLP projection (MLP width ~2.7 x hidden)."""
    mlp = int(2.7 * hidden)
    per_layer = 4 * (hidden + hidden) + 2 * (hidden + mlp) + (mlp + hidden)
    return float(r * per_layer * layers)


@dataclass(frozen=True)
class Estimate:
    method: str
    params: float
    trainable: float
    memory_gb: dict[str, float]
    gpus_needed: int
    flops: float
    hours: float
    usd: float
    gpu: str
    efficiency: float
    prices_date: str

    @property
    def total_gb(self) -> float:
        return sum(self.memory_gb.values())


def memory_breakdown(
    params: float, method: str, r: int = 16, batch: int = 1, seq: int = 512
) -> tuple[dict[str, float], float]:
    """Memory in GB by component, and the trainable parameter count."""
    if method not in METHODS:
        raise UserError(f"`method` must be one of {', '.join(METHODS)}, got {method!r}")
    hidden, layers, vocab = shape_for(params)
    trainable = params if method == "full" else lora_params(hidden, layers, r)
    weight_bytes = 4.127 / 8 if method == "qlora" else 2.0
    # full, mixed precision: bf16 grads (2) + fp32 master (4) + AdamW moments (8) = 14 bytes beside the
    # bf16 weights; (Q)LoRA: bf16 adapter (2) + bf16 grads (2) + fp32 moments (8), on the adapter only
    state = trainable * (14 if method == "full" else 10)
    adapter = 0.0 if method == "full" else trainable * 2
    acts = batch * seq * hidden * (2 * layers + 34) + batch * seq * vocab * 4
    gb = 1e9
    return {
        "weights": params * weight_bytes / gb,
        "adapter": adapter / gb,
        "gradients_optimizer": state / gb,
        "activations": acts / gb,
        "overhead": OVERHEAD_GB,
    }, trainable


def load_hardware(path: Path = HARDWARE) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def estimate(
    params: float, method: str, gpu: str, tokens: float, r: int = 16, batch: int = 1, seq: int = 512,
    efficiency: float = 0.35, hardware: dict[str, Any] | None = None,
) -> Estimate:  # fmt: skip
    """Memory, GPUs needed, FLOPs, hours and dollars for one training run (a projection)."""
    hw = hardware or load_hardware()
    if gpu not in hw["gpus"]:
        raise UserError(
            f"unknown GPU {gpu!r}; known: {', '.join(hw['gpus'])} (edit {HARDWARE.name} to add one)"
        )
    if not 0 < efficiency <= 1:
        raise UserError(f"`efficiency` must be in (0, 1], got {efficiency}")
    for name, value in (("params", params), ("tokens", tokens), ("r", r), ("batch", batch), ("seq", seq)):
        if not value > 0:  # zero parameters divide by zero; zero tokens or rank project nothing
            raise UserError(f"`{name}` must be positive, got {value:g}")
    mem, trainable = memory_breakdown(params, method, r, batch, seq)
    g = hw["gpus"][gpu]
    total = sum(mem.values())
    gpus = max(1, math.ceil(total / g["memory_gb"]))  # full fine-tuning shards state (FSDP / ZeRO-3)
    flops = (6 if method == "full" else 4) * params * tokens
    seconds = flops / (g["tflops_bf16"] * 1e12 * efficiency * gpus)
    hours = seconds / 3600
    return Estimate(method, params, trainable, mem, gpus, flops, hours, hours * gpus * g["usd_per_hour"], gpu,
                    efficiency, hw["date"])  # fmt: skip


def calibrated_efficiency(tokens_per_s: float, params: float, method: str, peak_flops: float) -> float:
    """Model FLOP utilisation of a measured run: achieved FLOP/s over the hardware's peak."""
    return (6 if method == "full" else 4) * params * tokens_per_s / peak_flops


def format_estimate(e: Estimate) -> str:
    size = f"{e.params / 1e9:.3g}B"
    lines = [f"PROJECTION (not measured): {e.method} fine-tuning of a {size} model on {e.gpu}"]
    lines.append(f"  trainable parameters {e.trainable / 1e6:,.1f}M ({e.trainable / e.params:.2%})")
    for k, v in e.memory_gb.items():
        lines.append(f"  {k:<20} {v:8.2f} GB")
    lines.append(f"  {'total':<20} {e.total_gb:8.2f} GB -> {e.gpus_needed} x {e.gpu}")
    compute = f"  compute {e.flops:.3g} FLOPs at {e.efficiency:.0%} of peak: {e.hours:.2f} h, ${e.usd:,.2f}"
    lines.append(f"{compute} (prices of {e.prices_date}, finetune/{HARDWARE.name})")
    return "\n".join(lines)
