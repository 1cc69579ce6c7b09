"""What hand audits of generated pairs found misread, as small pure predicates the question rules
(:mod:`corpus.qarules`, :mod:`corpus.coderules`) consult: each names a sentence shape whose question
or answer came out wrong on the Django or Flask pages (docs/trainset_audit_flask.md,
docs/trainset_audit_round4.md)."""

from __future__ import annotations

import re

_DETERMINERS = frozenset(
    "a an the this that these those each every some any all no your its their his her our my".split()  # noqa: SIM905
)


def infinitive(answer: str) -> bool:
    """Whether what follows "to" is a verb and its object ("returned to examine the response data",
    "structured to use the package pattern": a purpose, not where something goes): a lower-case
    word that is no determiner, then a determiner. "converted to a string", "set to True" are places."""
    words = answer.split()
    return (
        len(words) >= 2 and words[0].islower() and words[0] not in _DETERMINERS
        and words[1].lower() in _DETERMINERS
    )  # fmt: skip


def continues_list(rest: str) -> bool:
    """Whether the answer is the first item of a list that goes on ("called with error, endpoint and
    values": "error" alone is a wrong answer)."""
    return bool(re.match(r", (?:[\w.()`'-]+,? ){1,3}(?:and|or) [\w`'(]", rest))


def attributive(count: str, unit: str, rest: str) -> bool:
    """Whether a number's unit qualifies the noun after it ("4 worker processes", "a 10 second
    timeout"): a unit word in the singular after a number other than 1, then a word. A counted unit
    is plural ("89 hours between charges")."""
    if not re.match(r"\s+[a-z]", rest):
        return False
    return len(unit) > 2 and unit.isalpha() and not unit.endswith("s") and count.replace(",", "") != "1"


def partial_instruction(answer: str, rest: str) -> bool:
    """An instruction the answer holds only part of: more steps follow ("use a data method such as
    POST, and pass the body option") or it names two ways ("the engine directly or use a
    connection"), as a hand audit of the Flask pages found."""
    two_ways = re.search(r"\b(?:or|and) (?:use|call|run|pass|set)\b", answer)
    # "define an InlineModelAdmin (...) in your app's admin.py and add it to a UserAdmin class": a
    # second step later in the sentence (a Django audit)
    next_step = re.search(
        r"\band (?:then )?(?:add|use|call|run|pass|set|register|define|create|override)\b", rest
    )
    # "use the field name of related fields across models, separated by double underscores, until ...":
    # the answer goes on past its comma (a Django audit)
    qualified = re.match(r", [a-z]+ed (?:by|with|in|until|to)\b", rest)
    # "the standard Python comparison operator, the double equals sign: ==": the answer is named after it
    qualified = qualified or re.match(r", (?:the|namely|i\.e\.) ", rest)
    return bool(re.match(r",? (?:and|then) ", rest) or two_ways or next_step or qualified)


def circular(answer: str, goal: str) -> bool:
    """Whether the goal refers back to something only the answer introduces: "Use the test_client()
    as a with block to preserve the contexts until the with block exits" asks "how do you preserve
    the contexts until the with block exits?", which presupposes its answer."""
    for m in re.finditer(r"\b(?:a|an) ([\w()`.'-]+(?: [\w()`.'-]+)?)", answer):
        if re.search(rf"\bthe {re.escape(m.group(1))}\b", goal):
            return True
    return False


def owned_by_entry(subj: str, heading: str) -> str:
    """A parameter named without its function, under that function's API entry (a Sphinx signature
    heading, corpus.htmlpage): "the methods parameter" -> "the methods parameter of add_url_rule()"."""
    plain = re.fullmatch(r"the \w+ (?:parameter|argument|option|attribute)", subj)
    return f"{subj} of {heading}" if plain and heading.endswith(")") else subj


# Nouns that say what kind of thing follows, not which: "two arguments", "an optional keyword argument".
_PLACEHOLDERS = frozenset(
    "argument arguments parameter parameters value values option options item items element elements "  # noqa: SIM905
    "thing things".split()
)


def announces(answer: str, rest: str) -> bool:
    """Whether the answer only announces what the words after its comma name ("fetch() takes two
    arguments, a URL and an object with other options": the answer is the URL and the object;
    "cache_page takes an optional keyword argument, key_prefix, ..."), as a Flask audit found."""
    words = answer.lower().split()
    return bool(words) and words[-1] in _PLACEHOLDERS and rest.startswith(", ")


def vague_goal(goal: str) -> bool:
    """A goal that says what it is about only with the passage around it: "to do that", "start from
    there", "to run such an application", "to add other automatic imports" (other than which?), "to
    call the group something else", "to use raise_exception but also ...", an aside in brackets, or two
    words ("to compare text"). "that" after "verify" or "ensure" opens a clause instead."""
    pointing = re.sub(r"\b(?:verify|ensure|check|confirm|make sure) that\b", "", goal)
    if re.search(
        r"\b(?:this|that|these|those|there|here|such|other|another|something|anything|else)\b", pointing
    ):
        return True
    aside = re.search(r"\([^()]*\s[^()]*\)", goal)  # "(for instance to add extra validation)", not "login()"
    # "to render it with some variables": "it" points back; "to be explicit": "how do you be ...?"
    pronoun = re.search(r"\b(?:it|them|so)$|^\w+ (?:it|them)\b|^be ", goal)  # not "a key only if it ..."
    return bool(aside or pronoun or " but " in goal) or len(goal.split()) < 3


def loose_answer(answer: str, sentence: str) -> bool:
    """An answer that needs the passage: "the same technique", "the blinker library directly" (a
    remark on how), or a literal used in the code after a colon ("use the special 'static' endpoint
    name:", "use the name zero:", as Flask and Django audits found)."""
    literal = (
        re.search(r"'[^']+'|\"[^\"]+\"", answer) or answer.startswith("the name ")
    ) and sentence.rstrip().endswith(":")
    return bool(literal or re.search(r"\b(?:same|above|following|corresponding)\b| [a-z]+ly$", answer))
