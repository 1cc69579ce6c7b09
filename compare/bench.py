"""``ftrag bench``: every system on the same questions, on the same machine, in one run.

Stages: dataset (validate, optionally the first N facts), index + retrieval metrics, adapter
training, answers of each system (batched for throughput, a sample one at a time for latency),
scoring, costs, and the run folder ``runs/<timestamp>-<name>/`` (config.json, results.parquet,
summary.json, report.md, plots/). Index, adapters and answers are cached by a hash of their inputs
(:mod:`compare.stages`), so a repeated bench reuses them and an interrupted one resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from compare.abstain import gate_stage
from compare.config import PROFILES, BenchConfig
from compare.costs import hourly_rate, load_prices
from compare.executors import ExecutorConfig, ModelRef, executor_items, open_executor
from compare.model_axis import model_slug
from compare.specs import SystemSpec, get_systems
from compare.stages import StageCache, digest, questions_digest
from compare.trainset.build import answers_taught
from compare.trainset.config import TrainsetConfig
from compare.trainset.stage import check_trainable, trainset_stage, with_train
from compare.tuning import dev_budget
from corpus.chunking import ChunkConfig
from corpus.config import apply_overrides, read_saved_config, save_config
from corpus.errors import DataError
from corpus.formats import load
from corpus.model import Dataset
from corpus.paths import check_run_name, resolve_dataset
from corpus.splits import first_facts, split_user_questions
from corpus.validate import dataset_stats, dataset_warnings, format_report
from finetune.config import TrainConfig
from finetune.data import styled
from retrieval.config import RetrievalConfig

SCHEMA_VERSION = 2


def new_run_dir(runs: Path, name: str) -> Path:
    """A fresh ``runs/<timestamp>-<name>/``; never reuses a folder another bench created."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        path = runs / (f"{stamp}-{name}" + (f"-{n}" if n else ""))
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a run folder under {runs}")


def latest_unfinished(runs: Path, name: str) -> Path:
    """The newest ``*-<name>`` run folder without a summary (what ``--resume`` continues)."""
    found = sorted(p for p in runs.glob(f"*-{name}") if p.is_dir() and not (p / "summary.json").exists())
    if not found:
        raise FileNotFoundError(f"no unfinished run named {name!r} under {runs}; run without --resume")
    return found[-1]


def resolve_configs(args: argparse.Namespace) -> dict[str, Any]:
    """Defaults, then the profile, then ``--config`` file, then ``--set`` overrides and flags."""
    configs: dict[str, Any] = {
        "bench": BenchConfig(),
        "train": TrainConfig(),
        "retrieval": RetrievalConfig(),
        "chunking": ChunkConfig(),
        "executor": ExecutorConfig(),
        "trainset": TrainsetConfig(),
    }
    profile = args.profile or "quick"
    if profile not in PROFILES:
        raise ValueError(f"`profile` must be one of {', '.join(PROFILES)}, got {profile!r}")
    items = [f"{sec}.{k}={v}" for sec, kv in PROFILES[profile].items() for k, v in kv.items()]
    items.append(f"bench.profile={profile}")
    if args.config:
        saved = read_saved_config(args.config)
        items += [
            f"{sec}.{k}={v}"
            for sec, kv in saved.items()
            if sec in configs  # a run's config.json also records the dataset; that is not a knob
            for k, v in kv.items()
            if k != "type"
        ]
    items += list(args.set or [])
    items += [f"bench.systems={args.systems}"] if args.systems else []
    items += [f"bench.scenarios={args.scenarios}"] if getattr(args, "scenarios", None) else []
    items += [f"train.device={args.device}"] if args.device else []
    items += executor_items(args)
    return apply_overrides(configs, items)


def generators(bench: BenchConfig, train: TrainConfig, args: argparse.Namespace) -> list[str]:
    """The models compared: ``bench.models`` (the full profile names both bundled ones), with a
    model the user named by ``--set train.model=...`` put first when the list lacks it."""
    models = bench.model_names or [train.model]
    named = any(str(s).split("=", 1)[0].strip() == "train.model" for s in (args.set or []))
    return [train.model, *models] if named and train.model not in models else models


def model_ref(train: TrainConfig) -> ModelRef:
    """What an executor's workers load: a registered name as it is, a model folder as an absolute path."""
    from finetune.models import MODELS

    name = (
        train.model
        if train.model in MODELS or not Path(train.model).exists()
        else str(Path(train.model).resolve())
    )
    return ModelRef(name, train.device, train.dtype, train.trust_remote_code)


def load_questions(path: Path, qa: str | None, bench: BenchConfig) -> tuple[Dataset, list, Any]:
    """The dataset (first N facts; the user's unsplit questions in dev and test) and the questions
    scored; clear errors for unusable input."""
    loaded = load(path, qa=qa)
    if loaded.problems:
        raise DataError(loaded.problems)
    ds, moved = split_user_questions(first_facts(loaded.dataset, bench.facts), bench.seed)
    if moved:
        print(f"[splits] the QA file gives no split: {moved['dev']} of its questions to dev, "
              f"{moved['test']} to test (seed {bench.seed}, stratified by kind)")  # fmt: skip
        ds.meta = {**ds.meta, "splits_assigned": moved}
    questions = ds.questions(bench.split)
    if not questions:
        raise DataError(
            f"no questions in the {bench.split!r} split; add some or pass --set bench.split=dev", path
        )
    empty = next((q for q in questions if q.kind != "unanswerable" and not q.golds), None)
    if empty:
        raise DataError(
            f"question {empty.id!r} has no gold answer; give it an answer or mark it unanswerable", path
        )
    return ds, questions, loaded


def retrieval_metrics(ds: Dataset, index: Any, emb: Any, cfg: RetrievalConfig, split: str) -> dict:
    """recall/MRR/nDCG of every registered retriever on the scored split."""
    from retrieval.evaluate import RetrievalEvaluator
    from retrieval.search import RETRIEVERS, make_retriever

    if not ds.qrels(split):
        return {}
    return {
        name: RetrievalEvaluator(ds, split=split)(make_retriever(name, index, emb, cfg))
        for name in sorted(RETRIEVERS)
    }


def raft_examples(ds: Dataset, retriever: Any, bench: BenchConfig) -> list[tuple[str, str, str]]:
    """(question, numbered context, cited answer) for every answerable train question, the context
    being what the retriever returns (two chunks at least, so there is a distractor). When no chunk
    comes from a gold source the answer is the abstain answer: the reader learns not to invent."""
    from retrieval.context import assemble_context

    style = ds.meta.get("house_style")
    train = [q for q in ds.questions("train") if q.kind != "unanswerable"]
    hits = retriever.retrieve([q.question for q in train], max(2, bench.context_k))
    out = []
    for q, hs in zip(train, hits, strict=True):
        ctx = assemble_context(hs, bench.context_budget)
        n = next((i + 1 for i, d in enumerate(ctx.doc_ids) if d in q.sources), None)
        answer = f"{q.answer} [{n}]" if n else ds.abstain_answer
        out.append((q.question, ctx.text, styled(answer, style)))
    return out


def style_description(ds: Dataset) -> str | None:
    """The house style in words, as prompted systems are told it (``None`` without one)."""
    style = ds.meta.get("house_style")
    return style.get("description") if isinstance(style, dict) else None


def index_stage(ds: Dataset, configs: dict, cache: StageCache, summary: dict) -> tuple[Any, dict, Any]:
    """The configured retriever over the cached index, its chunk texts and the embedder."""
    from retrieval.search import make_retriever

    rcfg = configs["retrieval"]
    print("\n[index] chunking and embedding the corpus")
    index, emb, info = cache.index(ds, configs["chunking"], rcfg)
    print(
        f"[index] {info['chunks']} chunks ({info['kind']}), {'cached' if info['cached'] else 'built'}"
        f" (build took {info['seconds']:.1f} s)"
    )
    summary["index"] = info | {"retrieval": retrieval_metrics(ds, index, emb, rcfg, configs["bench"].split)}
    summary.setdefault("stage_seconds", {})["index"] = round(info["seconds"], 1)
    if configs["bench"].tune and configs["bench"].tune_retrievers and ds.qrels("dev"):
        rcfg = configs["retrieval"] = tune_retriever(ds, index, emb, rcfg, summary)
    return make_retriever(rcfg.retriever, index, emb, rcfg), {c.chunk_id: c.text for c in index.chunks}, emb


def tune_retriever(
    ds: Dataset, index: Any, emb: Any, rcfg: RetrievalConfig, summary: dict
) -> RetrievalConfig:
    """The retrieval config with the retriever that ranks best on dev (MRR@10; no generation)."""
    from compare.tuning import RETRIEVER_METRIC, choose_retriever

    t0 = time.perf_counter()
    metrics = retrieval_metrics(ds, index, emb, rcfg, "dev")
    best = choose_retriever(metrics, rcfg.retriever)
    summary.setdefault("tuning", {"split": "dev"})["retriever"] = {
        "chosen": best,
        "default": rcfg.retriever,
        "metric": RETRIEVER_METRIC,
        "scores": {n: round(m[RETRIEVER_METRIC], 4) for n, m in metrics.items()},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(f"[tune:retriever] {RETRIEVER_METRIC} on dev: " + ", ".join(
        f"{n} {m[RETRIEVER_METRIC]:.3f}" for n, m in metrics.items()) + f" -> {best}")  # fmt: skip
    return replace(rcfg, retriever=best)


def retrievability_stage(ds: Dataset, configs: dict, run: Path, summary: dict) -> None:
    """Which pages the configured retriever can find at all (generated page queries), written to
    ``run/retrievability/`` for content teams and the dashboard; seconds on the bundled corpus."""
    from retrieval.embed import Embedder
    from retrieval.index import ChunkIndex
    from retrieval.report import write_report
    from retrieval.retrievability import analyze, page_queries
    from retrieval.search import make_retriever

    rcfg, t0 = configs["retrieval"], time.perf_counter()
    queries = [q for d in ds.docs.values() for q in page_queries(d)]
    if not queries or "path" not in summary.get("index", {}):
        return
    index = ChunkIndex.load(Path(summary["index"]["path"]))
    emb = Embedder.from_config(rcfg)
    result = analyze(ds.docs, queries, make_retriever(rcfg.retriever, index, emb, rcfg), index)
    write_report(result, run / "retrievability")
    summary["retrievability"] = result.facts()
    summary.setdefault("stage_seconds", {})["retrievability"] = round(time.perf_counter() - t0, 1)
    r = summary["retrievability"]
    print(f"[retrievability] {r['pages']} pages, Gini {r['gini']:.3f}, {r['never']} never retrieved")


def adapter_stage(
    ds: Dataset, name: str, configs: dict, retriever: Any, cache: StageCache, summary: dict,
    kwargs: dict | None = None, train: TrainConfig | None = None, stop_epochs: int | None = None,
) -> Path:  # fmt: skip
    """The cached adapter ``name`` (``sft``: questions closed book; ``raft``: questions with
    retrieved contexts and cited answers, in the prompt the RAG system uses; others: the trainer
    arguments in ``kwargs``, e.g. a replay mix or the adapter a continued training starts from)."""
    from retrieval.context import Context, rag_messages

    train, kwargs = train or configs["train"], dict(kwargs or {})
    if name == "raft":
        system = rag_messages("", Context("", (), (), 0, 0), style_description(ds))[0]["content"]
        kwargs = {"raft": raft_examples(ds, retriever, configs["bench"]), "raft_system": system}
        train = replace(train, max_length=max(train.max_length, 384))  # a numbered chunk per example
    until = f" (the first {stop_epochs})" if stop_epochs else ""
    print(f"\n[adapter:{name}] {train.epochs} epochs{until}, lr {train.lr}, batch {train.batch_size}")
    path, card = cache.adapter(ds, train, name, kwargs, stop_epochs=stop_epochs)
    print(
        f"[adapter:{name}] {'cached' if card['cached'] else 'trained'}: {card['train_seconds']:.0f} s "
        f"training, dev loss {[round(x, 3) for _, x in card['dev_loss']]}"
    )
    summary.setdefault("adapters", {})[name] = {k: v for k, v in card.items() if k != "train_loss"}
    summary.setdefault("stage_seconds", {})[f"adapter:{name}"] = round(card["wall_seconds"], 1)
    return path


def build_resources(
    ds: Dataset, configs: dict, specs: list[SystemSpec], cache: StageCache, summary: dict,
    executor: Any = None, recipes: dict | None = None,
) -> Any:  # fmt: skip
    """Index, adapters and the model the systems share; stage facts go into ``summary``."""
    from compare.systems import Resources
    from finetune.models import load_model

    bench, train = configs["bench"], configs["train"]
    retriever, chunk_text, emb = None, {}, None
    if any(s.retrieval or s.adapter == "raft" for s in specs):
        retriever, chunk_text, emb = index_stage(ds, configs, cache, summary)
    names = list(dict.fromkeys(s.adapter for s in specs if s.adapter))
    tune_ft = bench.tune and "sft" in names  # dev tuning trains the sft adapter (lr grid, epochs)
    adapters = {
        n: adapter_stage(ds, n, configs, retriever, cache, summary)
        for n in names
        if n != "sft" or not tune_ft
    }
    model, tok = load_model(train.model, train.device, train.dtype, train.trust_remote_code)
    summary["model"] = model_facts(train.model, model)
    res = Resources(
        model, tok, retriever, bench.context_k, bench.context_budget, style_description(ds),
        bench.max_new_tokens, bench.batch_size, set(), chunk_text, bench.rag_shots,
        partial(styled, house_style=ds.meta.get("house_style")), bench.rag_layout,
        executor=executor, model_ref=model_ref(train), embed=emb.encode if emb else None,
    )  # fmt: skip
    if tune_ft:
        adapters["sft"] = tuned_sft(ds, configs, res, cache, summary, recipes or {})
    for n in names:
        res.add_adapter(n, adapters[n])
    return res


def model_facts(name: str, model: Any) -> dict[str, Any]:
    """The generator's name, its size as registered ("135M") and its parameter count."""
    from finetune.models import MODELS

    params = sum(p.numel() for p in model.parameters())
    spec = MODELS.get(name)
    size = (
        spec.params
        if spec and spec.params
        else f"{params / 1e6:.0f}M"
        if params >= 1e6
        else f"{params / 1e3:.0f}K"
    )
    return {"name": name, "size": size, "params": params}


def recipe_config(train: TrainConfig, recipe: str) -> TrainConfig:
    """The training config of a generated-data recipe (``docs`` adds the pages as continuation)."""
    return replace(train, include_docs=True) if recipe == "docs" else train


def tuned_sft(ds: Dataset, configs: dict, res: Any, cache: StageCache, summary: dict, recipes: dict) -> Path:
    """The ``sft`` adapter at the learning rate and epoch dev accuracy chose (compare.tuning); with
    generated training data, the recipe too (each trains a few epochs, the best goes on)."""
    from compare.tuning import Tuner

    def trainer(data: Dataset) -> Any:
        """What the tuner calls to train (or load) the adapter of ``data`` with a given config."""

        def train_adapter(cfg: TrainConfig, stop_epochs: int | None) -> tuple[Path, dict]:
            adapter_stage(data, "sft", configs, res.retriever, cache, summary, None, cfg, stop_epochs)
            return Path(summary["adapters"]["sft"]["path"]), summary["adapters"]["sft"]

        return train_adapter

    t0 = time.perf_counter()
    tuner = Tuner(ds, configs, res, cache, summary)
    if why := summary.get("trainset", {}).get("untried"):  # decided before the reader ran (trainset.build)
        tuner.out["recipe"] = {"chosen": next(iter(recipes)), "trials": [], "skipped": why}
        print(f"[tune:recipe] {why}: {next(iter(recipes))} kept without a trial")
    elif len(recipes) > 1:
        probe = partial(probe_recipe, ds, recipes, configs, trainer)
        chosen = tuner.recipe(list(recipes), probe, lambda name, qs: answers_taught(recipes[name], qs))
        ds = with_train(ds, recipes[chosen])
        configs["train"] = recipe_config(configs["train"], chosen)
        summary["trainset"]["recipe"] = chosen
    folder, card = tuner.ft(trainer(ds))
    summary["adapters"]["sft"] = card | {"adapter": str(folder)}
    summary.setdefault("stage_seconds", {})["tune:ft"] = round(time.perf_counter() - t0, 1)
    return folder


def probe_recipe(ds: Dataset, recipes: dict, configs: dict, trainer: Any, name: str) -> tuple[Path, dict]:
    """A few epochs (the lr probe's) of the adapter trained on recipe ``name``'s items."""
    bench, train = configs["bench"], configs["train"]
    probe = bench.tune_probe_epochs if 0 < bench.tune_probe_epochs < train.epochs else train.epochs
    _, card = trainer(with_train(ds, recipes[name]))(recipe_config(train, name), probe)
    return Path(card["path"]) / "epochs" / str(min(probe, card["epochs_done"])), card


def tune_prompts(ds: Dataset, configs: dict, specs: list, res: Any, cache: StageCache, keys: dict,
                 summary: dict) -> None:  # fmt: skip
    """Prompt knobs of every retrieving system chosen on dev; they stay set in ``res.tuned``."""
    from compare.tuning import Tuner

    t0 = time.perf_counter()
    tuner = Tuner(ds, configs, res, cache, summary)
    for spec in (s for s in specs if s.retrieval):
        print(f"\n[tune:{spec.name}] prompt knobs on dev")
        key = digest(keys.get(spec.adapter or "", ""), keys["index"], keys["retriever"], keys["model"])
        tuner.prompts(spec, key)
        if configs["bench"].abstain_gate:
            tuner.abstention(spec, key)
    summary.setdefault("stage_seconds", {})["tune:prompts"] = round(time.perf_counter() - t0, 1)


def first_prompt(spec: SystemSpec, questions: list, res: Any) -> str:
    """The first question's prompt as the system renders it: part of the answers' cache key, so
    a change to prompts (template, layout, worked examples) never reuses old answers."""
    from compare.systems import build_prompts

    return build_prompts(spec, questions[:1], res)[0][0] if questions else ""


def run_system(
    spec: SystemSpec, questions: list, res: Any, cache: StageCache, keys: dict, bench: BenchConfig
) -> tuple[list, list, bool, float]:
    """Batched and single-request answers of one system (cached by everything they depend on),
    whether they came from the cache, and the seconds producing them took."""
    from tqdm.auto import tqdm

    from compare.records import Answer
    from compare.systems import answer_questions, single_requests

    sample = random.Random(bench.seed).sample(questions, min(bench.latency_samples, len(questions)))
    key = digest(
        first_prompt(spec, questions, res),
        spec,
        keys.get(spec.adapter or "", ""),
        (keys["index"], keys["retriever"]) if spec.retrieval else "",
        keys["model"],
        res.style,
        questions_digest(questions),
        [q.id for q in sample],
        asdict(res.knobs(spec)) | {"max_new_tokens": bench.max_new_tokens, "batch_size": bench.batch_size},
    )

    def produce() -> dict:
        with tqdm(total=len(questions), desc=f"{spec.name}: answering", unit="q") as bar:
            batched = answer_questions(spec, questions, res, bar.update)
        single = (
            single_requests(spec, tqdm(sample, desc=f"{spec.name}: latency", unit="q"), res) if sample else []
        )
        return {"batched": [asdict(a) for a in batched], "single": [asdict(a) for a in single]}

    data, hit = cache.answers(key, produce)
    batched, single = [Answer(**a) for a in data["batched"]], [Answer(**a) for a in data["single"]]
    return batched, single, hit, data["seconds"]


def cmd_bench(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    check_run_name(args.name)
    configs = resolve_configs(args)
    bench = configs["bench"]
    specs = get_systems(bench.system_names)
    hourly_rate(load_prices(), bench.hardware)  # an unknown price row fails now, not after the run
    models = generators(bench, configs["train"], args)
    configs["bench"] = bench = replace(bench, models=",".join(models) if len(models) > 1 else bench.models)
    configs["train"] = replace(configs["train"], model=models[0])
    path = resolve_dataset(args.dataset)
    ds, questions, loaded = load_questions(path, args.qa, bench)
    check_trainable(ds, specs, configs["trainset"], path)
    warnings = dataset_warnings(ds)
    print(format_report(loaded, dataset_stats(ds, configs["chunking"]), warnings))
    configs["bench"] = bench = dev_budget(ds, bench, configs["train"])
    runs = Path(args.runs)
    run = latest_unfinished(runs, args.name) if args.resume else new_run_dir(runs, args.name)
    args.partial_output = None if args.resume else run  # removed if the run is refused (compare.cli)
    dataset = {"path": str(path), "qa": args.qa, "name": ds.name}
    save_config(run / "config.json", **configs, dataset=dataset)
    print(
        f"\nbench ({bench.profile}): {len(questions)} {bench.split} questions, "
        f"systems {', '.join(s.name for s in specs)}; model{'s' if len(models) > 1 else ''} "
        f"{', '.join(models)}; run folder {run}"
    )
    cache = StageCache(runs / ".cache")
    with open_executor(configs["executor"]) as executor:
        summaries = bench_models(args, ds, questions, loaded, warnings, configs, specs, run, cache, dataset,
                                 executor)  # fmt: skip
    if len(models) > 1:
        print(f"\n{summaries[models[0]]['model_axis']['verdict']}")
        print(f"run folder: {run}  ({(time.perf_counter() - t0) / 60:.1f} min, {len(models)} models)")
    return 0


def bench_models(
    args: argparse.Namespace, ds: Dataset, questions: list, loaded: Any, warnings: list, configs: dict,
    specs: list[SystemSpec], run: Path, cache: StageCache, dataset: dict, executor: Any,
) -> dict[str, dict]:  # fmt: skip
    """The whole comparison once per generator; the summaries by model."""
    models = configs["bench"].model_names or [configs["train"].model]
    summaries: dict[str, dict] = {}
    # The first model's run is the run folder itself; every further model gets a complete run of
    # its own under models/<name>/, and the first run's summary and report get the model axis.
    for n, model in enumerate(reversed(models)):
        first = n == len(models) - 1
        folder = run if first else run / "models" / model_slug(model)
        mconfigs = {**configs, "train": replace(configs["train"], model=model)}
        done = folder / "summary.json"
        if not first and done.is_file():  # a resumed multi-model bench keeps finished models
            summaries[model] = json.loads(done.read_text())
            continue
        if not first:
            folder.mkdir(parents=True, exist_ok=True)
            save_config(folder / "config.json", **mconfigs, dataset=dataset)
        if len(models) > 1:
            print(f"\n=== model {model} ===")
        axis = model_axis_of(summaries) if first and len(models) > 1 else None
        summaries[model] = bench_model(args, ds, questions, loaded, warnings, mconfigs, specs, folder, cache,
                                       axis, time.perf_counter(), executor)  # fmt: skip
    return summaries


def model_axis_of(others: dict[str, dict]) -> Any:
    """A callback giving the model axis once the first model's summary exists (it comes last)."""
    from compare.model_axis import model_axis

    return lambda first_model, summary: model_axis({first_model: summary, **others})


def bench_model(
    args: argparse.Namespace, ds: Dataset, questions: list, loaded: Any, warnings: list, configs: dict,
    specs: list[SystemSpec], run: Path, cache: StageCache, axis: Any, t0: float, executor: Any,
) -> dict:  # fmt: skip
    """Every system with one model, scored into ``run``; returns the summary."""
    from compare.report import finish_run

    bench = configs["bench"]
    summary: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": args.name,
        "dataset": ds.name,
        "profile": bench.profile,
        "warnings": [str(w) for w in warnings],
        "run_folder": str(run),
        **({"splits_assigned": ds.meta["splits_assigned"]} if ds.meta.get("splits_assigned") else {}),
    }
    recipes: dict = {}
    if any(s.adapter for s in specs):
        ds, recipes = trainset_stage(ds, configs, cache, summary)
        if recipes and not bench.tune:  # no dev choice: the first recipe, as configured
            configs["train"] = recipe_config(configs["train"], next(iter(recipes)))
    res = build_resources(ds, configs, specs, cache, summary, executor, recipes)
    if recipes:
        ds = with_train(ds, recipes[summary["trainset"]["recipe"]])
    summary["executor"] = executor.describe()
    if res.retriever is not None:
        retrievability_stage(ds, configs, run, summary)
    keys = {
        "model": digest(configs["train"].model, configs["train"].dtype, configs["train"].device),
        "index": summary.get("index", {}).get("key", ""),
        "retriever": digest(configs["retrieval"].retriever, configs["retrieval"].rrf_k),
        **{n: a["key"] for n, a in summary.get("adapters", {}).items()},
    }
    if bench.tune and res.retriever is not None:
        tune_prompts(ds, configs, specs, res, cache, keys, summary)
    answers = {}
    for spec in specs:
        print(f"\n[{spec.name}] {spec.about}")
        batched, single, hit, seconds = run_system(spec, questions, res, cache, keys, bench)
        if spec.retrieval and res.embed is not None:
            batched = gate_stage(spec, ds, questions, batched, res, summary)
        answers[spec.name] = (batched, single)
        summary.setdefault("stage_seconds", {})[f"answers:{spec.name}"] = round(seconds, 1)
        print(
            f"[{spec.name}] {'cached' if hit else 'answered'}: {len(batched)} questions, "
            f"{len(single)} latency samples"
        )
    if bench.scenario_names:
        from compare.scenarios import ScenarioContext, run_scenarios

        def train_adapter(data: Dataset, name: str, kwargs: dict, train: TrainConfig | None) -> Path:
            return adapter_stage(data, name, configs, res.retriever, cache, summary, kwargs, train)

        ctx = ScenarioContext(
            ds, loaded.dataset, configs, answers, res, cache, keys, summary, train_adapter, first_facts
        )
        summary["scenarios"] = run_scenarios(ctx)
    summary["machine"] = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "device": str(res.model.device),
    }
    summary["cache_hits"] = cache.hits

    def add_axis(scored: dict) -> None:
        scored["model_axis"] = axis(configs["train"].model, scored)

    seconds = time.perf_counter() - t0
    return finish_run(
        run, ds, questions, answers, res.chunk_text, summary, configs, seconds, axis and add_axis
    )
