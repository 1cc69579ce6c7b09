"""Word lists the question rules test phrases against (corpus.qarules and its neighbours)."""

from __future__ import annotations

# Words that make a subject too vague to ask about on its own ("This is a ...", "If the script ...").
VAGUE = frozenset(
    "a an the this that these those there here it its they them their we you your i he she if "  # noqa: SIM905
    "when while where which what who how why each every all some any many most one other such "
    "both either neither no not only also then thus so but and or for from with without by of on "
    "in at to as after before since because although though note example see below above "
    "following".split()
)

# Words that mark a clause rather than a noun phrase: a subject holding one is not asked about.
CLAUSE = frozenset(
    "you we i he she is are was were be been can could will would should may might must if when "  # noqa: SIM905
    "that which who this these those there do does did not because since although though unless "
    "whether".split()
)

# Words that tie a phrase to its neighbours ("the corresponding attribute", "the main reason"): a subject
# holding one names nothing a reader without the page could place.
CONTEXT = frozenset(
    "corresponding same main above below following previous next latter former such here".split()  # noqa: SIM905
)

# Roles a person holds: a copula's name answer is asked with "who" only after one of these.
ROLES = frozenset(
    "designer author creator founder maintainer manager engineer owner contact developer lead "  # noqa: SIM905
    "director editor inventor chair president".split()
)

OPENERS = frozenset(
    "see note for with as in on at by from to after before when if once unless".split()  # noqa: SIM905
)

INFINITIVE = frozenset(
    "used able designed intended meant required supposed allowed going".split()  # noqa: SIM905
)

SEQUENCE = frozenset("first second third next last finally now".split())  # noqa: SIM905
# "Mixins are an excellent way ...": a definition opening with one of these is a verdict, not a definition.
PRAISE = frozenset(
    "excellent great good nice handy useful powerful easy convenient important popular better best "  # noqa: SIM905
    "perfect ideal elegant".split()
)
# "Some libraries are implemented in C": what these are done "in" is a language or format, not a place.
IN_A_LANGUAGE = frozenset("implemented written coded expressed encoded serialized".split())  # noqa: SIM905
