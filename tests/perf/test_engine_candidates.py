"""bench/engine_candidates.py's pure parts: which engines a run measures, and the token timing."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import engine_candidates  # noqa: E402


def test_candidates_measure_ours_then_each_converted_folder() -> None:
    gguf = "/c/SmolLM2-135M-Instruct.Q4_1-98362432-q8_0.gguf"
    args = argparse.Namespace(
        ct2="/m/ct2-float32,/m/ct2-int8", ortgenai="/m/ortg-int4", openvino=f"/m/ov/fp32,{gguf}"
    )
    labels = [label for label, _ in engine_candidates.candidates(args)]
    assert labels == ["hf float32", "llamacpp F32", "llamacpp Q8_0", "ctranslate2 ct2-float32",
                      "ctranslate2 ct2-int8", "onnxruntime-genai ortg-int4", "openvino-genai fp32",
                      "openvino-genai q8_0 gguf"]  # fmt: skip
    none = argparse.Namespace(ct2=None, ortgenai="", openvino=None)
    assert len(engine_candidates.candidates(none)) == 3


def test_timed_tokens_counts_the_first_token_apart() -> None:
    def stream():
        time.sleep(0.05)  # the prompt's prefill
        yield from range(4)

    ttft, n, total = engine_candidates.timed_tokens(stream())
    assert n == 4 and ttft >= 0.05 and total >= ttft
