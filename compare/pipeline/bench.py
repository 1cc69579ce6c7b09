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
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from compare.answering.executors import ExecutorConfig, ModelRef, executor_items, open_executor
from compare.answering.readers import READERS, parse_readers
from compare.answering.routing import ROUTE_ABOUT, compose
from compare.answering.specs import SYSTEMS, SystemSpec, get_systems, is_composed
from compare.answering.systems import Resources, answer_questions, build_prompts, single_requests
from compare.config import PROFILES, BenchConfig
from compare.engines.registry import EngineConfig, attach_engine, engine_items
from compare.engines.registry import describe as describe_engine
from compare.harness.records import Answer
from compare.harness.run_record import SCHEMA_VERSION, Facts, merge_facts
from compare.harness.stages import StageCache, digest, questions_digest
from compare.pipeline.abstain import gate_stage
from compare.pipeline.index_stages import index_stage, retrievability_stage
from compare.pipeline.model_axis import model_axis, model_slug
from compare.pipeline.reader import reading_with
from compare.pipeline.report import finish_run
from compare.pipeline.tune_stages import (
    adapter_stage,
    continued_reader,
    is_hybrid,
    recipe_config,
    style_description,
    tune_prompts,
    tuned_sft,
    untuned_route,
)
from compare.pipeline.tuning import dev_budget
from compare.scenarios.core import ScenarioContext, run_scenarios
from compare.scoring.costs import hourly_rate, load_prices
from compare.trainset.config import TrainsetConfig
from compare.trainset.stage import check_trainable, trainset_stage, with_train
from corpus.chunking import ChunkConfig
from corpus.config import apply_overrides, read_saved_config, save_config
from corpus.errors import DataError, UserError
from corpus.formats import load
from corpus.model import Dataset, styled
from corpus.paths import check_run_name, resolve_dataset
from corpus.splits import first_facts, split_user_questions
from corpus.validate import dataset_stats, dataset_warnings, format_report
from finetune.config import TrainConfig
from finetune.models import MODELS, load_model
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
    ds: Dataset, configs: dict, specs: list[SystemSpec], cache: StageCache, executor: Any = None,
    recipes: dict | None = None, untried: str | None = None,
) -> tuple[Any, Facts]:  # fmt: skip
    """Index, adapters and the model the systems share, and the facts of their stages."""
    bench, train = configs["bench"], configs["train"]
    retriever, chunk_text, emb, facts = None, {}, None, {}
    if any(s.retrieval or s.adapter == "raft" for s in specs):
        retriever, chunk_text, emb, facts = index_stage(ds, configs, cache)
    names = list(dict.fromkeys(s.adapter for s in specs if s.adapter))
    if any(is_hybrid(s) for s in specs):  # the hybrid's readers: chosen on dev, or the first listed
        readers = parse_readers(bench.hybrid_readers)
        names += [r for r in (readers if bench.tune else readers[:1]) if r not in names]
    tune_ft = bench.tune and "sft" in names  # dev tuning trains the sft adapter (lr grid, epochs)
    later = [n for n in names if n in READERS and READERS[n].continues]  # after what they continue
    adapters = {}
    for n in names:
        if (n != "sft" or not tune_ft) and n not in later:
            adapters[n], trained = adapter_stage(ds, n, configs, retriever, cache)
            merge_facts(facts, trained)
    model, tok = load_model(train.model, train.device, train.dtype, train.trust_remote_code)
    facts["model"] = model_facts(train.model, model)
    res = Resources(
        model, tok, retriever, bench.context_k, bench.context_budget, style_description(ds),
        bench.max_new_tokens, bench.batch_size, set(), chunk_text, bench.rag_shots,
        partial(styled, house_style=ds.meta.get("house_style")), bench.rag_layout,
        executor=executor, model_ref=model_ref(train), embed=emb.encode if emb else None,
    )  # fmt: skip
    attach_engine(res, configs["engine"], str(next(model.parameters()).device.type), train.model)
    facts["engine"] = describe_engine(res)
    log.info(f"[engine] {facts['engine']['name']} {facts['engine']['precision']} ({res.engine_why})")
    if tune_ft:
        adapters["sft"], tuned = tuned_sft(ds, configs, res, cache, recipes or {}, untried)
        merge_facts(facts, tuned)
        chosen = tuned.get("trainset", {}).get("recipe")  # what sft learned, its readers learn too
        ds = with_train(ds, recipes[chosen]) if recipes and chosen else ds
    for n in later:  # e.g. mix: the (tuned) sft adapter trained on with contexts
        if READERS[n].teacher and bench.tune:  # after dev tunes its teacher (tune_stages.taught_readers)
            continue
        start = str(adapters[READERS[n].continues])
        adapters[n], trained = continued_reader(ds, n, configs, res, cache, start, facts["index"]["key"])
        merge_facts(facts, trained)
    for n in adapters:
        res.add_adapter(n, adapters[n])
    return res, facts


def model_facts(name: str, model: Any) -> dict[str, Any]:
    """The generator's name, its size as registered ("135M") and its parameter count."""
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
    return build_prompts(spec, questions[:1], res)[0][0] if questions else ""


def run_system(
    spec: SystemSpec, questions: list, res: Any, cache: StageCache, keys: dict, bench: BenchConfig
) -> tuple[list, list, bool, float]:
    """Batched and single-request answers of one system (cached by everything they depend on),
    whether they came from the cache, and the seconds producing them took."""
    from tqdm.auto import tqdm

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
        job = ModelJob(args.name, ds, questions, loaded, warnings, configs, specs, run, cache, executor)
        summaries = bench_models(job, dataset)
    if len(models) > 1:
        log.info(f"\n{summaries[models[0]]['model_axis']['verdict']}")
        log.info(f"run folder: {run}  ({(time.perf_counter() - t0) / 60:.1f} min, {len(models)} models)")
    return 0


@dataclass(frozen=True)
class ModelJob:
    """One generator's pass through the comparison: what every step of :func:`bench_model` reads."""

    name: str
    ds: Dataset
    questions: list
    loaded: Any  # the dataset as loaded (with its update versions: freshness applies them)
    warnings: list
    configs: dict
    specs: list[SystemSpec]
    run: Path
    cache: StageCache
    executor: Any


def bench_models(job: ModelJob, dataset: dict) -> dict[str, dict]:
    """The whole comparison once per generator; the summaries by model."""
    models = job.configs["bench"].model_names or [job.configs["train"].model]
    summaries: dict[str, dict] = {}
    # The first model's run is the run folder itself; every further model gets a complete run of
    # its own under models/<name>/, and the first run's summary and report get the model axis.
    for n, model in enumerate(reversed(models)):
        first = n == len(models) - 1
        folder = job.run if first else job.run / "models" / model_slug(model)
        mconfigs = {**job.configs, "train": replace(job.configs["train"], model=model)}
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
        summaries[model] = bench_model(replace(job, configs=mconfigs, run=folder), axis, time.perf_counter())
    return summaries


def model_axis_of(others: dict[str, dict]) -> Any:
    """A callback giving the model axis once the first model's summary exists (it comes last)."""
    return lambda first_model, summary: model_axis({first_model: summary, **others})


def bench_model(job: ModelJob, axis: Any, t0: float) -> dict:
    """Every system with one model, scored into ``job.run``; returns the summary. Each step returns
    its facts and only this function merges them into the run record."""
    configs = {**job.configs}  # the steps settle the recipe and retriever dev chose in this copy
    summary = summary_head(job)
    ds, res = prepare(job, configs, summary)
    keys = answer_keys(configs, summary)
    specs = choose_readers(job, ds, configs, res, keys, summary)
    answers = answer_systems(job, ds, specs, res, keys, summary)
    if configs["bench"].scenario_names:
        merge_facts(summary, scenario_step(job, ds, configs, specs, answers, res, keys, summary))
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "device": str(res.model.device)}
    merge_facts(summary, {"machine": machine, "cache_hits": job.cache.hits})

    def add_axis(scored: dict) -> None:
        scored["model_axis"] = axis(configs["train"].model, scored)

    seconds = time.perf_counter() - t0
    return finish_run(
        job.run, ds, job.questions, answers, res.chunk_text, summary, configs, seconds, axis and add_axis
    )


def summary_head(job: ModelJob) -> dict[str, Any]:
    """The record's first lines: what was run, on what, with which warnings."""
    ds = job.ds
    return {
        "schema_version": SCHEMA_VERSION,
        "name": job.name,
        "dataset": ds.name,
        "profile": job.configs["bench"].profile,
        "warnings": [str(w) for w in job.warnings],
        "run_folder": str(job.run),
        **({"splits_assigned": ds.meta["splits_assigned"]} if ds.meta.get("splits_assigned") else {}),
    }


def prepare(job: ModelJob, configs: dict, summary: dict) -> tuple[Dataset, Any]:
    """Training data, index, adapters and the shared model; the dataset with the train split the
    chosen recipe gives (the user's own train split when nothing was generated)."""
    ds, recipes, specs = job.ds, {}, job.specs
    if any(s.adapter for s in specs):
        ds, recipes, facts = trainset_stage(ds, configs, job.cache)
        merge_facts(summary, facts)
        if recipes and not configs["bench"].tune:  # no dev choice: the first recipe, as configured
            configs["train"] = recipe_config(configs["train"], next(iter(recipes)))
    untried = summary.get("trainset", {}).get("untried")
    res, facts = build_resources(ds, configs, specs, job.cache, job.executor, recipes, untried)
    merge_facts(summary, facts, {"executor": job.executor.describe()})
    if recipes:
        ds = with_train(ds, recipes[summary["trainset"]["recipe"]])
    if res.retriever is not None:
        merge_facts(summary, retrievability_stage(ds, configs, job.run, summary["index"].get("path")))
    return ds, res


def answer_keys(configs: dict, summary: dict) -> dict[str, str]:
    """What the systems' cached answers depend on: the model and engine, the index, the retriever
    and each adapter."""
    train = configs["train"]
    return {
        "model": digest(train.model, train.dtype, train.device, summary["engine"]),
        "index": summary.get("index", {}).get("key", ""),
        "retriever": digest(configs["retrieval"].retriever, configs["retrieval"].rrf_k),
        **{n: a["key"] for n, a in summary.get("adapters", {}).items()},
    }


def choose_readers(
    job: ModelJob, ds: Dataset, configs: dict, res: Any, keys: dict, summary: dict
) -> list[SystemSpec]:
    """The systems as dev tuning leaves them (prompt knobs, the hybrid's reader, the abstention
    gate); untuned, the hybrid reads with the first reader listed."""
    if configs["bench"].tune and res.retriever is not None:
        specs, facts = tune_prompts(ds, configs, job.specs, res, job.cache, keys, summary.get("adapters", {}))
        merge_facts(summary, facts)
    else:
        first = parse_readers(configs["bench"].hybrid_readers)[0]
        specs = [
            untuned_route(s, configs["bench"])
            if is_composed(s)
            else reading_with(s, first)
            if is_hybrid(s)
            else s
            for s in job.specs
        ]
    # the adapter each system reads with where it is not its registry's (the hybrid's reader): costs
    readers = {s.name: s.adapter for s in specs if s.name in SYSTEMS and s.adapter != SYSTEMS[s.name].adapter}
    merge_facts(summary, {"readers": readers} if readers else {})
    return specs


def answer_systems(
    job: ModelJob, ds: Dataset, specs: list[SystemSpec], res: Any, keys: dict, summary: dict
) -> dict[str, tuple[list, list]]:
    """Every system's batched answers (gated where dev chose an abstention threshold) and its
    single-request latency samples."""
    answers, parts = {}, {}  # parts: each system's answers as a composed system reads them
    bench = job.configs["bench"]
    for spec in specs:
        log.info(f"\n[{spec.name}] {spec.about}")
        if is_composed(spec):
            answers[spec.name] = composed_answers(spec, answers, parts, ds, res.chunk_text)
            merge_facts(summary, {"routes": {spec.name: spec.rule}})
            continue
        batched, single, hit, seconds = run_system(spec, job.questions, res, job.cache, keys, bench)
        part = batched
        if spec.retrieval and res.embed is not None:
            batched, part, facts = gate_stage(spec, ds, job.questions, batched, res)
            merge_facts(summary, facts)
        answers[spec.name], parts[spec.name] = (batched, single), (part, single)
        merge_facts(summary, {"stage_seconds": {f"answers:{spec.name}": round(seconds, 1)}})
        log.info(
            f"[{spec.name}] {'cached' if hit else 'answered'}: {len(batched)} questions, "
            f"{len(single)} latency samples"
        )
    return answers


def composed_answers(
    spec: Any, answers: dict[str, tuple[list, list]], parts: dict[str, tuple[list, list]], ds: Dataset,
    chunk_text: dict[str, str],
) -> tuple[list, list]:  # fmt: skip
    """A composed system's batched answers and latency samples, from its parts' (answered before it):
    the rules read ``parts`` (RAG's answers without the answer-in-its-chunks gate), a RAG pick is
    RAG's own answer in ``answers``."""
    (rag_b, rag_s), (ft_b, ft_s) = (parts[p] for p in spec.parts)
    own = answers[spec.parts[0]][0]
    template = (ds.meta.get("house_style") or {}).get("template")
    batched = compose(spec.rule, spec.name, rag_b, ft_b, ds.abstain_reply, chunk_text, template, own)
    single = compose(spec.rule, spec.name, rag_s, ft_s, ds.abstain_reply, chunk_text, template)
    log.info(f"[{spec.name}] rule {spec.rule} ({ROUTE_ABOUT[spec.rule]}): {len(batched)} questions")
    return batched, single


def scenario_step(
    job: ModelJob, ds: Dataset, configs: dict, specs: list[SystemSpec], answers: dict, res: Any,
    keys: dict, summary: dict,
) -> Facts:  # fmt: skip
    """The ``after`` scenarios (freshness, forgetting); their results and the adapters they trained."""

    def train_adapter(
        data: Dataset, name: str, kwargs: dict, train: TrainConfig | None
    ) -> tuple[Path, Facts]:
        return adapter_stage(data, name, configs, res.retriever, job.cache, kwargs, train)

    ctx = ScenarioContext(
        ds, job.loaded.dataset, configs, answers, res, job.cache, keys,
        dict(summary.get("adapters", {})), summary.get("index", {}).get("path"),
        train_adapter, first_facts, specs={s.name: s for s in specs},
    )  # fmt: skip
    results = run_scenarios(ctx)
    return merge_facts(ctx.facts, {"scenarios": results})
