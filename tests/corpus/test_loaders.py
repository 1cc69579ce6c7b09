"""Loaders on every format, and the problems they must report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus.errors import DataError, UserError
from corpus.formats import detect_format, load, load_dataset
from corpus.loaders import check_id


def test_dataset_folder_loads_every_page_kind(mini_dir: Path) -> None:
    ds = load_dataset(mini_dir)
    assert ds.name == "mini"
    assert sorted(ds.docs) == ["changelog", "faq", "guide/config", "install", "support"]
    assert [q.id for q in ds.qa] == ["q1", "q2", "q3", "q4", "q5", "q6"]
    assert ds.qrels("test") == {"q1": {"install"}, "q4": {"changelog"}, "q5": {"support"}}


def test_markdown_front_matter_code_admonitions_and_links(mini_dir: Path) -> None:
    doc = load_dataset(mini_dir).docs["install"]
    assert doc.title == "Installing Widgetron"
    assert doc.metadata["tags"] == ["setup"]
    assert doc.metadata["links"] == ["faq", "guide/config"]  # external link dropped, anchor stripped
    assert "the configuration guide" in doc.text and "](" not in doc.text
    assert "# this is a comment, not a heading" in doc.text  # code block kept verbatim
    assert "Old versions:" in doc.text and "!!!" not in doc.text
    assert "Versions before 2.0 are no longer supported." in doc.text


def test_docusaurus_and_github_admonitions(mini_dir: Path) -> None:
    text = load_dataset(mini_dir).docs["guide/config"].text
    assert "Tuning:" in text and ":::" not in text
    assert "Note:" in text and "[!NOTE]" not in text


def test_html_page_drops_scripts_and_navigation(mini_dir: Path) -> None:
    doc = load_dataset(mini_dir).docs["faq"]
    assert doc.title == "Widgetron FAQ"
    assert "var x" not in doc.text and "Home | Docs" not in doc.text
    assert "## Is Widgetron free?" in doc.text
    assert "MIT license" in doc.text


def test_plain_folder_with_separate_qa(mini_dir: Path) -> None:
    loaded = load(mini_dir / "docs", qa=mini_dir / "qa.jsonl")
    assert loaded.fmt == "folder" and not loaded.problems
    assert len(loaded.dataset.docs) == 5 and len(loaded.dataset.qa) == 6


def test_jsonl_and_csv_documents(tmp_path: Path) -> None:
    jl = tmp_path / "docs.jsonl"
    jl.write_text(
        '{"id": "a", "title": "A", "text": "alpha"}\n\n{"doc_id": "b", "text": "beta", "lang": "en"}\n'
    )
    ds = load_dataset(jl)
    assert ds.docs["a"].title == "A" and ds.docs["b"].metadata == {"lang": "en"}
    cs = tmp_path / "docs.csv"
    cs.write_text('id,title,text\na,Alpha,"first, with comma"\nb,Beta,"two\nlines"\n')
    ds = load_dataset(cs)
    assert ds.docs["a"].text == "first, with comma" and ds.docs["b"].text == "two\nlines"


def _beir(root: Path, corpus_ids: tuple[str, ...] = ("d1", "d2")) -> Path:
    root.mkdir()
    (root / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": d, "title": d.upper(), "text": f"text {d}"}) + "\n" for d in corpus_ids)
    )
    (root / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "first query"}\n{"_id": "q2", "text": "second"}\n{"_id": "q3", "text": "x"}\n'
    )
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t2\nq2\td1\t0\n")
    return root


def test_beir_folder(tmp_path: Path) -> None:
    loaded = load(_beir(tmp_path / "beir"))
    assert loaded.fmt == "beir" and not loaded.problems
    ds = loaded.dataset
    assert ds.queries() == {"q1": "first query", "q2": "second"}
    assert ds.qrels() == {"q1": {"d1"}, "q2": {"d2"}}  # score 0 is not relevant
    assert ds.qa[1].metadata["qrels"] == {"d2": 2, "d1": 0}  # graded judgments kept for nDCG
    assert any(
        "no relevance judgments" in why for _, why in loaded.skipped
    )  # q3 listed, not dropped silently


def test_beir_id_escaping_the_folder_is_reported(tmp_path: Path) -> None:
    loaded = load(_beir(tmp_path / "beir", corpus_ids=("d1", "../../etc/passwd")))
    assert any("escape" in p.message and p.line == 2 for p in loaded.problems)


@pytest.mark.parametrize(
    "value, ok",
    [
        ("a/b", True),
        ("x.y-z", True),
        ("../x", False),
        ("/etc/passwd", False),
        ("a/../../b", False),
        ("C:evil", False),
        ("", False),
        ("a\x00b", False),
        ("..\\x", False),
        (7, False),
    ],
)
def test_check_id(value: object, ok: bool) -> None:
    assert (check_id(value) is None) is ok


def test_unknown_format_and_missing_path(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"\x00")
    with pytest.raises(DataError, match="cannot tell the format"):
        detect_format(tmp_path / "x.bin")
    with pytest.raises(DataError, match="no such file"):
        load(tmp_path / "nope")


def test_unsupported_and_hidden_files_are_listed_not_silently_skipped(mini_dir: Path) -> None:
    (mini_dir / "docs" / "logo.png").write_bytes(b"\x89PNG")
    (mini_dir / "docs" / ".git").mkdir()
    (mini_dir / "docs" / ".git" / "HEAD").write_text("ref")
    loaded = load(mini_dir)
    reasons = {Path(p).name: why for p, why in loaded.skipped}
    assert reasons == {"logo.png": "unsupported suffix .png", ".git": "hidden folder"}


def test_replacement_decoding_only_when_asked(mini_dir: Path) -> None:
    (mini_dir / "docs" / "latin1.md").write_bytes("# Caf\xe9\n\nna\xefve".encode("latin-1"))
    strict = load(mini_dir)
    assert any("not valid UTF-8" in p.message for p in strict.problems)
    lenient = load(mini_dir, encoding_errors="replace")
    assert not lenient.problems and lenient.replaced == [str(mini_dir / "docs" / "latin1.md")]
    assert "\ufffd" in lenient.dataset.docs["latin1"].text


def test_update_versions_override_docs_and_answers(tmp_path: Path) -> None:
    from corpus.synthetic import SynthConfig, generate, write_dataset

    out = write_dataset(generate(SynthConfig(entities=6, attributes=4)), tmp_path / "d")
    ds = load_dataset(out)
    upd = ds.updates["v2"]
    v2 = ds.with_update("v2")
    changed = upd.qa[0]
    assert {q.id: q for q in v2.qa}[changed.id].answer == changed.answer != changed.old_answer
    some_doc = next(iter(upd.docs))
    assert v2.docs[some_doc].version == "v2" and ds.docs[some_doc].version == "v1"
    with pytest.raises(UserError, match="unknown update version"):
        ds.with_update("v9")
