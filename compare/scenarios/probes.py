"""General probes for the forgetting scenario: loading, checking an answer, choosing the kept set,
and the drift (KL divergence) of a fine-tuned model from its base on general text.

A probe is a general question (arithmetic, world facts, language, instruction following, formats)
with a check rule. Only probes the base model answers correctly are kept: forgetting is a correct
answer lost, so items the base never knew say nothing about what fine-tuning broke.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compare.scoring.scorers import normalize
from corpus.errors import DataError
from corpus.paths import datasets_dir

CHECKS = ("contains", "case", "regex")


def probes_dir() -> Path:
    return datasets_dir() / "probes"


@dataclass(frozen=True)
class Probe:
    id: str
    question: str
    answer: str
    aliases: tuple[str, ...] = ()
    check: str = "contains"
    family: str = "general"


def parse_probe(rec: Any, path: Path, line: int) -> Probe:
    """One JSONL record as a :class:`Probe`; a bad record names the file, line and field."""
    where = f"{path}:{line}"
    if not isinstance(rec, dict):
        raise DataError(f"{where}: a probe must be a JSON object", path)
    for key in ("id", "question", "answer"):
        if not isinstance(rec.get(key), str) or not rec[key].strip():
            raise DataError(f"{where}: field `{key}` must be a non-empty string", path)
    check = rec.get("check", "contains")
    if check not in CHECKS:
        raise DataError(f"{where}: field `check` must be one of {', '.join(CHECKS)}, got {check!r}", path)
    if check == "regex":
        try:
            re.compile(rec["answer"])
        except re.error as exc:
            raise DataError(f"{where}: field `answer` is not a valid regex ({exc})", path) from None
    aliases = rec.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise DataError(f"{where}: field `aliases` must be a list of strings", path)
    return Probe(
        rec["id"], rec["question"], rec["answer"], tuple(aliases), check, rec.get("family", "general")
    )


def load_probes(path: Path) -> list[Probe]:
    """Probes from a JSONL file; duplicate ids and malformed lines are errors."""
    if not path.is_file():
        raise DataError(f"probe file {path} not found", path)
    out: list[Probe] = []
    seen: set[str] = set()
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{n}: not valid JSON ({exc.msg})", path) from None
        probe = parse_probe(rec, path, n)
        if probe.id in seen:
            raise DataError(f"{path}:{n}: duplicate probe id {probe.id!r}", path)
        seen.add(probe.id)
        out.append(probe)
    if not out:
        raise DataError(f"probe file {path} has no probes", path)
    return out


def probe_correct(answer: str, probe: Probe) -> bool:
    """Whether ``answer`` passes the probe's check (see ``datasets/probes/README.md``)."""
    if probe.check == "regex":
        return re.search(probe.answer, answer) is not None
    if probe.check == "case":
        return any(re.search(rf"(?<!\w){re.escape(g)}(?!\w)", answer) for g in (probe.answer, *probe.aliases))
    padded = f" {normalize(answer)} "
    return any(f" {normalize(g)} " in padded for g in (probe.answer, *probe.aliases) if normalize(g))


def select_kept(probes: Sequence[Probe], base_answers: Mapping[str, str]) -> list[str]:
    """Ids of the probes the base model answers correctly: the edge cases it already handles,
    the only ones whose loss after fine-tuning says something."""
    return [p.id for p in probes if p.id in base_answers and probe_correct(base_answers[p.id], p)]


def retention(kept: Sequence[str], correct_after: Mapping[str, bool]) -> float:
    """Share of the kept probes (answered correctly before) still answered correctly after."""
    if not kept:
        return math.nan
    return sum(bool(correct_after.get(pid)) for pid in kept) / len(kept)


def kl_divergence(p_logits: Any, q_logits: Any) -> float:
    """Mean KL(P || Q) over positions, from two ``[positions, vocab]`` logit tensors (nats)."""
    import torch.nn.functional as F

    logp = F.log_softmax(p_logits.float(), dim=-1)
    logq = F.log_softmax(q_logits.float(), dim=-1)
    return float((logp.exp() * (logp - logq)).sum(-1).mean())


def text_windows(tokenizer: Any, text: str, length: int = 128, limit: int = 16) -> list[list[int]]:
    """Up to ``limit`` consecutive token windows of ``text`` (the drift sample)."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return [ids[i : i + length] for i in range(0, len(ids) - 1, length)][:limit]


def drift(model: Any, tokenizer: Any, adapter: str, text: str) -> float:
    """Mean next-token KL(base || adapter) on general text: how far fine-tuning moved the model
    away from its base where the corpus says nothing."""
    import torch

    total, n = 0.0, 0
    model.set_adapter(adapter)
    with torch.no_grad():
        for window in text_windows(tokenizer, text):
            ids = torch.tensor([window], device=model.device)
            tuned = model(input_ids=ids).logits[0]
            with model.disable_adapter():
                base = model(input_ids=ids).logits[0]
            total += kl_divergence(base, tuned) * len(window)
            n += len(window)
    return total / n if n else math.nan
