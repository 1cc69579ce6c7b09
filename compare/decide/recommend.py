"""Rank base / RAG / FT / hybrid for a use case from a measured run, with a reason per number.

The run's summary is first reduced to :class:`SystemFacts` (pure extraction, testable on hand-made
summaries); then each rule of :data:`RULES` looks at one need of the use case and returns points
and a reason citing the measured number, or a failed ``must``. Systems that meet every ``must``
rank above those that do not; within a group, by points. Numbers that are not measured in the run
(projections) are labelled so in the text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from compare.decide.usecase import UseCase
from compare.harness.records import engine_label
from compare.scoring.scorers import missing
from compare.scoring.stats import tie_groups

# Points per unit of each measure. Accuracy is the base currency; the others weigh what the use
# case asks for. Freshness weights grow with how often the knowledge changes.
FRESHNESS_WEIGHT = {"never": 0.0, "yearly": 0.1, "monthly": 0.3, "weekly": 0.6, "daily": 0.8}
NICE_WEIGHT = 0.3
FORGETTING_WEIGHT = 0.3
STYLE_MUST = 0.9  # compliance a `style: must` use case needs


@dataclass(frozen=True)
class SystemFacts:
    """The measured numbers the rules read, for one system (nan where the run has none)."""

    name: str
    accuracy: float
    questions: int
    citation_precision: float
    style: float
    p95_ms: float
    usd_per_1k: float
    upfront_usd: float
    device: str = "cpu"
    update: str = "none"  # how the system takes a knowledge change
    changed_after: float = math.nan  # accuracy on changed facts after that update
    old_value: float = math.nan  # share still answering the old value after it
    update_seconds: float = 0.0
    update_usd: float = 0.0
    retention: float = math.nan  # general probes kept (adapters only)
    drift: float = math.nan
    ties: tuple[str, ...] = ()  # systems whose accuracy the data cannot tell apart from this one's
    tie_accuracy: float = math.nan  # mean accuracy of the tie group: what the ranking uses
    wrong_rate: float = math.nan  # share of test questions answered wrongly (compare.scoring.evaluate)


@dataclass
class Finding:
    points: float = 0.0
    reason: str = ""
    failed: str = ""  # a missed `must`, in words


@dataclass
class Ranked:
    system: str
    points: float
    reasons: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    monthly_usd: float = 0.0

    @property
    def meets_all(self) -> bool:
        return not self.failed


def best_update(name: str, fresh: Mapping[str, Any]) -> dict[str, Any] | None:
    """The update path of ``name`` with the highest accuracy on changed facts after it."""
    rows = [r for r in fresh.get("systems", {}).values() if r["system"] == name]
    if not rows:
        return None
    return max(rows, key=lambda r: (r["changed_after"]["accuracy"], -r["update_seconds"]))


def system_facts(summary: Mapping[str, Any]) -> dict[str, SystemFacts]:
    """Per-system facts from a run's ``summary.json``."""
    sc = summary.get("scenarios", {})
    fresh, forget = sc.get("freshness", {}), sc.get("forgetting", {})
    rate = float(summary.get("prices", {}).get("usd_per_hour", 0.0))
    adapters = {"ft": "ft", "hybrid": "ft", "routed": "ft"}  # hybrid and routed run the ft adapter
    groups = tie_groups(list(summary["systems"]), summary.get("comparisons", []))
    out = {}
    for name, s in summary["systems"].items():
        group = sorted(groups[name] - {name})
        tie_acc = sum(summary["systems"][g]["accuracy"] for g in groups[name]) / len(groups[name])
        up = best_update(name, fresh) or {}
        kept = forget.get("adapters", {}).get(adapters.get(name, ""), {})
        out[name] = SystemFacts(
            name=name,
            accuracy=s["accuracy"],
            questions=int(s.get("questions", 0)),
            citation_precision=s.get("citation_precision", 0.0),
            style=s.get("style_compliance", math.nan),
            p95_ms=s["latency_p95_ms"],
            usd_per_1k=s["usd_per_1k_queries"],
            upfront_usd=s.get("upfront_usd", 0.0),
            device=f"{summary.get('machine', {}).get('device', 'cpu')}, {engine_label(summary)}",
            update=up.get("update", "none"),
            changed_after=up.get("changed_after", {}).get("accuracy", math.nan),
            old_value=up.get("changed_after", {}).get("old_value_rate", math.nan),
            update_seconds=float(up.get("update_seconds", 0.0)),
            update_usd=float(up.get("update_seconds", 0.0)) / 3600 * rate,
            retention=kept.get("retention", math.nan) if name in adapters else math.nan,
            drift=kept.get("drift_kl", math.nan) if name in adapters else math.nan,
            ties=tuple(group),
            tie_accuracy=tie_acc,
            wrong_rate=s.get("wrong_answer_rate", math.nan),
        )
    return out


def monthly_usd(f: SystemFacts, uc: UseCase) -> float:
    """Running cost a month: the queries plus the updates the change frequency implies."""
    return uc.queries_per_month / 1000 * f.usd_per_1k + uc.updates_per_month * f.update_usd


def rule_accuracy(uc: UseCase, f: SystemFacts) -> Finding:
    """Accuracy points; a tie (no significant paired difference) scores the tie group's mean, so
    the other needs decide between systems the data cannot tell apart."""
    reason = f"{f.accuracy:.2f} accuracy on the {f.questions or 'scored'} test questions"
    points = f.accuracy
    if f.ties:
        reason += f" (a tie with {', '.join(f.ties)}: the difference is not significant)"
        points = f.tie_accuracy
    failed = ""
    if uc.accuracy_floor and f.accuracy < uc.accuracy_floor:
        failed = f"accuracy {f.accuracy:.2f} below the required {uc.accuracy_floor:.2f}"
    return Finding(points, reason, failed)


def rule_freshness(uc: UseCase, f: SystemFacts) -> Finding | None:
    weight = FRESHNESS_WEIGHT[uc.changes]
    if not weight or missing(f.changed_after):
        return None
    how = {"none": "without an update (stale)", "re-index": f"after a {f.update_seconds:.2g} s re-index",
           "re-train": f"after a {f.update_seconds / 60:.1f} min re-train"}.get(
        f.update, f"after {f.update} ({f.update_seconds / 60:.1f} min)"
    )  # fmt: skip
    reason = f"{f.changed_after:.2f} accuracy on changed facts {how}"
    if not missing(f.old_value) and f.old_value > 0:
        reason += f", {f.old_value:.0%} still give the old value"
    return Finding(weight * f.changed_after, reason)


def rule_citations(uc: UseCase, f: SystemFacts) -> Finding | None:
    if uc.citations == "none":
        return None
    cites = not missing(f.citation_precision) and f.citation_precision > 0
    reason = (
        f"cites a gold source with precision {f.citation_precision:.2f}"
        if cites
        else "declines every answerable question, so cites nothing"
        if missing(f.citation_precision)
        else "gives no citations (citation precision 0)"
    )
    if uc.citations == "must":
        return Finding(NICE_WEIGHT * (f.citation_precision if cites else 0), reason, "" if cites else reason)
    return Finding(NICE_WEIGHT * (f.citation_precision if cites else 0), reason)


def rule_style(uc: UseCase, f: SystemFacts) -> Finding | None:
    if uc.style == "none" or missing(f.style):
        return None
    reason = f"{f.style:.0%} of answers in the house style"
    failed = (
        f"house style in {f.style:.0%} of answers (needs {STYLE_MUST:.0%})" if f.style < STYLE_MUST else ""
    )
    return Finding(NICE_WEIGHT * f.style, reason, failed if uc.style == "must" else "")


def rule_latency(uc: UseCase, f: SystemFacts) -> Finding | None:
    if not uc.p95_ms:
        return None
    reason = f"p95 latency {f.p95_ms:.0f} ms on {f.device} (budget {uc.p95_ms:.0f} ms)"
    return Finding(0.0, reason, reason if f.p95_ms > uc.p95_ms else "")


def rule_cost(uc: UseCase, f: SystemFacts) -> Finding:
    month = monthly_usd(f, uc)
    reason = (
        f"${month:,.2f} a month for {uc.queries_per_month:,} queries"
        + (f" and {uc.updates_per_month:.1f} updates" if uc.updates_per_month and f.update_usd else "")
        + f" (measured on {f.device}; ${f.upfront_usd:.4f} up front)"
    )
    over = uc.budget_usd_per_month and month > uc.budget_usd_per_month
    return Finding(0.0, reason, f"{reason}: over the ${uc.budget_usd_per_month:,.0f} budget" if over else "")


def rule_forgetting(uc: UseCase, f: SystemFacts) -> Finding | None:
    if missing(f.retention):
        return None
    reason = f"keeps {f.retention:.0%} of the general probes the base model answers"
    if not missing(f.drift):
        reason += f" (drift {f.drift:.3f} nats)"
    return Finding(FORGETTING_WEIGHT * (f.retention - 1), reason)


def rule_wrong_answers(uc: UseCase, f: SystemFacts) -> Finding | None:
    """Where a wrong answer costs more than none: points off per wrong answer (abstaining helps)."""
    if not uc.wrong_answer_cost or missing(f.wrong_rate):
        return None
    reason = (f"answers {f.wrong_rate:.0%} of the test questions wrongly (each wrong answer costs "
              f"{uc.wrong_answer_cost:g} more than none)")  # fmt: skip
    return Finding(-uc.wrong_answer_cost * f.wrong_rate, reason)


def rule_local(uc: UseCase, f: SystemFacts) -> Finding | None:
    if not uc.local_only:
        return None
    return Finding(0.0, f"runs on this machine ({f.device}); no data leaves it")


RULES: dict[str, Callable[[UseCase, SystemFacts], Finding | None]] = {
    "accuracy": rule_accuracy,
    "freshness": rule_freshness,
    "citations": rule_citations,
    "style": rule_style,
    "latency": rule_latency,
    "cost": rule_cost,
    "forgetting": rule_forgetting,
    "wrong answers": rule_wrong_answers,
    "local": rule_local,
}


def rank(facts: Mapping[str, SystemFacts], uc: UseCase) -> list[Ranked]:
    """Systems best first: those meeting every ``must`` before the rest, then by points, then by
    monthly cost."""
    out = []
    for name, f in facts.items():
        r = Ranked(name, 0.0, monthly_usd=monthly_usd(f, uc))
        for rule in RULES.values():
            found = rule(uc, f)
            if found is None:
                continue
            r.points += found.points
            r.reasons.append(found.reason)
            if found.failed:
                r.failed.append(found.failed)
        out.append(r)
    return sorted(out, key=lambda r: (len(r.failed), -r.points, r.monthly_usd))
