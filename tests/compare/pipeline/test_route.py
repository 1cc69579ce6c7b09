"""The routed hybrid's pure parts: each rule's pick, the composed answer's costs, the dev choice."""

import math
from dataclasses import replace

import pytest

from compare.answering.routing import (
    ROUTES,
    Evidence,
    check_route,
    compose,
    routed_answer,
    uses_adapter,
)
from compare.answering.specs import get_systems, is_composed
from compare.harness.records import Answer
from compare.pipeline.route import choose_route, route_effects
from compare.scoring.quoting import quoted_chunk
from corpus.errors import UserError
from corpus.model import QAItem

IDK = "I don't know"


def rag(qid: str, text: str, support: float = 1.0) -> Answer:
    return Answer(qid, "rag", text, ["c1"], ["doc1"], ["c1", "c2"], 500, 6, 0.01, 2.0, 0.5, support)


def ft(qid: str, text: str) -> Answer:
    return Answer(qid, "ft", text, [], [], [], 30, 5, 0.0, 0.25, 0.05)


@pytest.mark.parametrize(
    ("rule", "picks"),  # (RAG abstained, adapter abstained) = FF, FT, TF, TT; the adapter's answer
    # quoted; the adapter abstains but RAG's answer is quoted
    [
        ("rag", ["rag", "rag", "rag", "rag", "rag", "rag"]),
        ("judge", ["rag", "abstain", "rag", "abstain", "rag", "abstain"]),
        ("fallback", ["rag", "rag", "ft", "rag", "rag", "rag"]),
        ("verify", ["rag", "rag", "rag", "rag", "ft", "rag"]),
        ("judge+fallback", ["rag", "abstain", "ft", "abstain", "rag", "abstain"]),
        ("verify+judge", ["rag", "abstain", "rag", "abstain", "ft", "abstain"]),
        ("verify+doubt", ["rag", "abstain", "rag", "abstain", "ft", "rag"]),
    ],
)
def test_each_rule_picks_rag_the_adapter_or_abstains(rule, picks):
    cases = [Evidence(r, f) for r, f in ((False, False), (False, True), (True, False), (True, True))]
    quoted = [Evidence(False, False, ft_quoted=True), Evidence(False, True, rag_quoted=True)]
    got = [ROUTES[rule](e) for e in [*cases, *quoted]]
    assert got == picks


CHUNKS = {"widget#0": "The Widget 3 ships with a 12 hour battery.", "widget#1": "It is blue."}


@pytest.mark.parametrize(
    ("text", "chunk"),
    [
        ("12 hour -- Care", "widget#0"),  # house style removed, normalised, whole words
        ("Blue.", "widget#1"),
        ("2 hour", None),  # "2 hour" is inside "12 hour" but not as whole words
        ("I don't know", None),
        ("the widget 3 ships with a 12 hour battery and more words than fit", None),  # too long to check
        ("", None),
    ],
)
def test_quoted_chunk_finds_the_adapters_answer_word_for_word(text, chunk):
    assert quoted_chunk(text, ["widget#0", "widget#1"], CHUNKS, "{answer} -- Care") == chunk


def test_doubt_abstains_only_where_rags_answer_is_not_in_its_chunks():
    r = Answer("q", "rag", "Blue [1]", ["widget#1"], ["widget"], ["widget#1"], 500, 6)
    assert routed_answer("verify+doubt", "routed", r, ft("q", IDK), IDK, CHUNKS).text == "Blue [1]"
    made_up = replace(r, text="Green [1]")
    assert routed_answer("verify+doubt", "routed", made_up, ft("q", IDK), IDK, CHUNKS).text == IDK


def test_verify_takes_the_adapters_quoted_answer_and_cites_its_chunk():
    r = Answer("q", "rag", "6 hour [1]", ["widget#1"], ["widget"], ["widget#0", "widget#1"], 500, 6)
    a = routed_answer("verify", "routed", r, ft("q", "12 hour"), IDK, CHUNKS)
    assert (a.text, a.citations, a.cited_docs) == ("12 hour", ["widget#0"], ["widget"])
    kept = routed_answer("verify", "routed", r, ft("q", "8 hour"), IDK, CHUNKS)  # in no chunk
    assert (kept.text, kept.citations) == ("6 hour [1]", ["widget#1"])


def test_the_rules_read_rags_ungated_answer_and_a_rag_pick_is_rags_own_gated_one():
    """RAG's gate struck its answer for not being in its chunks (``own``); the rules read the answer
    as it was: ``verify`` still swaps in the adapter's quoted answer, and where it does not, the pick
    is RAG's own abstention, so rule ``rag`` is the rag system itself."""
    r = Answer("q", "rag", "6 hour [1]", ["widget#1"], ["widget"], ["widget#0", "widget#1"], 500, 6)
    own = replace(r, text=IDK, citations=[], cited_docs=[], gated_text=r.text)
    swapped = routed_answer("verify", "routed", r, ft("q", "12 hour"), IDK, CHUNKS, own=own)
    assert (swapped.text, swapped.citations) == ("12 hour", ["widget#0"])
    for rule in ("rag", "verify", "judge"):
        picked = routed_answer(rule, "routed", r, ft("q", "8 hour"), IDK, CHUNKS, own=own)
        assert (picked.text, picked.citations, picked.gated_text) == (IDK, [], "6 hour [1]"), rule
    assert routed_answer("rag", "routed", r, ft("q", "8 hour"), IDK, CHUNKS).text == "6 hour [1]"
    composed = compose("verify", "routed", [r], [ft("q", "12 hour")], IDK, CHUNKS, None, [own])
    assert composed[0].text == "12 hour"


def test_a_rag_pick_keeps_its_citations_and_adds_the_adapters_call():
    a = routed_answer("judge", "routed", rag("q", "Blue [1]"), ft("q", "Red"), IDK)
    assert (a.system, a.text, a.citations, a.cited_docs, a.retrieved) == (
        "routed", "Blue [1]", ["c1"], ["doc1"], ["c1", "c2"]
    )  # fmt: skip
    assert (a.prompt_tokens, a.output_tokens) == (530, 11)
    assert a.generation_s == pytest.approx(2.25)
    assert a.ttft_s == pytest.approx(0.75)  # the adapter's whole answer, then RAG's first token
    assert a.support == 1.0


def test_an_adapter_pick_has_no_citations_and_an_abstention_keeps_ragss_text_for_the_audit():
    took = routed_answer("fallback", "routed", rag("q", IDK), ft("q", "Red"), IDK)
    assert (took.text, took.citations, took.cited_docs) == ("Red", [], [])
    gone = routed_answer("judge", "routed", rag("q", "Blue [1]"), ft("q", IDK), IDK)
    assert (gone.text, gone.citations, gone.gated_text) == (IDK, [], "Blue [1]")


@pytest.mark.parametrize(
    ("rule", "rag_text", "asked"),
    [
        ("rag", IDK, False),
        ("fallback", "Blue [1]", False),
        ("fallback", IDK, True),
        ("judge", "Blue", True),
        ("verify", "Blue", True),
        ("verify", IDK, False),  # RAG abstained: nothing to verify
    ],
)
def test_the_adapter_costs_nothing_where_the_rule_does_not_ask_it(rule, rag_text, asked):
    a = routed_answer(rule, "routed", rag("q", rag_text), ft("q", "Red"), IDK)
    assert a.prompt_tokens == (530 if asked else 500)
    assert a.generation_s == pytest.approx(2.25 if asked else 2.0)


def test_uses_adapter_only_for_the_rules_that_ask_it():
    assert [uses_adapter(r) for r in ROUTES] == [False, True, True, True, True, True, True]


def test_compose_keeps_rags_order_and_names_a_missing_adapter_answer():
    out = compose("judge", "routed", [rag("b", "2"), rag("a", "1")], [ft("a", IDK), ft("b", "2")], IDK)
    assert [(a.qid, a.text) for a in out] == [("b", "2"), ("a", IDK)]
    with pytest.raises(ValueError, match=r"no answer to 1 questions, e\.g\. 'c'"):
        compose("rag", "routed", [rag("c", "1")], [ft("a", "1")], IDK)


def test_route_effects_score_every_rule_on_answerable_and_unanswerable_questions():
    qs = [
        QAItem("a1", "Colour of A?", "blue", split="dev"),
        QAItem("a2", "Colour of B?", "red", split="dev"),
        QAItem("u1", "Colour of Z?", "", split="dev", kind="unanswerable"),
        QAItem("u2", "Colour of Y?", "", split="dev", kind="unanswerable"),
    ]
    rags = [rag("a1", "blue [1]"), rag("a2", IDK), rag("u1", "green [1]"), rag("u2", IDK)]
    fts = [ft("a1", IDK), ft("a2", "red"), ft("u1", IDK), ft("u2", "pink")]
    effects = route_effects(qs, rags, fts, IDK, None)
    assert effects == {
        "rag": (0.5, 0.5),
        "judge": (0.0, 1.0),  # the adapter's "I don't know" on a1 costs RAG's right answer
        "fallback": (1.0, 0.0),  # the adapter answers a2 right and u2 wrongly
        "verify": (0.5, 0.5),  # no chunk text given: nothing is quoted, so RAG's answers
        "judge+fallback": (0.5, 0.5),
        "verify+judge": (0.0, 1.0),
        "verify+doubt": (0.0, 1.0),  # nothing quoted: the adapter's doubt always counts
    }


@pytest.mark.parametrize(
    ("effects", "max_drop", "chosen"),
    [
        ({"rag": (0.7, 0.3), "judge": (0.7, 0.9), "fallback": (0.72, 0.1)}, 0.03, "judge"),
        ({"rag": (0.7, 0.3), "judge": (0.68, 0.9), "fallback": (0.72, 0.1)}, 0.03, "rag"),  # judge 0.04 down
        ({"rag": (0.7, 0.3), "judge": (0.5, 1.0), "fallback": (0.7, 0.07)}, 0.03, "rag"),
        ({"rag": (0.7, 0.3), "judge": (0.5, 1.0)}, 0.25, "judge"),
        ({"rag": (0.6, 0.5), "fallback": (0.7, 0.5)}, 0.2, "fallback"),  # equal abstention: the more accurate
        ({"rag": (0.7, 0.5), "judge": (0.7, 0.5)}, 0.0, "rag"),  # a tie keeps the simpler rule
    ],
)
def test_choose_route_abstains_most_within_the_drop_from_the_best_rule(effects, max_drop, chosen):
    assert choose_route(effects, max_drop)[0] == chosen


def test_choose_route_without_unanswerable_questions_takes_the_most_accurate_and_says_so():
    rule, why = choose_route({"rag": (0.6, math.nan), "fallback": (0.7, math.nan)}, 0.03)
    assert rule == "fallback" and "no unanswerable dev questions" in why


def test_a_routed_system_brings_its_parts_and_a_bad_rule_is_one_line():
    assert [s.name for s in get_systems(["routed"])] == ["rag", "ft", "routed"]
    assert [s.name for s in get_systems(["ft", "routed", "base"])] == ["ft", "rag", "routed", "base"]
    assert [is_composed(s) for s in get_systems(["rag", "routed"])] == [False, False, True]
    check_route("auto")
    with pytest.raises(UserError, match="`route` must be auto or one of rag, judge, fallback, verify, judge"):
        check_route("vote")
