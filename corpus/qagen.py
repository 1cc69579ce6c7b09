"""Candidate questions from a user's own pages, for content teams without a QA set.

Pattern-based and deterministic: definitions (``X is a ...``), key-value lines
(``Timeout: 30 seconds``), numbers with units and named people become questions whose answer
is a short span of the page. A candidate is kept only when its answer occurs verbatim in the
source, and every item is marked ``generated`` with its source document.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from corpus.markup import sections
from corpus.model import Document, QAItem

_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_DEFINITION = re.compile(
    r"^(?:The |An? )?(?P<term>[A-Z][\w+.-]*(?: [\w+.-]+){0,4}?) (?P<verb>is|are) "
    r"(?P<defn>(?:an?|the) [^.;:()]{3,90})"
)
_KEYVAL = re.compile(
    r"^\s*(?:[-*]\s+)?(?:\*\*)?(?P<key>[A-Z][\w /-]{2,40}?)(?:\*\*)?\s*:\s+"
    r"(?P<val>[^\n]{1,60})$"
)
_UNIT = (
    r"hours?|minutes?|seconds?|ms|days?|weeks?|months?|years?|grams?|kg|g|MB|GB|KB|TB|%|percent|"
    r"euros?|dollars?|USD|EUR|requests?|users?|items?|characters?|tokens?|MHz|GHz|V|W"
)
_NUMBER = re.compile(r"(?<![\w.])(?P<num>\d[\d,]*(?:\.\d+)?)\s?(?P<unit>" + _UNIT + r")(?!\w)")
_PERSON = re.compile(
    r"\b(?:by|is|are|lead(?:s|er)?|author|maintainer|owner)\s+(?P<name>[A-Z][a-z]+ [A-Z][a-z]+)\b"
)
_SPLIT_SHARE = (("train", 0.6), ("dev", 0.2), ("test", 0.2))


@dataclass(frozen=True)
class Candidate:
    pattern: str
    question: str
    answer: str


def _cloze(title: str, sentence: str, span: str, who: bool = False) -> str:
    blanked = sentence.replace(span, "___", 1).strip()
    ask = "who fills the blank" if who else "what fills the blank"
    return f'According to "{title}", {ask} in: "{blanked}"?'


def _definitions(title: str, sentence: str) -> Iterator[Candidate]:
    if m := _DEFINITION.match(sentence):
        defn = " ".join(m.group("defn").split()[:10]).rstrip(",")
        yield Candidate("definition", f"What {m.group('verb')} {m.group('term')}?", defn)


def _numbers(title: str, sentence: str) -> Iterator[Candidate]:
    for m in _NUMBER.finditer(sentence):
        yield Candidate("number", _cloze(title, sentence, m.group(0)), m.group(0))


def _names(title: str, sentence: str) -> Iterator[Candidate]:
    for m in _PERSON.finditer(sentence):
        yield Candidate("name", _cloze(title, sentence, m.group("name"), who=True), m.group("name"))


SENTENCE_PATTERNS: dict[str, Callable[[str, str], Iterator[Candidate]]] = {
    "definition": _definitions,
    "number": _numbers,
    "name": _names,
}


def _keyvalues(title: str, line: str, heading: str) -> Iterator[Candidate]:
    if (m := _KEYVAL.match(line)) and not line.lstrip().startswith("#"):
        key, val = m.group("key").strip(), m.group("val").strip().rstrip(".")
        where = f"{heading} ({title})" if heading and heading != title else title
        if key[1:] == key[1:].lower() and not any(ch.isdigit() for ch in key):  # a label
            yield Candidate("keyvalue", f'What is the {key.lower()} in "{where}"?', val)
        else:  # a name: keep its case
            yield Candidate("keyvalue", f'What does "{where}" list for {key}?', val)


def candidates(doc: Document) -> Iterator[Candidate]:
    """All pattern matches in a document, in page order."""
    for sec in sections(doc.text):
        heading = sec.heading_path[-1] if sec.heading_path else doc.title
        in_fence = False
        for line in sec.text.split("\n"):
            if line.lstrip().startswith(("```", "~~~")):
                in_fence = not in_fence
            if in_fence:
                continue
            yield from _keyvalues(doc.title, line, heading)
            for sentence in _SENT.split(line.strip()):
                for pattern in SENTENCE_PATTERNS.values():
                    yield from pattern(doc.title, sentence)


def _split_for(key: str) -> str:
    """A stable split from a hash: the same question lands in the same split every run."""
    x = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    acc = 0.0
    for split, share in _SPLIT_SHARE:
        acc += share
        if x <= acc:
            return split
    return "test"


def generate_qa(docs: Iterable[Document], max_per_doc: int = 20) -> list[QAItem]:
    """Generated questions for every document; answers are verified spans of their source."""
    items: list[QAItem] = []
    seen: set[str] = set()
    for doc in docs:
        n = 0
        for cand in candidates(doc):
            if n >= max_per_doc:
                break
            if cand.question in seen or not cand.answer.strip() or cand.answer not in doc.text:
                continue
            seen.add(cand.question)
            qid = f"gen.{doc.doc_id.replace('/', '.')}.{n}"
            items.append(QAItem(
                id=qid, question=cand.question, answer=cand.answer, sources=(doc.doc_id,),
                split=_split_for(qid), kind="fact", fact_id=f"{doc.doc_id}#{n}",
                template=cand.pattern, generated=True,
            ))  # fmt: skip
            n += 1
    return items
