"""The format registry and the two entry points, :func:`load` and :func:`load_dataset`.

Supported formats (``--format`` names):

- ``ftrag``: a dataset folder (``docs/``, ``qa.jsonl``, ``updates/<v>/``, ``dataset.json``);
- ``folder``: a plain folder of ``.md`` ``.txt`` ``.html`` pages (real documentation);
- ``jsonl`` / ``csv``: one document per line or row;
- ``beir``: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from corpus.errors import DataError, Problem
from corpus.io import iter_jsonl, read_text
from corpus.loaders import (
    Loaded,
    check_id,
    check_sources,
    load_doc_csv,
    load_doc_folder,
    load_doc_jsonl,
    load_qa,
)
from corpus.model import Dataset, DatasetUpdate, Document, QAItem


@dataclass(frozen=True)
class Format:
    name: str
    detect: Callable[[Path], bool]
    load: Callable[[Path, Loaded, str], None]
    help: str


def meta_problems(meta: Any) -> list[str]:
    """What is wrong with a dataset.json: it must be an object, and a house style's template must
    format with ``{answer}`` only and its pattern must compile (both are used on every answer)."""
    if not isinstance(meta, dict):
        return [f"expected a JSON object, got {type(meta).__name__}"]
    style = meta.get("house_style")
    if style is None:
        return []
    if not isinstance(style, dict):
        return ["field `house_style` must be an object with `template` and `pattern`"]
    problems = []
    template, pattern = style.get("template", "{answer}"), style.get("pattern", "")
    try:
        str(template).format(answer="x")
        if not isinstance(template, str):
            raise TypeError
    except (KeyError, IndexError, ValueError, TypeError):
        problems.append("field `house_style.template` must be a string using {answer} and no other fields")
    try:
        re.compile(str(pattern))
    except re.error as exc:
        problems.append(f"field `house_style.pattern` is not a valid regular expression ({exc})")
    return problems


def _load_ftrag(root: Path, out: Loaded, enc: str) -> None:
    meta: dict = {}
    manifest = root / "dataset.json"
    if manifest.exists():
        text = read_text(manifest, out.problems, enc)
        try:
            meta = json.loads(text) if text is not None else {}
        except json.JSONDecodeError as exc:
            out.problems.append(Problem(str(manifest), f"malformed JSON ({exc.msg})", exc.lineno))
        out.problems.extend(Problem(str(manifest), msg) for msg in meta_problems(meta))
    docs = load_doc_folder(root / "docs", out, enc)
    out.dataset.docs.update(docs)
    out.dataset.meta.update(meta if isinstance(meta, dict) else {})
    out.dataset.name = str(out.dataset.meta.get("name", root.name))
    qa_path = root / "qa.jsonl"
    if qa_path.exists():
        items = load_qa(qa_path, out, enc)
        check_sources(items, docs, qa_path, out)
        out.dataset.qa.extend(q for _, q in items)
    updates = root / "updates"
    for vdir in sorted(p for p in updates.iterdir() if p.is_dir()) if updates.is_dir() else []:
        udocs = load_doc_folder(vdir / "docs", out, enc) if (vdir / "docs").is_dir() else {}
        uqa_path = vdir / "qa.jsonl"
        uitems = load_qa(uqa_path, out, enc) if uqa_path.exists() else []
        check_sources(uitems, {**docs, **udocs}, uqa_path, out)
        out.dataset.updates[vdir.name] = DatasetUpdate(
            vdir.name,
            {k: _versioned(d, vdir.name) for k, d in udocs.items()},
            [q for _, q in uitems],
        )


def _versioned(doc: Document, version: str) -> Document:
    return replace(doc, version=version)


def _load_folder(root: Path, out: Loaded, enc: str) -> None:
    out.dataset.docs.update(load_doc_folder(root, out, enc))


def _load_jsonl(path: Path, out: Loaded, enc: str) -> None:
    out.dataset.docs.update(load_doc_jsonl(path, out, enc))


def _load_csv(path: Path, out: Loaded, enc: str) -> None:
    out.dataset.docs.update(load_doc_csv(path, out, enc))


def _beir_qrels(path: Path, out: Loaded, enc: str) -> dict[str, dict[str, int]]:
    text = read_text(path, out.problems, enc)
    qrels: dict[str, dict[str, int]] = {}
    if text is None:
        return qrels
    for n, row in enumerate(csv.reader(io.StringIO(text), delimiter="\t"), start=1):
        if not row or (n == 1 and not row[-1].lstrip("-").isdigit()):
            continue  # blank line or the header
        if len(row) < 3 or not row[-1].lstrip("-").isdigit():
            out.problems.append(Problem(str(path), "expected `query-id<TAB>corpus-id<TAB>score`", n))
            continue
        qid, did, score = row[0], row[-2], int(row[-1])
        for value, what in ((qid, "query id"), (did, "corpus id")):
            if why := check_id(value, what):
                out.problems.append(Problem(str(path), why, n))
                break
        else:
            qrels.setdefault(qid, {})[did] = score
    return qrels


def _load_beir(root: Path, out: Loaded, enc: str) -> None:
    docs = load_doc_jsonl(root / "corpus.jsonl", out, enc)
    out.dataset.docs.update(docs)
    queries: dict[str, str] = {}
    qpath = root / "queries.jsonl"
    for line, rec in iter_jsonl(qpath, out.problems, enc) if qpath.exists() else []:
        qid, text = str(rec.get("_id", rec.get("id", ""))), rec.get("text")
        if why := check_id(qid, "query id"):
            out.problems.append(Problem(str(qpath), why, line))
        elif not isinstance(text, str) or not text.strip():
            out.problems.append(Problem(str(qpath), "field `text` is missing or empty", line))
        else:
            queries[qid] = text
    judged: set[str] = set()
    for tsv in sorted((root / "qrels").glob("*.tsv")):
        split = {"train": "train", "dev": "dev", "validation": "dev"}.get(tsv.stem, "test")
        for qid, rels in _beir_qrels(tsv, out, enc).items():
            relevant = tuple(sorted(d for d, s in rels.items() if s > 0))
            missing = [d for d in relevant if d not in docs]
            if qid not in queries or missing:
                why = (
                    "query not in queries.jsonl"
                    if qid not in queries
                    else f"judged doc {missing[0]!r} not in corpus.jsonl"
                )
                out.skipped.append((f"{tsv}:{qid}", why))
                continue
            # a query judged in two qrels files (rare) gets a split-prefixed second id
            item_id = f"{tsv.stem}:{qid}" if qid in judged else qid
            judged.add(qid)
            out.dataset.qa.append(
                QAItem(id=item_id,
                       question=queries[qid], answer="", sources=relevant, split=split,
                       metadata={"qrels": rels})
            )  # fmt: skip
    unjudged = len(queries) - len(judged)
    if unjudged:
        out.skipped.append((str(qpath), f"{unjudged} queries have no relevance judgments"))


FORMATS: dict[str, Format] = {}


def register_format(fmt: Format) -> None:
    """Add a loader; later registrations are tried first by auto-detection."""
    FORMATS[fmt.name] = fmt


for _f in (
    Format("folder", lambda p: p.is_dir(), _load_folder, "plain folder of .md/.txt/.html pages"),
    Format("csv", lambda p: p.is_file() and p.suffix.lower() == ".csv", _load_csv, "CSV: id,title,text"),
    Format(
        "jsonl",
        lambda p: p.is_file() and p.suffix.lower() == ".jsonl",
        _load_jsonl,
        "JSONL documents",
    ),
    Format("beir", lambda p: (p / "corpus.jsonl").is_file(), _load_beir, "BEIR folder"),
    Format("ftrag", lambda p: (p / "docs").is_dir(), _load_ftrag, "ftrag dataset folder"),
):
    register_format(_f)


def detect_format(path: Path) -> str:
    for name in reversed(list(FORMATS)):
        if FORMATS[name].detect(path):
            return name
    raise DataError(f"cannot tell the format of {path}; pass --format ({', '.join(FORMATS)})", path)


def load(
    path: str | Path,
    qa: str | Path | None = None,
    fmt: str = "auto",
    encoding_errors: str = "strict",
) -> Loaded:
    """Load a corpus (and questions) collecting every problem instead of stopping at the first.

    Raises :class:`DataError` only when nothing can be read at all (missing path, unknown format).
    """
    path = Path(path)
    if not path.exists():
        raise DataError("no such file or folder; check the path", path)
    if encoding_errors not in ("strict", "replace"):
        raise DataError(f"--encoding-errors must be strict or replace, not {encoding_errors!r}", path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", path)
    out = Loaded(Dataset(name=path.stem if path.is_file() else path.name, docs={}), fmt=fmt)
    FORMATS[fmt].load(path, out, encoding_errors)
    if qa is not None:
        qa_path = Path(qa)
        if not qa_path.is_file():
            raise DataError("questions file not found; check --qa", qa_path)
        items = load_qa(qa_path, out, encoding_errors)
        check_sources(items, out.dataset.docs, qa_path, out)
        out.dataset.qa.extend(q for _, q in items)
    if not out.dataset.docs:
        out.problems.insert(0, Problem(str(path), f"empty corpus: no documents found ({FORMATS[fmt].help})"))
    elif not any(d.text.strip() for d in out.dataset.docs.values()):
        where = path / "docs" if fmt == "ftrag" else path
        n = len(out.dataset.docs)
        out.problems.insert(
            0, Problem(str(where), f"no text in any of the {n} documents; nothing to retrieve or train on")
        )
    return out


def load_dataset(
    path: str | Path,
    qa: str | Path | None = None,
    fmt: str = "auto",
    encoding_errors: str = "strict",
) -> Dataset:
    """Load a dataset, raising :class:`DataError` (first problem, one line) if anything is wrong."""
    loaded = load(path, qa=qa, fmt=fmt, encoding_errors=encoding_errors)
    if loaded.problems:
        raise DataError(loaded.problems)
    return loaded.dataset
