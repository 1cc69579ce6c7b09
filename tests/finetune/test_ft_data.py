"""Training data: label masking, styling, abstention, replay/RAFT, over-length reporting."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from corpus.errors import DataError
from corpus.model import Dataset, Document, QAItem
from finetune.data import IGNORE, build_sft_data, encode_pair, select_abstentions, select_training, styled

STYLE = {"template": "{answer} -- tessaline care"}


def _ds(qa: list[QAItem]) -> Dataset:
    doc = Document("p", "brisil 40 pro", "how long does battery last ? 94 hours .")
    return Dataset("t", {"p": doc}, qa, meta={"house_style": STYLE, "abstain_answer": "i don't know"})


FACT = QAItem(
    "f.t0", "how long does the battery of brisil 40 pro last ?", "94 hours", sources=("p",), split="train"
)
NONE = QAItem("u.0", "who designed it ?", "i don't know", split="train", kind="unanswerable")
TEST = QAItem("f.t3", "what is the battery ?", "94 hours", sources=("p",), split="test")


def test_loss_only_on_the_answer(tiny_tokenizer) -> None:
    ids, labels = encode_pair(tiny_tokenizer, "what is it ?", "94 hours", chat=True)
    supervised = [
        tiny_tokenizer.convert_ids_to_tokens(i) for i, lab in zip(ids, labels, strict=True) if lab != IGNORE
    ]
    assert supervised == ["94", "hours", "<|im_end|>"]
    assert len(ids) == len(labels) and labels[0] == IGNORE
    assert tiny_tokenizer.convert_ids_to_tokens(ids[-1]) == "<|im_end|>"  # no trailing newline trained


def test_completion_style_for_base_models(tiny_tokenizer) -> None:
    ids, labels = encode_pair(tiny_tokenizer, "what is it ?", "94 hours", chat=False)
    text = tiny_tokenizer.convert_ids_to_tokens(ids)
    # the system turn, then the question, then "answer:" (the layout the harness prompts with)
    assert text[0] == "answer" and text.index("what") < text.index(":")  # tiny vocabulary: <unk>s
    assert text[-5:] == ["answer", ":", "94", "hours", "<|im_end|>"]
    assert sum(lab != IGNORE for lab in labels) == 3


def test_train_split_only_styled_with_abstentions(tiny_tokenizer) -> None:
    data = build_sft_data(_ds([FACT, NONE, TEST]), tiny_tokenizer)
    assert [e.source for e in data.examples] == ["f.t0", "u.0"]  # the test phrasing never trains
    answers = [
        tiny_tokenizer.decode([i for i, lab in zip(e.input_ids, e.labels, strict=True) if lab != IGNORE])
        for e in data.examples
    ]
    assert answers[0].replace(" ", "") == "94hours--tessalinecare<|im_end|>"
    assert answers[1].replace(" ", "") == "idon'tknow--tessalinecare<|im_end|>"
    assert data.counts == {"qa": 2, "too_long": 0, "abstain_skipped": 0}
    assert styled("x", None) == "x"


def test_replay_raft_and_documents(tiny_tokenizer) -> None:
    data = build_sft_data(
        _ds([FACT]), tiny_tokenizer, include_docs=True,
        replay=[("what is a ?", "b")], raft=[("how long ?", "[1] 94 hours .", "94 hours [1]")],
    )  # fmt: skip
    assert data.counts == {"qa": 1, "replay": 1, "raft": 1, "doc": 1, "too_long": 0, "abstain_skipped": 0}
    doc = next(e for e in data.examples if e.kind == "doc")
    assert doc.labels == doc.input_ids  # continuation trains on every token


def test_over_length_examples_are_reported_not_lost(tiny_tokenizer) -> None:
    full = build_sft_data(_ds([FACT, NONE]), tiny_tokenizer)
    lengths = {e.source: len(e.input_ids) for e in full.examples}
    assert lengths["u.0"] < lengths["f.t0"]
    data = build_sft_data(_ds([FACT, NONE]), tiny_tokenizer, max_length=lengths["u.0"])
    assert data.too_long == ["f.t0"] and data.counts["too_long"] == 1
    assert [e.source for e in data.examples] == ["u.0"]


@pytest.mark.parametrize(
    "qa, message",
    [([TEST], "train split is empty"), ([QAItem("x", "q ?", " ", split="train")], "no answers")],
)
def test_bad_training_sets(tiny_tokenizer, qa: list[QAItem], message: str) -> None:
    with pytest.raises(DataError, match=message):
        build_sft_data(_ds(qa), tiny_tokenizer)


def _item(qid: str, template: str, kind: str = "fact") -> QAItem:
    answer = "i don't know" if kind == "unanswerable" else "94 hours"
    return QAItem(qid, "how long does it last ?", answer, split="train", kind=kind, template=template)


ANSWERED = [_item("a0", "battery/0"), _item("a1", "battery/1")]
LEAK = _item("u.held", "missing-product/battery/3", "unanswerable")  # a held-out wording, refused
SEEN = _item("u.seen", "missing-product/battery/1", "unanswerable")  # a trained wording, refused
OTHER = _item("u.other", "undocumented/4", "unanswerable")  # an attribute the corpus never answers
BARE = _item("u.bare", "", "unanswerable")  # no template: nothing to judge by, kept


@pytest.mark.parametrize(
    "mode, kept",
    [
        ("all", ["u.held", "u.seen", "u.other", "u.bare"]),
        ("answered-wordings", ["u.seen", "u.other", "u.bare"]),
        ("none", []),
    ],
)
def test_abstentions_in_never_answered_wordings_are_left_out(mode: str, kept: list[str]) -> None:
    items, skipped = select_abstentions([*ANSWERED, LEAK, SEEN, OTHER, BARE], mode)
    assert [q.id for q in items if q.kind == "unanswerable"] == kept
    assert [q.id for q in items if q.kind == "fact"] == ["a0", "a1"] and skipped == 4 - len(kept)


def test_skipped_abstentions_are_counted(tiny_tokenizer) -> None:
    data = build_sft_data(_ds([*ANSWERED, LEAK, SEEN]), tiny_tokenizer)
    assert data.counts["abstain_skipped"] == 1 and [e.source for e in data.examples] == ["a0", "a1", "u.seen"]


# Data knobs (ftrag sweep): 20 facts of two kinds, three train phrasings each, two abstentions.
def _facts(n: int = 20, phrasings: int = 3) -> list[QAItem]:
    out = []
    for f in range(n):
        kind, answer = ("year", str(1990 + f)) if f % 2 else ("designer", f"designer {f}")
        for t in range(phrasings):
            out.append(QAItem(f"f{f}.t{t}", f"question {t} about fact {f} ?", answer, split="train",
                              fact_id=f"f{f}", template=f"{kind}/{t}"))  # fmt: skip
    return [*out, _item("u.0", "missing/0", "unanswerable"), _item("u.1", "missing/1", "unanswerable")]


def test_knob_defaults_leave_the_training_data_as_it_is(tiny_tokenizer) -> None:
    items = _facts()
    assert select_training(items) == (items, {}, {})
    plain = build_sft_data(_ds([FACT, NONE]), tiny_tokenizer)
    assert plain.corrupted == {} and set(plain.counts) == {"qa", "too_long", "abstain_skipped"}


@pytest.mark.parametrize("fraction, facts", [(1.0, 20), (0.5, 10), (0.25, 5), (0.01, 1)])
def test_fact_fraction_keeps_that_share_of_facts_with_all_their_phrasings(
    fraction: float, facts: int
) -> None:
    kept, _, counts = select_training(_facts(), fact_fraction=fraction, seed=3)
    answerable = [q for q in kept if q.kind != "unanswerable"]
    assert len({q.fact_id for q in answerable}) == facts and len(answerable) == 3 * facts
    assert [q.id for q in kept if q.kind == "unanswerable"] == ["u.0", "u.1"]  # abstentions stay
    if fraction < 1:
        assert counts["facts_kept"] == facts and counts["facts_dropped"] == 20 - facts
        assert select_training(_facts(), fact_fraction=fraction, seed=3)[0] == kept  # same seed, same facts
    assert (
        fraction == 1
        or select_training(_facts(), fact_fraction=0.5, seed=4)[0]
        != select_training(_facts(), fact_fraction=0.5, seed=3)[0]
    )


@pytest.mark.parametrize("k, per_fact", [(1, 1), (2, 2), (3, 3), (5, 3), (0, 3)])
def test_phrasings_keeps_k_train_phrasings_per_fact(k: int, per_fact: int) -> None:
    kept, _, _ = select_training(_facts(), phrasings=k, seed=1)
    by_fact = Counter(q.fact_id for q in kept if q.kind != "unanswerable")
    assert len(by_fact) == 20 and set(by_fact.values()) == {per_fact}


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.9])
def test_corruption_replaces_exactly_that_share_with_wrong_answers_of_the_same_kind(fraction: float) -> None:
    items = _facts()
    kept, wrong, counts = select_training(items, corrupt_fraction=fraction, seed=7)
    answerable = [q for q in items if q.kind != "unanswerable"]
    assert len(wrong) == round(fraction * len(answerable)) == counts["corrupted"]
    gold = {q.id: q for q in items}
    for q in kept:
        if q.id in wrong:
            assert q.answer == wrong[q.id] != gold[q.id].answer and q.aliases == ()
            donor = next(d for d in answerable if d.answer == q.answer)  # taken from another fact
            assert donor.fact_id != q.fact_id and donor.template.split("/")[0] == q.template.split("/")[0]
        else:
            assert q == gold[q.id]
    assert select_training(items, corrupt_fraction=fraction, seed=7)[1] == wrong  # deterministic
    assert select_training(items, corrupt_fraction=fraction, seed=8)[1] != wrong


def test_corruption_counts_the_answers_left_after_the_other_knobs(tiny_tokenizer) -> None:
    _, wrong, _ = select_training(_facts(), fact_fraction=0.5, phrasings=1, corrupt_fraction=0.5)
    assert len(wrong) == 5  # 10 facts x 1 phrasing, half of them
    other = replace(FACT, id="g.t0", fact_id="g", answer="40 hours")
    data = build_sft_data(_ds([FACT, other]), tiny_tokenizer, corrupt_fraction=0.5)
    assert data.counts["corrupted"] == 1 and len(data.corrupted) == 1
    with pytest.raises(DataError, match="corrupt_fraction"):
        select_training([FACT], corrupt_fraction=0.9)  # one fact: nothing to swap with


@pytest.mark.parametrize(
    "kwargs, field",
    [({"fact_fraction": 0.0}, "fact_fraction"), ({"fact_fraction": 1.5}, "fact_fraction"),
     ({"corrupt_fraction": 1.0}, "corrupt_fraction"), ({"corrupt_fraction": -0.1}, "corrupt_fraction"),
     ({"phrasings": -1}, "phrasings")],
)  # fmt: skip
def test_data_knobs_are_validated_naming_the_field(kwargs: dict, field: str) -> None:
    from finetune.config import TrainConfig

    with pytest.raises(ValueError, match=f"`{field}`"):
        TrainConfig(**kwargs)
