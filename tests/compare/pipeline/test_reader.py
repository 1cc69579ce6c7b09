"""The hybrid's reader: RAFT examples (oracle, distractors, no-oracle share, unanswerable) and the
dev choice between readers."""

import pytest

from compare.answering.readers import parse_readers
from compare.pipeline.reader import (
    choose_reader,
    cited_answer,
    context_hits,
    counterfactual,
    no_oracle_ids,
    raft_examples,
    reader_note,
    shape,
)
from corpus.model import Chunk, Dataset, Document, QAItem
from retrieval.context import Hit

PAGES = {
    d: Document(d, d.title(), f"The {d} weighs {n} kg.") for n, d in enumerate(["alpha", "beta", "gamma"], 1)
}


class Ranked:
    """A retriever with fixed rankings per question (gold first unless told otherwise)."""

    def __init__(self, rankings: dict[str, list[str]]):
        self.rankings = rankings

    def retrieve(self, queries, k):
        return [
            [
                Hit(Chunk(f"{d}#0", d, PAGES[d].text), 1.0 / r, r)
                for r, d in enumerate(self.rankings[q][:k], 1)
            ]
            for q in queries
        ]


def q(i: str, question: str, answer: str, sources=(), kind: str = "fact") -> QAItem:
    return QAItem(i, question, answer, sources=tuple(sources), split="train", kind=kind)


def test_no_oracle_ids_are_a_seeded_share_of_the_answerable_questions():
    qs = [q(f"q{n}", "?", "a", ["alpha"]) for n in range(10)] + [q("u", "?", "", kind="unanswerable")]
    picked = no_oracle_ids(qs, 0.2, seed=0)
    assert len(picked) == 2 and "u" not in picked
    assert picked == no_oracle_ids(qs, 0.2, seed=0)
    assert no_oracle_ids([], 0.2, 0) == set()


@pytest.mark.parametrize(
    ("keep", "n", "expected"),
    [(True, 2, ["alpha", "beta"]), (False, 2, ["beta", "gamma"]), (False, 1, ["beta"])],
)
def test_context_hits_keep_or_drop_the_oracle(keep, n, expected):
    hits = Ranked({"x": ["alpha", "beta", "gamma"]}).retrieve(["x"], 3)[0]
    assert [h.doc_id for h in context_hits(hits, ("alpha",), keep, n)] == expected


@pytest.mark.parametrize(
    ("doc_ids", "expected"),
    [(("beta", "alpha"), "1 kg [2]"), (("alpha",), "1 kg [1]"), (("beta", "gamma"), "I don't know")],
)
def test_cited_answer_numbers_the_first_gold_chunk_or_abstains(doc_ids, expected):
    assert cited_answer("1 kg", doc_ids, ("alpha",), "I don't know") == expected


def alpha_examples(no_oracle: str) -> tuple[list[QAItem], list[tuple[str, str, str]]]:
    """Five questions about alpha (the oracle ranked first) and one unanswerable, and their RAFT
    examples (seed 0: one answerable question loses its oracle)."""
    qs = [q(f"q{n}", f"How heavy is alpha {n}?", "1 kg", ["alpha"]) for n in range(5)]
    qs.append(q("u", "How heavy is delta?", "", kind="unanswerable"))
    ds = Dataset("t", PAGES, qs, meta={"abstain_answer": "Not in the docs"})
    rankings = {x.question: ["alpha", "beta", "gamma"] for x in qs}
    return qs, raft_examples(ds, Ranked(rankings), k=1, budget=512, seed=0, no_oracle=no_oracle)


def test_raft_examples_cite_the_oracle_abstain_without_it_and_on_unanswerables():
    qs, out = alpha_examples("abstain")
    assert len(out) == 6
    answers = [a for _, _, a in out]
    assert answers.count("1 kg [1]") == 4  # the oracle ranked first, numbered [1]
    assert answers.count("Not in the docs") == 2  # one answerable without its oracle, the unanswerable
    no_oracle = [
        ctx for (_, ctx, a), x in zip(out, qs, strict=True) if a == "Not in the docs" and x.id != "u"
    ]
    assert len(no_oracle) == 1 and "alpha" not in no_oracle[0] and "beta" in no_oracle[0]
    assert all("[2]" in ctx for _, ctx, _ in out)  # two chunks at least: a distractor beside the oracle


def test_raft_examples_answer_from_memory_without_the_oracle():
    """RAFT's own recipe: a context without the oracle still gets the answer, uncited."""
    _, out = alpha_examples("memory")
    answers = [a for _, _, a in out]
    assert answers.count("1 kg [1]") == 4 and answers.count("1 kg") == 1
    assert answers[-1] == "Not in the docs"  # the unanswerable question still abstains
    assert [a for _, ctx, a in out[:5] if "alpha" not in ctx] == ["1 kg"]  # the one without its oracle


def test_raft_examples_with_k_larger_than_the_corpus():
    qs = [q("q0", "How heavy is alpha?", "1 kg", ["alpha"])]
    ds = Dataset("t", {"alpha": PAGES["alpha"]}, qs)
    out = raft_examples(ds, Ranked({qs[0].question: ["alpha"]}), k=8, budget=512, seed=1)
    assert [a for _, _, a in out] == ["1 kg [1]"]


@pytest.mark.parametrize(
    ("answer", "form"),
    [("27 months", "0 months"), ("Marit Owqvist", "A A"), ("2010", "0"), ("3.5 kg", "0 kg"),
     ("`SESSION_COOKIE_AGE`", "`SESSION_COOKIE_AGE`"), ("", "")],
)  # fmt: skip
def test_shape(answer, form):
    assert shape(answer) == form


def test_counterfactual_takes_another_answer_of_the_same_form():
    import random

    pool = ["1 kg", "2 kg", "3 km", "Ana Lind", "2 kg"]
    assert counterfactual("1 kg", pool, random.Random(0)) == "2 kg"
    assert counterfactual("Ana Lind", pool, random.Random(0)) is None  # no other name
    assert counterfactual("7 hours", pool, random.Random(0)) is None


def test_raft_examples_put_another_value_in_some_pages_and_teach_it():
    """Context over memory: where the page was given another value, the target is that value."""
    qs = [q(f"q{n}", f"How heavy is {d}?", f"{w} kg", [d]) for n, (w, d) in
          enumerate([(1, "alpha"), (2, "beta"), (3, "gamma")] * 4)]  # fmt: skip
    ds = Dataset("t", PAGES, qs)
    rankings = {x.question: [x.sources[0]] + [d for d in PAGES if d != x.sources[0]] for x in qs}
    out = raft_examples(ds, Ranked(rankings), k=1, budget=512, seed=0)
    flipped = [(x, ctx, a) for (_, ctx, a), x in zip(out, qs, strict=True)
               if a.endswith("[1]") and not a.startswith(x.answer)]  # fmt: skip
    assert len(flipped) == 2  # 20% of the 10 questions that keep their oracle
    for x, ctx, a in flipped:
        value = a.removesuffix(" [1]")
        assert shape(value) == "0 kg" and f"weighs {value}" in ctx.split("[2]")[0]
        assert x.answer not in ctx.split("[2]")[0]
    assert raft_examples(ds, Ranked(rankings), k=1, budget=512, seed=0) == out  # seeded


@pytest.mark.parametrize(
    ("accuracy", "chosen"),
    [({"sft": 0.4, "raft": 0.6}, "raft"), ({"sft": 0.5, "raft": 0.5}, "sft"), ({"raft": 0.1}, "raft")],
)
def test_choose_reader_takes_the_best_dev_accuracy_a_tie_keeps_the_first(accuracy, chosen):
    assert choose_reader(accuracy) == chosen


def test_choose_reader_without_readers():
    with pytest.raises(ValueError, match="no readers"):
        choose_reader({})


@pytest.mark.parametrize("text", ["sft,oracle", "", " , "])
def test_parse_readers_names_the_known_readers(text):
    with pytest.raises(
        ValueError, match="`hybrid_readers` takes a comma list of sft, raft, mix, distill, got"
    ):
        parse_readers(text)


def test_parse_readers_keeps_order_and_drops_repeats():
    assert parse_readers("raft, sft,raft") == ["raft", "sft"]


@pytest.mark.parametrize(
    ("closed", "tail"),
    [
        (None, "compare.answering.readers)"),
        (
            {"sft": 0.4, "mix": 0.4},
            "closed book on dev mix 0.400 against sft 0.400, so one adapter could serve both",
        ),
        ({"sft": 0.4, "mix": 0.3}, "closed book on dev mix 0.300 against sft 0.400, so ft keeps its own"),
    ],
)
def test_reader_note_says_whether_one_adapter_serves_both(closed, tail):
    reader = {"chosen": "mix", "dev_accuracy": {"sft": 0.5, "mix": 0.625}} | (
        {"closed_book": closed} if closed else {}
    )
    line = reader_note("hybrid", reader)
    assert line.startswith("- hybrid: reader **mix** (dev accuracy: sft 0.500, mix 0.625;") and line.endswith(
        tail
    )
