"""Retrievability for content teams: which pages can a retriever find at all?

Following Azzopardi and Vinay (2008): run a large query set, and count for each page d how
often it appears within the cutoff c (cumulative form) or with a rank-discounted weight
(gravity form). The Gini coefficient of r(d) summarises bias; pages with r(d) = 0 can never
be found, whatever a user asks. Each weak page gets a diagnosis a writer can act on.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from corpus.chunking import count_tokens
from corpus.markup import sections
from corpus.model import Document
from retrieval.search import retrieve_docs

GENERIC_HEADINGS = {"overview", "introduction", "intro", "details", "general", "misc", "other", "notes",
                    "more", "info", "information", "summary", "about", "faq", "background"}  # fmt: skip
_STOP = """a an the of to in on for and or is are was were be by with at from as it its this that these
those how what which who when where why do does did can i you we my your our their there here into about
than then so if not no"""
STOPWORDS = frozenset(_STOP.split())
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")


@dataclass(frozen=True)
class PageQuery:
    text: str
    origin: str | None  # doc_id the query was made from (or is about); None if unknown
    kind: str  # title | heading | sentence | keywords | question | given


def content_words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text) if w.lower() not in STOPWORDS]


def page_queries(doc: Document, max_sentences: int = 3) -> list[PageQuery]:
    """Queries a reader might type for this page: its title and headings, key sentences, and
    simple paraphrases (keyword-only and question forms)."""
    out = [PageQuery(doc.title, doc.doc_id, "title")]
    secs = sections(doc.text)
    for sec in secs:
        head = sec.heading_path[-1] if sec.heading_path else ""
        if head and head != doc.title and head.lower() not in GENERIC_HEADINGS:
            out.append(PageQuery(f"{doc.title} {head}", doc.doc_id, "heading"))
    sentences = [s for sec in secs for s in re.split(r"(?<=[.!?])\s+", sec.text) if 6 <= len(s.split()) <= 40]
    for s in sentences[:max_sentences]:
        out.append(PageQuery(s, doc.doc_id, "sentence"))
        words = content_words(s)
        if len(words) >= 3:
            out.append(PageQuery(" ".join(words[:8]), doc.doc_id, "keywords"))
    out.append(PageQuery(f"What is {doc.title}?", doc.doc_id, "question"))
    seen: set[str] = set()
    return [q for q in out if not (q.text.lower() in seen or seen.add(q.text.lower()))]


def cumulative_r(ranks: Sequence[int | None], cutoff: int) -> float:
    """r(d) in cumulative form: the number of queries that rank d within the cutoff."""
    return float(sum(1 for r in ranks if r is not None and r <= cutoff))


def gravity_r(ranks: Sequence[int | None], cutoff: int, beta: float = 0.5) -> float:
    """r(d) in gravity form: each query within the cutoff adds 1 / rank**beta."""
    return float(sum(1.0 / r**beta for r in ranks if r is not None and r <= cutoff))


def gini(values: Sequence[float]) -> float:
    """Gini coefficient: 0 when every page is equally retrievable, towards 1 when few dominate."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return 0.0
    cum = np.cumsum(x)
    return float((n + 1 - 2 * (cum.sum() / cum[-1])) / n)


def lorenz_curve(values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Points of the Lorenz curve: share of pages (x) vs share of retrievability (y)."""
    x = np.sort(np.asarray(values, dtype=float))
    total = x.sum()
    y = np.concatenate([[0.0], np.cumsum(x) / total]) if total > 0 else np.linspace(0, 1, len(x) + 1)
    return np.linspace(0.0, 1.0, len(x) + 1), y


@dataclass
class PageReport:
    """One row of the page table."""

    doc_id: str
    title: str
    tokens: int
    r_cumulative: float
    r_gravity: float
    own_queries: int
    own_top1: float  # share of the page's own queries where it is the top hit
    own_found: float  # share within the cutoff
    vocab_overlap: float  # share of its queries' content words that occur in the page
    winner: str | None = None  # the page that most often beats it on its own queries
    winner_similarity: float | None = None
    status: str = "ok"
    diagnoses: list[str] = field(default_factory=list)


def diagnose(page: PageReport, doc: Document, long_tokens: int, short_tokens: int) -> list[str]:
    """Plain-language reasons a page is hard to find, each with what to change."""
    out: list[str] = []
    if page.tokens > long_tokens:
        out.append(f"long page ({page.tokens} tokens): its facts are diluted; split it by topic")
    if page.tokens < short_tokens:
        out.append(f"very short page ({page.tokens} tokens): add a description of what it covers")
    heads = [s.heading_path[-1] for s in sections(doc.text) if s.heading_path]
    if len(heads) <= 1 and page.tokens > 120:
        out.append("no section headings: add descriptive headings with the words people search for")
    elif heads and all(h.lower() in GENERIC_HEADINGS or h == doc.title for h in heads[1:] or heads):
        out.append("generic headings only (e.g. Overview, Details): name sections after their topic")
    if page.winner and page.winner_similarity is not None and page.winner_similarity >= 0.8:
        out.append(
            f"near-duplicate of {page.winner} (similarity {page.winner_similarity:.2f}), which wins its "
            "queries: merge the pages or make each one's distinguishing terms explicit"
        )
    elif page.winner and page.own_top1 < 0.5:
        out.append(f"{page.winner} outranks it on its own queries: make the page's subject explicit early on")
    if page.vocab_overlap < 0.5:
        out.append(
            f"vocabulary mismatch: only {page.vocab_overlap:.0%} of the words in its queries occur on the "
            "page; use the terms people ask with"
        )
    return out


def winner_of(own_tops: Sequence[str | None], doc_id: str) -> str | None:
    """The page that most often takes the top spot on ``doc_id``'s own queries, if any."""
    others = Counter(t for t in own_tops if t is not None and t != doc_id)
    return others.most_common(1)[0][0] if others else None


def status_of(r: float, rare_threshold: float) -> str:
    if r == 0:
        return "never"
    return "rare" if r <= rare_threshold else "ok"


def page_tokens(doc: Document) -> int:
    return count_tokens(doc.text)


@dataclass
class RetrievabilityResult:
    pages: list[PageReport]
    cutoff: int
    beta: float
    n_queries: int
    gini_cumulative: float
    gini_gravity: float
    query_source: str

    def facts(self) -> dict[str, float | int]:
        """The headline numbers a run summary keeps."""
        return {
            "gini": self.gini_cumulative,
            "never": sum(p.status == "never" for p in self.pages),
            "flagged": sum(bool(p.diagnoses) for p in self.pages),
            "cutoff": self.cutoff,
            "queries": self.n_queries,
            "pages": len(self.pages),
        }


def _doc_vectors(index: object, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
    """Mean chunk vector per page (normalised): the page's position in embedding space."""
    chunks, vectors = index.chunks, index.vectors  # type: ignore[attr-defined]
    rows: dict[str, list[int]] = {}
    for r, c in enumerate(chunks):
        rows.setdefault(c.doc_id, []).append(r)
    out = {}
    for d in doc_ids:
        if d in rows:
            v = vectors[rows[d]].mean(axis=0)
            out[d] = v / (np.linalg.norm(v) or 1.0)
    return out


def analyze(
    docs: dict[str, Document], queries: Sequence[PageQuery], retriever: object, index: object,
    cutoff: int = 10, beta: float = 0.5, long_tokens: int = 1200, short_tokens: int = 40,
    batch_size: int = 64, progress: bool = False, query_source: str = "generated",
) -> RetrievabilityResult:  # fmt: skip
    """Run every query, then score and diagnose every page."""
    from tqdm.auto import tqdm

    ranks: dict[str, list[int | None]] = {d: [] for d in docs}
    own_tops: dict[str, list[str | None]] = {d: [] for d in docs}
    own_ranks: dict[str, list[int | None]] = {d: [] for d in docs}
    for i in tqdm(
        range(0, len(queries), batch_size), disable=None if progress else True, desc="queries", unit="batch"
    ):
        part = queries[i : i + batch_size]
        for q, hits in zip(part, retriever.retrieve([q.text for q in part], cutoff * 5), strict=True):  # type: ignore[attr-defined]
            ranked = retrieve_docs(hits)[:cutoff]
            pos = {d: r for r, d in enumerate(ranked, start=1)}
            for d in docs:
                ranks[d].append(pos.get(d))
            if q.origin in docs:
                own_tops[q.origin].append(ranked[0] if ranked else None)
                own_ranks[q.origin].append(pos.get(q.origin))
    vecs = _doc_vectors(index, list(docs))
    r_cum = {d: cumulative_r(ranks[d], cutoff) for d in docs}
    rare = max(1.0, 0.2 * float(np.median(list(r_cum.values())))) if r_cum else 1.0
    words_of = {d: set(content_words(docs[d].text)) for d in docs}
    pages = []
    for d, doc in docs.items():
        own = [q for q in queries if q.origin == d]
        qwords = [w for q in own for w in content_words(q.text)]
        n_own = len(own_ranks[d])
        page = PageReport(
            doc_id=d, title=doc.title, tokens=page_tokens(doc), r_cumulative=r_cum[d],
            r_gravity=gravity_r(ranks[d], cutoff, beta), own_queries=n_own,
            own_top1=sum(t == d for t in own_tops[d]) / n_own if n_own else 0.0,
            own_found=sum(r is not None for r in own_ranks[d]) / n_own if n_own else 0.0,
            vocab_overlap=sum(w in words_of[d] for w in qwords) / len(qwords) if qwords else 1.0,
            winner=winner_of(own_tops[d], d), status=status_of(r_cum[d], rare),
        )  # fmt: skip
        if page.winner and d in vecs and page.winner in vecs:
            page.winner_similarity = round(float(vecs[d] @ vecs[page.winner]), 3)
        if page.status != "ok" or page.own_top1 < 0.5:
            page.diagnoses = diagnose(page, doc, long_tokens, short_tokens)
        pages.append(page)
    pages.sort(key=lambda p: (p.r_cumulative, p.own_top1, p.doc_id))
    return RetrievabilityResult(
        pages, cutoff, beta, len(queries), gini(list(r_cum.values())),
        gini([p.r_gravity for p in pages]), query_source,
    )  # fmt: skip
