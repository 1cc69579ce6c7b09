"""Unanswerable questions from the pages alone: a real question about a thing the corpus never names.

A fine-tuned model that never saw "I don't know" in training never says it (on the bundled
dataset, an adapter trained on generated data abstained on none of the unanswerable test questions,
against 0.70 for the hand-made train split). Datasets such as SQuAD 2.0 write unanswerable
questions by changing what a question is about; here the change is mechanical and checkable: a
name with a number gets another number ("Brisil 40 Pro" -> "Brisil 41 Pro"), an identifier one part
of another identifier ("SESSION_COOKIE_AGE" -> "SESSION_COOKIE_TIMEOUT"), and the result is kept
only when it occurs nowhere in the corpus, so no page can answer the question.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# "Brisil 40 Pro", "Python 3": capitalised words, a number, maybe a capitalised word after it.
_NUMBERED = re.compile(
    r"\b(?!(?:For|In|On|At|By|What|Which|Who|How|When|Where)\b)(?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+)*) "
    r"(?P<num>\d{1,4})(?P<tail>(?: [A-Z][a-z]+)?)\b"
)
_SNAKE = re.compile(r"\b(?:[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b")
_STEPS = (1, 2, 3, 5, 10, 20)  # the numbers tried after (and before) the real one, in order


@dataclass(frozen=True)
class Absent:
    """An unanswerable question and the real one it was made from."""

    question: str
    made_from: str
    changed: str  # "Brisil 40 Pro -> Brisil 41 Pro"


def flat(text: str) -> str:
    """Lower case, single spaces, code markers gone: what "occurs nowhere" is checked against."""
    return " ".join(text.replace("`", "").replace("*", "").split()).lower()


def occurs(name: str, corpus: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(name.lower()) + r"(?!\w)", corpus) is not None


def renumbered(question: str, corpus: str) -> tuple[str, str] | None:
    """The question with its numbered name's number changed to one no page uses with that name."""
    m = _NUMBERED.search(question)
    if not m:
        return None
    num = int(m.group("num"))
    for step in _STEPS:
        for n in (num + step, num - step):
            new = f"{m.group('name')} {n}{m.group('tail')}"
            if n > 0 and not occurs(new, corpus):
                return question[: m.start()] + new + question[m.end() :], f"{m.group(0)} -> {new}"
    return None


def respliced(question: str, corpus: str, parts: Sequence[str], rng: random.Random) -> tuple[str, str] | None:
    """The question with its identifier's last part swapped for another identifier's last part."""
    m = _SNAKE.search(question)
    if not m or not parts:
        return None
    ident = m.group(0)
    head, _, last = ident.rpartition("_")
    for part in rng.sample(list(parts), min(len(parts), 20)):
        new = f"{head}_{part.upper() if ident.isupper() else part.lower()}"
        if part.lower() != last.lower() and not occurs(new, corpus):
            return question[: m.start()] + new + question[m.end() :], f"{ident} -> {new}"
    return None


def absent_questions(
    questions: Sequence[str], pages: Iterable[str], limit: int, seed: int = 0
) -> list[Absent]:
    """Up to ``limit`` unanswerable variants of ``questions`` (each a question the rules asked),
    seeded; every changed name is checked against every page."""
    texts = list(pages)
    corpus = flat("\n".join(texts))
    parts = sorted({ident.split("_")[-1] for t in texts for ident in _SNAKE.findall(t)})
    rng = random.Random(seed)
    order = list(range(len(questions)))
    rng.shuffle(order)
    out: list[Absent] = []
    for i in order:
        if len(out) >= limit:
            break
        found = renumbered(questions[i], corpus) or respliced(questions[i], corpus, parts, rng)
        if found:
            out.append(Absent(found[0], questions[i], found[1]))
    return out
