"""The routed hybrid: RAG and the fine-tuned adapter answer side by side and a rule picks, per
question, RAG's cited answer, the adapter's closed-book one, or "I don't know".

Why: pasting chunks in front of an adapter that never read a context (``hybrid``) scored below RAG
alone on tessaline (0.559 against 0.721) and never cited. What a team builds instead keeps RAG's
answer and citations and asks the adapter what it knows: the adapter was trained on the corpus's
questions, unanswerable ones included, so its closed-book "I don't know" marks a question outside
the corpus (it abstained on 0.70 of the unanswerable test questions, RAG on 0.30), and where RAG
abstains the adapter may still know (adaptive retrieval, Mallen et al. 2023, routes the same way).
The rule is a dev choice like every other knob: the one that abstains on most unanswerable dev
questions while its dev accuracy stays within ``abstain_max_drop`` of the best rule's.

The rules and the composed answers are in compare.answering.routing; here, how dev chooses
between them. The functions are pure; the bench wires them to the parts' answers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from compare.answering.routing import ROUTES, compose
from compare.harness.records import Answer
from compare.pipeline.abstain import effect, outcomes
from corpus.model import QAItem


def route_effects(
    questions: Sequence[QAItem], rag: Sequence[Answer], ft: Sequence[Answer], abstain_answer: str,
    style: Mapping[str, Any] | None, chunk_text: Mapping[str, str] | None = None,
    own: Sequence[Answer] | None = None,
) -> dict[str, tuple[float, float]]:  # fmt: skip
    """(answerable accuracy, unanswerable abstention) of every rule on ``questions`` (``chunk_text``:
    the chunks ``verify`` checks the adapter's answers against; ``own``: RAG's answers as the system
    gives them, where its gate differs from the one ``rag`` went through)."""
    template = (style or {}).get("template")
    out = {}
    for rule in ROUTES:
        answers = compose(rule, "routed", rag, ft, abstain_answer, chunk_text, template, own)
        out[rule] = effect(outcomes(questions, answers, style), -math.inf)
    return out


def choose_route(effects: Mapping[str, tuple[float, float]], max_drop: float) -> tuple[str, str]:
    """The rule that abstains on the most unanswerable questions while its accuracy stays within
    ``max_drop`` of the best rule's, then the more accurate, then the first listed; and why.
    Without unanswerable questions the most accurate rule (abstention cannot be measured)."""
    best_acc = max(acc for acc, _ in effects.values())
    no_unanswerable = all(math.isnan(ab) for _, ab in effects.values())
    if no_unanswerable:
        rule = next(r for r, (acc, _) in effects.items() if acc >= best_acc - 1e-12)
        return rule, "no unanswerable dev questions: the rule of best dev accuracy"
    ok = [r for r, (acc, _) in effects.items() if acc >= best_acc - max_drop - 1e-12]
    rule = ok[0]
    for r in ok[1:]:
        (acc, ab), (acc0, ab0) = effects[r], effects[rule]
        if ab > ab0 + 1e-12 or (abs(ab - ab0) <= 1e-12 and acc > acc0 + 1e-12):
            rule = r
    return rule, f"most abstention within {max_drop:g} of the best rule's dev accuracy {best_acc:.3f}"


def route_line(rule: str, effects: Mapping[str, tuple[float, float]]) -> str:
    """The rules tried on dev and the chosen one, in a line for the log."""
    tried = ", ".join(f"{r} {acc:.3f}/{ab:.2f}" for r, (acc, ab) in effects.items())
    return f"rules (accuracy/abstention) {tried} -> {rule}"


def route_note(name: str, route: Mapping[str, Any]) -> str:
    """The routed system's rule and what each rule did on dev (compare.pipeline.route)."""
    tried = route.get("rules") or {}
    rules = ", ".join(
        f"{r} {v['accuracy']:.3f} / " + ("n/a" if v["abstention"] is None else f"{v['abstention']:.2f}")
        for r, v in tried.items()
    )
    on_dev = f" on {route['questions']} dev questions (accuracy / abstention): {rules}" if tried else ""
    return f"- {name}: rule **{route['chosen']}** ({route['reason']}){on_dev}"
