"""The abstention gate's pure parts: sentences, the threshold chosen on dev, the selective curve."""

import math

import pytest

from compare.pipeline.abstain import Outcome, choose_threshold, effect, selective_curve
from compare.scoring.abstain_signals import sentences

# Four answerable dev questions (support, correct) and three unanswerable ones (support).
DEV = [
    Outcome(0.9, True, True),
    Outcome(0.8, True, True),
    Outcome(0.5, True, False),
    Outcome(0.4, True, True),
    Outcome(0.3, False),
    Outcome(0.45, False),
    Outcome(0.85, False),
]


def test_sentences_split_on_stops_and_lines_and_skip_stubs():
    text = "# Widget\nThe Widget weighs 3 kg. It ships in May! Short.\nA line without a stop here"
    assert sentences(text) == ["The Widget weighs 3 kg.", "It ships in May!", "A line without a stop here"]
    assert sentences("Tiny") == ["Tiny"]


def test_effect_counts_gated_right_answers_as_lost_and_gated_unanswerables_as_abstained():
    assert effect(DEV, -math.inf) == (0.75, 0.0)
    acc, abst = effect(DEV, 0.46)  # gates 0.3, 0.4, 0.45
    assert (acc, abst) == (0.5, 2 / 3)


@pytest.mark.parametrize(
    ("max_drop", "value", "abstention", "accuracy"),
    [
        (0.0, math.nextafter(0.3, math.inf), 1 / 3, 0.75),  # 0.45 would take the right 0.4 with it
        (0.25, math.nextafter(0.45, math.inf), 2 / 3, 0.5),  # one right answer lost for a second abstention
        (0.5, math.nextafter(0.85, math.inf), 1.0, 0.25),
    ],
)
def test_choose_threshold_abstains_most_within_the_accuracy_budget(max_drop, value, abstention, accuracy):
    t = choose_threshold(DEV, max_drop)
    assert (t.value, t.abstention, t.accuracy, t.accuracy_before) == (value, abstention, accuracy, 0.75)
    assert t.active and t.reason == ""


@pytest.mark.parametrize(
    ("outcomes", "reason"),
    [
        ([Outcome(0.9, True, True), Outcome(0.2, True, False)], "no unanswerable dev questions"),
        ([Outcome(0.3, False)], "no answerable dev questions"),
        (
            [Outcome(0.2, True, True), Outcome(0.5, False)],
            "every threshold costs more than 0.03 of dev accuracy",
        ),
    ],
)
def test_choose_threshold_stays_off_with_its_reason(outcomes, reason):
    t = choose_threshold(outcomes, 0.03)
    assert not t.active and t.value == -math.inf
    assert t.reason == reason


def test_an_unanswerable_the_system_abstained_on_already_counts_without_the_gate():
    t = choose_threshold([Outcome(0.9, True, True), Outcome(0.95, False, abstained=True)], 0.0)
    assert not t.active and t.abstention == 1.0


def test_selective_curve_goes_from_answering_everything_to_the_best_supported():
    curve = selective_curve(DEV)
    assert len(curve) == len(DEV)  # every support score but the highest leaves something answered
    assert curve[0] == (-math.inf, 1.0, 3 / 7)
    coverages = [c for _, c, _ in curve]
    assert coverages == sorted(coverages, reverse=True) and coverages[-1] == 1 / 7
    assert curve[-1][2] == 1.0  # only the 0.9 answer is left, and it is right
    # gating 0.3, 0.4, 0.45: answered 0.5 (wrong), 0.8, 0.85 (unanswerable), 0.9
    assert curve[3] == (math.nextafter(0.45, math.inf), 4 / 7, 0.5)


def _gate_case():
    from compare.harness.records import Answer
    from corpus.model import QAItem

    qs = [QAItem(f"a{i}", f"q{i}?", f"x{i}", split="dev") for i in range(3)]
    qs += [QAItem(f"u{i}", f"u{i}?", "", split="dev", kind="unanswerable") for i in range(2)]
    texts = {"a0": "x0", "a1": "x1", "a2": "wrong", "u0": "x9", "u1": "x8"}  # a2 answered wrong
    return qs, lambda support: [Answer(q.id, "rag", texts[q.id], support=support[q.id]) for q in qs]


@pytest.mark.parametrize(
    ("supports", "chosen"),
    [
        # grounding separates both unanswerable questions, support only one: grounding
        ({"grounding": [0.9, 0.8, 0.7, 0.1, 0.2], "support": [0.9, 0.8, 0.7, 0.1, 0.85]}, "grounding"),
        # equal abstention and accuracy: the one that gates fewer answerable questions (a2 is wrong,
        # so gating it is free, but support leaves it alone)
        ({"grounding": [0.9, 0.8, 0.1, 0.2, 0.3], "support": [0.9, 0.8, 0.7, 0.2, 0.3]}, "support"),
        # a full tie keeps the first listed
        ({"grounding": [0.9, 0.8, 0.7, 0.2, 0.3], "support": [0.9, 0.8, 0.7, 0.2, 0.3]}, "grounding"),
    ],
)
def test_choose_gate_takes_the_signal_that_abstains_most_then_touches_least(supports, chosen):
    from compare.pipeline.abstain import choose_gate

    qs, answers = _gate_case()
    ids = [q.id for q in qs]

    def support_of(sig):
        return answers(dict(zip(ids, supports[sig], strict=True)))

    best, per = choose_gate(qs, ["grounding", "support"], 0.0, support_of, None)
    assert best.signal == chosen and set(per) == {"grounding", "support"}
    assert best.accuracy == best.accuracy_before == 2 / 3  # no right answer was gated


def test_a_quoted_signal_scores_unquoted_answers_below_every_threshold():
    from compare.harness.records import Answer
    from compare.pipeline.abstain import UNQUOTED, quoted_signals, with_support
    from corpus.model import QAItem

    def no_embed(texts):
        raise AssertionError("names needs no embedding")

    chunks = {"ulsa#0": "The Ulsa 11 has a 12 hour battery and 4 buttons."}
    qs = [QAItem(q, f"How long does the Ulsa 11 battery last ({q})?", "12 hour") for q in ("a", "b", "c")]
    answers = [
        Answer("a", "rag", "12 hour [1] -- Care", retrieved=["ulsa#0"]),
        Answer("b", "rag", "20 hour [1] -- Care", retrieved=["ulsa#0"]),  # not on the page
        Answer("c", "rag", "I don't know", retrieved=["ulsa#0"]),  # an abstention stays as scored
    ]
    plain = with_support(qs, answers, chunks, no_embed, "names", "{answer} -- Care")
    quoted = with_support(qs, answers, chunks, no_embed, "names+quoted", "{answer} -- Care")
    assert [a.support for a in plain] == [1.0, 1.0, 1.0]
    assert [a.support for a in quoted] == [1.0, UNQUOTED, 1.0]
    assert quoted_signals(["support", "names"]) == ["support", "names", "support+quoted", "names+quoted"]


def test_the_gate_stage_gives_a_composed_system_the_answers_its_part_gate_leaves():
    """rag's own answers go through the quoted gate; the routed hybrid reads them through the plain
    signal's gate, which strikes nothing here, so its rules still see rag's unquoted answer."""
    from types import SimpleNamespace

    from compare.harness.records import Answer
    from compare.pipeline.abstain import UNQUOTED, gate_stage
    from corpus.model import Dataset, QAItem

    def no_embed(texts):
        raise AssertionError("names needs no embedding")

    chunks = {"ulsa#0": "The Ulsa 11 has a 12 hour battery and 4 buttons."}
    qs = [QAItem(q, f"How long does the Ulsa 11 battery last ({q})?", "12 hour") for q in ("a", "b")]
    answers = [
        Answer("a", "rag", "12 hour [1] -- Care", ["ulsa#0"], ["ulsa"], retrieved=["ulsa#0"]),
        Answer("b", "rag", "20 hour [1] -- Care", ["ulsa#0"], ["ulsa"], retrieved=["ulsa#0"]),
    ]
    ds = Dataset("d", {}, qs, meta={"house_style": {"template": "{answer} -- Care"}})
    res = SimpleNamespace(chunk_text=chunks, embed=no_embed, gates={"rag": ("names+quoted", UNQUOTED + 0.5)},
                          part_gates={"rag": ("names", -math.inf)})  # fmt: skip
    own, part, facts = gate_stage(SimpleNamespace(name="rag"), ds, qs, answers, res)
    assert [a.text for a in own] == ["12 hour [1] -- Care", "I don't know -- Care"]
    assert own[1].citations == [] and own[1].gated_text == "20 hour [1] -- Care"
    assert [a.text for a in part] == ["12 hour [1] -- Care", "20 hour [1] -- Care"]
    assert part[1].citations == ["ulsa#0"]
    assert facts["abstention"]["rag"]["gated"] == 1
    assert facts["abstention"]["rag"]["part_gate"] == {"signal": "names", "threshold": None, "gated": 0}
    del res.part_gates["rag"]  # no part gate: the composed system reads the system's own answers
    own, part, _ = gate_stage(SimpleNamespace(name="rag"), ds, qs, answers, res)
    assert part is own


@pytest.mark.parametrize(
    ("meta", "reply"),
    [
        ({}, "I don't know"),
        ({"abstain_answer": "Not documented"}, "Not documented"),
        ({"house_style": {"template": "{answer} -- Care"}}, "I don't know -- Care"),
        ({"house_style": "be brief"}, "I don't know"),  # a style with no template is only described
    ],
)
def test_the_abstain_reply_is_in_the_house_style_and_still_an_abstention(meta, reply):
    from compare.scoring.scorers import is_abstention
    from corpus.model import Dataset

    ds = Dataset("d", {}, [], meta=meta)
    assert ds.abstain_reply == reply
    assert is_abstention(reply) or reply == "Not documented"
