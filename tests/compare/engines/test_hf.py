"""The generation engine on a tiny random Llama: batched = one-at-a-time, stop strings, counts."""

from __future__ import annotations

import pytest
import torch

from compare.engines.hf import Engine
from compare.harness.prompting import cut_at_stop, render_prompt
from finetune.data import COMPLETION_LAYOUT


@pytest.fixture
def engine(tiny_tokenizer) -> Engine:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tiny_tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    model = LlamaForCausalLM(cfg).eval()
    model.generation_config.eos_token_id = tiny_tokenizer.eos_token_id
    return Engine(model, tiny_tokenizer, max_new_tokens=6, stops=(), batch_size=3)


PROMPTS = ["what is the battery ?", "how long does the battery of brisil 40 pro last ?", "who designed it ?"]


def _chat(tok, q: str) -> str:
    return render_prompt(tok, [{"role": "system", "content": "answer"}, {"role": "user", "content": q}])


def test_batched_answers_equal_single_answers(engine: Engine, tiny_tokenizer) -> None:
    prompts = [_chat(tiny_tokenizer, q) for q in PROMPTS]
    batched = engine.generate(prompts)
    single = [engine.single(p) for p in prompts]
    assert [g.text for g in batched] == [g.text for g in single]  # left padding changes nothing
    assert [g.prompt_tokens for g in batched] == [engine.count_tokens(p) for p in prompts]
    assert all(0 < g.output_tokens <= 6 and 0 < g.ttft <= g.seconds * 3 for g in batched)


def test_generate_keeps_the_callers_order(engine: Engine, tiny_tokenizer) -> None:
    prompts = [_chat(tiny_tokenizer, q) for q in reversed(PROMPTS)]
    seen = []
    out = engine.generate(prompts, progress=seen.append)
    assert [g.prompt_tokens for g in out] == [engine.count_tokens(p) for p in prompts] and sum(seen) == 3


@pytest.mark.parametrize(
    "text, stops, expected",
    [
        ("94 hours\nQuestion: next", ("\n",), "94 hours"),
        ("\n\n94 hours\nmore", ("\n",), "94 hours"),  # leading blank lines are not a stop
        ("94 hours [1] -- done", ("[1]", " -- "), "94 hours"),  # the earliest stop wins
        ("no stop here ", ("\n",), "no stop here"),
        ("x", (), "x"),
    ],
)
def test_cut_at_stop(text: str, stops: tuple, expected: str) -> None:
    assert cut_at_stop(text, stops) == expected


def test_stop_strings_end_rows_early(engine: Engine, tiny_tokenizer) -> None:
    prompt = _chat(tiny_tokenizer, PROMPTS[0])
    free = engine.single(prompt)
    words = free.text.split()
    assert len(words) >= 2
    engine.stops = (words[1],)
    stopped = engine.single(prompt)
    assert words[1] not in stopped.text and stopped.output_tokens < free.output_tokens


def test_completion_layout_without_chat_template(tiny_tokenizer, monkeypatch) -> None:
    monkeypatch.setattr(tiny_tokenizer, "chat_template", None)
    text = render_prompt(
        tiny_tokenizer, [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]
    )
    assert text == COMPLETION_LAYOUT.format(system="S", user="Q")


def test_completion_layout_keeps_worked_examples(tiny_tokenizer, monkeypatch) -> None:
    monkeypatch.setattr(tiny_tokenizer, "chat_template", None)
    msgs = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "A1"},
        {"role": "user", "content": "Q2"},
        {"role": "assistant", "content": "A2"},
        {"role": "user", "content": "Q"},
    ]
    assert render_prompt(tiny_tokenizer, msgs) == "S\n\nQ1\nAnswer: A1\n\nQ2\nAnswer: A2\n\nQ\nAnswer:"


def test_base_model_is_prompted_as_it_was_trained(tiny_tokenizer, monkeypatch) -> None:
    """Without a chat template, the harness's closed-book prompt is the training example's prompt."""
    from compare.answering.systems import closed_book_messages
    from finetune.data import encode_pair

    monkeypatch.setattr(tiny_tokenizer, "chat_template", None)
    prompt = render_prompt(tiny_tokenizer, closed_book_messages("what is it ?"))
    ids, labels = encode_pair(tiny_tokenizer, "what is it ?", "94 hours", chat=False)
    head = [i for i, lab in zip(ids, labels, strict=True) if lab == -100]
    assert head == tiny_tokenizer(prompt, add_special_tokens=True)["input_ids"]


def test_shared_prefix_runs_once_and_changes_nothing(engine: Engine, tiny_tokenizer) -> None:
    system = " ".join(["the battery of brisil 40 pro last 94 hours ."] * 3)  # a long shared system turn
    prompts = [
        render_prompt(tiny_tokenizer, [{"role": "system", "content": system}, {"role": "user", "content": q}])
        for q in PROMPTS
    ]
    ids, mask, shared = engine.encode(prompts)
    assert shared >= 16 and all(bool(row[:shared].all()) for row in mask)  # prefix first, padding after it
    assert mask.sum(1).tolist() == [engine.count_tokens(p) for p in prompts]
    calls = []
    forward = engine.model.forward
    engine.model.forward = lambda *a, **k: (calls.append(k["input_ids"].shape), forward(*a, **k))[1]
    batched = engine.generate(prompts)
    engine.model.forward = forward
    assert calls[0] == (1, shared)  # the prefix alone, at batch size 1
    assert calls[1][1] == ids.shape[1] - shared  # then every row's own tokens only
    assert [g.text for g in batched] == [engine.single(p).text for p in prompts]


def test_single_requests_reuse_the_kept_prefix(engine: Engine, tiny_tokenizer) -> None:
    system = " ".join(["the battery of brisil 40 pro last 94 hours ."] * 3)
    prompts = [
        render_prompt(tiny_tokenizer, [{"role": "system", "content": system}, {"role": "user", "content": q}])
        for q in PROMPTS
    ]
    fresh = [engine.single(p).text for p in prompts]  # nothing kept yet: full prompts
    engine.generate(prompts)
    _, _, shared = engine.encode(prompts)
    assert engine.kept is not None and len(engine.kept[0]) == shared
    calls = []
    forward = engine.model.forward
    engine.model.forward = lambda *a, **k: (calls.append(k["input_ids"].shape), forward(*a, **k))[1]
    reused = engine.single(prompts[1])
    engine.model.forward = forward
    assert calls[0] == (1, engine.count_tokens(prompts[1]) - shared)  # only the request's own tokens
    assert reused.text == fresh[1] and reused.prompt_tokens == engine.count_tokens(prompts[1])
    other = render_prompt(tiny_tokenizer, [{"role": "user", "content": "who designed it ?"}])
    assert engine._kept_cache(engine.encode([other])[0]) is None  # another prefix: nothing reused
