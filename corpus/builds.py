"""Recognising built documentation sites (Sphinx, MkDocs) so that a build reads as its pages once.

A build holds every page as HTML plus generated extras: Sphinx copies each page's source to
``_sources/`` (the same text again, as ``.rst.txt``), keeps theme files in ``_static/`` and
highlighted source code in ``_modules/``, and writes pages that are only links (``genindex``,
``search``, ``py-modindex``). Reading those would duplicate every page and add pages of link
lists, so in a build they are skipped and listed, one entry per folder.
"""

from __future__ import annotations

import re
from pathlib import Path

SPHINX_FOLDERS = {
    "_sources": "Sphinx copies of the page sources (the .html pages are read instead)",
    "_static": "Sphinx theme files",
    "_images": "Sphinx images",
    "_modules": "Sphinx highlighted source code",
    "_downloads": "Sphinx downloadable files",
}
SPHINX_PAGES = {
    "genindex": "Sphinx general index (links only)",
    "search": "Sphinx search page",
    "404": "Sphinx not-found page",
}
MKDOCS_FOLDERS = {
    "search": "MkDocs search index",
    "assets": "MkDocs theme files",
    "css": "MkDocs theme files",
    "js": "MkDocs theme files",
    "fonts": "MkDocs theme files",
    "webfonts": "MkDocs theme files",
}
MKDOCS_PAGES = {"404": "MkDocs not-found page", "search": "MkDocs search page"}
_MKDOCS_GENERATOR = re.compile(r"<meta[^>]+name=[\"']generator[\"'][^>]+content=[\"']mkdocs", re.I)


def build_kind(folder: Path) -> str | None:
    """``"sphinx"`` or ``"mkdocs"`` when ``folder`` is the root of such a build, else None.

    Sphinx always writes ``objects.inv`` or ``searchindex.js`` (or ``_static/`` next to
    ``genindex.html``); MkDocs writes ``search/search_index.json`` or says so in a generator tag.
    """
    if (folder / "searchindex.js").is_file() or (folder / "objects.inv").is_file():
        return "sphinx"
    if (folder / "_static").is_dir() and (folder / "genindex.html").is_file():
        return "sphinx"
    if (folder / "search" / "search_index.json").is_file():
        return "mkdocs"
    index = folder / "index.html"
    if index.is_file():
        with index.open("rb") as fh:
            head = fh.read(8192).decode("utf-8", "replace")
        if _MKDOCS_GENERATOR.search(head):
            return "mkdocs"
    return None


def build_skip(path: Path, kind: str | None) -> str | None:
    """Why ``path``, a direct child of a build root of ``kind``, is not read (None: read it)."""
    if kind is None:
        return None
    name, is_dir = path.name, path.is_dir()
    if kind == "sphinx":
        if is_dir:
            # Sphinx reserves `_` folders for what it generates (_static, _sphinx_design_static...)
            return SPHINX_FOLDERS.get(name) or ("Sphinx build files" if name.startswith("_") else None)
        if path.suffix.lower() not in (".html", ".htm"):
            return None
        stem = path.stem
        if stem.endswith("-modindex") or stem.startswith("genindex-"):
            return "Sphinx module index (links only)" if "modindex" in stem else SPHINX_PAGES["genindex"]
        return SPHINX_PAGES.get(stem)
    if is_dir:
        return MKDOCS_FOLDERS.get(name)
    return MKDOCS_PAGES.get(path.stem) if path.suffix.lower() in (".html", ".htm") else None
