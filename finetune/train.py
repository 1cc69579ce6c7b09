"""LoRA / QLoRA training loop, own rather than HF Trainer, for speed on small machines.

Why our own loop: the loss needs logits only where an answer token is predicted. Running the
transformer body once and applying the 49k-vocabulary head to those few positions skips most of
the head's compute and memory (the Trainer computes logits for every position). Batches are
length-grouped so little is padding. Checkpoints hold adapter, optimizer, scheduler and the
data position, so ``--resume`` continues to the same weights as an uninterrupted run. Each
epoch's adapter is kept under ``epochs/<n>/`` (a loadable PEFT folder), so the harness can choose
the number of epochs by dev accuracy without training again. Under ``accelerate launch`` the same
loop runs on several processes, each taking its rows of every batch (see ``finetune/distributed.py``).
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from corpus.config import config_to_dict
from corpus.errors import DataError, UserError
from corpus.io import atomic_write_text
from corpus.model import Dataset
from finetune import distributed
from finetune.config import TrainConfig
from finetune.data import IGNORE, Example, build_sft_data, qa_examples
from finetune.fused import FusedLlama, fusable, pick_linear
from finetune.lora import apply_lora, load_adapter_weights, load_qlora, resolve_method, set_attention
from finetune.loss import causal_lm_parts, shared_prefix_len
from finetune.models import MODELS, load_model, pick_device_dtype

CARD_VERSION = 1


# Batches per sorting window. Sorting a whole epoch by length (50-batch windows) left 0.3% padding
# but made batches of one question wording each, and dev loss after one epoch was 0.86 against the
# HF Trainer's 0.69 with random batches; 4-batch windows keep padding at 2.5% (random: 6%).
GROUP_WINDOW = 4


def epoch_batches(lengths: list[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Length-grouped batches in a seeded order: shuffle, sort within windows of ``GROUP_WINDOW``
    batches, cut, then shuffle the batches. Same (seed, epoch), same batches: resume relies on it."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    window = batch_size * GROUP_WINDOW
    batches: list[list[int]] = []
    for i in range(0, len(order), window):
        chunk = sorted(order[i : i + window].tolist(), key=lambda j: lengths[j])
        batches += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def collate(examples: list[Example], pad_id: int, device: str) -> dict[str, torch.Tensor]:
    """Right-padded tensors; padded labels are ``IGNORE``."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        labels[row, :n] = torch.tensor(e.labels)
        mask[row, :n] = 1
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels.to(device)}


def sample(items: list[Example], limit: int, seed: int) -> list[Example]:
    """At most ``limit`` items (0 = all), a seeded sample in the original order."""
    if not limit or len(items) <= limit:
        return items
    keep = np.random.default_rng([seed, 7]).choice(len(items), limit, replace=False)
    return [items[i] for i in sorted(keep.tolist())]


def out_of_memory(exc: BaseException, cfg: TrainConfig) -> BaseException:
    """A ValueError naming the knobs to turn when ``exc`` is an out-of-memory error, else ``exc``."""
    text = str(exc)
    oom = isinstance(exc, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in text.lower()
    if not oom and "can't allocate memory" not in text:
        return exc
    return ValueError(
        f"out of memory at `batch_size` {cfg.batch_size} x `max_length` {cfg.max_length}: lower "
        f"--batch-size (raise --grad-accum to keep the effective batch) or --max-length"
        + (", or use --method qlora" if cfg.method != "qlora" else "")
    )


def executed_flops(model: Any, computed: int, supervised: int) -> float:
    """Matmul FLOPs our loop ran: the body (4 per frozen weight, 6 per adapter weight) at every
    computed position, the vocabulary head (4 per weight: frozen) at supervised positions only.
    Attention scores are left out (under 2% at these lengths)."""
    _, head = causal_lm_parts(model)
    emb = model.get_input_embeddings().weight
    tied = head.weight is emb
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    body = frozen - emb.numel() - (0 if tied else head.weight.numel())
    return float(4 * body * computed + 6 * trainable * computed + 4 * head.weight.numel() * supervised)


@dataclass
class TrainState:
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    tokens: int = 0
    supervised: int = 0
    computed: int = 0  # positions the transformer body ran (padding in, shared prefixes once)
    seconds: float = 0.0  # training steps only
    eval_seconds: float = 0.0  # dev loss and checkpoints
    losses: list[tuple[int, float]] = field(default_factory=list)
    dev_losses: list[tuple[int, float]] = field(default_factory=list)
    best_dev: float = math.inf
    stale_epochs: int = 0


def _fused_adamw(device: str) -> bool | None:
    """The fused AdamW kernel where torch has one for ``device`` (CPU and CUDA), else the default."""
    return True if device == "cpu" or device.startswith("cuda") else None


def _lr_lambda(total: int, warmup: int) -> Any:  # a closure for LambdaLR
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))  # linear decay to zero

    return f


def peak_memory_mb(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


class AdapterTrainer:
    """Wires model, data, optimizer and checkpoints; the math lives in the functions above."""

    def __init__(self, cfg: TrainConfig, ds: Dataset, out: Path, model: Any = None, tokenizer: Any = None,
                 raft: Sequence[tuple[str, str, str]] = (), raft_system: str | None = None,
                 replay: Sequence[tuple[str, str]] = (), init_adapter: str | Path | None = None):  # fmt: skip

        self.cfg, self.ds, self.out = cfg, ds, Path(out)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.device, _ = pick_device_dtype(cfg.device, cfg.dtype)
        self.dist = distributed.make(self.device == "cpu")  # a no-op without a launcher
        self.dist.prefix = None if cfg.share_prefix else 0
        if self.dist.world > 1:
            self.device = self.dist.device  # this process's GPU, or the CPU
        self.method = resolve_method(cfg.method, self.device)
        spec = MODELS.get(cfg.model)
        if model is None:
            model, tokenizer = self._load(load_model)
        self.tokenizer = tokenizer
        # A registered model says whether it chats; any other follows its tokenizer (a base model
        # from a folder or the hub cache has no chat template and is trained completion-style).
        self.chat = spec.chat if spec else bool(getattr(tokenizer, "chat_template", None))
        self.attention = set_attention(model, cfg.attention)
        self.model = apply_lora(model, cfg).to(self.device)
        # continued training (a knowledge update, a reader trained on) starts from these weights
        self.init_adapter = None if init_adapter is None else str(init_adapter)
        if init_adapter is not None:
            load_adapter_weights(self.model, Path(init_adapter))
        self.data, self.dev = self._examples(raft, raft_system, replay)
        self._optimizer()
        self.fused_off = self._fuse()
        self.state = TrainState()
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def _examples(self, raft: Sequence[tuple[str, str, str]], raft_system: str | None,
                  replay: Sequence[tuple[str, str]]) -> tuple[Any, list[Example]]:  # fmt: skip
        """The training examples (an error if none fits ``max_length``) and a sample of dev's."""
        cfg, ds, tokenizer = self.cfg, self.ds, self.tokenizer
        data = build_sft_data(
            ds,
            tokenizer,
            self.chat,
            cfg.max_length,
            cfg.include_docs,
            abstain=cfg.abstain,
            replay=replay,
            raft=raft,
            raft_system=raft_system,
            fact_fraction=cfg.fact_fraction,
            phrasings=cfg.phrasings,
            corrupt_fraction=cfg.corrupt_fraction,
            seed=cfg.seed,
        )
        if not data.examples:
            raise DataError(
                f"every training example is longer than `max_length` {cfg.max_length}; raise it", ds.name
            )
        style, abstain = ds.meta.get("house_style"), ds.abstain_answer
        dev = qa_examples(ds.questions("dev"), tokenizer, self.chat, style, abstain)
        return data, sample([e for e in dev if len(e.input_ids) <= cfg.max_length], cfg.dev_limit, cfg.seed)

    def _optimizer(self) -> None:
        """AdamW over the LoRA weights, its warm-up schedule, and the distributed wrapping."""
        cfg = self.cfg
        params = [p for p in self.model.parameters() if p.requires_grad]
        # fused: one kernel for all parameters (as the HF Trainer's default, adamw_torch_fused)
        self.optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                           fused=_fused_adamw(self.device))  # fmt: skip
        steps_per_epoch = math.ceil(math.ceil(len(self.data.examples) / cfg.batch_size) / cfg.grad_accum)
        self.total_steps = steps_per_epoch * cfg.epochs
        warmup = max(1, int(cfg.warmup_ratio * self.total_steps))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, _lr_lambda(self.total_steps, warmup)
        )
        self.optimizer = self.dist.prepare(self.model, self.optimizer)  # DDP/FSDP wrapping under a launcher

    def _load(self, load_model: Any) -> tuple[Any, Any]:
        if self.method != "qlora":
            return load_model(self.cfg.model, self.device, self.cfg.dtype, self.cfg.trust_remote_code)
        return load_qlora(self.cfg.model, self.device, self.cfg.trust_remote_code)

    def _fuse(self) -> str | None:
        """Train through the fused forward where it applies; returns why not (None: it does)."""
        cfg = self.cfg
        self.matmul: str | None = None
        if not cfg.fused:
            return "`fused` is off"
        if self.dist.world > 1:
            return "several processes"
        if cfg.attention != "auto":
            return f"`attention` {cfg.attention} was asked for"
        why = fusable(self.model)
        if why is None:
            self.matmul, linear = pick_linear(cfg.matmul, self.device)
            fused = FusedLlama(self.model, linear, bf16=self.matmul == "onednn-bf16")
            self.dist.fused, self.attention = fused, "fused"
        return why

    @property
    def ckpt_dir(self) -> Path:
        return self.out / "checkpoint"

    def dev_loss(self) -> float:
        """Mean per-token loss on the dev split's questions (no gradient).

        Sorted by length and in batches of 32 (no activations kept, so larger batches are cheap):
        about twice as fast as training-sized batches in arrival order, which matters because this
        runs every epoch. Several processes score their rows of each batch and sum.
        """
        if not self.dev:
            return math.nan
        self.model.eval()
        dev, size = sorted(self.dev, key=lambda e: len(e.input_ids)), max(32, self.cfg.batch_size)
        total, n = 0.0, 0
        with torch.inference_mode():
            for i in range(0, len(dev), size):
                rows, weight = self.dist.shard(range(i, min(i + size, len(dev))))
                loss, k = self.dist.loss(collate([dev[j] for j in rows], self.pad_id, self.device))
                total, n = total + weight * float(loss), n + weight * k
        self.model.train()
        total, n = self.dist.sum([total, n])
        return total / max(n, 1)

    def _step(self, group: list[list[int]]) -> float:
        """One optimizer step over ``grad_accum`` micro-batches; loss is per supervised token.

        Several processes: each runs its rows of every micro-batch; the loss is divided by the
        global supervised-token count (every process holds all examples, so no communication), and
        the gradients all-reduced on the last micro-batch sum to the single-process gradient.
        """
        d, ex = self.dist, self.data.examples
        self.optimizer.zero_grad(set_to_none=True)
        shards = [d.shard(b) for b in group]
        micro = [collate([ex[i] for i in rows], self.pad_id, self.device) for rows, _ in shards]
        n_total = sum(t != IGNORE for b in group for i in b for t in ex[i].labels[1:])
        total, tokens, computed = 0.0, 0, 0
        for j, (m, (_, weight)) in enumerate(zip(micro, shards, strict=True)):
            try:
                with d.no_sync(last=j == len(micro) - 1):
                    loss, _ = self.dist.loss(m)
                    scaled = loss / max(n_total, 1)
                    if d.world > 1:  # DDP and FSDP average gradients over processes: make it a sum
                        scaled = scaled * (d.world * weight)
                    scaled.backward()
            except (torch.OutOfMemoryError, MemoryError, RuntimeError) as exc:
                raise out_of_memory(exc, self.cfg) from None
            if weight:  # a stand-in row (fewer rows than processes) counts for nothing
                total += float(loss.detach())
                tokens += int(m["attention_mask"].sum())
                b, width = m["input_ids"].shape
                shared = 0 if d.fsdp or d.prefix == 0 else shared_prefix_len(m)
                computed += b * width - (b - 1) * shared
        total, tokens, computed = d.sum([total, tokens, computed])  # global figures for the card
        self.state.tokens += int(tokens)
        self.state.computed += int(computed)
        self.state.supervised += n_total
        d.clip([p for p in self.model.parameters() if p.requires_grad], 1.0)
        self.optimizer.step()
        self.scheduler.step()
        return total / max(n_total, 1)

    def fit(
        self, stop_after: int | None = None, progress: bool = True, stop_epochs: int | None = None
    ) -> dict[str, Any]:
        """Train to the end (or ``stop_after`` steps, or ``stop_epochs`` epochs of the full schedule,
        leaving a checkpoint that resumes to the same result); returns the card.

        ``state.seconds`` counts training steps only; dev loss and checkpoints are timed apart
        (``eval_seconds``), so tokens/s compares with a trainer that does not evaluate.
        """
        from tqdm.auto import tqdm

        cfg, st = self.cfg, self.state
        lengths = [len(e.input_ids) for e in self.data.examples]
        show = None if progress and self.dist.is_main else True
        bar = tqdm(total=self.total_steps, initial=st.step, disable=show, desc="training", unit="step")
        self.model.train()
        while st.epoch < cfg.epochs:
            if stop_epochs is not None and st.epoch >= stop_epochs:
                bar.close()
                return self.card(finished=False)  # the last epoch's checkpoint resumes from here
            batches = epoch_batches(lengths, cfg.batch_size, cfg.seed, st.epoch)
            groups = [batches[i : i + cfg.grad_accum] for i in range(0, len(batches), cfg.grad_accum)]
            for g in range(st.batch_in_epoch, len(groups)):
                t0 = time.perf_counter()
                loss = self._step(groups[g])
                st.step, st.batch_in_epoch = st.step + 1, g + 1
                st.seconds += time.perf_counter() - t0
                st.losses.append((st.step, round(loss, 5)))
                bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{st.tokens / max(st.seconds, 1e-9):.0f}")
                bar.update()
                if cfg.checkpoint_every and st.step % cfg.checkpoint_every == 0:
                    self._timed(self.save_checkpoint)
                if stop_after is not None and st.step >= stop_after:
                    self._timed(self.save_checkpoint)
                    bar.close()
                    return self.card(finished=False)
            st.epoch, st.batch_in_epoch = st.epoch + 1, 0
            if self._timed(self._end_epoch):
                break  # early stop on dev loss
        bar.close()
        return self.save_outputs()

    def _timed(self, fn: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            self.state.eval_seconds += time.perf_counter() - t0

    def _end_epoch(self) -> bool:
        """Dev loss, a checkpoint, and whether to stop early (``patience`` epochs without a gain)."""
        st = self.state
        dev = self.dev_loss()
        st.dev_losses.append((st.epoch, round(dev, 5)))
        st.stale_epochs = 0 if dev < st.best_dev else st.stale_epochs + 1
        st.best_dev = min(st.best_dev, dev)
        self.save_snapshot()
        self.save_checkpoint()
        return bool(self.cfg.patience and st.stale_epochs >= self.cfg.patience)

    def snapshot_dir(self, epoch: int) -> Path:
        return self.out / "epochs" / str(epoch)

    def save_snapshot(self) -> None:
        """This epoch's adapter as a PEFT folder (about 20 MB for SmolLM2-135M at rank 16)."""
        final, tmp = self.snapshot_dir(self.state.epoch), self.out / "epochs" / ".tmp"
        full = self.dist.full_state()  # every process takes part under FSDP; one writes
        with distributed.main_first(self.dist) as main:
            if main:
                shutil.rmtree(tmp, ignore_errors=True)
                self.model.save_pretrained(tmp, safe_serialization=True, state_dict=full)
                shutil.rmtree(final, ignore_errors=True)
                os.replace(tmp, final)

    def save_checkpoint(self) -> None:
        """Adapter, optimizer, scheduler, RNG and data position, swapped in atomically."""
        full = self.dist.full_state()
        with distributed.main_first(self.dist) as main:
            if main:
                self._write_checkpoint(full)

    def _write_checkpoint(self, full: dict[str, torch.Tensor] | None) -> None:
        from peft import get_peft_model_state_dict
        from safetensors.torch import save_file

        tmp = self.out / ".checkpoint.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_file(
            {k: v.contiguous() for k, v in get_peft_model_state_dict(self.model, state_dict=full).items()},
            tmp / "adapter.safetensors",
        )
        torch.save({"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                    "rng": torch.get_rng_state()}, tmp / "optimizer.pt")  # fmt: skip
        state = {**self.state.__dict__, "config": config_to_dict(self.cfg)}
        (tmp / "state.json").write_text(json.dumps(state) + "\n")
        old = self.out / ".checkpoint.old"
        if self.ckpt_dir.exists():
            os.replace(self.ckpt_dir, old)
        os.replace(tmp, self.ckpt_dir)
        shutil.rmtree(old, ignore_errors=True)

    def resume(self) -> None:
        """Continue from ``out/checkpoint``; a missing or corrupt checkpoint is a clear error."""
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        d = self.ckpt_dir
        if self.dist.fsdp:  # the optimizer state is sharded and checkpoints hold one process's
            raise UserError("--resume is not supported under FSDP; train again, or resume under DDP")
        if not (d / "state.json").is_file():
            raise DataError("no checkpoint to resume from; run without --resume", d)
        try:
            state = json.loads((d / "state.json").read_text())
            set_peft_model_state_dict(self.model, load_file(d / "adapter.safetensors"))
            opt = torch.load(d / "optimizer.pt", weights_only=True)  # never unpickle arbitrary objects
        except Exception as exc:  # truncated file, wrong shapes, bad JSON: all mean "corrupt"
            raise DataError(
                f"checkpoint is corrupt ({type(exc).__name__}); delete it and train again", d
            ) from None
        if state.get("config") != config_to_dict(self.cfg):
            raise DataError("checkpoint was made with other settings; use the same flags or delete it", d)
        self.optimizer.load_state_dict(opt["optimizer"])
        self.scheduler.load_state_dict(opt["scheduler"])
        torch.set_rng_state(opt["rng"])
        state.pop("config")
        self.state = TrainState(**{**state, "losses": [tuple(x) for x in state["losses"]],
                                   "dev_losses": [tuple(x) for x in state["dev_losses"]]})  # fmt: skip

    def card(self, finished: bool = True) -> dict[str, Any]:
        st, n_params = self.state, sum(p.numel() for p in self.model.parameters())
        trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        return {
            "card_version": CARD_VERSION, "finished": finished, "config": config_to_dict(self.cfg),
            "processes": self.dist.world,  # tokens and losses below are summed over them
            "method": self.method, "device": self.device, "dtype": str(next(self.model.parameters()).dtype),
            "attention": self.attention, "share_prefix": self.cfg.share_prefix,
            "fused": self.fused_off is None, "fused_off": self.fused_off, "matmul": self.matmul,
            "examples": self.data.counts, "too_long": self.data.too_long[:50], "dev_examples": len(self.dev),
            "starts_from": self.init_adapter,
            "steps": st.step, "epochs_done": st.epoch, "tokens_seen": st.tokens,
            "supervised_tokens": st.supervised, "train_seconds": round(st.seconds, 4),
            "wall_seconds": round(st.seconds + st.eval_seconds, 4),
            "tokens_per_second": round(st.tokens / max(st.seconds, 1e-9), 1),
            "peak_memory_mb": round(peak_memory_mb(self.device), 1), "params": n_params,
            "trainable_params": trainable, "train_loss": st.losses, "dev_loss": st.dev_losses,
            # 4N per token: forward 2N + activation gradients 2N; frozen weights get no gradient
            "estimated_flops": 4 * (n_params - trainable) * st.tokens + 6 * trainable * st.tokens,
            "executed_flops": executed_flops(self.model, st.computed, st.supervised),
        }  # fmt: skip

    def save_outputs(self) -> dict[str, Any]:
        """Adapter (safetensors), tokenizer and the training card (written by the main process)."""
        full, card = self.dist.full_state(), self.card(finished=True)
        with distributed.main_first(self.dist) as main:
            if main:
                self.model.save_pretrained(self.out / "adapter", safe_serialization=True, state_dict=full)
                self.tokenizer.save_pretrained(self.out / "tokenizer")
                atomic_write_text(self.out / "training_card.json", json.dumps(card, indent=1) + "\n")
        return card
