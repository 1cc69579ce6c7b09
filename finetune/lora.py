"""The LoRA side of training: which method a device gets, the adapters put on a model, a saved
adapter's weights loaded into them, the attention kernel, and the 4-bit base model QLoRA trains."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from corpus.errors import UserError
from finetune.config import TrainConfig
from finetune.models import resolve_model


def resolve_method(method: str, device: str) -> str:
    """``auto``: QLoRA on CUDA, LoRA on CPU (4-bit kernels on CPU train about 15x slower)."""
    if method == "auto":
        return "qlora" if device.startswith("cuda") else "lora"
    return method


def apply_lora(model: Any, cfg: TrainConfig) -> Any:
    """Wrap ``model`` with LoRA adapters on ``cfg.targets``; unknown names are a clear error."""
    from peft import LoraConfig, get_peft_model

    linear = sorted(
        {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    )
    missing = [t for t in cfg.targets if t not in linear]
    if missing:
        raise UserError(
            f"`target_modules` {missing} not in the model; its linear modules are: {', '.join(linear)}"
        )
    lora = LoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=cfg.targets,
                      task_type="CAUSAL_LM", bias="none")  # fmt: skip
    return get_peft_model(model, lora)


def set_attention(model: Any, attention: str) -> str:
    """Switch the model's attention kernel for training (``auto`` keeps the one it was loaded
    with); returns the one in use."""
    if attention != "auto":
        if hasattr(model, "set_attn_implementation"):
            model.set_attn_implementation(attention)
        elif hasattr(model, "config"):
            model.config._attn_implementation = attention
    return str(getattr(getattr(model, "config", None), "_attn_implementation", attention))


def load_adapter_weights(model: Any, folder: Path) -> None:
    """Copy a saved adapter's weights into ``model``'s LoRA modules (same rank and targets)."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    path = folder / "adapter_model.safetensors"
    if not path.is_file():
        raise FileNotFoundError(f"no adapter weights at {path}; train the adapter first")
    result = set_peft_model_state_dict(model, load_file(str(path)))
    missing = [k for k in result.missing_keys if "lora_" in k]
    if missing:
        raise UserError(f"adapter at {folder} does not match this LoRA config (missing {missing[0]})")


def load_qlora(name: str, device: str, trust_remote_code: bool = False) -> tuple[Any, Any]:
    """The base model in 4-bit NF4 with double quantisation and bf16 compute (bitsandbytes)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    folder = resolve_model(name)
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=torch.bfloat16)  # fmt: skip
    try:
        model = AutoModelForCausalLM.from_pretrained(
            folder, quantization_config=quant, device_map={"": device}, trust_remote_code=trust_remote_code
        )
    except Exception as exc:
        raise UserError(f"QLoRA could not load the model on {device} ({exc}); use --method lora") from None
    from peft import prepare_model_for_kbit_training

    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=False), tokenizer
