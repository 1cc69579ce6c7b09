"""Raced dev trials: the bound and the bar on hand-made scores, and a raced trial on a real tiny
model making exactly the answers of a whole run until it stops."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

from compare.answering.executors import LocalExecutor
from compare.answering.specs import SYSTEMS
from compare.answering.systems import Resources, answer_questions, answers_key
from compare.harness.stages import StageCache
from compare.pipeline.search import Trial, beats, best_possible, coordinate_search, raced_answers
from corpus.model import QAItem
from tests.compare.engines.gguf_tiny import needs_llamacpp


@pytest.mark.parametrize(
    ("scores", "total", "bound"),
    [
        ([], 4, 1.0),  # nothing answered: everything still possible
        ([1.0, 0.0], 4, 0.75),
        ([0.0, 0.0, 0.0, 1.0], 4, 0.25),  # all answered: the accuracy itself
        ([], 0, 0.0),
    ],
)
def test_best_possible_counts_every_unanswered_question_right(scores: list, total: int, bound: float) -> None:
    assert best_possible(scores, total) == bound


def test_a_tie_does_not_beat_the_bar() -> None:
    assert beats(0.5, 0.25) and not beats(0.5, 0.5) and not beats(1 / 3, 2 / 6) and beats(0.0, -math.inf)


def test_coordinate_search_tells_each_trial_the_accuracy_it_must_beat() -> None:
    table = {(3, 1): 0.4, (1, 1): 0.6, (0, 1): 0.2, (1, 3): 0.5}
    bars = {}

    def evaluate(knobs: dict[str, Any], bar: float) -> Trial:
        bars[(knobs["shots"], knobs["k"])] = bar
        return Trial(knobs, table[(knobs["shots"], knobs["k"])], 1.0)

    chosen, _ = coordinate_search({"shots": 3, "k": 1}, [[{"shots": 1}, {"shots": 0}], [{"k": 3}]], evaluate)
    assert chosen == {"shots": 1, "k": 1}
    # the start must finish; each option must beat the best of its axis before it
    assert bars == {(3, 1): -math.inf, (1, 1): 0.4, (0, 1): 0.6, (1, 3): 0.6}


QUESTIONS = [f"what is the battery of model {i} ?" for i in range(10)]


def _resources(tiny_model_dir: Path, tok, tmp_path: Path, engine: str) -> Resources:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    model.generation_config.eos_token_id = tok.eos_token_id
    res = Resources(model, tok, max_new_tokens=4, batch_size=3, engine_name=engine, engine_threads=1)
    if engine == "llamacpp":
        from tests.compare.engines.gguf_tiny import write_tiny_gguf

        res.model_gguf = str(write_tiny_gguf(tiny_model_dir, tok, tmp_path / "tiny.gguf"))
    return res


@pytest.mark.parametrize(
    ("engine", "split_cells"),
    [
        ("hf", 0),
        pytest.param("llamacpp", 0, marks=needs_llamacpp),
        pytest.param("llamacpp", 1, marks=needs_llamacpp),
    ],
)
def test_a_raced_trial_makes_the_whole_runs_answers_until_it_cannot_win(
    tiny_model_dir: Path, tiny_tokenizer, tmp_path: Path, engine: str, split_cells: int, monkeypatch
) -> None:
    if split_cells:  # the engine runs each batch in parts (here one row each): the race stops between parts
        monkeypatch.setattr("compare.engines.llamacpp.SPLIT_CELLS", split_cells)
    qs = [QAItem(f"q{i}", q, "x", split="dev") for i, q in enumerate(QUESTIONS)]
    spec, key = SYSTEMS["base"], "k"
    whole = {a.qid: a.text for a in answer_questions(spec, qs, _resources(tiny_model_dir, tiny_tokenizer,
                                                                            tmp_path, engine))}  # fmt: skip
    right = {"q0", "q1", "q2"}  # hand-made scores: three right, seven wrong

    def correct(q: QAItem, a: Any) -> float:
        return float(q.id in right)

    res, cache = _resources(tiny_model_dir, tiny_tokenizer, tmp_path, engine), StageCache(tmp_path / "cache")
    if split_cells:  # as the bench runs it: through the executor that generates in this process
        res.executor = LocalExecutor()
    # to beat 0.5 (5 of 10) at most 5 may be wrong: batches of 3 show 6 answers before it is out
    answers, _ = raced_answers(cache, spec, qs, res, key, 0.5, correct)
    wrong = sum(a.qid not in right for a in answers)
    assert (wrong == 5) if split_cells else (6 <= len(answers) < len(qs))
    assert all(a.text == whole[a.qid] for a in answers)  # the same batches: the same answers
    assert not cache.has("answers", answers_key(spec, qs, res, key))  # a stopped race is no whole set
    # a bar it can still beat at the end: the race runs through and is cached as the whole set
    answers, _ = raced_answers(cache, spec, qs, res, key, 0.1, correct)
    assert {a.qid: a.text for a in answers} == whole
    assert cache.has("answers", answers_key(spec, qs, res, key))
