"""The question rules' contract and registry: a rule reads a sentence, a line or a section in its
place on the page (:class:`Where`) and yields :class:`Fact` objects; rules register by name and run
in registration order (the first to ask a question keeps it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    """One thing a page states, with the questions that ask for it."""

    answer: str
    questions: tuple[str, ...]
    rule: str
    evidence: str  # the sentence or line it was read from


@dataclass(frozen=True)
class Where:
    """What a rule knows of a sentence's place: the page title and the heading above it."""

    title: str
    heading: str
    names: frozenset[str] = frozenset()  # words the page capitalises in mid-sentence (proper_words)

    @property
    def topic(self) -> str:
        return self.heading or self.title


Rule = Callable[[str, Where], Iterator[Fact]]
SENTENCE_RULES: dict[str, Rule] = {}
LINE_RULES: dict[str, Rule] = {}
SECTION_RULES: dict[str, Rule] = {}  # these see a section's text, its heading in ``Where.heading``


def register_rule(name: str, fn: Rule, line: bool = False, section: bool = False) -> None:
    """Add a rule; ``line`` rules see whole lines (key-value, table rows), ``section`` rules a whole
    section under its heading, others sentences."""
    (SECTION_RULES if section else LINE_RULES if line else SENTENCE_RULES)[name] = fn
