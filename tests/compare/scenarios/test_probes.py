"""Probe loading, checking, kept-set selection, retention and KL drift."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from compare.scenarios.probes import (
    Probe,
    kl_divergence,
    load_probes,
    probe_correct,
    probes_dir,
    retention,
    select_kept,
)
from corpus.errors import DataError


@pytest.mark.parametrize(
    ("probe", "answer", "ok"),
    [
        (Probe("a", "2+2?", "4", ("four",)), "The answer is 4.", True),
        (Probe("a", "2+2?", "4", ("four",)), "Four", True),
        (Probe("a", "2+2?", "4", ("four",)), "44", False),  # whole words only
        (Probe("a", "2+2?", "4", ("four",)), "I don't know", False),
        (Probe("c", "capital?", "Paris"), "the capital is paris!", True),
        (Probe("u", "upper?", "PARIS", check="case"), "PARIS", True),
        (Probe("u", "upper?", "PARIS", check="case"), "Paris", False),
        (Probe("u", "upper?", "PARIS", check="case"), "PARISIAN", False),
        (Probe("r", "iso?", r"\b2024-03-05\b", check="regex"), "It is 2024-03-05.", True),
        (Probe("r", "iso?", r"\b2024-03-05\b", check="regex"), "5 March 2024", False),
    ],
)
def test_probe_correct(probe: Probe, answer: str, ok: bool) -> None:
    assert probe_correct(answer, probe) is ok


def test_select_kept_only_base_correct_and_retention() -> None:
    probes = [Probe("a", "?", "4"), Probe("b", "?", "Paris"), Probe("c", "?", "blue")]
    kept = select_kept(probes, {"a": "4", "b": "London", "c": "Blue sky"})
    assert kept == ["a", "c"]
    assert retention(kept, {"a": True, "c": False}) == 0.5
    assert retention(kept, {"a": True}) == 0.5  # a probe not answered after counts as lost
    assert math.isnan(retention([], {}))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"id": "x", "question": "q"}', "field `answer`"),
        ('{"id": "x", "question": "q", "answer": "a", "check": "fuzzy"}', "field `check`"),
        ('{"id": "x", "question": "q", "answer": "(", "check": "regex"}', "not a valid regex"),
        ('{"id": "x", "question": "q", "answer": "a", "aliases": "b"}', "field `aliases`"),
        ('["x"]', "JSON object"),
    ],
)
def test_load_probes_bad_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "ok", "question": "q", "answer": "a"}\n' + line + "\n")
    with pytest.raises(DataError, match=message) as exc:
        load_probes(path)
    assert "p.jsonl:2" in str(exc.value)


def test_load_probes_duplicate_id_and_empty(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    rec = json.dumps({"id": "x", "question": "q", "answer": "a"})
    path.write_text(rec + "\n" + rec + "\n")
    with pytest.raises(DataError, match="duplicate probe id"):
        load_probes(path)
    path.write_text("\n")
    with pytest.raises(DataError, match="no probes"):
        load_probes(path)


def test_bundled_probe_pool_is_large_valid_and_disjoint_from_replay() -> None:
    probes = load_probes(probes_dir() / "probes.jsonl")
    replay = load_probes(probes_dir() / "replay.jsonl")
    assert len(probes) >= 200 and len(replay) >= 50
    assert {p.family for p in probes} >= {"arithmetic", "world_facts", "language", "instruction", "format"}
    assert not {p.id for p in probes} & {p.id for p in replay}
    norm = {p.question.strip().lower() for p in probes}
    assert not norm & {p.question.strip().lower() for p in replay}
    # every gold passes its own check (regex golds are patterns, checked on the README's examples)
    assert all(probe_correct(p.answer, p) for p in probes if p.check != "regex")
    assert len((probes_dir() / "general.txt").read_text().split()) > 1000


def test_kl_divergence_zero_for_equal_and_known_value() -> None:
    logits = torch.tensor([[0.0, 1.0, 2.0], [3.0, 0.0, 0.0]])
    assert kl_divergence(logits, logits) == pytest.approx(0.0, abs=1e-7)
    p = torch.log(torch.tensor([[0.5, 0.5]]))
    q = torch.log(torch.tensor([[0.9, 0.1]]))
    expected = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    assert kl_divergence(p, q) == pytest.approx(expected, rel=1e-5)
