"""The vllm engine, for CUDA machines: one vLLM instance per run (prefix caching on), every adapter
served from it by multi-LoRA requests (``LoRARequest``), greedy decoding.

Prompts go in as the Hugging Face tokenizer's token ids, as with the other engines. Stop strings
are applied after generation with the reference engine's rule (leading blank lines are not a
stop), so answers are cut the same way; vLLM's own stop list would end at a leading newline.
Not measured on this project's CPU machines: the figures come from ``bench/gpu_check.sh``.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Sequence
from typing import Any

from compare.harness.prompting import cut_at_stop
from compare.harness.records import Generation

INSTALL_HINT = "pip install vllm on a CUDA machine, or pass --engine hf"


def missing() -> str | None:
    if importlib.util.find_spec("vllm") is None:
        return f"the vllm engine needs vLLM: {INSTALL_HINT}"
    return None


def load(folder: str, max_lora_rank: int, seed: int = 0) -> Any:
    """One vLLM instance for the model folder, LoRA enabled (adapters up to ``max_lora_rank``)."""
    from vllm import LLM

    return LLM(model=folder, enable_lora=True, max_lora_rank=max_lora_rank, max_loras=4,
               enable_prefix_caching=True, seed=seed, trust_remote_code=False)  # fmt: skip


class VllmEngine:
    """Greedy generation through a shared vLLM instance, with at most one adapter per engine."""

    def __init__(self, llm: Any, tokenizer: Any, lora: tuple[str, int, str] | None = None,
                 max_new_tokens: int = 32, stops: Sequence[str] = ("\n",), batch_size: int = 16):  # fmt: skip
        self.llm, self.tokenizer, self.lora = llm, tokenizer, lora
        self.max_new_tokens, self.stops, self.batch_size = max_new_tokens, tuple(stops), batch_size

    def count_tokens(self, prompt: str) -> int:
        return len(self.tokenizer(prompt, add_special_tokens=False)["input_ids"])

    def batch(self, prompts: list[str]) -> list[Generation]:
        from vllm import SamplingParams
        from vllm.lora.request import LoRARequest

        ids = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        params = SamplingParams(temperature=0.0, max_tokens=self.max_new_tokens, seed=0)
        request = LoRARequest(*self.lora) if self.lora else None
        t0 = time.perf_counter()
        outs = self.llm.generate([{"prompt_token_ids": i} for i in ids], params, lora_request=request,
                                 use_tqdm=False)  # fmt: skip
        seconds = time.perf_counter() - t0
        gens = []
        for row, out in zip(ids, outs, strict=True):
            toks = list(out.outputs[0].token_ids)
            text = cut_at_stop(self.tokenizer.decode(toks, skip_special_tokens=True), self.stops)
            # vLLM returns no per-request first-token time here; the batch's wall time stands in
            gens.append(Generation(text, len(row), len(toks), seconds / len(prompts), seconds))
        return gens

    def generate(
        self, prompts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> list[Generation]:
        """All prompts at once (vLLM schedules its own batches), in the caller's order."""
        out = self.batch(list(prompts))
        if progress:
            progress(len(prompts))
        return out

    def plan(self, prompts: Sequence[str]) -> list[list[int]]:
        """One part: vLLM schedules its own batches."""
        return [list(range(len(prompts)))]

    def single(self, prompt: str) -> Generation:
        return self.batch([prompt])[0]
