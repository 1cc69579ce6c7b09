"""The report section on generated training data: what was made, how, and what each filter removed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compare.trainset.config import MIN_PARAMS_TEXT

# How the model's part reads in the report, by whether it wrote questions (trainset.model_questions).
WRITER = {
    True: " and questions written by the model (a pair is kept only when the reader given that page "
    "answers it the same way: the round trip)",
    False: " (the generator wrote none: `trainset.model_questions` is off, or auto with a generator "
    f"under {MIN_PARAMS_TEXT} parameters, whose pairs hand audits found wrong)",
}


def splits_lines(summary: Mapping[str, Any]) -> list[str]:
    """Where the user's unsplit questions went (none when the QA file gave every split)."""
    s = summary.get("splits_assigned")
    return [f"Dev/test: the QA file gives no split; {s['dev']} questions went to dev and {s['test']} "
            "to test (seeded, stratified by kind).", ""] if s else []  # fmt: skip


def extra_lines(ts: Mapping[str, Any]) -> list[str]:
    """Unanswerable items, and how often the reader agreed with the rules' answers."""
    out = []
    if ts.get("unanswerable"):
        out.append(f"Unanswerable items (a rule question about a name no page uses, answered with the "
                   f"abstain answer): {ts['unanswerable']}.")  # fmt: skip
    trip = ts.get("rule_round_trip") or {}
    if trip.get("asked"):
        out.append(f"The reader, given the page, gave the rules' answer for {trip['agreed']} of "
                   f"{trip['asked']} rule items (kept unless `trainset.round_trip=all`).")  # fmt: skip
    return [*out, ""] if out else []


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
        f"The train split was generated from the documents alone{given}: question rules over each page"
        f"{WRITER[bool(ts.get('model_questions', True))]}, each answer a span of its page, and no item "
        f"is a near-duplicate of a dev or test question. Pages covered: {ts['pages_covered']} of "
        f"{ts['pages']}; {ts['seconds']:.0f} s{' (cached)' if ts['cached'] else ''}.",
        "",
        "| recipe | items | facts |",
        "|---|---|---|",
        *[f"| {r}{' (chosen)' if r == ts['recipe'] else ''} | {n} | {ts['facts'][r]} |"
          for r, n in ts["items"].items()],
        "",
        "Kept by rule: " + ", ".join(f"{k} {v}" for k, v in sorted(ts["by_rule"].items())) + ".",
        "Removed: " + (", ".join(f"{k} {v}" for k, v in ts["dropped"].items()) or "nothing") + ".",
        "",
        *extra_lines(ts),
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
    if recipe and recipe.get("skipped"):
        lines += [f"Recipe: **{recipe['chosen']}**, kept without a dev trial: {recipe['skipped']}.", ""]
    elif recipe:
        trials = ", ".join(f"{t['label']} {t['accuracy']:.3f}" for t in recipe["trials"])
        lines += [f"Recipe chosen on dev (accuracy after a short training of each): {trials} -> "
                  f"**{recipe['chosen']}**.", ""]  # fmt: skip
    return lines + splits_lines(summary)
