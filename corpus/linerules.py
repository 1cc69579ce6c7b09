"""Line rules: ``Key: value`` list items and table rows, read as attributes of their heading's topic.

A line is a fact only when it is an attribute ("Timeout: 30 seconds" under "Cookies", a row of a
settings table) or a named thing described ("Mirvar 8 Lite: pollen counter"); code in a list
("add: user.has_perm(...)") and link titles ("Controlling cache: Using other headers") are not, as
a hand audit of the Django pages found. Registered with :mod:`corpus.qarules` on import.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from corpus.qaphrase import COUNT, NAME, NUM_UNIT, clean, short, specific, value_like
from corpus.qawords import CLAUSE, OPENERS, VAGUE
from corpus.rulebook import Fact, Where, register_rule

_KEYVAL = re.compile(
    r"^\s*(?:[-*]\s+)?(?:\*\*)?(?P<key>[A-Za-z][\w /()-]{1,40}?)(?:\*\*)?\s*:\s+(?P<val>[^\n]{1,60})$"
)

_CONSTANT = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def key_values(line: str, where: Where) -> Iterator[Fact]:
    """``Timeout: 30 seconds`` under a heading: what is the timeout of <heading>?"""
    m = _KEYVAL.match(line)
    if not m or line.lstrip().startswith(("#", "|", ">")) or m.group("val").rstrip().endswith(":"):
        return  # "Case 1: a module:": a lead-in to what follows, not a value
    key, val = clean(m.group("key")), short(m.group("val"), 8)
    if not val or len(key.split()) > 5 or key.lower() in VAGUE or key.lower() in {"note", "warning", "tip"}:
        return
    topic = clean(where.topic)
    if key.split()[0].lower() in OPENERS or CLAUSE & set(key.lower().split()):
        return  # "In templates: Using the url tag", "The default is used: ...": prose, not a key
    if NAME.match(key) or (specific(key, where.names) and any(ch.isdigit() for ch in key)):
        # a name as the key ("Mirvar 8 Lite: pollen counter"): the line describes it
        yield Fact(val, (f"What is {key}?", f"What does {topic} say {key} is?"), "keyvalue", line)
        return
    if not value_like(val) or len(key.split()) > 3:
        return  # "value: The exception instance", "Controlling cache: Using other headers": not values
    label = key.lower() if key[1:] == key[1:].lower() else key
    if label != "default" and _CONSTANT.fullmatch(clean(val)):
        return  # "port: EMAIL_PORT": the setting the port is read from, not the port
    if label.lower() in topic.lower() or not (label.lower() in ATTRIBUTES or measured(val)):
        return  # "add: user.has_perm(...)", "use_tls: EMAIL_USE_TLS": code, not an attribute
    yield Fact(val, (f"What is the {label} of {topic}?", f"For {topic}, what is the {label}?"),
               "keyvalue", line)  # fmt: skip


# Keys that name an attribute of their heading's topic whatever the value ("Default: NumberInput").
ATTRIBUTES = frozenset(
    "default type version license author designer maintainer format encoding required status "  # noqa: SIM905
    "origin plant factory price size timeout port limit range unit units".split()
)


def measured(val: str) -> bool:
    """A value that is a number (with its unit) or a person's name: an attribute whatever its key."""
    a = clean(val)
    return bool(NUM_UNIT.fullmatch(a) or COUNT.fullmatch(a) or NAME.match(a))


def table_rows(header: list[str], row: list[str], where: Where, line: str) -> Iterator[Fact]:
    """A table row: for each column after the first, what is <column> of <row key>?"""
    key = clean(row[0])
    if not key or not specific(key, where.names):
        return
    for col, cell in zip(header[1:], row[1:], strict=False):
        col, val = clean(col), short(cell, 8)
        if col and val and val.lower() not in {"-", "n/a", "none", "yes", "no"}:
            label = col.lower() if col[1:] == col[1:].lower() else col
            yield Fact(val, (f"What is the {label} of {key}?", f"For {key}, what is the {label}?"),
                       "table", line)  # fmt: skip


register_rule("keyvalue", key_values, line=True)
