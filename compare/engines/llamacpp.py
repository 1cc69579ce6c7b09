"""The llama.cpp engine: the model's GGUF file served by llama.cpp (through llama-cpp-python's
bindings of its C API), an adapter exported to a GGUF LoRA and applied at load, batched greedy
decoding with the same stop strings and token and time accounting as the reference engine
(compare.engines.hf).

Prompts are tokenised by the run's Hugging Face tokenizer and fed as token ids, so both engines see
the same tokens and count them alike. A batch runs as one sequence per prompt in one KV cache: the
prefix every prompt shares is computed once (sequence 0) and copied to each row, each row's own
tokens are prefilled, then one token per unfinished row is decoded per step. A row that shares a
longer prefix with an earlier row of its batch (RAG prompts quoting the same chunk) goes on from that
row's cells instead of computing them again; batches are planned in prompt order, so such rows
meet. Sequence 0 keeps the last shared prefix, so a later request that starts with it (a RAG
prompt's instructions and worked examples) computes only its own tokens: prefix caching, as serving
engines do (vLLM's automatic prefix caching, SGLang's radix tree).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from compare.harness.prompting import (
    MIN_SHARED,
    common_prefix,
    cut_at_stop,
    hit_stop,
    plan_batches,
    prefix_sources,
    run_in_batches,
)
from compare.harness.records import Generation
from corpus.errors import UserError
from finetune.gguf_export import retype_gguf
from finetune.gguf_header import read_header
from finetune.models import cache_dir

log = logging.getLogger(__name__)

# `make setup` builds 0.3.36 with our patches (patches/llama-cpp-python); the stock release answers too.
INSTALL_HINT = "run `make setup` (or pip install llama-cpp-python==0.3.36), or pass --engine hf"
# KV cells of one engine, shared by a batch's rows: the longest prompt it serves, with its new tokens.
N_CTX = 8192
# Cells a batch may use before it is split in two. Every query of a batch's prefill scans the mask of
# every cell in use, its own row's or not, so that work grows with the batch's tokens times its cells:
# 48 k=3 dev prompts of the quick bench (16-row batches of 9,000 cells, split in two at 8,192) took
# 78 s, 65 s with batches cut at 3,072 cells, answers the same (docs/benchmarks.md). k=1 and
# closed-book batches of 16 rows use fewer cells and stay whole.
SPLIT_CELLS = 3072
# How batches are planned (compare.harness.prompting.plan_batches): rows are not padded here, so
# batches group prompts that share a prefix rather than prompts of one length.
PLAN = "prefix"
# Tokens evaluated per llama_decode call (prefill is cut into such chunks).
N_BATCH = 512


def missing() -> str | None:
    """Why this engine cannot run here (None: it can)."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return f"the llamacpp engine needs llama-cpp-python: {INSTALL_HINT}"
    return None


# Weight types a model can be served at: as shipped (the bundled models' Q4_1), rewritten (f32, the
# weights the hf engine computes with; bf16) or quantised from f32 by llama.cpp's own quantizer
# (its LLAMA_FTYPE_MOSTLY_* numbers).
PRECISIONS = ("shipped", "f32", "bf16", "q8_0", "q4_0")
_QUANTS = {"q8_0": 7, "q4_0": 2}


def serving_file(model_gguf: str | Path, precision: str) -> Path:
    """The GGUF to serve at ``precision``: the shipped file, or a rewrite kept in the model cache
    (written once, atomically)."""
    src = Path(model_gguf)
    if precision == "shipped":
        return src
    if precision not in PRECISIONS:
        raise UserError(f"`precision` must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    stat = src.stat()
    out = cache_dir() / "gguf" / f"{src.stem}-{stat.st_size}-{precision}.gguf"
    if out.is_file():
        return out
    if precision in ("f32", "bf16"):
        return retype_gguf(src, out, precision)
    return _quantize(serving_file(src, "f32"), out, _QUANTS[precision])


def _quantize(f32: Path, out: Path, ftype: int) -> Path:
    import llama_cpp as lc

    params = lc.llama_model_quantize_default_params()
    params.ftype = ftype
    tmp = out.with_suffix(".tmp")
    with _quiet():
        rc = lc.llama_model_quantize(str(f32).encode(), str(tmp).encode(), ctypes.byref(params))
    if rc != 0:
        tmp.unlink(missing_ok=True)
        raise UserError(f"llama.cpp could not quantise {f32} (code {rc})")
    os.replace(tmp, out)
    return out


def file_precision(model_gguf: str | Path) -> str:
    """The GGUF's weight type as llama.cpp names it (``Q4_1``, ``F16``)."""
    import gguf

    value = read_header(model_gguf).fields.get("general.file_type")
    if value is None:
        return "unknown"
    name = gguf.LlamaFileType(int(value)).name
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")


@contextlib.contextmanager
def _quiet() -> Any:
    """llama.cpp writes its load log to the C-level stderr; keep it off the bench's output."""
    fd = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(fd, 2)
        os.close(fd)


class LlamaCppEngine:
    """Greedy generation for one GGUF model with at most one LoRA adapter, applied at load."""

    def __init__(
        self,
        model_gguf: str | Path,
        tokenizer: Any,
        lora_gguf: str | Path | None = None,
        max_new_tokens: int = 32,
        stops: Sequence[str] = ("\n",),
        batch_size: int = 16,
        threads: int = 0,
        n_ctx: int = N_CTX,
    ):
        self.tokenizer = tokenizer
        self.max_new_tokens, self.stops, self.batch_size = max_new_tokens, tuple(stops), batch_size
        self.n_ctx = n_ctx
        self.end_ids = {i for i in (tokenizer.eos_token_id, tokenizer.pad_token_id) if i is not None}
        self.state = _Native(model_gguf, lora_gguf, n_ctx, batch_size + 1, threads or _torch_threads())
        self.cached: list[int] = []  # the tokens sequence 0 holds (the last shared prefix)

    def count_tokens(self, prompt: str) -> int:
        return len(self.tokenizer(prompt, add_special_tokens=False)["input_ids"])

    def batch(self, prompts: list[str]) -> list[Generation]:
        """One batch, in the parts :meth:`_parts` cuts it into."""
        rows = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        out: list[Generation] = []
        for part in self._parts(rows):
            sub = [rows[j] for j in part]
            shared = _shared_prefix(sub)
            out += self._run(sub, shared, prefix_sources(sub, shared))
        return out

    def plan(self, prompts: Sequence[str]) -> list[list[int]]:
        """The prompt indices of each part :meth:`generate` runs, in the order it runs them: the
        batches of the prompt-order plan, each cut as :meth:`_parts` cuts it."""
        out = []
        for idx in plan_batches(prompts, self.batch_size, PLAN):
            rows = [self.tokenizer(prompts[i], add_special_tokens=False)["input_ids"] for i in idx]
            out += [[idx[j] for j in part] for part in self._parts(rows)]
        return out

    def _parts(self, rows: list[list[int]]) -> list[list[int]]:
        """The row indices of each part a batch runs in: halved while it would use more than
        ``SPLIT_CELLS`` KV cells (a single row: up to the window)."""
        shared = _shared_prefix(rows)
        sources = prefix_sources(rows, shared)
        # cells in use: the shared prefix once, each row's own tokens and its new ones
        need = shared + sum(len(r) - start for r, (_, start) in zip(rows, sources, strict=True))
        need += len(rows) * self.max_new_tokens
        if need > min(self.n_ctx, SPLIT_CELLS) and len(rows) > 1:
            half = len(rows) // 2
            return self._parts(rows[:half]) + [[half + j for j in p] for p in self._parts(rows[half:])]
        if need > self.n_ctx:
            raise UserError(
                f"a prompt of {len(rows[0])} tokens and {self.max_new_tokens} new ones do not fit the "
                f"llamacpp engine's {self.n_ctx}-token window; shorten the context or use --engine hf"
            )
        return [list(range(len(rows)))]

    def _run(self, rows: list[list[int]], shared: int, sources: list[tuple[int, int]]) -> list[Generation]:
        t0 = time.perf_counter()
        prefix = rows[0][:shared]
        keep = common_prefix([self.cached, prefix], own=0)
        st = self.state
        st.forget(keep)
        st.feed([(0, prefix[keep:], keep, False)])
        self.cached = prefix
        first: dict[int, int] = {}
        # the rows that start from the batch's prefix, then those that go on from a leader's cells;
        # sequence 0 holds the batch's prefix, row i is sequence i + 1
        for leading in (True, False):
            group = [(i, src, start) for i, (src, start) in enumerate(sources) if (src < 0) == leading]
            for i, src, start in group:
                st.copy(src + 1, i + 1, start)
            first |= st.feed([(i + 1, rows[i][start:], start, True) for i, _, start in group])
        ttft = time.perf_counter() - t0
        out = self._decode(rows, first)
        seconds = time.perf_counter() - t0
        gens = []
        for r, toks in zip(rows, out, strict=True):
            text = cut_at_stop(self.tokenizer.decode(toks, skip_special_tokens=True), self.stops)
            gens.append(Generation(text, len(r), len(toks), seconds / len(rows), ttft))
        return gens

    def _decode(self, rows: list[list[int]], first: dict[int, int]) -> list[list[int]]:
        """Greedy tokens of every row until an end token, a stop string or the length cap."""
        out: list[list[int]] = [[] for _ in rows]
        nxt = {i - 1: t for i, t in first.items()}
        while nxt:
            live = {}
            for i, tok in nxt.items():
                if tok in self.end_ids:
                    continue
                out[i].append(tok)
                if len(out[i]) < self.max_new_tokens and not self._stopped(out[i]):
                    live[i] = tok
            if not live:
                break
            step = self.state.feed(
                [(i + 1, [t], len(rows[i]) + len(out[i]) - 1, True) for i, t in live.items()]
            )
            nxt = {i - 1: t for i, t in step.items()}
        return out

    def _stopped(self, out: list[int]) -> bool:
        return bool(self.stops) and hit_stop(self.tokenizer.decode(out, skip_special_tokens=True), self.stops)

    def generate(
        self, prompts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> list[Generation]:
        """Answers to ``prompts`` in their order, batched in prompt order (``PLAN``)."""
        return run_in_batches(self.batch, prompts, self.batch_size, progress, PLAN)

    def single(self, prompt: str) -> Generation:
        """One request alone (the kept prefix of an earlier request reused)."""
        return self.batch([prompt])[0]


def _shared_prefix(rows: list[list[int]]) -> int:
    """Tokens every row shares, each row keeping at least one of its own (all but the last token
    of a single prompt, which is kept for the next request); 0 when too short to be worth it."""
    shared = common_prefix(rows)
    return shared if shared >= MIN_SHARED or len(rows) == 1 else 0


class _Native:
    """The C-side objects of one engine: model, context (one KV cache shared by the sequences),
    adapter and a token batch; ``feed`` evaluates tokens and returns each sequence's greedy pick."""

    def __init__(self, model_gguf: str | Path, lora: str | Path | None, n_ctx: int, seqs: int, threads: int):
        import llama_cpp as lc

        # llama-cpp-python prints every llama.cpp log line its logger's level lets through; errors only
        logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
        self.lc = lc
        # Freed by a finalizer rather than __del__: it also runs at interpreter exit while the
        # bindings are still loaded (a __del__ then finds their functions already torn down).
        self.owned: dict[str, Any] = {}
        weakref.finalize(self, _release, lc, self.owned)
        mparams = lc.llama_model_default_params()
        # No extra buffer types: llama.cpp's AMX int8 kernels crash on processors that report AMX
        # under a hypervisor that does not grant it (ggml_backend_amx_mul_mat, seen on this box).
        mparams.use_extra_bufts = False
        with _quiet():
            self.model = lc.llama_model_load_from_file(str(model_gguf).encode(), mparams)
        self.owned["model"] = self.model
        if not self.model:
            raise UserError(f"llama.cpp could not load {model_gguf}; use --engine hf")
        cparams = lc.llama_context_default_params()
        cparams.n_ctx, cparams.n_batch, cparams.n_ubatch, cparams.n_seq_max = n_ctx, N_BATCH, N_BATCH, seqs
        cparams.n_threads = cparams.n_threads_batch = threads
        cparams.kv_unified = True  # the rows share the prefix cells copied from sequence 0
        with _quiet():
            self.ctx = self.owned["ctx"] = lc.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            raise UserError(
                f"llama.cpp could not make a {n_ctx}-token context for {model_gguf}; use --engine hf"
            )
        self.lora = None
        if lora:
            self.lora = self.owned["lora"] = lc.llama_adapter_lora_init(self.model, str(lora).encode())
            if not self.lora:
                raise UserError(f"llama.cpp could not load the adapter {lora}; use --engine hf")
            lc.llama_set_adapters_lora(self.ctx, (lc.llama_adapter_lora_p_ctypes * 1)(self.lora), 1,
                                       (ctypes.c_float * 1)(1.0))  # fmt: skip
        self.seqs = seqs
        self.batch = self.owned["batch"] = lc.llama_batch_init(N_BATCH, 0, 1)
        self.mem = lc.llama_get_memory(self.ctx)
        self.n_vocab = lc.llama_vocab_n_tokens(lc.llama_model_get_vocab(self.model))
        self.evaluated = 0  # tokens computed so far (prefill and decode), what prefix reuse saves

    def forget(self, keep: int) -> None:
        """Drop every row sequence and sequence 0 past its first ``keep`` tokens."""
        for s in range(1, self.seqs):
            self.lc.llama_memory_seq_rm(self.mem, s, -1, -1)
        self.lc.llama_memory_seq_rm(self.mem, 0, keep, -1)

    def copy(self, src: int, dst: int, upto: int) -> None:
        if upto:
            self.lc.llama_memory_seq_cp(self.mem, src, dst, 0, upto)

    def feed(self, parts: list[tuple[int, list[int], int, bool]]) -> dict[int, int]:
        """Evaluate ``(seq, tokens, first position, want logits)`` parts, packed into batches of
        at most ``N_BATCH`` tokens; the argmax after the last token of each part that wants one."""
        picks: dict[int, int] = {}
        pending: list[tuple[int, int]] = []  # (index in the batch, seq) whose logits are wanted
        b = self.batch
        b.n_tokens = 0
        for seq, toks, pos, want in parts:
            for j, tok in enumerate(toks):
                if b.n_tokens == N_BATCH:
                    self._decode(pending, picks)
                    pending = []
                i = b.n_tokens
                b.token[i], b.pos[i], b.n_seq_id[i], b.seq_id[i][0] = tok, pos + j, 1, seq
                last = want and j == len(toks) - 1
                b.logits[i] = last
                if last:
                    pending.append((i, seq))
                b.n_tokens += 1
        if b.n_tokens:
            self._decode(pending, picks)
        return picks

    def _decode(self, pending: list[tuple[int, int]], picks: dict[int, int]) -> None:
        rc = self.lc.llama_decode(self.ctx, self.batch)
        self.evaluated += self.batch.n_tokens
        if rc != 0:
            raise RuntimeError(f"llama_decode failed with code {rc} (KV cache full?); use --engine hf")
        for i, seq in pending:
            logits = np.ctypeslib.as_array(self.lc.llama_get_logits_ith(self.ctx, i), shape=(self.n_vocab,))
            picks[seq] = int(logits.argmax())
        self.batch.n_tokens = 0


def _release(lc: Any, owned: dict[str, Any]) -> None:
    """Free what an engine's native state holds, the context before the model it was made from."""
    if "batch" in owned:
        lc.llama_batch_free(owned["batch"])
    if owned.get("ctx"):
        lc.llama_free(owned["ctx"])
    if owned.get("lora"):
        lc.llama_adapter_lora_free(owned["lora"])
    if owned.get("model"):
        lc.llama_model_free(owned["model"])


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()
