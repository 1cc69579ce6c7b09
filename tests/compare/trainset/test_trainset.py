"""Training data from documents: the filters, the round trip and distillation with a scripted model,
the guard on hand-made near-duplicates, and a tiny real model that yields nothing usable."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from compare.trainset.build import EMPTY_PAGE_SEEDS, build_trainset, check_usable, span_seeds
from compare.trainset.config import TrainsetConfig
from compare.trainset.filters import agrees, near_duplicates, overlap, well_formed
from corpus.errors import DataError
from corpus.model import Dataset, Document, QAItem
from corpus.trainset import Span

PAGES = {
    "widget": Document("widget", "Widget 7", "# Widget 7\n\nThe Widget 7 was launched in 2001. "
                       "The Widget 7 was designed by Ana Lind. It weighs about 3 kg in total.\n"),
    "gadget": Document("gadget", "Gadget 2", "# Gadget 2\n\nThe Gadget 2 was launched in 1999. "
                       "Each unit pairs with the phone app called Lumen Hub for its readings.\n"),
}  # fmt: skip


@dataclass
class Gen:
    text: str


class ScriptedModel:
    """A stand-in engine: writes a fixed question per answer, and as the reader answers from a table
    keyed by question (anything else: "I don't know"). Pure logic, so the filters' effect is exact."""

    def __init__(self, writes: dict[str, str], reads: dict[str, str]):
        self.writes, self.reads, self.prompts = writes, reads, []

    def generate(self, prompts, progress=None):
        self.prompts += prompts
        out = []
        for p in prompts:
            if "Write one question" in p:
                answer = re.findall(r"Answer: (.*)\nQuestion:$", p)[0]
                out.append(Gen(self.writes.get(answer, "What?")))
            else:
                question = re.findall(r"Question: (.*)\n?Answer:?\s*$", p) or re.findall(
                    r"Question: ([^\n]*)$", p
                )
                out.append(Gen(self.reads.get(question[-1].strip() if question else "", "I don't know")))
        if progress:
            progress(len(prompts))
        return out


class Tok:
    chat_template = None  # completion layout: the prompt ends "Question: ...\nAnswer:"


def dataset() -> Dataset:
    return Dataset("mini", dict(PAGES), meta={"abstain_answer": "I don't know"})


@pytest.mark.parametrize(
    ("question", "why"),
    [
        ("When was the Widget 7 launched?", None),
        ("Widget launch", "not a question"),
        ("When?", "too short"),
        ("Was it 2001 when the Widget 7 launched?", "gives its answer away"),
        ("Answer: when was it launched?", "not a question"),
        ("What is the capital of the moon today?", "not about its evidence"),
        ("Who? What? When was the Widget 7 launched?", "not a question"),
    ],
)
def test_well_formed(question: str, why: str | None) -> None:
    assert well_formed(question, "2001", "The Widget 7 was launched in 2001.") == why


@pytest.mark.parametrize(
    ("reader", "expected"),
    [("2001", True), ("It was launched in 2001 [1]", True), ("1999", False), ("I don't know", False),
     ("Ana Lind", False)],
)  # fmt: skip
def test_round_trip_agreement(reader: str, expected: bool) -> None:
    assert agrees(reader, "2001", "When was the Widget 7 launched?") is expected


def test_guard_finds_hand_made_near_duplicates() -> None:
    train = ["When was the Widget 7 launched?", "Who designed the Widget 7?", "How heavy is the Gadget 2?"]
    held = ["When did the Widget 7 launch?", "What colour is the Widget 7?"]
    assert overlap(train[0], "When was Widget 7 launched") == 1.0
    found = near_duplicates(train, ["When was the Widget 7 launched exactly?"])
    assert list(found) == [0] and found[0].how.startswith("overlap")
    # an embedder that calls "designed" and "colour" the same: cosine catches what overlap does not
    vecs = {
        train[0]: [1, 0, 0],
        train[1]: [0, 1, 0],
        train[2]: [0, 0, 1],
        held[0]: [1, 0, 0],
        held[1]: [0, 1, 0],
    }

    def embed(texts):
        return np.array([vecs[t] for t in texts], dtype=np.float32)

    found = near_duplicates(train, held, embed)
    assert sorted(found) == [0, 1] and found[1].how == "cosine 1.00"


def test_round_trip_keeps_what_the_reader_confirms_and_distills_its_answers() -> None:
    model = ScriptedModel(
        # the gadget page has one rule fact: the model asks about a sentence no rule read there
        writes={"Lumen Hub": "Which phone app does the Gadget 2 pair with?"},
        reads={
            "In what year was the Widget 7 launched?": "2001 [1]",  # the rule's first phrasing: kept
            "Which phone app does the Gadget 2 pair with?": "Lumen Hub",  # the model's question: kept
            "Who was the Widget 7 designed by?": "Omar Vell",  # the reader disagrees: dropped
            "In what year was the Gadget 2 launched?": "It launched in 1999",
        },
    )
    cfg = TrainsetConfig(round_trip="all", model_questions="on")
    ts = build_trainset(dataset(), cfg, model, Tok(), held_out=["When was the Gadget 2 sold?"])
    qa = {q.question: q for q in ts.recipes["qa"]}
    assert qa["In what year was the Widget 7 launched?"].answer == "2001"
    assert qa["When was the Widget 7 launched?"].answer == "2001"  # a template phrasing of a kept fact
    assert qa["Which phone app does the Gadget 2 pair with?"].metadata["origin"] == "model"
    assert not any("designed by" in q for q in qa)  # the reader said Omar Vell: the fact is dropped
    # the model wrote for the page the rules read little of (one fact), not for the widget page (three)
    assert sum("Write one question" in p for p in model.prompts) == 1
    # prompt distillation: the reader's answers (with the page) are the targets, disagreeing ones too
    distill = {q.question: q.answer for q in ts.recipes["distill"]}
    assert distill["In what year was the Widget 7 launched?"] == "2001"  # its citation marker stripped
    assert distill["Who was the Widget 7 designed by?"] == "Omar Vell"
    assert not any("weighs" in q or "weigh" in q for q in distill)  # "I don't know" teaches nothing
    assert ts.counts["dropped"]["round trip"] >= 2
    assert all(q.split == "train" and q.generated for q in ts.recipes["qa"])
    assert all(bool(q.sources) == (q.kind == "fact") for q in ts.recipes["qa"])


def test_by_default_only_the_models_pairs_must_survive_the_round_trip() -> None:
    model = ScriptedModel(
        writes={"Lumen Hub": "Which phone app does the Gadget 2 pair with?"},
        reads={"Who was the Widget 7 designed by?": "Omar Vell",  # disagrees with a rule: kept
               "Which phone app does the Gadget 2 pair with?": "Bluetooth"},  # with the model: dropped
    )  # fmt: skip
    ts = build_trainset(dataset(), TrainsetConfig(unanswerable=0, model_questions="on"), model, Tok())
    qa = {q.question: q for q in ts.recipes["qa"]}
    assert qa["Who was the Widget 7 designed by?"].answer == "Ana Lind"
    assert qa["Who was the Widget 7 designed by?"].metadata["reader_agreed"] is False
    assert "Which phone app does the Gadget 2 pair with?" not in qa
    assert ts.counts["dropped"] == {"round trip": 1}
    trip = ts.counts["rule_round_trip"]
    assert trip["asked"] == sum(q.metadata["reader_agreed"] is not None for q in qa.values()) > trip["agreed"]


def test_unanswerable_items_name_what_no_page_names() -> None:
    ts = build_trainset(dataset(), TrainsetConfig(recipes="qa", unanswerable=1.0))
    absent = [q for q in ts.recipes["qa"] if q.kind == "unanswerable"]
    assert absent and ts.counts["unanswerable"] == len(absent)
    pages = " ".join(d.text for d in dataset().docs.values())
    for q in absent:
        assert q.answer == "I don't know" and q.sources == () and q.metadata["rule"] == "absent"
        changed = q.metadata["evidence"].split(" -> ")[1]
        assert changed in q.question and changed not in pages


def test_guard_drops_lookalikes_of_held_out_questions() -> None:
    model = ScriptedModel({}, {"In what year was the Gadget 2 launched?": "1999"})
    held = ["In what year was the Gadget 2 launched?"]
    ts = build_trainset(dataset(), TrainsetConfig(max_spans_per_page=0, model_questions="off"), model, Tok(),
                        held_out=held)  # fmt: skip
    assert not any("Gadget 2 launched" in q.question for r in ts.recipes.values() for q in r)
    assert ts.counts["dropped"]["near-duplicate of a dev/test question"] >= 1
    assert ts.examples_dropped[0]["held_out"] == held[0]


def test_rules_only_without_a_model() -> None:
    ts = build_trainset(dataset(), TrainsetConfig(recipes="qa,distill"))
    assert set(ts.recipes) == {"qa"}  # distillation needs a model
    assert {q.answer for q in ts.recipes["qa"]} >= {"2001", "Ana Lind", "1999"}
    assert ts.counts["pages_covered"] == 2


def test_a_tiny_model_that_confirms_nothing_is_one_clear_error(tiny_model_dir) -> None:
    from compare.engines.hf import Engine
    from finetune.models import load_model

    model, tok = load_model(str(tiny_model_dir), "cpu")
    engine = Engine(model, tok, max_new_tokens=4, batch_size=8)
    cfg = TrainsetConfig(recipes="qa", model_questions="off", round_trip="all", unanswerable=0)
    ts = build_trainset(dataset(), cfg, engine, tok)
    assert ts.recipes["qa"] == [] and ts.counts["dropped"]["round trip"] == ts.counts["candidates"]
    with pytest.raises(DataError, match=r"no usable training data .* round trip: \d+"):
        check_usable(ts, dataset())
    # unanswerable items alone ("I don't know" to made-up names) are no training data either
    only_absent = build_trainset(dataset(), replace(cfg, unanswerable=1.0), engine, tok)
    assert {q.kind for q in only_absent.recipes["qa"]} == {"unanswerable"}
    with pytest.raises(DataError, match="no usable training data"):
        check_usable(only_absent, dataset())


def test_model_questions_auto_asks_a_large_enough_generator(tiny_model_dir) -> None:
    from compare.engines.hf import Engine
    from compare.trainset.build import writes_questions
    from finetune.models import load_model

    model, tok = load_model(str(tiny_model_dir), "cpu")
    engine = Engine(model, tok, max_new_tokens=4, batch_size=8)
    assert not writes_questions("auto", engine)  # a tiny model: far under the line
    assert writes_questions("on", engine) and not writes_questions("off", engine)
    assert TrainsetConfig(model_questions="false").model_questions == "off"  # the old boolean spelling
    ts = build_trainset(dataset(), TrainsetConfig(recipes="qa", round_trip="off"), engine, tok)
    assert ts.counts["model_questions"] is False
    assert not any(q.metadata["origin"] == "model" for q in ts.recipes["qa"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"mode": "sometimes"}, "`mode`"), ({"recipes": "qa,nope"}, "`recipes` has unknown"),
     ({"max_facts_per_page": -1}, "`max_facts_per_page`"), ({"reader_layout": "x"}, "`reader_layout`"),
     ({"round_trip": "yes"}, "`round_trip`"), ({"unanswerable": 1.5}, "`unanswerable`"),
     ({"model_questions": "sometimes"}, "`model_questions`")],
)  # fmt: skip
def test_config_names_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainsetConfig(**kwargs)


def test_cli_writes_auditable_training_data(run_cli, own_corpus, tmp_path) -> None:
    docs, qa = own_corpus
    out = tmp_path / "train.jsonl"
    rc, stdout, err = run_cli("data", "trainset", docs, "--qa", qa, "--out", out, "--rules-only")
    assert rc == 0, err
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert rows and all(r["split"] == "train" and r["generated"] and r["sources"] for r in rows)
    assert all(r["metadata"]["origin"] == "rule" and r["metadata"]["evidence"] for r in rows)
    assert f"{len(rows)} qa items" in stdout and "of 3 pages" in stdout
    # the items load as the train split of the same folder, with the user's questions beside them
    merged = tmp_path / "qa-with-train.jsonl"
    merged.write_text(qa.read_text() + out.read_text())
    rc, stdout, err = run_cli("data", "validate", docs, "--qa", merged)
    assert rc == 0, err
    rc, _, err = run_cli("data", "trainset", docs, "--out", out, "--rules-only")
    assert rc == 2 and "exists; pass --force" in err
    # a bundled dataset by name, as the help says
    rc, stdout, err = run_cli("data", "trainset", "tessaline", "--out", tmp_path / "t.jsonl", "--rules-only")
    assert rc == 0 and "of 44 pages" in stdout, err


def test_answers_taught_counts_a_question_only_from_its_own_page() -> None:
    from compare.trainset.build import answers_taught

    train = [
        QAItem("t1", "q?", "8420", sources=("install",)),
        QAItem("t2", "q?", "Mara Lind", sources=("faq",)),
    ]
    asked = [
        QAItem("a", "Which port?", "8420", sources=("install",)),  # taught
        QAItem("b", "Which port?", "8420", sources=("config",)),  # the same value on another page: not
        QAItem("c", "Who wrote it?", "Lind", aliases=("Mara Lind",), sources=("faq",)),  # via an alias
        QAItem("d", "Who funds it?", "", kind="unanswerable"),
    ]
    assert answers_taught(train, asked) == 2


def test_items_record_how_they_were_made() -> None:
    """Rules only: one item per phrasing of each fact, the phrasings of a fact sharing its fact id,
    each with its rule and evidence so a user can audit the training data."""
    ts = build_trainset(dataset(), TrainsetConfig(recipes="qa"))
    items = ts.recipes["qa"]
    assert (
        len(items) == ts.counts["candidates"] and len({q.fact_id for q in items}) == ts.counts["rule_facts"]
    )
    for q in items:
        assert q.split == "train" and q.generated and q.sources and q.sources[0] in PAGES
        assert q.metadata["origin"] == "rule" and q.metadata["rule"] == q.template.split("/")[0]
        assert q.metadata["evidence"] and q.metadata["evidence"] in PAGES[q.sources[0]].text


def test_the_generator_asks_most_where_the_rules_read_nothing() -> None:
    spans = [Span(page, f"a{i}", f"s{i}", "") for page in ("none", "one", "two") for i in range(10)]
    seeds = span_seeds(spans, 3, Counter({"one": 1, "two": 2}))
    assert Counter(c.doc_id for c in seeds) == {"none": 3 * EMPTY_PAGE_SEEDS, "one": 3}


def test_report_says_how_many_unanswerable_items_and_rule_agreements() -> None:
    from compare.trainset.report import extra_lines

    lines = extra_lines({"unanswerable": 4, "rule_round_trip": {"asked": 10, "agreed": 7}})
    assert "Unanswerable items" in lines[0] and ": 4." in lines[0]
    assert "7 of 10 rule items" in lines[1] and lines[-1] == ""
    assert extra_lines({"unanswerable": 0, "rule_round_trip": {"asked": 0, "agreed": 0}}) == []


# Every module the question rules live in (a new one must join the digest, or its changes would reuse
# stale cached data: corpus.qafilters once was missing); qagen is the separate `data qagen` command.
_CORPUS = Path(__file__).resolve().parents[3] / "corpus"
_RULE_MODULES = [
    *sorted(f"corpus.{p.stem}" for p in _CORPUS.glob("*.py") if re.fullmatch(r"qa(?!gen).*|.*rules", p.stem)),
    "corpus.absent",
    "corpus.trainset",
]


@pytest.mark.parametrize("module", _RULE_MODULES)
def test_a_changed_rule_module_remakes_the_cached_data(monkeypatch, module: str) -> None:
    import importlib
    from pathlib import Path

    from compare.trainset.stage import code_digest

    before = code_digest()
    target = Path(importlib.import_module(module).__file__)
    real = Path.read_text
    monkeypatch.setattr(
        Path, "read_text", lambda self, *a, **k: real(self, *a, **k) + ("#" if self == target else "")
    )
    assert code_digest() != before


def _dev(answer: str, page: str) -> QAItem:
    return QAItem(f"dev.{answer}", f"Which {answer}?", answer, sources=(page,), split="dev")


TAUGHT = [_dev("2001", "widget"), _dev("Ana Lind", "widget"), _dev("1999", "gadget")]
UNTAUGHT = _dev("blue", "widget")  # no rule reads a colour off the widget page


@pytest.mark.parametrize(
    ("dev", "questions", "untried"),
    [
        ([*TAUGHT[:2], UNTAUGHT], "off", "at most 2 of the 3 dev questions have their answer"),
        ([UNTAUGHT], "off", "no recipe's items hold the answer of any of the 1 dev questions"),
        (TAUGHT, "off", None),  # three taught: the trial can tell the recipes apart
        ([], "off", None),  # no dev given (ftrag data trainset): every recipe is made
        ([UNTAUGHT], "on", None),  # the model's own questions need the reader anyway
    ],
)
def test_the_reader_runs_only_for_a_trial_dev_can_decide(dev, questions, untried) -> None:
    model = ScriptedModel({}, {"In what year was the Widget 7 launched?": "2001"})
    cfg = TrainsetConfig(unanswerable=0, model_questions=questions, max_spans_per_page=1)
    ts = build_trainset(dataset(), cfg, model, Tok(), trial_dev=dev)
    if untried:
        assert untried in ts.counts["untried"] and "the reader was not run" in ts.counts["untried"]
        assert model.prompts == [] and set(ts.recipes) == {"qa"}
        assert ts.counts["rule_round_trip"] == {"asked": 0, "agreed": 0}
    else:
        assert "untried" not in ts.counts and set(ts.recipes) == {"qa", "distill"}
        assert any("Question: In what year was the Widget 7 launched?" in p for p in model.prompts)


def test_items_the_guard_drops_teach_nothing_so_no_trial_and_no_reader() -> None:
    """Every phrasing of the Gadget's launch year is a held-out question: with those gone the rules
    teach 2 of the 3 dev answers, so the reader is not run (before the guard it counted 3)."""
    model = ScriptedModel({}, {"In what year was the Widget 7 launched?": "2001"})
    cfg = TrainsetConfig(unanswerable=0, model_questions="off")
    held_out = ["In what year was the Gadget 2 launched?", "When was the Gadget 2 launched?",
                "What year was the Gadget 2 launched in?"]  # fmt: skip
    ts = build_trainset(dataset(), cfg, model, Tok(), held_out=held_out, trial_dev=TAUGHT)
    assert "at most 2 of the 3 dev questions" in ts.counts["untried"]
    assert model.prompts == [] and set(ts.recipes) == {"qa"}
    assert ts.counts["dropped"] == {"near-duplicate of a dev/test question": 3}
