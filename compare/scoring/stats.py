"""Confidence for accuracies and for differences between systems, so a report never calls a
difference the data cannot tell apart.

Intervals: percentile bootstrap over questions (seeded). Differences: the exact McNemar test on
the questions one system gets right and the other wrong (the paired test for two classifiers
scored on the same items); a pair with p >= 0.05 is a tie.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

from compare.scoring.scorers import missing

ALPHA = 0.05


def bootstrap_ci(
    values: Sequence[float], n_resamples: int = 2000, seed: int = 0, alpha: float = ALPHA
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (nan, nan when empty)."""
    if not values:
        return math.nan, math.nan
    rng, n = random.Random(seed), len(values)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(n_resamples))
    lo = means[math.floor(alpha / 2 * (n_resamples - 1))]
    hi = means[math.ceil((1 - alpha / 2) * (n_resamples - 1))]
    return lo, hi


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (binomial, p = 1/2)."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_difference(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    """Accuracy difference a - b on the questions both answered, and its McNemar p-value."""
    common = [q for q in a if q in b and not missing(a[q]) and not missing(b[q])]
    if not common:
        return {"n": 0, "difference": math.nan, "p_value": math.nan, "tie": True}
    only_a = sum(a[q] >= 0.5 > b[q] for q in common)
    only_b = sum(b[q] >= 0.5 > a[q] for q in common)
    p = mcnemar_exact(only_a, only_b)
    diff = (sum(a[q] for q in common) - sum(b[q] for q in common)) / len(common)
    return {"n": len(common), "difference": diff, "p_value": p, "tie": p >= ALPHA}


def comparisons(correct_by: Mapping[str, Mapping[str, float]]) -> list[dict[str, Any]]:
    """Every pair of systems: difference, p-value and whether it is a tie."""
    return [
        {"a": a, "b": b, **paired_difference(correct_by[a], correct_by[b])}
        for a, b in combinations(correct_by, 2)
    ]


def tie_groups(systems: Sequence[str], pairs: Sequence[Mapping[str, Any]]) -> dict[str, set[str]]:
    """Each system's tie group: systems linked by chains of ties (connected components)."""
    group = {s: {s} for s in systems}
    for p in pairs:
        if p.get("tie") and p["a"] in group and p["b"] in group:
            merged = group[p["a"]] | group[p["b"]]
            for s in merged:
                group[s] = merged
    return group
