"""The content report: every page of the corpus as a retrieval target and as a training signal.

For each page (document) of a finished run:

- retrieval: its retrievability r(d) (``retrievability/pages.csv``), how often it is the top hit
  for its own questions (questions whose gold ``sources`` include it; rank 1 of the RAG system's
  ``retrieved`` chunk ids, ``doc_id#n``), and how often RAG cites it on those questions;
- learning: the fine-tuned system's accuracy on the page's facts;
- freshness: for pages changed in the dataset's update, how many of their changed facts the
  fine-tune (not re-trained) still answers with the old value.

Every page gets a verdict per axis (strong / weak / n/a) and, when weak, reasons a writer can
act on. The diagnoses are small pure functions over the page text and the answers; the frames
come from ``results.parquet`` and the other run files (see ``compare/content/cli.py``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from compare.scoring import scorers as S
from corpus.model import Document, QAItem
from retrieval.retrievability import content_words

# Shares below are over a page's own questions (its facts' held-out phrasings in the scored split).
MIN_QUESTIONS = 2  # with one question a share is a single answer: too noisy for a verdict
TOP1_WEAK_BELOW = 0.5  # most of its questions are answered from another page's chunk
LEARN_WEAK_BELOW = 0.5  # the fine-tune gets most of the page's facts wrong
# A changed fact the un-retrained fine-tune still answers with the old value is a wrong answer a
# user gets until the adapter is re-trained; the update's test set has one or two per page, so
# no minimum count applies here.
STALE_WEAK_FROM = 0.5
LONG_PARAGRAPH_WORDS = 60  # about four sentences: beyond it one chunk vector blends several topics
# Real questions bring words no page holds ("how long", "keep working", "a customer asks"): on the
# bundled dataset pages whose questions all find them sit at 0.35-0.50, so the cut is one in three
# (retrieval.retrievability uses 0.5 on queries generated from the page itself).
VOCAB_WEAK_BELOW = 0.34
STRONG, WEAK, NA = "strong", "weak", "n/a"
AXES = ("retrieval", "learning", "freshness")
RETRIEVAL_SYSTEMS = ("rag", "hybrid")  # the first present gives the retrieved/cited ids
LEARNING_SYSTEM = "ft"
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


# --- diagnoses: small pure functions ------------------------------------------------------------


def doc_of(chunk_id: str) -> str:
    """The page a chunk belongs to: chunk ids are ``doc_id#n`` (corpus.model.Chunk)."""
    return chunk_id.split("#", 1)[0]


def retrieved_instead(doc_id: str, top_hits: Sequence[str | None]) -> tuple[str, float] | None:
    """The page most often at rank 1 on ``doc_id``'s own questions instead of it, with its share
    of those questions; ``None`` when no other page ever took the top spot."""
    others = Counter(t for t in top_hits if t and t != doc_id)
    if not others or not top_hits:
        return None
    page, n = others.most_common(1)[0]
    return page, n / len(top_hits)


def answer_position(text: str, answers: Iterable[str]) -> int | None:
    """Where the first of ``answers`` (case-insensitive) occurs in ``text``; ``None`` if none does."""
    low = text.lower()
    found = [low.find(a.lower()) for a in answers if a and a.strip()]
    hits = [p for p in found if p >= 0]
    return min(hits) if hits else None


def paragraph_at(text: str, pos: int) -> str:
    """The paragraph holding position ``pos``: its blank-line block, or its line in a list."""
    start = text.rfind("\n\n", 0, pos) + 1
    end = text.find("\n\n", pos)
    block = text[start : end if end >= 0 else len(text)].strip("\n")
    lines = block.splitlines()
    if lines and all(_LIST_ITEM.match(ln) for ln in lines if ln.strip()):
        line_start = text.rfind("\n", 0, pos) + 1
        line_end = text.find("\n", pos)
        return text[line_start : line_end if line_end >= 0 else len(text)]
    return block


def paragraph_words(text: str, pos: int) -> int:
    """Words in the paragraph holding ``pos``: long ones bury a fact among others."""
    return len(paragraph_at(text, pos).split())


def heading_above(text: str, pos: int) -> str | None:
    """The nearest markdown heading above ``pos`` (``None``: the fact sits under no heading)."""
    heading = None
    for line in text[:pos].splitlines():
        m = _HEADING.match(line)
        if m:
            heading = m.group(1)
    return heading


def vocabulary_overlap(questions: Sequence[str], text: str) -> float:
    """Share of the questions' content words that occur on the page (1.0 with no words):
    low means people ask with words the page does not use."""
    words = [w for q in questions for w in content_words(q)]
    if not words:
        return 1.0
    on_page = set(content_words(text))
    return sum(w in on_page for w in words) / len(words)


def gives_old_value(text: str, old: str | None, golds: Sequence[str], question: str = "") -> bool:
    """An answer that still gives the value before the change and not the new one (the rule of
    ``compare.scenarios.core.stale_answer``, kept here so this module loads without the model stack)."""
    if not old:
        return False
    return bool(S.contains_gold(text, [old], question)) and not S.contains_gold(text, golds, question)


# --- per-page aggregation --------------------------------------------------------------------------


def own_questions(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (answerable question, gold page, system): ``results`` exploded on ``sources``
    into a ``page`` column."""
    rows = results[results["kind"] != "unanswerable"].copy()
    rows["page"] = rows["sources"].map(lambda s: list(s) if s is not None else [])
    rows = rows.explode("page")
    return rows[rows["page"].notna()].reset_index(drop=True)


def retrieval_system(results: pd.DataFrame) -> str | None:
    """The system whose retrieved and cited ids are read (RAG, else hybrid: the same retriever)."""
    present = set(results["system"])
    return next((s for s in RETRIEVAL_SYSTEMS if s in present), None)


def top_hit(retrieved: Any) -> str | None:
    ids = list(retrieved) if retrieved is not None else []
    return doc_of(str(ids[0])) if ids else None


def page_retrieval(page: str, g: pd.DataFrame) -> list[Any]:
    """One page's retrieval numbers from the retrieval system's rows on its questions."""
    tops = [top_hit(r) for r in g["retrieved"]]
    n = len(g)
    cited = sum(page in set(c if c is not None else []) for c in g["cited_docs"])
    # the top hit is another gold source of the question: the fact lives on that page too
    other_gold = sum(
        t is not None and t != page and t in set(s) for t, s in zip(tops, g["sources"], strict=True)
    )
    inst = retrieved_instead(page, tops)
    others = {t for t in tops if t and t != page}
    return [n, sum(t == page for t in tops) / n, cited / n, g["correct"].mean(), other_gold / n,
            len(others), inst[0] if inst else None, inst[1] if inst else None]  # fmt: skip


def retrieval_stats(own: pd.DataFrame, system: str | None) -> pd.DataFrame:
    """Per page: its questions, top-1 share, cited share, and the pages retrieved instead."""
    cols = ["questions", "top1", "cited", "rag_correct", "other_gold_top", "instead_pages", "instead",
            "instead_share"]  # fmt: skip
    rows = own[own["system"] == system] if system else own.iloc[0:0]
    out = {str(page): page_retrieval(str(page), g) for page, g in rows.groupby("page", sort=True)}
    return pd.DataFrame.from_dict(out, orient="index", columns=cols)


def learning_stats(own: pd.DataFrame, system: str = LEARNING_SYSTEM) -> pd.DataFrame:
    """Per page: the fine-tuned system's accuracy on its facts, how many it was scored on, and the
    facts it missed."""
    rows = own[(own["system"] == system) & own["correct"].notna()]
    if rows.empty:  # no fine-tune in the run (--systems base,rag): groupby.apply would give a frame
        return pd.DataFrame(columns=["ft_questions", "ft_correct", "ft_missed"], dtype=float)
    # a question without a fact id (a user's own qa.jsonl) is named by its id, not "None"
    rows = rows.assign(fact=rows["fact_id"].where(rows["fact_id"].notna(), rows["qid"]).astype(str))
    g = rows.groupby("page")
    missed = g.apply(lambda x: "; ".join(sorted(set(x.loc[x["correct"] < 1, "fact"]))))
    return pd.DataFrame({"ft_questions": g["correct"].size(), "ft_correct": g["correct"].mean(),
                         "ft_missed": missed})  # fmt: skip


def freshness_stats(
    own: pd.DataFrame, changed: Mapping[str, QAItem], template: str | None, system: str = LEARNING_SYSTEM
) -> pd.DataFrame:
    """Per page: its changed questions and the share the fine-tune, as trained before the update,
    answers with the old value. ``changed`` maps qid -> the question as the update has it (new
    answer, ``old_answer``). The run's answers are the pre-update ones, i.e. the stale adapter's."""
    rows = own[(own["system"] == system) & own["qid"].isin(list(changed))]
    out: dict[str, list[float]] = {}
    for page, g in rows.groupby("page"):
        stale = []
        for qid, text in zip(g["qid"], g["text"], strict=True):
            q = changed[qid]
            answer = S.bare_answer(str(text), template)
            stale.append(gives_old_value(answer, q.old_answer, q.golds, q.question))
        out[str(page)] = [len(g), sum(stale) / len(g)]
    return pd.DataFrame.from_dict(out, orient="index", columns=["changed_questions", "ft_old_value"])


@dataclass(frozen=True)
class TextFacts:
    """What the page text says about where its answers sit."""

    answers_found: int
    answers_missing: int
    longest_paragraph: int | None  # words in the longest paragraph holding one of its answers
    no_heading: int  # answers found under no heading
    vocab_overlap: float


def text_facts(doc: Document, questions: Sequence[str], answers: Sequence[Sequence[str]]) -> TextFacts:
    """Locate each of the page's answers in its text (one list of gold strings per question)."""
    positions = [answer_position(doc.text, golds) for golds in answers]
    found = [p for p in positions if p is not None]
    return TextFacts(
        answers_found=len(found),
        answers_missing=len(positions) - len(found),
        longest_paragraph=max((paragraph_words(doc.text, p) for p in found), default=None),
        no_heading=sum(heading_above(doc.text, p) is None for p in found),
        vocab_overlap=vocabulary_overlap(questions, doc.text),
    )


def text_stats(own: pd.DataFrame, docs: Mapping[str, Document]) -> pd.DataFrame:
    """Per page with questions and a text: :class:`TextFacts` as columns."""
    qs = own.drop_duplicates(["qid", "page"])
    out = {}
    for page, g in qs.groupby("page"):
        if page in docs:
            golds = [list(x) if x is not None else [] for x in g["golds"]]
            out[page] = vars(text_facts(docs[page], list(g["question"]), golds))
    return pd.DataFrame.from_dict(out, orient="index")


# --- verdicts and reasons ---------------------------------------------------------------------------


def _num(row: Mapping[str, Any], key: str) -> float | None:
    value = row.get(key)
    return None if S.missing(value) or value is None else float(value)


def retrieval_verdict(row: Mapping[str, Any]) -> str:
    """Weak when most of its questions are answered from another page, or when the
    retrievability analysis marks it never or rarely retrieved."""
    if row.get("status") in ("never", "rare"):
        return WEAK
    top1, n = _num(row, "top1"), _num(row, "questions") or 0
    if top1 is None or n < MIN_QUESTIONS:
        return NA
    return WEAK if top1 < TOP1_WEAK_BELOW else STRONG


def learning_verdict(row: Mapping[str, Any]) -> str:
    acc, n = _num(row, "ft_correct"), _num(row, "ft_questions") or 0
    if acc is None or n < MIN_QUESTIONS:
        return NA
    return WEAK if acc < LEARN_WEAK_BELOW else STRONG


def freshness_verdict(row: Mapping[str, Any]) -> str:
    stale, n = _num(row, "ft_old_value"), _num(row, "changed_questions") or 0
    if stale is None or n < 1:
        return NA
    return WEAK if stale >= STALE_WEAK_FROM else STRONG


def instead_reason(row: Mapping[str, Any]) -> str | None:
    """The page(s) retrieved in its place, and what to do about it."""
    page, share = row.get("instead"), _num(row, "instead_share")
    if not page or share is None:
        return None
    if (_num(row, "other_gold_top") or 0) >= TOP1_WEAK_BELOW:
        return (
            f"its facts also live on other pages, which are retrieved instead for "
            f"{row['other_gold_top']:.0%} of its questions ({row['instead_pages']:.0f} pages, most often "
            f"{page}): keep each fact on one page and link to it, or accept this page as an index"
        )
    sim = _num(row, "winner_similarity") if row.get("winner") == page else None
    similar = f", embedding similarity {sim:.2f}" if sim is not None else ""
    return (
        f"near-duplicate {page} is retrieved instead for {share:.0%} of its questions{similar}: name "
        "this page's subject in its title and first sentence, and cut what it shares with that page"
    )


def text_reasons(row: Mapping[str, Any]) -> list[str]:
    """Causes the page text shows: buried facts, no heading, answers not written out, wording."""
    out = []
    words = _num(row, "longest_paragraph")
    if words is not None and words > LONG_PARAGRAPH_WORDS:
        out.append(f"facts buried in a {words:.0f}-word paragraph: one short sentence or list item per fact")
    if (_num(row, "no_heading") or 0) > 0:
        n = row["no_heading"]
        out.append(f"{n:.0f} answer(s) sit under no heading: add a heading that names the topic")
    if (_num(row, "answers_missing") or 0) > 0:
        n = row["answers_missing"]
        out.append(f"{n:.0f} answer(s) not found on the page as written: state the value as people expect it")
    overlap = _num(row, "vocab_overlap")
    if overlap is not None and overlap < VOCAB_WEAK_BELOW:
        out.append(
            f"vocabulary mismatch: {overlap:.0%} of the words in its questions occur on the page: "
            "use the words people ask with"
        )
    return out


def learning_reason(row: Mapping[str, Any]) -> str:
    """What the fine-tune missed, and the fix: more phrasings, or RAG where RAG does better."""
    acc, n, rag = row["ft_correct"], row["ft_questions"], _num(row, "rag_correct")
    missed = str(row.get("ft_missed") or "").split("; ")
    shown = "; ".join(missed[:4]) + (f" and {len(missed) - 4} more" if len(missed) > 4 else "")
    fix = "add more phrasings of these facts to the training data"
    if rag is not None and rag > acc:
        fix += f", or answer this page through RAG ({rag:.0%} correct there)"
    return f"the fine-tune answers {acc:.0%} of its {n:.0f} questions (missed: {shown}): {fix}"


def reasons(row: Mapping[str, Any]) -> list[str]:
    """Why each weak axis is weak, with a fix; the text causes are listed once."""
    out: list[str] = []
    if row.get("retrieval") == WEAK:
        if row.get("status") in ("never", "rare"):
            out.append(f"retrievability: {row['status']} retrieved (r(d) = {row['r_cumulative']:.0f})")
        out.append(instead_reason(row) or "retrieval weak, no page wins in its place: check the chunking")
    if row.get("learning") == WEAK:
        out.append(learning_reason(row))
    if row.get("freshness") == WEAK:
        stale = row["ft_old_value"]
        out.append(
            f"changed in the update; the fine-tune gives the old value for {stale:.0%} of its changed "
            "facts until re-trained: re-train after each edit, or answer it with RAG"
        )
    if WEAK in (row.get("retrieval"), row.get("learning")):
        out += text_reasons(row)
    return out


# --- the page table ---------------------------------------------------------------------------------

COLUMNS = ("doc_id", "title", "weak_axes", "retrieval", "learning", "freshness", "questions", "status",
           "r_cumulative", "top1", "cited", "rag_correct", "ft_questions", "ft_correct", "changed",
           "changed_questions", "ft_old_value", "other_gold_top", "instead_pages", "instead",
           "instead_share", "ft_missed", "winner", "winner_similarity", "longest_paragraph",
           "no_heading", "answers_missing", "vocab_overlap", "reasons")  # fmt: skip
RETRIEVABILITY_COLUMNS = ("status", "r_cumulative", "winner", "winner_similarity")


@dataclass(frozen=True)
class RunInputs:
    """What the report is computed from; only ``results`` is required.

    Args:
        results: ``results.parquet`` (one row per question and system).
        docs: the corpus pages (``None``: no text diagnoses).
        retrievability: ``retrievability/pages.csv`` (``None``: no r(d)).
        changed: qid -> the question as the update has it (``None``: no update or not known).
        changed_pages: pages the update changed (from summary.json), marked even without ``changed``.
        template: the house-style template, removed from answers before scoring.
    """

    results: pd.DataFrame
    docs: Mapping[str, Document] | None = None
    retrievability: pd.DataFrame | None = None
    changed: Mapping[str, QAItem] | None = None
    changed_pages: Sequence[str] = ()
    template: str | None = None


def _base(inp: RunInputs, own: pd.DataFrame) -> pd.DataFrame:
    """One row per page: every page of the corpus, of the retrievability table and of the sources."""
    pages = set(own["page"]) | set(inp.docs or {}) | set(inp.changed_pages)
    titles = {d: doc.title for d, doc in (inp.docs or {}).items()}
    retr = inp.retrievability
    if retr is not None and not retr.empty:
        pages |= set(retr["doc_id"])
        titles = {**dict(zip(retr["doc_id"], retr["title"], strict=True)), **titles}
    base = pd.DataFrame(index=sorted(pages))
    base["title"] = [titles.get(p, p) for p in base.index]
    if retr is not None and not retr.empty:
        cols = [c for c in RETRIEVABILITY_COLUMNS if c in retr]
        base = base.join(retr.set_index("doc_id")[cols])
    base["changed"] = [p in set(inp.changed_pages) for p in base.index]
    return base


def page_table(inp: RunInputs) -> pd.DataFrame:
    """Every page with its numbers, verdicts and reasons; pages that need work first."""
    own = own_questions(inp.results)
    table = _base(inp, own).join(retrieval_stats(own, retrieval_system(inp.results)))
    table = table.join(learning_stats(own))
    if inp.changed:
        table = table.join(freshness_stats(own, inp.changed, inp.template))
    if inp.docs:
        table = table.join(text_stats(own, inp.docs))
    table = table.reindex(columns=[c for c in COLUMNS if c != "doc_id"])
    table["questions"] = table["questions"].fillna(0).astype(int)
    records = table.to_dict("index")
    for col, verdict in (("retrieval", retrieval_verdict), ("learning", learning_verdict),
                         ("freshness", freshness_verdict)):  # fmt: skip
        table[col] = [verdict(r) for r in records.values()]
    records = table.to_dict("index")
    table["weak_axes"] = [sum(r[a] == WEAK for a in AXES) for r in records.values()]
    table["reasons"] = [" | ".join(reasons(r)) for r in records.values()]
    table = table.rename_axis("doc_id").reset_index()
    order = table.assign(_t=table["top1"].fillna(2.0), _l=table["ft_correct"].fillna(2.0))
    order = order.sort_values(["weak_axes", "_t", "_l", "doc_id"], ascending=[False, True, True, True])
    return table.loc[order.index, list(COLUMNS)].reset_index(drop=True)


def axis_counts(table: pd.DataFrame) -> dict[str, dict[str, int]]:
    """axis -> verdict -> number of pages."""
    return {a: {v: int((table[a] == v).sum()) for v in (WEAK, STRONG, NA)} for a in AXES}


# (marker in a reason, what it is called in the summary)
CAUSES = (
    ("retrievability:", "never or rarely retrieved"),
    ("also live on other pages", "facts shared with other pages that win"),
    ("near-duplicate", "a near-duplicate page wins"),
    ("fine-tune answers", "the fine-tune misses its facts"),
    ("old value", "the fine-tune keeps old values after an update"),
    ("buried", "facts buried in long paragraphs"),
    ("no heading", "answers under no heading"),
    ("not found on the page", "answers not written on the page"),
    ("vocabulary mismatch", "vocabulary unlike the questions"),
)


def top_causes(table: pd.DataFrame) -> list[tuple[str, int]]:
    """How many pages that need work have each kind of reason, most frequent first."""
    kinds: Counter[str] = Counter()
    for text in table.loc[table["weak_axes"] > 0, "reasons"]:
        kinds.update({label for marker, label in CAUSES if marker in str(text)})
    return kinds.most_common()
