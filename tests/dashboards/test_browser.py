"""The dashboard in a real browser: the app is served by ``streamlit run`` over the fixture runs
folder and every page is loaded in headless Chromium, driven over the DevTools protocol.

Why DevTools and not ``chromium --screenshot --dump-dom``: those capture after a *virtual* time
budget, while the app renders once the server has run the page script in *real* time; on a busy
machine they captured a blank page still "Running". Here each page is polled until Streamlit
has finished the run, then the DOM is checked for exception boxes and error alerts, and a
full-page screenshot is saved under ``$FTRAG_SCREENSHOTS`` (default: the test's tmp folder).

``test_detector_sees_an_exception`` proves the check works: a page that raises on purpose must
be caught. Run with ``pytest -m browser tests/dashboards``; skipped when Chromium is missing.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
# (url path, title of the page): the default page lives at the root URL.
PAGES = [
    ("", "Overview"),
    ("questions", "Questions"),
    ("scenarios", "Hybrid and scenarios"),
    ("retrievability", "Retrievability"),
    ("decide", "Decide"),
    ("compare", "Compare runs"),
]
# Page state read in the browser: has Streamlit finished the run, and what went wrong?
STATE_JS = """(() => {
  const q = s => document.querySelectorAll(s).length;
  const main = document.querySelector('[data-testid="stMain"]');
  return {
    connected: q('[data-testid="stAppViewContainer"]') > 0 && q('[data-testid="stAppSkeleton"]') === 0,
    running: q('[data-testid="stStatusWidget"]') > 0,
    title: (document.querySelector('[data-testid="stMain"] h1') || {}).innerText || '',
    exceptions: q('[data-testid="stException"]'),
    errors: [...document.querySelectorAll('[data-testid="stAlertContentError"]')].map(e => e.innerText),
    height: main ? main.scrollHeight : 0,
    text: main ? main.innerText.slice(0, 4000) : ''
  };
})()"""


def find_browser() -> str | None:
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float) -> None:
    """Until ``url`` answers (the Streamlit health endpoint, the DevTools endpoint)."""
    end = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            if time.monotonic() > end:
                raise
        time.sleep(0.3)


class Page:
    """One Chromium tab over the DevTools protocol (the ``websockets`` client Streamlit ships)."""

    def __init__(self, ws: Any):
        self.ws, self.n = ws, 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:  # events arrive in between; keep only our answer
            msg = json.loads(self.ws.recv(timeout=60))
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    def state(self) -> dict[str, Any]:
        return self.call("Runtime.evaluate", expression=STATE_JS, returnByValue=True)["result"]["value"]

    def load(self, url: str, timeout: float = 120) -> dict[str, Any]:
        """Open ``url`` and wait until the script run is over and the DOM is stable."""
        self.call("Page.navigate", url=url)
        time.sleep(1.0)
        end, stable, last = time.monotonic() + timeout, 0, None
        while time.monotonic() < end:
            s = self.state()
            done = s["connected"] and not s["running"] and s["title"]
            key = (s["title"], s["height"], s["exceptions"], len(s["errors"]))
            stable = stable + 1 if done and key == last else 0
            last = key
            if stable >= 3:  # three polls alike: charts drawn, nothing more coming
                return s
            time.sleep(0.5)
        raise TimeoutError(f"{url} did not finish rendering in {timeout:.0f} s; last state {last}")

    def screenshot(self, path: Path, height: int) -> None:
        """The whole page: the viewport is stretched to the main block's height first."""
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=1400,
            height=max(1000, min(height, 9000)),
            deviceScaleFactor=1,
            mobile=False,
        )
        time.sleep(1.0)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        self.call(
            "Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False
        )


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    exe = find_browser()
    if exe is None:
        pytest.skip(f"no Chromium/Chrome found (looked for {', '.join(BROWSERS)}); install chromium")
    profile = tmp_path_factory.mktemp("chromium-profile")
    port = free_port()
    args = [
        exe,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--window-size=1400,1000",
        f"--remote-debugging-port={port}",
        f"--user-data-dir={profile}",
        "about:blank",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/json/version", 60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as r:
            target = next(t for t in json.load(r) if t["type"] == "page")
        from websockets.sync.client import connect

        with connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as ws:
            page = Page(ws)
            page.call("Page.enable")
            yield page
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def serve(script: Path, args: list[str], log: Path) -> tuple[subprocess.Popen, str]:
    """``streamlit run script -- args`` on a free localhost port; returns the process and URL."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--",
        *args,
    ]
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health", 90)
    except OSError:
        proc.terminate()
        raise AssertionError(f"streamlit did not start:\n{log.read_text()}") from None
    return proc, f"http://127.0.0.1:{port}"


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


def test_every_page_renders_without_errors(server: str, browser: Page, shots: Path, names: Any) -> None:
    for path, title in PAGES:
        state = browser.load(f"{server}/{path}?run={names.full}")
        browser.screenshot(shots / f"{path or 'overview'}.png", state["height"])
        assert state["title"] == title, f"/{path}: {state['text'][:500]}"
        assert state["exceptions"] == 0, f"/{path} shows an exception: {state['text'][:2000]}"
        assert not state["errors"], f"/{path} shows errors: {state['errors']}"
        assert (shots / f"{path or 'overview'}.png").stat().st_size > 20_000  # a drawn page, not a blank one


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
