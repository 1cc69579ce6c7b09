"""Generation engines behind one interface, chosen by name (``engine.name``) or for the device
(``auto``): ``hf`` (transformers ``generate``, the reference) and ``llamacpp`` (the model's GGUF
served by llama.cpp, adapters as GGUF LoRAs), the engine a team would deploy on CPU.

Every engine answers ``generate(prompts, progress)``, ``batch(prompts)``, ``single(prompt)`` and
``count_tokens(prompt)`` with :class:`compare.harness.records.Generation` records, and honours
``max_new_tokens`` and ``stops``. ``use(res, spec)`` yields an engine with the spec's adapter in
effect. Add one with :func:`register_engine`.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from compare.engines.llamacpp import PLAN as LLAMACPP_PLAN
from compare.engines.llamacpp import PRECISIONS, LlamaCppEngine, file_precision, missing, serving_file
from compare.engines.vllm_engine import VllmEngine, load
from corpus.errors import UserError
from finetune.gguf_export import export_lora
from finetune.models import gguf_file, resolve_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineConfig:
    """Which engine generates every answer, and its CPU threads."""

    name: str = field(default="auto", metadata={"help": "auto | hf | llamacpp | vllm"})
    # f32: the weights the hf engine computes with (it dequantises the GGUF), so both engines' answers
    # agree; shipped: the model file as it comes (the bundled models' Q4_1); q8_0 / q4_0 quantised
    # from f32 (compare.engines.llamacpp.PRECISIONS).
    precision: str = field(
        default="f32", metadata={"help": "llamacpp weights: f32 | shipped | bf16 | q8_0 | q4_0"}
    )
    threads: int = field(default=0, metadata={"help": "CPU threads of the llamacpp engine (0 = torch's)"})

    def __post_init__(self) -> None:
        if self.name != "auto" and self.name not in ENGINES:
            raise UserError(f"`name` must be auto or one of {', '.join(ENGINES)}, got {self.name!r}")

        if self.precision not in PRECISIONS:
            raise UserError(f"`precision` must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.threads < 0:
            raise UserError(f"`threads` must be >= 0, got {self.threads!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EngineKind:
    """A registered engine: where it runs, why it cannot (None: it can), and how to use it."""

    name: str
    devices: tuple[str, ...]
    missing: Callable[[str | None], str | None]  # given the model's GGUF file (or None)
    use: Callable[[Any, Any], contextlib.AbstractContextManager]  # (resources, spec) -> engine
    precision: Callable[[Any], str]  # resources -> "float32", "Q4_1"
    # auto tries engines in this order (lower first) among those that can run here
    rank: int = 100
    # how its batches are planned (compare.harness.prompting.plan_batches), by every executor alike
    plan: str = "length"
    # the distribution whose build computes the answers, recorded with every run (its version is
    # part of the answers' cache key: another build of the same engine may answer differently)
    package: str = ""


ENGINES: dict[str, EngineKind] = {}


def register_engine(kind: EngineKind) -> None:
    ENGINES[kind.name] = kind


def resolve_engine(cfg: EngineConfig, device: str, model_gguf: str | None) -> tuple[str, str]:
    """The engine to use and why: the named one (a ValueError saying what is missing when it
    cannot run), or under ``auto`` the best-ranked one that can run on ``device``."""
    if cfg.name != "auto":
        why = ENGINES[cfg.name].missing(model_gguf)
        if why:
            raise UserError(f"engine {cfg.name!r} cannot run: {why}")
        return cfg.name, "asked for"
    skipped = []
    for kind in sorted(ENGINES.values(), key=lambda k: k.rank):
        if device not in kind.devices:
            continue
        why = kind.missing(model_gguf)
        if why is None:
            note = f" ({'; '.join(skipped)})" if skipped else ""
            return kind.name, f"auto on {device}{note}"
        skipped.append(f"{kind.name}: {why}")
    raise UserError(f"no generation engine can run on {device}: {'; '.join(skipped)}")


# --- hf: transformers generate on the shared (peft) model --------------------------------------


@contextlib.contextmanager
def _hf_use(res: Any, spec: Any) -> Iterator[Any]:
    from compare.engines.hf import Engine

    engine = res.cached_engine(spec, lambda: Engine(res.model, res.tokenizer, res.max_new_tokens,
                                                    batch_size=res.batch_size))  # fmt: skip
    if spec.adapter:
        res.model.set_adapter(spec.adapter)
        yield engine
    elif hasattr(res.model, "disable_adapter"):
        with res.model.disable_adapter():
            yield engine
    else:
        yield engine


def _hf_precision(res: Any) -> str:
    return str(next(res.model.parameters()).dtype).removeprefix("torch.")


register_engine(
    EngineKind(
        "hf",
        ("cpu", "cuda", "mps"),
        lambda gguf: None,
        _hf_use,
        _hf_precision,
        rank=50,
        package="transformers",
    )
)


# --- llamacpp: the GGUF file, adapters exported to GGUF LoRAs ----------------------------------


def _llamacpp_missing(model_gguf: str | None) -> str | None:
    if model_gguf is None:
        return "it serves GGUF model files; this model has none (registered models have one)"
    return missing()


def lora_for(adapter_dir: str | Path, model_gguf: str | Path) -> Path:
    """The adapter as a GGUF LoRA beside its folder, exported once (again when the adapter changes)."""
    src = Path(adapter_dir)
    out = src / "llamacpp-lora.gguf"
    weights = src / "adapter_model.safetensors"
    if not out.exists() or out.stat().st_mtime < weights.stat().st_mtime:
        export_lora(src, model_gguf, out)
    return out


@contextlib.contextmanager
def _llamacpp_use(res: Any, spec: Any) -> Iterator[Any]:
    def make() -> Any:
        lora = lora_for(res.adapter_paths[spec.adapter], res.model_gguf) if spec.adapter else None
        return LlamaCppEngine(res.model_gguf, res.tokenizer, lora, res.max_new_tokens,
                              batch_size=res.batch_size, threads=res.engine_threads)  # fmt: skip

    yield res.cached_engine(spec, make)


def _llamacpp_precision(res: Any) -> str:
    return file_precision(res.model_gguf)


register_engine(
    EngineKind(
        "llamacpp",
        ("cpu",),
        _llamacpp_missing,
        _llamacpp_use,
        _llamacpp_precision,
        rank=10,
        plan=LLAMACPP_PLAN,
        package="llama-cpp-python",
    )
)


# --- vllm: CUDA, one instance, adapters as multi-LoRA requests -----------------------------------


def _vllm_missing(model_gguf: str | None) -> str | None:
    from compare.engines.vllm_engine import missing

    return missing()


@contextlib.contextmanager
def _vllm_use(res: Any, spec: Any) -> Iterator[Any]:
    import json

    def make() -> Any:
        if "vllm" not in res.engine_state:
            ranks = [
                json.loads((Path(p) / "adapter_config.json").read_text())["r"]
                for p in res.adapter_paths.values()
            ]
            folder = str(resolve_model(res.model_ref.name if res.model_ref else ""))
            res.engine_state["vllm"] = load(folder, max([16, *ranks]))
        names = sorted(res.adapter_paths)
        lora = (
            (spec.adapter, names.index(spec.adapter) + 1, res.adapter_paths[spec.adapter])
            if spec.adapter
            else None
        )
        return VllmEngine(
            res.engine_state["vllm"], res.tokenizer, lora, res.max_new_tokens, batch_size=res.batch_size
        )

    yield res.cached_engine(spec, make)


register_engine(
    EngineKind("vllm", ("cuda",), _vllm_missing, _vllm_use, lambda res: "bfloat16", rank=5, package="vllm")
)


def describe(res: Any) -> dict[str, Any]:
    """The engine every latency, throughput and cost figure of a run was measured with, and its
    build ("llama-cpp-python 0.3.36+ftrag.2": `make setup` builds it with our patches)."""
    kind = ENGINES[res.engine_name]
    return {"name": res.engine_name, "precision": kind.precision(res), "why": res.engine_why,
            "build": package_build(kind.package)}  # fmt: skip


def package_build(package: str) -> str:
    """``"name version"`` of an installed distribution ("" when none is named or installed)."""
    if not package:
        return ""
    try:
        return f"{package} {importlib.metadata.version(package)}"
    except importlib.metadata.PackageNotFoundError:
        return ""


def engine_items(args: Any) -> list[str]:
    """``--engine`` as an override of the engine section."""
    name = getattr(args, "engine", None)
    return [f"engine.name={name}"] if name else []


def add_engine_args(p: Any) -> None:
    """The engine flag of a command that generates (bench)."""
    p.add_argument("--engine", help="generation engine: auto (default) | " + " | ".join(ENGINES))


def attach_engine(res: Any, cfg: EngineConfig, device: str, model_name: str) -> None:
    """Resolve the engine for ``device`` and the model, and set it on the resources ``res``."""
    gguf = gguf_file(model_name)
    res.engine_name, res.engine_why = resolve_engine(cfg, device, str(gguf) if gguf else None)
    res.model_gguf = (
        str(serving_file(gguf, cfg.precision)) if gguf and res.engine_name == "llamacpp" else None
    )
    res.engine_threads = cfg.threads
    if res.model_ref is not None:  # what executor workers load: they answer with the same engine
        res.model_ref = replace(res.model_ref, engine=res.engine_name, precision=cfg.precision)
    res._engines.clear()
    log.debug("generation engine: %s (%s)", res.engine_name, res.engine_why)
