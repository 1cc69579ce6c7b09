"""report.md sections of the scenarios: what a weekly change costs each architecture, what
fine-tuning breaks, and who keeps the house style."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compare.scenarios.registry import SCENARIOS
from compare.scoring.scorers import fmt


def freshness_lines(fr: Mapping[str, Any]) -> list[str]:
    lines = ["## Freshness: what a knowledge change costs each architecture", ""]
    if "skipped" in fr:
        return [*lines, f"Skipped: {fr['skipped']}.", ""]
    lines += [
        f"Update `{fr['version']}` changed {len(fr['changed_pages'])} pages; scored on its "
        f"{fr['changed_questions']} changed questions and {fr['unchanged_questions']} unchanged ones. "
        "`old value` is the share of changed questions still answered with the value before the change.",
        "",
        "| system | update | update time s | changed: before | old value before | changed: after "
        "| old value after | unchanged after |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, s in fr["systems"].items():
        b, a, u = s["changed_before"], s["changed_after"], s["unchanged_after"] or {}
        lines.append(
            f"| {name} | {s['update']} | {fmt(s['update_seconds'], '{:.1f}')} | {fmt(b['accuracy'])} | "
            f"{fmt(b['old_value_rate'])} | {fmt(a['accuracy'])} | {fmt(a['old_value_rate'])} | "
            f"{fmt(u.get('accuracy'))} |"
        )
    up = fr.get("updates", {})
    if "reindex" in up:
        r = up["reindex"]
        lines += [
            "",
            f"Re-index: {len(r['docs_changed'])} changed and {len(r['docs_added'])} new pages, "
            f"{r['chunks_embedded']} chunks embedded, {r['seconds']:.2f} s.",
        ]
    if "retrain" in up:
        t = up["retrain"]
        lines += [
            f"Re-train: {t['examples'].get('qa', 0)} examples (changed facts + replay of unchanged), "
            f"{t['config']['epochs']} epochs from the current adapter, {t['wall_seconds']:.0f} s."
        ]
    return [*lines, ""]


def forgetting_lines(fg: Mapping[str, Any]) -> list[str]:
    lines = ["## Forgetting: what fine-tuning breaks", ""]
    if "skipped" in fg:
        return [*lines, f"Skipped: {fg['skipped']}.", ""]
    fams = ", ".join(f"{k} {v}" for k, v in sorted(fg["kept_by_family"].items()))
    lines += [
        f"Of {fg['probes']} general probes the base model answers {fg['kept']} correctly ({fams}); "
        "retention is the share of those the adapter still answers (closed book). Drift is the mean "
        "next-token KL divergence from the base model on general text (nats). RAG keeps the base "
        "weights, so its retention is the base's by construction.",
        "",
        "| adapter | retention | lost | lost by family | drift KL | corpus accuracy |",
        "|---|---|---|---|---|---|",
    ]
    for label, a in fg["adapters"].items():
        lost = ", ".join(f"{k} {v}" for k, v in sorted(a["lost_by_family"].items())) or "-"
        lines.append(
            f"| {label} | {fmt(a['retention'])} | {len(a['lost'])} | {lost} | {fmt(a['drift_kl'], '{:.4f}')} "
            f"| {fmt(a.get('corpus_accuracy'))} |"
        )
    if fg.get("replay_examples"):
        lines += ["", f"`ft + replay` mixed {fg['replay_examples']} general examples into the same training."]
    return [*lines, ""]


def style_lines(st: Mapping[str, Any]) -> list[str]:
    if "skipped" in st:
        return ["## House style", "", f"Skipped: {st['skipped']}.", ""]
    lines = [
        "## House style",
        "",
        "Compliance with the dataset's house style: prompted systems are told it, the adapter learned "
        "it from its training answers.",
        "",
        "| system | style from | compliance | compliance on correct answers |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {n} | {s['style_from']} | {fmt(s['compliance'])} | {fmt(s['compliance_when_correct'])} |"
        for n, s in st.items()
    ]
    return [*lines, ""]


def serving_lines(sv: Mapping[str, Any]) -> list[str]:
    lines = ["## Serving precision: does fine-tuned knowledge survive quantisation?", ""]
    if "skipped" in sv:
        return [*lines, f"Skipped: {sv['skipped']}.", ""]
    lines += [
        f"The closed-book systems' test questions answered by llama.cpp with the base weights at each "
        f"precision and the adapter applied at load; the run's own precision ({sv['main']}) first. "
        "Difference and McNemar p against it (p >= 0.05: no measurable change).",
        "",
        "| system | weights | accuracy | 95% interval | difference | p |",
        "|---|---|---|---|---|---|",
    ]
    for name, rows in sv["systems"].items():
        for label, r in rows.items():
            lo, hi = r["ci95"]
            lines.append(
                f"| {name} | {label} | {fmt(r['accuracy'])} | [{fmt(lo)}, {fmt(hi)}] | "
                f"{fmt(r['difference'], '{:+.3f}')} | {fmt(r['p_value'], '{:.3f}')} |"
            )
    return [*lines, ""]


def scenario_lines(summaries: Mapping[str, Any]) -> list[str]:
    """The report section of every registered scenario present in a run's summary."""
    out: list[str] = []
    for name, scenario in SCENARIOS.items():
        if name in summaries:
            out += scenario.section(summaries[name])
    return out
