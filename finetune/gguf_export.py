"""GGUF files for serving engines that read them: a peft LoRA adapter folder as a llama.cpp LoRA
adapter, applied at load as ``llama-server --lora`` does, and a model rewritten at another weight
type (the float32 weights the reference engine computes with).

Our own small writer rather than llama.cpp's ``convert_lora_to_gguf.py`` (which needs the llama.cpp
source tree): each ``lora_A``/``lora_B`` pair is written under the base tensor's GGUF name
(``blk.3.attn_q.weight.lora_a``), with the adapter's alpha, so llama.cpp computes the same
``alpha / r`` scale peft does. Llama-family GGUF files store the query and key projections with
their rows permuted (llama.cpp's rotary layout differs from Hugging Face's), so ``lora_B`` of those
two is permuted the same way: ``B @ A`` then lands on the rows the stored weight has.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from corpus.errors import UserError
from finetune.gguf_header import read_header

log = logging.getLogger(__name__)

# Architectures whose GGUF conversion permutes q/k rows (llama.cpp's convert_hf_to_gguf LlamaModel).
PERMUTED = {"llama"}
# Architectures this writer has names for (gguf's tensor name map); others fail with a clear error.
SUPPORTED = {"llama", "gemma3", "qwen2", "qwen3", "mistral"}
_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>[AB])\.weight$")


class AdapterExportError(UserError):
    """An adapter that cannot be written as a GGUF LoRA (the message says why and what to do)."""


def gguf_facts(model_gguf: str | Path) -> dict[str, Any]:
    """Architecture, layer and head counts of a GGUF model file (what the adapter must match)."""
    header = read_header(model_gguf)

    def need(key: str) -> Any:
        if key not in header.fields:
            raise AdapterExportError(f"{model_gguf}: no {key} in the GGUF header")
        return header.fields[key]

    arch = str(need("general.architecture"))

    def num(key: str) -> int:
        return int(need(f"{arch}.{key}"))

    return {"arch": arch, "layers": num("block_count"), "heads": num("attention.head_count"),
            "kv_heads": num("attention.head_count_kv"), "shapes": dict(header.shapes)}  # fmt: skip


def base_mismatch(tensors: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]]) -> str | None:
    """Why these GGUF LoRA tensors do not fit the model whose tensor shapes (GGUF order: inputs
    first) are ``shapes``, as when the adapter was trained on another base model; None: they fit."""
    for name, value in sorted(tensors.items()):
        base, ab = name.rsplit(".lora_", 1)
        shape = shapes.get(base)
        if shape is None:
            return f"it changes {base}, which the model does not have"
        # lora_a (rank x inputs) meets the weight's inputs, lora_b (outputs x rank) its outputs
        mine, theirs, side = (1, 0, "inputs") if ab == "a" else (0, 1, "outputs")
        if value.shape[mine] != shape[theirs]:
            return f"its {base} has {value.shape[mine]} {side}, the model's {shape[theirs]}"
    return None


def permute_rows(b: np.ndarray, heads: int) -> np.ndarray:
    """Rows of ``b`` in llama.cpp's rotary layout: each head's two halves interleaved."""
    out = b.shape[0]
    return b.reshape(heads, 2, out // heads // 2, *b.shape[1:]).swapaxes(1, 2).reshape(b.shape)


def lora_tensors(adapter: dict[str, np.ndarray], facts: dict) -> dict[str, np.ndarray]:
    """GGUF tensor name -> array for every LoRA pair of a peft state dict."""
    import gguf

    arch = gguf.MODEL_ARCH[facts["arch"].upper()]
    names = gguf.get_tensor_name_map(arch, int(facts["layers"]))
    out: dict[str, np.ndarray] = {}
    for key, value in adapter.items():
        m = _KEY.match(key)
        if not m:
            raise AdapterExportError(
                f"adapter tensor {key!r} is not a LoRA A/B weight; only plain LoRA exports"
            )
        target = names.get_name(m["module"])
        if target is None:
            raise AdapterExportError(f"adapter module {m['module']!r} has no GGUF name for {facts['arch']}")
        if m["ab"] == "B" and facts["arch"] in PERMUTED and target.endswith(("attn_q", "attn_k")):
            heads = facts["heads"] if target.endswith("attn_q") else facts["kv_heads"]
            value = permute_rows(value, int(heads))
        out[f"{target}.weight.lora_{m['ab'].lower()}"] = np.ascontiguousarray(value, dtype=np.float32)
    return out


def export_lora(adapter_dir: str | Path, model_gguf: str | Path, out: str | Path) -> Path:
    """Write ``adapter_dir`` (a peft LoRA folder) as a GGUF LoRA for ``model_gguf`` at ``out``.

    Written to a temporary file and renamed, so a failed export leaves nothing half-written.
    """
    from safetensors.numpy import load_file

    adapter_dir, out = Path(adapter_dir), Path(out)
    cfg = json.loads((adapter_dir / "adapter_config.json").read_text())
    if cfg.get("peft_type") != "LORA" or cfg.get("use_dora") or cfg.get("use_rslora"):
        raise AdapterExportError(f"{adapter_dir}: only plain LoRA adapters export to GGUF (no DoRA, rsLoRA)")
    facts = gguf_facts(model_gguf)
    if facts["arch"] not in SUPPORTED:
        raise AdapterExportError(
            f"adapters for {facts['arch']} models cannot be exported to GGUF yet; use --engine hf"
        )
    tensors = lora_tensors(load_file(str(adapter_dir / "adapter_model.safetensors")), facts)
    why = base_mismatch(tensors, facts["shapes"])
    if why:
        base = cfg.get("base_model_name_or_path") or "another model"
        raise AdapterExportError(
            f"{adapter_dir}: this adapter was trained on {base}, not on {Path(model_gguf).name} ({why}); "
            "serve it with its own base model, or pass --engine hf"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".gguf.tmp")
    os.close(fd)
    try:
        _write(Path(tmp), str(facts["arch"]), float(cfg["lora_alpha"]), tensors)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    log.debug("exported %s as a GGUF LoRA (%d tensors) to %s", adapter_dir, len(tensors), out)
    return out


def _write(path: Path, arch: str, alpha: float, tensors: dict[str, np.ndarray]) -> None:
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_string(gguf.Keys.General.TYPE, gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    for name, value in sorted(tensors.items()):
        writer.add_tensor(name, value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


# GGUF file types a model can be rewritten as here; other types come from llama.cpp's quantizer.
RETYPES = {"f32": "ALL_F32", "bf16": "MOSTLY_BF16"}


def retype_gguf(src: str | Path, out: str | Path, precision: str) -> Path:
    """``src`` with every weight dequantised and stored as ``precision`` (f32 or bf16): the
    weights the reference engine computes with (it dequantises the GGUF to float32 on load)."""
    import gguf
    from gguf import quants

    if precision not in RETYPES:
        raise AdapterExportError(f"`precision` must be one of {', '.join(RETYPES)} to rewrite a GGUF")
    reader = gguf.GGUFReader(str(src))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".gguf.tmp")
    os.close(fd)
    try:
        writer = gguf.GGUFWriter(tmp, str(reader.fields["general.architecture"].contents()))
        for f in reader.fields.values():
            if f.name.startswith("GGUF.") or f.name in ("general.architecture", "general.file_type"):
                continue
            array = f.types[0] == gguf.GGUFValueType.ARRAY
            writer.add_key_value(f.name, f.contents(), f.types[0], sub_type=f.types[-1] if array else None)
        writer.add_file_type(gguf.LlamaFileType[RETYPES[precision]])
        bf16 = gguf.GGMLQuantizationType.BF16
        for t in reader.tensors:
            a = quants.dequantize(t.data, t.tensor_type).astype(np.float32)
            if precision == "bf16" and a.ndim == 2:  # norms stay float32, as llama.cpp writes them
                raw = quants.quant_shape_to_byte_shape(a.shape, bf16)
                writer.add_tensor(t.name, quants.quantize(a, bf16), raw_shape=raw, raw_dtype=bf16)
            else:
                writer.add_tensor(t.name, a)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out
