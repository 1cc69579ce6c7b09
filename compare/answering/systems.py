"""The systems compared, behind one interface: answer a batch of questions, return answers,
citations and timings.

A system is data (:class:`SystemSpec`: which adapter, whether it retrieves, which prompt), not a
class per system: the registry maps a name to a spec, and :func:`answer_questions` runs any spec
with the loaded :class:`Resources`. Register a new one with :func:`register_system`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from compare.answering.specs import SystemSpec
from compare.engines.registry import ENGINES
from compare.harness.prompting import render_prompt
from compare.harness.records import Answer, Generation
from compare.harness.stages import digest, questions_digest
from corpus.errors import UserError
from corpus.model import QAItem
from finetune.data import SYSTEM as CLOSED_BOOK_SYSTEM
from retrieval.context import Context, assemble_context, parse_citations, rag_messages

# Engines kept at once (the least recently used is dropped): dev trials make one per adapter epoch.
MAX_ENGINES = 6


@dataclass(frozen=True)
class PromptKnobs:
    """What shapes a system's prompt: chunks retrieved, their token budget, worked examples, layout."""

    k: int = 3
    context_budget: int = 512
    shots: int = 0
    layout: str = "auto"


@dataclass
class Resources:
    """What the systems share: one model (adapters switched in and out), its tokenizer, and the
    retriever with its chunk texts. ``style`` is the house style described to prompted systems."""

    model: Any
    tokenizer: Any
    retriever: Any = None
    k: int = 3
    context_budget: int = 512
    style: str | None = None
    max_new_tokens: int = 32
    batch_size: int = 16
    adapters: set[str] = field(default_factory=set)
    chunk_text: dict[str, str] = field(default_factory=dict)  # chunk id -> text, for grounding
    shots: int = 0  # worked examples in the RAG prompt
    answer_format: Callable[[str], str] | None = None  # the house style applied to example answers
    layout: str = "auto"  # prompt layout: the chat template, or "completion"
    # Knobs chosen on dev per system (``rag``: {"k": 3, "shots": 1}); a scenario variant such as
    # ``rag@reindex`` uses its system's.
    tuned: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Where generation batches run (compare.answering.executors; None: in this process) and what its
    # workers load: the model by name or folder, each adapter by its folder.
    executor: Any = None
    model_ref: Any = None
    adapter_paths: dict[str, str] = field(default_factory=dict)
    # The embedder's encode (normalised vectors), for the abstention gate's support scores, and the
    # gate each retrieving system got on dev: (signal, threshold); abstain below the threshold of
    # that signal's support (compare.pipeline.abstain; -inf: the gate is off, the signal still scores).
    embed: Callable[[Sequence[str]], Any] | None = None
    gates: dict[str, tuple[str, float]] = field(default_factory=dict)
    # The gate of a system's answers where a composed system reads them (the routed hybrid): the
    # best signal without the answer-in-its-chunks check, which the routing rules make themselves.
    # A system missing here is read as gated by ``gates``.
    part_gates: dict[str, tuple[str, float]] = field(default_factory=dict)
    # The generation engine (compare.engines.registry: "hf", "llamacpp"), why it was chosen, its CPU threads
    # and the model's GGUF file that GGUF engines serve.
    engine_name: str = "hf"
    engine_why: str = "default"
    engine_threads: int = 0
    model_gguf: str | None = None
    # What an engine shares across systems (vllm's one instance serving every adapter).
    engine_state: dict[str, Any] = field(default_factory=dict, repr=False)
    _engines: dict[str, Any] = field(default_factory=dict, repr=False)

    def add_adapter(self, name: str, path: str | Path) -> None:
        """Load the adapter folder ``path`` as ``name`` (the first one wraps the model in peft)."""
        if name in self.adapters:
            return
        from peft import PeftModel

        if isinstance(self.model, PeftModel):
            self.model.load_adapter(str(path), adapter_name=name)
        else:
            self.model = PeftModel.from_pretrained(self.model, str(path), adapter_name=name)
            self._engines.clear()  # engines made before hold the unwrapped model
        self.model.eval()
        self.adapters.add(name)
        self.adapter_paths[name] = str(path)

    def drop_adapter(self, name: str) -> None:
        """Unload adapter ``name`` (a long sweep does not pile them up); engines are made anew."""
        self._engines.clear()
        if name in self.adapters:
            self.adapters.discard(name)
            self.adapter_paths.pop(name, None)
            self.model.delete_adapter(name)

    def check(self, spec: SystemSpec) -> None:
        """A ValueError when ``spec`` needs an index or an adapter these resources lack."""
        if spec.retrieval and self.retriever is None:
            raise UserError(f"system {spec.name!r} needs an index; build one or drop it from --systems")
        if spec.adapter and spec.adapter not in self.adapters:
            raise UserError(f"system {spec.name!r} needs the {spec.adapter!r} adapter, which was not trained")

    def knobs(self, spec: SystemSpec) -> PromptKnobs:
        """The prompt knobs ``spec`` answers with: the defaults, then what dev tuning chose."""
        base = PromptKnobs(self.k, self.context_budget, self.shots, self.layout)
        return replace(base, **self.tuned.get(spec.name.split("@")[0], {}))

    def engine(self, spec: SystemSpec) -> contextlib.AbstractContextManager[Any]:
        """An engine with ``spec``'s adapter in effect (every adapter off for the base weights)."""
        self.check(spec)
        return ENGINES[self.engine_name].use(self, spec)

    @property
    def engine_id(self) -> str:
        """The engine and the weights it serves: part of every cached answer's key."""
        return f"{self.engine_name}:{Path(self.model_gguf).name if self.model_gguf else ''}"

    def cached_engine(self, spec: SystemSpec, make: Callable[[], Any]) -> Any:
        """One engine per system and adapter, so a prompt prefix it cached stays with the adapter it
        was run with (the hybrid's dev trials try more than one reader under one name)."""
        name = f"{spec.name}|{spec.adapter}"
        engine = self._engines.pop(name, None) or make()
        self._engines[name] = engine  # most recently used last
        for old in list(self._engines)[: max(0, len(self._engines) - MAX_ENGINES)]:
            del self._engines[old]  # a llama.cpp engine holds its own KV cache: bound the memory
        return engine


def closed_book_messages(question: str, style: str | None = None) -> list[dict[str, str]]:
    """The prompt the adapter was trained with; prompted systems also get the house style."""
    system = CLOSED_BOOK_SYSTEM + (f" House style: {style}" if style else "")
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def build_prompts(
    spec: SystemSpec, questions: Sequence[QAItem], res: Resources
) -> tuple[list[str], list[Context | None], float]:
    """Prompt strings, the contexts they quote (``None`` closed book) and retrieval seconds."""
    # The adapter learned the style from its examples, so it is told only what it was trained with.
    style = None if spec.adapter and not spec.retrieval else res.style
    knobs = res.knobs(spec)
    if not spec.retrieval:
        msgs = [closed_book_messages(q.question, style) for q in questions]
        return [render_prompt(res.tokenizer, m) for m in msgs], [None] * len(questions), 0.0
    shots, fmt = (knobs.shots if spec.examples else 0), (res.answer_format if style else None)
    t0 = time.perf_counter()
    hits = res.retriever.retrieve([q.question for q in questions], knobs.k)
    seconds = time.perf_counter() - t0
    contexts = [assemble_context(h, knobs.context_budget) for h in hits]
    prompts = [
        render_prompt(res.tokenizer, rag_messages(q.question, c, style, shots, fmt), knobs.layout)
        for q, c in zip(questions, contexts, strict=True)
    ]
    return prompts, list(contexts), seconds


def to_answer(
    spec: SystemSpec, q: QAItem, gen: Generation, ctx: Context | None, retrieval_s: float
) -> Answer:
    cites = parse_citations(gen.text, ctx) if ctx else []
    docs = [ctx.doc_ids[ctx.chunk_ids.index(c)] for c in cites] if ctx else []
    return Answer(
        q.id,
        spec.name,
        gen.text,
        cites,
        list(dict.fromkeys(docs)),
        list(ctx.chunk_ids) if ctx else [],
        gen.prompt_tokens,
        gen.output_tokens,
        retrieval_s,
        gen.seconds,
        gen.ttft,
    )


def answer_questions(
    spec: SystemSpec,
    questions: Sequence[QAItem],
    res: Resources,
    progress: Callable[[int], None] | None = None,
) -> list[Answer]:
    """Batched answers (throughput mode): retrieval for all questions at once, then generation in
    batches of similar prompt length (here, or spread over the workers of ``res.executor``);
    timings are each question's share of its batch."""
    res.check(spec)  # before retrieval: a missing index or adapter is named, not an AttributeError
    prompts, contexts, r_s = build_prompts(spec, questions, res)
    gens = _generate(res, spec, prompts, progress)
    n = max(1, len(questions))
    return [to_answer(spec, q, g, c, r_s / n) for q, g, c in zip(questions, gens, contexts, strict=True)]


def generate_here(
    res: Resources, spec: SystemSpec, prompts: Sequence[str], progress: Callable[[int], None] | None = None
) -> list[Generation]:
    """``prompts`` answered in this process, by the spec's engine (what the local executor does)."""
    with res.engine(spec) as engine:
        return engine.generate(prompts, progress)


def plan_here(res: Resources, spec: SystemSpec, prompts: Sequence[str]) -> list[list[int]]:
    """The prompt indices of each batch :func:`generate_here` runs, in order: the engine's plan."""
    with res.engine(spec) as engine:
        return engine.plan(prompts)


def _generate(
    res: Resources, spec: SystemSpec, prompts: Sequence[str], progress: Callable[[int], None] | None = None
) -> list[Generation]:
    """``prompts`` answered here, in this process, or on the workers of ``res.executor``."""
    if res.executor is not None:
        return res.executor.generate(res, spec, prompts, progress)
    return generate_here(res, spec, prompts, progress)


def _plan(res: Resources, spec: SystemSpec, prompts: Sequence[str]) -> list[list[int]]:
    """The prompt indices of each batch :func:`_generate` runs, in its order."""
    if res.executor is not None:
        return res.executor.plan(res, spec, prompts)
    return plan_here(res, spec, prompts)


def single_requests(spec: SystemSpec, questions: Sequence[QAItem], res: Resources) -> list[Answer]:
    """One question at a time, retrieval included: the latency a single user sees."""
    out = []
    with res.engine(spec) as engine:
        for q in questions:
            prompts, contexts, r_s = build_prompts(spec, [q], res)
            out.append(to_answer(spec, q, engine.single(prompts[0]), contexts[0], r_s))
    return out


def answers_until(
    spec: SystemSpec,
    questions: Sequence[QAItem],
    res: Resources,
    go_on: Callable[[list[Answer | None]], bool],
) -> list[Answer | None]:
    """:func:`answer_questions` one batch at a time, asking ``go_on`` (the answers so far, in the
    questions' order, ``None`` where not yet answered) after each whether to continue.

    The batches are the ones a whole run makes (retrieval for all questions at once, then the
    engine's own plan over every prompt, its parts included), run in the same order on the same
    engine, so each answer made is the one :func:`answer_questions` makes; a stopped run leaves
    the rest ``None``. An executor says how it runs them (in this process: the engine's plan)."""
    res.check(spec)
    prompts, contexts, r_s = build_prompts(spec, questions, res)
    n = max(1, len(questions))
    out: list[Answer | None] = [None] * len(questions)

    for idx in _plan(res, spec, prompts):
        for i, g in zip(idx, _generate(res, spec, [prompts[i] for i in idx]), strict=True):
            out[i] = to_answer(spec, questions[i], g, contexts[i], r_s / n)
        if not go_on(out):
            break
    return out


def answers_key(spec: SystemSpec, questions: Sequence[QAItem], res: Resources, key: str) -> str:
    """The cache key of ``spec``'s answers to ``questions``: ``key`` plus everything else they
    depend on (the questions, the knobs, the engine, the first rendered prompt)."""
    knobs = (asdict(res.knobs(spec)), res.max_new_tokens, res.batch_size, res.style, res.engine_id)
    prompt = build_prompts(spec, questions[:1], res)[0][0] if questions else ""
    return digest(key, spec, questions_digest(questions), knobs, prompt)


def cached_answers(
    cache: Any, spec: SystemSpec, questions: Sequence[QAItem], res: Resources, key: str
) -> tuple[list[Answer], float]:
    """Batched answers of ``spec`` on ``questions``, cached by :func:`answers_key`, and the seconds
    making them took (when they were made)."""

    def produce() -> dict:
        return {"batched": [asdict(a) for a in answer_questions(spec, questions, res)]}

    data, _ = cache.answers(answers_key(spec, questions, res, key), produce)
    return [Answer(**a) for a in data["batched"]], float(data["seconds"])
