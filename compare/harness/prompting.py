"""Prompt text and batch plans: pure functions over a tokenizer, importable without torch.

Prompts with no chat template (base models such as Gemma 3 270M) are laid out as a completion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from finetune.data import completion_prompt

LAYOUTS = ("auto", "completion")


def render_prompt(tokenizer: Any, messages: list[dict[str, str]], layout: str = "auto") -> str:
    """The prompt string: the model's chat template (``auto``, when it has one), or a completion
    layout (when it has none, or ``layout="completion"``: a prompt variant tuned on dev)."""
    if layout not in LAYOUTS:
        raise ValueError(f"prompt layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if layout == "auto" and getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    turns = [m for m in messages if m["role"] != "system"]
    shots = [(u["content"], a["content"]) for u, a in zip(turns[:-1:2], turns[1:-1:2], strict=True)]
    return completion_prompt(turns[-1]["content"] if turns else "", system, shots)


def cut_at_stop(text: str, stops: Sequence[str]) -> str:
    """``text`` up to the first stop string (exclusive), stripped; leading blank lines are not
    a stop (small models often open with a newline)."""
    text = text.lstrip()
    end = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=len(text))
    return text[:end].strip()


# A prefix shorter than this is not worth a separate forward pass (every engine's shared prefix).
MIN_SHARED = 16


def common_prefix(rows: Sequence[Sequence[int]], own: int = 1) -> int:
    """Length of the token prefix every row shares, each row keeping at least ``own`` tokens of
    its own after it."""
    limit = min(len(r) for r in rows) - own
    shared = 0
    while shared < limit and all(r[shared] == rows[0][shared] for r in rows):
        shared += 1
    return shared


def hit_stop(new_text: str, stops: Sequence[str]) -> bool:
    """Whether a stop string appears in a row's new text; leading blank lines are not a stop
    (what :func:`cut_at_stop` cuts at, so every engine ends rows alike)."""
    text = new_text.lstrip()
    return any(s and s in text for s in stops)


def prefix_sources(rows: Sequence[Sequence[int]], shared: int) -> list[tuple[int, int]]:
    """Where each row of a batch starts computing: ``(-1, shared)`` from the prefix every row
    shares, or ``(j, n)`` from the first ``n`` tokens of an earlier row ``j`` that itself starts
    from the shared prefix, where that is at least ``MIN_SHARED`` tokens longer (RAG prompts that
    quote the same chunk). Each row keeps at least one token of its own; ``j`` does too, so its
    first ``n`` tokens are computed before row ``i`` needs them."""
    out: list[tuple[int, int]] = []
    leaders: list[int] = []
    for i, row in enumerate(rows):
        shares = ((j, common_prefix([row, rows[j]])) for j in leaders)
        src, n = max(shares, key=lambda t: t[1], default=(-1, 0))  # the first of equals
        if n >= shared + MIN_SHARED:
            out.append((src, n))
        else:
            leaders.append(i)
            out.append((-1, shared))
    return out


PLANS = ("length", "prefix")


def plan_batches(prompts: Sequence[str], batch_size: int, plan: str = "length") -> list[list[int]]:
    """The prompt indices of each batch, cut in order from the prompts sorted by ``plan``:
    ``length`` (so a batch pads little: engines that pad rows) or ``prefix`` (the prompt text, so
    prompts that share a prefix meet in one batch: engines that reuse a row's cells for another).
    An executor that spreads batches over workers uses the same plan, so answers match."""
    if plan not in PLANS:
        raise ValueError(f"batch plan must be one of {', '.join(PLANS)}, got {plan!r}")
    key = (lambda i: len(prompts[i])) if plan == "length" else (lambda i: prompts[i])
    order = sorted(range(len(prompts)), key=key)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def run_in_batches(
    batch: Callable[[list[str]], list[Any]],
    prompts: Sequence[str],
    batch_size: int,
    progress: Callable[[int], None] | None = None,
    plan: str = "length",
) -> list[Any]:
    """``batch`` over the :func:`plan_batches` batches of ``prompts``; results in the caller's
    order (what every engine's ``generate`` does)."""
    out: list[Any] = [None] * len(prompts)
    for idx in plan_batches(prompts, batch_size, plan):
        for j, gen in zip(idx, batch([prompts[j] for j in idx]), strict=True):
            out[j] = gen
        if progress:
            progress(len(idx))
    return out
