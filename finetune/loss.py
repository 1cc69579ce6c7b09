"""The training loss: cross-entropy over answer tokens only, with logits computed only there and
the prompt prefix every row of a batch shares run once. Shared by the single-process trainer
(:mod:`finetune.train`) and the DDP/FSDP wrapper (:mod:`finetune.distributed`)."""

from __future__ import annotations

import inspect
from typing import Any

import torch

from finetune.data import IGNORE


def causal_lm_parts(model: Any) -> tuple[Any, Any]:
    """The transformer body and the LM head of a (PEFT-wrapped) causal LM."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    return inner.model, inner.lm_head


def shared_prefix_len(batch: dict[str, torch.Tensor], min_len: int = 4) -> int:
    """Tokens at the start that every row of the batch has in common (0 when too few to pay off).

    One row is always left with at least one token of its own, so the suffix pass is never empty.
    """
    ids, mask = batch["input_ids"], batch["attention_mask"]
    if ids.shape[0] < 2:
        return 0
    same = ((ids == ids[:1]) & (mask == 1)).all(0)
    n = int(same.long().cumprod(0).sum())
    n = min(n, int(mask.sum(1).min()) - 1)
    return n if n >= min_len else 0


def body_hidden(body: Any, batch: dict[str, torch.Tensor], prefix: int | None = None) -> torch.Tensor:
    """Last hidden states of every position, running a prefix shared by all rows only once.

    Every chat example starts with the same system turn and user header (11 of ~40 tokens for
    SmolLM2): the prefix runs at batch size 1, its key/value cache is repeated across the batch
    and the rows continue from it. Same numbers as the plain pass (the prefix sees nothing
    after it), a quarter less transformer compute; gradients flow back through the cache.
    ``prefix`` overrides the measured length (0: one plain pass).
    """
    ids, mask = batch["input_ids"], batch["attention_mask"]
    p = shared_prefix_len(batch) if prefix is None else prefix
    if not p:
        return body(input_ids=ids, attention_mask=mask).last_hidden_state
    head = body(input_ids=ids[:1, :p], attention_mask=mask[:1, :p], use_cache=True)
    cache = head.cache if hasattr(head, "cache") else head.past_key_values  # renamed in transformers 5
    cache.batch_repeat_interleave(ids.shape[0])
    tail = body(input_ids=ids[:, p:], attention_mask=mask, use_cache=True, **{_cache_arg(body): cache})
    shared = head.last_hidden_state.expand(ids.shape[0], -1, -1)
    return torch.cat([shared, tail.last_hidden_state], dim=1)


def _cache_arg(body: Any) -> str:
    """The keyword a model's forward takes its KV cache by (``cache`` since transformers 5)."""
    return "cache" if "cache" in inspect.signature(body.forward).parameters else "past_key_values"


def answer_loss(
    model: Any, batch: dict[str, torch.Tensor], prefix: int | None = None, fused: Any = None
) -> tuple[torch.Tensor, int]:
    """Summed cross-entropy over supervised positions, computing logits only there.

    ``fused``: a ``finetune.fused.FusedLlama`` of ``model`` runs the body (same numbers, faster).
    """
    body, head = causal_lm_parts(model)
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    if fused is not None:
        hidden = fused.answer_hidden(batch, shared_prefix_len(batch) if prefix is None else prefix, keep)
        logits = fused.logits(hidden)
    else:
        logits = head(body_hidden(body, batch, prefix)[:, :-1][keep])
    loss = torch.nn.functional.cross_entropy(logits.float(), targets[keep], reduction="sum")
    return loss, int(keep.sum())
