"""The dashboard in a real browser: the app is served by ``streamlit run`` over the fixture runs
folder and every page is loaded in headless Chromium, driven over the DevTools protocol.

The driver lives in :mod:`dashboards.browser` (it also takes the docs' screenshots). Each page is
polled until Streamlit has finished the run, then the DOM is checked for exception boxes and
error alerts, and a full-page screenshot is saved under ``$FTRAG_SCREENSHOTS`` (default: the
test's tmp folder).

``test_detector_sees_an_exception`` proves the check works: a page that raises on purpose must
be caught. Run with ``pytest -m browser tests/dashboards``; skipped when Chromium is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboards.browser import BROWSERS, PAGES, Page, find_browser, open_browser, serve

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    exe = find_browser()
    if exe is None:
        pytest.skip(f"no Chromium/Chrome found (looked for {', '.join(BROWSERS)}); install chromium")
    with open_browser(exe, tmp_path_factory.mktemp("chromium-profile")) as page:
        yield page


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("FTRAG_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def server(runs_root: Path, tmp_path: Path, names: Any) -> Iterator[str]:
    proc, url = serve(names.app, ["--runs", str(runs_root)], tmp_path / "streamlit.log")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def check_every_page(browser: Page, url: str, run: str, shots: Path, prefix: str = "") -> None:
    """Load every page of ``run``: its title, no exception box, no error alert, a drawn screenshot."""
    for path, title in PAGES:
        state = browser.load(f"{url}/{path}?run={run}")
        shot = shots / f"{prefix}{path or 'overview'}.png"
        browser.screenshot(shot, state["height"])
        assert state["title"] == title, f"/{path}: {state['text'][:500]}"
        assert state["exceptions"] == 0, f"/{path} shows an exception: {state['text'][:2000]}"
        assert not state["errors"], f"/{path} shows errors: {state['errors']}"
        assert shot.stat().st_size > 20_000  # a drawn page, not a blank one


def test_every_page_renders_without_errors(server: str, browser: Page, shots: Path, names: Any) -> None:
    check_every_page(browser, server, names.full, shots)


def test_every_page_of_an_own_corpus_run_renders(
    run_cli, own_bench_args, browser: Page, shots: Path, names: Any, tmp_path: Path
) -> None:
    """A real bench over a docs folder and the questions a team writes (no train split, no fact
    ids, no updates, no house style, generated training data), then every page of its dashboard."""
    runs = tmp_path / "runs"
    rc, _, err = run_cli(*own_bench_args(runs, "--name", "own", "--scenarios", "freshness,style"))
    assert rc == 0, err
    (run,) = [p.name for p in runs.iterdir() if not p.name.startswith(".")]
    proc, url = serve(names.app, ["--runs", str(runs)], tmp_path / "streamlit.log")
    try:
        check_every_page(browser, url, run, shots, "own-")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_bad_runs_are_explained_not_crashed(server: str, browser: Page, shots: Path, names: Any) -> None:
    partial = browser.load(f"{server}/?run={names.partial}")
    assert partial["exceptions"] == 0 and "did not finish" in partial["text"]
    escape = browser.load(f"{server}/questions?runs=../../")
    browser.screenshot(shots / "path-escape.png", escape["height"])
    assert escape["exceptions"] == 0 and any("outside the runs folder" in e for e in escape["errors"])


def test_detector_sees_an_exception(browser: Page, tmp_path: Path) -> None:
    """A page that raises must be reported by the same check (else the tests above prove nothing)."""
    script = tmp_path / "boom.py"
    script.write_text("import streamlit as st\nst.title('Boom')\nraise RuntimeError('on purpose')\n")
    proc, url = serve(script, [], tmp_path / "boom.log")
    try:
        state = browser.load(url)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert state["title"] == "Boom" and state["exceptions"] == 1 and "on purpose" in state["text"]
