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


def plan_batches(prompts: Sequence[str], batch_size: int) -> list[list[int]]:
    """The prompt indices of each batch: sorted by length (so a batch pads little), then cut in
    order. An executor that spreads batches over workers uses the same plan, so answers match."""
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def run_in_batches(
    batch: Callable[[list[str]], list[Any]],
    prompts: Sequence[str],
    batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> list[Any]:
    """``batch`` over the :func:`plan_batches` batches of ``prompts``; results in the caller's
    order (what every engine's ``generate`` does)."""
    out: list[Any] = [None] * len(prompts)
    for idx in plan_batches(prompts, batch_size):
        for j, gen in zip(idx, batch([prompts[j] for j in idx]), strict=True):
            out[j] = gen
        if progress:
            progress(len(idx))
    return out
