"""Shared fixtures: a 5-document corpus and a CLI runner."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def _hermetic_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Embedding and ONNX caches live in the test session's temp folder, never in ~/.cache."""
    import os

    os.environ["FTRAG_CACHE"] = str(tmp_path_factory.getbasetemp() / "ftrag-cache")


@pytest.fixture(autouse=True)
def _restore_torch_threads() -> Iterator[None]:
    """A test that sets torch's thread count (a config's ``threads``) leaves it as it was: oneDNN
    sums in an order that depends on it, so a later in-process run would differ in the last bits
    from a subprocess that kept the default."""
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    yield
    if torch is not None and before is not None and torch.get_num_threads() != before:
        torch.set_num_threads(before)


@pytest.fixture
def mini_dir(tmp_path: Path) -> Path:
    """A writable copy of the 5-document dataset folder (md, md with front matter, html, txt)."""
    dst = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", dst)
    return dst


@pytest.fixture
def own_corpus(tmp_path: Path) -> tuple[Path, Path]:
    """A writable copy of a docs folder and the questions a team writes (no train split, no splits,
    no fact ids, no updates, no house style): ``(docs folder, qa.jsonl)``."""
    dst = tmp_path / "own"
    shutil.copytree(FIXTURES / "own", dst)
    return dst / "docs", dst / "qa.jsonl"


# What the own-corpus benches set: a tiny model, and generated data from the rules alone (a random
# tiny model confirms nothing in the round trip) plus its own answers as the distillation recipe.
OWN_CORPUS_SETS = ("train.r=2", "train.alpha=4", "train.epochs=2", "train.batch_size=2", "train.device=cpu",
                   "train.target_modules=q_proj,v_proj", "bench.latency_samples=1", "bench.max_new_tokens=4",
                   "trainset.round_trip=off", "trainset.model_questions=off")  # fmt: skip


@pytest.fixture
def own_bench_args(own_corpus: tuple[Path, Path], tiny_model_dir: Path) -> Callable[..., list]:
    """``ftrag bench`` arguments for the own corpus with the tiny model, runs under ``runs``."""

    def args(runs: Path, *extra: str) -> list:
        sets = [x for s in (*OWN_CORPUS_SETS, f"train.model={tiny_model_dir}") for x in ("--set", s)]
        return ["bench", "--docs", own_corpus[0], "--qa", own_corpus[1], "--runs", runs, *sets, *extra]

    return args


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``ftrag`` in-process; returns (exit code, stdout, stderr)."""
    from compare.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse usage errors
            rc = int(exc.code or 0)
        out = capsys.readouterr()
        return rc, out.out, out.err

    return run


class KeywordEmbedder:
    """One-hot keyword embedder: a text's vector counts the keywords it contains, so cosine
    similarities, rankings and therefore retrieval metrics are known exactly."""

    name = "keywords"
    max_tokens = 64

    def __init__(self, keywords: list[str]):
        import numpy as np

        self.np = np
        self.keywords = [k.lower() for k in keywords]
        self.dim = len(self.keywords) + 1  # last dimension: "no keyword", keeps vectors non-zero
        self.stats = {"encoded": 0, "cached": 0, "seconds": 0.0}

    def _one(self, text: str):
        import re

        words = re.findall(r"[a-z0-9]+", text.lower())
        v = self.np.array([words.count(k) for k in self.keywords] + [0.0], dtype=self.np.float32)
        if not v.any():
            v[-1] = 1.0
        return v / self.np.linalg.norm(v)

    def encode(self, texts, progress: bool = False):
        self.stats["encoded"] += len(texts)
        return (
            self.np.stack([self._one(t) for t in texts]) if texts else self.np.zeros((0, self.dim), "float32")
        )

    def encode_query(self, text: str):
        return self.np.stack([self._one(text)])

    def n_tokens(self, text: str) -> int:
        return len(text.split())


KEYWORDS = ["memory", "timeout", "license", "progress", "support", "widgetron", "retries", "scheduler"]


@pytest.fixture
def keyword_embedder() -> KeywordEmbedder:
    return KeywordEmbedder(KEYWORDS)


@pytest.fixture
def make_keyword_embedder():
    return KeywordEmbedder


TINY_WORDS = (
    "user assistant system what is the how long does battery of brisil 40 pro last 94 hours - "
    "tessaline care i don ' t know question answer : ? . , who designed it a b c [ 1 ]"
)
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """A word-level tokenizer built offline, with a ChatML template like SmolLM2's."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>", "\n", *TINY_WORDS.split()]
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split("\n", "isolated"),
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Punctuation(),
        ]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<|im_end|>", bos_token=None
    )
    fast.add_special_tokens({"additional_special_tokens": ["<|im_start|>"]})
    fast.chat_template = CHAT_TEMPLATE
    return fast


@pytest.fixture
def tiny_model_dir(tmp_path: Path, tiny_tokenizer) -> Path:
    """A local Hugging Face folder (config, safetensors, tokenizer) holding a random tiny Llama."""
    return write_tiny_llama(tmp_path / "tiny-llama", tiny_tokenizer)


def write_tiny_llama(folder: Path, tokenizer, hidden_size: int = 32) -> Path:
    """A random tiny Llama (2 layers, 4 heads) saved with ``tokenizer`` in ``folder``; another
    ``hidden_size`` gives another base model of the same shape."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)  # fmt: skip
    LlamaForCausalLM(cfg).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
