"""Turning real documentation pages into clean text with a heading structure.

Handles what documentation folders actually contain: YAML front matter, fenced code blocks
(whose ``#`` lines are not headings), admonitions in the MkDocs (``!!! note``), Docusaurus
(``:::tip``) and GitHub (``> [!NOTE]``) dialects, relative links between pages, and HTML.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_MKDOCS_ADMON = re.compile(r'^(\s*)(!!!|\?\?\?\+?)\s+(\w+)(?:\s+"([^"]*)")?\s*$')
_DOCUSAURUS_ADMON = re.compile(r"^:::\s*(\w+)\s*(.*)$")
_GITHUB_ADMON = re.compile(r"^>\s*\[!(\w+)\]\s*$")
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
# MkDocs/Pandoc heading attributes: "## Install {#install}", "{ #id .class }", "{: #id }", "{-}"
HEADING_ATTRS = re.compile(r"\s*\{:?\s*[#.-][^{}]*\}\s*$")


@dataclass
class Section:
    """A heading path and the text under it (up to the next heading of any level)."""

    heading_path: tuple[str, ...]
    text: str


@dataclass
class ParsedPage:
    title: str
    text: str  # cleaned markdown-ish text, headings kept as ``#`` lines
    metadata: dict[str, Any] = field(default_factory=dict)


def split_front_matter(text: str) -> tuple[dict[str, Any], str, str | None]:
    """Split ``---`` YAML front matter off a markdown page.

    Returns ``(metadata, body, error)``; ``error`` describes unparseable front matter, which is
    reported rather than silently treated as text.
    """
    if not text.startswith("---"):
        return {}, text, None
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return {}, text, None
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            raw = "\n".join(lines[1:i])
            body = "\n".join(lines[i + 1 :])
            try:
                meta = yaml.safe_load(raw) or {}
            except yaml.YAMLError as exc:
                return {}, body, f"front matter is not valid YAML ({str(exc).splitlines()[0]})"
            if not isinstance(meta, dict):
                return {}, body, "front matter must be a YAML mapping"
            return meta, body, None
    return {}, text, "front matter opened with '---' but never closed"


def _resolve_link(target: str, doc_id: str) -> str | None:
    """Map a relative link to the doc_id it points at, or None for external links."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
        return None
    path = target.split("#", 1)[0]
    if not path:
        return None
    base = posixpath.dirname(doc_id)
    resolved = posixpath.normpath(posixpath.join(base, path))
    if resolved.startswith(".."):
        return None
    return re.sub(r"\.(md|markdown|txt|html?)$", "", resolved)


def _clean_admonitions(lines: list[str]) -> list[str]:
    """Rewrite admonition markers as plain ``Note:`` lines; keep their content."""
    out: list[str] = []
    in_fence = False
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
        if in_fence:
            out.append(line)
            continue
        if m := _MKDOCS_ADMON.match(line):
            label = (m.group(4) or m.group(3)).strip()
            out.append(f"{label.capitalize()}:" if label else "Note:")
        elif m := _GITHUB_ADMON.match(line):
            out.append(f"{m.group(1).capitalize()}:")
        elif m := _DOCUSAURUS_ADMON.match(line):
            kind, title = m.group(1), m.group(2).strip()
            out.append(f"{(title or kind).capitalize()}:")
        elif line.strip() == ":::":
            continue
        elif line.startswith("    ") and out and out[-1].endswith(":") and line.strip() != "":
            out.append(line.strip())  # indented admonition body
        else:
            out.append(line)
    return out


def _strip_heading_attrs(line: str) -> str:
    """``## Install {#install}`` -> ``## Install`` (a heading that is only ``{...}`` stays)."""
    m = _HEADING.match(line)
    text = HEADING_ATTRS.sub("", m.group(2)) if m else ""
    return f"{m.group(1)} {text}" if m and text and text != m.group(2) else line


def parse_markdown(text: str, doc_id: str) -> tuple[ParsedPage, str | None]:
    """Parse a markdown page. Returns the page and a front-matter error, if any."""
    meta, body, error = split_front_matter(text)
    links: list[str] = []

    def _link(m: re.Match[str]) -> str:
        target = _resolve_link(m.group(2), doc_id)
        if target is not None:
            links.append(target)
        return m.group(1)

    lines = _clean_admonitions(body.split("\n"))
    cleaned: list[str] = []
    in_fence = False
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
            cleaned.append(line)
            continue
        if not in_fence:
            line = _LINK.sub(_link, _IMAGE.sub(r"\1", line))
            line = _strip_heading_attrs(line)
        cleaned.append(line)
    clean = "\n".join(cleaned).strip()
    title = str(meta.get("title") or "").strip() or first_h1(clean) or posixpath.basename(doc_id)
    if links:
        meta = {**meta, "links": sorted(set(links))}
    return ParsedPage(title=title, text=clean, metadata=meta), error


def first_h1(text: str) -> str | None:
    """The text of the first ``#`` heading outside code blocks."""
    in_fence = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (m := _HEADING.match(line)) and len(m.group(1)) == 1:
            return m.group(2).strip()
    return None


def sections(text: str) -> list[Section]:
    """Split markdown-ish text into sections by heading, tracking the heading path."""
    path: list[tuple[int, str]] = []
    out: list[Section] = []
    buf: list[str] = []
    in_fence = False

    def flush() -> None:
        body = "\n".join(buf).strip()
        if body:
            out.append(Section(tuple(h for _, h in path), body))
        buf.clear()

    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        m = None if in_fence else _HEADING.match(line)
        if m:
            flush()
            level = len(m.group(1))
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, m.group(2).strip()))
        else:
            buf.append(line)
    flush()
    return out
