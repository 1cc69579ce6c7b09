"""The GGUF LoRA export's bad input: an adapter trained on another base model is refused in one line
before anything is written, and a failed write leaves no file behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corpus.errors import UserError
from finetune import gguf_export
from finetune.gguf_export import base_mismatch, export_lora
from tests.compare.engines.gguf_tiny import random_lora, write_tiny_gguf
from tests.conftest import write_tiny_llama

SHAPES = {"blk.0.attn_q.weight": (32, 32), "blk.0.ffn_down.weight": (64, 32)}


@pytest.mark.parametrize(
    "tensors, expected",
    [
        ({"blk.0.attn_q.weight.lora_a": (4, 32), "blk.0.attn_q.weight.lora_b": (32, 4)}, None),
        ({"blk.0.ffn_down.weight.lora_a": (4, 64), "blk.0.ffn_down.weight.lora_b": (32, 4)}, None),
        ({"blk.0.attn_q.weight.lora_a": (4, 48)}, "its blk.0.attn_q.weight has 48 inputs, the model's 32"),
        (
            {"blk.0.ffn_down.weight.lora_b": (48, 4)},
            "its blk.0.ffn_down.weight has 48 outputs, the model's 32",
        ),
        (
            {"blk.7.attn_q.weight.lora_a": (4, 32)},
            "it changes blk.7.attn_q.weight, which the model does not have",
        ),
    ],
)
def test_base_mismatch(tensors: dict[str, tuple[int, int]], expected: str | None) -> None:
    arrays = {name: np.zeros(shape, dtype=np.float32) for name, shape in tensors.items()}
    assert base_mismatch(arrays, SHAPES) == expected


def test_an_adapter_of_another_base_model_is_refused_and_nothing_is_written(
    tiny_model_dir: Path, tiny_tokenizer, tmp_path: Path
) -> None:
    gguf = write_tiny_gguf(tiny_model_dir, tiny_tokenizer, tmp_path / "tiny.gguf")
    adapter = random_lora(
        write_tiny_llama(tmp_path / "wider-llama", tiny_tokenizer, 48), tmp_path / "adapter"
    )
    out = tmp_path / "served" / "lora.gguf"
    want = r"trained on .*wider-llama, not on tiny.gguf \(its .* has 48 inputs, the model's 32\).*--engine hf"
    with pytest.raises(UserError, match=want):
        export_lora(adapter, gguf, out)
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_a_failed_write_leaves_no_file(
    tiny_model_dir: Path, tiny_tokenizer, tmp_path: Path, monkeypatch
) -> None:
    gguf = write_tiny_gguf(tiny_model_dir, tiny_tokenizer, tmp_path / "tiny.gguf")
    adapter = random_lora(tiny_model_dir, tmp_path / "adapter")
    out = tmp_path / "served" / "lora.gguf"

    def half_written(path: Path, *args) -> None:
        path.write_bytes(b"GGUF")  # the header's first bytes, then the disk fills
        raise OSError("No space left on device")

    monkeypatch.setattr(gguf_export, "_write", half_written)
    with pytest.raises(OSError, match="No space left"):
        export_lora(adapter, gguf, out)
    assert list(out.parent.iterdir()) == []
    monkeypatch.undo()
    assert export_lora(adapter, gguf, out).is_file()  # the same call succeeds once the disk has room
