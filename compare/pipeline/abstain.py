"""Abstention for the systems that retrieve: say the abstain answer when the retrieved text does not
support the question, with the threshold chosen on dev.

A small reader answers whatever it is asked: RAG with SmolLM2-135M abstained on none of the bundled
dataset's unanswerable questions although its prompt tells it to. The signal used instead is how
well the best retrieved *sentence* matches the question (cosine of their embeddings): an
unanswerable question about a product the corpus has still retrieves that product's page, so the
chunk's score stays high, but no sentence of it answers the question. The threshold is chosen on
dev as the one that abstains on most unanswerable questions while costing at most ``max_drop`` of
dev accuracy (a wrong abstention costs a right answer; an abstention on a question the system got
wrong costs nothing). The functions here are pure; the bench wires them to the embedder.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from compare.answering.specs import SystemSpec
from compare.harness.records import Answer
from compare.scoring.abstain_signals import scores
from compare.scoring.evaluate import score_answer
from compare.scoring.quoting import quoted_chunk
from compare.scoring.scorers import is_abstention
from corpus.model import Dataset, QAItem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """One dev or test question as the threshold sees it: its support score, whether it has an
    answer, whether the system answered it right (answerable) and whether it abstained already."""

    support: float
    answerable: bool
    correct: bool = False
    abstained: bool = False


@dataclass(frozen=True)
class Threshold:
    """The chosen gate: abstain below ``value`` (``-inf``: never), and what it did on dev."""

    value: float
    abstention: float  # share of unanswerable dev questions abstained on, gate included
    accuracy: float  # answerable dev accuracy with the gate
    accuracy_before: float
    reason: str = ""
    signal: str = "support"

    @property
    def active(self) -> bool:
        return self.value > -math.inf


def gated(o: Outcome, threshold: float) -> bool:
    """Does the gate turn this answer into an abstention?"""
    return o.support < threshold


def effect(outcomes: Sequence[Outcome], threshold: float) -> tuple[float, float]:
    """(answerable accuracy, unanswerable abstention) with the gate at ``threshold``."""
    ans = [o for o in outcomes if o.answerable]
    un = [o for o in outcomes if not o.answerable]
    acc = sum(o.correct and not gated(o, threshold) for o in ans) / len(ans) if ans else math.nan
    abst = sum(o.abstained or gated(o, threshold) for o in un) / len(un) if un else math.nan
    return acc, abst


def candidates(outcomes: Sequence[Outcome]) -> list[float]:
    """Thresholds worth trying: never, then just above each distinct support score (abstain on it
    and everything lower), low to high."""
    values = sorted({o.support for o in outcomes})
    return [-math.inf] + [math.nextafter(v, math.inf) for v in values]


def choose_threshold(outcomes: Sequence[Outcome], max_drop: float) -> Threshold:
    """The threshold that abstains on the most unanswerable dev questions while dev accuracy drops
    by at most ``max_drop``; among equals the lowest (fewest abstentions). Without unanswerable or
    answerable dev questions the gate stays off, with the reason."""
    acc0, abst0 = effect(outcomes, -math.inf)
    if not any(not o.answerable for o in outcomes):
        return Threshold(-math.inf, abst0, acc0, acc0, "no unanswerable dev questions")
    if not any(o.answerable for o in outcomes):
        return Threshold(-math.inf, abst0, acc0, acc0, "no answerable dev questions")
    best = Threshold(-math.inf, abst0, acc0, acc0)
    for t in candidates(outcomes)[1:]:
        acc, abst = effect(outcomes, t)
        if acc0 - acc <= max_drop + 1e-12 and abst > best.abstention + 1e-12:
            best = Threshold(t, abst, acc, acc0)
    if not best.active:
        why = f"every threshold costs more than {max_drop:g} of dev accuracy"
        return Threshold(-math.inf, abst0, acc0, acc0, why)
    return best


def choose_gate(
    questions: Sequence[QAItem], signals: Sequence[str], max_drop: float,
    support_of: Callable[[str], Sequence[Answer]], style: Mapping[str, Any] | None,
) -> tuple[Threshold, dict[str, Threshold]]:  # fmt: skip
    """The signal and threshold that abstain on the most unanswerable dev questions within
    ``max_drop``, then with the higher accuracy, then turning the fewest answerable questions into
    abstentions (right or wrong: the gate that touches less), then the first listed; and every
    signal's own best. ``support_of(signal)`` gives the dev answers with that signal's support."""
    per, touched = {}, {}
    for sig in signals:
        outs = outcomes(questions, support_of(sig), style)
        per[sig] = replace(choose_threshold(outs, max_drop), signal=sig)
        touched[sig] = sum(o.answerable and gated(o, per[sig].value) for o in outs)
    best = max(per.values(), key=lambda t: (t.active, round(t.abstention, 9), round(t.accuracy, 9),
                                            -touched[t.signal]))  # fmt: skip
    return best, per


def gate_line(t: Threshold, unanswerable: int) -> str:
    """The gate chosen on dev, in a line for the log and the report."""
    if not t.active and not unanswerable:
        return f"no gate ({t.reason})"
    if not t.active:
        return f"no gate ({t.reason}); abstains on {t.abstention:.2f} of {unanswerable} unanswerable"
    return (f"abstain below {t.signal} {t.value:.3f}: abstains on {t.abstention:.2f} of {unanswerable} "
            f"unanswerable, accuracy {t.accuracy_before:.3f} -> {t.accuracy:.3f}")  # fmt: skip


def selective_curve(outcomes: Sequence[Outcome]) -> list[tuple[float, float, float]]:
    """Accuracy against coverage as the gate rises: (threshold, share of questions answered,
    accuracy among the answered, an answered unanswerable question counting as wrong), from
    answering everything to answering only the best-supported question."""
    out = []
    n = len(outcomes)
    for t in candidates(outcomes):
        answered = [o for o in outcomes if not (o.abstained or gated(o, t))]
        if not answered:
            break
        right = sum(o.answerable and o.correct for o in answered)
        out.append((t, len(answered) / n, right / len(answered)))
    return out


# A signal named "<signal>+quoted" is that signal where the answer is found word for word in the
# chunks its prompt quoted, and UNQUOTED below every signal's range where it is not: a threshold
# just above UNQUOTED abstains on the answers the page does not hold and nothing else.
QUOTED = "+quoted"
UNQUOTED = -2.0


def quoted_signals(signals: Sequence[str]) -> list[str]:
    """Each signal and its ``+quoted`` variant, for dev to choose between."""
    return [*signals, *(s + QUOTED for s in signals)]


def with_support(
    questions: Sequence[QAItem], answers: Sequence[Answer], chunk_text: Mapping[str, str],
    embed: Callable[[Sequence[str]], np.ndarray], signal: str = "support", template: str | None = None,
) -> list[Answer]:  # fmt: skip
    """``answers`` with their support set: ``signal``'s score from the chunks each prompt quoted
    (``+quoted``: :data:`UNQUOTED` where the answer, house style ``template`` removed, is in none)."""
    by_id = {q.id: q for q in questions}
    base = signal.removesuffix(QUOTED)
    got = scores(base, [by_id[a.qid].question for a in answers], [a.retrieved for a in answers],
                 chunk_text, embed)  # fmt: skip
    if signal.endswith(QUOTED):
        got = [s if is_abstention(a.text) or quoted_chunk(a.text, a.retrieved, chunk_text, template)
               else UNQUOTED for a, s in zip(answers, got, strict=True)]  # fmt: skip
    return [replace(a, support=round(s, 6)) for a, s in zip(answers, got, strict=True)]


def apply_gate(answers: Sequence[Answer], threshold: float, abstain_answer: str) -> list[Answer]:
    """Answers whose support is under ``threshold`` become ``abstain_answer`` (no citations); the
    model's own answer is kept in ``gated_text`` for the audit."""
    out = []
    for a in answers:
        if a.support is not None and a.support < threshold:
            a = replace(a, text=abstain_answer, citations=[], cited_docs=[], gated_text=a.text)
        out.append(a)
    return out


def outcomes(questions: Sequence[QAItem], answers: Sequence[Answer], style: Mapping[str, Any] | None
             ) -> list[Outcome]:  # fmt: skip
    """What the threshold needs of each answer (its support set: see :func:`with_support`)."""
    by_id = {q.id: q for q in questions}
    out = []
    for a in answers:
        q = by_id[a.qid]
        answerable = q.kind != "unanswerable"
        correct = bool(score_answer(q, a, {}, style)["correct"]) if answerable else False
        support = -1.0 if a.support is None else a.support
        out.append(Outcome(support, answerable, correct, is_abstention(a.text)))
    return out


def gate_stage(
    spec: SystemSpec, ds: Dataset, questions: list[QAItem], batched: list[Answer], res: Any
) -> tuple[list[Answer], list[Answer], dict[str, Any]]:
    """A retrieving system's answers with the support of the signal dev chose (``support`` when
    untuned), gated where dev chose a threshold; the same answers as a composed system reads them
    (gated by ``res.part_gates`` where dev set one there, else the same list); and the
    ``abstention`` facts: the signal, the threshold and the selective-accuracy curve (before the gate)."""
    signal, threshold = res.gates.get(spec.name, ("support", -math.inf))
    template = (ds.house_style or {}).get("template")
    plain = batched
    batched = with_support(questions, batched, res.chunk_text, res.embed, signal, template)
    curve = selective_curve(outcomes(questions, batched, ds.house_style))
    entry = {
        "signal": signal,
        "threshold": threshold if math.isfinite(threshold) else None,
        "curve": [[round(t, 6) if math.isfinite(t) else None, round(c, 4), round(a, 4)] for t, c, a in curve],
    }
    facts = {"abstention": {spec.name: entry}}
    if not math.isfinite(threshold):
        return batched, batched, facts
    batched = apply_gate(batched, threshold, ds.abstain_reply)
    entry["gated"] = sum(bool(a.gated_text) for a in batched)
    log.info(f"[{spec.name}] abstention gate ({signal} under {threshold:.3f}): {entry['gated']} "
             f"of {len(batched)} answers turned into \"{ds.abstain_reply}\"")  # fmt: skip
    if spec.name not in res.part_gates:
        return batched, batched, facts
    part_signal, part_threshold = res.part_gates[spec.name]
    part = with_support(questions, plain, res.chunk_text, res.embed, part_signal, template)
    part = apply_gate(part, part_threshold, ds.abstain_reply)
    entry["part_gate"] = {
        "signal": part_signal,
        "threshold": part_threshold if math.isfinite(part_threshold) else None,
        "gated": sum(bool(a.gated_text) for a in part),
    }
    return batched, part, facts
