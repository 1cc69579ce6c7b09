"""Question rules on whole sections: a heading that is itself a question, answered by its section.

FAQ pages and how-to guides title their sections with the question a reader asks ("What are
Django's prerequisites?"); the section's first sentence answers it ("Django requires Python.").
That is the most natural question a page holds, so it is taken as it stands, with the page's
topic in front as a second phrasing. Registered with :mod:`corpus.qarules` on import.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from corpus.qaphrase import SENTENCE_BREAK, clean, names_something, scoped
from corpus.rulebook import Fact, Where, register_rule

_ASKS = re.compile(
    r"^(?:How|What|Why|When|Where|Which|Who|Can|Could|Do|Does|Is|Are|Should|Will|Must|May)\b[^?]{8,140}\?$"
)
# A heading leaning on the page around it ("Why does this project exist?") or on its reader's own
# situation ("Why are you ignoring my patch?") names nothing a reader without the page could place.
_CONTEXT = re.compile(r"\b(?:this|that|these|those|it|above|below|such|my|me)\b", re.I)
# Openings that are manners, not answers ("Thanks for asking!", "Don't worry: ...", "Yes."), or that
# set up a contrast the answer comes after ("Other object-relational mappers require you to ...").
_NOT_ANSWER = re.compile(
    r"^(?:thanks|thank|sorry|don[’']t|yes|no|well|good|great|see|please|we|it|it[’']s|this|there|you[’']ve"
    r"|other|unlike|in contrast)\b",
    re.I,
)
# A heading that asks has a verb ("Why no rollback hook?" does not).
_AUX = frozenset(
    "do does did is are was were can could should will would may might must has have use uses "  # noqa: SIM905
    "get need mean work".split()
)
# A first sentence that is the first of several steps ("Download the code." then "Install Django.")
# answers "How do I get started?" with a part of its answer.
_STEP = re.compile(r"^(?:Download|Install|Run|Use|Add|Set|Read|Check|Walk|Create|Make|Go|Open|Type)\b")
# "How do I automatically set a field's value ...?" and "What does a field class do?" are answered by
# the section as a whole: a hand audit found their first sentences stop before the point.
_PROCEDURE = re.compile(r"^(?:How (?:do|can|should|would) (?:I|you|we)\b|What does .+ do\?$)")
ANSWER_WORDS = (3, 30)  # a first sentence shorter says nothing, longer is a paragraph's work


def first_sentence(text: str) -> str | None:
    """The section's first prose sentence: its first paragraph (code is already left out) that is
    not a list or a table."""
    for block in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in block.strip().splitlines()]
        if not lines or lines[0].startswith(("```", "|", "-", "*", ">", "#")) or lines[0][:1].isdigit():
            continue
        return SENTENCE_BREAK.split(" ".join(lines))[0].strip()
    return None


_YES_NO = re.compile(r"^(?:Do|Does|Is|Are|Can|Should|Will|Must|May|Has|Have)\b")
_REPLY_WORD = r"^(?:Yes|No|Nope|Yep)"
_REPLY = re.compile(_REPLY_WORD + r"[.!]$")  # a bare "Nope.": the reason is the next sentence
_YES_NO_WORD = re.compile(_REPLY_WORD + r"\b")  # "No, Django is not a CMS ...": a reply to "Is ...?"


def yes_no_answer(text: str, answer: str) -> str | None:
    """A bare "Nope." under "Do I have to use your model layer?" with the sentence after it, which
    says why ("Nope. The model layer is decoupled from the rest of the framework."); None when that
    sentence only points elsewhere ("Yes. See Integrating with a legacy database.")."""
    prose = " ".join(ln.strip() for ln in text.splitlines() if ln.strip())
    parts = SENTENCE_BREAK.split(prose[prose.find(answer) :])
    reason = parts[1].strip() if len(parts) > 1 else ""
    low, high = ANSWER_WORDS
    ok = reason.endswith(".") and low <= len(reason.split()) <= high and not reason.startswith("See ")
    return f"{answer} {reason}" if ok else None


def heading_questions(text: str, where: Where) -> Iterator[Fact]:
    """``## What are Django's prerequisites?`` / ``Django requires Python.``: the heading, answered
    by the sentence under it."""
    heading = clean(where.heading) if where.heading.strip().endswith("?") else ""
    if not _ASKS.match(heading) or _CONTEXT.search(heading) or not _AUX & set(heading.lower().split()):
        return
    if _PROCEDURE.match(heading):  # its first sentence sets the scene; the steps come after
        return
    if re.match(r"^\w+ and \w+ ", heading):  # "When and how might I ...?": two questions, one sentence
        return
    answer = first_sentence(text)
    # "Why does Django include Python's license file?" / "Django includes code from the Python standard
    # library.": a why's first sentence sets the scene; a reason says because, since, so or in order to
    if (
        heading.startswith("Why")
        and answer
        and not re.search(r"\b(?:because|since|so that|so|in order to)\b", answer)
    ):
        return
    asks_yes_no = bool(_YES_NO.match(heading))
    if answer and asks_yes_no and _REPLY.match(answer):
        answer = yes_no_answer(text, answer)
    low, high = ANSWER_WORDS
    # a sentence that ends in "." ("Make sure that:" leads into a list; a table's header has no stop)
    if (
        not answer
        or not answer.endswith(".")
        or (_NOT_ANSWER.match(answer) and not (asks_yes_no and _YES_NO_WORD.match(answer)))
        or _STEP.match(answer)
        or not low <= len(answer.split()) <= high
    ):
        return
    title = clean(where.title)
    # "Should I use the stable version or development version?": of what? a heading that names nothing
    # is asked under its page both times (two Django readers)
    first = heading if names_something(heading.rstrip("?")) else scoped(heading, title, "In")
    yield Fact(clean(answer), (first, scoped(heading, title)), "heading", answer)


register_rule("heading", heading_questions, section=True)
