"""Training and scoring of sweep variants (see :mod:`compare.sweep.grid`).

Each variant's adapter comes from the stage cache (trained once per data + config, resumed from its
checkpoint when a sweep was interrupted), and its scores are cached by the adapter's key and what
they were scored on, so a repeated sweep neither trains nor answers again. A variant is scored like
the bench's ``ft`` system, closed book: knowledge accuracy on the held-out phrasings of the scored
split (and on the facts it trained on only), house-style compliance, abstention; then the
forgetting scenario's measures: retention of the general probes the base model answers, and drift
(KL) on general text.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Any

from compare.answering.specs import SYSTEMS, SystemSpec
from compare.answering.systems import Resources, answer_questions, cached_answers
from compare.harness.stages import StageCache, digest, questions_digest
from compare.scenarios.core import probe_items, replay_pairs
from compare.scenarios.probes import (
    Probe,
    drift,
    load_probes,
    probe_correct,
    probes_dir,
    retention,
    select_kept,
)
from compare.scoring.costs import hourly_rate, load_prices, usd
from compare.scoring.evaluate import score_answer
from compare.sweep.grid import KNOBS, Variant, knob_text
from corpus.errors import DataError
from corpus.model import Dataset, QAItem
from finetune.config import TrainConfig
from finetune.data import fact_of, select_abstentions, select_training

log = logging.getLogger(__name__)

# The variant table's columns after the knobs (sweep.csv, the report and the dashboard).
SCORE_COLUMNS = (
    "status", "reason", "accuracy", "accuracy_trained", "style", "abstention", "retention", "drift_kl",
    "examples", "corrupted", "replay_examples", "facts_trained", "trainable_params", "params",
    "trainable_share", "train_seconds", "wall_seconds", "cost_usd", "peak_memory_mb", "method_used",
    "device", "cached", "adapter_key",
)  # fmt: skip
COLUMNS = ("variant", *KNOBS, *SCORE_COLUMNS)
QLORA_NEEDS = "QLoRA needs a CUDA GPU (bitsandbytes 4-bit kernels); this machine has none, so it was skipped"


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def sample_items(items: Sequence[Any], n: int, seed: int) -> list[Any]:
    """A seeded sample of ``n`` items in their original order (all when ``n`` is 0 or larger)."""
    if not n or n >= len(items):
        return list(items)
    keep = set(random.Random(seed).sample(range(len(items)), n))
    return [x for i, x in enumerate(items) if i in keep]


def training_items(ds: Dataset, cfg: TrainConfig) -> list[QAItem]:
    """The train items ``cfg``'s data knobs leave (what build_sft_data tokenizes, before length limits)."""
    train, _ = select_abstentions(ds.questions("train"), cfg.abstain)
    return select_training(train, cfg.fact_fraction, cfg.phrasings, cfg.corrupt_fraction, cfg.seed)[0]


def replay_mix(pairs: Sequence[tuple[str, str]], n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` replay pairs: a seeded order of ``pairs``, repeated when ``n`` exceeds them."""
    if n <= 0 or not pairs:
        return []
    order = list(pairs)
    random.Random(f"{seed}:replay").shuffle(order)
    return [order[i % len(order)] for i in range(n)]


@dataclass
class SweepContext:
    """What every variant shares: the dataset, configs, the cache, the scored questions and
    probes; the model for scoring is loaded on first need (a fully cached sweep never loads it)."""

    ds: Dataset
    configs: dict[str, Any]
    cache: StageCache
    questions: list[QAItem] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    general: str = ""
    res: Resources | None = None
    kept: list[str] | None = None

    def __post_init__(self) -> None:
        sweep = self.configs["sweep"]
        questions = self.ds.questions(sweep.split)
        if not questions:
            raise DataError(
                f"no questions in the {sweep.split!r} split; pass --set sweep.split=test", self.ds.name
            )
        self.questions = sample_items(questions, sweep.questions, sweep.seed)
        all_probes = load_probes(probes_dir() / "probes.jsonl")
        self.probes = sample_items(all_probes, sweep.probes, sweep.seed)
        self.general = (probes_dir() / "general.txt").read_text(encoding="utf-8")
        self.rate = hourly_rate(load_prices(), sweep.hardware)

    @property
    def model_key(self) -> str:
        t = self.configs["train"]
        return digest(t.model, t.dtype, t.device)  # as the bench keys the model

    def resources(self) -> Resources:
        if self.res is None:
            from finetune.models import load_model

            t, sweep = self.configs["train"], self.configs["sweep"]
            model, tok = load_model(t.model, t.device, t.dtype, t.trust_remote_code)
            self.res = Resources(model, tok, max_new_tokens=sweep.max_new_tokens, batch_size=sweep.batch_size)
        return self.res

    def kept_probes(self) -> list[str]:
        """Ids of the probes the base model answers (its answers cached as the bench's are)."""
        if self.kept is None:
            items = probe_items(self.probes)
            key = digest("forgetting", self.model_key)
            base, _ = cached_answers(self.cache, SYSTEMS["base"], items, self.resources(), key)
            self.kept = select_kept(self.probes, {a.qid: a.text for a in base})
        return self.kept

    def score_key(self, adapter_key: str) -> str:
        sweep = self.configs["sweep"]
        return digest("sweep-score", adapter_key, self.model_key, questions_digest(self.questions),
                      [p.id for p in self.probes], sweep.max_new_tokens, sweep.batch_size)  # fmt: skip


def knowledge_scores(
    questions: Sequence[QAItem], answers: Sequence[Any], style: Any, trained: set[str]
) -> dict[str, float]:
    """Accuracy on answerable questions (and on those of facts the variant trained on), house-style
    compliance over every answer, and abstention on unanswerable questions."""
    by_id = {a.qid: a for a in answers}
    rows = [(q, score_answer(q, by_id[q.id], {}, style)) for q in questions if q.id in by_id]

    def mean(vals: list[float]) -> float:
        vals = [v for v in vals if not math.isnan(v)]
        return fmean(vals) if vals else math.nan

    answerable = [(q, s) for q, s in rows if q.kind != "unanswerable"]
    return {
        "accuracy": mean([s["correct"] for _, s in answerable]),
        "accuracy_trained": mean([s["correct"] for q, s in answerable if fact_of(q) in trained]),
        "style": mean([s["style_compliant"] for _, s in rows]),
        "abstention": mean([s["abstention_correct"] for q, s in rows if q.kind == "unanswerable"]),
    }


def score_adapter(ctx: SweepContext, folder: Path, key: str, trained: set[str]) -> dict[str, float]:
    """Knowledge, style, retention and drift of the adapter at ``folder`` (loaded, then removed)."""
    res, name = ctx.resources(), f"sweep_{key}"
    kept = ctx.kept_probes()
    res.add_adapter(name, folder)
    spec = SystemSpec(f"sweep@{key}", name, False, "closed book")
    try:
        style = ctx.ds.house_style
        out = knowledge_scores(ctx.questions, answer_questions(spec, ctx.questions, res), style, trained)
        by_id = {p.id: p for p in ctx.probes}
        kept_items = [q for q in probe_items(ctx.probes) if q.id in set(kept)]
        answers = answer_questions(spec, kept_items, res) if kept_items else []
        after = {a.qid: probe_correct(a.text, by_id[a.qid]) for a in answers}
        out["retention"] = retention(kept, after)
        out["drift_kl"] = drift(res.model, res.tokenizer, name, ctx.general)
        out["kept_probes"] = len(kept)
    finally:
        res.drop_adapter(name)
    return out


def variant_row(ctx: SweepContext, v: Variant, progress: bool = True) -> dict[str, Any]:
    """Train (or load) and score one variant; its row of the variant table."""
    train = ctx.configs["train"]
    row: dict[str, Any] = {"variant": v.name, **v.settings(train)}
    row["target_modules"] = knob_text("target_modules", row["target_modules"])
    cfg = v.train_config(train)
    if cfg.method == "qlora" and (cfg.device == "cpu" or not cuda_available()):
        return row | {"status": "skipped", "reason": QLORA_NEEDS}
    items = training_items(ctx.ds, cfg)
    ratio = float(row["replay"])
    pairs = replay_mix(replay_pairs(probes_dir() / "replay.jsonl"), round(ratio * len(items)), cfg.seed)
    try:
        folder, card = ctx.cache.adapter(ctx.ds, cfg, "sft", {"replay": pairs} if pairs else {}, progress)
    except (ValueError, DataError) as exc:  # e.g. target modules this model does not have
        return row | {"status": "failed", "reason": str(exc)}
    trained = {fact_of(q) for q in items if q.kind != "unanswerable"}
    scores, _ = ctx.cache.answers(
        ctx.score_key(card["key"]), lambda: score_adapter(ctx, folder, card["key"], trained)
    )
    counts = card.get("examples", {})
    return row | {
        "status": "done", "reason": "", **{k: scores.get(k, math.nan) for k in
                                           ("accuracy", "accuracy_trained", "style", "abstention",
                                            "retention", "drift_kl")},
        "examples": counts.get("qa", 0), "corrupted": counts.get("corrupted", 0),
        "replay_examples": counts.get("replay", 0), "facts_trained": len(trained),
        "trainable_params": card["trainable_params"], "params": card["params"],
        "trainable_share": card["trainable_params"] / max(card["params"], 1),
        "train_seconds": card["train_seconds"], "wall_seconds": card["wall_seconds"],
        "cost_usd": usd(card["train_seconds"], ctx.rate), "peak_memory_mb": card["peak_memory_mb"],
        "method_used": card["method"], "device": card["device"], "cached": bool(card["cached"]),
        "adapter_key": card["key"], "kept_probes": scores.get("kept_probes", 0),
    }  # fmt: skip


def run_variants(
    ctx: SweepContext,
    variants: Sequence[Variant],
    on_row: Callable[[list[dict]], None],
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Every variant in turn (progress bar over variants, training and answering bars inside);
    ``on_row`` gets the table so far after each variant (the run folder is kept up to date)."""
    from tqdm.auto import tqdm

    rows: list[dict[str, Any]] = []
    bar = tqdm(variants, desc="sweep", unit="variant", disable=None if progress else True)
    for n, v in enumerate(bar, 1):
        t0 = time.perf_counter()
        log.info(f"\n[sweep {n}/{len(variants)}] {v.name}")
        row = variant_row(ctx, v, progress)
        rows.append(row)
        on_row(rows)
        log.info(f"[sweep {n}/{len(variants)}] {v.name}: {row_line(row)} ({time.perf_counter() - t0:.0f} s)")
    return rows


def row_line(row: dict[str, Any]) -> str:
    if row["status"] != "done":
        return f"{row['status']}: {row['reason']}"
    how = "cached" if row["cached"] else f"trained {row['train_seconds']:.0f} s"
    return (
        f"accuracy {row['accuracy']:.3f}, retention {row['retention']:.3f}, drift {row['drift_kl']:.3f}, "
        f"style {row['style']:.2f}, {row['examples']} examples, {how}"
    )
