"""Shared helpers of the reliability suite: a tiny model folder built once, snapshots of output
paths, and ``ftrag`` run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, tiny_tokenizer) -> Path:
    """The random tiny Llama of tests/conftest.py, saved once for the whole suite."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tiny_tokenizer), hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)  # fmt: skip
    folder = tmp_path_factory.mktemp("reliability") / "tiny-llama"
    LlamaForCausalLM(cfg).save_pretrained(folder, safe_serialization=True)
    tiny_tokenizer.save_pretrained(folder)
    return folder


def snapshot(path: Path) -> dict[str, bytes] | None:
    """Every file under ``path`` (or the file itself) with its bytes; None when absent."""
    if not path.exists():
        return None
    if path.is_file():
        return {"": path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def ftrag_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("FTRAG_DEBUG", None)
    return env


def ftrag_process(*argv: object, **kwargs) -> subprocess.Popen:
    """``python -m compare.cli ARGV`` as a child process (the installed ``ftrag`` entry point)."""
    cmd = [sys.executable, "-m", "compare.cli", *map(str, argv)]
    return subprocess.Popen(cmd, cwd=REPO, env=ftrag_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)  # fmt: skip


@pytest.fixture
def helpers():
    """The helpers above, for test modules (importlib mode: a conftest is not importable)."""
    import types

    return types.SimpleNamespace(
        snapshot=snapshot, ftrag_process=ftrag_process, ftrag_env=ftrag_env, repo=REPO
    )
