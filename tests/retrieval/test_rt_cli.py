"""The retrieval commands end to end with the real bundled embedder (all-MiniLM-L6-v2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from compare.cli import main

    out = tmp_path_factory.mktemp("idx") / "tessaline"
    assert main(["index", "build", "tessaline", "--out", str(out)]) == 0
    return out


def test_build_writes_manifest(built: Path) -> None:
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["embedder"] == "minilm" and manifest["dim"] == 384 and manifest["kind"] == "flat"
    assert len(manifest["chunk_ids"]) == manifest["n_vectors"] > 40


def test_search_prints_ranked_chunks(built: Path, run_cli) -> None:
    rc, out, _ = run_cli("index", "search", built, "Where is the Brisil 40 Pro assembled?", "-k", "3")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith("3 hits for") and "products/brisil-40-pro#0" in lines[1]


@pytest.mark.parametrize(
    "args, expected",
    [
        (("   ",), "empty query"),
        (("",), "empty query"),
        (("battery", "--embedder", "other"), "built with embedder 'minilm', not 'other'"),
    ],
)
def test_search_bad_input(built: Path, run_cli, args: tuple[str, ...], expected: str) -> None:
    rc, out, err = run_cli("index", "search", built, *args)
    assert rc == 2 and expected in err and err.count("\n") == 1 and out == ""


def test_search_missing_index(run_cli, tmp_path: Path) -> None:
    rc, _, err = run_cli("index", "search", tmp_path / "none", "battery")
    assert rc == 2 and "no index here" in err


def test_long_query_is_truncated_with_a_note(built: Path, run_cli) -> None:
    rc, out, err = run_cli("index", "search", built, "battery life " * 200, "-k", "1")
    assert rc == 0 and "reads only the first 256" in err and out.startswith("1 hits")


def test_eval_table_on_the_bundled_dataset(run_cli, tmp_path: Path) -> None:
    rc, out, _ = run_cli(
        "retrieval", "eval", "tessaline", "--retriever", "all", "--json", tmp_path / "m.json"
    )
    assert rc == 0 and "ndcg@10" in out
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert set(metrics) == {"bm25", "dense", "hybrid"}
    # the product name is in every question: dense retrieval puts the right page first
    assert metrics["dense"]["hit@1"] >= 0.9 and metrics["dense"]["queries"] > 200


def test_eval_on_beir(tmp_path: Path, run_cli) -> None:
    root = tmp_path / "beir"
    root.mkdir()
    docs = {"d1": "The pump moves water uphill.", "d2": "The lamp gives bright light.", "d3": "Bread recipe."}
    (root / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in docs.items())
    )
    (root / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "pump water"}\n{"_id": "q2", "text": "light"}\n'
    )
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    rc, out, _ = run_cli("retrieval", "eval", root, "--json", tmp_path / "m.json")
    assert rc == 0 and "2 queries" in out
    assert json.loads((tmp_path / "m.json").read_text())["dense"]["ndcg@10"] == pytest.approx(1.0)


def test_empty_corpus(run_cli, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    rc, _, err = run_cli("index", "build", tmp_path / "empty", "--out", tmp_path / "idx")
    assert rc == 2 and "empty corpus" in err and not (tmp_path / "idx").exists()


def test_update_to_v2_touches_only_changed_pages(built: Path, run_cli, tmp_path: Path) -> None:
    import shutil

    from corpus.formats import load_dataset
    from corpus.paths import datasets_dir

    idx = tmp_path / "idx"
    shutil.copytree(built, idx)
    rc, out, _ = run_cli("index", "update", idx, "tessaline", "--version", "v2")
    changed = len(load_dataset(datasets_dir() / "tessaline").updates["v2"].docs)
    assert rc == 0 and f"{changed} changed, 0 added, 0 removed" in out
    manifest = json.loads((idx / "manifest.json").read_text())
    old = json.loads((built / "manifest.json").read_text())
    moved = {d for d in manifest["doc_hashes"] if manifest["doc_hashes"][d] != old["doc_hashes"][d]}
    assert len(moved) == changed


def test_retrievability_on_a_docs_folder(mini_dir: Path, run_cli, tmp_path: Path) -> None:
    out = tmp_path / "rt"
    rc, stdout, _ = run_cli("retrievability", mini_dir / "docs", "--out", out, "--cutoff", "3")
    assert rc == 0 and "5 pages" in stdout and "Gini" in stdout
    assert {p.name for p in out.iterdir()} >= {"pages.csv", "lorenz.png", "report.md", "config.json"}
    rows = (out / "pages.csv").read_text().splitlines()
    assert len(rows) == 6 and rows[0].startswith("doc_id,title,status")
    rc, stdout, _ = run_cli(
        "retrievability", mini_dir / "docs", "--queries", mini_dir / "qa.jsonl", "--out", out
    )
    assert rc == 0 and "6 queries" in stdout


def test_onnx_backend_matches_sentence_transformers() -> None:
    import numpy as np

    from retrieval.embed import Embedder

    texts = ["How long does the battery last?", "x", "A longer text about a field barometer. " * 20, ""]
    onnx = Embedder("minilm", use_cache=False, backend="onnx")
    torch_ = Embedder("minilm", use_cache=False, backend="torch")
    assert onnx.backend == "onnx" and torch_.backend == "torch"
    a, b = onnx.encode(texts), torch_.encode(texts)
    assert a.shape == (4, 384) and np.abs(a - b).max() < 1e-4
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.abs(onnx.encode_query(texts[0]) - b[:1]).max() < 1e-4


def test_embedding_cache_skips_known_texts() -> None:
    from retrieval.embed import Embedder

    emb = Embedder("minilm")
    emb.encode(["alpha page", "beta page", "alpha page"])
    assert emb.stats["encoded"] == 2 and emb.stats["cached"] == 1  # duplicate encoded once
    again = Embedder("minilm")
    again.encode(["alpha page", "gamma page"])
    assert again.stats["encoded"] == 1 and again.stats["cached"] == 1  # alpha came from disk


def test_retrievability_queries_name_pages_as_files(mini_dir: Path, run_cli, tmp_path: Path) -> None:
    qa = tmp_path / "q.jsonl"
    qa.write_text('{"id": "a", "question": "How much memory?", "answer": "512 MB", "source": "install.md"}\n')
    rc, stdout, err = run_cli("retrievability", mini_dir / "docs", "--queries", qa, "--out", tmp_path / "rt")
    assert rc == 0 and "1 queries" in stdout, err
    qa.write_text('{"id": "a", "question": "How much memory?", "answer": "512 MB", "source": "instal"}\n')
    rc, _, err = run_cli("retrievability", mini_dir / "docs", "--queries", qa, "--out", tmp_path / "rt2")
    assert rc == 2 and "closest: install" in err
