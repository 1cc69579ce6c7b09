"""``ftrag bench`` end to end on the 5-document fixture with a tiny random Llama and the real
embedder: run folder contents, caching and resume, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from compare.answering.readers import READERS


def bench_args(mini_dir: Path, model: Path, runs: Path, *extra: str) -> list:
    tiny = [
        "train.r=2",
        "train.alpha=4",
        "train.epochs=1",
        "train.batch_size=2",
        "train.device=cpu",
        "train.target_modules=q_proj,v_proj",
        "bench.latency_samples=2",
        "bench.max_new_tokens=4",
        "bench.tune_min_dev=0",  # the whole grid on the fixture's one dev question (the grid is tested)
        f"train.model={model}",
    ]
    sets = [x for item in tiny for x in ("--set", item)]
    scenarios = [] if "--scenarios" in extra else ["--scenarios", "none"]  # tested on their own below
    return ["bench", "--dataset", mini_dir, "--runs", runs, *sets, *scenarios, *extra]


def test_bench_run_folder_then_cached_repeat(
    run_cli, mini_dir: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    rc, out, err = run_cli(*bench_args(mini_dir, tiny_model_dir, runs))
    assert rc == 0, err
    (run,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    assert {"config.json", "results.parquet", "summary.json", "report.md", "plots"} <= {
        p.name for p in run.iterdir()
    }
    config = json.loads((run / "config.json").read_text())
    assert (
        config["train"]["r"] == 2
        and config["bench"]["profile"] == "quick"
        and config["bench"]["facts"] == 100
    )
    summary = json.loads((run / "summary.json").read_text())
    assert summary["schema_version"] == 2 and list(summary["systems"]) == [
        "base", "rag", "ft", "hybrid", "routed"
    ]  # fmt: skip
    from compare.harness.run_record import RunSummary, SystemRecord

    assert set(summary) <= set(RunSummary.__annotations__)  # the record's schema names every section
    measures = set(SystemRecord.__annotations__)
    assert [set(r) - measures for r in summary["systems"].values()] == [set()] * 5  # and every measure
    results = pd.read_parquet(run / "results.parquet")
    assert len(results) == 5 * 4 and set(results["system"]) == {
        "base",
        "rag",
        "ft",
        "hybrid",
        "routed",
    }  # 4 test questions
    # the routed system composes rag's and ft's answers by the rule dev chose (compare.pipeline.route)
    from compare.answering.routing import ROUTES

    rule = summary["routes"]["routed"]
    route = summary["tuning"]["routes"]["routed"]
    assert route["chosen"] == rule and set(route["rules"]) == set(ROUTES)
    by = {n: g.set_index("qid") for n, g in results.groupby("system")}
    for qid, r in by["routed"].iterrows():
        assert r["text"] in (by["rag"].loc[qid, "text"], by["ft"].loc[qid, "text"], "I don't know")
        assert r["prompt_tokens"] >= by["rag"].loc[qid, "prompt_tokens"]
    assert f"[routed] rule {rule}" in out and f"rule **{rule}**" in (run / "report.md").read_text()
    rag = results[results["system"] == "rag"]
    assert all(len(r) == 1 for r in rag["retrieved"])  # context_k = 1
    assert all(len(r) == 0 for r in results[results["system"] == "base"]["retrieved"])
    s = summary["systems"]
    assert s["base"]["upfront_usd"] == 0 and s["ft"]["upfront_usd"] > 0 and s["rag"]["storage_bytes"] > 0
    assert s["base"]["citation_precision"] == 0 and s["rag"]["prompt_tokens"] > s["base"]["prompt_tokens"]
    assert s["rag"]["latency_samples"] == 2 and s["rag"]["latency_p95_ms"] >= s["rag"]["latency_p50_ms"] > 0
    assert summary["cache_hits"] == {"index": False, "adapter:sft": False}
    retrieval = summary["index"]["retrieval"]
    assert set(retrieval) == {"bm25", "dense", "hybrid"} and retrieval["dense"]["queries"] == 3
    assert "| system |" in (run / "report.md").read_text() and (run / "plots" / "accuracy_cost.png").is_file()
    assert "run folder:" in out and "accuracy" in out
    assert (run / "retrievability" / "pages.csv").is_file() and summary["retrievability"]["pages"] == 5
    # dev tuning: the retriever by dev MRR, the adapter's lr (configured, a quarter) by dev accuracy,
    # RAG and hybrid prompts one knob at a time (default, one-shot, completion, then k=3)
    tuning = summary["tuning"]
    assert (
        tuning["split"] == "dev" and tuning["questions"] == 1 and tuning["retriever"]["chosen"] in retrieval
    )
    assert [t["knobs"]["lr"] for t in tuning["systems"]["ft"]["trials"]] == [0.002, 0.0005]
    assert all(len(tuning["systems"][n]["trials"]) == 4 for n in ("rag", "hybrid"))
    assert "## Tuning on dev" in (run / "report.md").read_text()
    # nothing changed: no training, no indexing, answers from the cache, same scores
    rc, out, err = run_cli(*bench_args(mini_dir, tiny_model_dir, runs))
    assert rc == 0, err
    second = max(p for p in runs.iterdir() if not p.name.startswith("."))
    again = json.loads((second / "summary.json").read_text())
    assert again["cache_hits"] == {"index": True, "adapter:sft": True} and "training sft" not in out
    assert all(f"[{name}] cached:" in out for name in ("base", "rag", "ft", "hybrid"))
    assert again["systems"]["ft"]["accuracy"] == s["ft"]["accuracy"]
    # a changed training knob retrains only the adapter
    rc, out, err = run_cli(*bench_args(mini_dir, tiny_model_dir, runs, "--set", "train.lr=0.005"))
    assert rc == 0, err
    assert "training sft" in out
    third = max(p for p in runs.iterdir() if not p.name.startswith("."))
    assert json.loads((third / "summary.json").read_text())["cache_hits"] == {
        "index": True,
        "adapter:sft": False,
    }


def test_resume_continues_the_unfinished_run(
    run_cli, mini_dir: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    rc, _, err = run_cli(*bench_args(mini_dir, tiny_model_dir, runs, "--resume"))
    assert rc == 2 and "no unfinished run named 'bench'" in err
    stale = runs / "20200101-000000-bench"
    stale.mkdir(parents=True)
    rc, _, err = run_cli(*bench_args(mini_dir, tiny_model_dir, runs, "--resume", "--systems", "base"))
    assert rc == 0, err
    assert (stale / "summary.json").is_file() and len(
        [p for p in runs.iterdir() if not p.name.startswith(".")]
    ) == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ("--systems", "base,oracle"),
            "unknown system 'oracle'; choose from base, rag, ft, hybrid, raft, routed",
        ),
        (("--set", "train.epochz=2"), "unknown config key 'train.epochz'"),
        (
            ("--set", "bench.route=vote"),
            "`route` must be auto or one of rag, judge, fallback, verify, judge+fallback",
        ),
        (("--set", "bench.context_k=0"), "`context_k` must be a positive integer"),
        (("--set", "bench.split=nope"), "no questions in the 'nope' split"),
        (("--device", "cuda"), "no CUDA device is available; use --device cpu"),
        (("--set", "epochs=2"), "must look like section.field=value"),
        (
            ("--set", "bench.hardware=abacus"),
            "`hardware` 'abacus' is not in the price table; one of cpu, H100",
        ),
    ],
)
def test_bad_bench_input_is_one_line(run_cli, mini_dir, tiny_model_dir, tmp_path, extra, message) -> None:
    import torch

    if extra[0] == "--device" and torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    rc, _, err = run_cli(*bench_args(mini_dir, tiny_model_dir, tmp_path / "runs", *extra))
    assert rc == 2 and message in err.strip().splitlines()[-1]


def test_question_without_gold_is_refused(run_cli, mini_dir, tiny_model_dir, tmp_path) -> None:
    qa = mini_dir / "qa.jsonl"
    lines = qa.read_text().splitlines()
    lines[0] = lines[0].replace('"answer": "512 MB"', '"answer": ""')
    qa.write_text("\n".join(lines) + "\n")
    rc, _, err = run_cli(*bench_args(mini_dir, tiny_model_dir, tmp_path / "runs", "--systems", "base"))
    assert rc == 2 and "qa.jsonl:1: field `answer` is missing or empty" in err


def test_raft_trains_its_own_adapter_on_retrieved_contexts(
    run_cli, mini_dir: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    rc, _, err = run_cli(*bench_args(mini_dir, tiny_model_dir, runs, "--systems", "raft,rag"))
    assert rc == 0, err
    (run,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    summary = json.loads((run / "summary.json").read_text())
    card = summary["adapters"]["raft"]
    assert card["examples"]["raft"] == 1 and card["examples"]["qa"] == 1  # the one train question, both ways
    from compare.pipeline.tune_stages import RAFT_PROMPT_TOKENS

    # room for a whole context: at 384 tokens the quick bench's RAFT examples were nearly all cut
    budget = json.loads((run / "config.json").read_text())["bench"]["context_budget"]
    assert card["config"]["max_length"] == budget + RAFT_PROMPT_TOKENS and "sft" not in summary["adapters"]
    assert card["examples"]["too_long"] == 0
    assert summary["systems"]["raft"]["prompt_tokens"] == summary["systems"]["rag"]["prompt_tokens"]


def test_the_hybrid_reader_is_chosen_on_dev_among_sft_and_raft(
    run_cli, mini_dir: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    extra = ("--systems", "hybrid", "--set", "bench.hybrid_readers=sft,raft", "--set", "bench.tune_k=1")
    rc, out, err = run_cli(*bench_args(mini_dir, tiny_model_dir, runs, *extra))
    assert rc == 0, err
    (run,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    summary = json.loads((run / "summary.json").read_text())
    assert {"sft", "raft"} <= set(summary["adapters"])  # both readers trained
    hybrid = summary["tuning"]["systems"]["hybrid"]
    reader = hybrid["reader"]
    assert set(reader["dev_accuracy"]) == {"sft", "raft"} and reader["chosen"] in ("sft", "raft")
    best = max(reader["dev_accuracy"].values())
    assert reader["dev_accuracy"][reader["chosen"]] == best == hybrid["dev_accuracy"]
    assert "[tune:hybrid] reader on dev: sft" in out and f"-> {reader['chosen']}" in out
    tried = ", ".join(f"{r} {a:.3f}" for r, a in reader["dev_accuracy"].items())
    report = (run / "report.md").read_text()
    assert f"- hybrid: reader **{reader['chosen']}** (dev accuracy: {tried};" in report
    config = json.loads((run / "config.json").read_text())
    assert config["bench"]["hybrid_readers"] == "sft,raft"


@pytest.mark.parametrize(
    ("sets", "trained"),
    [
        (["bench.hybrid_readers=raft", "bench.tune_k=1"], {"sft", "raft"}),  # one reader: that one, tuned
        (["bench.hybrid_readers=raft,sft", "bench.tune=false"], {"sft", "raft"}),  # no tuning: the first
        (["bench.hybrid_readers=mix", "bench.tune_k=1", "train.epochs=2"], {"sft", "mix"}),  # on from sft
        (["bench.hybrid_readers=mix", "bench.tune=false", "train.epochs=2"], {"sft", "mix"}),  # untuned
        (["bench.hybrid_readers=distill", "bench.tune=false", "train.epochs=2"], {"sft", "distill"}),
        (
            ["bench.hybrid_readers=distill", "bench.tune_k=1", "train.epochs=2"],
            {"sft", "distill"},
        ),  # in tuning
    ],
)
def test_the_hybrid_reads_with_the_reader_it_is_given(
    run_cli, mini_dir: Path, tiny_model_dir: Path, tmp_path: Path, sets: list, trained: set
) -> None:
    runs = tmp_path / "runs"
    extra = ["--systems", "ft,hybrid"] + [x for item in sets for x in ("--set", item)]
    rc, out, err = run_cli(*bench_args(mini_dir, tiny_model_dir, runs, *extra))
    assert rc == 0, err
    (run,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    summary = json.loads((run / "summary.json").read_text())
    assert set(summary["adapters"]) == trained
    (reader,) = trained - {"sft"}
    assert f"[hybrid] {READERS[reader].about} ({reader}), and retrieved chunks" in out
    card, sft = summary["adapters"][reader], summary["adapters"]["sft"]
    assert card["examples"]["raft"] >= 1 and card["examples"]["qa"] >= 1  # contexts and closed book
    if reader == "distill":  # its in-context targets: RAG's answers to the train questions
        taught = [json.loads(p.read_text()) for p in (runs / ".cache" / "answers").glob("*.json")]
        (teacher,) = [r["batched"] for r in taught if r["batched"][0]["system"] == "rag@teacher"]
        assert len(teacher) == card["examples"]["raft"]
    tuned = summary.get("tuning", {}).get("systems", {}).get("hybrid", {}).get("reader")
    if tuned and reader == "mix":  # its closed-book dev accuracy beside the adapter it came from
        assert set(tuned["closed_book"]) == {"sft", "mix"}
        assert "closed book on dev mix" in (run / "report.md").read_text()
    assert summary["readers"] == {"hybrid": reader}  # the hybrid's costs count its reader's training
    index_s = summary["index"]["seconds"]
    trainings = card["wall_seconds"] + (sft["wall_seconds"] if READERS[reader].continues else 0.0)
    assert summary["systems"]["hybrid"]["upfront_seconds"] == pytest.approx(index_s + trainings)
    if reader in ("mix", "distill"):  # one epoch (bench.mix_epochs) on from the sft adapter ft serves
        assert card["epochs_done"] == card["config"]["epochs"] == 1 < sft["config"]["epochs"]
        assert card["starts_from"] == sft.get("adapter", str(Path(sft["path"]) / "adapter"))
    else:
        assert card["starts_from"] is None  # from the base weights


def test_hybrid_readers_names_the_known_ones(
    run_cli, mini_dir: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    args = bench_args(mini_dir, tiny_model_dir, tmp_path / "runs", "--set", "bench.hybrid_readers=sft,rafts")
    rc, _, err = run_cli(*args)
    assert (
        rc == 2 and "`hybrid_readers` takes a comma list of sft, raft, mix, distill, got 'sft,rafts'" in err
    )


def test_saved_config_round_trips_and_later_flags_win(tmp_path: Path) -> None:
    import argparse

    from compare.pipeline.bench import resolve_configs
    from corpus.config import save_config

    first = resolve_configs(argparse.Namespace(profile="full", config=None, set=["train.lr=0.003"],
                                               systems="rag,ft", device=None))  # fmt: skip
    save_config(tmp_path / "config.json", **first, dataset={"path": "x", "qa": None, "name": "x"})
    args = argparse.Namespace(profile=None, config=tmp_path / "config.json", set=["bench.context_k=2"],
                              systems=None, device="cpu")  # fmt: skip
    again = resolve_configs(args)
    assert again["train"].lr == 0.003 and again["bench"].system_names == ["rag", "ft"]
    assert again["bench"].profile == "full" and again["bench"].facts == 0 and again["train"].epochs == 8
    assert again["bench"].hybrid_readers == "sft,mix"  # the full profile lets dev try the mix reader
    assert again["bench"].context_k == 2 and again["train"].device == "cpu"
    assert again["train"].target_modules == first["train"].target_modules


def add_update(mini: Path) -> None:
    """A v2 of the 5-document fixture: the install page's memory requirement changes, and so do
    its test question and the config page's train question."""
    v2 = mini / "updates" / "v2"
    (v2 / "docs" / "guide").mkdir(parents=True)
    text = (mini / "docs" / "install.md").read_text().replace("512 MB", "1 GB")
    (v2 / "docs" / "install.md").write_text(text)
    config = (mini / "docs" / "guide" / "config.md").read_text().replace("30 seconds", "45 seconds")
    (v2 / "docs" / "guide" / "config.md").write_text(config)
    lines = [json.loads(x) for x in (mini / "qa.jsonl").read_text().splitlines()]
    q1 = {**lines[0], "answer": "1 GB", "old_answer": "512 MB"}
    q2 = {**lines[1], "answer": "45 seconds", "aliases": ["45 s"], "old_answer": "30 seconds"}
    (v2 / "qa.jsonl").write_text(json.dumps(q1) + "\n" + json.dumps(q2) + "\n")


def test_scenarios_run_and_report(run_cli, mini_dir: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    add_update(mini_dir)
    runs = tmp_path / "runs"
    rc, out, err = run_cli(
        *bench_args(
            mini_dir,
            tiny_model_dir,
            runs,
            "--scenarios",
            "freshness,forgetting,style",
            "--set",
            "bench.forgetting_replay=true",  # off in the quick profile
        )
    )
    assert rc == 0, err
    (run,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    sc = json.loads((run / "summary.json").read_text())["scenarios"]
    fr = sc["freshness"]
    assert fr["version"] == "v2" and fr["changed_questions"] == 1  # q1 is the one changed test question
    # incremental re-index: only the two changed pages are re-embedded
    assert fr["updates"]["reindex"]["docs_changed"] == ["guide/config", "install"]
    assert fr["updates"]["reindex"]["docs_added"] == []
    retrain = fr["updates"]["retrain"]
    assert retrain["examples"]["qa"] == 1 and retrain["config"]["epochs"] == 1  # q2; no unchanged train left
    from compare.answering.routing import uses_adapter

    routed = {"routed", "routed (re-index)"}
    if uses_adapter(json.loads((run / "summary.json").read_text())["routes"]["routed"]):
        routed.add("routed (re-index + re-train)")  # only a rule that asks the adapter uses its update
    assert set(fr["systems"]) == {
        "base", "rag (re-index)", "ft", "ft (re-train)", "hybrid (re-index)", "hybrid (re-index + re-train)"
    } | routed  # fmt: skip
    assert fr["systems"]["routed (re-index)"]["update_seconds"] == fr["updates"]["reindex"]["seconds"]
    assert fr["systems"]["ft (re-train)"]["update_seconds"] == retrain["wall_seconds"]
    assert fr["systems"]["ft (re-train)"]["unchanged_after"]["n"] == 2  # q4 and q5 (q6 is unanswerable)
    fg = sc["forgetting"]
    assert fg["probes"] >= 200 and set(fg["adapters"]) == {"ft", "ft + replay"} and fg["replay_examples"] > 50
    for a in fg["adapters"].values():
        assert a["drift_kl"] > 0 and 0 <= (a["retention"] if fg["kept"] else 0) <= 1
        assert 0 <= a["corpus_accuracy"] <= 1
    assert set(sc["style"]) == {"base", "rag", "ft", "hybrid", "routed"}
    report = (run / "report.md").read_text()
    assert "## Freshness" in report and "## Forgetting" in report and "## House style" in report
    assert "[scenario:freshness]" in out and "[adapter:sft-replay]" in out


def test_two_models_bench_writes_each_run_and_the_axis(
    run_cli, mini_dir: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    import shutil

    other = tmp_path / "tiny-other"
    shutil.copytree(tiny_model_dir, other)
    runs = tmp_path / "runs"
    models = f"bench.models={tiny_model_dir},{other}"
    rc, out, err = run_cli(
        *bench_args(mini_dir, tiny_model_dir, runs, "--set", models, "--systems", "base,rag")
    )
    assert rc == 0, err
    (run,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    (sub,) = list((run / "models").iterdir())
    assert (sub / "summary.json").is_file() and (sub / "results.parquet").is_file()
    assert json.loads((sub / "config.json").read_text())["train"]["model"] == str(other)
    first = json.loads((run / "summary.json").read_text())
    axis = first["model_axis"]
    assert {r["model"] for r in axis["rows"]} == {str(tiny_model_dir), str(other)}
    assert all(r["params"] > 0 and set(r["accuracy"]) == {"base", "rag"} for r in axis["rows"])
    assert "## Does the verdict depend on model size?" in (run / "report.md").read_text()
    assert axis["verdict"] in out and "2 models" in out
    rc, out, err = run_cli("recommend", "--run", str(run), "--profile", "regulated", "--no-projection")
    assert rc == 0, err
    assert "model size:" in out


@pytest.mark.parametrize(
    "models, sets, expected",
    [
        ("", [], ["smollm2-135m"]),
        ("smollm2-135m,gemma3-270m", [], ["smollm2-135m", "gemma3-270m"]),
        # the full profile's two models plus one the user names: the user's comes first
        ("smollm2-135m,gemma3-270m", ["train.model=/m/mine"], ["/m/mine", "smollm2-135m", "gemma3-270m"]),
        ("smollm2-135m,/m/mine", ["train.model=/m/mine"], ["smollm2-135m", "/m/mine"]),
        ("", ["train.model=/m/mine"], ["/m/mine"]),
    ],
)
def test_generators_add_the_model_the_user_names(models: str, sets: list, expected: list) -> None:
    import argparse
    from dataclasses import replace

    from compare.config import BenchConfig
    from compare.pipeline.bench import generators
    from finetune.config import TrainConfig

    model = next((s.split("=", 1)[1] for s in sets), "smollm2-135m")
    train = replace(TrainConfig(), model=model)
    assert generators(BenchConfig(models=models), train, argparse.Namespace(set=sets)) == expected


@pytest.mark.parametrize(
    ("extra", "rule"),
    [
        (("--set", "bench.tune=false"), "verify"),  # untuned: the default rule
        (("--set", "bench.route=judge"), "judge"),  # fixed by the config, dev not asked
    ],
)
def test_routed_alone_brings_its_parts(run_cli, mini_dir, tiny_model_dir, tmp_path, extra, rule) -> None:
    runs = tmp_path / "runs"
    rc, out, err = run_cli(*bench_args(mini_dir, tiny_model_dir, runs, "--systems", "routed", *extra))
    assert rc == 0, err
    (run,) = [p for p in runs.iterdir() if not p.name.startswith(".")]
    summary = json.loads((run / "summary.json").read_text())
    assert list(summary["systems"]) == ["rag", "ft", "routed"] and summary["routes"] == {"routed": rule}
    assert f"[routed] rule {rule}" in out
