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

The routed system generates nothing of its own: its answers are composed from the two parts' (so
it costs both calls: their prompt and output tokens add up, and its latency is the adapter's call
followed by RAG's). The functions here are pure; the bench wires them to the parts' answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from compare.harness.records import Answer
from compare.pipeline.abstain import effect, outcomes
from compare.scoring.scorers import is_abstention
from corpus.errors import UserError
from corpus.model import QAItem

# (RAG abstained, the adapter abstained) -> whose answer: "rag", "ft" or "abstain".
Rule = Callable[[bool, bool], str]


def _rag_only(rag_abstained: bool, ft_abstained: bool) -> str:
    return "rag"


def _judge(rag_abstained: bool, ft_abstained: bool) -> str:
    return "abstain" if ft_abstained else "rag"


def _fallback(rag_abstained: bool, ft_abstained: bool) -> str:
    return "ft" if rag_abstained and not ft_abstained else "rag"


def _judge_fallback(rag_abstained: bool, ft_abstained: bool) -> str:
    return "abstain" if ft_abstained else ("ft" if rag_abstained else "rag")


# In order of preference on a tie: the simpler rule first.
ROUTES: dict[str, Rule] = {
    "rag": _rag_only,  # RAG's answer always (the routed system is RAG then: the baseline rule)
    "judge": _judge,  # abstain where the adapter says it does not know
    "fallback": _fallback,  # the adapter answers where RAG abstains
    "judge+fallback": _judge_fallback,
}
# (RAG abstained) -> is the adapter asked at all? Where it is not, its tokens and time are not spent.
ASKS_ADAPTER: dict[str, Callable[[bool], bool]] = {
    "rag": lambda rag_abstained: False,
    "judge": lambda rag_abstained: True,
    "fallback": lambda rag_abstained: rag_abstained,
    "judge+fallback": lambda rag_abstained: True,
}
ROUTE_ABOUT = {
    "rag": "RAG's answer always",
    "judge": "RAG's answer; abstain where the adapter says it does not know",
    "fallback": "RAG's answer; the adapter's where RAG abstains",
    "judge+fallback": "RAG's answer; the adapter's where RAG abstains; abstain where the adapter does",
}
UNTUNED_ROUTE = "judge+fallback"  # bench.route "auto" without dev tuning


def check_route(name: str) -> None:
    """A route name the bench knows, or one line listing them (``auto``: chosen on dev)."""
    if name != "auto" and name not in ROUTES:
        raise UserError(f"`route` must be auto or one of {', '.join(ROUTES)}, got {name!r}")


def uses_adapter(rule: str) -> bool:
    """Does the rule ever ask the adapter (so the routed system needs it trained and served)?"""
    return ASKS_ADAPTER[rule](True) or ASKS_ADAPTER[rule](False)


def routed_answer(rule: str, name: str, rag: Answer, ft: Answer, abstain_answer: str) -> Answer:
    """One composed answer: the picked part's text and citations; the tokens and time of RAG's call
    and, where the rule asks it, the adapter's."""
    rag_abstained = is_abstention(rag.text)
    if not ASKS_ADAPTER[rule](rag_abstained):  # the adapter is not asked: nothing of it is spent
        ft = replace(ft, text="", prompt_tokens=0, output_tokens=0, generation_s=0.0)
    pick = ROUTES[rule](rag_abstained, is_abstention(ft.text))
    if pick == "ft":
        chosen = replace(ft, citations=[], cited_docs=[])
    elif pick == "abstain":
        chosen = replace(rag, text=abstain_answer, citations=[], cited_docs=[], gated_text=rag.text)
    else:
        chosen = rag
    return replace(
        chosen,
        system=name,
        retrieved=list(rag.retrieved),
        prompt_tokens=rag.prompt_tokens + ft.prompt_tokens,
        output_tokens=rag.output_tokens + ft.output_tokens,
        retrieval_s=rag.retrieval_s,
        generation_s=rag.generation_s + ft.generation_s,
        ttft_s=ft.generation_s + rag.ttft_s,  # the adapter's answer first, then RAG's first token
        support=rag.support,
    )


def compose(
    rule: str, name: str, rag: Sequence[Answer], ft: Sequence[Answer], abstain_answer: str
) -> list[Answer]:
    """The routed answers to RAG's questions (in RAG's order); the adapter must answer each too."""
    by_id = {a.qid: a for a in ft}
    missing = [a.qid for a in rag if a.qid not in by_id]
    if missing:
        raise ValueError(f"the adapter has no answer to {len(missing)} questions, e.g. {missing[0]!r}")
    return [routed_answer(rule, name, a, by_id[a.qid], abstain_answer) for a in rag]


def route_effects(
    questions: Sequence[QAItem], rag: Sequence[Answer], ft: Sequence[Answer], abstain_answer: str,
    style: Mapping[str, Any] | None,
) -> dict[str, tuple[float, float]]:  # fmt: skip
    """(answerable accuracy, unanswerable abstention) of every rule on ``questions``."""
    out = {}
    for rule in ROUTES:
        answers = compose(rule, "routed", rag, ft, abstain_answer)
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
