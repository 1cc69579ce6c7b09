"""Training data from the documents alone, in recipes dev chooses among.

Steps: the rules read facts off the pages (corpus.trainset); the generator writes questions about
sentences on pages the rules read little of, each well-formed or dropped; the round
trip keeps a pair only when the reader, given the page's passage, gives the same answer; the guard
drops anything close to a dev or test question. What each step removed is counted, and every item
records how it was made (``metadata``: rule or model, evidence, the reader's answer).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from compare.scoring.scorers import strip_citations
from compare.trainset import generate as G
from compare.trainset.config import (
    MIN_TAUGHT_DEV,
    MODEL_QUESTIONS_MIN_PARAMS,
    TrainsetConfig,
    untaught_reason,
)
from compare.trainset.filters import agrees, near_duplicates, well_formed
from corpus.absent import absent_questions
from corpus.errors import DataError
from corpus.model import Dataset, QAItem
from corpus.qaphrase import about, clean
from corpus.rulebook import Where
from corpus.trainset import PageFact, Span, contains, read_pages

GENERATOR_VERSION = 1  # bumped when the cached data's layout changes (the code's own hash is in its key)
QUESTION_TOKENS = 24  # a question is a line of 5-25 words
READER_TOKENS = 32  # room for a sentence around the answer (the reader often answers in one)


@dataclass
class Candidate:
    """One generated question on its way through the filters."""

    fact_id: str
    doc_id: str
    question: str
    answer: str
    evidence: str
    context: str
    rule: str  # the rule that read it, or "model"
    teacher: str | None = None  # the reader's answer with the page in its prompt
    disagreed: bool | None = None  # whether the reader's answer missed this one (None: not asked)
    dropped: str | None = None  # which filter removed it


@dataclass
class Trainset:
    """Items per recipe, what each filter removed, and the pages covered."""

    recipes: dict[str, list[QAItem]]
    counts: dict[str, Any] = field(default_factory=dict)
    examples_dropped: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"recipes": {r: [q.to_json() for q in items] for r, items in self.recipes.items()},
                "counts": self.counts, "examples_dropped": self.examples_dropped}  # fmt: skip


def rule_candidates(facts: Sequence[PageFact]) -> list[Candidate]:
    return [
        Candidate(f"gen:{pf.doc_id}#{n}", pf.doc_id, q, pf.fact.answer, pf.fact.evidence, pf.context,
                  pf.fact.rule)
        for n, pf in enumerate(facts) for q in pf.fact.questions
    ]  # fmt: skip


# The generator writes questions where the rules read fewer facts than this on a page: that is where
# it adds coverage. On the bundled Django pages 21 of its 417 questions survived the filters when it
# also wrote one for every rule fact (which already has two or three phrasings), for 4.6 min.
MODEL_PAGE_FACTS = 2


# A page no rule read anything of gets this many times the seeds: there the generator is the only way
# the page reaches the training data at all.
EMPTY_PAGE_SEEDS = 2


def span_seeds(spans: Sequence[Span], per_page: int, facts: Counter[str]) -> list[Candidate]:
    """Sentences no rule read, on pages where the rules read fewer than ``MODEL_PAGE_FACTS`` facts, at
    most ``per_page`` a page (``EMPTY_PAGE_SEEDS`` times that where they read none), waiting for a
    model-written question."""
    seen: Counter[str] = Counter()
    out = []
    for n, s in enumerate(spans):
        most = per_page * (EMPTY_PAGE_SEEDS if facts[s.doc_id] == 0 else 1)
        if facts[s.doc_id] >= MODEL_PAGE_FACTS or (per_page and seen[s.doc_id] >= most):
            continue
        seen[s.doc_id] += 1
        out.append(Candidate(f"gen:{s.doc_id}#s{n}", s.doc_id, "", s.answer, s.sentence, s.context, "model"))
    return out


def model_questions(engine: Any, seeds: Sequence[Candidate], titles: dict[str, str]) -> list[Candidate]:
    """A model-written question for each seed; one that names nothing specific ("How long does the
    battery last?") is asked of its page's topic."""
    prompts = [G.question_prompt(c.evidence, c.answer) for c in seeds]
    engine.max_new_tokens = QUESTION_TOKENS
    out = []
    for c, text in zip(seeds, G.run(engine, prompts, "trainset: writing questions"), strict=True):
        q = G.first_line(text)
        why = well_formed(q, c.answer, c.evidence)
        q = q if why else about(q, Where(clean(titles.get(c.doc_id, "")), ""))
        out.append(replace(c, question=q, rule="model", dropped=why))
    return out


def round_trip(
    engine: Any, tokenizer: Any, cands: Sequence[Candidate], layout: str, policy: str = "all"
) -> None:
    """The reader answers each candidate given its passage (the teacher's answer for distillation);
    a candidate whose answer it does not give is dropped as ``policy`` says (model: model-written
    pairs only; all; off), and marked ``disagreed`` either way, for the counts."""
    prompts = [G.reader_prompt(tokenizer, c.question, c.context, c.doc_id, layout) for c in cands]
    engine.max_new_tokens = READER_TOKENS
    for c, text in zip(cands, G.run(engine, prompts, "trainset: reading the pages"), strict=True):
        c.teacher = text
        c.disagreed = not agrees(text, c.answer, c.question)
        if c.disagreed and (policy == "all" or (policy == "model" and c.rule == "model")):
            c.dropped = "round trip"


def guard(cands: Sequence[Candidate], held_out: Sequence[str], embed: Callable | None) -> list[dict]:
    """Drop every candidate close to a dev/test question; the pairs found, for the report."""
    live = [c for c in cands if c.dropped is None or c.dropped == "round trip"]
    found = near_duplicates([c.question for c in live], held_out, embed)
    for i in found:
        live[i].dropped = "near-duplicate of a dev/test question"
    return [asdict(d) for d in found.values()]


ABSENT = "absent"  # the rule name of unanswerable items (corpus/absent.py)


def to_item(c: Candidate, n: int, answer: str, recipe: str) -> QAItem:
    meta = {"origin": "model" if c.rule == "model" else "rule", "rule": c.rule, "evidence": c.evidence,
            "reader_answer": c.teacher, "reader_agreed": None if c.disagreed is None else not c.disagreed,
            "recipe": recipe}  # fmt: skip
    absent = c.rule == ABSENT
    return QAItem(
        id=f"{c.fact_id}.{n}", question=c.question, answer=answer, sources=() if absent else (c.doc_id,),
        split="train", kind="unanswerable" if absent else "fact", fact_id=c.fact_id,
        template=f"{c.rule}/{n}", generated=True, metadata=meta,
    )  # fmt: skip


def absent_candidates(leads_: Sequence[Candidate], ds: Dataset, share: float, seed: int) -> list[Candidate]:
    """Unanswerable questions: rule questions about a name no page uses, ``share`` of the facts."""
    found = absent_questions([c.question for c in leads_], [d.text for d in ds.docs.values()],
                             round(share * len(leads_)), seed)  # fmt: skip
    return [Candidate(f"gen:absent#{n}", "", a.question, ds.abstain_answer, a.changed, "", ABSENT)
            for n, a in enumerate(found)]  # fmt: skip


def recipe_items(cands: Sequence[Candidate], recipe: str, abstain: str) -> list[QAItem]:
    """``qa``/``docs``: kept pairs with their page's answer; ``distill``: every guarded question with
    the reader's answer (given the page) as its target."""
    out = []
    for n, c in enumerate(cands):
        if c.rule == ABSENT:  # every recipe learns to abstain on them, with the abstain answer
            if c.dropped is None:
                out.append(to_item(c, n, c.answer, recipe))
        elif recipe == "distill":
            teacher = strip_citations(c.teacher or "").strip()  # closed book has nothing to cite
            if c.dropped not in (None, "round trip") or not teacher_usable(teacher, abstain):
                continue
            out.append(to_item(c, n, teacher, recipe))
        elif c.dropped is None:
            out.append(to_item(c, n, c.answer, recipe))
    return out


def teacher_usable(answer: str, abstain: str) -> bool:
    """A reader's answer fit to distill: short (the harness scores short answers), not an abstention,
    and not the prompt's own markup echoed back ("<documents>", a quoted "> " line, "The answer is:")."""
    words = answer.split()
    return (0 < len(words) <= 20 and abstain.lower() not in answer.lower() and "<" not in answer
            and not answer.startswith(">") and not answer.endswith(":"))  # fmt: skip


def settle_facts(cands: list[Candidate]) -> None:
    """A fact's template phrasings share the round trip of its first phrasing the guard kept (asked
    once per fact)."""
    rules = [c for c in cands if c.rule not in ("model", ABSENT) and c.dropped in (None, "round trip")]
    first = {c.fact_id: c for c in leads(rules)}
    for c in rules:
        if first[c.fact_id] is not c:
            lead = first[c.fact_id]
            c.teacher, c.disagreed, c.dropped = lead.teacher, lead.disagreed, lead.dropped


def build_trainset(
    ds: Dataset, cfg: TrainsetConfig, engine: Any = None, tokenizer: Any = None,
    embed: Callable[[Sequence[str]], np.ndarray] | None = None, held_out: Sequence[str] = (),
    trial_dev: Sequence[QAItem] = (), params: int | None = None,
) -> Trainset:  # fmt: skip
    """Generated training items per recipe for ``ds``'s pages. Without an engine only the rules run
    (no model questions, no round trip, no distillation). ``trial_dev``: the dev questions a recipe
    trial will be scored on (none: every recipe is made, as for ``ftrag data trainset``);
    ``params``: the generator's parameter count, where the engine does not hold the torch model."""
    reading = read_pages(ds.docs.values(), cfg.max_facts_per_page)
    cands = rule_candidates(reading.facts)
    firsts = leads(cands)
    absent = absent_candidates(firsts, ds, cfg.unanswerable, cfg.seed) if cfg.unanswerable else []
    writes = engine is not None and writes_questions(cfg.model_questions, engine, params)
    if writes:
        per_page = Counter(pf.doc_id for pf in reading.facts)
        seeds = span_seeds(reading.spans, cfg.max_spans_per_page, per_page)
        cands += model_questions(engine, seeds, {d.doc_id: d.title for d in ds.docs.values()})
    cands += absent
    near = guard(cands, held_out, embed)  # first: a guarded item is never read, nor counted as taught
    untried = no_trial(cands, trial_dev, cfg, writes) if engine is not None else None
    if engine is not None and not untried and (cfg.round_trip != "off" or "distill" in cfg.recipe_names):
        lead_ids = {id(c) for c in leads([c for c in cands if c.dropped is None and c.rule != ABSENT])}
        asked = [c for c in cands if c.dropped is None and (c.rule == "model" or id(c) in lead_ids)]
        round_trip(engine, tokenizer, asked, cfg.reader_layout, cfg.round_trip)
        settle_facts(cands)
    # distillation needs a reader, and is not made for a trial that cannot happen
    names = [r for r in cfg.recipe_names if r != "distill" or (engine and not untried)]
    recipes = {r: recipe_items(cands, r, ds.abstain_answer) for r in names}
    out = Trainset(recipes, counts(ds, reading, cands, recipes), near[:20])
    out.counts["model_questions"] = writes
    if untried:
        out.counts["untried"] = untried
    return out


def answers_taught(items: Sequence[QAItem], questions: Sequence[QAItem]) -> int:
    """How many answerable ``questions`` have their answer in a training item from one of their own
    pages: what a closed-book adapter can at best learn of them from the generated data."""
    taught = {(q.sources[0], " ".join(q.answer.lower().split())) for q in items if q.sources}
    return sum(
        1 for q in questions if q.kind != "unanswerable" and any(
            src == s and (contains(a, g) or contains(g, a)) for s, a in taught for src in q.sources
            for g in q.golds)
    )  # fmt: skip


def no_trial(
    cands: Sequence[Candidate], dev: Sequence[QAItem], cfg: TrainsetConfig, writes: bool
) -> str | None:
    """Why dev cannot choose between the qa and distill recipes, decided before the reader runs
    (``None``: it can, or no dev questions were given). The distill items ask the rules' questions
    again, answered by the reader; so when the rules' own answers (every phrasing the guard kept: an
    item near a dev question teaches nothing, it is dropped) hold fewer than ``MIN_TAUGHT_DEV`` dev
    answers, the trial would rest on one
    or two answers, and the reader's pass over every fact (minutes on a large corpus) buys nothing:
    the qa recipe is kept untried. A reader that must check pairs (model-written questions,
    ``round_trip=all``) still runs."""
    if not dev or writes or cfg.round_trip == "all" or "distill" not in cfg.recipe_names:
        return None
    n = sum(q.kind != "unanswerable" for q in dev)
    most = answers_taught([to_item(c, 0, c.answer, "qa") for c in cands if c.dropped is None], dev)
    if n == 0 or most >= MIN_TAUGHT_DEV:
        return None
    return untaught_reason(most, n) + "; the reader was not run and distill not made"


def model_parameters(engine: Any) -> int | None:
    """The generator's parameter count, or None when the engine does not say (a scripted test model)."""
    params = getattr(getattr(engine, "model", None), "parameters", None)
    return sum(p.numel() for p in params()) if callable(params) else None


def writes_questions(switch: str, engine: Any, params: int | None = None) -> bool:
    """Whether the generator writes questions: ``on``, or ``auto`` with a generator of at least
    ``MODEL_QUESTIONS_MIN_PARAMS`` (the bundled 135M model's pairs were wrong in every hand audit)."""
    if switch != "auto":
        return switch == "on"
    n = params if params is not None else model_parameters(engine)
    return n is not None and n >= MODEL_QUESTIONS_MIN_PARAMS


def leads(cands: Sequence[Candidate]) -> list[Candidate]:
    """The first phrasing of each rule fact, in order: it stands for the fact in the round trip."""
    first: dict[str, Candidate] = {}
    for c in cands:
        first.setdefault(c.fact_id, c)
    return list(first.values())


def counts(ds: Dataset, reading: Any, cands: Sequence[Candidate], recipes: dict) -> dict[str, Any]:
    """What was generated and what each filter removed, for the summary and the report."""
    kept = [c for c in cands if c.dropped is None]
    read = [c for c in cands if c.disagreed is not None and c.rule not in ("model", ABSENT)]
    return {
        "pages": len(ds.docs),
        "pages_covered": len({c.doc_id for c in kept if c.rule != ABSENT}),
        "unanswerable": sum(c.rule == ABSENT for c in kept),
        # the reader's agreement with the rules' answers, measured even where it drops nothing
        "rule_round_trip": {"asked": len(read), "agreed": sum(not c.disagreed for c in read)},
        "rule_facts": len(reading.facts),
        "changelog_pages": list(reading.changelogs),
        "by_rule": dict(Counter(c.rule for c in kept)),
        "candidates": len(cands),
        "dropped": dict(Counter(c.dropped for c in cands if c.dropped)),
        "items": {r: len(items) for r, items in recipes.items()},
        "facts": {r: len({q.fact_id for q in items}) for r, items in recipes.items()},
    }


def check_usable(ts: Trainset, ds: Dataset) -> None:
    """A clear error when generation left nothing to train on, with what each filter removed."""
    if any(q.kind == "fact" for items in ts.recipes.values() for q in items):
        return  # unanswerable items alone teach only "I don't know"
    removed = ", ".join(f"{why}: {n}" for why, n in ts.counts.get("dropped", {}).items()) or "none"
    raise DataError(
        f"no usable training data could be generated from {ts.counts.get('pages', 0)} pages "
        f"({ts.counts.get('rule_facts', 0)} rule facts, {ts.counts.get('candidates', 0)} candidates; "
        f"removed by filter: {removed}); add a train split to the QA file or pages with more prose",
        ds.name,
    )
