"""Loading corpora and questions from every supported on-disk format.

Formats are a small registry (``LOADERS``): each has a ``detect`` test and a ``load``
function filling a :class:`Loaded`. Problems are collected, never raised mid-way, so
``ftrag data validate`` can list all of them; :func:`load_dataset` raises the first.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.errors import Problem
from corpus.io import iter_jsonl, read_text
from corpus.markup import parse_html, parse_markdown
from corpus.model import KINDS, SPLITS, Dataset, Document, QAItem

DOC_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Loaded:
    """A dataset and everything the loader noticed on the way."""

    dataset: Dataset
    problems: list[Problem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    replaced: list[str] = field(default_factory=list)  # decoded with U+FFFD replacement
    fmt: str = ""


def check_id(value: Any, what: str = "id") -> str | None:
    """Why ``value`` is not a safe identifier, or None if it is.

    Ids become file names and URLs later (caches, reports), so an id must not be able to name
    a path outside its folder.
    """
    if not isinstance(value, str) or not value.strip():
        return f"{what} must be a non-empty string"
    if _CONTROL.search(value):
        return f"{what} {value!r} contains control characters"
    parts = value.replace("\\", "/").split("/")
    if value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value) or ".." in parts:
        return f"{what} {value!r} tries to escape the corpus folder; use a relative id without '..'"
    return None


# --- documents -----------------------------------------------------------------------------


def _page(path: Path, doc_id: str, text: str, problems: list[Problem]) -> Document:
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        page = parse_html(text, doc_id)
        return Document(doc_id, page.title, page.text, page.metadata)
    if suffix == ".txt":
        first = text.strip().split("\n", 1)[0].strip()
        title = first if 0 < len(first) <= 100 else Path(doc_id).name
        return Document(doc_id, title, text.strip())
    page, error = parse_markdown(text, doc_id)
    if error:
        problems.append(Problem(str(path), error, 1))
    return Document(doc_id, page.title, page.text, page.metadata)


def load_doc_folder(root: Path, out: Loaded, encoding_errors: str = "strict") -> dict[str, Document]:
    """Every .md/.markdown/.txt/.html page under ``root``; others are skipped and listed."""
    docs: dict[str, Document] = {}
    origin: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(p.startswith(".") for p in rel.parts):
            if path.is_dir() and not any(p.startswith(".") for p in rel.parts[:-1]):
                out.skipped.append((str(path), "hidden folder"))
            elif path.is_file() and not any(p.startswith(".") for p in rel.parts[:-1]):
                out.skipped.append((str(path), "hidden file"))
            continue
        if not path.is_file():
            continue
        if path.suffix.lower() not in DOC_SUFFIXES:
            out.skipped.append((str(path), f"unsupported suffix {path.suffix or '(none)'}"))
            continue
        doc_id = rel.with_suffix("").as_posix()
        if doc_id in origin:
            out.problems.append(
                Problem(
                    str(path),
                    f"duplicate doc id {doc_id!r} (also {origin[doc_id].name}); rename one",
                )
            )
            continue
        n_before = len(out.problems)
        text = read_text(path, out.problems, encoding_errors)
        if text is None:
            continue
        if encoding_errors == "replace" and "\ufffd" in text and len(out.problems) == n_before:
            out.replaced.append(str(path))
        origin[doc_id] = path
        docs[doc_id] = _page(path, doc_id, text, out.problems)
    return docs


def _doc_record(rec: dict[str, Any], path: Path, line: int, out: Loaded) -> Document | None:
    doc_id = rec.get("doc_id", rec.get("id", rec.get("_id")))
    if doc_id is not None and not isinstance(doc_id, str):
        doc_id = str(doc_id)
    if why := check_id(doc_id, "doc id"):
        out.problems.append(Problem(str(path), why + " (field `id`)", line))
        return None
    text = rec.get("text")
    if not isinstance(text, str):
        out.problems.append(Problem(str(path), "field `text` is missing or not a string", line))
        return None
    title = rec.get("title") or doc_id
    meta = rec.get("metadata") if isinstance(rec.get("metadata"), dict) else {}
    extra = {k: v for k, v in rec.items() if k not in {"doc_id", "id", "_id", "text", "title", "metadata"}}
    return Document(doc_id, str(title), text, {**meta, **extra})


def _add_doc(docs: dict[str, Document], doc: Document | None, path: Path, line: int, out: Loaded) -> None:
    if doc is None:
        return
    if doc.doc_id in docs:
        out.problems.append(Problem(str(path), f"duplicate doc id {doc.doc_id!r}", line))
        return
    docs[doc.doc_id] = doc


def load_doc_jsonl(path: Path, out: Loaded, encoding_errors: str = "strict") -> dict[str, Document]:
    """Documents as JSON lines: ``{"id", "title"?, "text", ...}`` (``doc_id``/``_id`` also accepted)."""
    docs: dict[str, Document] = {}
    for line, rec in iter_jsonl(path, out.problems, encoding_errors):
        _add_doc(docs, _doc_record(rec, path, line, out), path, line, out)
    return docs


def load_doc_csv(path: Path, out: Loaded, encoding_errors: str = "strict") -> dict[str, Document]:
    """Documents as CSV with a header: ``id`` (or ``doc_id``), ``text``, optional ``title``."""
    text = read_text(path, out.problems, encoding_errors)
    docs: dict[str, Document] = {}
    if text is None:
        return docs
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = set(reader.fieldnames or [])
    if not fields & {"id", "doc_id"} or "text" not in fields:
        out.problems.append(Problem(str(path), "CSV header needs columns `id` (or `doc_id`) and `text`", 1))
        return docs
    try:
        for rec in reader:
            _add_doc(docs, _doc_record(dict(rec), path, reader.line_num, out), path, reader.line_num, out)
    except csv.Error as exc:
        out.problems.append(Problem(str(path), f"malformed CSV ({exc})", reader.line_num))
    return docs


# --- questions -----------------------------------------------------------------------------

_QA_FIELDS = {
    "id",
    "question",
    "answer",
    "aliases",
    "sources",
    "split",
    "kind",
    "fact_id",
    "template",
    "old_answer",
    "generated",
    "metadata",
}


def _str_list(rec: dict[str, Any], key: str) -> list[str] | str:
    value = rec.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return f"field `{key}` must be a list of strings"
    return value


def parse_qa(rec: dict[str, Any], path: Path, line: int) -> QAItem | Problem:
    """Validate one ``qa.jsonl`` record; the problem names the field and what to do."""

    def bad(msg: str) -> Problem:
        return Problem(str(path), msg, line)

    if why := check_id(rec.get("id"), "question id"):
        return bad(why + " (field `id`)")
    question = rec.get("question")
    if not isinstance(question, str) or not question.strip():
        return bad("field `question` is missing or empty")
    kind = rec.get("kind", "fact")
    if kind not in KINDS:
        return bad(f"field `kind` is {kind!r}; use one of {', '.join(KINDS)}")
    answer = rec.get("answer")
    if not isinstance(answer, str) or (not answer.strip() and kind != "unanswerable"):
        return bad("field `answer` is missing or empty; every answerable question needs a gold answer")
    split = rec.get("split", "test")
    if split not in SPLITS:
        return bad(f"field `split` is {split!r}; use one of {', '.join(SPLITS)}")
    aliases, sources = _str_list(rec, "aliases"), _str_list(rec, "sources")
    for value in (aliases, sources):
        if isinstance(value, str):
            return bad(value)
    for src in sources:
        if why := check_id(src, "source"):
            return bad(why + " (field `sources`)")
    extra = {k: v for k, v in rec.items() if k not in _QA_FIELDS}
    meta = rec.get("metadata") if isinstance(rec.get("metadata"), dict) else {}
    return QAItem(
        id=rec["id"], question=question, answer=answer, aliases=tuple(aliases),
        sources=tuple(sources), split=split, kind=kind,
        fact_id=None if rec.get("fact_id") is None else str(rec["fact_id"]),
        template=None if rec.get("template") is None else str(rec["template"]),
        old_answer=rec.get("old_answer") if isinstance(rec.get("old_answer"), str) else None,
        generated=bool(rec.get("generated", False)), metadata={**meta, **extra},
    )  # fmt: skip


def load_qa(path: Path, out: Loaded, encoding_errors: str = "strict") -> list[tuple[int, QAItem]]:
    """Questions of a ``qa.jsonl`` with their line numbers; duplicate ids are problems."""
    items: list[tuple[int, QAItem]] = []
    seen: dict[str, int] = {}
    for line, rec in iter_jsonl(path, out.problems, encoding_errors):
        item = parse_qa(rec, path, line)
        if isinstance(item, Problem):
            out.problems.append(item)
        elif item.id in seen:
            out.problems.append(
                Problem(
                    str(path),
                    f"duplicate question id {item.id!r} (first on line {seen[item.id]})",
                    line,
                )
            )
        else:
            seen[item.id] = line
            items.append((line, item))
    return items


def check_sources(
    items: list[tuple[int, QAItem]], docs: dict[str, Document], path: Path, out: Loaded
) -> None:
    """Every source a question names must be a document of the corpus."""
    for line, q in items:
        for src in q.sources:
            if src not in docs:
                out.problems.append(
                    Problem(
                        str(path),
                        f"question {q.id!r} names source {src!r}, which is not a document",
                        line,
                    )
                )
