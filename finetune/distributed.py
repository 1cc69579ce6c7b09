"""Training on several processes (``accelerate launch``): DDP, or FSDP for a base model that must be sharded.

One process without a launcher gets :class:`Single`, which does nothing: the loop runs exactly as it
always did (no wrapper, no collective, no extra copy). Under a launcher (``WORLD_SIZE`` > 1)
:class:`Multi` holds an ``accelerate.Accelerator``.

The global batch stays what the config says: each micro-batch of ``batch_size`` rows is split across
the processes (:func:`shard_rows`). So the number of optimizer steps, the learning-rate schedule and
the result do not depend on the process count (N processes reach the single-process weights up to
float summation order), a checkpoint made on 1 GPU resumes on 4, and the tuned `lr` stays right.
The other choice (each process a full batch, global batch x N) would change training with the
hardware. For a GPU's worth of rows per process, raise ``--batch-size`` to N x the per-GPU batch.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from finetune.data import IGNORE
from finetune.loss import answer_loss

# Launcher configs shipped with the package: finetune/accelerate/{ddp,fsdp}.yaml.
CONFIGS = os.path.join(os.path.dirname(__file__), "accelerate")


def launched_world() -> int:
    """Processes started by ``accelerate launch`` / ``torchrun`` (1 without a launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def shard_rows(rows: Sequence[int], rank: int, world: int) -> tuple[list[int], float]:
    """This rank's rows of one micro-batch, strided so each rank gets similar lengths (a batch is
    sorted by length), and the weight of its loss: 0 for a stand-in row when the batch has fewer
    rows than processes (every process must run each forward, DDP and FSDP communicate in it)."""
    mine = list(rows[rank::world])
    return (mine, 1.0) if mine else ([rows[0]], 0.0)


class AnswerLossModule(torch.nn.Module):
    """``answer_loss`` as a module's forward, so that DDP/FSDP see the forward and backward.

    Why not call the body and head of the wrapped model directly, as one process does: DDP hooks
    the top module's forward to prepare the gradient all-reduce, and FSDP gathers the root's
    sharded weights (embeddings, head) there; calling submodules bypasses both, so gradients would
    not be synchronised (DDP) or weights would be missing (FSDP). All-reducing the LoRA gradients
    by hand would work for DDP only, so the forward runs through the wrapped module instead.
    """

    def __init__(self, model: Any, prefix: int | None):
        super().__init__()
        self.model, self.prefix = model, prefix
        # FSDP's TRANSFORMER_BASED_WRAP shards the layer classes the model names here
        inner = model.get_base_model() if hasattr(model, "get_base_model") else model
        self._no_split_modules = getattr(inner, "_no_split_modules", None)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> Any:
        batch = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
        return answer_loss(self.model, batch, prefix=self.prefix)[0]


class Single:
    """One process: no wrapping, no communication."""

    rank, world, is_main, fsdp = 0, 1, True, False

    prefix: int | None = None  # 0: no shared-prefix pass (TrainConfig.share_prefix off)
    fused: Any = None  # a finetune.fused.FusedLlama where that path applies

    def prepare(self, model: Any, optimizer: Any) -> Any:
        self.model = model
        return optimizer

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        return answer_loss(self.model, batch, prefix=self.prefix, fused=self.fused)

    def shard(self, rows: Sequence[int]) -> tuple[list[int], float]:
        return list(rows), 1.0

    def sum(self, values: Sequence[float]) -> list[float]:
        return list(values)

    def barrier(self) -> None:
        pass

    def no_sync(self, last: bool) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def full_state(self) -> None:
        return None

    def clip(self, params: list[torch.nn.Parameter], norm: float) -> None:
        torch.nn.utils.clip_grad_norm_(params, norm)


class Multi:
    """Several processes through ``accelerate.Accelerator`` (DDP, or FSDP from the launch config)."""

    prefix: int | None = None  # as in Single

    def __init__(self, cpu: bool):
        from accelerate import Accelerator, DistributedDataParallelKwargs
        from accelerate.utils import DistributedType

        # broadcast_buffers off: the only buffers (rotary frequencies) never change, and the
        # broadcast would be one more collective in every forward.
        ddp = DistributedDataParallelKwargs(broadcast_buffers=False)
        self.acc = Accelerator(cpu=cpu, kwargs_handlers=[ddp])
        self.rank, self.world = self.acc.process_index, self.acc.num_processes
        self.is_main = self.acc.is_main_process
        self.fsdp = self.acc.distributed_type == DistributedType.FSDP
        self.device = "cpu" if self.acc.device.type == "cpu" else str(self.acc.device)  # not "cpu:0"
        self.wrapped: Any = None

    def prepare(self, model: Any, optimizer: Any) -> Any:
        """Wrap the loss module (DDP or FSDP); returns the optimizer to step (FSDP remaps it)."""
        # FSDP runs each forward of a layer once per micro-batch on every rank: the shared-prefix
        # pass (two body calls whose count could differ between ranks) is off there.
        module = AnswerLossModule(model, prefix=0 if self.fsdp else self.prefix)
        if self.fsdp:
            self.wrapped, optimizer = self.acc.prepare(module, optimizer)
        else:
            self.wrapped = self.acc.prepare(module)
        return optimizer

    def shard(self, rows: Sequence[int]) -> tuple[list[int], float]:
        return shard_rows(rows, self.rank, self.world)

    def sum(self, values: Sequence[float]) -> list[float]:
        """Element-wise sum over processes (one all-reduce of a small float64 tensor)."""
        t = torch.tensor(list(values), dtype=torch.float64, device=self.acc.device)
        return self.acc.reduce(t, reduction="sum").tolist()

    def barrier(self) -> None:
        self.acc.wait_for_everyone()

    def no_sync(self, last: bool) -> contextlib.AbstractContextManager[None]:
        """Gradients are all-reduced on the last micro-batch of a step only."""
        return contextlib.nullcontext() if last else self.acc.no_sync(self.wrapped)

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Summed loss through the wrapped module, and the supervised tokens it covers."""
        loss = self.wrapped(batch["input_ids"], batch["attention_mask"], batch["labels"])
        return loss, int((batch["labels"][:, 1:] != IGNORE).sum())

    def clip(self, params: list[torch.nn.Parameter], norm: float) -> None:
        # FSDP computes the norm over its shards only when handed its own parameter list.
        self.acc.clip_grad_norm_(list(self.wrapped.parameters()) if self.fsdp else params, norm)

    def full_state(self) -> dict[str, torch.Tensor] | None:
        """Under FSDP the model's full state dict, gathered from the shards (a collective every
        process must call); None under DDP, where each process holds the whole model."""
        if not self.fsdp:
            return None
        full = self.acc.get_state_dict(self.wrapped)
        return {k.removeprefix("model."): v for k, v in full.items()}


def make(cpu: bool) -> Single | Multi:
    """:class:`Multi` under a launcher, else :class:`Single`."""
    return Multi(cpu) if launched_world() > 1 else Single()


@contextlib.contextmanager
def main_first(dist: Single | Multi) -> Iterator[bool]:
    """Run the block's writes on the main process only; the others wait until they are done."""
    try:
        yield dist.is_main
    finally:
        dist.barrier()
