"""The bench stage: generated training data when the train split is empty, cached by its inputs."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from compare.answering.specs import SystemSpec
from compare.answering.systems import Resources
from compare.engines.registry import EngineConfig, attach_engine
from compare.harness.stages import StageCache, digest, docs_digest
from compare.trainset.build import GENERATOR_VERSION, Trainset, answers_taught, build_trainset, check_usable
from compare.trainset.config import TrainsetConfig
from corpus.errors import DataError
from corpus.loaders import parse_qa
from corpus.model import Dataset, QAItem
from finetune.models import load_model
from retrieval.embed import Embedder

log = logging.getLogger(__name__)


def code_digest() -> str:
    """A hash of the generator's own source (rules, prompts, filters): a changed rule remakes the data."""
    import compare.trainset.build as build
    import compare.trainset.filters as filters
    import compare.trainset.generate as generate
    import corpus.absent as absent
    import corpus.coderules as coderules
    import corpus.linerules as linerules
    import corpus.proserules as proserules
    import corpus.qafilters as qafilters
    import corpus.qaphrase as qaphrase
    import corpus.qarules as qarules
    import corpus.qawords as qawords
    import corpus.rulebook as rulebook
    import corpus.sectionrules as sectionrules
    import corpus.trainset as trainset

    modules = (
        build,
        filters,
        generate,
        absent,
        coderules,
        linerules,
        proserules,
        qafilters,
        qaphrase,
        qarules,
        qawords,
        rulebook,
        sectionrules,
        trainset,
    )
    return digest(*(Path(m.__file__).read_text() for m in modules))


def check_trainable(ds: Dataset, specs: list[Any], trainset: TrainsetConfig, path: Path) -> None:
    """Before any index is built: an adapter needs a train split or pages to generate one from."""
    if not any(s.adapter for s in specs) or (ds.questions("train") and trainset.mode != "always"):
        return
    if trainset.mode == "never":
        raise DataError(
            "the train split is empty and trainset.mode is never: nothing to fine-tune on; add train "
            "questions, drop --set trainset.mode=never, or pass --systems base,rag",
            path,
        )
    if not any(d.text.strip() for d in ds.docs.values()):
        raise DataError("the train split is empty and no page has text to generate training data from", path)


def held_out_questions(ds: Dataset) -> list[str]:
    """The dev and test questions no generated item may look like (the guard's other side)."""
    return sorted(q.question for q in ds.qa if q.split in ("dev", "test"))


def wanted(ds: Dataset, mode: str) -> bool:
    """Whether training data is generated: ``always``, or ``auto`` with an empty train split."""
    return mode == "always" or (mode == "auto" and not ds.questions("train"))


def with_train(ds: Dataset, items: list[QAItem]) -> Dataset:
    """``ds`` with ``items`` as its whole train split (a given one is replaced)."""
    return replace(ds, qa=[q for q in ds.qa if q.split != "train"] + items)


def load_trainset(data: dict[str, Any]) -> Trainset:
    recipes = {r: [parse_qa(rec, "trainset", n) for n, rec in enumerate(items, 1)]
               for r, items in data["recipes"].items()}  # fmt: skip
    return Trainset(recipes, data["counts"], data.get("examples_dropped", []))  # type: ignore[arg-type]


def produce_trainset(
    ds: Dataset, configs: dict[str, Any], held_out: list[str], trial_dev: list[QAItem] | None = None
) -> dict[str, Any]:
    """Generate with the run's model as the writer and reader and its embedder for the guard;
    ``trial_dev``: the dev questions a recipe trial is scored on (the bench's, when it tunes)."""
    cfg = configs["trainset"]
    emb = Embedder.from_config(configs["retrieval"])
    if cfg.model_questions == "off" and cfg.round_trip == "off" and "distill" not in cfg.recipe_names:
        return build_trainset(ds, cfg, None, None, emb.encode, held_out, trial_dev or ()).to_json()
    with generator(configs, cfg.batch_size) as (engine, tokenizer, params):
        return build_trainset(
            ds, cfg, engine, tokenizer, emb.encode, held_out, trial_dev or (), params=params
        ).to_json()


@contextlib.contextmanager
def generator(configs: dict[str, Any], batch_size: int) -> Iterator[tuple[Any, Any, int]]:
    """The run's model as the trainset's writer and reader, served by the run's engine
    (compare.engines.registry: llama.cpp on CPU where the model ships as GGUF), and its parameter count."""
    train = configs["train"]
    model, tokenizer = load_model(train.model, train.device, train.dtype, train.trust_remote_code)
    res = Resources(model, tokenizer, max_new_tokens=24, batch_size=batch_size)
    cfg = configs.get("engine") or EngineConfig()
    attach_engine(res, cfg, str(next(model.parameters()).device.type), train.model)
    with res.engine(SystemSpec("trainset", None, False, "the trainset's writer and reader")) as engine:
        yield engine, tokenizer, sum(p.numel() for p in model.parameters())


def trainset_stage(
    ds: Dataset, configs: dict[str, Any], cache: StageCache
) -> tuple[Dataset, dict[str, list[QAItem]], dict[str, Any]]:
    """``ds`` with the first recipe's items as its train split, every recipe's items, and the
    stage's facts; ``ds`` unchanged and no recipes when no data is generated (``trainset.mode``)."""
    cfg, train = configs["trainset"], configs["train"]
    if not wanted(ds, cfg.mode):
        return ds, {}, {}
    replaced = len(ds.questions("train"))
    held_out = held_out_questions(ds)
    trial_dev = ds.questions("dev") if configs["bench"].tune else []
    key = digest(GENERATOR_VERSION, code_digest(), docs_digest(ds), cfg, train.model, train.dtype, held_out,
                 bool(trial_dev), configs.get("engine"), train.device)  # fmt: skip
    log.info(
        f"\n[trainset] generating training data from {len(ds.docs)} pages"
        + (f" (the given train split of {replaced} questions set aside)" if replaced else "")
    )
    data, hit = cache.record("trainset", key, lambda: produce_trainset(ds, configs, held_out, trial_dev))
    ts = load_trainset(data)
    check_usable(ts, ds)
    recipes = {r: items for r, items in ts.recipes.items() if items}
    first, c = next(iter(recipes)), ts.counts
    facts = {"mode": cfg.mode, "replaced_train": replaced, "cached": hit, "key": key,
             "seconds": round(data["seconds"], 1), "recipes": list(recipes),
             "recipe": first, **c, "examples_dropped": ts.examples_dropped}  # fmt: skip
    facts["answers_taught"] = {
        split: [
            answers_taught(recipes[first], ds.questions(split)),
            sum(q.kind != "unanswerable" for q in ds.questions(split)),
        ]
        for split in ("dev", "test")
    }
    log.info(f"[trainset] {'cached' if hit else 'generated'}: " + ", ".join(
        f"{r} {n} items ({c['facts'][r]} facts)" for r, n in c["items"].items()) + f"; pages covered "
        f"{c['pages_covered']} of {c['pages']}; removed: {c['dropped'] or 'none'}")  # fmt: skip
    stage = {"trainset": facts, "stage_seconds": {"trainset": round(data["seconds"], 1)}}
    return with_train(ds, recipes[first]), recipes, stage
