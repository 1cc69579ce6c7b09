"""Dev tuning: the selection functions on hand-made scores, and the tuner never reading test."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from compare.answering.specs import SystemSpec
from compare.config import BenchConfig
from compare.pipeline.tuning import (
    Trial,
    Tuner,
    choose_retriever,
    coordinate_search,
    parse_list,
    pick,
    prompt_axes,
    tune_sample,
)
from corpus.model import Dataset, QAItem
from finetune.config import TrainConfig


def test_pick_takes_the_best_and_a_tie_keeps_the_earlier() -> None:
    trials = [Trial({"k": 1}, 0.5, 1), Trial({"k": 2}, 0.7, 1), Trial({"k": 3}, 0.7, 1)]
    assert pick(trials).knobs == {"k": 2}
    assert pick(trials[:1]).knobs == {"k": 1}
    with pytest.raises(ValueError):
        pick([])


SURFACES = {
    # (shots, k) -> dev accuracy; coordinate search moves one knob at a time from (3, 1)
    "k helps": ({(3, 1): 0.4, (1, 1): 0.3, (0, 1): 0.2, (3, 3): 0.6, (1, 3): 0.9}, {"shots": 3, "k": 3}),
    "shots help": ({(3, 1): 0.4, (1, 1): 0.5, (0, 1): 0.2, (1, 3): 0.45, (3, 3): 0.3}, {"shots": 1, "k": 1}),
    "all equal": ({}, {"shots": 3, "k": 1}),
}


@pytest.mark.parametrize("name", list(SURFACES))
def test_coordinate_search_follows_one_knob_at_a_time(name: str) -> None:
    table, expected = SURFACES[name]
    calls = []

    def evaluate(knobs: dict[str, Any], bar: float) -> Trial:
        calls.append(dict(knobs))
        return Trial(knobs, table.get((knobs["shots"], knobs["k"]), 0.1), 1.0)

    axes = [[{"shots": 3}, {"shots": 1}, {"shots": 0}], [{"k": 1}, {"k": 3}]]
    chosen, trials = coordinate_search({"shots": 3, "k": 1}, axes, evaluate)
    assert chosen == expected
    assert len(calls) == len({tuple(sorted(c.items())) for c in calls}) == 4  # each setting once
    assert trials[0].knobs == {"shots": 3, "k": 1} and [t.knobs for t in trials] == calls


def qa(i: int, split: str, kind: str = "fact") -> QAItem:
    return QAItem(
        f"q{i:02d}", f"question {i}?", "" if kind == "unanswerable" else f"a{i}", split=split, kind=kind
    )


def test_tune_sample_is_answerable_seeded_and_sorted() -> None:
    items = [qa(i, "dev") for i in range(20)] + [qa(99, "dev", "unanswerable")]
    a, b = tune_sample(items, 8, 0), tune_sample(items, 8, 0)
    assert [q.id for q in a] == [q.id for q in b] == sorted(q.id for q in a) and len(a) == 8
    assert all(q.kind != "unanswerable" for q in a) and tune_sample(items, 8, 1) != a
    assert len(tune_sample(items, 0, 0)) == len(tune_sample(items, 50, 0)) == 20


def test_choose_retriever_by_mrr_and_a_tie_keeps_the_configured() -> None:
    m = {"bm25": {"mrr@10": 0.9}, "dense": {"mrr@10": 1.0}, "hybrid": {"mrr@10": 1.0}}
    assert choose_retriever(m, "dense") == "dense" and choose_retriever(m, "hybrid") == "hybrid"
    assert choose_retriever(m, "bm25") == "dense"  # configured loses; first of the tied others
    assert choose_retriever({}, "dense") == "dense"


def test_prompt_axes_leave_out_examples_for_a_system_without_them() -> None:
    rag = SystemSpec("rag", None, True, "")
    raft = SystemSpec("raft", "raft", True, "", examples=False)
    assert len(prompt_axes(rag, ["few-shot", "completion"], [1, 3])) == 2
    assert prompt_axes(raft, ["few-shot"], [1, 3]) == [[{"k": 1}, {"k": 3}]]
    assert parse_list("1, 3,,") == ["1", "3"] and parse_list("2e-3,5e-4", float) == [0.002, 0.0005]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tune_prompts", "few-shot,zero-shot", "`tune_prompts` has unknown"),
        ("tune_k", "1,0", "`tune_k` has a bad value '0'"),
        ("tune_lrs", "2e-3,fast", "`tune_lrs` has a bad value 'fast'"),
        ("tune_budgets", "-5", "`tune_budgets` has a bad value"),
        ("tune_questions", -1, "`tune_questions` must be >= 0"),
        ("rag_layout", "xml", "`rag_layout` must be"),
        ("abstain_signals", "support,magic", "`abstain_signals` must list some of support, grounding"),
        ("abstain_signals", " , ", "`abstain_signals` must list some of"),
    ],
)
def test_bad_tuning_config_names_the_field(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        BenchConfig(**{field: value})


class DevOnly(Dataset):
    """A dataset that fails the test if anything asks for another split's questions."""

    def questions(self, split: str | None = None) -> list[QAItem]:
        assert split == "dev", f"tuning read the {split!r} split"
        return super().questions(split)


def tuner(table: dict[tuple, float], bench: BenchConfig, train: TrainConfig) -> Tuner:
    ds = DevOnly("d", {}, [qa(i, s) for i in range(12) for s in ("dev", "test", "train")])
    res = SimpleNamespace(add_adapter=lambda name, path: None)
    t = Tuner(ds, {"bench": bench, "train": train}, res, None)
    # score by the adapter's (lr, epoch) from its name, as a hand-made dev accuracy table
    t.score = lambda spec, key: (table[_lr_epoch(spec.adapter)], 10.0)
    return t


def _lr_epoch(name: str) -> tuple[float, int]:
    lr, epoch = name.removeprefix("sft-lr").split("-e")
    return float(lr.replace("p", ".")), int(epoch)


def fake_training(trained: list) -> Any:
    def train_adapter(cfg: TrainConfig, stop: int | None) -> tuple[Path, dict]:
        trained.append((cfg.lr, stop))
        done = stop or cfg.epochs
        return Path("x"), {"path": f"/c/{cfg.lr}", "key": f"k{cfg.lr}", "epochs_done": done,
                           "train_seconds": 100.0 * done, "config": {"lr": cfg.lr}}  # fmt: skip

    return train_adapter


def test_ft_probes_each_lr_then_continues_the_best_and_picks_the_epoch() -> None:
    table = {(0.002, e): 0.1 * e for e in range(1, 5)} | {(0.0005, e): 0.05 * e for e in range(1, 5)}
    table[(0.002, 3)] = 0.9  # the best epoch is not the last
    trained: list = []
    t = tuner(table, BenchConfig(tune_probe_epochs=2, tune_patience=0), TrainConfig(lr=2e-3, epochs=4))
    folder, card = t.ft(fake_training(trained))
    assert trained == [(0.002, 2), (0.0005, 2), (0.002, None)]  # probes, then only the winner goes on
    assert str(folder) == "/c/0.002/epochs/3" and card["epoch"] == 3
    ft = t.out["systems"]["ft"]
    assert ft["chosen"] == {"lr": 0.002, "epochs": 3} and ft["dev_accuracy"] == 0.9
    assert ft["default"] == {"lr": 0.002, "epochs": 4} and ft["default_dev_accuracy"] == pytest.approx(0.4)
    # budget: every dev answering (2 probes + 3 further epochs) and the losing lr's probe training
    assert len(ft["trials"]) == 5 and ft["seconds"] == 5 * 10.0 + 200.0
    assert all(q.split == "dev" for q in t.questions) and len(t.questions) == 12


def test_ft_tie_between_epochs_keeps_the_fewer_and_without_probing_trains_each_lr() -> None:
    table = {(lr, e): 0.5 for lr in (0.002, 0.0005) for e in range(1, 4)}
    trained: list = []
    t = tuner(table, BenchConfig(tune_probe_epochs=0, tune_patience=0), TrainConfig(lr=2e-3, epochs=3))
    _, card = t.ft(fake_training(trained))
    assert trained == [(0.002, None), (0.0005, None)] and card["epoch"] == 1
    assert t.out["systems"]["ft"]["seconds"] == 6 * 10.0 + 300.0  # the losing lr's full training
    # after probing, the probe's epoch is scored first; a tie with an earlier epoch still takes it
    table = {(lr, e): 0.5 for lr in (0.002, 0.0005) for e in range(1, 5)}
    t = tuner(table, BenchConfig(tune_probe_epochs=2, tune_patience=0), TrainConfig(lr=2e-3, epochs=4))
    _, card = t.ft(fake_training([]))
    assert card["epoch"] == 1


@pytest.mark.parametrize(
    ("curve", "trained_to", "chosen"),
    [
        ([0.3, 0.1, 0.2, 0.2, 0.9, 0.9], 4, 1),  # three epochs without a gain: stop, keep epoch 1
        ([0.1, 0.1, 0.1, 0.2, 0.2, 0.3], 6, 6),  # a gain within every three epochs: to the end
        ([0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 4, 1),  # nothing learnt: four epochs, not six
    ],
)
def test_ft_stops_when_dev_accuracy_stops_rising(curve: list, trained_to: int, chosen: int) -> None:
    table = {(0.002, e): acc for e, acc in enumerate(curve, 1)}
    trained: list = []
    t = tuner(table, BenchConfig(tune_lrs="2e-3", tune_patience=3), TrainConfig(lr=2e-3, epochs=6))
    _, card = t.ft(fake_training(trained))
    # one epoch at a time, each resuming the last (the last call trains to the end of the schedule)
    assert trained == [(0.002, e if e < 6 else None) for e in range(1, trained_to + 1)]
    assert card["epoch"] == chosen and len(t.out["systems"]["ft"]["trials"]) == trained_to


def loss_training(curve: list, trained: list) -> Any:
    """A training whose dev loss after epoch e is ``curve[e - 1]``."""

    def train_adapter(cfg: TrainConfig, stop: int | None) -> tuple[Path, dict]:
        trained.append(stop)
        done = stop or cfg.epochs
        return Path("x"), {"path": "/c", "key": "k", "epochs_done": done, "train_seconds": 100.0 * done,
                           "dev_loss": [(e, curve[e - 1]) for e in range(1, done + 1) if curve]}  # fmt: skip

    return train_adapter


@pytest.mark.parametrize(
    ("curve", "trained_to", "chosen"),
    [
        # tune_patience 3, capped at LOSS_PATIENCE (2) epochs without a lower loss
        ([2.7, 2.9, 3.7, 3.6, 3.6, 3.5, 3.5], 3, 1),  # the generated Django data's: best at once, then up
        ([2.0, 1.8, 1.9, 1.7, 1.9, 1.95, 1.96], 6, 4),  # a lower loss within every two, then two up
        ([2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4], 7, 7),  # falling to the end of the schedule
        ([2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0], 3, 1),  # equal is no gain; a tie keeps the earlier
    ],
)
def test_ft_by_loss_stops_and_chooses_by_dev_loss_and_scores_only_the_choice(curve, trained_to, chosen):
    table = {(0.002, e): 0.04 for e in range(1, 8)}
    trained: list = []
    t = tuner(table, BenchConfig(tune_patience=3), TrainConfig(lr=2e-3, epochs=7))
    folder, card = t.ft_by_loss(loss_training(curve, trained), "at most 2 of the 27 dev questions")
    assert trained == [e if e < 7 else None for e in range(1, trained_to + 1)]
    assert card["epoch"] == chosen and str(folder) == f"/c/epochs/{chosen}"
    ft = t.out["systems"]["ft"]
    assert len(ft["trials"]) == 1 and ft["chosen"] == {"lr": 0.002, "epochs": chosen}
    assert list(ft["dev_loss"]) == [str(e) for e in range(1, trained_to + 1)]
    assert "lowest dev loss" in ft["note"] and "at most 2 of the 27" in ft["note"]


def test_ft_by_loss_without_a_dev_loss_falls_back_to_accuracy():
    table = {(0.002, e): 0.1 * e for e in range(1, 4)}
    t = tuner(table, BenchConfig(tune_lrs="2e-3", tune_patience=0), TrainConfig(lr=2e-3, epochs=3))
    _, card = t.ft_by_loss(loss_training([], []), "why")
    assert card["epoch"] == 3 and len(t.out["systems"]["ft"]["trials"]) == 3


def test_prompt_tuning_sets_the_chosen_knobs_and_reads_only_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    from compare.answering.systems import PromptKnobs

    # the rendered prompt: one-shot and few-shot differ, "completion" renders like one-shot here
    # (as it does for a model without a chat template), so it is not answered again
    def render(spec: SystemSpec, questions: list, res: Any) -> tuple[list[str], list, float]:
        knobs = res.tuned.get("rag", {})
        return [f"{knobs.get('shots', 3)}-{knobs.get('k', 1)}"], [None], 0.0

    monkeypatch.setattr("compare.pipeline.tuning.build_prompts", render)

    class Res(SimpleNamespace):
        def knobs(self, spec: SystemSpec) -> PromptKnobs:
            return PromptKnobs(1, 512, 3, "auto")

    res = Res(tuned={})
    ds = DevOnly("d", {}, [qa(i, s) for i in range(6) for s in ("dev", "test")])
    bench = BenchConfig(tune_prompts="few-shot,one-shot,completion", tune_k="1,3")
    t = Tuner(ds, {"bench": bench}, res, None)
    seen = []

    def raced(spec: SystemSpec, key: str, knobs: dict, bar: float) -> Trial:
        seen.append(res.tuned.get("rag", {}))
        return Trial(knobs, 0.8 if seen[-1] == {"shots": 1} else 0.4, 2.0)

    t.raced = raced
    chosen = t.prompts(SystemSpec("rag", None, True, ""), "key")
    assert chosen == {"k": 1, "context_budget": 512, "shots": 1, "layout": "auto"}
    assert res.tuned["rag"] == {"shots": 1}  # only what differs from the defaults
    assert seen == [{}, {"shots": 1}, {"shots": 1, "k": 3}]  # completion: same prompt as few-shot, not run
    rag = t.out["systems"]["rag"]
    assert len(rag["trials"]) == 4 and rag["seconds"] == 6.0
    assert rag["trials"][2]["label"].startswith("same prompt as") and rag["trials"][2]["seconds"] == 0


@pytest.mark.parametrize(
    ("taught", "probed", "chosen"),
    [
        ({"qa": 0, "distill": 3}, ["qa", "distill"], "distill"),  # dev can tell: both probed, best wins
        ({"qa": 0, "distill": 0}, [], "qa"),  # no dev answer in any recipe: the first, untried
        ({"qa": 1, "distill": 2}, [], "qa"),  # one or two: within noise, the first, untried
    ],
)
def test_recipe_is_chosen_on_dev_only_where_dev_can_tell(taught: dict, probed: list, chosen: str) -> None:
    t = tuner({}, BenchConfig(), TrainConfig())
    t.score = lambda spec, key: ({"sft-recipe-qa": 0.1, "sft-recipe-distill": 0.4}[spec.adapter], 5.0)
    calls: list = []

    def probe(name: str) -> tuple[Path, dict]:
        calls.append(name)
        return Path(name), {"key": name, "train_seconds": 1.0}

    assert t.recipe(["qa", "distill"], probe, lambda name, qs: taught[name]) == chosen
    assert calls == probed and t.out["recipe"]["chosen"] == chosen
    assert bool(t.out["recipe"].get("skipped")) is (not probed)


@pytest.mark.parametrize("read_by_composed", [True, False])
def test_a_quoted_gate_gives_the_routed_hybrid_rags_answers_through_the_plain_signal(read_by_composed):
    """Dev chooses ``names+quoted`` for rag (the made-up "20 hour" is on no page); where the routed
    hybrid reads rag, it gets rag's dev answers through the best plain signal, which strikes nothing."""
    from compare.harness.records import Answer

    def no_embed(texts: Any) -> Any:
        raise AssertionError("names needs no embedding")

    chunks = {"ulsa#0": "The Ulsa 11 has a 12 hour battery."}
    qs = [
        QAItem("a", "How long does the Ulsa 11 battery last?", "12 hour", split="dev"),
        QAItem("u", "How long does the Ulsa 11 charger last?", "", split="dev", kind="unanswerable"),
    ]
    answers = [
        Answer("a", "rag", "12 hour [1]", ["ulsa#0"], ["ulsa"], ["ulsa#0"]),
        Answer("u", "rag", "20 hour [1]", ["ulsa#0"], ["ulsa"], ["ulsa#0"]),  # on no page
    ]
    res = SimpleNamespace(embed=no_embed, chunk_text=chunks, gates={}, part_gates={})
    bench = BenchConfig(abstain_signals="names", abstain_quoted=True)
    t = Tuner(Dataset("d", {}, qs), {"bench": bench}, res, None)
    t.dev_set = lambda spec, key: (qs, answers, 1.0)
    t.out["systems"]["rag"] = {}
    t.abstention(SystemSpec("rag", None, True, ""), "key", read_by_composed)
    assert res.gates["rag"][0] == "names+quoted"
    assert [a.text for a in t.dev_answers["rag"]] == ["12 hour [1]", "I don't know"]
    record = t.out["systems"]["rag"]["abstain"]
    assert record["abstention"] == 1.0 and record["accuracy"] == record["accuracy_before"] == 1.0
    if read_by_composed:
        assert res.part_gates["rag"] == ("names", float("-inf"))
        assert [a.text for a in t.part_dev_answers["rag"]] == ["12 hour [1]", "20 hour [1]"]
        assert record["part_gate"]["signal"] == "names" and record["part_gate"]["threshold"] is None
    else:
        assert res.part_gates == {} and t.part_dev_answers == {} and "part_gate" not in record
