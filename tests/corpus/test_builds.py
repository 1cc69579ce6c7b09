"""Built documentation sites (Sphinx, Django's theme, MkDocs Material) read as their pages once.

Each fixture is a few lines of HTML shaped like the real theme's output: the page's content in
the element the theme marks as main, wrapped in navigation, sidebars, search boxes, permalinks
and footers that must not reach the text.
"""

# ruff: noqa: E501  (the HTML fixtures keep one element per line as the themes write them)
from __future__ import annotations

from pathlib import Path

import pytest

from corpus.formats import load
from corpus.htmlpage import parse_html
from corpus.markup import parse_markdown

SPHINX_PAGE = """<!DOCTYPE html>
<html><head><title>{title} &#8212; Widgetron 2.1 documentation</title>
<script src="_static/jquery.js"></script></head><body>
<div class="related" role="navigation"><h3>Navigation</h3>
<ul><li><a href="genindex.html">index</a></li><li><a href="prev.html">previous</a> |</li></ul></div>
<div class="document"><div class="documentwrapper"><div class="bodywrapper">
<div class="body" role="main">
<section id="s"><h1>{title}<a class="headerlink" href="#s" title="Permalink to this heading">¶</a></h1>
<p>{body}</p>
<div class="highlight-python notranslate"><div class="highlight"><pre><span></span><span class="kn">import</span> widgetron
<span class="n">widgetron</span><span class="o">.</span>run<span class="p">()</span>
</pre></div></div>
<section id="opts"><h2>Options<a class="headerlink" href="#opts">¶</a></h2><p>Set <code>speed</code>.</p></section>
</section>
<div class="clearer"></div></div></div></div>
<div class="sphinxsidebar" role="navigation"><div class="sphinxsidebarwrapper">
<h3>Contents</h3><ul><li>Sidebar entry</li></ul>
<h4>Previous topic</h4><p><a href="prev.html">Older page</a></p>
<div id="searchbox" role="search"><h3>Quick search</h3><form><input type="text" name="q"/></form></div>
</div></div><div class="clearer"></div></div>
<div class="footer" role="contentinfo">&#169; Copyright 2026. Created using Sphinx 5.3.0.</div>
</body></html>
"""

DJANGO_PAGE = """<html><head><title>{title} &#8212; Django 3.2 documentation</title></head><body>
<div class="document"><div id="custom-doc" class="yui-t6">
<div id="hd"><h1><a href="../index.html">Django 3.2 documentation</a></h1>
<div id="global-nav"><a href="../index.html">Home</a> | <a href="../genindex.html">Index</a></div>
<div class="nav">&laquo; <a href="install.html">previous</a> | <a href="p2.html">next</a> &raquo;</div></div>
<div id="bd"><div id="yui-main"><div class="yui-b"><div class="yui-g" id="intro-page">
<div class="section" id="s-x"><span id="x"></span><h1>{title}<a class="headerlink" href="#x">¶</a></h1>
<p>{body}</p>
<div class="console-block"><input class="c-tab-unix" type="radio" checked>
<label for="c-tab-unix" title="Linux/macOS">&#xf17c;/&#xf179;</label>
<section class="c-content-unix"><div class="highlight-console notranslate"><div class="highlight"><pre><span class="gp">$ </span>python -m django --version
</pre></div></div></section></div>
</div></div></div></div>
<div class="yui-b" id="sidebar"><div class="sphinxsidebar" role="navigation">
<h3>Contents</h3><ul><li>Sidebar entry</li></ul></div></div></div>
<div id="ft"><div class="nav">&laquo; <a href="install.html">previous</a></div></div>
</div></div></body></html>
"""

DJANGO_SITE_PAGE = """<html><head><title>{title} | Django documentation | Django</title></head><body>
<header><nav><a href="/">Home</a> <a href="/weblog/">News</a></nav></header>
<div role="main"><div id="docs-content"><h1>{title}</h1><p>{body}</p></div>
<div class="browse-horizontal"><a href="prev/">Older page</a></div></div>
<footer>Hosting by somebody</footer></body></html>
"""

MKDOCS_PAGE = """<!doctype html><html><head>
<meta name="generator" content="mkdocs-1.5.3, mkdocs-material-9.4.2">
<title>{title} - Widgetron</title></head><body>
<header class="md-header"><nav class="md-header__inner">Widgetron <input class="md-search__input" placeholder="Search"></nav></header>
<div class="md-container"><main class="md-main"><div class="md-main__inner md-grid">
<div class="md-sidebar md-sidebar--primary"><nav class="md-nav"><a href="..">Sidebar entry</a></nav></div>
<div class="md-content"><article class="md-content__inner md-typeset">
<h1 id="t">{title}<a class="headerlink" href="#t" title="Permanent link">&para;</a></h1>
<p>{body}</p>
<pre><code class="language-bash">pip install widgetron
</code></pre>
<aside class="md-source-file"><span>Last update: 2026-11-01</span></aside>
</article></div></div></main>
<footer class="md-footer"><nav class="md-footer__inner"><a href="../">Previous Home</a></nav></footer>
</div></body></html>
"""


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _sphinx_build(root: Path) -> Path:
    page = SPHINX_PAGE.format
    return _write(
        root,
        {
            "index.html": page(title="Widgetron", body="Widgetron sorts widgets."),
            "install.html": page(title="Installing", body="Widgetron needs 512 MB of memory."),
            "api/cli.html": page(title="Command line", body="Run widgetron --fast."),
            "genindex.html": page(title="Index", body="A | B"),
            "search.html": page(title="Search", body="Search the docs"),
            "py-modindex.html": page(title="Python Module Index", body="widgetron"),
            "404.html": page(title="Page not found", body="Sorry"),
            "searchindex.js": "Search.setIndex({})",
            "objects.inv": "# Sphinx inventory version 2",
            "_sources/index.rst.txt": "Widgetron\n=========\n\nWidgetron sorts widgets.\n",
            "_sources/install.rst.txt": "Installing\n==========\n",
            "_static/basic.css": "body {}",
            "_static/jquery.js": "",
            "_modules/widgetron/core.html": page(title="widgetron.core", body="def run(): pass"),
            "_images/logo.png": "png",
        },
    )


def test_sphinx_build_reads_each_page_once_and_lists_what_it_skips(tmp_path: Path) -> None:
    root = _sphinx_build(tmp_path / "html")
    loaded = load(root)
    assert not loaded.problems and loaded.fmt == "folder"
    assert list(loaded.dataset.docs) == ["api/cli", "index", "install"]
    assert [(Path(p).relative_to(root).as_posix(), why) for p, why in loaded.skipped] == [
        ("404.html", "Sphinx not-found page"),
        ("_images", "Sphinx images"),
        ("_modules", "Sphinx highlighted source code"),
        ("_sources", "Sphinx copies of the page sources (the .html pages are read instead)"),
        ("_static", "Sphinx theme files"),
        ("genindex.html", "Sphinx general index (links only)"),
        ("objects.inv", "unsupported suffix .inv"),
        ("py-modindex.html", "Sphinx module index (links only)"),
        ("search.html", "Sphinx search page"),
        ("searchindex.js", "unsupported suffix .js"),
    ]


def test_sphinx_page_text_is_the_body_only(tmp_path: Path) -> None:
    doc = load(_sphinx_build(tmp_path / "html")).dataset.docs["install"]
    assert doc.title == "Installing"
    assert doc.text == (
        "# Installing\n\nWidgetron needs 512 MB of memory.\n\n"
        "```python\nimport widgetron\nwidgetron.run()\n```\n\n## Options\n\nSet speed."
    )
    for furniture in ("¶", "Sidebar entry", "Quick search", "previous", "Copyright", "Navigation"):
        assert furniture not in doc.text


def test_django_theme_pages(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "html",
        {
            "objects.inv": "",
            "intro/tutorial01.html": DJANGO_PAGE.format(title="Writing your first app", body="Polls."),
            "faq/general.html": DJANGO_SITE_PAGE.format(title="FAQ: General", body="Django is a framework."),
        },
    )
    docs = load(root).dataset.docs
    tut, faq = docs["intro/tutorial01"], docs["faq/general"]
    assert (tut.title, faq.title) == ("Writing your first app", "FAQ: General")
    assert tut.text == ("# Writing your first app\n\nPolls.\n\n```console\n$ python -m django --version\n```")
    assert faq.text == "# FAQ: General\n\nDjango is a framework."
    assert "Django 3.2 documentation" not in tut.text and "Sidebar entry" not in tut.text


def test_mkdocs_material_build(tmp_path: Path) -> None:
    page = MKDOCS_PAGE.format
    root = _write(
        tmp_path / "site",
        {
            "index.html": page(title="Widgetron", body="Widgetron sorts widgets."),
            "install/index.html": page(title="Install", body="Widgetron needs 512 MB."),
            "404.html": page(title="404", body="Not found"),
            "search/search_index.json": "{}",
            "assets/stylesheets/main.css": "",
            "sitemap.xml": "<urlset/>",
        },
    )
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"id": "q1", "question": "Memory?", "answer": "512 MB", "source": "install.md"}\n')
    loaded = load(root, qa=qa)
    assert not loaded.problems
    assert list(loaded.dataset.docs) == ["index", "install/index"]
    assert [(Path(p).relative_to(root).as_posix(), why) for p, why in loaded.skipped] == [
        ("404.html", "MkDocs not-found page"),
        ("assets", "MkDocs theme files"),
        ("search", "MkDocs search index"),
        ("sitemap.xml", "unsupported suffix .xml"),
    ]
    doc = loaded.dataset.docs["install/index"]
    assert doc.title == "Install"
    assert doc.text == "# Install\n\nWidgetron needs 512 MB.\n\n```bash\npip install widgetron\n```"
    assert loaded.dataset.qa[0].sources == ("install/index",)


def test_plain_html_folder_is_not_a_build(tmp_path: Path) -> None:
    root = _write(
        tmp_path / "pages",
        {
            "search.html": "<html><head><title>Search tips</title></head><body><p>Use quotes.</p></body></html>",
            "_static/notes.md": "# Notes\n\nKept.",
        },
    )
    loaded = load(root)
    assert list(loaded.dataset.docs) == ["_static/notes", "search"] and not loaded.skipped
    assert loaded.dataset.docs["search"].title == "Search tips"


@pytest.mark.parametrize(
    "html, title, text",
    [
        (  # <title> without the site name when the page has no h1
            "<title>Quickstart — Flask Documentation (2.2.x)</title><body><p>Hi.</p></body>",
            "Quickstart",
            "Hi.",
        ),
        (  # the main content's h1 wins over <title>; attribute markup leaves headings
            "<title>x | Site</title><main><h1>Real title { #real }</h1><h2>Part {#p .c}</h2></main>",
            "Real title",
            "# Real title\n\n## Part",
        ),
        (  # several <article>s (a listing): <main> holds the content, its <nav> does not count
            "<main><nav>Menu</nav><article><h2>A</h2></article><article><h2>B</h2></article></main>",
            "page",
            "## A\n\n## B",
        ),
        (  # code keeps its indentation and blank lines; prose whitespace collapses
            "<div role='main'><p>Run   this:</p><pre>def f():\n\n    return  1\n</pre></div>",
            "page",
            "Run this:\n\n```\ndef f():\n\n    return  1\n```",
        ),
        (  # a Sphinx API signature heads what its <dd> says, one level under the last heading
            "<main><h2>Builtin Configuration Values \u00b6</h2><dl class='py data'>"
            "<dt class='sig sig-object py' id='ENV'><span class='sig-name descname'>ENV</span>"
            "<a class='headerlink'>\u00b6</a></dt><dd><p>Default: <code>'production'</code></p></dd>"
            "<dt class='sig sig-object py'><em class='property'>class </em>flask.<b>Flask</b>"
            "(<em>import_name</em>)</dt><dd><p>The app.</p></dd>"
            "<dt class='sig sig-object py'>add_url_rule(<em>rule</em>, <em>endpoint=None</em>)</dt>"
            "<dt class='sig sig-object py'>funcs: t.Dict[str, t.List[t.Callable]]</dt>"
            # a member takes its class from the anchor: a bare "debug" is also a setting and an argument
            "<dt class='sig sig-object py' id='flask.Flask.debug'><em>property </em>debug: bool</dt>"
            "<dt class='sig sig-object py' id='flask.Flask.run'>run(<em>host=None</em>)</dt>"
            "<dt>A plain term</dt><dd>stays text</dd></dl></main>",
            "page",
            "## Builtin Configuration Values\n\n### ENV\n\nDefault: 'production'\n\n### flask.Flask\n\n"
            "The app.\n\n### add_url_rule()\n\n### funcs\n\n### Flask.debug\n\n### Flask.run()\n\n"
            "A plain term\n\nstays text",
        ),
    ],
)
def test_parse_html_cases(html: str, title: str, text: str) -> None:
    page = parse_html(html, "docs/page")
    assert (page.title, page.text) == (title, text)


def test_markdown_heading_attributes_are_stripped() -> None:
    page, _ = parse_markdown("# Install { #install .big }\n\n## Usage {: #use }\n\n```\n# x {#y}\n```", "a")
    assert page.title == "Install"
    assert page.text == "# Install\n\n## Usage\n\n```\n# x {#y}\n```"
