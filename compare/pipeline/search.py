"""The search over dev trials: the trial record, the pick, coordinate search, and racing.

Racing: a prompt trial stops once it can no longer beat the trials before it. Coordinate search
keeps a trial only when its dev accuracy is above that of every earlier trial of its axis (a tie
keeps the earlier one). After each batch of answers the engine runs, the best a trial can still
reach is its right answers so far with every unanswered question right; once that is not above the
bar, the rest of its answers cannot change the choice. The quick bench's k=3 trials, three times
the prompt of the others and far behind them on dev, are where this pays.

The answers made are the ones an unraced trial makes (compare.answering.systems.answers_until:
the same batches in the same order on the same engine), so the knobs chosen, their dev answers
and every test score are those of the whole search; a stopped trial records how many questions it
answered, and its bound in place of an accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from statistics import fmean
from typing import Any

from compare.answering.specs import SystemSpec
from compare.answering.systems import Resources, answers_key, answers_until, cached_answers
from compare.harness.records import Answer
from compare.harness.stages import digest
from corpus.model import QAItem

TIE = 1e-12  # accuracies closer than this are a tie (float sums of the same right answers)


def beats(accuracy: float, bar: float) -> bool:
    """Whether ``accuracy`` wins over ``bar`` (a tie keeps the earlier trial)."""
    return accuracy > bar + TIE


def best_possible(scores: Sequence[float], total: int) -> float:
    """The accuracy over ``total`` questions if every one not yet in ``scores`` comes out right,
    averaged as the harness averages (so a finished trial's bound is its accuracy, to the bit)."""
    return fmean([*scores, *[1.0] * (total - len(scores))]) if total else 0.0


@dataclass(frozen=True)
class Trial:
    """One setting tried on dev: its knobs, dev accuracy and the compute seconds it cost."""

    knobs: dict[str, Any]
    accuracy: float
    seconds: float
    label: str = ""
    # questions answered when a raced trial stopped (its accuracy is then the most it could have
    # reached); None: every one
    answered: int | None = None


def pick(trials: Sequence[Trial]) -> Trial:
    """The trial with the highest dev accuracy; a tie keeps the earlier one (grids list the
    configured default or the cheaper setting first, so a tie never moves away from it)."""
    if not trials:
        raise ValueError("no trials to pick from")
    best = trials[0]
    for t in trials[1:]:
        if beats(t.accuracy, best.accuracy):
            best = t
    return best


def coordinate_search(
    start: Mapping[str, Any],
    axes: Sequence[Sequence[Mapping[str, Any]]],
    evaluate: Callable[[dict[str, Any], float], Trial],
) -> tuple[dict[str, Any], list[Trial]]:
    """One knob at a time from ``start``: each axis's options (partial knob dicts) are tried with
    the best knobs so far, and the best stays. A setting is evaluated once however often it
    comes up. ``evaluate(knobs, bar)`` is told the accuracy the setting must beat to be chosen
    (-inf for the start), so it may stop early (:func:`raced_answers`). Returns the chosen knobs
    and every trial in the order run."""
    current, seen, trials = dict(start), {}, []

    def run(knobs: dict[str, Any], bar: float) -> Trial:
        key = tuple(sorted(knobs.items()))
        if key not in seen:
            seen[key] = evaluate(knobs, bar)
            trials.append(seen[key])
        return seen[key]

    incumbent = run(current, -math.inf)
    for options in axes:
        tried = [incumbent]
        for o in options:
            tried.append(run(current | dict(o), pick(tried).accuracy))
        incumbent = pick(tried)
        current = dict(incumbent.knobs)
    return current, trials


def raced_answers(
    cache: Any, spec: SystemSpec, questions: Sequence[QAItem], res: Resources, key: str, bar: float,
    correct: Callable[[QAItem, Answer], float],
) -> tuple[list[Answer], float]:  # fmt: skip
    """``spec``'s answers to ``questions``, batch by batch until they can no longer beat ``bar``
    (``correct`` scores one answer), and the seconds they took. Without a bar, or when the whole
    set is cached already, the whole set (compare.answering.systems.cached_answers). A race that
    ran to the end is cached as the whole set too, for what reads it next (the abstention gate)."""
    full = answers_key(spec, questions, res, key)
    if not math.isfinite(bar) or cache.has("answers", full):
        return cached_answers(cache, spec, questions, res, key)

    def go_on(made: list[Answer | None]) -> bool:
        scores = [correct(q, a) for q, a in zip(questions, made, strict=True) if a is not None]
        return beats(best_possible(scores, len(questions)), bar)

    def produce() -> dict:
        return {"batched": [asdict(a) for a in answers_until(spec, questions, res, go_on) if a is not None]}

    data, _ = cache.answers(digest(full, "raced", repr(bar)), produce)
    if len(data["batched"]) == len(questions):
        cache.answers(full, lambda: {"batched": data["batched"], "seconds": data["seconds"]})
    return [Answer(**a) for a in data["batched"]], float(data["seconds"])
