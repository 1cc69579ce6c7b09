from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from corpus.model import Document
from retrieval.index import ChunkIndex
from retrieval.report import markdown_report, pages_csv, write_report
from retrieval.retrievability import (
    PageQuery,
    analyze,
    cumulative_r,
    gini,
    gravity_r,
    lorenz_curve,
    page_queries,
    winner_of,
)
from retrieval.search import make_retriever


@pytest.mark.parametrize(
    "values, expected", [([1, 1, 1, 1], 0.0), ([0, 0, 0, 1], 0.75), ([0, 0, 0, 0], 0.0), ([1, 2, 3], 2 / 9)]
)
def test_gini_exact(values: list[float], expected: float) -> None:
    assert gini(values) == pytest.approx(expected)


def test_lorenz_curve() -> None:
    x, y = lorenz_curve([3, 1])
    assert np.allclose(x, [0, 0.5, 1]) and np.allclose(y, [0, 0.25, 1])


def test_cumulative_and_gravity_forms() -> None:
    ranks = [1, 4, None, 11]
    assert cumulative_r(ranks, 10) == 2.0
    assert gravity_r(ranks, 10, beta=0.5) == pytest.approx(1 + 1 / 2)
    assert gravity_r(ranks, 10, beta=0.0) == 2.0


def test_winner_of() -> None:
    assert winner_of(["a", "b", "b", None, "a", "b"], "a") == "b"
    assert winner_of(["a", None], "a") is None


def test_page_queries_skip_generic_headings() -> None:
    doc = Document(
        "p", "Pump", "# Pump\n\n## Overview\n\nThe pump moves water up to the tank.\n\n## Priming\n\nx"
    )
    qs = page_queries(doc)
    texts = [q.text for q in qs]
    assert "Pump" in texts and "Pump Priming" in texts and "Pump Overview" not in texts
    assert "The pump moves water up to the tank." in texts
    assert all(q.origin == "p" for q in qs) and len(texts) == len(set(texts))


def _corpus() -> dict[str, Document]:
    docs = [
        Document("memory", "Memory", "# Memory\n\nmemory memory widgetron"),
        Document("memory-copy", "Memory", "# Memory\n\nmemory memory widgetron license"),  # near twin
        Document("license", "License", "# License\n\nlicense terms"),
        Document("orphan", "Orphan", "# Orphan\n\nnothing anyone asks about"),
    ]
    return {d.doc_id: d for d in docs}


def test_analyze_finds_never_retrieved_and_near_duplicates(make_keyword_embedder, tmp_path: Path) -> None:
    emb = make_keyword_embedder(["memory", "license", "widgetron"])
    docs = _corpus()
    index = ChunkIndex.build(list(docs.values()), emb)
    queries = [PageQuery("memory", "memory-copy", "given"), PageQuery("license", "license", "given")] * 3
    result = analyze(docs, queries, make_retriever("dense", index, emb), index, cutoff=1)
    pages = {p.doc_id: p for p in result.pages}
    assert pages["orphan"].status == "never" and pages["orphan"].r_cumulative == 0
    assert pages["license"].r_cumulative == 3 and pages["license"].own_top1 == 1.0
    assert pages["memory"].r_cumulative == 3  # it wins the queries written for its twin
    twin = pages["memory-copy"]
    assert (
        twin.winner == "memory"
        and twin.own_top1 == 0.0
        and twin.winner_similarity == pytest.approx(10 / (10**0.5 * 11**0.5), abs=1e-3)
    )
    assert any("near-duplicate of memory" in d for d in twin.diagnoses)
    assert result.gini_cumulative == pytest.approx(gini([3, 3, 0, 0]))
    assert result.pages[0].r_cumulative == 0  # weakest first
    files = write_report(result, tmp_path / "out")
    assert all(f.exists() for f in files) and (tmp_path / "out" / "lorenz.png").read_bytes()[:4] == b"\x89PNG"
    assert "memory-copy" in pages_csv(result) and "Pages that need work" in markdown_report(result)


def test_vocabulary_mismatch_is_diagnosed(make_keyword_embedder) -> None:
    emb = make_keyword_embedder(["memory", "license"])
    docs = {"a": Document("a", "A", "# A\n\nmemory usage notes"), "b": Document("b", "B", "# B\n\nlicense")}
    index = ChunkIndex.build(list(docs.values()), emb)
    queries = [PageQuery("how much RAM ram ram gigabytes needed", "a", "given")]
    result = analyze(docs, queries, make_retriever("dense", index, emb), index, cutoff=1)
    page = {p.doc_id: p for p in result.pages}["a"]
    assert page.vocab_overlap == 0.0 and any("vocabulary mismatch" in d for d in page.diagnoses)
