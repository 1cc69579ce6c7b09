"""Small I/O helpers: atomic writes and strict reading of user files."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpus.errors import Problem

MAX_FILE_BYTES = 50 * 1024 * 1024  # one page over 50 MB is a data export, not documentation


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder, then rename.

    A crash leaves either the old file or the new one, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dumps_jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def replace_dir(staging: Path, target: Path) -> None:
    """Swap a fully written ``staging`` folder into place at ``target``."""
    target = Path(target)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_text(path: Path, problems: list[Problem], encoding_errors: str = "strict") -> str | None:
    """Read a UTF-8 text file, reporting binary, oversized or undecodable files as problems.

    With ``encoding_errors="replace"`` bad bytes become U+FFFD and the file still loads; the
    caller is told through a problem-free return and can list it as decoded with replacement.
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            problems.append(
                Problem(str(path), f"file is too large ({size} bytes > {MAX_FILE_BYTES}); split it")
            )
            return None
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(str(path), f"cannot read file: {exc.strerror or exc}"))
        return None
    if b"\x00" in data[:8192]:
        problems.append(Problem(str(path), "binary file (contains NUL bytes); remove it from the corpus"))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if encoding_errors == "replace":
            return data.decode("utf-8-sig", errors="replace")
        line = data[: exc.start].count(b"\n") + 1
        problems.append(
            Problem(
                str(path),
                f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); convert the file to UTF-8 "
                "or pass --encoding-errors replace",
                line,
            )
        )
        return None


def iter_jsonl(
    path: Path, problems: list[Problem], encoding_errors: str = "strict"
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)`` for each JSON object line; report bad lines as problems."""
    text = read_text(path, problems, encoding_errors)
    if text is None:
        return
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(path), f"malformed JSON ({exc.msg} at column {exc.colno})", n))
            continue
        if not isinstance(rec, dict):
            problems.append(Problem(str(path), f"expected a JSON object, got {type(rec).__name__}", n))
            continue
        yield n, rec
