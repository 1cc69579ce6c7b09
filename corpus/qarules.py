"""Question rules: facts a page states, each asked in several phrasings, its answer a span of the page.

Each rule reads one sentence or line of a parsed page (headings already give its subject) and
yields :class:`Fact` objects: the answer span, two to four questions a person would ask for it,
and the evidence it came from. Rules are deliberately narrow: a rule that fires on "If the
script ..." writes nonsense, so subjects must be specific (a code identifier, a capitalised
term, or the page's own topic) and answers short. Register more with :func:`register_rule`.

Rules here are model-free; ``compare.trainset`` adds model-written questions and the round trip.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from corpus.qafilters import (
    attributive,
    circular,
    continues_list,
    infinitive,
    loose_answer,
    owned_by_entry,
    partial_instruction,
    vague_goal,
)
from corpus.qaphrase import (
    ANSWER_END,
    IDENT,
    NAME,
    NUM_UNIT,
    UNIT_PATTERN,
    YEAR,
    about,
    clean,
    lowered,
    name_like,
    page_sense,
    plural,
    says_whose,
    scoped,
    short,
    specific,
    topical,
    value_like,
    wh_word,
)
from corpus.qawords import CLAUSE, CONTEXT, IN_A_LANGUAGE, INFINITIVE, OPENERS, PRAISE, ROLES, SEQUENCE, VAGUE
from corpus.rulebook import Fact, Where, register_rule

# --- sentence rules --------------------------------------------------------------------------

_DEFINITION = re.compile(
    r"^(?P<term>(?:The |An? )?[\w`().-]+(?: [\w`().-]+){0,4}?) (?P<verb>is|are) "
    r"(?P<defn>an? [^.;:()]{3,80}?)" + ANSWER_END
)
# "Gunicorn ('Green Unicorn') is a pure-Python WSGI server": the term's other name set aside.
_ALIAS = re.compile(r"^(?P<term>[\w`.-]+(?: [\w`.-]+){0,3}) \([^()]{2,40}\)(?= (?:is|are) an? )")
DEFINITION_WORDS = 20  # a definition is asked whole up to this many words, else to its first comma
# Below this many words a definition of a term the page is not about is a remark made in passing.
THIN_DEFINITION = 4


def definition_answer(sentence: str, m: re.Match) -> str | None:
    """The definition to its sentence's end when that is short and plain ("an ASGI server that
    supports HTTP/1, HTTP/2, and HTTP/3"; a hand audit found the first-comma cut wrong), else to its
    first clause boundary; at least three words ("a class" says nothing)."""
    # "a package manager for Python and is included by default ...": a second predicate is not the definition
    # "..., thus requiring Python to be installed": a consequence, not the definition
    whole = re.split(r" and (?:is|are|was|has|can) |, (?:thus|hence) ", clean(sentence[m.start("defn") :]))[0]
    if len(whole.split()) <= DEFINITION_WORDS and not re.search(r"[:()]", whole):
        answer = short(whole, DEFINITION_WORDS)
        return answer if answer and len(answer.split()) >= 3 else None
    # cut at its first clause boundary, a definition must keep more than its kind: "A message file is
    # a plain-text file, representing a single language, that contains ..." is not "a plain-text file"
    answer = short(m.group("defn"), 12)
    return answer if answer and len(answer.split()) > THIN_DEFINITION else None


def definitions(sentence: str, where: Where) -> Iterator[Fact]:
    """``X is a/an/the Y``: what is X?"""
    m = _DEFINITION.match(_ALIAS.sub(r"\g<term>", sentence))
    term_ok = m and (specific(m.group("term"), where.names) or topical(m.group("term"), where))
    if not term_ok or not (answer := definition_answer(sentence, m)):
        return
    term, verb = lowered(clean(m.group("term"))), m.group("verb")
    if len(answer.split()) < THIN_DEFINITION and not (IDENT.search(term) or topical(term, where)):
        return  # "The Internet is a hostile environment": a remark, not what the page defines
    bare = term.islower() and " " not in term and not (IDENT.search(term) or topical(term, where))
    # "route is a string": whose route? "Mixins are an excellent way ...": a verdict, not a definition
    if bare or PRAISE & set(answer.lower().split()[1:3]):
        return
    words = {w.lower() for w in term.split()}
    gerund = term.split()[0].endswith("ing") and term[0].isupper()  # "Testing a Web application": an act
    if (
        term.split()[0].lower() in VAGUE - {"the", "a", "an"}
        or words & (CLAUSE | CONTEXT | {"previously", "current", "currently", "today"})  # "The current state"
        or gerund
    ):
        return
    does = "do" if verb == "are" else "does"
    qs = (f"What {verb} {term}?", f"What {does} {term} refer to?", f"How would you describe {term}?")
    # "What is test_labels?", "What is route?": a parameter or attribute named alone is asked under the
    # section (or page) that says whose it is (a Django audit)
    if re.fullmatch(r"[a-z][a-z0-9_]*", term) and says_whose(term, where):
        qs = tuple(scoped(q, clean(where.topic)) for q in qs)
    # "What does a view refer to?", "What is aggregate()?", "What is token.contents?": a common noun, a
    # method without its class or an argument's attribute is the page's sense of it (two readers)
    elif page_sense(term, where):
        qs = tuple(scoped(q, clean(where.title)) for q in qs)
    yield Fact(answer, qs, "definition", sentence)


_DEFAULT = re.compile(
    r"(?:(?P<subj>[\w`().-]+(?: [\w`().-]+){0,3}) (?:defaults|default(?:s)? value is|is set by default)"
    r" (?:to |is )?|[Tt]he default(?: value)?(?: of (?P<subj2>[\w`().-]+(?: [\w`().-]+){0,3}))? is "
    r"|\(default(?:s to|:| is)\s*)(?P<val>[^.;,()]{1,40}?)" + ANSWER_END
)


def defaults(sentence: str, where: Where) -> Iterator[Fact]:
    """``X defaults to V`` / ``The default (of X) is V`` / ``(default: V)``: X's default?"""
    if re.match(r"^(?:When|If|Unless) ", sentence):
        return  # "When absolute_max is None, it defaults to max_num + 1000": a default under a condition
    for m in _DEFAULT.finditer(sentence):
        subj = m.group("subj") or m.group("subj2")
        clause = subj and CLAUSE & {w.lower() for w in subj.split()}
        named = subj and (specific(subj, where.names) or (subj.split()[0] == "The" and " " in subj))
        if named and not clause:
            subj = lowered(clean(subj))
        else:  # "It defaults to True": the sentence's identifier, or a heading that is one
            idents = IDENT.findall(sentence[: m.start("val")])
            # a heading that is a function ("get_send_file_max_age()") has no default: "This
            # defaults to None" under it is about something its text named
            # nor a class ("jinja2.Environment": "The default is False" there is one of its arguments')
            last = where.topic.rsplit(".", 1)[-1]
            heading = (
                IDENT.fullmatch(where.topic) and not where.topic.endswith(")") and not last[:1].isupper()
            )
            heading = heading or (IDENT.fullmatch(where.topic) and last.isupper())  # a setting: ENV
            subj = idents[-1] if idents else where.topic if heading else None
        val = short(m.group("val"), 6)
        if subj and clean(subj).endswith(")"):
            continue  # "socket.getdefaulttimeout(), which defaults to None": a function has no default
        if not subj or not val or not (value_like(val) or re.search(r"[\d+*/]", val)):
            continue  # "the default is used: ...", "to display 100 items per page": no value
        s = clean(subj)
        s = owned_by_entry(s, where.heading)
        yield Fact(val, (f"What is the default value of {s}?", f"What does {s} default to?",
                         f"By default, what is {s} set to?"), "default", sentence)  # fmt: skip


# The prepositions a passive fact's answer follows; an answer opening with one of them again ("passed
# in from the constructor") misread the verb (passive_answer).
_PREP_WORDS = tuple("in at by for on to from with through under into after within".split())  # noqa: SIM905
_PREPOSITIONS = frozenset(_PREP_WORDS)
_PASSIVE = re.compile(
    r"^(?P<subj>[^,;:]{3,60}?) (?P<be>is|are|was|were) (?:(?:only|also|usually|always) )?"
    r"(?P<verb>[a-z]+(?:ed|en|lt|wn|ld|ne|ng|de|ed up|ut|un|ot))"
    r" (?P<prep>" + "|".join(_PREP_WORDS) + r") (?P<ans>[^,;()]{1,50}?)" + ANSWER_END
)


_PLACE = frozenset({"in", "on", "at", "into", "within"})


def passive_fits(subj: str, answer: str, prep: str) -> bool:
    """What a hand audit of the Django pages found misread: a subject naming an example's variable
    ("The initial QuerySet (q1)"), opening with "only" or a gerund ("verifying a redirect is performed
    by the app"); a place that is a plain phrase ("written in a newsroom environment" reads as the
    language Django is written in): after in/on/at, the answer must name something."""
    words = subj.lower().split()
    first, second = words[0], (words[1:] or [""])[0]
    # a gerund: lower case ("verifying ..."), or taking an object ("Verifying a redirect"); "String
    # values" is a noun phrase
    gerund = first.endswith("ing") and (subj[0].islower() or second in {"a", "an", "the", "that", "your"})
    if "(" in subj or first == "only" or gerund:
        return False
    return prep not in _PLACE or bool(IDENT.search(answer) or re.search(r"\d|\b[A-Z]", answer))


# The phrasings of a passive fact, by the question word its answer calls for (``wh_word``).
_PASSIVE_QUESTIONS = {
    "In which version": ("In which version {be} {subj} {verb}?", "In what release {be} {subj} {verb}?"),
    "In what year": ("In what year {be} {subj} {verb}?", "When {be} {subj} {verb}?",
                     "What year {be} {subj} {verb} in?"),
    "Who": ("Who {be} {subj} {verb} by?", "By whom {be} {subj} {verb}?"),
    "How long": ("How long {be} {subj} {verb} {prep}?", "For how many {units} {be} {subj} {verb}?"),
    "Where": ("Where {be} {subj} {verb}?", "{Prep} which place {be} {subj} {verb}?"),
    "What": ("{Prep} what {be} {subj} {verb}?", "What {be} {subj} {verb} {prep}?"),
}  # fmt: skip


# "Django is committed to API stability": a stance, not one fact; "documented in Making queries": where
# the docs say more (two audits found both vague); "not": no verb
_NO_FACT_VERBS = frozenset("not committed dedicated devoted documented described discussed explained".split())  # noqa: SIM905


def passive_answer(answer: str, prep: str, where: Where) -> str | None:
    """The agent or place without the purpose after it ("included with Django for compliance with
    Python's terms" -> Django); None for one plain noun after "the" ("used with the decorators"),
    which points back into the passage, unless the page is about it."""
    if answer.split()[0].lower() in _PREPOSITIONS:
        return None  # "passed in from the constructor": "in" was the verb's, and "where" reads it wrong
    if re.search(r"[\[\]=*]", answer):
        return None  # "removed in format_string[1:-1]": a line of the example's code, not a place
    head, sep, _ = answer.partition(" for ")
    if sep and prep != "for" and specific(head, where.names):
        answer = head
    if prep == "by" and answer.split()[0].endswith("ing"):
        return None  # "created by calling undefined": a how, not a by-what
    if prep != "by" and " by " in answer:
        answer = answer.split(" by ")[0]  # "separated from the variable by a pipe symbol" -> the variable
    if re.fullmatch(r"the [a-z]+", answer) and not topical(answer, where):
        return None
    return answer


def passives(sentence: str, where: Where) -> Iterator[Fact]:
    """``S was launched in 2010`` / ``S is led by A B``: when / who / where / what ... ?"""
    m = _PASSIVE.match(sentence)
    if not m or not (answer := short(m.group("ans"), 6)) or continues_list(sentence[m.end("ans") :]):
        return
    generic = bool(NUM_UNIT.fullmatch(answer) or YEAR.match(answer))
    subj = subject(m.group("subj"), where, generic=generic)
    # "the name of the table", "the interpolation syntax", "some Python libraries": a subject that names
    # nothing of its own is the passage's (five of eleven passive pairs a Django reader failed)
    if subj is None or not (
        generic or specific(subj, where.names) or topical(subj, where) or name_like(where.title)
    ):
        return
    if subj.split()[0].lower() in {"some", "many", "most", "several", "certain"}:
        return  # "some Python libraries are implemented in C": which ones? no single answer
    be, verb, prep = m.group("be"), m.group("verb"), m.group("prep")
    if verb in _NO_FACT_VERBS or not passive_fits(m.group("subj"), answer, prep):
        return
    if (answer := passive_answer(answer, prep, where)) is None:
        return
    if (prep == "to" and (verb in INFINITIVE or infinitive(answer))) or (
        prep == "by" and answer.lower() == "default"
    ):
        return  # "used to create ...": an infinitive, not a place; "enabled by default": no agent
    wh = "What" if prep == "in" and verb in IN_A_LANGUAGE else wh_word(answer, prep)
    unit = NUM_UNIT.fullmatch(answer)
    words = {"be": be, "subj": subj, "verb": verb, "prep": prep, "Prep": prep.capitalize(),
             "units": plural(unit.group(2)) if unit else ""}  # fmt: skip
    qs = tuple(q.format(**words) for q in _PASSIVE_QUESTIONS.get(wh, _PASSIVE_QUESTIONS["What"]))
    yield Fact(answer, tuple(about(q, where) for q in qs), "passive", sentence)


def subject(phrase: str, where: Where, generic: bool = False) -> str | None:
    """A sentence subject fit for a question: pronouns become the page's topic, and an opening
    "The" is lowered (it moves into the middle of the question). ``generic`` also takes a plain noun
    phrase ("battery life"), for answers specific enough on their own (a number with its unit)."""
    words = clean(phrase).split()
    if not words:
        return None
    pronoun = words[0].lower() in {"it", "this", "they", "its", "their"}
    # The title stands for the pronoun only when it names one thing ("Rennal 7 Mini"): a topic title
    # ("Formsets", "Writing your first app") is what the page is about, not what "they" refers to
    # (a hand audit found "They" meaning two fields, "This" an argument, resolved to such titles).
    if pronoun and not (name_like(where.title) and specific(where.title)):
        return None
    if words[0].lower() in {"it", "this", "they"} and len(words) == 1:
        return clean(where.title)
    if words[0].lower() in {"its", "their"} and len(words) > 1:  # "Its lead designer" -> of the page's topic
        return f"the {' '.join(words[1:])} of {clean(where.title)}"
    lower = {w.lower() for w in words}
    if (CLAUSE | CONTEXT | {"then"}) & lower or words[0].lower() in OPENERS:
        return None
    if SEQUENCE & lower and not IDENT.search(phrase):  # "the second element": of what?
        return None
    if not (specific(words[0], where.names) or (words[0].isupper() and len(words[0]) > 1)):  # "A copy"
        words[0] = words[0].lower()  # "Design work on X" reads "who is design work on X led by?"
    text = " ".join(words)
    # "the comparison", "the backend": one plain noun after "the" names nothing a reader can place,
    # unless the section is about it ("the admin" on the admin's pages) or the page is a thing the
    # question's "For <title>," prefix names ("For Brisil 40 Pro, how long does the battery last?")
    determined = words[0] in {"the", "every", "each"} and (
        len(words) >= 3 or topical(text, where) or name_like(where.title)
    )
    named = specific(text, where.names) or determined
    return text if named or (generic and len(words) <= 4) else None


_ACTIVE_NUM = re.compile(
    r"^(?P<subj>[^,;:]{2,60}?) (?P<verb>[a-z]+s) (?:for |up to |about |at least |at most )?"
    r"(?P<ans>\d[\d,.]*[ -]?" + UNIT_PATTERN + r")(?!\w)"
)


def active_numbers(sentence: str, where: Where) -> Iterator[Fact]:
    """``It runs for 94 hours`` / ``S takes 30 seconds``: how long does S run?"""
    m = _ACTIVE_NUM.match(
        re.sub(r"^(?:On|In|At|With|After|By) [^,]{3,40}?(?:, |,? (?=(?:it|they) ))", "", sentence)
    )
    if (
        not m
        or m.group("verb") in {"is", "was", "has", "does"}
        or (subj := subject(m.group("subj"), where)) is None
    ):
        return
    # "starts 4 worker processes": the unit describes a noun; "The tutorial goes over how to write
    # tests for 100% coverage": the verb is inside a clause, not the subject's
    number = NUM_UNIT.fullmatch(clean(m.group("ans")))
    in_clause = re.search(r"\b(?:how|what|why|whether)\b", subj)
    if in_clause or (number and attributive(*number.groups(), m.string[m.end() :])):
        return
    verb = m.group("verb")
    base = verb[:-2] if verb.endswith(("ches", "shes", "sses", "xes")) else verb[:-1]
    answer = clean(m.group("ans"))
    unit = NUM_UNIT.search(answer)
    wh = "How long" if unit and wh_word(answer, "") == "How long" else "How much"
    qs = (f"{wh} does {subj} {base}?", f"How many {plural(unit.group(2))} does {subj} {base}?")
    yield Fact(answer, tuple(about(q, where) for q in (qs if unit else qs[:1])), "number", sentence)


_PURPOSE = re.compile(
    r"^(?:To|If you want to) (?P<goal>[a-z][^,]{5,70}), (?:you (?:can |should |must )?)?"
    r"(?P<verb>use|run|call|set|add|pass|"
    r"type|install|import|create|define|override|modify|change|configure|enable) (?P<ans>[^,;]{1,50}?)"
    + ANSWER_END
)


# "Use QuerySet.explain() to understand how ...": the same fact as "To understand how ..., use
# QuerySet.explain()", instruction first. What is used must name something (an identifier, a name).
# "Alternatively, you can use X to ..." and "Instead, ..." name a second way: not what the page answers.
_USE_TO = re.compile(
    r"^(?:(?:For now|In general|Also), )?(?:[Yy]ou (?:can|should|may) (?:also )?)?"
    r"(?:Use|use) (?P<ans>[^,;:]{1,40}?) to (?P<goal>[a-z][^,;:()]{5,70}?)[.!]?$"
)


def purpose_answer(answer: str) -> str:
    """What to use, without the words around it: "either X" -> X; "X instead" -> X;
    "connection.cursor() to get a cursor" -> connection.cursor()."""
    answer = re.sub(r"^(?:either|both) ", "", answer)
    answer = re.sub(r" instead:?$", "", answer)
    head, sep, _ = answer.partition(" to ")
    return head if sep and IDENT.fullmatch(head) else answer


def purposes(sentence: str, where: Where) -> Iterator[Fact]:
    """``To create a superuser, run manage.py createsuperuser``: how do you create a superuser?"""
    m = _PURPOSE.match(sentence) or _USE_TO.match(sentence)
    if (
        not m
        or m.group("ans").startswith("either ")
        # "set BACKEND like so:": the value that does it is in the code after (two Django readers)
        or re.search(r" (?:like so|as follows|like this):?$", m.group("ans"))
        or not (answer := short(purpose_answer(m.group("ans")), 8))
    ):
        return  # "call either Signal.send() or Signal.send_robust()": one of two is not the answer
    if m.re is _USE_TO and not (IDENT.search(answer) or specific(answer, where.names)):
        return  # "Use bulk methods to ...": what is used names nothing
    goal = clean(m.group("goal"))
    if vague_goal(goal) or loose_answer(answer, sentence):
        return
    # "to install the package": which package? (the tutorial's; the page is not about packages)
    # (the page's title, not a section's "Using your own package": four readers asked which package)
    if (thing := re.fullmatch(r"[a-z]+ the ([a-z]+)", goal)) and not topical(
        thing.group(1), Where(where.title, "")
    ):
        return
    if partial_instruction(answer, m.string[m.end("ans") :]) or circular(answer, goal):
        return
    me = "you" if re.search(r"\byour?\b", goal) else "I"  # "how can I allow your users ...": no
    verb = m.groupdict().get("verb") or "use"
    if verb == "use":
        qs = (f"How do you {goal}?", f"What do you use to {goal}?", f"How can {me} {goal}?")
    else:  # "how do you send JSON data?" is answered "pass an object to json", not "an object to json"
        answer = f"{verb} {answer}"
        qs = (f"How do you {goal}?", f"How can {me} {goal}?", f"What should you do to {goal}?")
    yield Fact(answer, tuple(about(q, where) for q in qs), "purpose", sentence)


_ACTIVE_YEAR = re.compile(
    r"^(?P<subj>[^,;:]{3,50}?) (?:(?P<adv>first|originally|initially) )?(?P<verb>[a-z]+ed) "
    r"(?P<obj>(?:the |an? )?[^,;:]{2,50}?) in (?P<ans>(?:1[89]|20)\d\d)" + ANSWER_END
)


def active_years(sentence: str, where: Where) -> Iterator[Fact]:
    """``Tessaline Works first released the Rennal 7 Mini in 2008``: asked in the passive, which needs
    no verb forms beyond the sentence's own (when was the Rennal 7 Mini first released?)."""
    m = _ACTIVE_YEAR.match(sentence)
    if (
        not m
        or m.group("obj").lower() in {"it", "them", "this", "these"}
        or subject(m.group("subj"), where) is None
        or (obj := subject(m.group("obj"), where)) is None
    ):
        return
    verb = f"{m.group('adv')} {m.group('verb')}" if m.group("adv") else m.group("verb")
    be = "were" if obj.split()[-1].endswith("s") and not obj.split()[-1].endswith("ss") else "was"
    qs = (f"In what year {be} {obj} {verb}?", f"When {be} {obj} {verb}?",
          f"In what year {be} {obj} {verb} by {lowered(clean(m.group('subj')))}?")  # fmt: skip
    yield Fact(m.group("ans"), tuple(about(q, where) for q in qs), "active", sentence)


_AGENT = re.compile(
    r"^(?P<ans>[A-Z][a-z]+(?: [A-Z][a-z]+){1,2}) (?P<verb>[a-z]+(?:s|ed)) (?P<obj>[^,;:]{5,60}?)" + ANSWER_END
)


def agents(sentence: str, where: Where) -> Iterator[Fact]:
    """``Salme Osthal leads the design team behind X`` / ``Ana Lind designed X``: who leads ...?"""
    m = _AGENT.match(sentence)
    # "When Django renders ...", "Most Web applications ...", "See Validating objects ...": an
    # opening word, not a person (a hand audit of the Django pages found five such)
    if not m or {w.lower() for w in m.group("ans").split()} & (VAGUE | OPENERS | CLAUSE | {"whenever"}):
        return
    if len(m.group("verb")) < 4 or m.group("verb") in {"thus", "plus", "less", "unless", "across"}:
        return  # "Large Applications as Packages": a title, "as" no verb
    obj = clean(m.group("obj"))
    if not specific(obj, where.names) or CLAUSE & set(obj.lower().split()):
        return
    verb = m.group("verb")
    yield Fact(m.group("ans"), (f"Who {verb} {obj}?", f"Which person {verb} {obj}?"), "agent", sentence)


_COPULA = re.compile(r"^(?P<subj>[^,;:]{3,60}?) (?P<be>is|are|was) (?P<ans>[^,;()]{1,40}?)" + ANSWER_END)


def copulas(sentence: str, where: Where) -> Iterator[Fact]:
    """``Its lead designer is Odile Breksel`` / ``The default port is 8000``: who / what is S?"""
    m = _COPULA.match(sentence)
    if not m or not (answer := short(m.group("ans"), 5)):
        return
    if not (NAME.match(answer) or NUM_UNIT.fullmatch(answer) or re.fullmatch(r"\d[\d,.]*", answer)
            or IDENT.fullmatch(answer)):  # fmt: skip
        return  # "X is a Y" is a definition; "X is used ..." a passive
    subj = subject(m.group("subj"), where)
    if subj is None or (subj.split()[0] not in {"the", "every", "each"} and not specific(subj, where.names)):
        return
    be = m.group("be")
    wh = "Who" if NAME.match(answer) and ROLES & set(subj.lower().split()) else "What"
    qs = (f"{wh} {be} {subj}?", f"Do you know {'who' if wh == 'Who' else 'what'} {subj} {be}?")
    yield Fact(answer, tuple(about(q, where) for q in qs), "copula", sentence)


_MEASURE = re.compile(
    r"^(?P<subj>[^,;:]{3,60}?) (?P<verb>has|have|comes with|come with|offers|uses|gets) (?:an?|the) "
    r"(?P<noun>[a-z]+(?: [a-z]+)?) of (?P<ans>\d[\d,.]*(?:[ -]?" + UNIT_PATTERN + r"|\s[a-z]{3,})?)(?!\w)"
)


def measures(sentence: str, where: Where) -> Iterator[Fact]:
    """``Each X comes with a warranty of 24 months``: what is the warranty of X?"""
    m = _MEASURE.match(sentence)
    if not m or (subj := subject(m.group("subj"), where)) is None:
        return
    noun, answer = m.group("noun"), clean(m.group("ans"))
    of = "the " + subj.split(" ", 1)[1] if subj.split()[0] in {"each", "every"} and " " in subj else subj
    qs = (f"What is the {noun} of {of}?", f"How long is the {noun} of {of}?"
          if wh_word(answer, "") == "How long" else f"How much is the {noun} of {of}?")  # fmt: skip
    yield Fact(answer, tuple(about(q, where) for q in qs), "measure", sentence)


for _name, _fn in (("definition", definitions), ("default", defaults), ("passive", passives),
                   ("number", active_numbers), ("purpose", purposes),
                   ("copula", copulas), ("measure", measures), ("active", active_years),
                   ("agent", agents)):  # fmt: skip
    register_rule(_name, _fn)
