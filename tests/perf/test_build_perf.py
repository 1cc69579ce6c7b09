"""bench/build_perf.py: the arms compared with stock (or with llama.cpp's own GEMM), and its
decode-step timing on a real tiny engine."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import build_perf  # noqa: E402

from tests.compare.engines.gguf_tiny import needs_llamacpp, write_tiny_gguf  # noqa: E402


def _run(seconds: float, texts: list[str], build: str = "0.3.36+ftrag.2") -> dict:
    return {"seconds": seconds, "texts": texts, "build": build}


@pytest.mark.parametrize(
    "seen, ref, ratios, same",
    [
        (  # stock measured: every arm against its fastest pass
            {"stock": [_run(10.0, ["a", "b"], "0.3.36"), _run(12.0, ["a", "b"], "0.3.36")],
             "own GEMM": [_run(9.0, ["a", "b"])], "ours": [_run(8.5, ["a", "c"]), _run(8.0, ["a", "c"])]},
            "ratio_to_stock", {"stock": 1.0, "own GEMM": 0.9, "ours": 0.8},
            {"stock": 2, "own GEMM": 2, "ours": 1},
        ),
        (  # no stock build: own GEMM is the reference
            {"own GEMM": [_run(4.0, ["x"])], "ours": [_run(3.0, ["x"])]},
            "ratio_to_own_GEMM", {"own GEMM": 1.0, "ours": 0.75}, {"own GEMM": 1, "ours": 1},
        ),
    ],
)  # fmt: skip
def test_arms_are_compared_at_their_fastest_pass(seen: dict, ref: str, ratios: dict, same: dict) -> None:
    out = build_perf.compare_arms(seen)
    assert {arm: row[ref] for arm, row in out.items()} == ratios
    assert {arm: row["same_answers"] for arm, row in out.items()} == same
    assert out["ours"]["seconds"] == [round(r["seconds"], 1) for r in seen["ours"]]


@needs_llamacpp
def test_decode_steps_times_every_row_count_on_a_real_engine(
    tiny_model_dir: Path, tiny_tokenizer, tmp_path: Path
) -> None:
    gguf = write_tiny_gguf(tiny_model_dir, tiny_tokenizer, tmp_path / "tiny.gguf")
    ms = build_perf.decode_steps(str(gguf), [1, 3, 2], reps=2)
    assert list(ms) == ["1", "3", "2"]
    assert all(v > 0 for v in ms.values())
