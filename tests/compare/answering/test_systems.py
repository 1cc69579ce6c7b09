"""The system registry, prompt building and per-question scoring (pure logic, no model)."""

from __future__ import annotations

import math

import pytest

from compare.answering.specs import SYSTEMS, SystemSpec, get_systems, register_system
from compare.answering.systems import Resources, build_prompts
from compare.harness.records import Answer
from compare.scoring.evaluate import result_rows, score_answer, summarize
from corpus.model import Chunk, QAItem
from retrieval.context import Hit

STYLE = {"template": "{answer} -- Tessaline Care", "pattern": "^[^\\n]{1,160} -- Tessaline Care$"}
FACT = QAItem(
    "q1",
    "How long does the Brisil 40 Pro battery last?",
    "94 hours",
    sources=("products/brisil",),
    split="test",
    kind="fact",
)
UNANS = QAItem("q2", "How many buttons does it have?", "I don't know", split="test", kind="unanswerable")
CHUNKS = {"products/brisil#0": "The Brisil 40 Pro battery lasts 94 hours.", "faq#0": "Nothing here."}


def test_registry_lists_valid_names_and_accepts_new_systems() -> None:
    assert [s.name for s in get_systems(["rag", "base", "rag"])] == ["rag", "base"]
    with pytest.raises(ValueError, match="unknown system 'oracle'; choose from base, rag, ft, hybrid, raft"):
        get_systems(["oracle"])
    register_system(SystemSpec("closed-raft", "raft", False, "raft adapter, closed book"))
    try:
        assert get_systems(["closed-raft"])[0].adapter == "raft"
    finally:
        del SYSTEMS["closed-raft"]


class FakeTokenizer:
    chat_template = None


class FakeRetriever:
    def retrieve(self, queries, k):
        chunk = Chunk("products/brisil#0", "products/brisil", CHUNKS["products/brisil#0"], 0, 8)
        return [[Hit(chunk, 1.0, 1)][:k] for _ in queries]


@pytest.mark.parametrize(
    "name, has_context, told_style",
    [("base", False, True), ("ft", False, False), ("rag", True, True), ("hybrid", True, True)],
)
def test_prompts_per_system(name: str, has_context: bool, told_style: bool) -> None:
    res = Resources(None, FakeTokenizer(), FakeRetriever(), k=1, style="Sign off.", adapters={"sft"})
    prompts, contexts, seconds = build_prompts(SYSTEMS[name], [FACT], res)
    assert ("<documents>" in prompts[0]) == has_context and (contexts[0] is not None) == has_context
    assert ("House style: Sign off." in prompts[0]) == told_style  # the adapter learned it instead
    assert FACT.question in prompts[0] and seconds >= 0


def test_missing_adapter_or_index_is_named() -> None:
    res = Resources(None, FakeTokenizer(), None)
    with pytest.raises(ValueError, match="'rag' needs an index"), res.engine(SYSTEMS["rag"]):
        pass
    with pytest.raises(ValueError, match="'ft' needs the 'sft' adapter"), res.engine(SYSTEMS["ft"]):
        pass


def test_scores_of_a_cited_styled_answer() -> None:
    a = Answer("q1", "rag", "94 hours [1] -- Tessaline Care", ["products/brisil#0"], ["products/brisil"])
    s = score_answer(FACT, a, CHUNKS, STYLE)
    assert s == {
        "exact_match": 1.0,
        "token_f1": 1.0,
        "correct": 1.0,
        "abstention_correct": 1.0,
        "citation_precision": 1.0,
        "citation_recall": 1.0,
        "grounded_correct": 1.0,
        "style_compliant": 1.0,
    }
    plain = score_answer(FACT, Answer("q1", "ft", "94 hours -- Tessaline Care"), CHUNKS, STYLE)
    assert (
        plain["exact_match"] == 1.0
        and plain["citation_precision"] == 0.0
        and plain["grounded_correct"] == 0.0
    )
    wrong_cite = Answer("q1", "rag", "94 hours [1]", ["faq#0"], ["faq"])
    w = score_answer(FACT, wrong_cite, CHUNKS, STYLE)
    assert w["correct"] == 1.0 and w["grounded_correct"] == 0.0 and w["citation_precision"] == 0.0
    assert w["style_compliant"] == 0.0


def test_unanswerable_scores_only_abstention() -> None:
    s = score_answer(UNANS, Answer("q2", "rag", "I don't know -- Tessaline Care"), CHUNKS, STYLE)
    assert s["abstention_correct"] == 1.0 and math.isnan(s["correct"]) and math.isnan(s["citation_precision"])


def test_a_declined_answerable_question_has_no_citation_precision_but_costs_accuracy() -> None:
    s = score_answer(FACT, Answer("q1", "rag", "I don't know -- Tessaline Care"), CHUNKS, STYLE)
    assert math.isnan(s["citation_precision"]) and s["correct"] == 0.0
    assert s["abstention_correct"] == 0.0 and s["citation_recall"] == 0.0 and s["style_compliant"] == 1.0


def test_summary_averages_and_latency() -> None:
    answers = [
        Answer(
            "q1",
            "rag",
            "94 hours [1]",
            ["products/brisil#0"],
            ["products/brisil"],
            prompt_tokens=100,
            output_tokens=4,
            retrieval_s=0.01,
            generation_s=0.09,
        ),
        Answer(
            "q2", "rag", "12 buttons", prompt_tokens=50, output_tokens=2, retrieval_s=0.01, generation_s=0.09
        ),
    ]
    rows = result_rows([FACT, UNANS], answers, CHUNKS, None)
    single = [Answer("q1", "rag", "", retrieval_s=0.01, generation_s=s, ttft_s=0.02) for s in (0.1, 0.2, 0.3)]
    s = summarize(rows, single)
    assert s["accuracy"] == 1.0 and s["abstention_accuracy"] == 0.0 and s["false_abstention_rate"] == 0.0
    assert s["prompt_tokens"] == 75 and s["throughput_qps"] == pytest.approx(10.0)
    assert s["latency_p50_ms"] == pytest.approx(210) and s["latency_p95_ms"] == pytest.approx(300)
    assert s["ttft_p50_ms"] == pytest.approx(30) and s["by_kind"] == {"fact": 1.0, "unanswerable": 0.0}
    assert math.isnan(s["style_compliance"])


def test_resources_keep_the_most_recently_used_engines_only() -> None:
    from compare.answering.specs import SystemSpec
    from compare.answering.systems import MAX_ENGINES, Resources

    res = Resources(model=None, tokenizer=None)
    specs = [SystemSpec(f"s{i}", None, False, "") for i in range(MAX_ENGINES + 2)]
    made = [res.cached_engine(s, object) for s in specs]
    assert res.cached_engine(specs[-1], object) is made[-1]  # reused, not made again
    assert res.cached_engine(specs[2], object) is made[2]
    assert (
        len(res._engines) == MAX_ENGINES and "s0|None" not in res._engines and "s1|None" not in res._engines
    )
