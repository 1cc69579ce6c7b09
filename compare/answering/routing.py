"""The routed hybrid's rules: per question, RAG's cited answer, the adapter's closed-book one, or
"I don't know", and the composed answer's costs (compare.pipeline.route chooses the rule on dev).

The routed system generates nothing of its own: its answers are composed from the two parts' (so
it costs what it asks: RAG's call always, the adapter's where the rule asks it; their tokens add
up, and its latency is the adapter's call followed by RAG's). Pure functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from compare.harness.records import Answer
from compare.scoring.scorers import is_abstention
from corpus.errors import UserError

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
