"""The rules of thumb a sweep checks, each a small function of the variant table, and the Pareto
front of accuracy against retention. Pure: the table comes from :mod:`compare.sweep.run`."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from compare.sweep.grid import KNOBS, knob_text

# Where the rules of thumb draw their lines, and how large a difference counts (accuracy and
# retention are shares of about 100 questions here: a 95% interval is about +-0.1, so differences
# under 0.05 are read as no difference).
LOW_LR = (1e-5, 5e-5)
GOOD_EPOCHS = (3, 5)
MIN_EXAMPLES = 1000
LORA_SHARE = 0.001  # "LoRA trains 0.1% of the parameters"
SHARE_FACTOR = 3.0  # within 3x of 0.1% counts as "about 0.1%"
USEFUL_ACCURACY = 0.5  # what "learned the corpus" means for the examples rule
SINGLE_GPU_MB = 24 * 1024  # one 24 GB GPU (A10G, L4, RTX 4090)
MARGIN = 0.05

HELD, NOT_HELD, NOT_MEASURED = "held", "did not hold", "not measured"

# --- Pareto front ----------------------------------------------------------------------------------


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """Which points no other point beats on both axes (higher is better on both; a point with a
    NaN is never on the front). Equal points are both on it."""

    def ok(p: tuple[float, float]) -> bool:
        return not any(math.isnan(x) for x in p)

    out = []
    for i, p in enumerate(points):
        dominated = any(
            ok(q) and q[0] >= p[0] and q[1] >= p[1] and (q[0] > p[0] or q[1] > p[1])
            for j, q in enumerate(points)
            if j != i
        )
        out.append(ok(p) and not dominated)
    return out


# --- rules of thumb --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """A rule's outcome on the variant table: held / did not hold / not measured, and why."""

    rule: str
    claim: str
    status: str
    detail: str
    numbers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    name: str
    claim: str
    check: Callable[[Sequence[Mapping[str, Any]]], tuple[str, str, dict[str, Any]]]


def done(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if r.get("status") == "done"]


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def one_knob_groups(rows: Sequence[Mapping[str, Any]], knob: str) -> list[tuple[str, list]]:
    """Every set of finished variants that differ in ``knob`` only (two values at least), sorted by
    the knob's value, each with a label naming the other swept knobs' values (``phrasings=1``)."""
    rs = done(rows)
    varying = [k for k in KNOBS if k != knob and len({knob_text(k, r.get(k)) for r in rs}) > 1]
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in rs:
        groups.setdefault(tuple(knob_text(k, r.get(k)) for k in KNOBS if k != knob), []).append(r)
    return [
        (
            " ".join(f"{k}={knob_text(k, g[0].get(k))}" for k in varying),
            sorted(g, key=lambda r: _order(knob, r[knob])),
        )
        for g in groups.values()
        if len({knob_text(knob, r.get(knob)) for r in g}) >= 2
    ]


def per_group(
    knob: str, check: Callable[[list], tuple[str, str, dict]]
) -> Callable[..., tuple[str, str, dict]]:
    """A rule over one knob, checked in every group of variants that differ in that knob only: the
    verdict where all measured groups agree, "did not hold" (mixed) where they do not."""

    def run(rows: Sequence[Mapping[str, Any]]) -> tuple[str, str, dict]:
        results = [(label, *check(g)) for label, g in one_knob_groups(rows, knob)]
        measured = [x for x in results if x[1] != NOT_MEASURED]
        if not results:
            return NOT_MEASURED, f"needs finished variants that differ in {knob} only", {}
        if len(results) == 1 or not measured:
            return results[0][1:]
        statuses = {x[1] for x in measured}
        detail = "; ".join(f"with {label}: {status}, {d}" for label, status, d, _ in measured)
        if len(statuses) > 1:
            return NOT_HELD, "mixed: " + detail, {label: n for label, _, _, n in measured}
        return measured[0][1], detail, {label: n for label, _, _, n in measured}

    return run


def _order(knob: str, value: Any) -> Any:
    if knob == "phrasings":
        return math.inf if int(value) == 0 else int(value)  # 0 means all phrasings: the most
    return value if isinstance(value, (int, float)) else str(value)


def _fmt(rows: Sequence[Mapping[str, Any]], knob: str, col: str) -> str:
    return ", ".join(f"{knob_text(knob, r[knob])}: {_num(r[col]):.2f}" for r in rows)


def _by_value(rows: Sequence[Mapping[str, Any]], knob: str, col: str) -> dict[str, float]:
    return {knob_text(knob, r[knob]): round(_num(r[col]), 4) for r in rows}


def rule_low_lr(g: list[Mapping[str, Any]]) -> tuple[str, str, dict]:
    low = [r for r in g if LOW_LR[0] <= r["lr"] <= LOW_LR[1]]
    if not low or len(low) == len(g):
        return NOT_MEASURED, "needs variants at a learning rate of 1e-5..5e-5 and above it", {}
    best = max(g, key=lambda r: _num(r["accuracy"]))
    low_best = max(_num(r["accuracy"]) for r in low)
    held = low_best >= _num(best["accuracy"]) - MARGIN
    detail = (
        f"accuracy by lr: {_fmt(g, 'lr', 'accuracy')}; the best is lr {best['lr']:g} "
        f"({_num(best['accuracy']):.2f}), the best low lr reaches {low_best:.2f}"
    )
    return (HELD if held else NOT_HELD), detail, {"accuracy": _by_value(g, "lr", "accuracy")}


def rule_lr_forgets(g: list[Mapping[str, Any]]) -> tuple[str, str, dict]:
    g = [r for r in g if not math.isnan(_num(r["retention"]))]
    if len(g) < 2:
        return NOT_MEASURED, "needs two learning rates with a measured retention", {}
    lo, hi = g[0], g[-1]
    drop = _num(lo["retention"]) - _num(hi["retention"])
    detail = (
        f"retention of the general probes by lr: {_fmt(g, 'lr', 'retention')}; drift (KL) "
        f"{_fmt(g, 'lr', 'drift_kl')}"
    )
    numbers = {"retention": _by_value(g, "lr", "retention"), "drift_kl": _by_value(g, "lr", "drift_kl")}
    return (HELD if drop > MARGIN else NOT_HELD), detail, numbers


def rule_epochs(g: list[Mapping[str, Any]]) -> tuple[str, str, dict]:
    inside = [r for r in g if GOOD_EPOCHS[0] <= r["epochs"] <= GOOD_EPOCHS[1]]
    if not inside or len(inside) == len(g):
        return NOT_MEASURED, "needs variants with 3-5 epochs and with fewer or more", {}
    best = max(g, key=lambda r: _num(r["accuracy"]))
    in_best = max(_num(r["accuracy"]) for r in inside)
    detail = f"accuracy by epochs: {_fmt(g, 'epochs', 'accuracy')}; best at {best['epochs']} epochs"
    held = in_best >= _num(best["accuracy"]) - MARGIN
    return (HELD if held else NOT_HELD), detail, {"accuracy": _by_value(g, "epochs", "accuracy")}


def rule_examples(rows: Sequence[Mapping[str, Any]]) -> tuple[str, str, dict]:
    small = [r for r in done(rows) if _num(r.get("examples")) < MIN_EXAMPLES]
    if not small:
        return NOT_MEASURED, f"no variant trained on fewer than {MIN_EXAMPLES:,} examples", {}
    best = max(small, key=lambda r: _num(r["accuracy_trained"]))
    acc = _num(best["accuracy_trained"])
    detail = (
        f"best with fewer than {MIN_EXAMPLES:,} examples: {best['variant']} on {int(best['examples'])} "
        f"examples, {acc:.2f} on held-out phrasings of the facts it trained on "
        f"({'at least' if acc >= USEFUL_ACCURACY else 'below'} {USEFUL_ACCURACY})"
    )
    numbers = {"examples": int(best["examples"]), "accuracy_trained": round(acc, 4)}
    return (NOT_HELD if acc >= USEFUL_ACCURACY else HELD), detail, numbers


def rule_quality(rows: Sequence[Mapping[str, Any]]) -> tuple[str, str, dict]:
    """A smaller clean set (fact_fraction f) against all facts with 1-f of the answers wrong: the
    same number of correct answers, one of them with noise added."""
    rs = done(rows)
    pairs = [
        (a, b)
        for a in rs
        if _num(a["fact_fraction"]) < 1 and _num(a["corrupt_fraction"]) == 0
        for b in rs
        if _num(b["fact_fraction"]) == 1
        and abs(_num(b["corrupt_fraction"]) - (1 - _num(a["fact_fraction"]))) <= 0.05
        and all(knob_text(k, a[k]) == knob_text(k, b[k]) for k in KNOBS if "fraction" not in k)
    ]
    if not pairs:
        return NOT_MEASURED, "needs fact_fraction=f and corrupt_fraction=1-f variants (e.g. 0.5 and 0.5)", {}
    a, b = pairs[0]
    clean, noisy = _num(a["accuracy"]), _num(b["accuracy"])
    detail = (
        f"{_num(a['fact_fraction']):g} of the facts, clean: {clean:.2f}; every fact with "
        f"{_num(b['corrupt_fraction']):g} of the answers wrong: {noisy:.2f} (same count of correct answers)"
    )
    return (HELD if clean > noisy + MARGIN else NOT_HELD), detail, {"clean": clean, "noisy": noisy}


def rule_lora_share(rows: Sequence[Mapping[str, Any]]) -> tuple[str, str, dict]:
    rs = [r for r in done(rows) if not math.isnan(_num(r.get("trainable_share")))]
    if not rs:
        return NOT_MEASURED, "no finished variant", {}
    shares = {f"r={r['r']} {r['target_modules']}": _num(r["trainable_share"]) for r in rs}
    inside = {k: v for k, v in shares.items() if LORA_SHARE / SHARE_FACTOR <= v <= LORA_SHARE * SHARE_FACTOR}
    detail = "trainable share: " + ", ".join(f"{k}: {100 * v:.2f}%" for k, v in shares.items())
    held = len(inside) == len(shares)
    return (HELD if held else NOT_HELD), detail, {"trainable_share": shares}


def rule_qlora(rows: Sequence[Mapping[str, Any]]) -> tuple[str, str, dict]:
    q = [r for r in done(rows) if r.get("method_used") == "qlora"]
    if not q:
        skipped = next((r["reason"] for r in rows if r.get("method") == "qlora" and r.get("reason")), "")
        return (
            NOT_MEASURED,
            skipped or "no qlora variant (add --knob method=lora,qlora on a CUDA machine)",
            {},
        )
    peak = max(_num(r["peak_memory_mb"]) for r in q)
    lora = [_num(r["peak_memory_mb"]) for r in done(rows) if r.get("method_used") == "lora"]
    detail = f"QLoRA peak GPU memory {peak:,.0f} MB" + (f", LoRA {max(lora):,.0f} MB" if lora else "")
    held = peak <= SINGLE_GPU_MB and (not lora or peak <= max(lora))
    return (
        (HELD if held else NOT_HELD),
        detail,
        {"qlora_peak_mb": peak, "lora_peak_mb": max(lora, default=None)},
    )


def rule_phrasings(g: list[Mapping[str, Any]]) -> tuple[str, str, dict]:
    one, most = g[0], g[-1]
    gain = _num(most["accuracy"]) - _num(one["accuracy"])
    detail = (
        f"accuracy on held-out phrasings by train phrasings per fact (0 = all): "
        f"{_fmt(g, 'phrasings', 'accuracy')}; fewer phrasings also means fewer training steps"
    )
    numbers = {"accuracy": _by_value(g, "phrasings", "accuracy")}
    return (HELD if gain > MARGIN else NOT_HELD), detail, numbers


def rule_replay(g: list[Mapping[str, Any]]) -> tuple[str, str, dict]:
    gain = _num(g[-1]["retention"]) - _num(g[0]["retention"])
    detail = (
        f"retention by replay ratio: {_fmt(g, 'replay', 'retention')}; "
        f"accuracy {_fmt(g, 'replay', 'accuracy')}"
    )
    return (HELD if gain > MARGIN else NOT_HELD), detail, {"retention": _by_value(g, "replay", "retention")}


RULES: list[Rule] = [
    Rule("low-lr", "A learning rate of 1e-5 to 5e-5 is the one to use", per_group("lr", rule_low_lr)),
    Rule("lr-forgets", "Higher learning rates make the model forget more", per_group("lr", rule_lr_forgets)),
    Rule("epochs", "3-5 epochs are enough", per_group("epochs", rule_epochs)),
    Rule("examples", "A fine-tune needs 1,000-50,000 examples", rule_examples),
    Rule("quality", "Quality beats quantity", rule_quality),
    Rule("lora-share", "LoRA trains about 0.1% of the parameters", rule_lora_share),
    Rule("qlora", "QLoRA makes a single GPU enough", rule_qlora),
    Rule(
        "phrasings",
        "Injected knowledge is only extractable when seen in many phrasings",
        per_group("phrasings", rule_phrasings),
    ),
    Rule(
        "replay",
        "Mixing general examples back in (replay) reduces forgetting",
        per_group("replay", rule_replay),
    ),
]


def check_rules(rows: Sequence[Mapping[str, Any]], rules: Sequence[Rule] = RULES) -> list[Verdict]:
    """Every rule's verdict on the variant table (rows as in ``sweep.csv``)."""
    out = []
    for rule in rules:
        status, detail, numbers = rule.check(rows)
        out.append(Verdict(rule.name, rule.claim, status, detail, numbers))
    return out
