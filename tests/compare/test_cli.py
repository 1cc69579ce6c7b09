from __future__ import annotations

import json
from pathlib import Path

from corpus.config import add_config_args, config_from_args


def test_help_lists_commands(run_cli) -> None:
    rc, out, _ = run_cli("--help")
    assert rc == 0 and "data" in out and "bench" in out


def test_validate_prints_counts(mini_dir: Path, run_cli) -> None:
    rc, out, _ = run_cli("data", "validate", mini_dir)
    assert rc == 0
    assert "documents 5" in out and "questions 6" in out and "dataset is valid" in out
    rc, out, _ = run_cli("data", "validate", mini_dir, "--json")
    stats = json.loads(out)["stats"]
    assert stats["questions_by_split_kind"]["test"] == {"fact": 3, "unanswerable": 1}


def test_bench_writes_run_folder_with_resolved_config(mini_dir: Path, run_cli, tmp_path: Path) -> None:
    rc, out, _ = run_cli("bench", "--dataset", mini_dir, "--runs", tmp_path / "runs", "--max-tokens", "64")
    assert rc == 0
    (run,) = (tmp_path / "runs").iterdir()
    config = json.loads((run / "config.json").read_text())
    assert config["chunking"]["max_tokens"] == 64 and config["chunking"]["overlap_tokens"] == 24
    summary = json.loads((run / "summary.json").read_text())
    assert summary["schema_version"] == 1 and summary["dataset"]["documents"] == 5
    assert str(run) in out


def test_config_overrides_are_typed() -> None:
    import argparse

    from corpus.synthetic import SynthConfig

    p = argparse.ArgumentParser()
    add_config_args(p, SynthConfig)
    cfg = config_from_args(SynthConfig, p.parse_args(["--entities", "12", "--style-frac", "0.5"]))
    assert cfg.entities == 12 and cfg.style_frac == 0.5 and cfg.attributes == 5
    try:
        p.parse_args(["--entities", "twelve"])
    except SystemExit as exc:
        assert exc.code == 2
    else:  # pragma: no cover
        raise AssertionError("a non-integer must be refused")
