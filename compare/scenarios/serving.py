"""Does fine-tuned knowledge survive quantised serving? The closed-book systems' test questions
answered again by the llamacpp engine with the base weights at lower precisions (the adapter
applied on top at load, as ``llama-server --lora`` serves it), each accuracy with its interval and
a paired test against the run's own precision.

Allen-Zhu and Li (Physics of Language Models 3.3) find int8 keeps a model's knowledge capacity
and int4 loses part of it; this measures it for the adapter this run trained.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from compare.answering.specs import SYSTEMS
from compare.answering.systems import cached_answers
from compare.engines.llamacpp import file_precision, serving_file
from compare.harness.stages import digest
from compare.scoring.evaluate import result_rows
from compare.scoring.stats import bootstrap_ci, paired_difference
from finetune.models import gguf_file

log = logging.getLogger(__name__)


def serving_systems(ctx: Any) -> list[Any]:
    """The answered systems that read no documents and carry an adapter (``ft``)."""
    specs = [ctx.specs.get(n) or SYSTEMS[n] for n in ctx.answers]
    return [s for s in specs if s.adapter and not s.retrieval]


def precision_scores(rows: list[dict], main: dict[str, bool], seed: int) -> dict[str, Any]:
    """Accuracy with its 95% interval, and the paired test against the main precision's answers."""
    correct = {r["qid"]: float(r["correct"]) for r in rows if r["kind"] != "unanswerable"}
    lo, hi = bootstrap_ci(list(correct.values()), seed=seed)
    pair = paired_difference(correct, main)
    accuracy = sum(correct.values()) / max(len(correct), 1)
    return {"accuracy": accuracy, "ci95": [lo, hi], "difference": pair["difference"],
            "p_value": pair["p_value"], "questions": len(correct)}  # fmt: skip


def serving(ctx: Any) -> dict[str, Any]:
    """One row per (system, precision); the run's own precision first."""
    res, bench = ctx.res, ctx.configs["bench"]
    if res.engine_name != "llamacpp":
        return {
            "skipped": f"the run's engine is {res.engine_name}; quantised serving needs --engine llamacpp"
        }
    systems = serving_systems(ctx)
    if not systems:
        return {"skipped": "no closed-book system with an adapter was answered"}
    source = gguf_file(ctx.configs["train"].model)
    questions = ctx.ds.questions(bench.split)
    style = ctx.ds.meta.get("house_style")
    out: dict[str, Any] = {"main": file_precision(res.model_gguf), "systems": {}}
    for spec in systems:
        main_rows = result_rows(questions, ctx.answers[spec.name][0], res.chunk_text, style)
        main = {r["qid"]: float(r["correct"]) for r in main_rows if r["kind"] != "unanswerable"}
        rows = {out["main"]: precision_scores(main_rows, main, bench.seed)}
        for precision in bench.serving_precision_names:
            path = serving_file(source, precision)
            label = file_precision(path)
            if label in rows:
                continue
            log.info(f"[scenario:serving] {spec.name} at {label}")
            variant = replace(res, model_gguf=str(path), _engines={})
            key = digest("serving", ctx.keys.get(spec.adapter or "", ""), label)
            answers = cached_answers(ctx.cache, spec, questions, variant, key)[0]
            rows[label] = precision_scores(
                result_rows(questions, answers, res.chunk_text, style), main, bench.seed
            )
        out["systems"][spec.name] = rows
    return out
