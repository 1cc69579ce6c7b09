"""Generation engine: batched greedy decoding with left padding and a KV cache, stop strings, and
token and time accounting (prompt tokens, output tokens, time to first token).

Batches are formed from prompts sorted by length, so a batch pads little; results come back in the
caller's order. ``single`` runs one prompt at a time: what one user waits for.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
import transformers

from compare.harness.prompting import (
    MIN_SHARED,
    common_prefix,
    cut_at_stop,
    hit_stop,
    plan_batches,
    run_in_batches,
)
from compare.harness.records import Generation

# transformers 5 renamed generate's ``past_key_values`` to ``cache``.
CACHE_ARG = "cache" if int(transformers.__version__.split(".")[0]) >= 5 else "past_key_values"


class _StopAndClock:
    """Stopping criterion that ends a row once a stop string appears in its new tokens, and
    records when the first new token of the batch was produced (for time to first token)."""

    def __init__(self, decode: Callable[[list[int]], str], start: int, stops: Sequence[str]):
        self.decode, self.start, self.stops = decode, start, [s for s in stops if s]
        self.first_token_at: float | None = None

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        if self.stops:
            for row in range(input_ids.shape[0]):
                done[row] = hit_stop(self.decode(input_ids[row, self.start :].tolist()), self.stops)
        return done


class Engine:
    """Greedy generation for one (possibly adapter-carrying) causal LM."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        max_new_tokens: int = 32,
        stops: Sequence[str] = ("\n",),
        batch_size: int = 16,
    ):
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens, self.stops, self.batch_size = max_new_tokens, tuple(stops), batch_size
        self.device = next(model.parameters()).device
        self.end_ids = {i for i in (tokenizer.eos_token_id, tokenizer.pad_token_id) if i is not None}
        self.kept: tuple[tuple[int, ...], Any] | None = None  # the last shared prefix and its cache

    def count_tokens(self, prompt: str) -> int:
        return len(self.tokenizer(prompt, add_special_tokens=False)["input_ids"])

    def encode(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Token ids and attention mask laid out as ``[shared prefix][padding][own tokens]``, and
        the length of the prefix every prompt shares (0 when too short to be worth caching).

        Padding sits after the shared prefix rather than at the far left: positions come from the
        mask's running sum, so each row's tokens keep the positions they would have alone, and
        new tokens still line up at the right edge.
        """
        rows = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        shared = common_prefix(rows) if len(rows) > 1 else 0  # every row keeps one token of its own
        shared = shared if shared >= MIN_SHARED else 0
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id
        ids = [r[:shared] + [pad] * (width - len(r)) + r[shared:] for r in rows]
        mask = [[1] * shared + [0] * (width - len(r)) + [1] * (len(r) - shared) for r in rows]
        return torch.tensor(ids, device=self.device), torch.tensor(mask, device=self.device), shared

    def _prefix_cache(self, ids: torch.Tensor, shared: int) -> Any:
        """Key/value cache of the shared prefix, computed once and repeated for every row; a copy
        is kept for later single requests that start with the same prefix."""
        out = self.model(input_ids=ids[:1, :shared], use_cache=True)
        cache = out.cache if getattr(out, "cache", None) is not None else out.past_key_values
        self.kept = (tuple(ids[0, :shared].tolist()), copy.deepcopy(cache))
        cache.batch_repeat_interleave(ids.shape[0])
        return cache

    def _kept_cache(self, ids: torch.Tensor) -> Any:
        """A copy of the kept prefix cache when the single prompt ``ids`` starts with it, else None.

        Serving engines keep such prefixes (prefix caching); a RAG prompt's instructions and worked
        examples are the same for every request, so only the documents and question are new.
        """
        if self.kept is None or ids.shape[0] != 1:
            return None
        prefix, cache = self.kept
        row = tuple(ids[0, : len(prefix)].tolist())
        return copy.deepcopy(cache) if ids.shape[1] > len(prefix) and row == prefix else None

    def batch(self, prompts: list[str]) -> list[Generation]:
        """One batch as it is (no sorting, no splitting): what a worker of an executor runs."""
        tok = self.tokenizer
        ids, mask, shared = self.encode(prompts)
        width = ids.shape[1]
        clock = _StopAndClock(lambda x: tok.decode(x, skip_special_tokens=True), width, self.stops)
        t0 = time.perf_counter()
        with torch.inference_mode():
            cache = self._prefix_cache(ids, shared) if shared else self._kept_cache(ids)
            extra = {CACHE_ARG: cache} if cache is not None else {}
            out = self.model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                use_cache=True,
                pad_token_id=tok.pad_token_id,
                stopping_criteria=[clock],
                temperature=None,
                top_p=None,
                top_k=None,
                **extra,
            )
        seconds = time.perf_counter() - t0
        ttft = (clock.first_token_at or time.perf_counter()) - t0
        gens = []
        for row, n_prompt in zip(out[:, width:].tolist(), mask.sum(1).tolist(), strict=True):
            n_out = next((i for i, t in enumerate(row) if t in self.end_ids), len(row))
            text = cut_at_stop(tok.decode(row[:n_out], skip_special_tokens=True), self.stops)
            gens.append(Generation(text, int(n_prompt), n_out, seconds / len(prompts), ttft))
        return gens

    def generate(
        self, prompts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> list[Generation]:
        """Answers to ``prompts`` in their order, batched by similar length."""
        return run_in_batches(self.batch, prompts, self.batch_size, progress)

    def plan(self, prompts: Sequence[str]) -> list[list[int]]:
        """The prompt indices of each batch :meth:`generate` runs, in its order."""
        return plan_batches(prompts, self.batch_size)

    def single(self, prompt: str) -> Generation:
        """One request alone: its wall time is the latency a user sees (a prompt prefix kept from
        an earlier batch is reused, as serving engines with prefix caching do)."""
        return self.batch([prompt])[0]
