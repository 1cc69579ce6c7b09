"""The question rules on fixture pages: exact questions per rule, answers verbatim spans, no nonsense."""

from __future__ import annotations

import pytest

from corpus.model import Document
from corpus.qaphrase import clean, specific
from corpus.trainset import (
    contains,
    defined_before,
    gives_away,
    is_aside_title,
    names_nothing,
    paragraphs,
    read_pages,
    window,
)

PAGE = """# Session settings

Install Django before anything else.

## Cookies

The cookie age defaults to 1209600. Django is a web framework for perfectionists.
To clear expired sessions, run manage.py clearsessions.
clear_expired() removes expired sessions from the store.
The Brisil 40 Pro was launched in 2010. Design work on the Brisil 40 Pro is led by Marit Owqvist.
Each Brisil 40 Pro comes with a warranty of 24 months.
If the script fails, it is retried. This is a common case. There is a reason.

- Timeout: 30 seconds
- Max size: 512 MB

| Setting | Default |
|---|---|
| SESSION_COOKIE_AGE | 1209600 |

```
Port: 9999
```
"""

# (rule, answer, first phrasing): every fact the page states that a rule reads, exactly.
EXPECTED = [
    ("default", "1209600", "What is the default value of the cookie age?"),
    ("definition", "a web framework for perfectionists", "What is Django?"),
    ("purpose", "run manage.py clearsessions", "For Session settings, how do you clear expired sessions?"),
    ("code", "expired sessions from the store", "For Session settings, what does clear_expired() remove?"),
    ("passive", "2010", "In what year was the Brisil 40 Pro launched?"),
    ("passive", "Marit Owqvist", "Who is design work on the Brisil 40 Pro led by?"),
    ("measure", "24 months", "What is the warranty of the Brisil 40 Pro?"),
    ("keyvalue", "30 seconds", "What is the timeout of Cookies?"),
    ("keyvalue", "512 MB", "What is the max size of Cookies?"),
    ("table", "1209600", "What is the default of SESSION_COOKIE_AGE?"),
]


@pytest.fixture
def reading():
    return read_pages([Document("settings", "Session settings", PAGE)])


def test_each_rule_asks_exactly_these_questions(reading) -> None:
    got = [(pf.fact.rule, pf.fact.answer, pf.fact.questions[0]) for pf in reading.facts]
    assert got == EXPECTED


def test_every_fact_has_several_phrasings_and_a_verbatim_answer(reading) -> None:
    assert len(reading.facts) == len(EXPECTED)
    for pf in reading.facts:
        assert len(pf.fact.questions) >= 2, pf
        assert len(set(pf.fact.questions)) == len(pf.fact.questions)
        assert contains(PAGE, pf.fact.answer), pf.fact.answer
        assert all(q.endswith("?") for q in pf.fact.questions)


def test_vague_openers_and_code_blocks_give_no_question(reading) -> None:
    asked = " ".join(q for pf in reading.facts for q in pf.fact.questions)
    assert asked  # the fixture pages do give questions, so the absences below mean something
    for nonsense in ("If the script", "This", "There", "9999", "retried"):
        assert nonsense not in asked


@pytest.mark.parametrize(
    ("phrase", "names", "expected"),
    [
        ("SESSION_COOKIE_AGE", frozenset(), True),
        ("clear_expired()", frozenset(), True),
        ("the Brisil 40 Pro", frozenset(), True),
        ("Django", frozenset({"Django"}), True),
        ("Django", frozenset(), False),  # a sentence opener unless the page capitalises it elsewhere
        ("This", frozenset({"This"}), False),
        ("the only difference", frozenset(), False),
        ("If the script", frozenset(), False),
    ],
)
def test_specific_subjects(phrase: str, names: frozenset, expected: bool) -> None:
    assert specific(phrase, names) is expected


def test_a_question_is_asked_once_across_pages() -> None:
    page = "# Widgets\n\nThe Widget 7 was launched in 2001.\n"
    out = read_pages([Document("a", "Widgets", page), Document("b", "Widgets", page)])
    assert [pf.doc_id for pf in out.facts] == ["a"]
    assert out.empty_pages == ["b"]


def test_cap_per_page_keeps_the_first_facts(reading) -> None:
    capped = read_pages([Document("settings", "Session settings", PAGE)], max_facts_per_page=3)
    assert [pf.fact.answer for pf in capped.facts] == [a for _, a, _ in EXPECTED[:3]]


def test_paragraphs_keep_code_whole() -> None:
    blocks = list(paragraphs("a\nb\n\n```\nx: 1\n\ny\n```\nc"))
    assert blocks == [(["a", "b"], False), (["x: 1", "", "y"], True), (["c"], False)]


def test_window_centres_on_its_sentence() -> None:
    text = " ".join(f"w{i}" for i in range(300))
    cut = window(text, "w150", words=30)
    assert len(cut.split()) == 30 and "w150" in cut.split()


@pytest.mark.parametrize(
    ("sentence", "rule", "answer", "first"),
    [
        ("Tessaline Works first released the Rennal 7 Mini in 2008.", "active", "2008",
         "In what year was the Rennal 7 Mini first released?"),
        ("Adrian Holovaty created Django in 2005.", "agent", "Adrian Holovaty",
         "Who created Django in 2005?"),
        ("Salme Osthal leads the design team behind the Osknal 7 Lite.", "agent", "Salme Osthal",
         "Who leads the design team behind the Osknal 7 Lite?"),
        ("Battery life is rated at 10 hours.", "passive", "10 hours",
         "For Rennal 7 Mini, how long is battery life rated at?"),
        ("The method_decorator decorator transforms a function decorator into a method decorator so "
         "that it can be used on a method.", "kind", "method_decorator",
         "For Rennal 7 Mini, which decorator transforms a function decorator into a method decorator?"),
        ("The RemoteUserMiddleware authentication middleware assumes that the REMOTE_USER header is "
         "present.", "kind", "RemoteUserMiddleware",
         "Which authentication middleware assumes that the REMOTE_USER header is present?"),
        ("For single field indexes, you can pass the db_tablespace option to a Field constructor to "
         "specify a tablespace.", "kind", "db_tablespace",
         "Which option can you pass to a Field constructor to specify a tablespace?"),
        ("Use the STATICFILES_DIRS setting to list extra folders.", "kind", "STATICFILES_DIRS",
         "For Rennal 7 Mini, which setting do you use to list extra folders?"),
        ("HTTPX is a client library that supports HTTP/1, HTTP/2, and HTTP/3.", "definition",
         "a client library that supports HTTP/1, HTTP/2, and HTTP/3", "What is HTTPX?"),
        ("Its lead designer is Odile Breksel.", "copula", "Odile Breksel",
         "Who is the lead designer of Rennal 7 Mini?"),
        ("- Retries: 3 attempts", "keyvalue", "3 attempts", "What is the retries of Rennal 7 Mini?"),
        ("To activate dummy caching, set the BACKEND setting.", "purpose", "set the BACKEND setting",
         "For Rennal 7 Mini, how do you activate dummy caching?"),
        ("To use the database connection, call connection.cursor() to get a cursor object.", "purpose",
         "call connection.cursor()", "For Rennal 7 Mini, how do you use the database connection?"),
        ("Use QuerySet.explain() to understand how a query runs.", "purpose",
         "QuerySet.explain()", "For Rennal 7 Mini, how do you understand how a query runs?"),
        ("For now, you can use the sync_to_async() adapter to call sync code.", "purpose",
         "the sync_to_async() adapter", "For Rennal 7 Mini, how do you call sync code?"),
        ("By default, redirect() returns a temporary redirect.", "code", "a temporary redirect",
         "For Rennal 7 Mini, what does redirect() return by default?"),
        ("get_lookup() should always return a Lookup subclass.", "code", "a Lookup subclass",
         "For Rennal 7 Mini, what should get_lookup() return?"),
        ("Your custom reporter class needs to inherit from django.views.debug.ExceptionReporter.",
         "inherit", "django.views.debug.ExceptionReporter",
         "Which class does your custom reporter class need to inherit from?"),
        ("A template backend is a class that inherits django.template.backends.base.BaseEngine.",
         "inherit", "django.template.backends.base.BaseEngine",
         "Which class does a template backend inherit from?"),
        ("Django ships with a FileSystemStorage class which implements basic local file storage.", "kind",
         "FileSystemStorage", "For Rennal 7 Mini, which class implements basic local file storage?"),
        ("There is also a related USE_L10N setting that controls whether Django localizes formats.",
         "kind", "USE_L10N", "Which setting controls whether Django localizes formats?"),
        ("Django provides the on_commit() function to register callbacks run after a commit:", "kind",
         "on_commit()", "Which function does Django provide to register callbacks run after a commit?"),
        ("The render() function takes the request object as its first argument.", "code",
         "the request object", "For Rennal 7 Mini, what does render() take as its first argument?"),
        ("The decorators in django.views.decorators.http can be used to restrict access to views by "
         "request method.", "purpose", "the decorators in django.views.decorators.http",
         "What can be used to restrict access to views by request method?"),
        ("The command python manage.py diffsettings displays differences between two settings files.",
         "kind", "python manage.py diffsettings",
         "For Rennal 7 Mini, which command displays differences between two settings files?"),
        ("CSRF protection works by checking for a secret in each POST request.", "purpose",
         "by checking for a secret in each POST request", "How does CSRF protection work?"),
        ("You can install ReportLab with pip.", "purpose", "pip", "How can you install ReportLab?"),
        ("Django uses asyncio.iscoroutinefunction to test if your view is asynchronous.", "kind",
         "asyncio.iscoroutinefunction", "What does Django use to test if your view is asynchronous?"),
        ("The save() method returns the instances that have been saved to the database.", "kind",
         "save()",
         "For Rennal 7 Mini, which method returns the instances that have been saved to the database?"),
        ("Django’s serialization framework provides a mechanism for translating Django models into other "
         "formats.", "provides", "a mechanism for translating Django models into other formats",
         "What does Django’s serialization framework provide?"),
        ("A fundamental goal of Django’s stack is loose coupling and tight cohesion.", "goal",
         "loose coupling and tight cohesion", "What is a fundamental goal of Django’s stack?"),
        ("The JSON serializer uses DjangoJSONEncoder for encoding.", "kind", "DjangoJSONEncoder",
         "What does the JSON serializer use for encoding?"),
        ("Django provides conditional GET handling via django.middleware.http.ConditionalGetMiddleware.",
         "kind", "django.middleware.http.ConditionalGetMiddleware",
         "What does Django provide conditional GET handling through?"),
        ("Django comes with a utility called inspectdb that can create models by introspecting an "
         "existing database.", "kind", "inspectdb",
         "For Rennal 7 Mini, which utility can create models by introspecting an existing database?"),
        ("The PyNaCl package is also implemented in C.", "passive", "C",
         "In what is the PyNaCl package implemented?"),
        ("Django (‘the framework for perfectionists’) is a high-level Python web framework.", "definition",
         "a high-level Python web framework", "What is Django?"),
        # a list goes on only where an item stands between the comma and "and"; "a signal" in the
        # goal is not "the" thing the answer introduces
        ("The state of being logged in is controlled by a cookie, and that cookie is sent with each "
         "request.", "passive", "a cookie",
         "For Rennal 7 Mini, by what is the state of being logged in controlled?"),
        ("To subscribe to a signal, you can use the connect() method of a signal.", "purpose",
         "the connect() method of a signal", "For Rennal 7 Mini, how do you subscribe to a signal?"),
        # a fourth round: a version is asked "in which version"; a purpose after the agent, a second
        # predicate after the definition and a single-letter "A" are not part of the question's words
        ("The attachment_filename parameter was renamed in 2.0.", "passive", "2.0",
         "In which version was the attachment_filename parameter renamed?"),
        ("The development server is provided by Werkzeug for convenience.", "passive", "Werkzeug",
         "For Rennal 7 Mini, by what is the development server provided?"),
        ("A copy of the Python license is included with Django for compliance with its terms.", "passive",
         "Django", "With what is a copy of the Python license included?"),
        ("Django is a web framework for Python and is included in many distributions.",
         "definition", "a web framework for Python", "What is Django?"),
        ("The --http option starts an HTTP server in front of the worker processes.", "kind", "--http",
         "For Rennal 7 Mini, which option starts an HTTP server in front of the worker processes?"),
        ("touch() returns True if the key was successfully touched, False otherwise.", "code",
         "True if the key was successfully touched, False otherwise",
         "For Rennal 7 Mini, what does touch() return?"),
        ("To verify that Django can be seen by Python, type python from your shell.", "purpose",
         "type python from your shell", "How do you verify that Django can be seen by Python?"),
        ("Django is a Python web framework, thus requiring Python to be installed.", "definition",
         "a Python web framework", "What is Django?"),
        ("If you want to preprocess the value just before saving, you can use pre_save().", "purpose",
         "pre_save()", "For Rennal 7 Mini, how do you preprocess the value just before saving?"),
        ("Django’s STATICFILES_FINDERS setting contains a list of finders that know how to discover static "
         "files.", "kind", "STATICFILES_FINDERS",
         "For Rennal 7 Mini, which setting contains a list of finders that know how to discover static "
         "files?"),
        ("To log out a user logged in via django.contrib.auth.login(), use django.contrib.auth.logout().",
         "purpose", "django.contrib.auth.logout()",
         "How do you log out a user logged in via django.contrib.auth.login()?"),
        ("To use a different sender address, modify the SERVER_EMAIL setting.", "purpose",
         "modify the SERVER_EMAIL setting", "For Rennal 7 Mini, how do you use a different sender address?"),
    ],
)  # fmt: skip
def test_sentence_rules(sentence: str, rule: str, answer: str, first: str) -> None:
    # "Sites run Django." makes Django a name the page uses mid-sentence, as a real page does
    page = f"# Rennal 7 Mini\n\n{sentence}\n\nSites run Django.\n"
    facts = read_pages([Document("p", "Rennal 7 Mini", page)]).facts
    assert (rule, answer, first) in [(pf.fact.rule, pf.fact.answer, pf.fact.questions[0]) for pf in facts]


@pytest.mark.parametrize(
    "sentence",
    [
        "The team released it in 2008.",
        "This Function returns the value.",
        "Battery life is what matters here.",
        "When Django renders the page, the template language is evaluated.",  # not a person
        "Most Web applications aren't large sites.",
        "In this example, a.save() is not undone where b.save() raises an exception.",  # a clause
        "save() takes a number of options not described here.",  # context-bound answer
        "TemplateView is a class, not a function.",  # "a class" says nothing
        "The main reason is Daylight Saving Time.",  # "main": which reason?
        "It defaults to True.",  # default of what? the heading is not an identifier
        "The default is used: 'username'.",
        "- value: The exception instance",  # a description under a vague heading
        "- In templates: Using the url template tag",
        "- Controlling cache: Using other headers",  # a link title, not a value
        "Testing a Web application is a complex task.",  # an act, not a thing
        "The initial QuerySet (q1) is unaffected by the refinement process.",  # an example's variable
        "Django was written in a newsroom environment.",  # reads as "in which language?"
        "The goal is not to invent a programming language.",
        "- add: user.has_perm('foo.add_bar')",  # code, not an attribute
        "- use_tls: EMAIL_USE_TLS",
        "The token.split_contents() method takes a user_id – it is a string.",
        "Use bulk methods to reduce the number of queries.",  # what is used names nothing
        "Alternatively, you can use the Django template system to generate CSV.",  # a second way
        "FormView inherits TemplateResponseMixin so template_name can be used here.",  # one of many
        "It needs the Library.filter() method which takes two arguments.",  # many methods do
        "The get() method return a value.",  # no modal, no -s: not a statement about get()
        "The Internet is a hostile environment.",  # a remark: short, and not what the page is about
        "- port: EMAIL_PORT",  # the setting the port is read from, not the port
        "Set the STATIC_ROOT setting to the directory from which you serve files.",  # cut inside a phrase
        "For example, if you have a function called get_mail() that returns a list of messages, send them.",
        "Django provides a lot of things.",  # "What does Django provide?" has a hundred answers
        "Mixins are an excellent way of reusing code across multiple classes.",  # a verdict
        "route is a string that contains a URL pattern.",  # whose route?
        "To send a signal, call either Signal.send() or Signal.send_robust().",  # one of two ways
        # from the Flask 2.2 pages (Debian's python-flask-doc), as a hand audit read them:
        "A TestResponse is returned to examine the response data.",  # a purpose, not a place
        "The Tutorial is structured to use the package pattern, see the example code.",
        "Large Applications as Packages",  # a link title: "as" is no verb
        "The -p option starts 4 worker processes; a starting value could be CPU * 2.",  # "4 worker"
        "The tutorial goes over how to write tests for 100% coverage of the sample application.",
        "Each function in url_build_error_handlers is called with error, endpoint and values.",  # "error"
        "Then the create_app factory in myapp is called with the keyword argument local_auth=True.",
        "At that point the get_db function can be used to get the current database connection.",
        "Use the test_client() as a with block to preserve the contexts until the with block exits.",
        # and from the Django pages, a third audit:
        "The second element is displayed by the field’s form widget.",  # the second of what?
        "If unspecified, the default timeout will be the one provided by socket.getdefaulttimeout(), "
        "which defaults to None.",  # a function has no default
        "To run such an application, you can use the flask command:",  # which application?
        "To send data, use a data method such as POST, and pass the body option.",  # half the steps
        "To query your database, you use the engine directly or use a connection:",  # two ways
        # a fourth round, from the Flask and Django audits
        "fetch() takes two arguments, a URL and an object with other options, and returns a Promise.",
        "cache_page takes an optional keyword argument, key_prefix, which works like the setting.",
        "You should familiarize yourself with the HTTP methods as you work with Flask.",
        "You should only use cache-based sessions if you’re using the Memcached cache backend.",
        "You can handle uploaded files with Flask easily.",
        "Flask is usually used with the decorators.",  # which decorators?
        "Case 1: a module:",  # a lead-in, not a value
        "To add a profile’s fields to the admin, define an InlineModelAdmin (for this example, a "
        "StackedInline) in your app’s admin.py and add it to a UserAdmin class.",  # step 1 of 2
        "It also has a save() method that allows you to store that file on the filesystem of the server.",
        "PyCharm Professional provides a special Flask run configuration to run the development server.",
        "The instance_relative parameter is passed in from the constructor of Flask.",  # "where"?
        "Use shell_context_processor() to add other automatic imports.",  # other than which?
        "To span a relationship, use the field name of related fields across models, separated by double "
        "underscores, until you get to the field you want.",  # the answer goes on
        "A message file is a plain-text file, representing a single language, that contains all "
        "available translation strings and how they should be represented.",  # only its kind
        "The fail_silently argument controls how the backend should handle errors.",  # which backend?
        "When absolute_max is None, it defaults to max_num + 1000.",  # a default under a condition
        "To compare two model instances, use the standard Python comparison operator, the double equals "
        "sign: ==.",  # the answer is named after the comma
        "Django is committed to API stability and forwards-compatibility.",  # a stance
        "The way Manager classes work is documented in Making queries.",  # where the docs say more
        "As a shortcut, you can use the user_passes_test decorator which performs a redirect when the "
        "callable returns False:",  # which callable?
        "If you want to present a list of books, you can use the same technique:",  # which technique?
        "If you want to use signals in your own application, you can use the blinker library directly.",
        "If you want to compare text, use get_data(as_text=True) instead.",  # compare what with what?
        "If you want to call the group something else, you can set pk_url_kwarg on the view.",
        "If you want to use a custom ModelForm (for instance to add extra validation), set form_class.",
        "To use another cache, set SESSION_CACHE_ALIAS to the name of that cache.",  # another than which?
        "redirect() generates a redirect response to the generated URL.",  # generated where?
        "To generate URLs for static files, use the special 'static' endpoint name:",  # used in the code
        "The current state of Python packaging is a bit muddled with various tools.",  # when?
        "To activate dummy caching, set BACKEND like so:",  # the value that does it is in the code after
        "The --http option starts an HTTP server at 127.0.0.1 port 8000.",  # the example's address
        "The leading and trailing quotes are removed in format_string[1:-1].",  # a line of the example
        "To install the package, use pip:",  # which package?
        "Some Python libraries are also implemented in C.",  # which ones?
        "The name of the table is taken from LOCATION.",  # which table? names nothing of its own
        # from a third corpus, Jinja 3.1's pages (Debian python-jinja2-doc), read by no rule before
        "To render it with some variables, call the render() method.",  # render what?
        "Use parentheses in Jinja to be explicit about what order you want.",  # "how do you be ...?"
        "Undefined objects are created by calling undefined.",  # a how, not a by-what
        # from a last two-reader sample of the Django pages
        "SQLCompiler objects are not documented, but they have a compile() method which returns a "
        "tuple containing an SQL string.",  # the method is the pronoun's
        "You can set the FIXTURE_DIRS setting to a list of additional directories where Django should "
        "look.",  # look for what?
        "If you want to reverse all migrations applied for an app, use the name zero:",  # in the code
    ],
)
def test_sentences_that_ask_nothing(sentence: str) -> None:
    facts = read_pages([Document("p", "Page", f"# Page\n\n{sentence}\n")]).facts
    assert [pf.fact.questions[0] for pf in facts] == []


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("## What are Django’s prerequisites?\n\nDjango requires Python. See the table.\n",
         ("Django requires Python", "What are Django’s prerequisites?",
          "For FAQ, what are Django’s prerequisites?")),
        ("## Why does this project exist?\n\nIt grew from a need.\n", None),  # "this": which project?
        ("## How can I help?\n\nThanks for asking! We have a guide.\n", None),  # manners, not an answer
        ("## How do I debug it?\n\nMake sure that:\n\n- DEBUG is on\n", None),  # leads into a list
        ("## Installing\n\nRun pip install django.\n", None),  # a heading that asks nothing
        ("## Why no rollback hook?\n\nA rollback hook is harder to implement than a commit hook.\n", None),
        ("## How do I get started?\n\nDownload the code.\n\nInstall Django.\n", None),  # step 1 of 2
        ("## Should I use the stable version or development version?\n\nIn production, you should be using "
         "a stable release.\n", ("In production, you should be using a stable release",
          "In FAQ, should I use the stable version or development version?",
          "For FAQ, should I use the stable version or development version?")),  # of what? the page says
        ("## Why does Django include Python’s license file?\n\nDjango includes code from the Python "
         "standard library.\n", None),  # the scene, not the reason
        ("## When and how might I remind the team of a patch?\n\nA polite message to the list is one "
         "way to get attention.\n", None),  # two questions, one answer
        ("## How are the backward relationships possible?\n\nOther object-relational mappers require "
         "you to define relationships on both sides.\n", None),  # a contrast, the answer comes after
    ],
)  # fmt: skip
def test_a_question_heading_is_answered_by_its_first_sentence(section: str, expected: tuple | None) -> None:
    facts = read_pages([Document("faq", "FAQ", f"# FAQ\n\n{section}")]).facts
    got = [(pf.fact.answer, *pf.fact.questions) for pf in facts if pf.fact.rule == "heading"]
    assert got == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("title", "heading", "sentence", "expected"),
    [
        ("Transactions", "Savepoints", "A savepoint is a marker within a transaction that allows a rollback.",
         ("For Transactions, what is a savepoint?", "a marker within a transaction that allows a rollback")),
        ("Transactions", "Savepoints", "A view is a callable that takes a request and returns a response.",
         None),  # "a view" is not what this section is about: which view?
        ("Writing your first app", "Tests", "First is a shortcut function that makes questions.", None),
    ],
)  # fmt: skip
def test_a_plain_term_is_defined_where_its_section_is_about_it(
    title: str, heading: str, sentence: str, expected: tuple | None
) -> None:
    page = f"# {title}\n\n## {heading}\n\n{sentence}\n"
    facts = read_pages([Document("p", title, page)]).facts
    got = [(pf.fact.questions[0], pf.fact.answer) for pf in facts if pf.fact.rule == "definition"]
    assert got == ([expected] if expected else [])


def test_facts_about_an_examples_own_names_are_left_out() -> None:
    example = (
        "# Examples\n\nPlace.objects.all() returns all places in the example database.\n\n"
        "get_queryset() should return a QuerySet with the rows you want.\n\n"
        "```\nclass Place(models.Model):\n    name = models.CharField(max_length=50)\n\n"
        "    def get_queryset(self):\n        return super().get_queryset()\n```\n\n"
        "The context_object_name attribute on a generic view specifies the context variable to use.\n\n"
        "```\nclass PlaceList(ListView):\n    context_object_name = 'places'\n```\n"
    )
    # DetailView is the software's own class (generic.DetailView), even where an example defines one
    api = (
        "# Views\n\nThe DetailView class displays a single object of a model in a template.\n\n"
        "```\nclass DetailView(generic.DetailView):\n    pass\n```\n"
    )
    # an app-qualified model name in a string ('core.Book') is the example's model, not an API's
    migration = "# Migrations\n\n```\nfield = models.ForeignKey(to='core.Book')\n```\n"
    example += "\nThe natural key for a Book is a combination of its name and its author.\n\n"
    example += "```\nclass Book(models.Model):\n    name = models.CharField(max_length=100)\n```\n"
    docs = [
        Document("ex", "Examples", example),
        Document("v", "Views", api),
        Document("m", "Migrations", migration),
    ]
    facts = read_pages(docs).facts
    asked = [pf.fact.questions[0] for pf in facts]
    assert "For Examples, what should get_queryset() return?" in asked  # a method the example overrides
    assert (
        "For Examples, which attribute on a generic view specifies the context variable to use?" in asked
    )  # an option
    assert not any("Place" in q or "Book" in q for q in asked)
    assert any("DetailView" in pf.fact.answer for pf in facts)


@pytest.mark.parametrize(
    ("title", "expected"),
    [("Rennal 7 Mini", "Who is the lead designer of Rennal 7 Mini?"),
     ("Writing your first Django app, part 2", None)],  # not a thing "it" can stand for
)  # fmt: skip
def test_a_pronoun_stands_for_the_page_title_only_when_that_names_a_thing(title: str, expected) -> None:
    facts = read_pages([Document("p", title, f"# {title}\n\nIts lead designer is Odile Breksel.\n")]).facts
    got = [pf.fact.questions[0] for pf in facts]
    assert got == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("title", "sentence"),
    [("Formsets", "They are output with the management form."),  # "they": two fields, not formsets
     ("Testing tools", "- Verifying a HTTP redirect is performed by the app."),  # a gerund subject
     ("API", "The object is coerced to response_class."),  # which object? "API" names no thing
     ("Password management in Django", "The conversion is given by memory_cost."),  # a topic title
     ("Changes", "attachment_filename is renamed to download_name.")],  # a changelog is not read
)  # fmt: skip
def test_misread_subjects_ask_nothing(title: str, sentence: str) -> None:
    facts = read_pages([Document("p", title, f"# {title}\n\n{sentence}\n")]).facts
    assert [pf.fact.questions[0] for pf in facts] == []


def test_a_later_definition_of_a_defined_term_is_a_remark() -> None:
    """The first "Celery is a ..." of a page defines it (here refused as praise); a later one under
    Install is said in passing, and is not asked as what Celery is."""
    page = (
        "# Celery Background Tasks\n\nCelery is a powerful task queue for background work.\n\n"
        "## Install\n\nCelery is a separate Python package. Install it from PyPI.\n\n"
        "## Configure\n\nA Celery instance is an application object for your tasks.\n"
    )
    facts = read_pages([Document("p", "Celery Background Tasks", page)]).facts
    assert [pf.fact.answer for pf in facts if pf.fact.rule == "definition"] == [
        "an application object for your tasks"
    ]


@pytest.mark.parametrize(
    ("heading", "first"),
    [("path() argument: route", "For path() argument: route, what is route?"),  # whose route
     ("About route", "For URL dispatcher, what is route?")],  # the page names whose
)  # fmt: skip
def test_a_parameter_named_alone_is_asked_under_its_section(heading: str, first: str) -> None:
    page = f"# URL dispatcher\n\n## {heading}\n\nroute is a string that contains a URL pattern.\n"
    facts = read_pages([Document("urls", "URL dispatcher", page)]).facts
    assert [pf.fact.questions[0] for pf in facts if pf.fact.rule == "definition"] == [first]


def test_a_heading_that_names_the_answer_is_not_its_scope() -> None:
    page = (
        "# Creating forms from models\n\n## Overriding the clean() method\n\nThe clean() method "
        "returns the cleaned data after every field is checked.\n\nYou can override the clean() method "
        "on a model form to provide additional validation.\n"
    )
    facts = read_pages([Document("f", "Creating forms from models", page)]).facts
    kind = [pf.fact.questions[0] for pf in facts if pf.fact.rule == "kind"]
    assert kind == [
        "For Creating forms from models, which method returns the cleaned data after every field is checked?",
        "For Creating forms from models, which method can you override on a model form to provide "
        "additional validation?",
    ]


def test_a_plain_noun_pointing_back_is_kept_where_the_page_is_about_it() -> None:
    sentence = (
        "The error_messages argument lets you override the default messages that the formset will raise."
    )
    facts = read_pages([Document("f", "Formsets", f"# Formsets\n\n{sentence}\n")]).facts
    assert [pf.fact.answer for pf in facts if pf.fact.rule == "kind"] == ["error_messages"]


def test_what_an_example_invocation_does_is_not_asked() -> None:
    page = (
        "# Command Line Interface\n\n--app hello:app2\n\nUses the app2 Flask instance in hello.\n\n"
        "--app 'hello:create_app(\"dev\")'\n\nThe create_app factory in hello is called with the string "
        "'dev' as the argument.\n\nYou can also specify an extra file to load with the --env-file option.\n"
    )
    facts = read_pages([Document("cli", "Command Line Interface", page)]).facts
    assert [pf.fact.questions[0] for pf in facts] == [
        "For Command Line Interface, how can you specify an extra file to load?"  # an option has its program
    ]


@pytest.mark.parametrize(
    ("title", "sentence", "first"),
    [("Class-based views", "A view is a callable which takes a request and returns a response.",
      "What is a view?"),  # the page is about views
     ("Aggregation", "aggregate() is a terminal clause for a QuerySet that returns a dictionary.",
      "For Aggregation, what is aggregate()?"),  # whose aggregate()? pandas has one too
     ("Custom template tags", "token.contents is a string of the raw contents of the tag.",
      "For Custom template tags, what is token.contents?"),
     ("Providing initial data", "## Fixtures\n\nA fixture is a collection of data that Django can import.",
      "For Providing initial data, what is a fixture?"),  # a fixture in Django's sense, not pytest's
     ("Waitress", "Waitress is a pure Python WSGI server.", "What is Waitress?")],  # the page's subject
)  # fmt: skip
def test_a_term_in_its_pages_sense_is_asked_under_the_page(title: str, sentence: str, first: str) -> None:
    facts = read_pages([Document("p", title, f"# {title}\n\n{sentence}\n")]).facts
    assert [pf.fact.questions[0] for pf in facts if pf.fact.rule == "definition"] == [first]


def test_a_definition_in_a_note_is_a_remark() -> None:
    page = (
        "# Creating forms from models\n\nNote\n\nIt is important to see how the two are related.\n\n"
        "ModelForm is a regular Form which can automatically generate certain fields.\n\n"
        "## Widgets\n\nA widget is an object that renders a form field as HTML.\n"
    )
    facts = read_pages([Document("f", "Creating forms from models", page)]).facts
    assert [pf.fact.answer for pf in facts if pf.fact.rule == "definition"] == [
        "an object that renders a form field as HTML"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Model._default_manager", "Model._default_manager"),  # an underscore of the name stays
     ("the _emphasis_ word", "the emphasis word"), ("`Signal.send()`.", "Signal.send()"),
     ("**bold** __init__()", "bold __init__()")],
)  # fmt: skip
def test_clean_drops_markup_not_names(text: str, expected: str) -> None:
    assert clean(text) == expected


@pytest.mark.parametrize(
    ("question", "answer", "expected"),
    [("For The PermissionRequiredMixin mixin, how do you apply checks?", "the PermissionRequiredMixin", True),
     ("For Command Line Interface, by what is the flask command installed?", "Flask", False),  # case kept
     ("In what are some Python libraries implemented?", "C", False)],  # too short to tell
)  # fmt: skip
def test_a_question_that_holds_its_answer_is_not_asked(question: str, answer: str, expected: bool) -> None:
    assert gives_away(question, answer) is expected


def test_the_thing_a_goal_names_is_the_pages_not_a_sections() -> None:
    page = "# Reusable apps\n\n## Using your own package\n\nTo install the package, use pip:\n"
    assert read_pages([Document("r", "Reusable apps", page)]).facts == []


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (  # a class heading has no default, a setting heading does
            "# API\n\n### jinja2.Environment\n\nThe default is False, which strips a single newline.\n\n"
            "### SESSION_COOKIE_SECURE\n\n"
            "The default is False, which sends the cookie over plain HTTP too.\n",
            ("False", "What is the default value of SESSION_COOKIE_SECURE?"),
        ),
        (  # under a Sphinx signature heading (corpus.htmlpage) a setting's "Default:" is the setting's,
            # and a function has no default: "This defaults to None" there is about something else
            "# API\n\n### SESSION_COOKIE_NAME\n\n"
            "The name of the session cookie. It defaults to 'session'.\n\n"
            "### get_send_file_max_age()\n\nThis defaults to None, which tells the browser to revalidate.\n",
            ("'session'", "What is the default value of SESSION_COOKIE_NAME?"),
        ),
    ],
)
def test_a_default_belongs_to_a_setting_heading_not_a_class_or_function(page, expected) -> None:
    facts = read_pages([Document("api", "API", page)]).facts
    assert [(pf.fact.answer, pf.fact.questions[0]) for pf in facts] == [expected]


def test_review_cases_of_the_page_level_checks() -> None:
    """A two-word admonition title, an earlier "is also ...", and an "In <page>," scope."""
    assert is_aside_title(["See also"]) and not is_aside_title(["See"])
    text = "Celery is also available as a package. Celery is a task queue for background work."
    assert not defined_before("Celery is a task queue for background work.", text)
    assert names_nothing("In Writing views, how do you go on?")


def test_a_changelog_page_is_not_read_and_says_so() -> None:
    page = "# Changes\n\nattachment_filename is renamed to download_name.\n"
    other = "# Uploads\n\nThe UPLOAD_FOLDER directory is located at /srv/uploads on Linux.\n"
    out = read_pages([Document("changes", "Changes", page), Document("uploads", "Uploads", other)])
    assert out.changelogs == ["changes"]
    assert [pf.doc_id for pf in out.facts] == ["uploads"]
    # nor do its stale answers make another page's question look ambiguous
    old = "# Changes\n\nTo run the tests, use the nose command.\n"
    now = "# Tests\n\nTo run the tests, use the pytest command.\n"
    out = read_pages([Document("changes", "Changes", old), Document("tests", "Tests", now)])
    assert [pf.fact.answer for pf in out.facts] == ["the pytest command"]


def test_a_name_no_other_page_uses_and_the_code_only_passes_around_is_the_examples() -> None:
    """``blog_articles`` is a value in the page's code and named on no other page: the example's view."""
    page = (
        "# URL dispatcher\n\n```\nre_path(r'^blog/$', blog_articles)\n```\n\n"
        "The blog_articles view needs the outermost captured argument to be reversed.\n\n"
        "The reverse_lookup function returns the URL path of a named view pattern.\n"
    )
    other = "# Views\n\nA view is a callable which takes a request and returns a response.\n"
    facts = read_pages([Document("urls", "URL dispatcher", page), Document("views", "Views", other)]).facts
    answers = [pf.fact.answer for pf in facts]
    assert "blog_articles" not in answers
    assert "the URL path of a named view pattern" in answers  # a name the page calls stays


def test_an_instruction_is_answered_with_its_own_verb() -> None:
    """ "How do you use a custom JSON module?" is answered "override ...", not with the bare object,
    and not asked as "what do you use to ...?" where the page says to override something; "use"
    stays out of the answer ("To X, use Y": Y)."""
    page = "# JSON\n\nTo use a custom JSON module, override app.json_encoder and json_decoder.\n"
    facts = read_pages([Document("p", "JSON", page)]).facts
    assert [(f.fact.answer, f.fact.questions) for f in facts] == [
        (
            "override app.json_encoder and json_decoder",
            (
                "For JSON, how do you use a custom JSON module?",
                "For JSON, how can I use a custom JSON module?",
                "For JSON, what should you do to use a custom JSON module?",
            ),
        )
    ]
    used = "# Signals\n\nTo disconnect a receiver, you can use Signal.disconnect().\n"
    (fact,) = read_pages([Document("s", "Signals", used)]).facts
    assert fact.fact.answer == "Signal.disconnect()"
    assert fact.fact.questions[1] == "For Signals, what do you use to disconnect a receiver?"


def test_a_question_that_names_nothing_and_has_two_answers_is_not_asked() -> None:
    """Seven API entries say "To register a function, use X()", each X its own: the question names
    nothing, so it is dropped for all of them; "What is Widgetron?" names its subject and keeps the
    first answer."""
    page = (
        "# API\n\n### after_request()\n\nTo register a function, use the after_request() decorator.\n\n"
        "### before_request()\n\nTo register a function, use the before_request() decorator.\n\n"
        "### route()\n\nThe methods parameter defaults to ['GET'].\n"
    )
    facts = read_pages([Document("api", "API", page)]).facts
    assert [(f.fact.answer, f.fact.questions[0]) for f in facts] == [
        ("['GET']", "What is the default value of the methods parameter of route()?")
    ]


def test_a_code_fact_is_scoped_by_a_prefix_not_a_trailing_title() -> None:
    """ "What does send_messages() take in Sending email?" read badly with a title that is a phrase; a
    method named without its class is asked under the page each time, one with its module need not be."""
    page = (
        "# Sending email\n\nsend_messages() takes a list of EmailMessage instances.\n\n"
        "mail.send_mass_mail() returns the number of messages sent.\n"
    )
    facts = read_pages([Document("email", "Sending email", page)]).facts
    assert [pf.fact.questions for pf in facts] == [
        (
            "For Sending email, what does send_messages() take?",
            "In Sending email, what does send_messages() take?",
        ),
        (
            "What does mail.send_mass_mail() return?",
            "For Sending email, what does mail.send_mass_mail() return?",
        ),
    ]
