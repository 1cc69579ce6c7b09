"""Every page of the dashboard through Streamlit's AppTest, over the fixture runs folder: the
complete run, an older run without scenarios, partial / old-schema / unreadable runs, an empty
or missing runs folder, and paths that try to leave the runs folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

PAGES = {
    "overview": ("views/overview.py", "Overview"),
    "questions": ("views/questions.py", "Questions"),
    "scenarios": ("views/scenarios.py", "Hybrid and scenarios"),
    "retrievability": ("views/retrievability.py", "Retrievability"),
    "decide": ("views/decide.py", "Decide"),
    "compare": ("views/compare_runs.py", "Compare runs"),
}


def texts(at: Any) -> str:
    """Every text the run drew (main area and sidebar), one per line."""
    kinds = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success")
    out = [str(e.value) for kind in kinds for e in getattr(at, kind)]
    out += [str(e.value) for e in at.get("html")] + [f"{m.label}: {m.value}" for m in at.metric]
    return "\n".join(out)


def open_page(app_for: Any, root: Path, page: str, **query: str) -> Any:
    """Run the app (first run: the default page), then switch to ``page``; no exception allowed."""
    at = app_for(root, **query).run()
    if page != "overview":
        at.switch_page(PAGES[page][0]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == PAGES[page][1]
    return at


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_the_complete_run(app_for: Any, runs_root: Path, names: Any, page: str) -> None:
    at = open_page(app_for, runs_root, page, run=names.full)
    shown = texts(at)
    assert f"Run `{names.full}`" in shown or page == "compare"
    assert not at.error and "SECRET-OUTSIDE" not in shown


def test_overview_shows_table_best_values_and_plots(app_for: Any, runs_root: Path, names: Any) -> None:
    at = open_page(app_for, runs_root, "overview", run=names.full)
    table = at.table[0].value
    assert list(table.index) == ["base", "rag", "ft", "hybrid"] and "p95 latency (ms)" in table
    assert len(at.get("vega_lite_chart")) == 3  # accuracy vs latency, vs cost, per kind
    assert "best value of each column" in texts(at)


def test_questions_show_answers_side_by_side_with_highlights(
    app_for: Any, runs_root: Path, names: Any
) -> None:
    at = open_page(app_for, runs_root, "questions", run=names.full)
    shown = texts(at)
    assert "How much memory does the widgetron have?" in shown and "**4** of 4 questions match" in shown
    html = [h.value for h in at.get("html")]
    assert any("<mark" in h and "16 GB" in h for h in html)  # gold highlighted in answers and chunks
    assert any("&lt;b&gt;8 GB&lt;/b&gt;" in h for h in html)  # an answer's HTML is shown, not rendered
    assert any("The widgetron has" in h for h in html)  # chunk text read from the saved index
    at.multiselect(key="q_systems").set_value(["ft"]).run()
    at.radio(key="q_outcome").set_value("incorrect").run()
    assert not at.exception and "**2** of 4 questions match" in texts(at)
    at.text_input(key="q_text").input("license").run()
    assert "**1** of 4 questions match" in texts(at)


def test_scenarios_show_every_section(app_for: Any, runs_root: Path, names: Any) -> None:
    at = open_page(app_for, runs_root, "scenarios", run=names.full)
    headers = [h.value for h in at.header]
    assert headers == [
        "Hybrid vs the two tracks",
        "Freshness: when the knowledge changes",
        "Forgetting: what fine-tuning breaks",
        "House style",
        "Serving precision",
    ]
    assert "0.150 below the better track (rag" in texts(at) and not at.info
    assert len(at.get("vega_lite_chart")) == 5 and len(at.table) == 5


def test_scenarios_of_a_run_without_them_say_so(app_for: Any, runs_root: Path, names: Any) -> None:
    at = open_page(app_for, runs_root, "scenarios", run=names.older)
    infos = "\n".join(i.value for i in at.info)
    assert "freshness scenario was skipped: the dataset has no update version" in infos
    assert "forgetting scenario was not run" in infos and "--scenarios style" in infos
    assert "no hybrid system" in texts(at)


def test_retrievability_page_and_live_query(
    app_for: Any, runs_root: Path, names: Any, keyword_emb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboards import search

    monkeypatch.setattr(search, "make_embedder", lambda cfg: keyword_emb)
    at = open_page(app_for, runs_root, "retrievability", run=names.full)
    shown = texts(at)
    assert "Gini of r(d): 0.000" in shown and "Never retrieved: 0 of 4 pages" in shown
    assert set(at.dataframe[0].value["doc_id"]) == {
        "products/widgetron",
        "policies/license",
        "guide/scheduler",
        "overview/orphan",
    }
    at.text_input(key="rt_query").input("widgetron memory").run()
    assert not at.exception and not at.error
    hits = at.dataframe[-1].value
    assert hits["page"].iloc[0] == "products/widgetron" and list(hits["rank"])[:2] == [1, 2]


def test_retrievability_of_an_older_run_explains_what_is_missing(
    app_for: Any, runs_root: Path, names: Any
) -> None:
    at = open_page(app_for, runs_root, "retrievability", run=names.older)
    assert "no retrievability analysis" in texts(at) and at.text_input(key="rt_query")


def test_decide_ranks_with_reasons_and_labels_projections(app_for: Any, runs_root: Path, names: Any) -> None:
    at = open_page(app_for, runs_root, "decide", run=names.full)
    assert "Recommended for this use case: **rag**" in at.success[0].value
    assert "0.75 accuracy on the 4 test questions" in texts(at)
    assert any("NOT measured" in e.label for e in at.expander)
    assert any(w.value.startswith("PROJECTION (not measured") for w in at.warning)
    at.selectbox(key="uc_preset").set_value("regulated").run()
    assert not at.exception
    ranking = at.table[0].value
    assert "gives no citations" in " ".join(map(str, ranking["misses"]))  # ft/base miss the citations must
    at.slider(key="uc:regulated:floor").set_value(0.95).run()
    assert "No system meets every must" in at.warning[0].value


def test_compare_runs_side_by_side(app_for: Any, runs_root: Path, names: Any) -> None:
    at = open_page(app_for, runs_root, "compare", run=names.full)
    assert at.selectbox(key="cmp_other").value == names.older
    meta, diff, settings = (d.value for d in at.dataframe)
    assert list(meta.columns) == [f"A: {names.full}", f"B: {names.older}"]
    assert {"run A", "run B", "B - A", "better"} <= set(diff.columns) and "hybrid" not in set(diff["system"])
    assert settings["setting"].tolist() == ["bench.context_k"]
    assert "Only in run A: hybrid" in texts(at)


def test_compare_with_a_single_complete_run(app_for: Any, runs_root: Path, names: Any) -> None:
    import shutil

    shutil.rmtree(runs_root / names.older)
    at = open_page(app_for, runs_root, "compare", run=names.full)
    assert "Only one complete run" in at.info[0].value


@pytest.mark.parametrize("page", list(PAGES))
def test_empty_runs_folder_says_how_to_make_a_run(app_for: Any, empty_root: Path, page: str) -> None:
    at = open_page(app_for, empty_root, page)
    assert "No benchmark runs" in at.info[0].value and "make bench" in at.info[0].value


def test_missing_runs_folder(app_for: Any, tmp_path: Path) -> None:
    at = open_page(app_for, tmp_path / "never-made", "overview")
    assert "does not exist yet" in at.info[0].value and "ftrag bench" in at.info[0].value


INCOMPLETE = [
    *[(page, "partial", "did not finish") for page in PAGES],  # every page goes through the same gate
    *[(page, "v1", "older ftrag") for page in ("overview", "decide")],
    *[(page, "broken", "cannot be read") for page in ("overview", "questions")],
]


@pytest.mark.parametrize("page, which, words", INCOMPLETE)
def test_incomplete_runs_are_explained(
    app_for: Any, runs_root: Path, names: Any, page: str, which: str, words: str
) -> None:
    at = open_page(app_for, runs_root, page, run=getattr(names, which))
    shown = texts(at)
    assert words in shown and "This run is " in shown  # sidebar status too
    assert at.dataframe, "the file inventory (present / missing) is shown"


def test_partial_run_lists_missing_files(app_for: Any, runs_root: Path, names: Any) -> None:
    at = open_page(app_for, runs_root, "overview", run=names.partial)
    inventory = dict(zip(*at.dataframe[0].value[["file", "state"]].to_dict("list").values(), strict=True))
    assert inventory["config.json"] == "present" and inventory["summary.json"] == "missing"
    assert any("configured to do" in e.label for e in at.expander)


@pytest.mark.parametrize(
    "query, words",
    [
        ({"runs": "../"}, "outside the runs folder"),
        ({"runs": "../../../../etc"}, "outside the runs folder"),
        ({"runs": "/etc"}, "outside the runs folder"),
        ({"runs": "no-such-folder"}, "not a folder inside"),
        ({"run": "../../../../etc/passwd"}, "outside the runs folder"),
        ({"run": "20260104-000000-link"}, "outside the runs folder"),  # a symlink to a run elsewhere
        ({"run": "/etc"}, "outside the runs folder"),
        ({"run": "ci"}, "not a run folder"),
    ],
)
@pytest.mark.parametrize("page", ["questions", "compare"])
def test_paths_never_leave_the_runs_folder(
    app_for: Any, runs_root: Path, names: Any, page: str, query: dict[str, str], words: str
) -> None:
    """The first run reads the URL (AppTest always starts on the default page; a browser would
    start on ``page``), refuses the path and falls back; the page then renders what is inside."""
    at = app_for(runs_root, **query).run()
    assert words in "\n".join(e.value for e in at.error)
    assert at.selectbox(key="ftrag_run").value == names.full  # the newest run inside
    assert at.query_params.get("run") == names.full  # the bad value left the URL
    if page != "overview":
        at.switch_page(PAGES[page][0]).run()
    assert not at.exception and "SECRET-OUTSIDE" not in texts(at)


def test_compare_other_run_cannot_escape(app_for: Any, runs_root: Path, names: Any) -> None:
    at = open_page(app_for, runs_root, "compare", run=names.full, other="../../outside/secret-run")
    assert "outside the runs folder" in at.error[0].value
    assert at.selectbox(key="cmp_other").value == names.older


def test_sub_folder_from_the_url(app_for: Any, runs_root: Path) -> None:
    at = open_page(app_for, runs_root, "overview", runs="ci")
    assert "No benchmark runs" in at.info[0].value and "/ci" in at.info[0].value and not at.error


def test_the_url_follows_the_selection(app_for: Any, runs_root: Path, names: Any) -> None:
    at = open_page(app_for, runs_root, "overview")
    assert at.query_params.get("run") == names.full
    at.selectbox(key="ftrag_run").set_value(names.older).run()
    assert at.query_params.get("run") == names.older and f"Run `{names.older}`" in texts(at)


def test_questions_without_the_saved_index_or_results(app_for: Any, runs_root: Path, names: Any) -> None:
    import shutil

    shutil.rmtree(runs_root / ".cache")
    at = open_page(app_for, runs_root, "questions", run=names.full)
    assert "saved index was not found" in at.info[0].value and "**4** of 4 questions match" in texts(at)
    (runs_root / names.full / "results.parquet").unlink()
    at = open_page(app_for, runs_root, "questions", run=names.full)
    assert "no per-question results" in at.warning[0].value


def test_overview_of_a_base_rag_run_draws_near_zero_upfront_small(
    app_for: Any, base_rag_root: Path, names: Any
) -> None:
    """The accuracy-vs-cost bubbles of a real base,rag run: rag's $0.0000006 index build must not
    be the largest bubble (full size needs at least the cost of 1,000 queries)."""
    import json

    at = open_page(app_for, base_rag_root, "overview", run=names.base_rag)
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    cost = next(s for s in specs if s["title"]["text"] == "Accuracy vs cost")
    scale = cost["layer"][0]["encoding"]["size"]["scale"]
    assert scale["domain"] == [0, 0.0121] and scale["range"] == [80, 1600]
