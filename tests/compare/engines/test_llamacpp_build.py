"""The llama.cpp build `make setup` makes (patches/llama-cpp-python): its kernels agree with
llama.cpp's own, and batches of long rows answer as the reference engine does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from compare.engines.hf import Engine
from compare.engines.registry import package_build
from compare.harness.prompting import render_prompt
from tests.compare.engines.gguf_tiny import needs_llamacpp, tiny_model, write_tiny_gguf


def _our_kernels_built() -> bool:
    """Our build, compiled with AVX-512: where its float32 GEMMs exist (patches/README.md)."""
    if "+ftrag" not in package_build("llama-cpp-python"):
        return False
    import llama_cpp

    return b"AVX512 = 1" in llama_cpp.llama_print_system_info()


needs_patched = pytest.mark.skipif(
    not _our_kernels_built(),
    reason="the stock llama-cpp-python build, or ours without AVX-512 (make setup builds ours)",
)

# Logits of every position of one prompt, in a process of its own: our GEMMs are switched by an
# environment variable that llama.cpp reads once.
LOGITS = """
import sys
import numpy as np
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=512, n_batch=512, n_ubatch=512, n_threads=2, logits_all=True,
            verbose=False)
tokens = [int(t) for t in sys.argv[2].split(",")]
llm.eval(tokens)
np.save(sys.argv[3], np.asarray(llm.scores[: len(tokens)], dtype=np.float32))
"""

TEXT = (
    "The brisil 40 pro is a phone made by Tessaline. Its battery lasts two days, it weighs 180 grams "
    "and it was designed in Lyon by a team of twelve. It charges in forty minutes and ships with a case. "
)


def _logits(gguf: Path, tokens: list[int], out: Path, ours: str) -> np.ndarray:
    env = {**os.environ, "GGML_PACKED_F32_GEMM": ours}
    subprocess.run([sys.executable, "-c", LOGITS, str(gguf), ",".join(map(str, tokens)), str(out)],
                   check=True, env=env, timeout=120)  # fmt: skip
    return np.load(out)


@needs_patched
def test_the_packed_f32_gemm_agrees_with_llamacpp_own_kernels(
    tiny_model_dir: Path, tiny_tokenizer, tmp_path: Path
) -> None:
    gguf = write_tiny_gguf(tiny_model_dir, tiny_tokenizer, tmp_path / "tiny.gguf")
    tokens = tiny_tokenizer(TEXT * 5)["input_ids"][:200]
    assert len(tokens) >= 192  # a prompt batch: the packed kernel serves 192 tokens or more
    own = _logits(gguf, tokens, tmp_path / "own.npy", "0")
    packed = _logits(gguf, tokens, tmp_path / "packed.npy", "1")
    assert own.shape == packed.shape == (len(tokens), len(tiny_tokenizer))
    np.testing.assert_allclose(packed, own, rtol=1e-4, atol=1e-5)
    assert (packed.argmax(-1) == own.argmax(-1)).all()
    assert not np.array_equal(packed, own)  # the packed kernel ran: it sums in another order


@needs_patched
@pytest.mark.parametrize("n", [2, 5, 7, 100])
def test_the_small_batch_f32_gemm_sums_as_llamacpp_own_kernel(
    tiny_model_dir: Path, tiny_tokenizer, tmp_path: Path, n: int
) -> None:
    """Decode steps and batches under 192 tokens: our kernel sums each output in tinyBLAS's order,
    so every logit is the same bits (the tiny model's 32- and 16-row weights leave 2 and 4 rows
    past the last 6-row tile; 5 and 7 tokens leave 1 and 3 past the last 4-token tile). Equal bits
    cannot show which kernel ran: bench/build_perf.py's decode steps show that by their time."""
    gguf = write_tiny_gguf(tiny_model_dir, tiny_tokenizer, tmp_path / "tiny.gguf")
    tokens = tiny_tokenizer(TEXT * 5)["input_ids"][:n]
    own = _logits(gguf, tokens, tmp_path / "own.npy", "0")
    ours = _logits(gguf, tokens, tmp_path / "ours.npy", "1")
    assert own.shape == ours.shape == (n, len(tiny_tokenizer))
    assert np.array_equal(ours, own)


@needs_llamacpp
def test_a_batch_of_long_rows_answers_as_the_reference(
    tiny_model_dir: Path, tiny_tokenizer, tmp_path: Path
) -> None:
    """Rows of 64 tokens and more: their prefill runs the tiled flash attention, with the other
    rows' cells masked, and the packed GEMM; their decode skips the masked cells."""
    from compare.engines.llamacpp import LlamaCppEngine

    gguf = write_tiny_gguf(tiny_model_dir, tiny_tokenizer, tmp_path / "tiny.gguf")
    questions = ["how long does the battery last ?", "who designed it ?", "what is the weight of it ?"]
    prompts = [render_prompt(tiny_tokenizer, [{"role": "system", "content": TEXT[i * 40 :] + TEXT},
                                              {"role": "user", "content": q}])
               for i, q in enumerate(questions)]  # fmt: skip
    assert min(len(tiny_tokenizer(p)["input_ids"]) for p in prompts) >= 64
    ref = Engine(tiny_model(tiny_model_dir, tiny_tokenizer), tiny_tokenizer, max_new_tokens=8, stops=(),
                 batch_size=3).generate(prompts)  # fmt: skip
    fast = LlamaCppEngine(gguf, tiny_tokenizer, None, max_new_tokens=8, stops=(), batch_size=3, threads=2)
    assert [g.text for g in fast.generate(prompts)] == [g.text for g in ref]
