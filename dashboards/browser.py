"""Drive the dashboard in headless Chromium over the DevTools protocol: serve the app, load a
page, wait until Streamlit has finished the run, read what went wrong, save a screenshot.

Used by the browser tests and by ``python -m dashboards.browser --runs runs --out docs/img``, which
screenshots every page of a run for the docs.

Why DevTools and not ``chromium --screenshot --dump-dom``: those capture after a *virtual* time
budget, while the app renders once the server has run the page script in *real* time; on a busy
machine they captured a blank page still "Running". The client is the ``websockets`` package
Streamlit already depends on.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

APP = Path(__file__).with_name("app.py")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
# (url path, title of the page): the default page lives at the root URL.
PAGES = [
    ("", "Overview"),
    ("questions", "Questions"),
    ("scenarios", "Hybrid and scenarios"),
    ("retrievability", "Retrievability"),
    ("content", "Content"),
    ("decide", "Decide"),
    ("compare", "Compare runs"),
    ("sweeps", "Sweeps"),
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


@contextlib.contextmanager
def open_browser(exe: str, profile: Path) -> Iterator[Page]:
    """A headless Chromium with one tab, closed on exit."""
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


def screenshot_pages(runs: Path, run: str, out: Path) -> list[Path]:
    """Every page of ``run`` as a PNG under ``out``; raises if a page shows an error."""
    import tempfile

    exe = find_browser()
    if exe is None:
        raise FileNotFoundError(f"no Chromium/Chrome found (looked for {', '.join(BROWSERS)})")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = serve(APP, ["--runs", str(runs)], Path(tmp) / "streamlit.log")
        try:
            with open_browser(exe, Path(tmp) / "profile") as page:
                for path, title in PAGES:
                    state = page.load(f"{url}/{path}?run={run}")
                    if state["exceptions"] or state["errors"] or state["title"] != title:
                        raise RuntimeError(f"/{path} did not render cleanly: {state['text'][:500]}")
                    paths.append(out / f"dashboard-{path or 'overview'}.png")
                    page.screenshot(paths[-1], state["height"])
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return paths


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="screenshot every dashboard page of a run")
    p.add_argument("--runs", default="runs")
    p.add_argument("--run", required=True, help="run folder name under --runs")
    p.add_argument("--out", default="docs/img")
    args = p.parse_args(argv)
    for path in screenshot_pages(Path(args.runs).resolve(), args.run, Path(args.out)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
