"""The words of a question: what the question rules (:mod:`corpus.qarules` and its neighbours) test a
phrase against and how they word what they ask. Identifiers, numbers with units, names; whether a
phrase names something, is the page's topic, or is fit to be an answer; the question word an answer
calls for. Pure functions of strings and a rule's :class:`~corpus.rulebook.Where`."""

from __future__ import annotations

import re

from corpus.qawords import SEQUENCE, VAGUE
from corpus.rulebook import Where

_IDENT = (
    r"(?:--?[a-z][\w-]+|[A-Za-z_][\w.]*\(\)|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[a-z][a-z0-9]*(?:_[a-z0-9]+)+"
    r"|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+|`[^`]{1,40}`)"
)
IDENT = re.compile(r"(?<![\w`.-])" + _IDENT + r"(?![\w`])")
IDENT_PATTERN = _IDENT  # for rules elsewhere (corpus.coderules) that place an identifier in a pattern
_UNIT = (
    r"(?:hours?|minutes?|seconds?|milliseconds?|ms|days?|weeks?|months?|years?|bytes?|[KMGT]i?B|kg|g|"
    r"grams?|characters?|chars|tokens?|requests?|items?|rows?|connections?|threads?|workers?|"
    r"percent|%|euros?|dollars?|lines?|pixels?|px)"
)
NUM_UNIT = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)[ -]?(" + _UNIT + r")(?![\w])")
YEAR = re.compile(r"^(?:1[89]|20)\d\d$")
VERSION = re.compile(r"\d+\.\d+(?:\.\d+)*")  # "renamed in 2.0": a release, asked "in which version"
NAME = re.compile(r"^[A-Z][a-z]+(?: [A-Z][a-z]+){1,2}$")
COUNT = re.compile(r"-?\d[\d,.]*(?: [a-z]+){0,2}")  # a number and what it counts: "3 attempts"
_END = r"(?=[.;,!?]?\s*$|[.;,] |\s\()"  # an answer ends at a clause boundary
# Where one sentence ends and the next begins; a sentence may open with a lower-case identifier
# ("clear_expired() removes ..."), as code docs do.
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(]|[a-z]\w*(?:_\w|\.\w|\(\)))")
ANSWER_END = _END
UNIT_PATTERN = _UNIT  # for rules that place a unit in a pattern


def clean(text: str) -> str:
    """Whitespace collapsed, backticks and emphasis markers removed, trailing punctuation dropped. An
    underscore goes only as a pair around words (``_word_``): ``Model._default_manager`` keeps its own."""
    text = re.sub(r"[`*]", "", text)
    text = re.sub(r"(?<![\w.])_([^_\s](?:[^_]*[^_\s])?)_(?!\w)", r"\1", text)
    return " ".join(text.split()).strip(" .;,:")


_BAD_ANSWER = re.compile(
    r"^(?:and|or|but|which|that|this|it|you|we|if|when|as|so|then|also)\b|[<>{}|\u2013\u2014]| - "
    r"|\b(?:that|which|the|an?|of|to|for|and|or|with|by|in|is|are)$"
    # context-bound: says nothing closed book
    r"|\b(?:this|these|those|it|following|above|below|instead|here|then|that point)\b"
)


def proper_words(text: str) -> frozenset[str]:
    """Capitalised words a page uses in mid-sentence (names, products, classes): a sentence that opens
    with one of them opens with a name, not with an ordinary word that happens to be first."""
    return frozenset(re.findall(r"(?<=[a-z,;:] )[A-Z][\w]+", text))


def specific(phrase: str, names: frozenset[str] = frozenset()) -> bool:
    """Whether a phrase names something: a code identifier, a number, an acronym, a capitalised word
    past its first, or a word the page itself capitalises in mid-sentence (``names``)."""
    words = clean(phrase).split()
    if not words or len(words) > 8:
        return False
    if IDENT.search(phrase) or any(ch.isdigit() for ch in phrase) or re.search(r"\b[A-Z]{2,}\b", phrase):
        return True
    return any(w[:1].isupper() for w in words[1:]) or (words[0].lower() not in VAGUE and words[0] in names)


def stem(word: str) -> str:
    w = word.lower().strip("`’'s")
    return w[:-2] if w.endswith("es") and len(w) > 4 else w[:-1] if w.endswith("s") and len(w) > 3 else w


def topical(phrase: str, where: Where) -> bool:
    """Whether a plain noun phrase ("A savepoint") is what its section or page is about: every word
    past the article is a word of the heading or title ("Savepoints"), so the question "What is a
    savepoint?" names its subject as the page does."""
    words = clean(phrase).split()
    if words and words[0].lower() in {"a", "an", "the"}:
        words = words[1:]
    topic = {stem(w) for w in re.findall(r"[\w’'-]+", f"{where.heading} {where.title}")}
    plain = all(w.lower() not in VAGUE | SEQUENCE for w in words)
    return 0 < len(words) <= 3 and plain and all(stem(w) in topic for w in words)


def good_answer(answer: str) -> bool:
    """An answer fit to learn: not a clause fragment, no markup, no dangling bracket or quote."""
    if _BAD_ANSWER.search(answer.lower()):  # every word in the pattern is lower case
        return False
    return answer.count("(") == answer.count(")") and answer.count('"') % 2 == 0


def value_like(answer: str) -> bool:
    """A value rather than a description: a number (with its unit), a code identifier, a constant, a
    quoted string, a name, or a single word ("The request object that ..." describes; "3 attempts" is)."""
    a = clean(answer)
    return bool(
        COUNT.fullmatch(a) or NUM_UNIT.fullmatch(a)
        or IDENT.fullmatch(answer.strip(" .`")) or a in {"True", "False", "None"}
        or re.fullmatch(r"(['\"]).*\1", a) or NAME.match(a)
        or (len(a.split()) == 1 and a.lower() not in VAGUE)
    )  # fmt: skip


def lowered(phrase: str) -> str:
    """An opening article lowered, as it reads in the middle of a question ("What is the X?")."""
    first, _, rest = phrase.partition(" ")
    return f"{first.lower()} {rest}" if first in {"The", "A", "An", "Every", "Each"} and rest else phrase


def short(answer: str, most: int = 8) -> str | None:
    """The answer cleaned, or None when it is empty, longer than ``most`` words or not fit to learn."""
    a = clean(answer)
    return a if a and len(a.split()) <= most and good_answer(a) else None


def names_something(text: str) -> bool:
    """Whether a question's words name something: a code identifier, a number, or a capitalised word
    past the first."""
    return bool(IDENT.search(text) or re.search(r"\d", text) or re.search(r"(?<!^)\b[A-Z][a-z]", text))


def about(question: str, where: Where) -> str:
    """A question that names its page's topic when its own words name nothing specific."""
    if names_something(question.rstrip("?")):
        return question
    return scoped(question, clean(where.title))


def scoped(question: str, scope: str, prep: str = "For") -> str:
    """``question`` asked under ``scope``: "For Sending email, what does send_messages() take?"."""
    return f"{prep} {scope}, {question[0].lower()}{question[1:]}"


def plural(unit: str) -> str:
    """``hour`` -> ``hours``; symbols (``kg``, ``MB``, ``%``) stay as they are."""
    return unit if len(unit) <= 2 or not unit.isalpha() or unit.endswith("s") else unit + "s"


def wh_word(answer: str, prep: str) -> str:
    """The question word an answer calls for: when / how long / who / where / what."""
    if YEAR.match(answer):
        return "In what year"
    if prep == "in" and VERSION.fullmatch(answer):
        return "In which version"
    if NUM_UNIT.fullmatch(answer):
        return "How long" if re.search(r"hour|minute|second|day|week|month|year|ms", answer) else "How much"
    if NAME.match(answer) and prep == "by":
        return "Who"
    if prep in {"in", "at"} and re.search(r"(?:^|\s)[A-Z]", answer):
        return "Where"
    return "What"


# Titles that name a part of a documentation set, not a thing its sentences are about.
DOC_PARTS = frozenset(
    "api cli faq changes changelog glossary index overview introduction quickstart tutorial reference "  # noqa: SIM905
    "installation contents news history".split()
)


def name_like(title: str) -> bool:
    """Whether a page title names a thing a pronoun or "the battery" can belong to: a product with a
    number ("Rennal 7 Mini") or one word spelled as a name ("uWSGI", "mod_wsgi", "nginx"). Not an
    activity or a guide ("Writing your first Django app, part 2", "How to deploy with WSGI"), a topic
    ("Password management in Django", "Signals": doc sets write every heading in Title Case, so
    capitals tell nothing) or a part of the docs ("API": a Flask audit found "For API, to what is the
    object coerced?")."""
    words = clean(title).split()
    if not 0 < len(words) <= 5 or re.search(r"[,:;?]", title) or words[0].endswith("ing"):
        return False
    if words[0].lower() in {"how", "what", "why", "when"}:
        return False
    if any(ch.isdigit() for ch in title):
        return True
    word = words[0]
    return (
        len(words) == 1
        and word.lower() not in DOC_PARTS
        and (word[0].islower() or word[1:] != word[1:].lower())
    )


def says_whose(term: str, where: Where) -> bool:
    """Whether the section or page names more than the term itself ("path() argument: route",
    "DiscoverRunner.build_suite()"), so a "For <topic>," scope says whose the term is; not where the
    page is about the term ("How to use Django with Apache and mod_wsgi", "About pip")."""
    if term in where.title.lower():
        return False
    return bool(
        {w.lower() for w in re.findall(r"[\w().-]+", where.topic)} - {term, "about", "the", "a", "an"}
    )


def page_sense(term: str, where: Where) -> bool:
    """Whether a defined term means what its page says only in the page's field: a common noun ("a
    view", "a fixture"), a method without its class ("aggregate()") or an argument's attribute
    ("token.contents"); not a name ("Waitress", "TimestampSigner") nor the page's own subject."""
    plain = re.sub(r"^(?:an?|the) ", "", term)
    if plain.lower() in where.title.lower():
        return False
    return bool(re.fullmatch(r"[a-z_]\w*\(\)|[a-z]\w*\.\w+", plain)) or not (
        names_something(plain) or plain[:1].isupper()
    )
