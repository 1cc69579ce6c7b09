"""``ftrag bench``: every system on the same questions, on the same machine, in one run.

Stages: dataset (validate, optionally the first N facts), index + retrieval metrics, adapter
training, answers of each system (batched for throughput, a sample one at a time for latency),
scoring, costs, and the run folder ``runs/<timestamp>-<name>/`` (config.json, results.parquet,
summary.json, report.md, plots/). Index, adapters and answers are cached by a hash of their inputs
(:mod:`compare.harness.stages`), so a repeated bench reuses them and an interrupted one resumes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from compare.answering.executors import ExecutorConfig, ModelRef, executor_items, open_executor
from compare.answering.specs import SystemSpec, get_systems
from compare.config import PROFILES, BenchConfig, parse_readers
from compare.engines.registry import EngineConfig, attach_engine, engine_items
from compare.engines.registry import describe as describe_engine
from compare.harness.run_record import SCHEMA_VERSION
from compare.harness.stages import StageCache, digest, questions_digest
from compare.pipeline.abstain import gate_stage
from compare.pipeline.index_stages import index_stage, retrievability_stage
from compare.pipeline.model_axis import model_slug
from compare.pipeline.reader import reading_with
from compare.pipeline.tune_stages import (
    adapter_stage,
    is_hybrid,
    recipe_config,
    style_description,
    tune_prompts,
    tuned_sft,
)
from compare.pipeline.tuning import dev_budget
from compare.scoring.costs import hourly_rate, load_prices
from compare.trainset.config import TrainsetConfig
from compare.trainset.stage import check_trainable, trainset_stage, with_train
from corpus.chunking import ChunkConfig
from corpus.config import apply_overrides, read_saved_config, save_config
from corpus.errors import DataError, UserError
from corpus.formats import load
from corpus.model import Dataset
from corpus.paths import check_run_name, resolve_dataset
from corpus.splits import first_facts, split_user_questions
from corpus.validate import dataset_stats, dataset_warnings, format_report
from finetune.config import TrainConfig
from finetune.data import styled
from retrieval.config import RetrievalConfig

log = logging.getLogger(__name__)


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
        "engine": EngineConfig(),
    }
    profile = args.profile or "quick"
    if profile not in PROFILES:
        raise UserError(f"`profile` must be one of {', '.join(PROFILES)}, got {profile!r}")
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
    items += executor_items(args) + engine_items(args)
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
        log.info(f"[splits] the QA file gives no split: {moved['dev']} of its questions to dev, "
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


def build_resources(
    ds: Dataset, configs: dict, specs: list[SystemSpec], cache: StageCache, summary: dict,
    executor: Any = None, recipes: dict | None = None,
) -> Any:  # fmt: skip
    """Index, adapters and the model the systems share; stage facts go into ``summary``."""
    from compare.answering.systems import Resources
    from finetune.models import load_model

    bench, train = configs["bench"], configs["train"]
    retriever, chunk_text, emb = None, {}, None
    if any(s.retrieval or s.adapter == "raft" for s in specs):
        retriever, chunk_text, emb = index_stage(ds, configs, cache, summary)
    names = list(dict.fromkeys(s.adapter for s in specs if s.adapter))
    if any(is_hybrid(s) for s in specs):  # the hybrid's readers: chosen on dev, or the first listed
        readers = parse_readers(bench.hybrid_readers)
        names += [r for r in (readers if bench.tune else readers[:1]) if r not in names]
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
    attach_engine(res, configs["engine"], str(next(model.parameters()).device.type), train.model)
    summary["engine"] = describe_engine(res)
    log.info(f"[engine] {summary['engine']['name']} {summary['engine']['precision']} ({res.engine_why})")
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


def first_prompt(spec: SystemSpec, questions: list, res: Any) -> str:
    """The first question's prompt as the system renders it: part of the answers' cache key, so
    a change to prompts (template, layout, worked examples) never reuses old answers."""
    from compare.answering.systems import build_prompts

    return build_prompts(spec, questions[:1], res)[0][0] if questions else ""


def run_system(
    spec: SystemSpec, questions: list, res: Any, cache: StageCache, keys: dict, bench: BenchConfig
) -> tuple[list, list, bool, float]:
    """Batched and single-request answers of one system (cached by everything they depend on),
    whether they came from the cache, and the seconds producing them took."""
    from tqdm.auto import tqdm

    from compare.answering.systems import answer_questions, single_requests
    from compare.harness.records import Answer

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
    log.info(format_report(loaded, dataset_stats(ds, configs["chunking"]), warnings))
    configs["bench"] = bench = dev_budget(ds, bench, configs["train"])
    runs = Path(args.runs)
    run = latest_unfinished(runs, args.name) if args.resume else new_run_dir(runs, args.name)
    args.partial_output = None if args.resume else run  # removed if the run is refused (compare.cli)
    dataset = {"path": str(path), "qa": args.qa, "name": ds.name}
    save_config(run / "config.json", **configs, dataset=dataset)
    log.info(
        f"\nbench ({bench.profile}): {len(questions)} {bench.split} questions, "
        f"systems {', '.join(s.name for s in specs)}; model{'s' if len(models) > 1 else ''} "
        f"{', '.join(models)}; run folder {run}"
    )
    cache = StageCache(runs / ".cache")
    with open_executor(configs["executor"]) as executor:
        summaries = bench_models(args, ds, questions, loaded, warnings, configs, specs, run, cache, dataset,
                                 executor)  # fmt: skip
    if len(models) > 1:
        log.info(f"\n{summaries[models[0]]['model_axis']['verdict']}")
        log.info(f"run folder: {run}  ({(time.perf_counter() - t0) / 60:.1f} min, {len(models)} models)")
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
            log.info(f"\n=== model {model} ===")
        axis = model_axis_of(summaries) if first and len(models) > 1 else None
        summaries[model] = bench_model(args, ds, questions, loaded, warnings, mconfigs, specs, folder, cache,
                                       axis, time.perf_counter(), executor)  # fmt: skip
    return summaries


def model_axis_of(others: dict[str, dict]) -> Any:
    """A callback giving the model axis once the first model's summary exists (it comes last)."""
    from compare.pipeline.model_axis import model_axis

    return lambda first_model, summary: model_axis({first_model: summary, **others})


def bench_model(
    args: argparse.Namespace, ds: Dataset, questions: list, loaded: Any, warnings: list, configs: dict,
    specs: list[SystemSpec], run: Path, cache: StageCache, axis: Any, t0: float, executor: Any,
) -> dict:  # fmt: skip
    """Every system with one model, scored into ``run``; returns the summary."""
    from compare.pipeline.report import finish_run

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
        "model": digest(
            configs["train"].model, configs["train"].dtype, configs["train"].device, summary["engine"]
        ),
        "index": summary.get("index", {}).get("key", ""),
        "retriever": digest(configs["retrieval"].retriever, configs["retrieval"].rrf_k),
        **{n: a["key"] for n, a in summary.get("adapters", {}).items()},
    }
    if bench.tune and res.retriever is not None:
        specs = tune_prompts(ds, configs, specs, res, cache, keys, summary)
    else:  # no dev choice: the hybrid reads with the first reader listed
        first = parse_readers(bench.hybrid_readers)[0]
        specs = [reading_with(s, first) if is_hybrid(s) else s for s in specs]
    answers = {}
    for spec in specs:
        log.info(f"\n[{spec.name}] {spec.about}")
        batched, single, hit, seconds = run_system(spec, questions, res, cache, keys, bench)
        if spec.retrieval and res.embed is not None:
            batched = gate_stage(spec, ds, questions, batched, res, summary)
        answers[spec.name] = (batched, single)
        summary.setdefault("stage_seconds", {})[f"answers:{spec.name}"] = round(seconds, 1)
        log.info(
            f"[{spec.name}] {'cached' if hit else 'answered'}: {len(batched)} questions, "
            f"{len(single)} latency samples"
        )
    if bench.scenario_names:
        from compare.scenarios.core import ScenarioContext, run_scenarios

        def train_adapter(data: Dataset, name: str, kwargs: dict, train: TrainConfig | None) -> Path:
            return adapter_stage(data, name, configs, res.retriever, cache, summary, kwargs, train)

        ctx = ScenarioContext(
            ds,
            loaded.dataset,
            configs,
            answers,
            res,
            cache,
            keys,
            summary,
            train_adapter,
            first_facts,
            specs={s.name: s for s in specs},
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
