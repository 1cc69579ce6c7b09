"""The routed hybrid's rules: per question, RAG's cited answer, the adapter's closed-book one, or
"I don't know", and the composed answer's costs (compare.pipeline.route chooses the rule on dev).

The routed system generates nothing of its own: its answers are composed from the two parts' (so
it costs what it asks: RAG's call always, the adapter's where the rule asks it; their tokens add
up, and its latency is the adapter's call followed by RAG's). Pure functions.

``verify`` is the adapter proposing and retrieval checking: the adapter's short answer is taken
where the chunks RAG retrieved contain it word for word (and RAG did not abstain), cited to the
chunk that holds it. A small reader often misreads a chunk that holds the answer; an adapter that
learned the fact names it, and the page confirms it (on tessaline's test questions the adapter's
answer was in the retrieved chunk for 17 of the 18 that the adapter answered right and RAG wrong,
and for none that RAG answered right and the adapter wrong). ``verify+doubt`` adds the adapter's
doubt: it abstains where the adapter says "I don't know" and RAG's answer is not in its chunks
either (a question about a real product's missing attribute retrieves that product's page, the
reader names some other value, and the adapter, which learned the product, knows better).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from compare.harness.records import Answer
from compare.scoring.quoting import quoted_chunk
from compare.scoring.scorers import is_abstention
from corpus.errors import UserError


@dataclass(frozen=True)
class Evidence:
    """What a rule sees of one question: did RAG abstain, did the adapter, and does a chunk RAG
    retrieved contain the adapter's answer, and RAG's own."""

    rag_abstained: bool
    ft_abstained: bool
    ft_quoted: bool = False
    rag_quoted: bool = False


Rule = Callable[[Evidence], str]  # -> whose answer: "rag", "ft" or "abstain"


def _rag_only(e: Evidence) -> str:
    return "rag"


def _judge(e: Evidence) -> str:
    return "abstain" if e.ft_abstained else "rag"


def _fallback(e: Evidence) -> str:
    return "ft" if e.rag_abstained and not e.ft_abstained else "rag"


def _verify(e: Evidence) -> str:
    return "ft" if e.ft_quoted and not e.rag_abstained else "rag"


def _judge_fallback(e: Evidence) -> str:
    return "abstain" if e.ft_abstained else _fallback(e)


def _verify_judge(e: Evidence) -> str:
    return "abstain" if e.ft_abstained else _verify(e)


def _verify_doubt(e: Evidence) -> str:
    # The adapter's "I don't know" outweighs RAG's answer only where the page does not hold it:
    # an unanswerable question about a real product retrieves its page, and the reader then names
    # some other value of it, which that page holds only by chance.
    return "abstain" if e.ft_abstained and not e.rag_quoted else _verify(e)


# In order of preference on a tie: the simpler rule first.
ROUTES: dict[str, Rule] = {
    "rag": _rag_only,  # RAG's answer always (the routed system is RAG then: the baseline rule)
    "judge": _judge,  # abstain where the adapter says it does not know
    "fallback": _fallback,  # the adapter answers where RAG abstains
    "verify": _verify,  # the adapter's answer where RAG's chunks contain it
    "judge+fallback": _judge_fallback,
    "verify+judge": _verify_judge,
    "verify+doubt": _verify_doubt,  # abstain where the adapter doubts and RAG's answer is not quoted
}
# (RAG abstained) -> is the adapter asked at all? Where it is not, its tokens and time are not spent.
ASKS_ADAPTER: dict[str, Callable[[bool], bool]] = {
    "rag": lambda rag_abstained: False,
    "judge": lambda rag_abstained: True,
    "fallback": lambda rag_abstained: rag_abstained,
    "verify": lambda rag_abstained: not rag_abstained,
    "judge+fallback": lambda rag_abstained: True,
    "verify+judge": lambda rag_abstained: True,
    "verify+doubt": lambda rag_abstained: True,
}
ROUTE_ABOUT = {
    "rag": "RAG's answer always",
    "judge": "RAG's answer; abstain where the adapter says it does not know",
    "fallback": "RAG's answer; the adapter's where RAG abstains",
    "verify": "the adapter's answer where RAG's chunks contain it, cited; else RAG's",
    "judge+fallback": "RAG's answer; the adapter's where RAG abstains; abstain where the adapter does",
    "verify+judge": "the adapter's answer where RAG's chunks contain it; abstain where the adapter does",
    "verify+doubt": "the adapter's answer where RAG's chunks contain it; abstain where the adapter does "
    "not know and RAG's answer is not in its chunks",
}
UNTUNED_ROUTE = "verify"  # bench.route "auto" without dev tuning


def check_route(name: str) -> None:
    """A route name the bench knows, or one line listing them (``auto``: chosen on dev)."""
    if name != "auto" and name not in ROUTES:
        raise UserError(f"`route` must be auto or one of {', '.join(ROUTES)}, got {name!r}")


def uses_adapter(rule: str) -> bool:
    """Does the rule ever ask the adapter (so the routed system needs it trained and served)?"""
    return ASKS_ADAPTER[rule](True) or ASKS_ADAPTER[rule](False)


def doc_of(chunk_id: str) -> str:
    """The page a chunk belongs to: chunk ids are ``doc_id#n`` (corpus.chunking)."""
    return chunk_id.rsplit("#", 1)[0]


def routed_answer(
    rule: str, name: str, rag: Answer, ft: Answer, abstain_answer: str,
    chunk_text: Mapping[str, str] | None = None, template: str | None = None, own: Answer | None = None,
) -> Answer:  # fmt: skip
    """One composed answer: the picked part's text and citations (the adapter's cites the chunk
    that holds it, where one does); the tokens and time of RAG's call and, where the rule asks it,
    the adapter's. The rule reads ``rag`` (RAG's answer before any answer-in-its-chunks gate: the
    rules check the chunks themselves); a RAG pick is ``own``, RAG's answer as the system gives it
    (gate included), so rule ``rag`` is the ``rag`` system and no rule loses RAG's abstentions."""
    rag_abstained = is_abstention(rag.text)
    if not ASKS_ADAPTER[rule](rag_abstained):  # the adapter is not asked: nothing of it is spent
        ft = replace(ft, text="", prompt_tokens=0, output_tokens=0, generation_s=0.0)
    chunks = chunk_text or {}
    quoted = quoted_chunk(ft.text, rag.retrieved, chunks, template) if ft.text else None
    rag_quoted = quoted_chunk(rag.text, rag.retrieved, chunks, template) is not None
    pick = ROUTES[rule](Evidence(rag_abstained, is_abstention(ft.text), quoted is not None, rag_quoted))
    if pick == "ft":
        cites = [quoted] if quoted else []
        chosen = replace(ft, citations=cites, cited_docs=[doc_of(c) for c in cites])
    elif pick == "abstain":
        chosen = replace(rag, text=abstain_answer, citations=[], cited_docs=[], gated_text=rag.text)
    else:
        chosen = own or rag
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
    rule: str, name: str, rag: Sequence[Answer], ft: Sequence[Answer], abstain_answer: str,
    chunk_text: Mapping[str, str] | None = None, template: str | None = None,
    own: Sequence[Answer] | None = None,
) -> list[Answer]:  # fmt: skip
    """The routed answers to RAG's questions (in RAG's order); the adapter must answer each too.
    ``chunk_text`` (chunk id -> text) and the house style's ``template`` are what ``verify`` reads;
    ``own``: RAG's answers as the system gives them, where they differ from ``rag`` (see
    :func:`routed_answer`)."""
    by_id = {a.qid: a for a in ft}
    missing = [a.qid for a in rag if a.qid not in by_id]
    if missing:
        raise ValueError(f"the adapter has no answer to {len(missing)} questions, e.g. {missing[0]!r}")
    own_by_id = {a.qid: a for a in own or ()}
    return [
        routed_answer(rule, name, a, by_id[a.qid], abstain_answer, chunk_text, template, own_by_id.get(a.qid))
        for a in rag
    ]
