"""Readable text from an HTML page: its main content, headings as ``#`` lines, code as fences.

Documentation themes wrap every page in navigation, sidebars, search boxes, "previous/next"
links and a footer, and Sphinx appends a "¶" permalink to each heading. Where the page marks its
main content (``<main>``, ``role="main"``, ``<article>``, Sphinx ``div.body``, Django's
``div#docs-content``) only that is read; a page that marks nothing is read whole, minus
``nav``/``header``/``footer``. ``<pre>`` blocks become fenced code so the chunker and the heading
splitter see them as code.
"""

from __future__ import annotations

import posixpath
import re
from html.parser import HTMLParser

from corpus.markup import HEADING_ATTRS, ParsedPage, first_h1

Event = tuple[str, str, dict[str, str]]  # ("start" | "end" | "data", tag or text, attributes)

# Where themes put the page's own content, most specific first; the first rule any element
# matches wins (ties: the earliest element). A bare <article> counts only when it is the only one.
MAIN_RULES: tuple[tuple[str, str, str], ...] = (
    ("div", "id", "docs-content"),  # djangoproject.com
    ("div", "id", "yui-main"),  # the djangodocs theme Django's own builds use
    ("div", "class", "body"),  # Sphinx basic, alabaster, pocoo (also role="main")
    ("article", "class", "bd-article"),  # pydata-sphinx-theme (its <main> holds the sidebars)
    ("*", "role", "main"),  # Read the Docs, furo, MkDocs' default themes
    ("article", "", ""),  # MkDocs Material, most blogs
    ("main", "", ""),
    ("div", "class", "document"),  # Sphinx themes without div.body
)
_SKIP_TAGS = frozenset(
    {"script", "style", "title", "nav", "footer", "noscript", "svg", "form", "button", "template",
     "iframe", "select", "label"}
)  # fmt: skip
_SKIP_ROLES = frozenset({"navigation", "search", "contentinfo"})
_SKIP_CLASSES = frozenset(
    {"headerlink", "sphinxsidebar", "related", "viewcode-link", "viewcode-back", "linenos",
     "linenodiv", "md-sidebar", "md-source-file", "md-footer", "prev-next-area", "prev-next-footer",
     "rst-footer-buttons", "related-pages", "bd-sidebar-primary", "bd-sidebar-secondary",
     "toc-drawer", "sidebar-drawer"}
)  # fmt: skip
_SKIP_IDS = frozenset({"searchbox", "sidebar"})
_BLOCK = frozenset(
    {"p", "div", "li", "tr", "br", "section", "article", "table", "ul", "ol", "dl", "dt", "dd",
     "blockquote", "figure", "figcaption", "main", "aside", "header", "details", "summary", "hr",
     "caption"}
)  # fmt: skip
_LANG = re.compile(r"(?:highlight|language|lang)-([\w+#.-]+)")
_NO_LANG = frozenset({"default", "none", "text", "plain", "nohighlight"})
_OPEN, _CLOSE = "\x1e", "\x1f"  # fence markers while rendering; stripped from page data
_DROP = re.compile("[\x1e\x1f\ue000-\uf8ff]")  # and icon-font glyphs (private use area)
# what separates a page's title from the site's name in <title>
_SITE_SUFFIX = re.compile(r"\s+[\u2014\u2013|\u00b7\u00bb]\s+")


class _Tokens(HTMLParser):
    """The page as a flat list of start/end/data events (character references decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[Event] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag, {}))

    def handle_data(self, data: str) -> None:
        self.events.append(("data", data, {}))


def _classes(attrs: dict[str, str]) -> list[str]:
    return attrs.get("class", "").split()


def _rank(tag: str, attrs: dict[str, str], single_article: bool) -> int | None:
    """Position of the first :data:`MAIN_RULES` entry the element matches, or None."""
    for rank, (want, key, value) in enumerate(MAIN_RULES):
        if want not in ("*", tag) or (want == "article" and not key and not single_article):
            continue
        if not key or (value in _classes(attrs) if key == "class" else attrs.get(key) == value):
            return rank
    return None


def find_main(events: list[Event]) -> tuple[int, int] | None:
    """``(start, end)`` event span of the page's main content, or None if the page marks none."""
    single = sum(1 for kind, tag, _ in events if kind == "start" and tag == "article") == 1
    best: tuple[int, int] | None = None
    for i, (kind, tag, attrs) in enumerate(events):
        rank = _rank(tag, attrs, single) if kind == "start" else None
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, i)
    if best is None:
        return None
    start, tag, depth = best[1], events[best[1]][1], 0
    for j in range(start, len(events)):
        kind, name, _ = events[j]
        if name == tag and kind in ("start", "end"):
            depth += 1 if kind == "start" else -1
            if depth == 0:
                return start, j + 1
    return start, len(events)


def _skipped(tag: str, attrs: dict[str, str], skip_header: bool) -> bool:
    """Page furniture: scripts, navigation, sidebars, search boxes, permalinks, footers."""
    return (
        tag in _SKIP_TAGS
        or (skip_header and tag == "header")
        or attrs.get("role") in _SKIP_ROLES
        or attrs.get("id") in _SKIP_IDS
        or any(c in _SKIP_CLASSES for c in _classes(attrs))
    )


def signature_name(text: str) -> str:
    """The name a Sphinx API signature documents, as the page's prose writes it: ``class
    flask.Flask(import_name, ...)`` -> ``flask.Flask``; ``Model.save(force_insert=False, ...)`` ->
    ``Model.save()``; ``funcs: t.Dict[str, ...]`` -> ``funcs``; ``ENV`` -> ``ENV``."""
    text = clean_heading(text)
    head, paren, _ = text.partition("(")
    head = re.split(r":| = ", head)[0]  # an attribute's type (``funcs: t.Dict[...]``) or value
    words = head.split()
    if not words:
        return text
    name = words[-1].rstrip(":")
    return f"{name}()" if paren and words[0] not in {"class", "exception"} else name


def owner_qualified(name: str, anchor: str) -> str:
    """A member's name with its class, from the signature's anchor (``id="flask.Flask.debug"``):
    ``debug`` -> ``Flask.debug``. A bare ``debug`` names the property, the ``DEBUG`` setting and
    ``run(debug=...)`` alike; a Flask audit found "What is the default of debug?" ambiguous."""
    parts = anchor.split(".")
    if "." in name or len(parts) < 2 or not parts[-2][:1].isupper() or parts[-1] != name.rstrip("()"):
        return name
    return f"{parts[-2]}.{name}"


def clean_heading(text: str) -> str:
    """Heading text without permalink marks (``¶``) or ``{#id .class}`` attribute markup."""
    text = re.sub(r"\s+", " ", text).strip().rstrip("\u00b6").strip()
    return HEADING_ATTRS.sub("", text).strip() or text


class _Render:
    """Turns an event span into markdown-ish text; remembers the first h1."""

    def __init__(self, skip_header: bool) -> None:
        self.parts: list[str] = []
        self.first_h1 = ""
        self._skip_header = skip_header
        self._skip_tag: str | None = None  # the furniture element being skipped...
        self._skip_depth = 0  # ...and how deep inside same-named elements we are
        self._heading: tuple[int, list[str]] | None = None
        # The level of the last h1-h6: a Sphinx API signature (``<dt class="sig sig-object">``) is a
        # heading one below it, so what its ``<dd>`` says (``Default: 'production'``) is about it.
        self._level = 0
        self._signature = False
        self._signature_id = ""
        self._pre = 0
        self._lang = ""

    def feed(self, events: list[Event]) -> None:
        for kind, value, attrs in events:
            if self._skip_tag is not None:
                self._skipping(kind, value)
            elif kind == "start":
                self._start(value, attrs)
            elif kind == "end":
                self._end(value)
            else:
                self._data(value)
        self._flush_heading()

    def _flush_heading(self) -> None:
        if self._heading is None:
            return
        level, words = self._heading
        if self._signature:
            text = owner_qualified(signature_name("".join(words)), self._signature_id)
        else:
            text = clean_heading("".join(words))
        self._signature = False
        if level == 1 and not self.first_h1:
            self.first_h1 = text
        self.parts.append(f"\n\n{'#' * level} {text}\n\n" if text else "\n")
        self._heading = None

    def _skipping(self, kind: str, tag: str) -> None:
        if tag == self._skip_tag and kind in ("start", "end"):
            self._skip_depth += 1 if kind == "start" else -1
            if self._skip_depth == 0:
                self._skip_tag = None

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        if _skipped(tag, attrs, self._skip_header):
            if tag not in ("br", "hr", "img", "input", "meta", "link"):  # void tags never close
                self._skip_tag, self._skip_depth = tag, 1
            return
        lang = next((m.group(1) for c in _classes(attrs) if (m := _LANG.fullmatch(c))), "")
        if tag == "pre":
            lang = lang or self._lang
            if not self._pre:
                self.parts.append(f"\n{_OPEN}{'' if lang in _NO_LANG else lang}\n")
            self._pre += 1
            self._lang = ""
        elif self._pre:
            if tag == "br":
                self.parts.append("\n")
            elif tag == "code" and lang and self.parts[-1] == f"\n{_OPEN}\n":
                self.parts[-1] = f"\n{_OPEN}{lang}\n"  # MkDocs: <pre><code class="language-x">
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush_heading()  # an unclosed heading ends where the next one starts
            self._heading = (int(tag[1]), [])
            self._level = int(tag[1])
        elif tag == "dt" and "sig-object" in _classes(attrs):
            self._flush_heading()
            self._heading, self._signature = (min(self._level + 1, 6), []), True
            self._signature_id = attrs.get("id", "")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag in _BLOCK:
            self._lang = lang or self._lang
            self.parts.append("\n")

    def _end(self, tag: str) -> None:
        if tag == "pre" and self._pre:
            self._pre -= 1
            self.parts.append("" if self._pre else f"\n{_CLOSE}\n")
        elif self._heading and (tag == f"h{self._heading[0]}" or (tag == "dt" and self._signature)):
            self._flush_heading()
        elif tag in _BLOCK and not self._pre:
            self.parts.append("\n")

    def _data(self, data: str) -> None:
        data = _DROP.sub("", data)
        if self._heading and not self._pre:
            self._heading[1].append(data)
        else:
            self.parts.append(data)
        if data.strip() and not self._pre:
            self._lang = ""  # a highlight-x wrapper's language is for the <pre> right inside it


def tidy(raw: str) -> str:
    """Collapse whitespace and blank lines outside code; fences become ```` ``` ```` lines."""
    out: list[str] = []
    code: list[str] | None = None
    for line in raw.split("\n"):
        if code is None and line.startswith(_OPEN):
            code, opener = [], "```" + line[1:].strip()
        elif code is not None and line == _CLOSE:
            while code and not code[-1].strip():
                code.pop()
            while code and not code[0].strip():
                code.pop(0)
            out += ["", opener, *code, "```", ""] if code else []
            code = None
        elif code is not None:
            code.append(line.rstrip())
        else:
            out.append(re.sub(r"[ \t]+", " ", line).strip())
    if code:  # a <pre> the page never closed
        out += ["", opener, *code, "```"]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def page_title(events: list[Event]) -> str:
    """The ``<title>`` text without the site name (``Quickstart — Flask Documentation``)."""
    svg, inside, words = 0, False, []
    for kind, value, _ in events:
        if kind in ("start", "end") and value == "svg":
            svg += 1 if kind == "start" else -1
        elif kind in ("start", "end") and value == "title" and not svg:
            if kind == "end" and inside:
                break
            inside = kind == "start"
        elif kind == "data" and inside:
            words.append(value)
    title = re.sub(r"\s+", " ", "".join(words)).strip()
    return _SITE_SUFFIX.split(title)[0].strip() or title


def parse_html(text: str, doc_id: str) -> ParsedPage:
    """Parse an HTML page into text with markdown headings and fenced code.

    The title is the main content's first h1, else ``<title>`` without the site name, else the
    first h1 anywhere, else the file name.
    """
    tokens = _Tokens()
    tokens.feed(text)
    tokens.close()
    span = find_main(tokens.events)
    start, end = span or (0, len(tokens.events))
    render = _Render(skip_header=span is None)
    render.feed(tokens.events[start:end])
    clean = tidy("".join(render.parts))
    title = (render.first_h1 if span else "") or page_title(tokens.events)
    return ParsedPage(title=title or first_h1(clean) or posixpath.basename(doc_id), text=clean)
