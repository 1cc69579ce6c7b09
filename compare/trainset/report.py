"""The report section on generated training data: what was made, how, and what each filter removed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def splits_lines(summary: Mapping[str, Any]) -> list[str]:
    """Where the user's unsplit questions went (none when the QA file gave every split)."""
    s = summary.get("splits_assigned")
    return [f"Dev/test: the QA file gives no split; {s['dev']} questions went to dev and {s['test']} "
            "to test (seeded, stratified by kind).", ""] if s else []  # fmt: skip


def trainset_lines(summary: Mapping[str, Any]) -> list[str]:
    """Markdown lines for ``report.md``: generated training data, and assigned splits."""
    ts = summary.get("trainset")
    if not ts:
        return splits_lines(summary)
    given = f" (the dataset's own train split of {ts['replaced_train']} questions set aside)" if ts[
        "replaced_train"] else ""  # fmt: skip
    lines = [
        "## Training data generated from the pages",
        "",
        f"The train split was generated from the documents alone{given}: question rules over each page "
        f"and questions written by the model, each kept only when its answer is a span of its page, the "
        f"reader given that page answers it the same way (round trip), and it is no near-duplicate of a "
        f"dev or test question. Pages covered: {ts['pages_covered']} of {ts['pages']}; "
        f"{ts['seconds']:.0f} s{' (cached)' if ts['cached'] else ''}.",
        "",
        "| recipe | items | facts |",
        "|---|---|---|",
        *[f"| {r}{' (chosen)' if r == ts['recipe'] else ''} | {n} | {ts['facts'][r]} |"
          for r, n in ts["items"].items()],
        "",
        "Kept by rule: " + ", ".join(f"{k} {v}" for k, v in sorted(ts["by_rule"].items())) + ".",
        "Removed: " + (", ".join(f"{k} {v}" for k, v in ts["dropped"].items()) or "nothing") + ".",
        "",
    ]  # fmt: skip
    if taught := ts.get("answers_taught"):
        lines += [
            "Your questions whose answer a generated item teaches (from the same page): "
            + ", ".join(f"{s} {n} of {m}" for s, (n, m) in taught.items())
            + ". A closed-book adapter can at best learn these from the generated data; the rest it can "
            "only answer from what the base model knew. Recipe items and the per-item provenance are in "
            "`ftrag data trainset`.",
            "",
        ]
    recipe = summary.get("tuning", {}).get("recipe")
    if recipe:
        trials = ", ".join(f"{t['label']} {t['accuracy']:.3f}" for t in recipe["trials"])
        lines += [f"Recipe chosen on dev (accuracy after a short training of each): {trials} -> "
                  f"**{recipe['chosen']}**.", ""]  # fmt: skip
    return lines + splits_lines(summary)
