"""Chunking by headings and token budget, with overlap.

Each chunk keeps its heading path as a first line (``Title > Section > Subsection``): a chunk
cut out of the middle of a page must still say what it is about, or neither the embedder nor
the reader can tell two near-identical product pages apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from corpus.errors import UserError
from corpus.markup import Section, sections
from corpus.model import Chunk, Document

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


def count_tokens(text: str) -> int:
    """Word-and-punctuation count: a fast, model-free proxy for subword tokens.

    Subword tokenizers give about 1.2-1.4x this on English prose; the budget defaults below
    leave room for that so a chunk stays inside a 256-token embedder window.
    """
    return len(_TOKEN.findall(text))


@dataclass(frozen=True)
class ChunkConfig:
    """How documents are cut into chunks.

    Args:
        max_tokens: token budget per chunk, heading line included.
        overlap_tokens: tokens of the previous chunk repeated at the start of the next one
            within a section, so a fact split across a boundary is whole in one of them.
        by_headings: start a new chunk at every heading (sections never share a chunk).
        heading_context: prefix each chunk with its heading path.
        merge_sections: pack consecutive small sections into one chunk while they fit.
    """

    max_tokens: int = field(default=160, metadata={"help": "token budget per chunk"})
    overlap_tokens: int = field(default=24, metadata={"help": "overlap inside a section"})
    by_headings: bool = field(default=True, metadata={"help": "split at headings"})
    heading_context: bool = field(default=True, metadata={"help": "prefix heading path"})
    merge_sections: bool = field(default=True, metadata={"help": "pack small sections together"})

    def __post_init__(self) -> None:
        if not isinstance(self.max_tokens, int) or self.max_tokens < 16:
            raise UserError(f"`max_tokens` must be an integer >= 16, got {self.max_tokens!r}")
        if not isinstance(self.overlap_tokens, int) or self.overlap_tokens < 0:
            raise UserError(f"`overlap_tokens` must be >= 0, got {self.overlap_tokens!r}")
        if self.overlap_tokens >= self.max_tokens // 2:
            raise UserError(
                f"`overlap_tokens` ({self.overlap_tokens}) must be less than half of "
                f"`max_tokens` ({self.max_tokens})"
            )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _units(text: str, budget: int, counter: Callable[[str], int]) -> list[str]:
    """Split text into packable units: paragraphs, else sentences, else word windows."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para:
            continue
        if counter(para) <= budget:
            out.append(para)
            continue
        for sent in _SENTENCE.split(para):
            if counter(sent) <= budget:
                out.append(sent)
                continue
            words = sent.split()
            step = max(1, budget * 2 // 3)  # words run ~1.3 tokens each with punctuation
            out.extend(" ".join(words[i : i + step]) for i in range(0, len(words), step))
    return out


def _pack(units: list[str], budget: int, overlap: int, counter: Callable[[str], int]) -> list[str]:
    """Greedily pack units into windows of at most ``budget`` tokens with trailing overlap."""
    windows: list[str] = []
    cur: list[str] = []
    cur_tokens = 0
    for unit in units:
        n = counter(unit)
        if cur and cur_tokens + n > budget:
            windows.append("\n\n".join(cur))
            keep: list[str] = []
            kept = 0
            for prev in reversed(cur):  # carry whole trailing units that fit the overlap
                m = counter(prev)
                if kept + m > overlap or kept + m + n > budget:
                    break
                keep.insert(0, prev)
                kept += m
            cur, cur_tokens = keep, kept
        cur.append(unit)
        cur_tokens += n
    if cur:
        windows.append("\n\n".join(cur))
    return windows


def _header(doc: Document, path: tuple[str, ...], config: ChunkConfig) -> str:
    if not path or path[0] != doc.title:
        path = (doc.title, *path)
    return " > ".join(path) if config.heading_context else ""


def chunk_document(
    doc: Document,
    config: ChunkConfig | None = None,
    counter: Callable[[str], int] = count_tokens,
) -> list[Chunk]:
    """Cut one document into chunks; ids are ``doc_id#0``, ``doc_id#1``, ...

    Sections that fit the budget become blocks (heading path line + body); with
    ``merge_sections`` consecutive small blocks share a chunk, so a short page is one chunk
    rather than four fragments. A section over the budget is split alone, with overlap, each
    window keeping the heading path.
    """
    config = config or ChunkConfig()
    if config.by_headings:
        parts = sections(doc.text)
    else:
        body = "\n".join(ln for ln in doc.text.split("\n") if not re.match(r"^#{1,6}\s", ln))
        parts = [Section((), body)]
    pieces: list[tuple[tuple[str, ...], str, bool]] = []  # (path, text, mergeable)
    for sec in parts:
        header = _header(doc, sec.heading_path, config)
        block = f"{header}\n\n{sec.text}" if header else sec.text
        if counter(block) <= config.max_tokens:
            pieces.append((sec.heading_path, block, True))
            continue
        budget = max(config.max_tokens - counter(header), config.max_tokens // 2)
        for window in _pack(_units(sec.text, budget, counter), budget, config.overlap_tokens, counter):
            pieces.append((sec.heading_path, f"{header}\n\n{window}" if header else window, False))
    merged: list[tuple[tuple[str, ...], str, bool]] = []  # a split window stays closed
    for path, text, mergeable in pieces:
        prev_open = merged and config.merge_sections and mergeable and merged[-1][2]
        if prev_open and counter(merged[-1][1]) + counter(text) <= config.max_tokens:
            merged[-1] = (merged[-1][0], merged[-1][1] + "\n\n" + text, True)
        else:
            merged.append((path, text, mergeable))
    chunks = []
    for n, (path, text, _) in enumerate(merged):
        full = path if path and path[0] == doc.title else (doc.title, *path)
        chunks.append(Chunk(f"{doc.doc_id}#{n}", doc.doc_id, text, full, counter(text)))
    return chunks


def chunk_documents(
    docs: Iterable[Document],
    config: ChunkConfig | None = None,
    counter: Callable[[str], int] = count_tokens,
) -> list[Chunk]:
    """Chunk many documents, in the order given."""
    return [c for d in docs for c in chunk_document(d, config, counter)]
