"""The scenarios teams decide on, run after the main comparison: freshness (the knowledge changes),
forgetting (what fine-tuning breaks) and house style.

Freshness applies the dataset's update version: RAG re-indexes only the changed pages; FT either
stays as it is (stale) or continues training on the changed facts with a replay of unchanged ones.
Every system is scored on the changed questions before and after, on a sample of unchanged ones
after, and the time each update took is recorded. Forgetting keeps the general probes the base
model answers and counts how many each adapter still answers, with and without a replay mix, plus
the drift (KL) on general text. Style reads the main run's compliance per system.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from compare.answering.routing import UNTUNED_ROUTE, compose, uses_adapter
from compare.answering.specs import SYSTEMS, SystemSpec, is_composed
from compare.answering.systems import Resources, cached_answers
from compare.harness.records import Answer
from compare.harness.run_record import adapter_folder, merge_facts
from compare.harness.stages import digest
from compare.scenarios.probes import (
    Probe,
    drift,
    load_probes,
    probe_correct,
    probes_dir,
    retention,
    select_kept,
)
from compare.scenarios.registry import scenarios
from compare.scoring import scorers as S
from compare.scoring.scorers import missing
from corpus.model import Dataset, QAItem
from retrieval.embed import Embedder
from retrieval.search import make_retriever

log = logging.getLogger(__name__)


@dataclass
class ScenarioContext:
    """What the scenarios need from the bench: datasets, configs, the main answers, the loaded
    model (adapters are added to it), the stage cache, the adapters' cards and a way to train a
    cached adapter. What the scenarios' training adds (cards, seconds) collects in ``facts``."""

    ds: Dataset  # as benched (first N facts)
    full: Dataset  # as loaded, with its update versions
    configs: dict[str, Any]
    answers: dict[str, tuple[list, list]]
    res: Resources
    cache: Any
    keys: dict[str, str]
    adapters: dict[str, Any]  # name -> card, as the run's summary records them
    index_path: str | None
    train_adapter: Callable[..., tuple[Path, dict]]  # (dataset, name, kwargs, train | None) -> folder, facts
    first_facts: Callable[[Dataset, int], Dataset]
    replay_count: int = 0
    # The systems as dev tuning left them (the hybrid's reader); a name not here is the registry's.
    specs: dict[str, SystemSpec] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def embedder(self) -> Any:
        """An embedder of the index's model without the embedding cache, so the re-index time is
        what a real update costs (the cache may already hold the changed pages from an earlier run)."""
        return Embedder.from_config(self.configs["retrieval"], use_cache=False)

    def _train(self, data: Dataset, name: str, kwargs: dict | None, train: Any) -> None:
        """Train (or load) adapter ``name`` and put it on the model beside the others."""
        path, facts = self.train_adapter(data, name, kwargs, train)
        merge_facts(self.facts, facts)
        self.adapters[name] = facts["adapters"][name]
        self.res.add_adapter(name, path)
        self.keys[name] = self.adapters[name]["key"]

    def train_update(self, data: Dataset) -> dict[str, Any]:
        """Continued training of the ``sft`` adapter on ``data`` (the changed facts + replay)."""
        bench, train = self.configs["bench"], self.configs["train"]
        train = replace(train, epochs=bench.update_epochs or train.epochs)
        sft = self.adapters["sft"]
        start = adapter_folder(sft)
        self._train(data, "sft-update", {"init_adapter": str(start)}, train)
        return self.adapters["sft-update"]

    def forgetting_adapters(self) -> dict[str, str]:
        """Adapter names per label: the ``ft`` adapter and, if configured, one trained the same way
        with general replay examples mixed in."""
        out = {"ft": "sft"} if "sft" in self.res.adapters else {}
        if out and self.configs["bench"].forgetting_replay:
            pairs = replay_pairs(probes_dir() / "replay.jsonl")
            self.replay_count = len(pairs)
            self._train(self.ds, "sft-replay", {"replay": pairs}, None)
            out["ft + replay"] = "sft-replay"
        return out


def replay_pairs(path: Path) -> list[tuple[str, str]]:
    """General (question, answer) pairs for the replay mix; disjoint from the probes by design."""
    return [(p.question, p.answer) for p in load_probes(path) if p.check != "regex"]


def run_scenarios(ctx: ScenarioContext) -> dict[str, Any]:
    """The ``after`` scenarios the bench names (compare.scenarios.registry), each timed; the
    ``scored`` ones (style) run from the scored answers in the report."""
    out: dict[str, Any] = {}
    for scenario in scenarios("after", ctx.configs["bench"].scenario_names):
        log.info(f"\n[scenario:{scenario.name}]")
        t0 = time.perf_counter()
        out[scenario.name] = scenario.runner()(ctx)
        out[scenario.name]["seconds"] = round(time.perf_counter() - t0, 1)
        log.info(f"[scenario:{scenario.name}] done in {out[scenario.name]['seconds']:.0f} s")
    return out


def stale_answer(text: str, old: str | None, golds: Sequence[str], question: str = "") -> bool:
    """An answer that still gives the value before the change (and not the new one)."""
    if not old:
        return False
    return bool(S.contains_gold(text, [old], question)) and not S.contains_gold(text, golds, question)


def fresh_scores(questions: Sequence[QAItem], answers: Sequence[Answer], template: str | None) -> dict:
    """Accuracy against the current answers and the share still giving the old value."""
    by_id = {a.qid: a for a in answers}  # answers to other questions are ignored
    correct, stale = [], []
    for q in questions:
        text = S.bare_answer(by_id[q.id].text, template)
        correct.append(S.contains_gold(text, q.golds, q.question))
        stale.append(stale_answer(text, q.old_answer, q.golds, q.question))
    n = len(questions)
    return {
        "n": n,
        "accuracy": sum(correct) / n if n else math.nan,
        "old_value_rate": sum(stale) / n if n else math.nan,
    }


def update_split(
    updated: Dataset, changed_ids: set[str], split: str, unchanged: int, seed: int
) -> tuple[list[QAItem], list[QAItem]]:
    """The scored split's changed questions and a seeded sample of its unchanged answerable ones."""
    qs = updated.questions(split)
    changed = [q for q in qs if q.id in changed_ids]
    rest = [q for q in qs if q.id not in changed_ids and q.kind != "unanswerable"]
    return changed, random.Random(seed).sample(rest, min(unchanged, len(rest)))


def update_dataset(updated: Dataset, changed_ids: set[str], replay: float, seed: int) -> Dataset:
    """What the FT update trains on: the changed facts' train questions (new answers), a replay of
    ``replay`` x as many unchanged train questions (so the update does not overwrite them), and
    the changed dev questions for its dev loss."""
    train = [q for q in updated.questions("train") if q.kind != "unanswerable"]
    changed = [q for q in train if q.id in changed_ids]
    rest = [q for q in train if q.id not in changed_ids]
    kept = random.Random(seed).sample(rest, min(len(rest), round(replay * len(changed))))
    dev = [q for q in updated.questions("dev") if q.id in changed_ids]
    return replace(updated, qa=changed + kept + dev)


def _answers(ctx: Any, spec: SystemSpec, questions: Sequence[QAItem], res: Resources, key: str) -> list:
    """Cached batched answers of ``spec`` on ``questions`` (keyed like the main ones)."""
    return cached_answers(ctx.cache, spec, questions, res, key)[0]


def freshness(ctx: Any) -> dict[str, Any]:
    """Before/after accuracy on changed facts, unchanged accuracy after, and update cost per system."""
    ds, bench, full = ctx.ds, ctx.configs["bench"], ctx.full
    version = bench.update_version or next(iter(full.updates), "")
    if not version:
        return {"skipped": "the dataset has no update version (updates/<version>/)"}
    update = full.updates[version]
    updated = ctx.first_facts(full.with_update(version), bench.facts)
    changed_ids = {q.id for q in update.qa}
    changed, unchanged = update_split(updated, changed_ids, bench.split, bench.unchanged_sample, bench.seed)
    if not changed:
        return {"skipped": f"no {bench.split} question changes in update {version!r}"}
    template = (ds.meta.get("house_style") or {}).get("template")
    out: dict[str, Any] = {
        "version": version,
        "changed_questions": len(changed),
        "unchanged_questions": len(unchanged),
        "changed_pages": sorted(update.docs),
        "systems": {},
    }
    before = {name: b for name, (b, _) in ctx.answers.items()}
    pages = {d: doc.content_hash for d, doc in sorted(update.docs.items())}
    specs = [ctx.specs.get(n) or SYSTEMS[n] for n in before]
    res, updates = ctx.res, {}
    if any(s.retrieval for s in specs) and ctx.index_path:
        res, updates["reindex"] = reindexed(ctx, list(update.docs.values()))
    if any(s.adapter == "sft" for s in specs):
        updates["retrain"] = ctx.train_update(
            update_dataset(updated, changed_ids, bench.update_replay, bench.seed)
        )
    out["updates"] = updates
    key = digest("freshness", pages, ctx.keys.get("index"), ctx.keys.get("sft-update"), ctx.keys["model"])
    afters: dict[str, list] = {}  # "rag (re-index)" -> its answers after that update
    for spec in (s for s in specs if not is_composed(s)):
        out["systems"] |= system_freshness(
            ctx, spec, (changed, unchanged), before, updates, res, key, template, afters
        )
    for spec in (s for s in specs if is_composed(s)):
        out["systems"] |= composed_freshness(
            spec, changed, before, afters, updates, template, ds.abstain_reply, res.chunk_text
        )
    return out


def system_freshness(
    ctx: Any, spec: SystemSpec, questions: tuple[list[QAItem], list[QAItem]], before: Mapping[str, list],
    updates: Mapping[str, Any], res: Resources, key: str, template: str | None, afters: dict[str, list],
) -> dict[str, Any]:  # fmt: skip
    """One system's freshness rows, one per way it can take the update; its answers after each go
    into ``afters`` (for the composed systems)."""
    changed, unchanged = questions
    stale = fresh_scores(changed, before[spec.name], template)
    out = {}
    for variant, after_spec in after_variants(spec, updates):
        name = spec.name + (f" ({variant})" if variant else "")
        # Unchanged questions are re-scored where the weights changed (did the update break
        # them?); a re-index leaves every unchanged page's chunks as they were.
        rescored = unchanged if after_spec and "re-train" in variant else []
        # the key names the adapter read with (the hybrid's reader is a dev choice)
        read = digest(key, ctx.keys.get(after_spec.adapter)) if after_spec and after_spec.adapter else key
        after = _answers(ctx, after_spec, changed + rescored, res, read) if after_spec else []
        afters[name] = after if after_spec else before[spec.name]
        out[name] = {
            "system": spec.name,
            "update": variant or "none",
            "update_seconds": update_seconds(variant, updates),
            "changed_before": stale,
            "changed_after": fresh_scores(changed, after, template) if after_spec else stale,
            "unchanged_after": fresh_scores(rescored, after, template) if rescored else None,
        }
    return out


def composed_freshness(
    spec: Any, changed: Sequence[QAItem], before: Mapping[str, list], afters: Mapping[str, list],
    updates: Mapping[str, Any], template: str | None, abstain_answer: str,
    chunk_text: Mapping[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The routed system after each update its parts took: RAG re-indexed with the adapter as it
    was (stale) or re-trained; composed from the parts' answers, as in the main run (``verify``
    checks the adapter's answers against the re-indexed chunks, ``chunk_text``)."""
    rag, ft = spec.parts
    rule = spec.rule or UNTUNED_ROUTE
    stale = fresh_scores(changed, before[spec.name], template)
    out = {spec.name: {"system": spec.name, "update": "none", "update_seconds": 0.0,
                       "changed_before": stale, "changed_after": stale, "unchanged_after": None}}  # fmt: skip
    paths = [("re-index", ft)] + ([("re-index + re-train", f"{ft} (re-train)")] if uses_adapter(rule) else [])
    for variant, ft_name in paths:  # a rule that never asks the adapter has no use for its re-training
        rag_after, ft_after = afters.get(f"{rag} (re-index)"), afters.get(ft_name)
        if rag_after is None or ft_after is None:
            continue
        after = compose(rule, spec.name, rag_after, ft_after, abstain_answer, chunk_text, template)
        out[f"{spec.name} ({variant})"] = {
            "system": spec.name,
            "update": variant,
            "update_seconds": update_seconds(variant, updates),
            "changed_before": stale,
            "changed_after": fresh_scores(changed, after, template),
            "unchanged_after": None,
        }
    return out


def reindexed(ctx: Any, docs: list) -> tuple[Resources, dict[str, Any]]:
    """The resources over a copy of the index with the changed pages re-embedded (and a fresh
    engine cache: the chunks changed), and what the re-index took."""
    from retrieval.index import ChunkIndex

    index, embedder = ChunkIndex.load(Path(ctx.index_path)), ctx.embedder()
    report = index.update(docs, embedder)
    rcfg = ctx.configs["retrieval"]
    facts = {
        "seconds": report.seconds,
        "docs_changed": report.docs_changed,
        "docs_added": report.docs_added,
        "chunks_embedded": report.embedded,
    }
    res = replace(
        ctx.res,
        retriever=make_retriever(rcfg.retriever, index, embedder, rcfg),
        chunk_text={c.chunk_id: c.text for c in index.chunks},
        _engines={},
    )
    return res, facts


def after_variants(spec: SystemSpec, updates: Mapping[str, Any]) -> list[tuple[str, SystemSpec | None]]:
    """How each system can take the update: no update (``None``: the stale answers stand),
    re-index, re-train, or both (hybrid)."""
    reindex, retrain = "reindex" in updates, "retrain" in updates
    new_adapter = "sft-update" if retrain and spec.adapter == "sft" else None
    out: list[tuple[str, SystemSpec | None]] = []
    if spec.retrieval and spec.adapter is None and reindex:
        out.append(("re-index", replace(spec, name=f"{spec.name}@reindex")))
    elif spec.adapter == "sft" and not spec.retrieval:
        out.append(("", None))
        if new_adapter:
            out.append(("re-train", replace(spec, name=f"{spec.name}@retrain", adapter=new_adapter)))
    elif spec.adapter and spec.retrieval and reindex:  # the hybrid, whichever adapter reads
        out.append(("re-index", replace(spec, name=f"{spec.name}@reindex")))
        if new_adapter:
            out.append(("re-index + re-train", replace(spec, name=f"{spec.name}@both", adapter=new_adapter)))
    else:
        out.append(("", None))
    return out


def update_seconds(variant: str, updates: Mapping[str, Any]) -> float:
    """Seconds the variant's update took (re-index and/or the update training's wall time)."""
    seconds = 0.0
    if "re-index" in variant:
        seconds += updates["reindex"]["seconds"]
    if "re-train" in variant:
        seconds += updates["retrain"]["wall_seconds"]
    return seconds


def probe_items(probes: Sequence[Probe]) -> list[QAItem]:
    """Probes as questions the systems can answer (closed book, no house style)."""
    return [QAItem(p.id, p.question, p.answer, split="probe", kind="probe") for p in probes]


def forgetting(ctx: Any) -> dict[str, Any]:
    """Retention of the probes the base answers, per adapter, and drift on general text."""
    bench = ctx.configs["bench"]
    if "sft" not in ctx.res.adapters:
        return {"skipped": "no fine-tuned system in this run (add ft or hybrid to --systems)"}
    probes = load_probes(probes_dir() / "probes.jsonl")
    items = probe_items(probes)
    res = replace(ctx.res, style=None)  # probes test general ability, not the house style
    key = digest("forgetting", ctx.keys["model"])
    base = _answers(ctx, SYSTEMS["base"], items, res, key)
    by_id = {p.id: p for p in probes}
    kept = select_kept(probes, {a.qid: a.text for a in base})
    out: dict[str, Any] = {"probes": len(probes), "kept": len(kept), "adapters": {}}
    out["kept_by_family"] = _families([by_id[k] for k in kept])
    kept_items = [q for q in items if q.id in set(kept)]
    general = (probes_dir() / "general.txt").read_text(encoding="utf-8")
    for label, adapter in ctx.forgetting_adapters().items():
        spec = SystemSpec(f"probe@{label}", adapter, False, "closed book")
        answers = _answers(ctx, spec, kept_items, res, digest(key, ctx.keys.get(adapter)))
        after = {a.qid: probe_correct(a.text, by_id[a.qid]) for a in answers}
        t0 = time.perf_counter()
        kl = drift(ctx.res.model, ctx.res.tokenizer, adapter, general)
        out["adapters"][label] = {
            "adapter": adapter,
            "retention": retention(kept, after),
            "lost": sorted(k for k in kept if not after.get(k)),
            "lost_by_family": _families([by_id[k] for k in kept if not after.get(k)]),
            "drift_kl": kl,
            "drift_seconds": round(time.perf_counter() - t0, 2),
            "corpus_accuracy": corpus_accuracy(ctx, label, adapter),
        }
    out["replay_examples"] = ctx.replay_count
    out["seed"] = bench.seed
    return out


def corpus_accuracy(ctx: Any, label: str, adapter: str) -> float:
    """The adapter's closed-book accuracy on the scored questions: what the replay mix costs (or
    not) on the corpus. ``ft``'s answers are the main run's; another adapter answers them now."""
    questions = [q for q in ctx.ds.questions(ctx.configs["bench"].split) if q.kind != "unanswerable"]
    if label == "ft" and "ft" in ctx.answers:
        answers = ctx.answers["ft"][0]
    else:
        spec = SystemSpec(f"corpus@{label}", adapter, False, "closed book")
        answers = _answers(ctx, spec, questions, ctx.res, digest("corpus", ctx.keys.get(adapter)))
    template = (ctx.ds.meta.get("house_style") or {}).get("template")
    return fresh_scores(questions, answers, template)["accuracy"]


def _families(probes: Sequence[Probe]) -> dict[str, int]:
    return dict(Counter(p.family for p in probes))


def style(systems: Mapping[str, Mapping[str, Any]], rows_by: Mapping[str, Sequence[dict]]) -> dict:
    """House-style compliance per system, how it got the style, and on answered questions only
    (an abstention in the style counts for a system that abstains often)."""
    out = {}
    for name, s in systems.items():
        spec = SYSTEMS.get(name)
        answered = [r for r in rows_by.get(name, []) if r["kind"] != "unanswerable" and r["correct"] == 1]
        vals = [r["style_compliant"] for r in answered if not missing(r["style_compliant"])]
        source = "none"
        if spec is not None and is_composed(spec):  # whichever part's answer it took
            spec = replace(spec, adapter=SYSTEMS[spec.parts[-1]].adapter, retrieval=True)
        if spec is not None:
            learned, told = bool(spec.adapter), spec.adapter is None or spec.retrieval
            source = " + ".join(x for x, on in (("learned", learned), ("prompt", told)) if on)
        out[name] = {
            "compliance": s.get("style_compliance", math.nan),
            "compliance_when_correct": sum(vals) / len(vals) if vals else math.nan,
            "style_from": source,
        }
    return out


def style_scenario(systems: Mapping[str, Mapping[str, Any]], rows_by: Mapping[str, Sequence[dict]],
                   ds: Dataset) -> dict[str, Any]:  # fmt: skip
    """The style scenario of a scored run: compliance per system, or why there is none."""
    if not ds.house_style:
        return {"skipped": "the dataset has no house style (`house_style` in dataset.json)"}
    return style(systems, rows_by)
