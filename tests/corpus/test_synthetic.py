"""The bundled dataset: reproducible byte for byte, leak-free, and consistent across versions."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from corpus.formats import load_dataset
from corpus.paths import datasets_dir
from corpus.synthetic import SynthConfig, generate
from corpus.validate import dataset_warnings

BUNDLED = datasets_dir() / "tessaline"


@pytest.fixture(scope="module")
def ds():
    return load_dataset(BUNDLED)


def test_synth_reproduces_the_bundled_dataset_byte_for_byte() -> None:
    files = generate(SynthConfig(seed=0))
    on_disk = {p.relative_to(BUNDLED).as_posix(): p.read_bytes() for p in BUNDLED.rglob("*") if p.is_file()}
    assert sorted(files) == sorted(on_disk)
    for rel, text in files.items():
        assert text.encode("utf-8") == on_disk[rel], rel


def test_cli_synth_is_deterministic(tmp_path: Path, run_cli) -> None:
    for name in ("a", "b"):
        rc, out, _ = run_cli(
            "data", "synth", "--seed", "7", "--entities", "8", "--attributes", "4", "--out", tmp_path / name
        )
        assert rc == 0 and "dataset is valid" in out
    a = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file()}
    b = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*") if p.is_file()}
    assert a == b
    assert generate(SynthConfig(seed=8, entities=8, attributes=4))["qa.jsonl"].encode() != a[Path("qa.jsonl")]


def test_size_and_shape(ds) -> None:
    products = [d for d in ds.docs if d.startswith("products/")]
    assert len(products) >= 40
    facts = defaultdict(list)
    for q in ds.questions(kind="fact"):
        facts[q.fact_id].append(q)
    per_product = Counter(f.rsplit(".", 1)[0] for f in facts)
    assert min(per_product.values()) >= 4
    for items in facts.values():
        splits = Counter(q.split for q in items)
        assert splits["train"] >= 2 and splits["dev"] >= 1 and splits["test"] >= 1
        assert len({q.question for q in items}) == len(items)  # distinct phrasings


def test_no_test_phrasing_leaks_into_train(ds) -> None:
    train_q = {q.question.lower() for q in ds.questions("train")}
    train_templates = {q.template for q in ds.questions("train")}
    for q in ds.questions("test"):
        assert q.question.lower() not in train_q
        if q.kind == "fact":
            assert q.template not in train_templates
    assert dataset_warnings(ds) == []


def test_answers_are_spans_of_their_pages(ds) -> None:
    assert sum(q.kind != "unanswerable" for q in ds.qa) > 100 and any(q.kind == "unanswerable" for q in ds.qa)
    for q in ds.qa:
        if q.kind == "unanswerable":
            assert q.sources == () and q.answer == ds.meta["abstain_answer"]
            continue
        assert q.answer in ds.docs[q.sources[0]].text, q.id
        for src in q.sources[1:]:  # overview pages state the same value
            assert q.answer in ds.docs[src].text, (q.id, src)


def test_unanswerable_and_style_facets(ds) -> None:
    kinds = Counter(q.kind for q in ds.qa)
    assert kinds["unanswerable"] / len(ds.qa) >= 0.10
    assert kinds["style"] > 0
    style = ds.meta["house_style"]
    styled = style["template"].format(answer=ds.qa[0].answer)
    assert re.fullmatch(style["pattern"], styled)
    assert not re.fullmatch(style["pattern"], ds.qa[0].answer)
    unanswerable_names = [q.question for q in ds.questions(kind="unanswerable")]
    assert len(set(unanswerable_names)) == len(unanswerable_names)


def test_update_version_is_consistent(ds) -> None:
    upd = ds.updates["v2"]
    facts = {q.fact_id for q in ds.questions(kind="fact")}
    changed_facts = {q.fact_id for q in upd.qa}
    assert len(changed_facts) / len(facts) >= 0.20
    assert len(upd.docs) / len(ds.docs) >= 0.25
    v2 = ds.with_update("v2")
    for q in upd.qa:
        assert q.old_answer and q.old_answer != q.answer
        for src in q.sources:
            assert q.answer in v2.docs[src].text, (q.id, src)
        entity_page = v2.docs[q.sources[0]].text
        assert not re.search(rf"(?<!\w){re.escape(q.old_answer)}(?!\w)", entity_page), q.id
    for doc_id, doc in upd.docs.items():
        assert doc.text != ds.docs[doc_id].text  # only changed pages ship in the update
    unchanged = {q.fact_id for q in ds.qa} - changed_facts
    for q in v2.qa:
        if q.fact_id in unchanged and q.kind != "unanswerable":
            assert q.answer in v2.docs[q.sources[0]].text
    # every phrasing of a changed fact changes: a stale answer is detectable on every split
    assert {q.id for q in upd.qa} == {q.id for q in ds.qa if q.fact_id in changed_facts}
