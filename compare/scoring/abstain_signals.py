"""How well the text a system quoted supports a question: the scores the abstention gate thresholds.

Three signals, chosen between on dev (``bench.abstain_signals``; the default leaves out
``grounding``, whose embedding of what is asked did not carry from dev's phrasings to test's on
the bundled dataset):

- ``support``: the best cosine between the question and a sentence of the quoted chunks. An
  unanswerable question about a thing the corpus has still finds that thing's page, and its best
  sentence is the one naming the thing, so the score stays high.
- ``grounding``: whether the quoted text names what the question names, times how well a quoted
  sentence matches what the question asks *about* it. A question's names (``question_names``) are
  its capitalised words past the first, words with digits, identifiers and code spans: "Brisil 50",
  ``SESSION_COOKIE_TIMEOUT``. A name the quoted chunks lack ("Mavquo 50" where the chunk is about
  the Mavquo 3 Pro) means the prompt cannot hold the answer, whatever the retriever's score; and
  with the names taken out of the question and the sentences, "What is the screen size of" no
  longer matches a sentence merely because it names the same product. Names on a large share of
  the corpus's chunks ("Django" in Django's documentation) say nothing and are not counted.
- ``names``: the first factor of ``grounding`` alone: the share of the question's names the
  quoted text names. It never fires on a paraphrase, only where the prompt lacks what is asked about.

Every signal maps (questions, the quoted chunk texts of each, the corpus's chunk texts, embed) to one
score per question, higher meaning better supported; -1.0 where nothing was quoted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from corpus.absent import flat, occurs

Embed = Callable[[Sequence[str]], np.ndarray]
Signal = Callable[[Sequence[str], Sequence[Sequence[str]], Sequence[str], Embed], list[float]]

# Sentences shorter than this many words (headings, list stubs) are not scored on their own.
MIN_SENTENCE_WORDS = 3
# A name on more than this share of the corpus's chunks, and on at least COMMON_NAME_CHUNKS of them,
# is the corpus's subject, not the question's ("Django" in Django's documentation).
COMMON_NAME_SHARE = 0.2
COMMON_NAME_CHUNKS = 10
# With its names taken out a question needs this many words of 3+ letters left to be compared alone.
MIN_ASKED_WORDS = 2

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_TOKEN = re.compile(r"`[^`]+`|[A-Za-z0-9_]+(?:[.\-_/:][A-Za-z0-9_]+)*(?:\(\))?")
_WORD3 = re.compile(r"[A-Za-z]{3,}")

SIGNALS: dict[str, Signal] = {}


def register_signal(name: str) -> Callable[[Signal], Signal]:
    def add(fn: Signal) -> Signal:
        SIGNALS[name] = fn
        return fn

    return add


def sentences(text: str) -> list[str]:
    """The sentences and lines of a chunk long enough to answer something; the whole text if none."""
    parts = [s.strip() for s in _SENTENCE.split(text)]
    long = [s for s in parts if len(s.split()) >= MIN_SENTENCE_WORDS]
    return long or [text.strip()]


def _name_like(token: str, first: bool) -> bool:
    if token.startswith("`"):
        return True
    if any(c.isdigit() for c in token) or "_" in token or token.endswith("()"):
        return True
    if re.search(r"\w[.:/]\w", token):  # dotted or qualified: json.dumps, django.db, a/b
        return True
    return token[0].isupper() and not first and token != "I"


def question_names(question: str) -> list[str]:
    """The things a question names, runs of name-like tokens joined: "Brisil 40 Pro", "QuerySet",
    "SESSION_COOKIE_AGE" (code spans without their backticks), in order, each once."""
    runs: list[list[str]] = []
    last_end = -2
    for i, m in enumerate(_TOKEN.finditer(question)):
        if not _name_like(m.group(0), first=i == 0):
            last_end = -2
            continue
        tok = m.group(0).strip("`")
        if m.start() == last_end + 1 and question[last_end] == " ":
            runs[-1].append(tok)  # one space after the previous name token: the same name
        else:
            runs.append([tok])
        last_end = m.end()
    return list(dict.fromkeys(" ".join(r) for r in runs))


def common_names(
    names: Sequence[str], corpus: Sequence[str], share: float = COMMON_NAME_SHARE,
    least: int = COMMON_NAME_CHUNKS,
) -> set[str]:  # fmt: skip
    """The names found on more than ``share`` of the corpus's chunks and on ``least`` of them."""
    texts = [flat(t) for t in corpus]
    limit = max(share * len(texts), least - 0.5)
    return {n for n in dict.fromkeys(names) if sum(occurs(flat(n), t) for t in texts) > limit}


def uncommon_names(questions: Sequence[str], corpus: Sequence[str]) -> list[list[str]]:
    """Each question's names, less those common in the corpus (:func:`common_names`)."""
    named = [question_names(q) for q in questions]
    common = common_names([n for ns in named for n in ns], corpus)
    return [[n for n in ns if n not in common] for ns in named]


def found_share(names: Sequence[str], quoted: str) -> float:
    """The share of ``names`` the quoted text names (1.0 when there are none)."""
    if not names:
        return 1.0
    text = flat(quoted)
    return sum(occurs(flat(n), text) for n in names) / len(names)


def without(text: str, names: Sequence[str]) -> str:
    """``text`` with every occurrence of ``names`` taken out (longest first), spaces closed up."""
    for n in sorted(names, key=len, reverse=True):
        text = re.sub(r"`?" + re.escape(n) + r"`?", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split())


def best_cosines(asked: Sequence[str], candidates: Sequence[Sequence[str]], embed: Embed) -> list[float]:
    """For each text in ``asked``, its best cosine with one of its candidate sentences (-1.0: none);
    each distinct sentence is embedded once."""
    flat_ = list(dict.fromkeys(s for ss in candidates for s in ss if s))
    vecs = dict(zip(flat_, embed(flat_), strict=True)) if flat_ else {}
    qvecs = embed(list(asked)) if asked else []
    out = []
    for qv, ss in zip(qvecs, candidates, strict=True):
        scores = [float(vecs[s] @ qv) for s in ss if s in vecs]
        out.append(max(scores) if scores else -1.0)
    return out


@register_signal("support")
def support(questions: Sequence[str], quoted: Sequence[Sequence[str]], corpus: Sequence[str], embed: Embed
            ) -> list[float]:  # fmt: skip
    """The best cosine between each question and a sentence of its quoted chunks."""
    return best_cosines(questions, [[s for t in ts for s in sentences(t)] for ts in quoted], embed)


@register_signal("grounding")
def grounding(questions: Sequence[str], quoted: Sequence[Sequence[str]], corpus: Sequence[str], embed: Embed
              ) -> list[float]:  # fmt: skip
    """The share of the question's (uncommon) names the quoted text names, times the best cosine
    between the question and a quoted sentence with those names taken out of both (not below 0)."""
    named = uncommon_names(questions, corpus)
    asked, cands = [], []
    for q, ns, ts in zip(questions, named, quoted, strict=True):
        rest = without(q, ns)
        ns = ns if len(_WORD3.findall(rest)) >= MIN_ASKED_WORDS else []  # too little left: compare whole
        asked.append(without(q, ns))
        cands.append([without(s, ns) for t in ts for s in sentences(t)])
    cos = best_cosines(asked, cands, embed)
    return [
        -1.0 if not ts else found_share(ns, " ".join(ts)) * max(c, 0.0)
        for ns, ts, c in zip(named, quoted, cos, strict=True)
    ]


@register_signal("names")
def names(questions: Sequence[str], quoted: Sequence[Sequence[str]], corpus: Sequence[str], embed: Embed
          ) -> list[float]:  # fmt: skip
    """The share of the question's (uncommon) names the quoted text names: no embedding, so a
    paraphrase of what is asked does not move it; it sees only questions about things not quoted."""
    return [
        -1.0 if not ts else found_share(ns, " ".join(ts))
        for ns, ts in zip(uncommon_names(questions, corpus), quoted, strict=True)
    ]


def scores(
    signal: str, questions: Sequence[str], retrieved: Sequence[Sequence[str]], chunk_text: Mapping[str, str],
    embed: Embed,
) -> list[float]:  # fmt: skip
    """``signal``'s score of each question from the chunks its prompt quoted (chunk ids per question)."""
    quoted = [[chunk_text[c] for c in ids if c in chunk_text] for ids in retrieved]
    return SIGNALS[signal](questions, quoted, list(chunk_text.values()), embed)
