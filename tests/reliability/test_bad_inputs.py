"""Bad input to every command: one clear error line naming the file, field or line, exit code 2,
and no partial output (no new run folder or output file; a pre-existing output untouched).

Each case builds its input in a temp folder and returns the argv and the path that must be left
as it was. Cases already covered elsewhere (tests/corpus/test_bad_input.py, the *_cli tests) are
not repeated here; docs/reliability.md lists them all with their outcome.
"""

# ruff: noqa: E501  (the case table keeps one case per line or two)
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

Build = Callable[[Path, Path, Path], tuple[list, Path | None]]  # (tmp, mini copy, tiny model)


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _qa_line(mini: Path, **rec: object) -> None:
    base = {"id": "q9", "question": "Q?", "answer": "A", "sources": ["install"], "split": "test"}
    with (mini / "qa.jsonl").open("a") as fh:
        fh.write(json.dumps({**base, **rec}) + "\n")


def bench(tmp: Path, mini: Path, *extra: object) -> tuple[list, Path]:
    """A bench on the fixture that would write under tmp/runs (the path that must stay empty)."""
    return ["bench", "--dataset", mini, "--runs", tmp / "runs", "--scenarios", "none", *extra], tmp / "runs"


def bench_on(setup: Callable[[Path], object]) -> Build:
    def build(tmp: Path, mini: Path, model: Path) -> tuple[list, Path]:
        setup(mini)
        return bench(tmp, mini, "--set", f"train.model={model}")

    return build


def summary_run(tmp: Path, summary: str | bytes) -> Path:
    _write(tmp / "run" / "summary.json", summary)
    return tmp / "run"


GOOD_SUMMARY = json.dumps({"schema_version": 2, "systems": {"rag": {"accuracy": 0.5}}})

# (name, build, expected text in the error line, fixed in this suite: docs/reliability.md lists the fix)
CASES: list[tuple[str, Build, str]] = [
    # --- dataset content, through `ftrag bench` (stderr one line, no run folder) ---
    ("qa wrong type: aliases a string", bench_on(lambda m: _qa_line(m, aliases="x")),
     "qa.jsonl:7: field `aliases` must be a list of strings"),
    ("qa wrong type: numeric id", bench_on(lambda m: _qa_line(m, id=9)),
     "qa.jsonl:7: question id must be a non-empty string"),
    ("qa wrong type: numeric question", bench_on(lambda m: _qa_line(m, question=3)),
     "qa.jsonl:7: field `question`"),
    ("empty qa.jsonl", bench_on(lambda m: _write(m / "qa.jsonl", "")), "no questions in the 'test' split"),
    ("page too large (60 MB)", bench_on(lambda m: _write(m / "docs" / "big.md", b"") and
                                         (m / "docs" / "big.md").open("r+b").truncate(60 << 20)),
     "big.md: file is too large"),
    ("dataset.json malformed", bench_on(lambda m: _write(m / "dataset.json", "{bad")),
     "dataset.json:1: malformed JSON"),
    ("dataset.json a list", bench_on(lambda m: _write(m / "dataset.json", "[1]")),
     "dataset.json: expected a JSON object"),
    ("house_style pattern not a regex",
     bench_on(lambda m: _write(m / "dataset.json", '{"house_style": {"template": "{answer}", "pattern": "("}}')),
     "`house_style.pattern` is not a valid regular expression"),
    ("house_style template unknown field",
     bench_on(lambda m: _write(m / "dataset.json", '{"house_style": {"template": "{answr}!"}}')),
     "`house_style.template` must be a string using {answer}"),
    ("JSONL documents duplicate id",
     lambda t, m, _: bench(t, _write(t / "docs.jsonl", '{"id":"a","text":"x"}\n{"id":"a","text":"y"}\n')),
     "docs.jsonl:2: duplicate doc id 'a'"),
    ("CSV documents without text column",
     lambda t, m, _: bench(t, _write(t / "docs.csv", "id,body\na,x\n")), "docs.csv: empty corpus"),
    ("unknown file format", lambda t, m, _: bench(t, _write(t / "d.xyz", "x")), "cannot tell the format"),
    ("bundled dataset that does not exist", lambda t, m, _: (["bench", "--dataset", "nosuch", "--runs",
                                                             t / "runs"], t / "runs"), "nosuch: no such file"),
    # --- bench flags and configs ---
    ("--config missing", lambda t, m, _: bench(t, m, "--config", t / "none.json"),
     "none.json: config file not found"),
    ("--config malformed JSON", lambda t, m, _: bench(t, m, "--config", _write(t / "c.json", '{"train": {},\n x}')),
     "c.json:2: malformed JSON"),
    ("--config a JSON list", lambda t, m, _: bench(t, m, "--config", _write(t / "c.json", "[1]")),
     "c.json: expected a JSON object of sections"),
    ("--config section not an object", lambda t, m, _: bench(t, m, "--config", _write(t / "c.json", '{"train": 3}')),
     "c.json: section `train` must be an object"),
    ("--config unknown field", lambda t, m, _: bench(t, m, "--config", _write(t / "c.json", '{"train": {"epochz": 3}}')),
     "unknown config key 'train.epochz'"),
    ("--set wrong type (int)", lambda t, m, _: bench(t, m, "--set", "train.batch_size=1.5"), "`batch_size` takes int"),
    ("--set wrong type (bool)", lambda t, m, _: bench(t, m, "--set", "chunking.by_headings=maybe"),
     "`by_headings` takes bool"),
    ("--set out of range (facts)", lambda t, m, _: bench(t, m, "--set", "bench.facts=-2"), "`facts` must be >= 0"),
    ("--set out of range (lr)", lambda t, m, _: bench(t, m, "--set", "train.lr=-1"), "`lr` must be in (0, 1)"),
    ("--scenarios unknown", lambda t, m, _: bench(t, m, "--scenarios", "weather"), "`scenarios` has unknown"),
    ("--name with a slash", lambda t, m, _: bench(t, m, "--name", "../x"), "`--name` '../x' must be"),
    ("unknown model name", lambda t, m, _: bench(t, m, "--systems", "base", "--set", "train.model=no-such-model"),
     "model 'no-such-model' is neither a registered name"),
    ("unknown device", lambda t, m, model: bench(t, m, "--systems", "base", "--device", "tpu",
                                                 "--set", f"train.model={model}"), "`device` must be auto, cpu"),
    ("unknown embedder", lambda t, m, model: bench(t, m, "--systems", "rag", "--set", "retrieval.embedder=nosuch",
                                                   "--set", f"train.model={model}"), "embedder 'nosuch'"),
    ("--resume with no run", lambda t, m, _: bench(t, m, "--resume"), "no unfinished run named 'bench'"),
    ("--address without --executor ray", lambda t, m, _: bench(t, m, "--address", "auto"),
     "`address` is a Ray cluster's; pass --executor ray"),
    ("--workers negative", lambda t, m, _: bench(t, m, "--executor", "ray", "--workers", "-1"), "`workers` must be >= 0"),
    ("executor.worker_cpus zero", lambda t, m, _: bench(t, m, "--set", "executor.worker_cpus=0"),
     "`worker_cpus` must be a positive integer"),
    ("--runs is a file", lambda t, m, model: (bench(t, m, "--runs", _write(t / "f", "x"), "--set",
                                                    f"train.model={model}")[0], t / "f"), "Not a directory"),
    # --- index, retrieval eval, retrievability ---
    ("index build --out over a user folder", lambda t, m, _: (["index", "build", m, "--out", t / "mine"],
                                                              _write(t / "mine" / "notes.txt", "keep").parent),
     "mine exists and is not an index folder"),
    ("index build unknown index type", lambda t, m, _: (["index", "build", m, "--out", t / "i", "--index-type",
                                                         "btree"], t / "i"), "`index_type` must be one of"),
    ("index search on a corrupt manifest",
     lambda t, m, _: (["index", "search", _write(t / "i" / "manifest.json", "{x").parent, "q"], t / "i"),
     "manifest.json: manifest is corrupt"),
    ("index update of a missing index", lambda t, m, _: (["index", "update", t / "none", m], t / "none"),
     "no index here"),
    ("retrieval eval --ks not numbers", lambda t, m, _: (["retrieval", "eval", m, "--ks", "1,x", "--json",
                                                          t / "m.json"], t / "m.json"), "`--ks` must be"),
    ("retrieval eval --ks zero", lambda t, m, _: (["retrieval", "eval", m, "--ks", "0", "--json", t / "m.json"],
                                                  t / "m.json"), "`--ks` must be"),
    ("retrieval eval unknown retriever", lambda t, m, _: (["retrieval", "eval", m, "--retriever", "magic",
                                                           "--json", t / "m.json"], t / "m.json"),
     "unknown retriever 'magic'"),
    ("retrievability --cutoff 0", lambda t, m, _: (["retrievability", m / "docs", "--cutoff", "0", "--out",
                                                    t / "rt"], t / "rt"), "`--cutoff` must be a positive"),
    ("retrievability --beta negative", lambda t, m, _: (["retrievability", m / "docs", "--beta", "-1", "--out",
                                                         t / "rt"], t / "rt"), "`--beta` must be >= 0"),
    ("retrievability --queries missing", lambda t, m, _: (["retrievability", m / "docs", "--queries",
                                                           t / "q.txt", "--out", t / "rt"], t / "rt"),
     "q.txt: queries file not found"),
    # --- data ---
    ("validate --qa missing", lambda t, m, _: (["data", "validate", m, "--qa", t / "q.jsonl"], t / "q.jsonl"),
     "q.jsonl: questions file not found"),
    ("qagen --max-per-doc 0", lambda t, m, _: (["data", "qagen", m / "docs", "--out", t / "q.jsonl",
                                                "--max-per-doc", "0"], t / "q.jsonl"), "`--max-per-doc` must be"),
    ("qagen over an existing file", lambda t, m, _: (["data", "qagen", m / "docs", "--out",
                                                      _write(t / "q.jsonl", "mine\n")], t / "q.jsonl"),
     "q.jsonl exists; pass --force"),
    # --- train, estimate ---
    ("train unknown model", lambda t, m, _: (["train", m, "--model", "no-such-model", "--out", t / "a"], t / "a"),
     "model 'no-such-model' is neither"),
    ("train unknown dtype", lambda t, m, model: (["train", m, "--model", model, "--dtype", "int3", "--out",
                                                  t / "a"], t / "a"), "`dtype` must be auto or one of"),
    ("train corrupt checkpoint", lambda t, m, model: (
        ["train", m, "--model", model, "--resume", "--out",
         _write(t / "a" / "checkpoint" / "state.json", "{half").parents[1]], t / "a"), "checkpoint is corrupt"),
    ("estimate zero parameters", lambda t, m, _: (["estimate", "--params", "0", "--method", "lora"], None),
     "`params` must be positive"),
    ("estimate zero tokens", lambda t, m, _: (["estimate", "--params", "7B", "--method", "lora", "--tokens",
                                               "0"], None), "`tokens` must be positive"),
    ("estimate unknown GPU", lambda t, m, _: (["estimate", "--params", "7B", "--method", "lora", "--gpu", "Z80"],
                                              None), "unknown GPU 'Z80'"),
    # --- recommend, lmeval ---
    ("recommend summary a JSON list", lambda t, m, _: (["recommend", "--run", summary_run(t, "[1]"), "--json",
                                                        t / "r.json"], t / "r.json"), "not a run summary"),
    ("recommend summary not UTF-8", lambda t, m, _: (["recommend", "--run", summary_run(t, b"\xff\xfe{}")],
                                                     t / "run"), "summary.json: not valid JSON (not UTF-8)"),
    ("recommend use case YAML malformed", lambda t, m, _: (
        ["recommend", "--run", summary_run(t, GOOD_SUMMARY), "--profile", _write(t / "u.yaml", "a: [1, 2\n"),
         "--json", _write(t / "r.json", "old")], t / "r.json"), "u.yaml:2: not valid YAML"),
    ("recommend use case YAML a list", lambda t, m, _: (
        ["recommend", "--run", summary_run(t, GOOD_SUMMARY), "--profile", _write(t / "u.yaml", "- a\n")],
        t / "run"), "u.yaml: a use case is a YAML mapping"),
    ("recommend use case unknown field", lambda t, m, _: (
        ["recommend", "--run", summary_run(t, GOOD_SUMMARY), "--profile", _write(t / "u.yaml", "acuracy: 1\n")],
        t / "run"), "unknown field(s) acuracy"),
    ("lmeval export split without questions", lambda t, m, _: (["lmeval", "export", m, "--out", t / "lm",
                                                                "--split", "holdout"], t / "lm"),
     "no questions in the 'holdout' split"),
    ("lmeval run on a folder that is not a run", lambda t, m, _: (["lmeval", "run", m], m),
     "no summary.json"),
    # --- injection ---
    ("injection hybrid without adapter", lambda t, m, _: (["injection", "--systems", "hybrid", "--out",
                                                           t / "i.json"], t / "i.json"), "needs an adapter"),
    ("injection unknown system", lambda t, m, _: (["injection", "--systems", "oracle", "--out", t / "i.json"],
                                                  t / "i.json"), "unknown system 'oracle'"),
    ("injection dataset without canaries", lambda t, m, _: (["injection", "--dataset", m, "--out", t / "i.json"],
                                                            t / "i.json"), "no question carries `metadata.canary`"),
]  # fmt: skip


def error_line(err: str) -> str:
    """The one ``error:`` line (progress bars of loaded models may come before it)."""
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


@pytest.mark.parametrize("name, build, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_nothing_written(
    run_cli, helpers, mini_dir: Path, tmp_path: Path, tiny_model: Path, name: str, build: Build, expected: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    argv, guard = build(work, mini_dir, tiny_model)
    before = helpers.snapshot(guard) if guard else None
    rc, _, err = run_cli(*argv)
    assert rc == 2, err
    line = error_line(err)
    assert line.startswith("ftrag: error: ") and expected in line, line
    if guard is not None and guard.name == "runs":  # the runs root may be made, never a run folder
        assert not (guard.is_dir() and [p for p in guard.iterdir() if not p.name.startswith(".")])
    elif guard is not None:
        assert helpers.snapshot(guard) == before, f"{guard} changed"


def test_case_names_are_distinct() -> None:
    assert len({c[0] for c in CASES}) == len(CASES) >= 30


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["estimate", "--params", "0", "--method", "lora"], "`params` must be positive"),
        (["retrieval", "eval", "tests/fixtures/mini", "--ks", "0"], "`--ks` must be"),
        (["bench", "--config", "pyproject.toml", "--runs", "{tmp}/runs"], "pyproject.toml:1: malformed JSON"),
    ],
    ids=["estimate", "retrieval-eval", "bench-config"],
)
def test_real_exit_code_in_a_subprocess(helpers, tmp_path: Path, argv: list[str], expected: str) -> None:
    proc = helpers.ftrag_process(*[a.format(tmp=tmp_path) for a in argv])
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert expected in error_line(err) and not (tmp_path / "runs").exists()
