from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from corpus.chunking import ChunkConfig, chunk_document, count_tokens
from corpus.model import Document

PAGE = """# Guide

Intro paragraph about the guide.

## Install

Run the installer. It takes two minutes.

### Linux

Use the package manager.

## Long section

""" + "\n\n".join(f"Paragraph {i} " + "word " * 30 + "end." for i in range(8))


def test_ids_heading_paths_and_budget() -> None:
    doc = Document("guide", "Guide", PAGE)
    cfg = ChunkConfig(max_tokens=64, overlap_tokens=10)
    chunks = chunk_document(doc, cfg)
    assert [c.chunk_id for c in chunks] == [f"guide#{i}" for i in range(len(chunks))]
    assert all(c.n_tokens <= cfg.max_tokens for c in chunks)
    assert chunks[0].text.startswith("Guide\n\nIntro paragraph")
    assert "Guide > Install > Linux" in "\n".join(c.text for c in chunks)
    long = [c for c in chunks if c.heading_path == ("Guide", "Long section")]
    assert len(long) > 2 and all(c.text.startswith("Guide > Long section\n\n") for c in long)


def test_overlap_repeats_the_tail_of_the_previous_window() -> None:
    doc = Document("g", "Guide", PAGE)
    chunks = [
        c for c in chunk_document(doc, ChunkConfig(max_tokens=80, overlap_tokens=38)) if "Paragraph" in c.text
    ]
    assert len(chunks) >= 3  # the loop below compares at least two pairs
    for a, b in itertools.pairwise(chunks):
        last_para_of_a = a.text.split("\n\n")[-1]
        assert last_para_of_a in b.text


def test_small_sections_merge_unless_disabled() -> None:
    doc = Document("g", "Guide", "# Guide\n\n## A\n\nalpha.\n\n## B\n\nbeta.")
    assert len(chunk_document(doc)) == 1
    assert len(chunk_document(doc, ChunkConfig(merge_sections=False))) == 2


def test_code_fence_hash_is_not_a_heading() -> None:
    doc = Document("g", "G", "# G\n\n```\n# not a heading\n```\n")
    (chunk,) = chunk_document(doc)
    assert chunk.heading_path == ("G",) and "# not a heading" in chunk.text


def test_chunk_ids_stable_for_unchanged_text() -> None:
    doc = Document("g", "Guide", PAGE)
    a = chunk_document(doc, ChunkConfig(max_tokens=64, overlap_tokens=10))
    b = chunk_document(replace(doc, metadata={"x": 1}), ChunkConfig(max_tokens=64, overlap_tokens=10))
    assert [(c.chunk_id, c.content_hash) for c in a] == [(c.chunk_id, c.content_hash) for c in b]
    edited = chunk_document(
        replace(doc, text=PAGE.replace("Paragraph 7", "Paragraph seven")), ChunkConfig(64, 10)
    )
    assert [c.content_hash for c in edited][:-1] == [c.content_hash for c in a][:-1]  # only the tail moved


def test_count_tokens() -> None:
    assert count_tokens("Hello, world! It's 2.5 km.") == 12


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"max_tokens": 8}, "max_tokens"),
        ({"overlap_tokens": -1}, "overlap_tokens"),
        ({"max_tokens": 40, "overlap_tokens": 20}, "overlap_tokens"),
    ],
)
def test_config_validation_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=f"`{field}`"):
        ChunkConfig(**kwargs)
