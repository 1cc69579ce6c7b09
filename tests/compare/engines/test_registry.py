"""The engine registry, and the llamacpp engine against the reference on a tiny Llama, with and
without a LoRA adapter exported to GGUF: same greedy answers, same token counts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from compare.engines.hf import Engine
from compare.engines.registry import ENGINES, EngineConfig, resolve_engine
from compare.harness.prompting import render_prompt
from tests.compare.engines.gguf_tiny import needs_llamacpp, random_lora, tiny_model, write_tiny_gguf

QUESTIONS = [
    "what is the battery ?",
    "how long does the battery of brisil 40 pro last ?",
    "who designed it ?",
    "what is the weight of it ?",
]


@pytest.mark.parametrize(
    "name, device, gguf, expected",
    [
        ("hf", "cpu", None, "hf"),
        ("auto", "cpu", None, "hf"),  # no GGUF file: only hf can serve a model folder
        ("auto", "cuda", "m.gguf", "hf"),  # llamacpp is registered for cpu only, vllm not installed
    ],
)
def test_resolve_engine(name: str, device: str, gguf: str | None, expected: str, monkeypatch) -> None:
    kind = ENGINES["vllm"]
    monkeypatch.setitem(ENGINES, "vllm", kind.__class__(**{**kind.__dict__, "missing": lambda g: "absent"}))
    assert resolve_engine(EngineConfig(name), device, gguf)[0] == expected


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")
def test_vllm_without_vllm_says_how_to_install_it() -> None:
    with pytest.raises(ValueError, match=r"engine 'vllm' cannot run: .*pip install vllm"):
        resolve_engine(EngineConfig("vllm"), "cuda", None)


def test_auto_prefers_llamacpp_on_cpu_when_it_can_run(monkeypatch) -> None:
    kind = ENGINES["llamacpp"]
    monkeypatch.setitem(ENGINES, "llamacpp", kind.__class__(**{**kind.__dict__, "missing": lambda g: None}))
    name, why = resolve_engine(EngineConfig("auto"), "cpu", "m.gguf")
    assert (name, why) == ("llamacpp", "auto on cpu")


def test_a_named_engine_that_cannot_run_says_what_is_missing() -> None:
    with pytest.raises(ValueError, match=r"engine 'llamacpp' cannot run: .*GGUF"):
        resolve_engine(EngineConfig("llamacpp"), "cpu", None)


@pytest.mark.parametrize("field, value, match", [("name", "vllmx", "`name` must be auto or one of hf"),
                                                 ("threads", -1, "`threads` must be >= 0")])  # fmt: skip
def test_engine_config_names_the_bad_field(field: str, value, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        EngineConfig(**{field: value})


def _prompts(tok) -> list[str]:
    return [render_prompt(tok, [{"role": "system", "content": "answer"}, {"role": "user", "content": q}])
            for q in QUESTIONS]  # fmt: skip


@needs_llamacpp
@pytest.mark.parametrize("with_adapter", [False, True])
def test_llamacpp_answers_equal_the_reference(tiny_model_dir: Path, tiny_tokenizer, tmp_path: Path,
                                              with_adapter: bool) -> None:  # fmt: skip
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from compare.engines.llamacpp import LlamaCppEngine, file_precision
    from compare.engines.registry import lora_for

    gguf = write_tiny_gguf(tiny_model_dir, tiny_tokenizer, tmp_path / "tiny.gguf")
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    model.generation_config.eos_token_id = tiny_tokenizer.eos_token_id
    lora = None
    if with_adapter:
        adapter = random_lora(tiny_model_dir, tmp_path / "adapter")
        model = PeftModel.from_pretrained(model, str(adapter)).eval()
        lora = lora_for(adapter, gguf)
    ref = Engine(model, tiny_tokenizer, max_new_tokens=6, stops=(), batch_size=2)
    fast = LlamaCppEngine(gguf, tiny_tokenizer, lora, max_new_tokens=6, stops=(), threads=1)
    prompts = _prompts(tiny_tokenizer)
    want, got = ref.generate(prompts), fast.generate(prompts)
    assert [g.text for g in got] == [g.text for g in want]
    assert [(g.prompt_tokens, g.output_tokens) for g in got] == [
        (g.prompt_tokens, g.output_tokens) for g in want
    ]
    assert fast.single(prompts[0]).text == want[0].text  # a request after others reuses no stale cache
    assert file_precision(gguf) == "F32"


@needs_llamacpp
def test_the_adapter_changes_llamacpp_answers(tiny_model_dir: Path, tiny_tokenizer, tmp_path: Path) -> None:
    from compare.engines.llamacpp import LlamaCppEngine
    from compare.engines.registry import lora_for

    gguf = write_tiny_gguf(tiny_model_dir, tiny_tokenizer, tmp_path / "tiny.gguf")
    lora = lora_for(random_lora(tiny_model_dir, tmp_path / "adapter"), gguf)
    prompts = _prompts(tiny_tokenizer)
    plain = LlamaCppEngine(gguf, tiny_tokenizer, None, max_new_tokens=6, stops=(), threads=1)
    tuned = LlamaCppEngine(gguf, tiny_tokenizer, lora, max_new_tokens=6, stops=(), threads=1)
    assert [g.text for g in plain.generate(prompts)] != [g.text for g in tuned.generate(prompts)]


@needs_llamacpp
def test_llamacpp_stop_strings_end_the_answer(tiny_model_dir: Path, tiny_tokenizer, tmp_path: Path) -> None:
    from compare.engines.llamacpp import LlamaCppEngine

    gguf = write_tiny_gguf(tiny_model_dir, tiny_tokenizer, tmp_path / "tiny.gguf")
    engine = LlamaCppEngine(gguf, tiny_tokenizer, None, max_new_tokens=6, stops=(), threads=1)
    prompt = _prompts(tiny_tokenizer)[0]
    free = engine.single(prompt)
    words = free.text.split()
    assert len(words) >= 2
    engine.stops = (words[1],)
    stopped = engine.single(prompt)
    assert words[1] not in stopped.text and stopped.output_tokens < free.output_tokens


@needs_llamacpp
def test_a_batch_over_the_split_size_runs_in_parts_with_the_same_answers(
    tiny_model_dir: Path, tiny_tokenizer, tmp_path: Path, monkeypatch
) -> None:
    from compare.engines import llamacpp
    from compare.engines.llamacpp import LlamaCppEngine

    gguf = write_tiny_gguf(tiny_model_dir, tiny_tokenizer, tmp_path / "tiny.gguf")
    prompts = _prompts(tiny_tokenizer)
    ref = Engine(tiny_model(tiny_model_dir, tiny_tokenizer), tiny_tokenizer, max_new_tokens=5, stops=(),
                 batch_size=4).generate(prompts)  # fmt: skip
    runs = {}
    for cells in (llamacpp.N_CTX, 1):
        monkeypatch.setattr(llamacpp, "SPLIT_CELLS", cells)
        fast = LlamaCppEngine(gguf, tiny_tokenizer, None, max_new_tokens=5, stops=(), batch_size=4, threads=1)
        sizes: list[int] = []
        run = fast._run
        fast._run = lambda rows, *a, sizes=sizes, run=run: sizes.append(len(rows)) or run(rows, *a)  # type: ignore[method-assign]
        assert [g.text for g in fast.generate(prompts)] == [g.text for g in ref]
        runs[cells] = sizes
    assert list(runs.values()) == [[4], [1, 1, 1, 1]]  # whole within the split size; halved while over it


@needs_llamacpp
def test_llamacpp_shares_a_long_prefix_and_keeps_it_for_later_requests(
    tiny_model_dir: Path, tiny_tokenizer, tmp_path: Path
) -> None:
    from compare.engines.llamacpp import LlamaCppEngine

    gguf = write_tiny_gguf(tiny_model_dir, tiny_tokenizer, tmp_path / "tiny.gguf")
    model = tiny_model(tiny_model_dir, tiny_tokenizer)
    system = " ".join(
        ["answer the question about the battery of the brisil 40 pro"] * 3
    )  # > MIN_SHARED tokens
    turns = [[{"role": "system", "content": system}, {"role": "user", "content": q}] for q in QUESTIONS]
    prompts = [render_prompt(tiny_tokenizer, t) for t in turns]
    ref = Engine(model, tiny_tokenizer, max_new_tokens=5, stops=(), batch_size=3).generate(prompts)
    fast = LlamaCppEngine(gguf, tiny_tokenizer, None, max_new_tokens=5, stops=(), batch_size=3, threads=1)
    batched = fast.generate(prompts)
    assert len(fast.cached) >= 16  # the batch's shared prefix stays in sequence 0
    singles = [fast.single(p) for p in prompts]  # each reuses the kept prefix
    assert [g.text for g in batched] == [g.text for g in ref] == [g.text for g in singles]


@needs_llamacpp
def test_llamacpp_rows_quoting_one_document_share_its_cells(
    tiny_model_dir: Path, tiny_tokenizer, tmp_path: Path, monkeypatch
) -> None:
    """RAG-shaped prompts, two documents each quoted by two questions: the second row of each
    document goes on from the first's cells (fewer tokens computed), with the answers unchanged."""
    from compare.engines import llamacpp
    from compare.engines.llamacpp import LlamaCppEngine

    gguf = write_tiny_gguf(tiny_model_dir, tiny_tokenizer, tmp_path / "tiny.gguf")
    docs = [" ".join(["the brisil 40 pro battery lasts two days"] * 3), " ".join(["it weighs 200 g"] * 5)]
    turns = [[{"role": "system", "content": "answer"}, {"role": "user", "content": f"{d}\n\nQuestion: {q}"}]
             for d in docs for q in QUESTIONS[:2]]  # fmt: skip
    prompts = [render_prompt(tiny_tokenizer, t) for t in turns]
    ref = Engine(tiny_model(tiny_model_dir, tiny_tokenizer), tiny_tokenizer, max_new_tokens=5, stops=(),
                 batch_size=4).generate(prompts)  # fmt: skip
    evaluated = {}
    for share in (False, True):
        if not share:  # every row from the batch's common prefix, as before rows shared cells
            monkeypatch.setattr(llamacpp, "prefix_sources", lambda rows, shared: [(-1, shared)] * len(rows))
        else:
            monkeypatch.undo()
        fast = LlamaCppEngine(gguf, tiny_tokenizer, None, max_new_tokens=5, stops=(), batch_size=4, threads=1)
        got = fast.generate(prompts)
        assert [g.text for g in got] == [g.text for g in ref]
        evaluated[share] = fast.state.evaluated
    doc_tokens = min(len(tiny_tokenizer(d)["input_ids"]) for d in docs)
    assert evaluated[False] - evaluated[True] >= 2 * doc_tokens  # each document computed once, not twice


@pytest.mark.slow
@needs_llamacpp
def test_the_bundled_model_with_an_adapter_answers_alike_on_both_engines(tmp_path: Path) -> None:
    """SmolLM2-135M at f32 with a LoRA on every projection: llama.cpp against transformers."""
    from peft import LoraConfig, get_peft_model

    from compare.engines.llamacpp import LlamaCppEngine, serving_file
    from compare.engines.registry import lora_for
    from finetune.models import gguf_file, load_model

    torch.manual_seed(0)
    model, tok = load_model("smollm2-135m", "cpu")
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=targets))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.02)
    model.save_pretrained(tmp_path / "adapter")
    model.eval()
    questions = ["What is the capital of France?", "Name a primary colour.", "How many legs has a spider?",
                 "Who wrote Hamlet?", "What is water made of?", "What colour is the sky?"]  # fmt: skip
    prompts = [render_prompt(tok, [{"role": "user", "content": q}]) for q in questions]
    f32 = serving_file(gguf_file("smollm2-135m"), "f32")
    want = Engine(model, tok, max_new_tokens=16, stops=(), batch_size=4).generate(prompts)
    got = LlamaCppEngine(f32, tok, lora_for(tmp_path / "adapter", f32), max_new_tokens=16, stops=()).generate(
        prompts
    )
    same = sum(a.text == b.text for a, b in zip(want, got, strict=True))
    assert same >= 5, [(a.text, b.text) for a, b in zip(want, got, strict=True)]


@pytest.mark.parametrize(
    "package, expected",
    [("torch", "torch 2.13.0"), ("", ""), ("no-such-distribution-here", "")],
)
def test_the_engine_build_names_the_installed_distribution(package: str, expected: str) -> None:
    from compare.engines.registry import package_build

    assert package_build(package).split("+")[0] == expected
