"""Question rules for what documentation says of named code: identifiers and their kinds.

Reference pages state facts as sentences about an identifier: what a function returns, which
setting does a job, which option you pass to do something. These rules read three such shapes,
each with the identifier at a fixed place so the question is the sentence turned round, never a
guess: ``X returns Y`` (what does X return?), ``The X decorator transforms ...`` (which decorator
transforms ...?) and ``Django uses the X setting to ...`` (which setting does Django use to ...?).
They register themselves with :mod:`corpus.qarules` on import (``corpus.trainset`` imports this).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import corpus.qarules  # noqa: F401  (its sentence rules are registered, and so run, before these)
from corpus.qafilters import announces
from corpus.qaphrase import (
    ANSWER_END,
    IDENT,
    IDENT_PATTERN,
    about,
    clean,
    lowered,
    scoped,
    short,
    specific,
    topical,
)
from corpus.qawords import VAGUE
from corpus.rulebook import Fact, Where, register_rule

# Nouns that name what kind of thing an identifier is ("the DATABASES setting").
KINDS = frozenset(
    "setting option argument parameter attribute method function class decorator middleware command "  # noqa: SIM905
    "tag filter field module variable header directive backend signal exception hook flag lookup "
    "manager property package view mixin widget processor storage key keyword template handler "
    "loader finder router validator subcommand constant type library engine".split()
)
# A question holding one of these leans on the page around it ("... on it", "... of this").
LEANS = re.compile(r"\b(?:it|its|this|these|those|they|them|their|here|above|below|following|such)\b")
# Where a clause stops being the fact: a purpose or reason tacked on after it.
# A sentence ending in ":" introduces its example ("... to register callbacks:"), and still says it.
_STOP = r"(?=[.;:!?]?\s*$|,\s| so that | because | which | unless | if )"
_LEAD = re.compile(r"^(?:On|In|At|With|After|By|For|During) [^,]{3,50}?, ")


def base_verb(verb: str) -> str:
    """The verb a question's "does" takes: ``uses`` -> ``use``, ``passes`` -> ``pass``."""
    if verb.endswith("ies"):
        return verb[:-3] + "y"
    if verb.endswith(("sses", "ches", "shes", "xes", "zes")):
        return verb[:-2]
    return verb[:-1] if verb.endswith("s") else verb


# A tail ending in one of these was cut inside a phrase ("to the directory from", "other than the one in").
# ... or on a verb whose object was cut ("directories where Django should look": look for what?).
_DANGLING = frozenset("a an the of in on at to for from with by as and or look".split())  # noqa: SIM905


# "store that file on the filesystem": "that" pointing back, not opening a clause ("a view that needs to").
_THAT_ONE = re.compile(r"\bthat [a-z]+[^s\W](?= (?:on|in|to|from|with|of|for)\b|$)")
# "when the callable returns False", "how the backend should handle errors": a plain noun after "the",
# subject of a clause, points back to the passage (Django audits: user_passes_test's test function, the
# email backend), unless the page is about it ("the messages that the formset will raise" on Formsets)
# "a redirect response to the generated URL": which URL? the one the walkthrough made just before
_BACK = re.compile(r"\bthe (?:generated|resulting|returned|above|previous|former|latter) ")
# "starts an HTTP server at 127.0.0.1 port 8000": an example's address read as what the option does
_EXAMPLE_VALUE = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b|\blocalhost:\d+")
_THE_ONE = re.compile(r"\bthe ([a-z]+) (?:returns|raises|will|should|can|must|does)\b")


def fits(rest: str, answer: str, where: Where | None = None) -> bool:
    """A question tail that stands on its own, whole, and does not give its answer away."""
    pointing = [m.group(1) for m in _THE_ONE.finditer(rest)]
    return (
        not LEANS.search(rest.lower()) and not _THAT_ONE.search(rest) and not _EXAMPLE_VALUE.search(rest)
        and not any(where is None or not topical(noun, where) for noun in pointing)
        and clean(answer).lower() not in rest.lower()
        and not re.search(r"[\u2013\u2014]|\ba number of ways\b", rest)
        and bool(rest.split()) and rest.split()[-1].lower() not in _DANGLING
    )  # fmt: skip


# "Which function expects a file-like object?" has many answers: what it does takes more words than that.
MIN_CONTENT_WORDS = 4


def says_little(rest: str) -> bool:
    """Whether a question's tail has too few content words to pick out one thing."""
    return sum(w.lower() not in VAGUE for w in rest.split()) < MIN_CONTENT_WORDS


# "The X parameter defaults to False" is the default rule's; "is", "has" say what X is, not does.
_NOT_VERBS = frozenset({"is", "was", "has", "does", "defaults", "its", "this"})


_DOES = re.compile(
    r"^(?P<lead>By default, )?(?:The )?(?P<subj>" + IDENT_PATTERN + r")"
    r"(?: method| function| class| command| option| setting)? (?:(?P<modal>should|must) (?:always )?)?"
    r"(?P<verb>returns|raises|creates|accepts|takes|sets|stores|adds|removes|generates|return|raise)"
    r" (?P<ans>[^,;:()]{2,50}?)" + ANSWER_END
)


def code_does(sentence: str, where: Where) -> Iterator[Fact]:
    """``get_object_or_404() raises Http404``: what does get_object_or_404() raise? The identifier
    opens the sentence: inside a clause ("If get_object() returns an object, ...", "... where b.save()
    raises an exception") it states no fact (the first hand audit of the Django pages found six)."""
    m = _DOES.match(sentence)
    if not m or not (answer := short(m.group("ans"), 8)) or LEANS.search(answer.lower()):
        return
    rest = sentence[m.end("ans") :]
    if announces(answer, rest) or _BACK.search(answer):
        return
    # "returns True if the key was deleted, False otherwise": the other case is half the answer
    if other := re.match(r", ((?:False|True|None) otherwise)\.?$", rest):
        answer = f"{answer}, {other.group(1)}"
    modal, verb = m.group("modal"), m.group("verb")
    if (modal is None) == (verb in ("return", "raise")):  # "X return Y" / "X should returns Y": no
        return
    subj, base = clean(m.group("subj")), base_verb(verb)
    head = f"What {modal} {subj} {base}" if modal else f"What does {subj} {base}"
    tail = " by default" if m.group("lead") else ""
    # the page as a scope that reads with any title ("What does send_messages() take in Sending
    # email?" did not): "For Sending email, what does send_messages() take?"
    qs = (f"{head}{tail}?", scoped(f"{head}{tail}?", clean(where.title)))
    yield Fact(answer, scoped_if_bare(subj, qs, where), "code", sentence)


def scoped_if_bare(subj: str, questions: tuple[str, ...], where: Where) -> tuple[str, ...]:
    """A method named without its class (``render()``, ``delete()``) is many classes' method: its
    questions all carry the page ("What should render() return?" read alone means the shortcut, not
    a template tag node's; a Django audit), as "For <title>," and "In <title>," (a title after the
    question, "... take in Sending email?", read badly)."""
    if not _BARE_METHOD.fullmatch(subj):
        return questions
    title = clean(where.title)
    head = questions[0].rstrip("?")
    return (scoped(f"{head}?", title), scoped(f"{head}?", title, "In"))


# Class names count here too ("The RemoteUserMiddleware authentication middleware ..."): the kind noun
# after them says they are code.
NAMED = r"(?:" + IDENT_PATTERN + r"|[A-Z]+[a-z0-9]+(?:[A-Z]+[a-z0-9]*)+)"
_KIND_SUBJECT = re.compile(
    r"^(?:The |Your (?:project[’']s )?|[A-Z][a-z]+[’']s )?(?P<id>" + NAMED + r")(?P<kind>(?: [a-z]+){1,2})"
    r"(?P<scope> (?:on|of|in) (?:an?|the) [a-z]+(?: [a-z]+)?)? (?P<verb>[a-z]+s) "
    r"(?P<rest>[^;:()]{5,90}?)" + _STOP
)


# "The command python manage.py diffsettings displays ...": the kind first, then a name of several
# words, so the verb must be one that documentation uses of commands and functions.
_KIND_FIRST = re.compile(
    r"^The (?P<kind>command|function|method|template tag|filter|module) "
    r"(?P<id>[a-z][\w.-]*(?: [a-z-][\w.-]*){0,3}?) "
    r"(?P<verb>displays|prints|shows|lists|outputs|creates|generates|removes|deletes|checks|validates|"
    r"installs|compiles|collects|loads|runs|starts) (?P<rest>[^;:()]{5,90}?)" + _STOP
)


def kind_subject(sentence: str, where: Where) -> Iterator[Fact]:
    """``The method_decorator decorator transforms a function decorator into a method decorator``:
    which decorator transforms a function decorator into a method decorator?"""
    m = _KIND_SUBJECT.match(sentence) or _KIND_FIRST.match(sentence)
    kind = clean(m.group("kind")) if m else ""
    if not m or kind.split()[-1] not in KINDS or m.group("verb") in KINDS | _NOT_VERBS:
        return
    answer, verb, rest = clean(m.group("id")), m.group("verb"), clean(m.group("rest"))
    # "The manage.py startapp command ...": the command is "manage.py startapp", not a file
    if not fits(rest, answer, where) or says_little(f"{verb} {rest}") or answer.endswith(".py"):
        return
    kind += m.groupdict().get("scope") or ""  # "the context_object_name attribute on a generic view"
    qs = (f"Which {kind} {verb} {rest}?", f"What is the name of the {kind} that {verb} {rest}?")
    yield Fact(answer, owned(qs, kind, answer, where), "kind", sentence)


_BARE_METHOD = re.compile(r"[a-z_]\w*\(\)")


def owned(questions: tuple[str, ...], kind: str, answer: str, where: Where) -> tuple[str, ...]:
    """The questions of a kind fact with the scope they need: a command-line option under its
    program's page; a method named without its class (``save()``) under its section, since many
    classes have a ``save()`` and "which method returns the saved instances?" read on its own means
    the wrong one (a hand audit: a model formset's, not a model's); any other question that names
    nothing under its page or its API entry (``corpus.qaphrase.about``)."""
    # a command-line option belongs to the program the page is about: "which option starts an HTTP
    # server at 127.0.0.1 port 8000?" is uWSGI's --http, not any server's (a Flask audit)
    option = re.match(r"^(?:the )?--?[a-z]", answer)  # "--http", "the --env-file option"
    if option and clean(where.title).lower() not in " ".join(questions).lower():
        return tuple(scoped(q, clean(where.title)) for q in questions)
    if kind != "method" or not _BARE_METHOD.fullmatch(answer):
        # "which property can you access to see what the resource folder is?": whose folder? a question
        # naming nothing is asked under its page, as the sentence rules' are (corpus.qaphrase.about),
        # or under the API entry it stands in ("For flask.Blueprint, which parameter ...")
        entry = "." in where.heading and bool(IDENT.fullmatch(where.heading)) and answer not in where.heading
        scope = Where(where.heading, where.heading, where.names) if entry else where
        return tuple(about(q, scope) for q in questions)
    # a heading that names the answer gives it away ("For Overriding the clean() method, which method ...")
    scope = where.title if answer.lower() in where.topic.lower() else where.topic
    return tuple(scoped(q, clean(scope)) for q in questions)


_IMPERATIVE = frozenset({"use", "set", "pass", "add", "call", "run"})
_KIND_OBJECT = re.compile(
    r"^(?:(?P<subj>[Yy]ou|[A-Z][\w.]*)(?: (?P<modal>can|must|should|may|will))? )?"
    r"(?P<verb>[a-z]+|Use|Set|Pass|Add|Call|Run) the (?P<id>" + NAMED + r") (?P<kind>[a-z]+(?: [a-z]+)?) "
    r"(?P<rest>(?:to|for|in|on|with|when|from|as) [^;:()]{5,90}?)" + _STOP
)


# "Django uses asyncio.iscoroutinefunction to test if ...": what a named subject uses, without a kind.
_USES = re.compile(
    r"^(?P<subj>[A-Z][\w.]*) uses (?P<id>" + IDENT_PATTERN + r") "
    r"(?P<rest>(?:to|for|when) [^;:()]{5,90}?)" + _STOP
)


def subject_uses(sentence: str, where: Where) -> Iterator[Fact]:
    """``Django uses asyncio.iscoroutinefunction to test if your view is asynchronous``: what does
    Django use to test if your view is asynchronous?"""
    m = _USES.match(sentence)
    if not m or not specific(m.group("subj"), where.names):
        return
    answer, rest = clean(m.group("id")), clean(m.group("rest"))
    if fits(rest, answer, where):
        subj = m.group("subj")
        yield Fact(answer, (f"What does {subj} use {rest}?", f"Which identifier does {subj} use {rest}?"),
                   "kind", sentence)  # fmt: skip


def kind_object(sentence: str, where: Where) -> Iterator[Fact]:
    """``Django uses the DJANGO_SETTINGS_MODULE environment variable to locate the settings`` /
    ``You can pass the db_tablespace option to a Field constructor to ...``: which environment
    variable does Django use to locate the settings? which option can you pass to ...?"""
    m = _KIND_OBJECT.match(_LEAD.sub("", sentence))
    if not m or m.group("kind").split()[-1] not in KINDS:
        return
    subj, modal, verb = m.group("subj"), m.group("modal"), m.group("verb").lower()
    kind, answer, rest = clean(m.group("kind")), clean(m.group("id")), clean(m.group("rest"))
    if subj is None:  # an instruction: "Use the X setting to ..."
        if modal or verb not in _IMPERATIVE or not m.group("verb")[0].isupper():
            return
        head = "do you"
    elif subj.lower() == "you":
        if not modal and verb.endswith("s"):
            return
        head = f"{modal} you" if modal else "do you"
    elif not specific(subj, where.names) or (modal is None and not verb.endswith("s")):
        return
    else:
        head, verb = (f"{modal} {subj}", verb) if modal else (f"does {subj}", base_verb(verb))
    if not fits(rest, answer, where):
        return
    qs = (f"Which {kind} {head} {verb} {rest}?", f"What {kind} {head} {verb} {rest}?")
    yield Fact(answer, owned(qs, kind, answer, where), "kind", sentence)


# "Your custom storage system must be a subclass of X", "A template backend is a class that inherits
# X": what a user's own class must extend. A named class that inherits ("FormView inherits X") is left
# alone: it inherits more than the one the sentence names, so "which class does it inherit?" has many.
_MUST_INHERIT = re.compile(
    r"^(?P<subj>(?:Your|Each|Every|An?|The) [a-z][\w -]{2,40}?) (?:(?P<modal>must|should|needs to|has to) "
    r"(?:be a subclass of|inherit from|subclass|extend)|is an? (?:class|subclass) that (?:inherits|"
    r"subclasses|extends)(?: from)?) (?:the )?(?P<ans>" + NAMED + r")(?: class)?(?=[.:;]?\s*$|,? and | so )"
)
_NEED = {"needs to": "does {s} need to", "has to": "does {s} have to", None: "does {s}"}


def must_inherit(sentence: str, where: Where) -> Iterator[Fact]:
    """``Your custom reporter class needs to inherit from django.views.debug.ExceptionReporter``:
    which class does your custom reporter class need to inherit from?"""
    m = _MUST_INHERIT.match(sentence)
    if not m or LEANS.search(m.group("subj").lower()):
        return
    subj, modal = lowered(clean(m.group("subj"))), m.group("modal")
    subj = "your" + subj[4:] if subj.startswith("Your ") else subj
    head = _NEED.get(modal, "{m} {s}").format(s=subj, m=modal)
    yield Fact(clean(m.group("ans")), (f"Which class {head} inherit from?", f"What {head} subclass?"),
               "inherit", sentence)  # fmt: skip


# "Django ships with a FileSystemStorage class which implements ...", "a USE_L10N setting that controls
# ...": the relative clause says what the named thing does, whatever the sentence opened with.
_KIND_WHICH = re.compile(
    r"\b(?:an?|the) (?:[a-z]+ ){0,3}?(?P<id>" + NAMED + r") (?P<kind>[a-z]+) (?:that|which) "
    r"(?P<verb>[a-z]+s|can be used to|is used to) (?P<rest>[^;:()]{5,90}?)" + _STOP
)


# "Django comes with a utility called inspectdb that can create models ...": "called" says it is a name,
# so the kind noun may be any and the name a plain word.
_KIND_CALLED = re.compile(
    r"\b(?:an?|the) (?P<kind>[a-z]+) (?:called|named) (?P<id>" + NAMED + r"|[a-z][\w-]{2,30}) (?:that|which) "
    r"(?P<verb>[a-z]+s|can [a-z]+) (?P<rest>[^;:()]{5,90}?)" + _STOP
)

# "For example, if you have a function called get_notification_email() ...": a name made up for the
# example, not the software's.
_SUPPOSED = re.compile(r"\b(?:[Ee]xample|[Ss]uppose|[Ii]magine|[Ss]ay|you have|you write|your)\b")


def kind_which(sentence: str, where: Where) -> Iterator[Fact]:
    """``... a django.core.files.storage.FileSystemStorage class which implements basic local
    filesystem file storage``: which class implements basic local filesystem file storage?"""
    m = _KIND_WHICH.search(sentence)
    if m and (m.group("kind") not in KINDS or m.group("verb") in _NOT_VERBS | KINDS):
        m = None
    if not m and not _SUPPOSED.search(sentence):
        m = _KIND_CALLED.search(sentence)  # "a utility called inspectdb": any kind noun names it
    if not m or m.group("kind") in VAGUE or m.group("verb") in _NOT_VERBS:
        return
    # "... SQLCompiler objects ... they have a compile() method which returns ...": the method is the
    # pronoun's, which the question cannot name (six readers failed it)
    if re.search(r"\b(?:they|it|these|those) (?:have|has|provide|provides)\b[^,;]*$", sentence[: m.start()]):
        return
    kind, answer, verb, rest = m.group("kind"), clean(m.group("id")), m.group("verb"), clean(m.group("rest"))
    # "Which method takes two arguments?" has many answers
    if not fits(rest, answer, where) or says_little(f"{verb} {rest}"):
        return
    qs = (f"Which {kind} {verb} {rest}?", f"What is the name of the {kind} that {verb} {rest}?")
    yield Fact(answer, owned(qs, kind, answer, where), "kind", sentence)


# "You can check the new table name with the through model's _meta.db_table property": the means, asked
# as "how"; what is used or what it is used on must be named, so "You can do it with care" asks nothing.
_MEANS = re.compile(
    r"^(?:[A-Z][a-z]+, )?[Yy]ou (?:can|may|should) (?:also )?(?P<verb>[a-z]+) (?P<obj>[^,;:()]{3,60}?) "
    r"(?:with|using|through|via) (?P<ans>[^,;:()]{2,50}?)[.:!]?$"
)


_ADVERBS = frozenset("only just always never first still simply easily usually really".split())  # noqa: SIM905
_NOT_MEANS = re.compile(
    r"\b(?:yourself|itself|themselves|ourselves|if|when|unless|you)\b"
)  # "you" also in "you're"


def means(sentence: str, where: Where) -> Iterator[Fact]:
    """``You can install ReportLab with pip``: how can you install ReportLab?"""
    m = _MEANS.match(sentence)
    if not m or not (answer := short(m.group("ans"), 8)):
        return
    verb, obj = m.group("verb"), clean(m.group("obj"))
    named = IDENT.search(answer) or specific(obj, where.names) or specific(answer, where.names)
    if not named or verb in _NOT_VERBS | {"be", "do", "have"} or not fits(f"{verb} {obj}", answer, where):
        return
    # "You should familiarize yourself with ...", "You should only use X if you're using Y": a phrasal
    # verb or a condition, not a means; "with Flask easily": a remark on the means
    if verb in _ADVERBS or _NOT_MEANS.search(obj) or re.search(r" [a-z]+ly$", answer):
        return
    qs = (f"How can you {verb} {obj}?", f"What can you use to {verb} {obj}?")
    yield Fact(answer, owned(qs, "option", answer, where), "purpose", sentence)


# "CSRF protection works by checking for a secret in each POST request": how does CSRF protection work?
_WORKS_BY = re.compile(r"^(?P<subj>[^,;:()]{2,40}?) works by (?P<ans>[a-z]+ing [^;:()]{3,80}?)[.!]?$")


def works_by(sentence: str, where: Where) -> Iterator[Fact]:
    """``CSRF protection works by checking for a secret in each POST request``."""
    m = _WORKS_BY.match(sentence)
    subj = clean(m.group("subj")) if m else ""
    if not m or not specific(subj, where.names) or LEANS.search(subj.lower()):
        return
    subj = lowered(subj)
    yield Fact(f"by {clean(m.group('ans'))}", (f"How does {subj} work?", f"What does {subj} work by?"),
               "purpose", sentence)  # fmt: skip


# "The render() function takes the request object as its first argument": reference pages state a
# signature this way, argument by argument.
_ARGUMENT = re.compile(
    r"^(?:The )?(?P<subj>" + IDENT_PATTERN + r")(?: function| method| class| decorator)? "
    r"(?:takes|accepts|expects) (?P<ans>[^,;:()]{2,40}?) as its (?P<nth>first|second|third|only) "
    r"(?:positional )?argument"
)


def argument_of(sentence: str, where: Where) -> Iterator[Fact]:
    """``The get_object_or_404() function takes a Django model as its first argument``: what does
    get_object_or_404() take as its first argument?"""
    m = _ARGUMENT.match(sentence)
    if not m or not (answer := short(m.group("ans"), 8)) or LEANS.search(answer.lower()):
        return
    subj, nth = clean(m.group("subj")), m.group("nth")
    qs = (f"What does {subj} take as its {nth} argument?", f"What is the {nth} argument of {subj}?")
    yield Fact(answer, scoped_if_bare(subj, qs, where), "code", sentence)


# "The decorators in django.views.decorators.http can be used to restrict access to views ...": what
# can be used to ...? The subject names code, so the answer is a thing a reader can look up.
_USED_TO = re.compile(
    r"^(?P<ans>[A-Z][^,;:()]{2,60}?) (?:can|may) be used to (?P<goal>[a-z][^;:()]{5,80}?)[.!]?$"
)


def used_to(sentence: str, where: Where) -> Iterator[Fact]:
    """``The decorators in django.views.decorators.http can be used to restrict access to views``."""
    m = _USED_TO.match(sentence)
    if not m or not IDENT.search(m.group("ans")) or not (answer := short(m.group("ans"), 8)):
        return
    goal = clean(m.group("goal"))
    if LEANS.search(f"{answer} {goal}".lower()) or says_little(goal):
        return
    yield Fact(lowered(answer), (f"What can be used to {goal}?", f"What can you use to {goal}?"), "purpose",
               sentence)  # fmt: skip


register_rule("code", code_does)
register_rule("inherit", must_inherit)
register_rule("kind-which", kind_which)
register_rule("kind", kind_subject)
register_rule("kind-object", kind_object)
register_rule("uses", subject_uses)
register_rule("means", means)
register_rule("works-by", works_by)
register_rule("argument", argument_of)
register_rule("used-to", used_to)
