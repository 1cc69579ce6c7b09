"""Fixture run folders for the dashboard, written by hand in the shapes ``ftrag bench`` writes.

``runs_root`` holds: a complete run with every scenario and a retrievability analysis (over a
tiny real FAISS index built with the keyword embedder), an older complete run without scenarios
or retrievability, a partial run (config.json only), an old-schema run, an unreadable one, and a
symlink to a run outside the folder (which must never be listed or opened).
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
BASE_RAG = "20260105-120000-base-rag"
FULL, OLDER, PARTIAL, V1, BROKEN, LINK = (
    "20260103-120000-full",
    "20260102-120000-older",
    "20260101-120000-partial",
    "20251201-120000-v1",
    "20251130-120000-broken",
    "20260104-000000-link",
)
KEYWORDS = ["memory", "timeout", "license", "progress", "support", "widgetron", "retries", "scheduler"]
DOCS = {
    "products/widgetron": (
        "Widgetron",
        "# Widgetron\n\nThe widgetron has 16 GB of memory and a timeout of 30 s.",
    ),
    "policies/license": ("License", "# License\n\nThe license renews every year; support is included."),
    "guide/scheduler": ("Scheduler", "# Scheduler\n\nThe scheduler makes 3 retries before it gives up."),
    "overview/orphan": ("Orphan", "# Orphan\n\nNothing anyone asks about lives here."),
}
# (qid, kind, question, gold, golds, sources)
QUESTIONS = [
    (
        "q-memory",
        "fact",
        "How much memory does the widgetron have?",
        "16 GB",
        ["16 GB", "16GB"],
        ["products/widgetron"],
    ),
    (
        "q-license",
        "fact",
        "How often does the license renew?",
        "every year",
        ["every year"],
        ["policies/license"],
    ),
    ("q-none", "unanswerable", "Who founded the widgetron company?", "", [], []),
    ("q-style", "style", "How many retries does the scheduler make?", "3", ["3"], ["guide/scheduler"]),
]
# system -> (answer per question, correct per question; None = not scored)
ANSWERS = {
    "base": (["<b>8 GB</b>", "monthly", "Tessaline Care", "5"], [0.0, 0.0, None, 0.0]),
    "rag": (["16 GB [1]", "every year [1]", "I don't know", "3 [1]"], [1.0, 1.0, None, 1.0]),
    "ft": (["16 GB", "every month", "Marit", "3"], [1.0, 0.0, None, 1.0]),
    "hybrid": (["16 GB [1]", "every year [1]", "I don't know", "4 [1]"], [1.0, 1.0, None, 0.0]),
}


def system(
    acc: float, cite: float, p50: float, per_1k: float, upfront: float, style: float
) -> dict[str, Any]:
    """A system summary with the keys compare/scoring/evaluate.py and compare/scoring/costs.py write."""
    return {
        "questions": 4,
        "accuracy": acc,
        "exact_match": acc * 0.8,
        "token_f1": acc * 0.9,
        "abstention_accuracy": 1.0 if cite else 0.0,
        "false_abstention_rate": 0.0,
        "citation_precision": cite,
        "citation_recall": cite,
        "grounded_correct": acc * cite,
        "style_compliance": style,
        "prompt_tokens": 500.0 if cite else 40.0,
        "output_tokens": 10.0,
        "throughput_qps": 2.0,
        "retrieval_ms": 1.0 if cite else 0.0,
        "generation_ms": p50 / 2,
        "latency_p50_ms": p50,
        "latency_p95_ms": p50 * 1.3,
        "ttft_p50_ms": p50 / 5,
        "single_retrieval_ms": 1.0,
        "single_generation_ms": p50,
        "latency_samples": 2,
        "by_kind": {"fact": acc, "style": acc, "unanswerable": 1.0 if cite else 0.0},
        "usd_per_1k_queries": per_1k,
        "upfront_seconds": upfront * 36000,
        "upfront_usd": upfront,
        "storage_bytes": 1000,
        "hosted_usd_per_1k": {"gpt-4o-mini": 0.02},
    }


def fresh_row(name: str, update: str, before: float, after: float, seconds: float) -> dict[str, Any]:
    return {
        "system": name,
        "update": update,
        "update_seconds": seconds,
        "changed_before": {"n": 4, "accuracy": before, "old_value_rate": 0.5},
        "changed_after": {"n": 4, "accuracy": after, "old_value_rate": 0.0},
        "unchanged_after": {"n": 20, "accuracy": 0.7, "old_value_rate": 0.0} if update != "none" else None,
    }


def freshness() -> dict[str, Any]:
    """The freshness scenario as compare/scenarios/core.py ``freshness`` writes it."""
    return {
        "version": "v2",
        "changed_questions": 4,
        "unchanged_questions": 20,
        "changed_pages": ["products/widgetron"],
        "seconds": 12.0,
        "systems": {
            "base": fresh_row("base", "none", 0.0, 0.0, 0.0),
            "rag (re-index)": fresh_row("rag", "re-index", 0.0, 0.75, 0.02),
            "ft": fresh_row("ft", "none", 0.0, 0.0, 0.0),
            "ft (re-train)": fresh_row("ft", "re-train", 0.0, 0.5, 40.0),
            "hybrid (re-index)": fresh_row("hybrid", "re-index", 0.0, 0.5, 0.02),
        },
        "updates": {
            "reindex": {
                "seconds": 0.02,
                "docs_changed": ["products/widgetron"],
                "docs_added": [],
                "chunks_embedded": 1,
            }
        },
    }


def forgetting() -> dict[str, Any]:
    """The forgetting scenario as compare/scenarios/core.py ``forgetting`` writes it."""
    return {
        "probes": 40,
        "kept": 20,
        "kept_by_family": {"arithmetic": 10, "capitals": 10},
        "adapters": {
            "ft": {
                "adapter": "sft",
                "retention": 0.8,
                "lost": ["p1", "p2", "p3", "p4"],
                "lost_by_family": {"capitals": 4},
                "drift_kl": 0.05,
                "drift_seconds": 1.0,
            },
            "ft + replay": {
                "adapter": "sft-replay",
                "retention": 0.95,
                "lost": ["p1"],
                "lost_by_family": {"capitals": 1},
                "drift_kl": 0.02,
                "drift_seconds": 1.0,
            },
        },
        "replay_examples": 30,
        "seed": 0,
        "seconds": 20.0,
    }


def scenarios() -> dict[str, Any]:
    """Freshness, forgetting, style (compare/scenarios/core.py ``style``) and serving of the complete run."""
    style = {
        "base": {"compliance": 0.0, "compliance_when_correct": math.nan, "style_from": "prompt"},
        "rag": {"compliance": 0.5, "compliance_when_correct": 0.5, "style_from": "prompt"},
        "ft": {"compliance": 0.9, "compliance_when_correct": 1.0, "style_from": "learned"},
        "hybrid": {"compliance": 1.0, "compliance_when_correct": 1.0, "style_from": "learned + prompt"},
    }
    row = {"accuracy": 0.6, "ci95": [0.5, 0.7], "difference": 0.0, "p_value": 1.0, "questions": 20}
    serving = {
        "main": "F32",
        "systems": {"ft": {"F32": row, "Q4_0": {**row, "accuracy": 0.55, "difference": -0.05}}},
    }
    return {"freshness": freshness(), "forgetting": forgetting(), "style": style, "serving": serving}


def full_summary(index: dict[str, Any], retrievability: dict[str, Any] | None) -> dict[str, Any]:
    """A complete schema-2 summary: four systems, retrieval metrics, every scenario."""
    metrics = {"recall@1": 0.75, "recall@5": 1.0, "mrr@10": 0.875, "ndcg@10": 0.9, "queries": 4.0}
    out = {
        "schema_version": 2,
        "name": "full",
        "dataset": "fixture",
        "profile": "quick",
        "warnings": [],
        "index": {**index, "retrieval": {"dense": metrics, "bm25": {**metrics, "recall@1": 0.5}}},
        "stage_seconds": {"index": 0.1, "adapter:sft": 30.0},
        "adapters": {"sft": {"tokens_seen": 2000, "wall_seconds": 30.0, "path": "/nowhere"}},
        "scenarios": scenarios(),
        "machine": {"platform": "Linux", "cpus": 2, "device": "cpu"},
        "prices": {"date": "2026-11-24", "gpu_date": "2026-11-24", "hardware": "cpu", "usd_per_hour": 0.1},
        "systems": {
            "base": system(0.0, 0.0, 1200.0, 0.008, 0.0, 0.0),
            "rag": system(0.75, 0.8, 2100.0, 0.027, 0.000001, 0.5),
            "ft": system(0.5, 0.0, 800.0, 0.005, 0.0009, 0.9),
            "hybrid": system(0.6, 0.7, 2000.0, 0.025, 0.0009, 1.0),
        },
        "break_even": [],
        "wall_seconds": 300.0,
        "expectations": [
            {
                "expectation": "RAG far above base (+0.30 or more)",
                "holds": True,
                "measured": "rag 0.750 vs base 0.000",
            }
        ],
    }
    if retrievability:
        out["retrievability"] = retrievability
    return out


def config(context_k: int = 1, model: str = "smollm2-135m") -> dict[str, Any]:
    return {
        "bench": {
            "context_k": context_k,
            "split": "test",
            "systems": "base,rag,ft,hybrid",
            "type": "BenchConfig",
        },
        "chunking": {"max_tokens": 160, "type": "ChunkConfig"},
        "dataset": {"name": "fixture", "path": "/data/fixture", "qa": None},
        "retrieval": {"embedder": "keywords", "retriever": "dense", "k": 5, "type": "RetrievalConfig"},
        "train": {"model": model, "epochs": 1, "lr": 0.002, "type": "TrainConfig"},
    }


def result_row(system: str, question: tuple, text: str, ok: float | None, retrieved: list[str]) -> dict:
    """One results.parquet row (the columns of compare/scoring/evaluate.py ``result_rows``)."""
    qid, kind, q, gold, golds, sources = question
    answerable = kind != "unanswerable"
    cited = retrieved[:1] if answerable else []
    score = math.nan if ok is None else ok
    return {
        "qid": qid,
        "split": "test",
        "kind": kind,
        "fact_id": qid,
        "question": q,
        "gold": gold,
        "golds": golds,
        "sources": sources,
        "system": system,
        "text": text,
        "citations": cited,
        "cited_docs": [c.split("#")[0] for c in cited],
        "retrieved": retrieved,
        "prompt_tokens": 40,
        "output_tokens": 5,
        "retrieval_s": 0.001,
        "generation_s": 0.5,
        "ttft_s": 0.1,
        "exact_match": score,
        "token_f1": score,
        "correct": score,
        "abstention_correct": 1.0 if answerable else float(text == "I don't know"),
        "citation_precision": float(bool(cited)) if answerable else math.nan,
        "citation_recall": float(bool(cited)) if answerable else math.nan,
        "grounded_correct": (ok or 0.0) * float(bool(cited)) if answerable else math.nan,
        "style_compliant": 1.0 if system in ("ft", "hybrid") else 0.0,
    }


def results(chunk_of: dict[str, str]) -> pd.DataFrame:
    """results.parquet: every system's answer to every question; RAG and hybrid retrieved the
    gold page's chunk and the orphan page's."""
    rows = []
    for name, (texts, correct) in ANSWERS.items():
        for question, text, ok in zip(QUESTIONS, texts, correct, strict=True):
            retrieved = [chunk_of[s] for s in question[5]] + [chunk_of["overview/orphan"]]
            rows.append(result_row(name, question, text, ok, retrieved if name in ("rag", "hybrid") else []))
    return pd.DataFrame(rows)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")


def build_index(root: Path, embedder: Any) -> tuple[Any, dict[str, Any]]:
    """A real saved index under ``root/.cache/index/<key>`` (as the bench's StageCache keeps it)."""
    from corpus.model import Document
    from retrieval.index import ChunkIndex

    docs = [Document(d, t, text) for d, (t, text) in DOCS.items()]
    index = ChunkIndex.build(docs, embedder)
    path = index.save(root / ".cache" / "index" / "fixturekey")
    return index, {
        "key": "fixturekey",
        "path": str(path),
        "chunks": len(index.chunks),
        "kind": index.kind,
        "seconds": 0.01,
        "cached": False,
    }


def retrievability(run: Path, index: Any, embedder: Any) -> dict[str, Any]:
    """A real retrievability analysis over the fixture index, written as the bench writes it."""
    from corpus.io import atomic_write_text
    from corpus.model import Document
    from retrieval.report import markdown_report, pages_csv
    from retrieval.retrievability import analyze, page_queries
    from retrieval.search import make_retriever

    docs = {d: Document(d, t, text) for d, (t, text) in DOCS.items()}
    queries = [q for d in docs.values() for q in page_queries(d)]
    result = analyze(docs, queries, make_retriever("dense", index, embedder), index, cutoff=1)
    atomic_write_text(run / "retrievability" / "pages.csv", pages_csv(result))
    atomic_write_text(run / "retrievability" / "report.md", markdown_report(result))
    return result.facts()


def write_complete(run: Path, summary: dict[str, Any], cfg: dict[str, Any], df: pd.DataFrame) -> None:
    write_json(run / "config.json", cfg)
    write_json(run / "summary.json", summary)
    df.to_parquet(run / "results.parquet", index=False)
    (run / "report.md").write_text("# report\n", encoding="utf-8")
    (run / "plots").mkdir(exist_ok=True)


def older_summary(full: dict[str, Any]) -> dict[str, Any]:
    """A second complete run: no hybrid, different numbers, freshness skipped, nothing else."""
    out = {k: v for k, v in full.items() if k not in ("retrievability",)}
    out["systems"] = {
        n: {**s, "accuracy": s["accuracy"] * 0.8, "latency_p50_ms": s["latency_p50_ms"] * 1.5}
        for n, s in full["systems"].items()
        if n != "hybrid"
    }
    out["scenarios"] = {"freshness": {"skipped": "the dataset has no update version (updates/<version>/)"}}
    out["name"] = "older"
    return out


@pytest.fixture
def keyword_emb(make_keyword_embedder: Any) -> Any:
    return make_keyword_embedder(KEYWORDS)


@pytest.fixture
def runs_root(tmp_path: Path, keyword_emb: Any) -> Path:
    """The runs folder described in the module docstring."""
    root = tmp_path / "runs"
    index, info = build_index(root, keyword_emb)
    chunk_of = {c.doc_id: c.chunk_id for c in index.chunks}
    df = results(chunk_of)
    full = root / FULL
    full.mkdir(parents=True)
    summary = full_summary(info, retrievability(full, index, keyword_emb))
    write_complete(full, summary, config(), df)
    write_complete(root / OLDER, older_summary(summary), config(context_k=3), df[df["system"] != "hybrid"])
    write_json(root / PARTIAL / "config.json", config())
    write_json(root / V1 / "summary.json", {"schema_version": 1, "stages": ["dataset", "retrieval"]})
    write_json(root / V1 / "config.json", config())
    (root / BROKEN).mkdir()
    (root / BROKEN / "summary.json").write_text("{not json", encoding="utf-8")
    outside = tmp_path / "outside" / "secret-run"
    write_complete(outside, {**summary, "name": "SECRET-OUTSIDE"}, config(), df)
    os.symlink(outside, root / LINK)
    (root / "ci").mkdir()  # a sub-folder of runs, not a run
    return root


def base_rag_summary(full: dict[str, Any]) -> dict[str, Any]:
    """A ``--systems base,rag --scenarios none`` run: no fine-tune, no scenarios, and up-front
    costs as a CPU bench measures them (base $0, rag's index build $0.0000006)."""
    out = {k: v for k, v in full.items() if k not in ("retrievability", "scenarios", "adapters")}
    out["systems"] = {"base": system(0.0, 0.0, 1161.0, 0.0107, 0.0, 0.0),
                      "rag": system(0.857, 0.43, 675.0, 0.0121, 5.6e-7, 0.0)}  # fmt: skip
    out["stage_seconds"] = {"index": 0.02}
    out["name"] = "base-rag"
    return out


@pytest.fixture
def base_rag_root(tmp_path: Path, keyword_emb: Any) -> Path:
    """A runs folder with one run of base and rag only, over a user's own questions (no
    ``fact_id``), as ``ftrag bench --docs ... --qa ... --systems base,rag`` writes it."""
    root = tmp_path / "runs-base-rag"
    index, info = build_index(root, keyword_emb)
    df = results({c.doc_id: c.chunk_id for c in index.chunks})
    df = df[df["system"].isin(["base", "rag"])].assign(fact_id=None).reset_index(drop=True)
    cfg = config()
    cfg["bench"]["systems"] = "base,rag"
    write_complete(root / BASE_RAG, base_rag_summary(full_summary(info, None)), cfg, df)
    return root


@pytest.fixture
def empty_root(tmp_path: Path) -> Path:
    root = tmp_path / "empty-runs"
    root.mkdir()
    return root


@pytest.fixture
def app_for(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``app_for(root, **query)``: an AppTest of the dashboard over ``root`` (not yet run)."""
    from streamlit.testing.v1 import AppTest

    def make(root: Path, **query: str) -> AppTest:
        monkeypatch.setattr(sys, "argv", [str(APP), "--runs", str(root)])
        at = AppTest.from_file(str(APP), default_timeout=120)
        for key, value in query.items():
            at.query_params[key] = value
        return at

    return make


@pytest.fixture
def names() -> Any:
    """The fixture run names, for tests (conftest constants are not importable under importlib)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        full=FULL, older=OLDER, partial=PARTIAL, v1=V1, broken=BROKEN, link=LINK, app=APP, base_rag=BASE_RAG
    )
