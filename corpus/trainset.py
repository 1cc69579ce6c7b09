"""Facts read from a corpus's pages, for training data when a team has documents and no train split.

Pages are cut into sections (heading path), paragraphs, lines and sentences; the rules of
:mod:`corpus.qarules` turn each into facts with several phrasings. Every fact keeps the paragraph
it came from (what a reader is given in the round trip, and the teacher in prompt distillation)
and how it was made. Sentences no rule reads but that hold a checkable span (a number with a
unit, a code identifier, a name) are returned as *spans* for a generator model to ask about.
Everything here is deterministic and model-free.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import corpus.coderules
import corpus.proserules  # registers the rules on prose claims
import corpus.sectionrules  # noqa: F401  (registers the rules on whole sections)
from corpus.linerules import table_rows
from corpus.markup import sections
from corpus.model import Document
from corpus.qaphrase import IDENT, NAME, NUM_UNIT, SENTENCE_BREAK, clean, names_something, proper_words
from corpus.rulebook import LINE_RULES, SECTION_RULES, SENTENCE_RULES, Fact, Where

_FENCE = re.compile(r"^\s*(```|~~~)")
_ROW = re.compile(r"^\s*\|(.+)\|\s*$")
_RULE_ROW = re.compile(r"^\s*\|?\s*:?-{3,}")
_ITEM = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|[^\s:][^:]{0,40}:\s)")
# The passage given to the reader: the sentence and its neighbours. On the bundled Django pages a
# 120-word passage took SmolLM2-135M about 1.7 s a question on 2 cores and it missed many answers in
# it; 60 words (and at most 480 characters, for code-heavy text) keeps the evidence and halves that.
CONTEXT_WORDS = 60
CONTEXT_CHARS = 480


@dataclass(frozen=True)
class PageFact:
    """A fact with where it stands: its page, heading path and surrounding paragraph."""

    doc_id: str
    fact: Fact
    heading_path: tuple[str, ...]
    context: str


@dataclass(frozen=True)
class Span:
    """A sentence no rule read, and a checkable span in it a generator can ask about."""

    doc_id: str
    answer: str
    sentence: str
    context: str
    heading_path: tuple[str, ...] = ()


@dataclass
class PageReading:
    """What the rules found in a corpus: facts, spans for a model, and pages with neither."""

    facts: list[PageFact] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    empty_pages: list[str] = field(default_factory=list)
    changelogs: list[str] = field(default_factory=list)  # pages not read: they say what was, not what is


def paragraphs(text: str) -> Iterator[tuple[list[str], bool]]:
    """Blocks of lines separated by blank lines, code fences kept whole and flagged as code."""
    block: list[str] = []
    in_fence = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            if in_fence:
                yield block, True
                block, in_fence = [], False
            else:
                if block:
                    yield block, False
                block, in_fence = [], True
            continue
        if not in_fence and not line.strip():
            if block:
                yield block, False
            block = []
        else:
            block.append(line)
    if block:
        yield block, in_fence


def window(text: str, sentence: str, words: int = CONTEXT_WORDS, chars: int = CONTEXT_CHARS) -> str:
    """``text`` cut to about ``words`` words, then at most ``chars`` characters, around ``sentence``."""
    tokens = text.split()
    at = len(text[: max(text.find(sentence), 0)].split())
    start = max(0, min(at - words // 3, len(tokens) - words))
    cut = " ".join(tokens[start : start + words])
    if len(cut) <= chars:
        return cut
    off = max(cut.find(" ".join(sentence.split()[:3])), 0)
    lo = max(0, min(off - chars // 4, len(cut) - chars))
    piece = cut[lo : lo + chars]
    first = piece.find(" ") + 1 if lo else 0  # whole words only
    last = piece.rfind(" ") if lo + chars < len(cut) else len(piece)
    return piece[first:last].strip()


def _table(lines: list[str], where: Where) -> Iterator[Fact]:
    rows = [[c.strip() for c in m.group(1).split("|")] for ln in lines if (m := _ROW.match(ln))]
    body = [r for r, ln in zip(rows, lines, strict=False) if not _RULE_ROW.match(ln)]
    if len(body) >= 2 and any(_RULE_ROW.match(ln) for ln in lines):
        for row in body[1:]:
            yield from table_rows(body[0], row, where, " | ".join(row))


def read_block(lines: list[str], where: Where) -> Iterator[Fact]:
    """Every fact of one paragraph: line rules on each line, a table, sentence rules on the prose."""
    if all(_ROW.match(ln) for ln in lines):
        yield from _table(lines, where)
        return
    # Line rules only where lines are items (a list, one line, or key-value lines throughout): an HTML
    # paragraph keeps its source's line breaks, and half a sentence is not a "Key: value" line.
    if len(lines) == 1 or all(_ITEM.match(ln) for ln in lines):
        for line in lines:
            for rule in LINE_RULES.values():
                yield from rule(line, where)
    prose = " ".join(ln.strip().lstrip("-*> ").strip() for ln in lines)
    for sentence in SENTENCE_BREAK.split(prose):
        for rule in SENTENCE_RULES.values():
            yield from rule(sentence.strip(), where)


_NAME_IN_TEXT = re.compile(r"(?<!^)(?<![.!?] )\b[A-Z][a-z]+(?: [A-Z][a-z]+){1,2}\b")


def spans_of(sentence: str) -> list[str]:
    """Checkable spans of a sentence: numbers with units, code identifiers, two-word names."""
    found = [m.group(0) for m in NUM_UNIT.finditer(sentence)]
    found += [clean(m.group(0)) for m in IDENT.finditer(sentence)]
    # names whole, up to three words: "Dive Into Python", not "Dive Into"
    found += [m.group(0) for m in _NAME_IN_TEXT.finditer(sentence) if NAME.match(m.group(0))]
    return list(dict.fromkeys(s for s in found if len(s) >= 2))


def read_page(doc: Document) -> tuple[list[PageFact], list[Span]]:
    """Facts and model spans of one page, in page order."""
    facts: list[PageFact] = []
    spans: list[Span] = []
    names = proper_words(doc.text)
    for sec in sections(doc.text):
        heading = clean(sec.heading_path[-1]) if sec.heading_path else ""
        where = Where(clean(doc.title), heading, names)
        prose_blocks = [b for b, code in paragraphs(sec.text) if not code]
        section_text = " ".join(ln for b in prose_blocks for ln in b)
        prose = "\n\n".join("\n".join(b) for b in prose_blocks)  # section rules see no code
        facts += [PageFact(doc.doc_id, f, sec.heading_path, window(section_text, f.evidence))
                  for rule in SECTION_RULES.values() for f in rule(prose, where)]  # fmt: skip
        aside = 0  # paragraphs still inside a Note or Warning box
        for before, block in zip([[], *prose_blocks], prose_blocks, strict=False):
            aside = ASIDE_PARAGRAPHS if is_aside_title(before) else max(aside - 1, 0)
            found = [] if example_term(before) else list(read_block(block, where))
            # "ModelForm is a regular Form which can ..." in a Note: a remark, not what ModelForm is
            found = [f for f in found if not (aside and f.rule == "definition")]
            read = {f.evidence for f in found}
            facts += [
                PageFact(doc.doc_id, f, sec.heading_path, window(section_text, f.evidence)) for f in found
            ]
            prose = " ".join(ln.strip() for ln in block)
            for sentence in SENTENCE_BREAK.split(prose):
                if sentence not in read and 6 <= len(sentence.split()) <= 40:
                    for s in spans_of(sentence)[:1]:
                        spans.append(Span(doc.doc_id, s, sentence, window(section_text, sentence),
                                          sec.heading_path))  # fmt: skip
    return facts, spans


# An admonition's title line (Sphinx and MkDocs render "Note" or "Warning" as its own paragraph) and how
# many paragraphs after it count as inside the box: a definition there is said in passing (four
# readers of the Django pages failed "ModelForm is a regular Form which can automatically generate
# certain fields", from a Note; the page defines it at the top).
_ASIDE = frozenset(
    ("note", "warning", "tip", "hint", "important", "caution", "attention", "see also", "seealso")
)
ASIDE_PARAGRAPHS = 2


def is_aside_title(block: list[str]) -> bool:
    return len(block) == 1 and block[0].strip().rstrip(":").lower() in _ASIDE


# A definition list's term that is an example command ("--app 'hello:create_app(\"dev\")'"): what its
# description says ("The create_app factory in hello is called with the string 'dev'") is about that
# example, which a question cannot carry (four Flask audits in a row found it).
_EXAMPLE_TERM = re.compile(r"^--?[a-z][\w-]* .*['\"(]")


def example_term(block: list[str]) -> bool:
    """Whether a paragraph is one line naming an example invocation."""
    return len(block) == 1 and bool(_EXAMPLE_TERM.match(block[0].strip()))


# Names the examples define: classes (``class Place(models.Model):``, anywhere in the corpus), and on
# their own page top-level functions and variables with an underscore (``format_string = ...``). A
# question about them ("What does Place.objects.all() return?") is about the example, not the
# software: every hand audit found such pairs meaningless without the page open. A name the corpus
# also uses as an API's (after a dot, ``generic.DetailView``, or as a keyword argument,
# ``db_tablespace="indexes"``) is the software's own, even where an example defines it.
_CLASS_DEF = re.compile(r"^class ([A-Z]\w*)", re.M)
# Variables: at the top level or in a function body (8 spaces or more), and tuple unpacking; a class
# body's attributes (4 spaces: ``context_object_name = ...`` on a view) are the API's options.
_LOCAL_DEF = re.compile(
    r"^def ([a-z]\w*_\w*)|^(?: {8,})?([a-z]\w*_\w*) = |^\s*([a-z]\w*_\w*(?:\s*,\s*[a-z]\w*_\w*)+) = ", re.M
)
_API_USE = re.compile(r"\.([A-Za-z_]\w*)|\b([a-z_]\w*)=(?!=)")
# A quoted dotted path names the example's own model by its app ('core.Book'), not an API.
_QUOTED_PATH = re.compile(r"(['\"])[a-z_]\w*\.[A-Z]\w*\1")
_NAME_TOKEN = re.compile(r"[A-Za-z_]\w*")
_SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")


def code_of(text: str) -> str:
    return "\n".join("\n".join(block) for block, code in paragraphs(text) if code)


def example_names(
    code: str, classes: frozenset[str], api: frozenset[str], lone: frozenset[str] = frozenset()
) -> frozenset[str]:
    """The example's own names in a page's ``code`` plus the corpus's example ``classes``, less the
    names the corpus uses as an API's (``api``). ``lone``: names no other page mentions; one the
    code only passes around as a value or a string ("re_path(..., blog_articles)",
    ``add_argument('poll_ids', ...)``), never defines or calls, is the example's too (a Django
    audit: "Which view needs the outermost captured argument to be reversed?" -> blog_articles)."""
    local = {n.strip() for m in _LOCAL_DEF.finditer(code) for g in m.groups() if g for n in g.split(",")}
    in_code = lone & set(_NAME_TOKEN.findall(code))  # tokenised once: ``lone`` holds thousands of names
    values = {n for n in in_code if not re.search(rf"def {n}\b|\b{n}\s*[(=]", code)}
    return (classes | frozenset(local) | values) - api


def corpus_names(docs: Sequence[Document]) -> tuple[dict[str, str], frozenset[str], frozenset[str]]:
    """Each page's code, the classes the corpus's examples define, and the names it uses as an API's."""
    codes = {doc.doc_id: code_of(doc.text) for doc in docs}
    classes = frozenset(n for code in codes.values() for n in _CLASS_DEF.findall(code))
    texts = [_QUOTED_PATH.sub("", doc.text) for doc in docs]
    api = frozenset(g for text in texts for m in _API_USE.finditer(text) for g in m.groups() if g)
    return codes, classes, api


def about_example(fact: Fact, names: frozenset[str]) -> bool:
    """Whether a fact's questions or answer name one of its page's example names."""
    text = " ".join((*fact.questions, fact.answer))
    return bool(names) and any(t in names for t in _NAME_TOKEN.findall(text))


def read_pages(docs: Iterable[Document], max_facts_per_page: int = 0) -> PageReading:
    """Facts of every page (each answer a verbatim span of its page; the same question asked once),
    capped per page when ``max_facts_per_page`` is set (first in page order), and spans for a model.
    Facts about an example's own names are left out (``example_names``)."""
    out = PageReading()
    asked: set[str] = set()
    docs = list(docs)
    # a changelog is not read at all: its stale answers would also make other pages' questions look
    # ambiguous (two_answers) and its code would count as the corpus's
    out.changelogs = [doc.doc_id for doc in docs if changelog(doc)]
    docs = [doc for doc in docs if doc.doc_id not in out.changelogs]
    codes, classes, api = corpus_names(docs)
    mentions = Counter(n for doc in docs for n in set(_SNAKE.findall(doc.text)))
    lone = frozenset(n for n, k in mentions.items() if k == 1)
    pages = {doc.doc_id: read_page(doc) for doc in docs}
    ambiguous = two_answers(pf.fact for facts, _ in pages.values() for pf in facts)
    for doc in docs:
        facts, spans = pages[doc.doc_id]
        examples = example_names(codes[doc.doc_id], classes, api, lone)
        kept = []
        for pf in facts:
            new = tuple(
                q for q in pf.fact.questions
                if q.lower() not in asked and q.lower() not in ambiguous and not gives_away(q, pf.fact.answer)
            )  # fmt: skip
            if not new or not contains(doc.text, pf.fact.answer) or about_example(pf.fact, examples):
                continue
            if pf.fact.rule == "definition" and defined_before(pf.fact.evidence, doc.text):
                continue
            asked.update(q.lower() for q in new)
            kept.append(pf)
            if max_facts_per_page and len(kept) >= max_facts_per_page:
                break
        out.facts += kept
        out.spans += [s for s in spans if contains(doc.text, s.answer)]
        if not kept:
            out.empty_pages.append(doc.doc_id)
    return out


# A page of changes ("Changes", "Changelog", "Release notes", "What's new in 2.0"): its sentences say what
# a release changed ("To use another JSON module, override app.json_encoder"), often advice a later
# release withdrew; a Flask audit found most of its pairs stale or wrong.
_CHANGELOG = re.compile(
    r"^(?:changes|change ?log|changelog|release notes?|history|news|what[’']s new)\b", re.I
)


def changelog(doc: Document) -> bool:
    """Whether a page lists a project's changes rather than describing it."""
    last = doc.doc_id.rsplit("/", 1)[-1]
    return bool(_CHANGELOG.match(clean(doc.title)) or _CHANGELOG.fullmatch(last.replace("-", " ")))


def defined_before(evidence: str, text: str) -> bool:
    """Whether the page says what the evidence's subject is in an earlier sentence: the first
    "Celery is a ..." of a page is its definition (the intro's "a powerful task queue ..."), a later
    one a remark in passing ("Celery is a separate Python package", under Install)."""
    m = re.match(r"^(.{2,60}?) (?:is|are) (?:an?|the) ", evidence)
    here = re.search(_loose(evidence[:60]), text)
    if not m or here is None:
        return False
    first = re.search(r"(?:^|[.!?:]\s+|\n\s*)(" + _loose(m.group(0)) + r")\b", text)  # "a", not "also"
    return first is not None and first.start(1) < here.start()


def _loose(phrase: str) -> str:
    """A pattern for ``phrase`` across the page's line breaks."""
    return r"\s+".join(re.escape(w) for w in phrase.split())


def gives_away(question: str, answer: str) -> bool:
    """Whether a question holds its own answer, as a scope taken from a heading can ("For The
    PermissionRequiredMixin mixin, how do you apply permission checks ...?"): a last guard behind
    the rules' own checks."""
    core = re.sub(r"^(?:the|an?) ", "", answer.strip(), flags=re.I)
    # case kept: "the flask command" does not give away the answer "Flask"
    return len(core) >= 4 and re.search(r"(?<!\w)" + re.escape(core) + r"(?!\w)", question) is not None


def two_answers(facts: Iterable[Fact]) -> set[str]:
    """Questions (lower case) that name nothing and that facts of the corpus answer differently:
    "For API, how do you register a function?" stands on seven API entries of the Flask pages, each
    with its own decorator; asked with any one answer it teaches a wrong one for the other six, so it
    is not asked at all. A question that names its subject ("What is Widgetron?") keeps its first
    answer, as before: two pages describing one thing is no contradiction."""
    answers: dict[str, set[str]] = {}
    for f in facts:
        for q in f.questions:
            if names_nothing(q):
                answers.setdefault(q.lower(), set()).add(" ".join(f.answer.lower().split()))
    return {q for q, a in answers.items() if len(a) > 1}


def names_nothing(question: str) -> bool:
    """A question whose own words (past a "For <page>," or "In <page>," scope) hold no identifier,
    number or name."""
    return not names_something(re.sub(r"^(?:For|In) [^,]+, ", "", question))


def contains(text: str, span: str) -> bool:
    """Whether ``span`` occurs in ``text`` as words (case and spacing aside, backticks ignored)."""
    flat = " ".join(text.replace("`", "").replace("*", "").split()).lower()
    return re.search(r"(?<!\w)" + re.escape(" ".join(span.split()).lower()) + r"(?!\w)", flat) is not None
