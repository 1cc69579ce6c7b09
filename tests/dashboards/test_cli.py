"""``ftrag dashboard``: the subcommand's flags and the Streamlit command it runs (not started)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from dashboards import cli


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["dashboard", *argv])


def test_defaults_bind_to_localhost() -> None:
    args = parse()
    assert (args.runs, args.port, args.host) == ("runs", 8501, "127.0.0.1")
    assert args.func is cli.cmd_dashboard


def test_streamlit_command(tmp_path: Path) -> None:
    cmd = cli.streamlit_command(tmp_path, 9000, "127.0.0.1")
    assert cmd[:5] == [sys.executable, "-m", "streamlit", "run", str(cli.APP)]
    assert Path(cmd[4]).is_file() and Path(cmd[4]).name == "app.py"
    flags = dict(zip(cmd[5:-3:2], cmd[6:-3:2], strict=True))
    assert flags == {
        "--server.address": "127.0.0.1",
        "--server.port": "9000",
        "--server.headless": "true",
        "--browser.gatherUsageStats": "false",
    }
    assert cmd[-3:] == ["--", "--runs", str(tmp_path)]


@pytest.mark.parametrize(
    "argv, warned",
    [((), False), (("--host", "localhost"), False), (("--host", "0.0.0.0"), True)],
)
def test_cmd_dashboard_runs_streamlit(
    argv: tuple[str, ...], warned: bool, tmp_path: Path, monkeypatch, capsys
) -> None:
    calls = []
    monkeypatch.setattr(cli.subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    rc = cli.cmd_dashboard(parse("--runs", str(tmp_path / "runs"), "--port", "8600", *argv))
    out = capsys.readouterr().out
    assert rc == 0 and calls[0][-1] == str((tmp_path / "runs").resolve()) and "8600" in calls[0]
    assert ("anyone who can reach this machine" in out) == warned
    assert "does not exist yet" in out and "make bench" in out


def test_bad_port_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="`--port` must be between 1 and 65535"):
        cli.cmd_dashboard(parse("--runs", str(tmp_path), "--port", "70000"))


def test_ctrl_c_exits_quietly(tmp_path: Path, monkeypatch) -> None:
    def interrupted(cmd: list[str]) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.subprocess, "call", interrupted)
    assert cli.cmd_dashboard(parse("--runs", str(tmp_path))) == 130
