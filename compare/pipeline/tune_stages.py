"""The adapters of a bench run and the dev tuning around them: each adapter trained (or loaded
from the stage cache), the ``sft`` adapter's recipe, learning rate and epochs, and the prompt knobs,
reader and abstention gate of every retrieving system (compare.pipeline.tuning holds the trials)."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from compare.answering.readers import READERS, parse_readers
from compare.answering.routing import UNTUNED_ROUTE
from compare.answering.specs import SYSTEMS, ComposedSpec, SystemSpec, is_composed
from compare.answering.systems import cached_answers
from compare.harness.run_record import Facts, adapter_folder, merge_facts
from compare.harness.stages import StageCache, digest
from compare.pipeline.reader import distill_examples, raft_examples
from compare.pipeline.route import choose_route, route_effects, route_line
from compare.pipeline.tuning import Tuner
from compare.trainset.build import answers_taught
from compare.trainset.config import MIN_TAUGHT_DEV, untaught_reason
from compare.trainset.stage import with_train
from corpus.model import Dataset
from finetune.config import TrainConfig
from retrieval.context import Context, rag_messages

log = logging.getLogger(__name__)


def style_description(ds: Dataset) -> str | None:
    """The house style in words, as prompted systems are told it (``None`` without one)."""
    style = ds.meta.get("house_style")
    return style.get("description") if isinstance(style, dict) else None


# Tokens of a RAFT example besides its context: system prompt, question, markup, cited answer.
RAFT_PROMPT_TOKENS = 384


def adapter_stage(
    ds: Dataset, name: str, configs: dict, retriever: Any, cache: StageCache,
    kwargs: dict | None = None, train: TrainConfig | None = None, stop_epochs: int | None = None,
) -> tuple[Path, Facts]:  # fmt: skip
    """The cached adapter ``name`` (``sft``: questions closed book; a reader trained with contexts,
    compare.answering.readers: questions with retrieved contexts and cited answers, in the prompt
    the RAG system uses, besides the closed-book pairs; others: the trainer arguments in
    ``kwargs``, e.g. a replay mix or the adapter a continued training starts from), and its card
    and seconds as facts."""
    train, kwargs = train or configs["train"], dict(kwargs or {})
    reader = READERS.get(name)
    if reader and reader.contexts:
        system = rag_messages("", Context("", (), (), 0, 0), style_description(ds))[0]["content"]
        b = configs["bench"]
        if "raft" not in kwargs:  # a distilled reader's come with it (compare.pipeline.reader)
            kwargs["raft"] = raft_examples(
                ds, retriever, b.context_k, b.context_budget, b.seed, b.raft_no_oracle
            )
        kwargs["raft_system"] = system
        # room for the whole context (up to context_budget tokens) besides the system prompt, the
        # question, the chunk markup and the answer: at 384 tokens 228 of the quick bench's 234 RAFT
        # examples were cut, and the adapter learned to answer "I don't know" to everything
        train = replace(train, max_length=max(train.max_length, b.context_budget + RAFT_PROMPT_TOKENS))
        if reader.continues:  # a short training on from the adapter in kwargs["init_adapter"]
            train = replace(train, epochs=b.mix_epochs)
    until = f" (the first {stop_epochs})" if stop_epochs else ""
    log.info(f"\n[adapter:{name}] {train.epochs} epochs{until}, lr {train.lr}, batch {train.batch_size}")
    path, card = cache.adapter(ds, train, name, kwargs, stop_epochs=stop_epochs)
    log.info(
        f"[adapter:{name}] {'cached' if card['cached'] else 'trained'}: {card['train_seconds']:.0f} s "
        f"training, dev loss {[round(x, 3) for _, x in card['dev_loss']]}"
    )
    return path, {
        "adapters": {name: {k: v for k, v in card.items() if k != "train_loss"}},
        "stage_seconds": {f"adapter:{name}": round(card["wall_seconds"], 1)},
    }


def recipe_config(train: TrainConfig, recipe: str) -> TrainConfig:
    """The training config of a generated-data recipe (``docs`` adds the pages as continuation)."""
    return replace(train, include_docs=True) if recipe == "docs" else train


def tuned_sft(
    ds: Dataset, configs: dict, res: Any, cache: StageCache, recipes: dict, untried: str | None = None
) -> tuple[Path, Facts]:
    """The ``sft`` adapter at the learning rate and epoch dev accuracy chose (compare.pipeline.tuning); with
    generated training data, the recipe too (each trains a few epochs, the best goes on). ``untried``:
    why the trainset stage already ruled out trying its recipes."""
    seconds: dict[str, float] = {}  # each trial's training time; the adapter's card is the chosen one's

    def trainer(data: Dataset) -> Any:
        """What the tuner calls to train (or load) the adapter of ``data`` with a given config."""

        def train_adapter(cfg: TrainConfig, stop_epochs: int | None) -> tuple[Path, dict]:
            _, facts = adapter_stage(data, "sft", configs, res.retriever, cache, None, cfg, stop_epochs)
            seconds.update(facts["stage_seconds"])
            card = facts["adapters"]["sft"]
            return Path(card["path"]), card

        return train_adapter

    t0 = time.perf_counter()
    tuner = Tuner(ds, configs, res, cache)
    chosen = None
    if untried:  # decided before the reader ran (trainset.build)
        tuner.keep_untried(next(iter(recipes)), untried)
    elif len(recipes) > 1:
        probe = partial(probe_recipe, ds, recipes, configs, trainer)
        chosen = tuner.recipe(list(recipes), probe, lambda name, qs: answers_taught(recipes[name], qs))
        ds = with_train(ds, recipes[chosen])
        configs["train"] = recipe_config(configs["train"], chosen)
    taught = answers_taught(ds.questions("train"), tuner.questions) if recipes else MIN_TAUGHT_DEV
    if taught < MIN_TAUGHT_DEV:  # generated data that holds (almost) no dev answer
        why = untaught_reason(taught, len(tuner.questions))  # the tuning sample: answerable questions
        folder, card = tuner.ft_by_loss(trainer(ds), why)
    else:
        folder, card = tuner.ft(trainer(ds))
    seconds["tune:ft"] = round(time.perf_counter() - t0, 1)
    facts = {**tuner.facts, "adapters": {"sft": card | {"adapter": str(folder)}}, "stage_seconds": seconds}
    return folder, facts | ({"trainset": {"recipe": chosen}} if chosen else {})


def probe_recipe(ds: Dataset, recipes: dict, configs: dict, trainer: Any, name: str) -> tuple[Path, dict]:
    """A few epochs (the lr probe's) of the adapter trained on recipe ``name``'s items."""
    bench, train = configs["bench"], configs["train"]
    probe = bench.tune_probe_epochs if 0 < bench.tune_probe_epochs < train.epochs else train.epochs
    _, card = trainer(with_train(ds, recipes[name]))(recipe_config(train, name), probe)
    return Path(card["path"]) / "epochs" / str(min(probe, card["epochs_done"])), card


def is_hybrid(spec: SystemSpec) -> bool:
    """A system whose closed-book adapter reads retrieved chunks: its reader is a dev choice."""
    return spec.retrieval and spec.adapter == "sft"


def continued_reader(
    ds: Dataset, name: str, configs: dict, res: Any, cache: StageCache, start: str, index_key: str
) -> tuple[Path, Facts]:
    """Reader ``name`` trained on from the adapter folder ``start`` (compare.answering.readers), at
    the configured learning rate; where it has a teacher, its in-context targets are the teacher's
    answers with the knobs ``res`` has for it now (dev-tuned where the teacher system was tuned
    before the hybrid, as in the default system order; else its defaults)."""
    reader, kwargs = READERS[name], {"init_adapter": start}
    if reader.teacher:
        rcfg, train = configs["retrieval"], configs["train"]
        model = digest(train.model, train.dtype, train.device, res.engine_id)
        key = digest("teacher", index_key, rcfg.retriever, rcfg.rrf_k, model)
        kwargs["raft"] = distill_examples(ds, reader.teacher, res, cache, key)
    return adapter_stage(ds, name, configs, res.retriever, cache, kwargs)


def taught_readers(
    ds: Dataset, configs: dict, res: Any, cache: StageCache, keys: dict, cards: dict, readers: list
) -> Facts:
    """The readers with a teacher not trained yet (compare.pipeline.bench leaves them to dev
    tuning, so a teacher tuned before the hybrid answers with the knobs dev chose for it), trained
    and put on the model; their cards and seconds as facts, their keys added to ``keys``."""
    facts: Facts = {}
    for name in (r for r in readers if r not in res.adapters):
        start = str(adapter_folder(cards[READERS[name].continues]))
        path, trained = continued_reader(ds, name, configs, res, cache, start, keys["index"])
        res.add_adapter(name, path)
        keys[name] = trained["adapters"][name]["key"]
        merge_facts(facts, trained)
    return facts


def tune_prompts(
    ds: Dataset, configs: dict, specs: list, res: Any, cache: StageCache, keys: dict, cards: dict
) -> tuple[list[SystemSpec], Facts]:
    """Prompt knobs of every retrieving system chosen on dev (they stay set in ``res.tuned``), the
    hybrid's reader among ``bench.hybrid_readers`` (``cards``: the trained adapters' cards, those a
    reader is trained on from); returns the systems as dev chose them, and the trials and any
    reader trained here as facts."""
    t0 = time.perf_counter()
    tuner, trained, training = Tuner(ds, configs, res, cache), {}, 0.0

    def key(spec: SystemSpec) -> str:
        return digest(keys.get(spec.adapter or "", ""), keys["index"], keys["retriever"], keys["model"])

    out = []
    read_by_composed = {p for s in specs if is_composed(s) for p in s.parts}
    for spec in specs:
        if is_composed(spec):
            spec = tuned_route(tuner, spec, {s.name: s for s in out}, key)
        elif spec.retrieval:
            log.info(f"\n[tune:{spec.name}] prompt knobs on dev")
            readers = parse_readers(configs["bench"].hybrid_readers) if is_hybrid(spec) else []
            if len(readers) > 1 or (readers and readers[0] != spec.adapter):  # one other reader: it
                t1 = time.perf_counter()
                merge_facts(trained, taught_readers(ds, configs, res, cache, keys, cards, readers))
                training += time.perf_counter() - t1
                spec = tuner.reader(spec, key, readers)
                closed_book_check(tuner, spec, key)
            else:
                tuner.prompts(spec, key(spec))
            if configs["bench"].abstain_gate:
                tuner.abstention(spec, key(spec), spec.name in read_by_composed)
        out.append(spec)
    seconds = round(time.perf_counter() - t0 - training, 1)  # the readers' training is their own stage
    return out, merge_facts({**tuner.facts, "stage_seconds": {"tune:prompts": seconds}}, trained)


def closed_book_check(tuner: Any, spec: SystemSpec, key: Any) -> None:
    """Where the hybrid's reader is the closed-book adapter trained on (``mix``, ``distill``), its
    closed-book dev accuracy beside the adapter it came from: as good, and one adapter could serve
    both ft and the hybrid. Recorded with the reader choice (the report's reader note)."""
    start = READERS[spec.adapter].continues
    if not start:
        return
    accuracy = {}
    for name in (start, spec.adapter):
        closed = replace(SYSTEMS["ft"], name="ft@tune", adapter=name)
        accuracy[name] = round(tuner.score(closed, key(closed))[0], 4)
    tuner.out["systems"][spec.name]["reader"]["closed_book"] = accuracy
    said = ", ".join(f"{n} {a:.3f}" for n, a in accuracy.items())
    log.info(f"[tune:{spec.name}] closed book on dev: {said}")


def untuned_route(spec: ComposedSpec, bench: Any) -> ComposedSpec:
    """The routed system with the configured rule (``auto`` without dev tuning: the default rule)."""
    return replace(spec, rule=UNTUNED_ROUTE if bench.route == "auto" else bench.route)


def tuned_route(tuner: Any, spec: ComposedSpec, parts: dict[str, SystemSpec], key: Any) -> ComposedSpec:
    """The routed system with the rule dev chooses (compare.pipeline.route) from its parts' dev
    answers: RAG's as tuned and gated (cached from its trials), the adapter's answered now (cached
    after); the rules' dev accuracy and abstention are recorded in the tuning facts."""
    bench = tuner.configs["bench"]
    if bench.route != "auto":
        tuner.out.setdefault("routes", {})[spec.name] = {
            "chosen": bench.route,
            "reason": "set by bench.route",
        }
        return untuned_route(spec, bench)
    rag, ft = (parts[p] for p in spec.parts)
    qs, rag_answers, _ = tuner.dev_set(rag, key(rag))
    # gated where dev chose a gate (compare.pipeline.abstain): as rag gives them, and as the rules read them
    own = tuner.dev_answers.get(rag.name, rag_answers)
    rag_answers = tuner.part_dev_answers.get(rag.name, own)
    ft_spec = replace(ft, name=f"{ft.name}@tune")
    ft_answers, seconds = cached_answers(tuner.cache, ft_spec, qs, tuner.res, digest("tune", key(ft)))
    ds, res = tuner.ds, tuner.res
    effects = route_effects(qs, rag_answers, ft_answers, ds.abstain_reply, tuner.style, res.chunk_text, own)
    rule, why = choose_route(effects, bench.abstain_max_drop)
    unanswerable = sum(q.kind == "unanswerable" for q in qs)
    tuner.out.setdefault("routes", {})[spec.name] = {
        "chosen": rule, "reason": why, "questions": len(qs), "unanswerable": unanswerable,
        "rules": {r: {"accuracy": round(a, 4), "abstention": None if ab != ab else round(ab, 4)}
                  for r, (a, ab) in effects.items()},
        "seconds": round(seconds, 1),
    }  # fmt: skip
    log.info(f"[tune:{spec.name}] route on {len(qs)} dev questions: {route_line(rule, effects)}")
    return replace(spec, rule=rule)
