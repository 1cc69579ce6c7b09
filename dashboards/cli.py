"""``ftrag dashboard``: start the Streamlit app over a runs folder, bound to localhost by default."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from corpus.errors import UserError

APP = Path(__file__).with_name("app.py")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def streamlit_command(runs: Path, port: int, host: str) -> list[str]:
    """The ``streamlit run`` command line (usage statistics off: the tool runs offline)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--",
        "--runs",
        str(runs),
    ]


def cmd_dashboard(args: argparse.Namespace) -> int:
    runs = Path(args.runs).expanduser().resolve()
    if not 0 < args.port < 65536:
        raise UserError(f"`--port` must be between 1 and 65535, got {args.port}")
    if args.host not in LOCAL_HOSTS:
        print(f"warning: binding to {args.host}: anyone who can reach this machine can read the runs")
    if not runs.is_dir():
        print(f"note: {runs} does not exist yet; the dashboard will say how to make a run (`make bench`)")
    print(f"ftrag dashboard on http://{args.host}:{args.port} over {runs} (Ctrl+C stops it)")
    try:
        return subprocess.call(streamlit_command(runs, args.port, args.host))
    except KeyboardInterrupt:
        return 130


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="open the Streamlit dashboard over the run folders")
    p.add_argument("--runs", default="runs", help="folder of run folders (default: runs)")
    p.add_argument("--port", type=int, default=8501, help="port (default: 8501)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, local only)")
    p.set_defaults(func=cmd_dashboard)
