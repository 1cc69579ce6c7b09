"""Run folders: path safety (``../``, absolute paths, symlinks), listing, status and loading."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from dashboards import data


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/{a/, a/b/, link-in -> a, link-out -> ../outside}, outside/ next to root."""
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    os.symlink(root / "a", root / "link-in")
    os.symlink(tmp_path / "outside", root / "link-out")
    return root


@pytest.mark.parametrize(
    "text, inside",
    [
        ("", "."),
        (".", "."),
        ("a", "a"),
        ("a/b", "a/b"),
        ("a/../a/b", "a/b"),
        ("link-in", "a"),  # a symlink that stays inside resolves to its target
        ("does-not-exist-yet", "does-not-exist-yet"),
        ("..", None),
        ("../", None),
        ("../outside", None),
        ("a/../../outside", None),
        ("link-out", None),  # a symlink out is refused, whatever its name
        ("link-out/x", None),
        ("/etc", None),
        ("/", None),
        ("a\x00b", None),
    ],
)
def test_resolve_inside(tree: Path, text: str, inside: str | None) -> None:
    got = data.resolve_inside(tree, text)
    assert got == (None if inside is None else (tree / inside).resolve())


def test_resolve_inside_accepts_an_absolute_path_inside(tree: Path) -> None:
    assert data.resolve_inside(tree, str(tree / "a")) == (tree / "a").resolve()


@pytest.mark.parametrize(
    "text, folder, error",
    [
        ("", ".", ""),
        ("a", "a", ""),
        ("../", ".", "outside"),
        ("link-out", ".", "outside"),
        ("nope", ".", "not a folder"),
        ("/tmp", ".", "outside"),
    ],
)
def test_runs_folder(tree: Path, text: str, folder: str, error: str) -> None:
    got, message = data.runs_folder(tree, text)
    assert got == (tree / folder).resolve()
    assert (error in message) if error else message == ""


def test_run_path(runs_root: Path, names: Any) -> None:
    root = runs_root.resolve()
    assert data.run_path(root, root, names.full) == (root / names.full, "")
    for bad in ("../../etc", names.link, "/etc", f"../{runs_root.name}/{names.full}/../../outside"):
        path, error = data.run_path(root, root, bad)
        assert path is None and "outside the runs folder" in error, bad
    path, error = data.run_path(root, root, "ci")  # a folder, but not a run
    assert path is None and "not a run folder" in error


def test_list_runs_newest_first_with_status(runs_root: Path, names: Any) -> None:
    root = runs_root.resolve()
    runs = data.list_runs(root, root)
    assert [r.name for r in runs] == [names.full, names.older, names.partial, names.v1, names.broken]
    status = {r.name: r.status for r in runs}
    assert status == {
        names.full: data.COMPLETE,
        names.older: data.COMPLETE,
        names.partial: data.PARTIAL,
        names.v1: data.OLD,
        names.broken: data.BROKEN,
    }
    partial = next(r for r in runs if r.name == names.partial)
    assert partial.present == ("config.json",) and "summary.json" in partial.missing
    full = next(r for r in runs if r.name == names.full)
    assert full.missing == () and "retrievability" in full.present


def test_default_run_is_the_newest_complete_one(runs_root: Path, names: Any) -> None:
    root = runs_root.resolve()
    runs = data.list_runs(root, root)
    assert data.default_run(runs).name == names.full
    assert data.default_run(runs[2:]).name == names.partial  # nothing complete: the newest
    assert data.default_run([runs[2], runs[1]]).name == names.older


def test_hidden_symlinked_and_non_run_folders_are_not_listed(runs_root: Path, names: Any) -> None:
    root = runs_root.resolve()
    listed = {r.name for r in data.list_runs(root, root)}
    assert ".cache" not in listed and names.link not in listed and "ci" not in listed
    assert data.sub_folders(root, root) == ["ci"]
    assert data.list_runs(root / "missing", root) == [] and data.sub_folders(root / "missing", root) == []


@pytest.mark.parametrize(
    "summary, error, status, version",
    [
        (None, "summary.json is missing", data.PARTIAL, None),
        (None, "summary.json is not valid JSON (x)", data.BROKEN, None),
        ([1, 2], "", data.BROKEN, None),
        ({"schema_version": 1, "stages": []}, "", data.OLD, 1),
        ({"systems": {}}, "", data.OLD, None),
        ({"schema_version": "2", "systems": {}}, "", data.OLD, None),
        ({"schema_version": 2}, "", data.OLD, 2),
        ({"schema_version": 2, "systems": {}}, "", data.COMPLETE, 2),
        ({"schema_version": 3, "systems": {}}, "", data.COMPLETE, 3),
    ],
)
def test_summary_status(summary: Any, error: str, status: str, version: int | None) -> None:
    got, got_version, message = data.summary_status(summary, error)
    assert (got, got_version) == (status, version)
    assert bool(message) == (status != data.COMPLETE)


def test_old_schema_message_says_what_to_do() -> None:
    _, _, message = data.summary_status({"schema_version": 1}, "")
    assert "older ftrag" in message and "version 1" in message and "make bench" in message


def test_load_run_complete(runs_root: Path, names: Any) -> None:
    run = data.load_run(runs_root / names.full)
    assert run.info.complete and run.problems == []
    assert set(run.summary["systems"]) == {"base", "rag", "ft", "hybrid"}
    assert len(run.results) == 16 and set(run.results["system"]) == {"base", "rag", "ft", "hybrid"}
    assert list(run.pages["doc_id"])[:1] and "diagnoses" in run.pages
    assert run.config["retrieval"]["embedder"] == "keywords"


@pytest.mark.parametrize("which", ["partial", "v1", "broken"])
def test_load_run_incomplete_keeps_what_exists(runs_root: Path, names: Any, which: str) -> None:
    run = data.load_run(runs_root / getattr(names, which))
    assert not run.info.complete and run.summary is None and run.results is None
    assert run.info.message


def test_load_run_reports_a_truncated_parquet(runs_root: Path, names: Any) -> None:
    path = runs_root / names.full / "results.parquet"
    path.write_bytes(path.read_bytes()[:100])
    run = data.load_run(runs_root / names.full)
    assert run.results is None and any("results.parquet cannot be read" in p for p in run.problems)


def test_files_signature_changes_when_a_file_is_rewritten(runs_root: Path, names: Any) -> None:
    run = runs_root / names.full
    before = data.files_signature(run)
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "wall_seconds": 1.0}))
    assert data.files_signature(run) != before


def test_index_folder_is_found_and_contained(runs_root: Path, names: Any, tmp_path: Path) -> None:
    summary = data.load_run(runs_root / names.full).summary
    found = data.index_folder(runs_root, summary)
    assert found is not None and (found / "manifest.json").is_file()
    moved = {"index": {"key": summary["index"]["key"], "path": "/somewhere/else/.cache/index/x"}}
    assert data.index_folder(runs_root, moved) == found  # the runs folder moved: found by key
    outside = tmp_path / "elsewhere"
    (outside / "idx").mkdir(parents=True)
    (outside / "idx" / "manifest.json").write_text("{}")
    assert data.index_folder(runs_root, {"index": {"path": str(outside / "idx")}}) is None
    assert data.index_folder(runs_root, {"index": {"key": "../../../elsewhere/idx"}}) is None
    assert data.index_folder(runs_root, {}) is None
