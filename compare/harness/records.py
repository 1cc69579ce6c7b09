"""What a run records of each answer: plain dataclasses, importable without torch.

Scoring, reports, the recommender and the dashboard read these; only the engines that fill them
(``compare.engines.hf``, ``compare.answering.systems``) need a model library.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Generation:
    """One answer and what producing it cost."""

    text: str
    prompt_tokens: int
    output_tokens: int
    seconds: float  # this answer's share of its batch (single mode: its own wall time)
    ttft: float  # time to first token of the batch it was in (single mode: its own)


@dataclass
class Answer:
    """One system's answer to one question, with its citations and timings (seconds)."""

    qid: str
    system: str
    text: str
    citations: list[str] = field(default_factory=list)  # cited chunk ids
    cited_docs: list[str] = field(default_factory=list)
    retrieved: list[str] = field(default_factory=list)  # chunk ids in the prompt
    prompt_tokens: int = 0
    output_tokens: int = 0
    retrieval_s: float = 0.0
    generation_s: float = 0.0
    ttft_s: float = 0.0
    # The abstention gate (compare.pipeline.abstain): how well the quoted text supports the question, by the
    # signal dev chose (None: closed book, or not measured), and the model's own answer where the
    # gate replaced it.
    support: float | None = None
    gated_text: str = ""


def engine_label(summary: dict) -> str:
    """The engine a run's latency, throughput and cost figures were measured with
    ("llamacpp F32"); runs recorded before engines were named used transformers (hf)."""
    engine = summary.get("engine") or {"name": "hf", "precision": "float32"}
    return f"{engine['name']} {engine['precision']}"
