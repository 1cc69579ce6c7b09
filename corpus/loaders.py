"""Loading corpora and questions from every supported on-disk format.

Formats are a small registry (``LOADERS``): each has a ``detect`` test and a ``load``
function filling a :class:`Loaded`. Problems are collected, never raised mid-way, so
``ftrag data validate`` can list all of them; :func:`load_dataset` raises the first.
"""

from __future__ import annotations

import csv
import difflib
import io
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from corpus.builds import build_kind, build_skip
from corpus.errors import Problem, group_problems
from corpus.htmlpage import parse_html
from corpus.io import iter_jsonl, read_text
from corpus.markup import parse_markdown
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
    warnings: list[Problem] = field(default_factory=list)  # worth knowing, not blocking
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


def _skip_reason(path: Path, build: str | None) -> str | None:
    """Why a folder entry is not read as a page (None: read it, or walk into it)."""
    if path.name.startswith("."):
        return "hidden folder" if path.is_dir() else "hidden file"
    if path.is_symlink() and not path.exists():
        return "broken symbolic link"
    if path.is_symlink() and path.is_dir():
        return "symbolic link to a folder (not followed)"
    if why := build_skip(path, build):
        return why
    if path.is_file() and path.suffix.lower() not in DOC_SUFFIXES:
        return f"unsupported suffix {path.suffix or '(none)'}"
    return None


def _walk_pages(folder: Path, out: Loaded) -> Iterator[Path]:
    """Page files under ``folder`` in path order; everything else is listed in ``out.skipped``.

    A skipped folder is listed once, not file by file; inside a Sphinx or MkDocs build the
    generated folders and pages are skipped too (see :mod:`corpus.builds`).
    """
    build = build_kind(folder)
    for path in sorted(folder.iterdir()):
        if why := _skip_reason(path, build):
            out.skipped.append((str(path), why))
        elif path.is_dir():
            yield from _walk_pages(path, out)
        elif path.is_file():
            yield path


def load_doc_folder(root: Path, out: Loaded, encoding_errors: str = "strict") -> dict[str, Document]:
    """Every .md/.markdown/.txt/.html page under ``root``; others are skipped and listed."""
    docs: dict[str, Document] = {}
    origin: dict[str, Path] = {}
    for path in _walk_pages(root, out) if root.is_dir() else []:
        doc_id = path.relative_to(root).with_suffix("").as_posix()
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

_QA_FIELDS = (
    "id", "question", "answer", "aliases", "sources", "source", "split", "kind", "fact_id",
    "template", "old_answer", "generated", "metadata",
)  # fmt: skip
# what people write for a kind or split; the canonical names are model.KINDS and model.SPLITS
KIND_ALIASES = {
    "answerable": "fact",
    "factual": "fact",
    "factoid": "fact",
    "no-answer": "unanswerable",
    "none": "unanswerable",
}
SPLIT_ALIASES = {"validation": "dev", "valid": "dev", "val": "dev"}
# field names whose meaning difflib cannot guess from the spelling
_FIELD_HINTS = {
    "query": "question",
    "gold": "answer",
    "answers": "answer",
    "doc": "sources",
    "doc_id": "sources",
    "document": "sources",
    "docs": "sources",
    "page": "sources",
}
_PAGE_SUFFIX = re.compile(r"\.(md|markdown|rst|txt|html?)$", re.IGNORECASE)


def _choice(value: Any, names: tuple[str, ...], aliases: dict[str, str]) -> str | None:
    """``value`` as one of ``names``, ignoring case and ``_``/space vs ``-``; None if it is none."""
    if not isinstance(value, str):
        return None
    key = re.sub(r"[\s_]+", "-", value.strip().lower())
    key = aliases.get(key, key)
    return key if key in names else None


def _unknown_fields(rec: dict[str, Any], path: Path, line: int) -> list[Problem]:
    """A warning per field this format does not know, naming the closest known field."""
    out = []
    for name in rec:
        if name in _QA_FIELDS:
            continue
        guess = _FIELD_HINTS.get(name.lower()) or next(
            iter(difflib.get_close_matches(name.lower(), _QA_FIELDS, n=1, cutoff=0.6)), None
        )
        hint = f" (did you mean {guess!r}?)" if guess else ""
        out.append(Problem(str(path), f"unknown field {name!r}{hint}; kept in metadata", line))
    return out


def _str_list(rec: dict[str, Any], key: str) -> list[str] | str:
    value = rec.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return f"field `{key}` must be a list of strings"
    return value


def _sources(rec: dict[str, Any]) -> list[str] | str:
    """``sources`` (a list, or one string) plus a singular ``source``; an error message if neither fits."""
    value = rec.get("sources") or []
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "field `sources` must be a list of strings"
    single = rec.get("source")
    if single is not None and not isinstance(single, str):
        return "field `source` must be a string (or use `sources`, a list of strings)"
    return [*value, single] if single and single not in value else value


def _kind_answer(rec: dict[str, Any]) -> tuple[str, str] | str:
    """The question's kind and gold answer, or what is wrong with them."""
    kind = _choice(rec.get("kind") or "fact", KINDS, KIND_ALIASES)
    if kind is None:
        return f"field `kind` is {rec.get('kind')!r}; use one of {', '.join(KINDS)}"
    answer = rec.get("answer")
    if answer is None and kind == "unanswerable":
        answer = ""
    elif isinstance(answer, (int, float)) and not isinstance(answer, bool):
        answer = str(answer)  # "answer": 1889 is what a person types for a year
    if not isinstance(answer, str) or (not answer.strip() and kind != "unanswerable"):
        return (
            "field `answer` is missing or empty; every answerable question needs a gold answer "
            '(mark one that has none with "kind": "unanswerable")'
        )
    return kind, answer


def parse_qa(
    rec: dict[str, Any], path: Path, line: int, warnings: list[Problem] | None = None
) -> QAItem | Problem:
    """Validate one ``qa.jsonl`` record; the problem names the field and what to do.

    Unknown fields are kept in ``metadata`` and, when ``warnings`` is given, reported there. A
    question without a ``split`` goes to test and gets ``metadata["split_given"] = False``.
    """

    def bad(msg: str) -> Problem:
        return Problem(str(path), msg, line)

    if warnings is not None:
        warnings.extend(_unknown_fields(rec, path, line))
    if why := check_id(rec.get("id"), "question id"):
        return bad(why + " (field `id`)")
    question = rec.get("question")
    if not isinstance(question, str) or not question.strip():
        return bad("field `question` is missing or empty")
    kind_answer = _kind_answer(rec)
    if isinstance(kind_answer, str):
        return bad(kind_answer)
    split = "test" if rec.get("split") is None else _choice(rec["split"], SPLITS, SPLIT_ALIASES)
    if split is None:
        return bad(f"field `split` is {rec['split']!r}; use one of {', '.join(SPLITS)}")
    aliases, sources = _str_list(rec, "aliases"), _sources(rec)
    for value in (aliases, sources):
        if isinstance(value, str):
            return bad(value)
    for src in sources:
        if why := check_id(src, "source"):
            return bad(why + " (field `sources`)")
    return _qa_item(rec, question, *kind_answer, split, aliases, sources)


def _qa_item(
    rec: dict[str, Any], question: str, kind: str, answer: str, split: str,
    aliases: list[str], sources: list[str],
) -> QAItem:  # fmt: skip
    extra = {k: v for k, v in rec.items() if k not in _QA_FIELDS}
    meta = rec.get("metadata") if isinstance(rec.get("metadata"), dict) else {}
    given = {} if rec.get("split") is not None else {"split_given": False}
    return QAItem(
        id=rec["id"], question=question, answer=answer, aliases=tuple(aliases),
        sources=tuple(sources), split=split, kind=kind,
        fact_id=None if rec.get("fact_id") is None else str(rec["fact_id"]),
        template=None if rec.get("template") is None else str(rec["template"]),
        old_answer=rec.get("old_answer") if isinstance(rec.get("old_answer"), str) else None,
        generated=bool(rec.get("generated", False)), metadata={**meta, **extra, **given},
    )  # fmt: skip


def load_qa(path: Path, out: Loaded, encoding_errors: str = "strict") -> list[tuple[int, QAItem]]:
    """Questions of a ``qa.jsonl`` with their line numbers; duplicate ids are problems.

    Warnings (unknown fields) go to ``out.warnings``, one per field name with its lines.
    """
    items: list[tuple[int, QAItem]] = []
    seen: dict[str, int] = {}
    warnings: list[Problem] = []
    for line, rec in iter_jsonl(path, out.problems, encoding_errors):
        item = parse_qa(rec, path, line, warnings)
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
    out.warnings.extend(group_problems(warnings))
    return items


def resolve_source(src: str, docs: Mapping[str, Any]) -> str | None:
    """The doc id a question's source means, or None.

    People name pages as files (``install.md``, ``docs/install.md``, ``install.html#usage``);
    a built site keeps ``install.md`` as ``install/index``.
    """
    if src in docs:
        return src
    base = re.sub(r"^(\./)?(docs/)?", "", src.split("#", 1)[0]).rstrip("/")
    stem = _PAGE_SUFFIX.sub("", base)
    for candidate in (base, stem, f"{stem}/index"):
        if candidate in docs:
            return candidate
    return None


def closest_docs(src: str, docs: Mapping[str, Any], n: int = 3) -> list[str]:
    """Doc ids a mistyped source probably meant: same page name first, then similar spelling."""
    stem = _PAGE_SUFFIX.sub("", src.split("#", 1)[0]).rstrip("/")
    name = posixpath.basename(stem)
    same_name = sorted(d for d in docs if posixpath.basename(d) == name)
    similar = difflib.get_close_matches(stem, list(docs), n=n, cutoff=0.6)
    return list(dict.fromkeys(same_name + similar))[:n]


def check_sources(
    items: list[tuple[int, QAItem]], docs: dict[str, Document], path: Path, out: Loaded
) -> None:
    """Every source a question names must be a document of the corpus.

    Sources written as files (``install.md``) are replaced in ``items`` by their doc id.
    """
    for i, (line, q) in enumerate(items):
        resolved = [resolve_source(src, docs) for src in q.sources]
        for src, doc_id in zip(q.sources, resolved, strict=True):
            if doc_id is None:
                near = closest_docs(src, docs)
                hint = f" (closest: {', '.join(near)})" if near else ""
                out.problems.append(
                    Problem(
                        str(path),
                        f"question {q.id!r} names source {src!r}, which is not a document{hint}",
                        line,
                    )
                )
        fixed = tuple(dict.fromkeys(d for d in resolved if d is not None))
        if all(d is not None for d in resolved) and fixed != q.sources:
            items[i] = (line, replace(q, sources=fixed))
