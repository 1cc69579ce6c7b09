from __future__ import annotations

import json
from pathlib import Path

from corpus.formats import load_dataset
from corpus.model import Document
from corpus.qagen import generate_qa


def test_patterns_and_verified_spans(mini_dir: Path) -> None:
    ds = load_dataset(mini_dir)
    items = generate_qa(ds.docs.values())
    by_q = {q.question: q for q in items}
    # two pages define Widgetron; the question is asked once, from the first page in order
    assert by_q["What is Widgetron?"].answer == "an open-source project under the MIT license"
    assert sum(q.question == "What is Widgetron?" for q in items) == 1
    assert by_q["What is the timeout of Configuration?"].answer == "30 seconds"
    assert by_q["How much does Widgetron need?"].answer == "512 MB"
    # "The scheduler was written by ...": a topic title ("Configuration") says whose scheduler no more
    # than "For API, to what is the object coerced?" said which object
    assert not any("scheduler" in q for q in by_q)
    assert by_q["Is Widgetron free?"].answer == "Widgetron is an open-source project under the MIT license"
    assert [q.template for q in items] == [
        "heading",
        "definition",
        "keyvalue",
        "keyvalue",
        "number",
    ]
    for q in items:
        assert q.generated and q.kind == "fact" and len(q.sources) == 1
        assert q.answer in ds.docs[q.sources[0]].text
    assert {q.split for q in items} <= {"train", "dev", "test"}
    assert generate_qa(ds.docs.values()) == items  # deterministic


def test_code_blocks_are_not_mined() -> None:
    doc = Document("d", "D", "# D\n\n```\nTimeout: 99 seconds\n```\n")
    assert generate_qa([doc]) == []


def test_cap_per_document() -> None:
    text = " ".join(f"Step {i} takes {i + 2} minutes." for i in range(30))
    assert len(generate_qa([Document("d", "D", text)], max_per_doc=5)) == 5


def test_cli_qagen_output_loads_as_qa(mini_dir: Path, run_cli, tmp_path: Path) -> None:
    out = tmp_path / "gen.jsonl"
    rc, stdout, _ = run_cli("data", "qagen", mini_dir / "docs", "--out", out)
    assert rc == 0 and "5 questions from 3 of 5 documents" in stdout  # changelog and support: no fact
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert rows and all(r["generated"] for r in rows)
    rc, stdout, _ = run_cli("data", "validate", mini_dir / "docs", "--qa", out)
    assert rc == 0 and "warnings" not in stdout
