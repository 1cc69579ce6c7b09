"""Question rules for what prose pages state of a named part: what it provides, what it is for,
and what it uses.

Guides and design notes rarely define terms or name code; they say "Django's serialization
framework provides a mechanism for translating models into other formats", "A fundamental goal of
Django's stack is loose coupling" or "The JSON serializer uses DjangoJSONEncoder for encoding".
Each shape has its subject at a fixed place, so the question is the sentence turned round. The
subject must name one thing (``specific``, or what its section is about): "What does Django
provide?" has a hundred answers. Registered with :mod:`corpus.qarules` on import.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import corpus.qarules  # noqa: F401  (its sentence rules are registered, and so run, before these)
from corpus.coderules import LEANS, NAMED, fits, says_little
from corpus.qaphrase import IDENT, clean, lowered, short, specific, topical
from corpus.qawords import SEQUENCE
from corpus.rulebook import Fact, Where, register_rule

# A subject of two to six words: "Django's serialization framework", "The JSON serializer".
_SUBJECT = r"(?P<subj>(?:The |An? )?[A-Z][\w’'.-]*(?: [\w’'.-]+){1,5}?)"


def named(subject: str, where: Where) -> bool:
    """Whether a subject of several words names one part, not the whole software ("Django")."""
    words = clean(subject).split()
    article = words[0].lower() in {"the", "a", "an"}
    words = words[1:] if article else words
    if len(words) < 2 or LEANS.search(subject.lower()):
        return False
    # past an opening word, which is capitalised because it starts the sentence
    rest = " ".join(words if article else words[1:])
    return bool(specific(rest, where.names) or IDENT.search(rest) or topical(subject, where)
                or words[0].endswith(("’s", "'s")))  # fmt: skip


_PROVIDES = re.compile(_SUBJECT + r" (?:provides|offers) (?P<ans>(?:an?|the) [^,;:()]{5,80}?)[.!]?$")


def provides(sentence: str, where: Where) -> Iterator[Fact]:
    """``Django's serialization framework provides a mechanism for translating Django models into
    other formats``: what does Django's serialization framework provide?"""
    m = _PROVIDES.match(sentence)
    if not m or not named(m.group("subj"), where) or not (answer := short(m.group("ans"), 14)):
        return
    if LEANS.search(answer.lower()) or says_little(answer) or outside_product(m.group("subj"), where):
        return
    subj = lowered(clean(m.group("subj")))
    yield Fact(answer, (f"What does {subj} provide?", f"What is provided by {subj}?"), "provides", sentence)


def outside_product(subject: str, where: Where) -> bool:
    """A product the page mentions in passing ("PyCharm Professional provides a special Flask run
    configuration", "Django Packages provides a comparison of packages"): it provides many things,
    and the page tells one that concerns it (two audits found the question open-ended)."""
    words = clean(subject).split()
    proper = words[0].lower() not in {"the", "a", "an"} and all(w[:1].isupper() for w in words)
    return proper and clean(subject).lower() not in f"{where.title} {where.heading}".lower()


# "The point of a Web framework in the 21st century is to make ...": the goal named, then what it is.
_GOAL = re.compile(
    r"^(?:The|A|One) (?:(?P<adj>[a-z]+) )?(?P<noun>goal|point|purpose|aim|idea|principle|role|job) of "
    r"(?P<of>[^,;:()]{3,60}?) is (?P<ans>[^;:()]{3,90}?)[.!]?$"
)


def goal_of(sentence: str, where: Where) -> Iterator[Fact]:
    """``A fundamental goal of Django's stack is loose coupling and tight cohesion``: what is a
    fundamental goal of Django's stack?"""
    m = _GOAL.match(sentence)
    if not m or LEANS.search(f"{m.group('of')} {m.group('ans')}".lower()):
        return
    if not (answer := short(m.group("ans"), 14)) or says_little(f"{m.group('of')} {answer}"):
        return
    if answer.split()[0].endswith("ly") or SEQUENCE & set(m.group("of").lower().split()):
        return  # "the basic idea of file uploads is actually quite simple"; "the first parameter" of what?
    art = "the" if sentence.startswith("The ") else "a"
    head = f"{m.group('adj')} {m.group('noun')}" if m.group("adj") else m.group("noun")
    of = clean(m.group("of"))
    title = clean(where.title)
    qs = (f"What is {art} {head} of {of}?", f"According to {title}, what is {art} {head} of {of}?")
    yield Fact(answer, qs, "goal", sentence)


# "The JSON serializer uses DjangoJSONEncoder for encoding": what the named part uses, for what.
_PART_USES = re.compile(_SUBJECT + r" uses (?P<id>" + NAMED + r") (?P<rest>(?:to|for) [^,;:()]{3,80}?)[.!]?$")


def part_uses(sentence: str, where: Where) -> Iterator[Fact]:
    """``The JSON serializer uses DjangoJSONEncoder for encoding``: what does the JSON serializer
    use for encoding?"""
    m = _PART_USES.match(sentence)
    if not m or not named(m.group("subj"), where):
        return
    answer, rest = clean(m.group("id")), clean(m.group("rest"))
    if not fits(rest, answer):
        return
    subj = lowered(clean(m.group("subj")))
    qs = (f"What does {subj} use {rest}?", f"{rest[0].upper()}{rest[1:]}, what does {subj} use?")
    yield Fact(answer, qs, "kind", sentence)


# "Django provides conditional GET handling via django.middleware.http.ConditionalGetMiddleware".
_PROVIDES_VIA = re.compile(
    r"^(?P<subj>[A-Z][\w’'.-]*(?: [\w’'.-]+){0,4}?) provides (?P<what>[a-zA-Z][^,;:()]{5,60}?) "
    r"(?:via|through|with|using) (?:the )?(?P<id>" + NAMED + r")(?: [a-z]+)?[.!]?$"
)


def provides_via(sentence: str, where: Where) -> Iterator[Fact]:
    """``Django provides conditional GET handling via django.middleware.http.ConditionalGetMiddleware``:
    what does Django provide conditional GET handling through?"""
    m = _PROVIDES_VIA.match(sentence)
    if not m or LEANS.search(m.group("what").lower()):
        return
    subj, what, answer = lowered(clean(m.group("subj"))), clean(m.group("what")), clean(m.group("id"))
    subj = subj.removesuffix(" also")  # "Flask also provides ..."
    if not fits(what, answer):
        return
    qs = (f"What does {subj} provide {what} through?", f"Through what does {subj} provide {what}?")
    yield Fact(answer, qs, "kind", sentence)


register_rule("provides", provides)
register_rule("provides-via", provides_via)
register_rule("goal", goal_of)
register_rule("part-uses", part_uses)
