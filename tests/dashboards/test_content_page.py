"""The Content page through Streamlit's AppTest, over the fixture runs folder (conftest.py): a run
without a content report (live table), a run with one (filters, drill-down), an empty runs
folder, a partial run, and a content report that is a symlink out of the runs folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from compare.content import pages as C
from compare.content import render as R
from corpus.model import Document
from dashboards import content

VIEW = "views/content.py"


def texts(at: Any) -> str:
    kinds = ("title", "subheader", "markdown", "caption", "info", "warning", "error")
    return "\n".join(
        [str(e.value) for k in kinds for e in getattr(at, k)] + [f"{m.label}: {m.value}" for m in at.metric]
    )


def open_content(app_for: Any, root: Path, **query: str) -> Any:
    at = app_for(root, **query).run()
    at.switch_page(VIEW).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Content"
    return at


def write_report(run: Path) -> pd.DataFrame:
    """A content report as ``ftrag content-report`` writes it, from the fixture run's results."""
    results = pd.read_parquet(run / "results.parquet")
    docs = {"guide/scheduler": Document("guide/scheduler", "Scheduler", "The scheduler makes 3 retries.")}
    retr = pd.DataFrame(
        [{"doc_id": "overview/orphan", "title": "Orphan", "status": "never", "r_cumulative": 0}]
    )
    inp = C.RunInputs(results, docs=docs, retrievability=retr, changed_pages=["products/widgetron"])
    table = C.page_table(inp)
    (run / "content").mkdir(exist_ok=True)
    (run / "content" / "pages.csv").write_text(R.to_csv(table), encoding="utf-8")
    return table


def test_without_a_report_the_page_shows_the_live_table(app_for: Any, runs_root: Path, names: Any) -> None:
    at = open_content(app_for, runs_root, run=names.full)
    assert "ftrag content-report" in texts(at) and "no content report yet" in texts(at)
    table = at.dataframe[0].value
    assert set(table["page"] if "page" in table else table["doc_id"]) >= {
        "products/widgetron",
        "policies/license",
    }
    assert "Pages that need work" in texts(at)


def test_report_filters_and_drill_down(app_for: Any, runs_root: Path, names: Any) -> None:
    table = write_report(runs_root / names.full)
    at = open_content(app_for, runs_root, run=names.full)
    assert "no content report yet" not in texts(at)
    assert len(at.dataframe[0].value) == len(table)
    at.multiselect(key="ct_verdict").set_value(["weak"]).run()
    weak = at.dataframe[0].value
    assert weak["doc_id"].tolist() == ["overview/orphan"]  # never retrieved; one question is too few
    at.multiselect(key="ct_verdict").set_value([])
    at.text_input(key="ct_text").set_value("scheduler").run()
    assert at.dataframe[0].value["doc_id"].tolist() == ["guide/scheduler"]
    questions = at.dataframe[1].value  # the drill-down of the only page left
    assert questions["qid"].tolist() == ["q-style"] and questions["ft"].iloc[0] == "3 ✓"
    assert questions["retrieved first"].iloc[0] == "this page"
    at.text_input(key="ct_text").set_value("no such page anywhere").run()
    assert "No page matches the filters." in texts(at)


def test_axis_filter_keeps_only_that_axis(runs_root: Path, names: Any) -> None:
    table = write_report(runs_root / names.full)
    fresh = content.filter_pages(table, ["n/a"], "freshness", "")
    assert len(fresh) == len(table)  # no update questions were given: freshness is n/a everywhere
    assert content.filter_pages(table, ["weak"], "freshness", "").empty


def test_empty_runs_folder(app_for: Any, empty_root: Path) -> None:
    at = open_content(app_for, empty_root)
    assert "No benchmark runs" in texts(at)


def test_partial_run_is_explained(app_for: Any, runs_root: Path, names: Any) -> None:
    at = open_content(app_for, runs_root, run=names.partial)
    assert "did not finish" in texts(at)


def test_report_symlinked_outside_is_not_read(
    app_for: Any, runs_root: Path, names: Any, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "pages.csv").write_text("doc_id,title\nSECRET,SECRET\n", encoding="utf-8")
    os.symlink(outside, runs_root / names.full / "content")
    at = open_content(app_for, runs_root, run=names.full)
    assert "SECRET" not in at.dataframe[0].value.to_string() and "no content report yet" in texts(at)


@pytest.mark.parametrize("broken", ['doc_id,title\n"unclosed\n', ""])
def test_unreadable_report_says_so(app_for: Any, runs_root: Path, names: Any, broken: str) -> None:
    (runs_root / names.full / "content").mkdir()
    (runs_root / names.full / "content" / "pages.csv").write_text(broken, encoding="utf-8")
    at = open_content(app_for, runs_root, run=names.full)
    assert "cannot be read" in texts(at)


def test_a_run_without_ft_or_fact_ids_says_what_is_na(app_for: Any, base_rag_root: Path, names: Any) -> None:
    """``--systems base,rag`` over a user's own questions: the live table used to fail with
    "Buffer has wrong number of dimensions" (no ft rows to group); now learning is n/a and said so."""
    at = open_content(app_for, base_rag_root, run=names.base_rag)
    table = at.dataframe[0].value
    assert set(table["learning"]) == {"n/a"} and set(table["freshness"]) == {"n/a"}
    assert table["top1"].notna().all()  # rag's retrieval is still measured (one question a page: no verdict)
    shown = texts(at)
    assert "Learning is n/a on every page: this run has no fine-tuned system (ft)" in shown
    assert "Freshness is n/a on every page" in shown
    assert "Retrieval is n/a on every page: no page is the gold source of 2 or more" in shown
    questions = at.dataframe[1].value  # the drill-down shows base and rag, no ft column
    assert {"base", "rag"} <= set(questions) and "ft" not in questions


def test_na_notes_name_what_the_run_lacks() -> None:
    pages = pd.DataFrame({"retrieval": ["n/a"], "learning": ["n/a"], "freshness": ["weak"]})
    only_base = pd.DataFrame({"system": ["base"]})
    notes = content.na_notes(only_base, pages)
    assert notes[0].startswith("Retrieval is n/a on every page: this run has no retrieval system")
    assert "no fine-tuned system (ft)" in notes[1] and len(notes) == 2
    with_ft = pd.DataFrame({"system": ["rag", "ft"]})
    assert "2 or more questions scored for ft" in content.na_notes(with_ft, pages)[1]
    assert content.na_notes(None, pages) == [] and content.na_notes(with_ft, pages.iloc[0:0]) == []
