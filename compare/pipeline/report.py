"""The end of a bench: per-question table, per-system summary with costs, checks of the expected
pattern, ``summary.json``, ``report.md`` with plots, and the table printed to the terminal."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from compare.answering.readers import READERS
from compare.answering.routing import uses_adapter
from compare.answering.specs import SYSTEMS, is_composed
from compare.harness.records import engine_label
from compare.harness.run_record import merge_facts, write_summary
from compare.pipeline.abstain import Threshold, gate_line
from compare.pipeline.model_axis import axis_lines
from compare.pipeline.plots import write_plots
from compare.pipeline.reader import reader_note
from compare.pipeline.route import route_note
from compare.scenarios.registry import scenarios
from compare.scenarios.report import scenario_lines
from compare.scoring.costs import (
    break_even_table,
    folder_bytes,
    hosted_per_1k,
    hourly_rate,
    load_prices,
    system_costs,
)
from compare.scoring.evaluate import result_rows, summarize
from compare.scoring.metrics import REPORT_TABLE, metrics
from compare.scoring.scorers import fmt, missing
from compare.scoring.stats import bootstrap_ci, comparisons
from compare.trainset.report import trainset_lines
from corpus.io import atomic_write_text
from corpus.model import Dataset

log = logging.getLogger(__name__)

COLUMNS = tuple((m.key, m.header, m.fmt) for m in metrics(REPORT_TABLE))  # (summary key, header, format)


def table(systems: Mapping[str, Mapping[str, Any]], markdown: bool = False) -> str:
    """The results table, one row per system (plain text for the terminal, or markdown)."""
    head = ["system", *(h for _, h, _ in COLUMNS)]
    rows = [[name, *(fmt(s.get(k), f) for k, _, f in COLUMNS)] for name, s in systems.items()]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    return "\n".join(
        "  ".join(str(x).rjust(w) for x, w in zip(r, widths, strict=True)) for r in [head, *rows]
    )


def needs(spec: Any, summary: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The adapter (or ``None``) and whether an index a system needs before its first query; a
    routed system needs its parts' index, and their adapter where its rule asks the adapter."""
    if not is_composed(spec):
        return summary.get("readers", {}).get(spec.name, spec.adapter), spec.retrieval
    parts = [SYSTEMS[p] for p in spec.parts]
    rule = summary.get("routes", {}).get(spec.name, "")
    adapter = next((p.adapter for p in parts if p.adapter), None) if rule and uses_adapter(rule) else None
    return adapter, any(p.retrieval for p in parts)


def upfront(name: str, adapter: str | None, retrieval: bool, summary: Mapping[str, Any]) -> tuple[float, int]:
    """Seconds and bytes a system needs before its first query: index build and/or training."""
    seconds, size = 0.0, 0
    if retrieval and "index" in summary:
        seconds += summary["index"]["seconds"]
        size += folder_bytes(Path(summary["index"]["path"]))
    cards = summary.get("adapters", {})
    if adapter and adapter in cards:
        size += folder_bytes(Path(cards[adapter]["path"]) / "adapter")
        start = READERS[adapter].continues if adapter in READERS else None  # trained on from it
        seconds += sum(cards[a]["wall_seconds"] for a in (adapter, start) if a in cards)
    return seconds, size


def expectations(s: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The literature's pattern on a fictional corpus, checked against this run (not asserted)."""
    acc = {k: v["accuracy"] for k, v in s.items()}
    checks: list[tuple[str, bool | None, str]] = []
    if "base" in acc:
        checks.append(
            ("base about 0 on corpus facts (< 0.10)", acc["base"] < 0.10, f"base {acc['base']:.3f}")
        )
    if {"base", "rag"} <= acc.keys():
        checks.append(
            (
                "RAG far above base (+0.30 or more)",
                acc["rag"] - acc["base"] >= 0.30,
                f"rag {acc['rag']:.3f} vs base {acc['base']:.3f}",
            )
        )
        cp = s["rag"]["citation_precision"]  # nan where rag declined every answerable question
        checks.append(
            ("RAG cites gold sources (precision >= 0.80)", None if missing(cp) else cp >= 0.80,
             f"citation precision {cp:.3f}")
        )  # fmt: skip
    if {"base", "ft", "rag"} <= acc.keys():
        checks.append(
            (
                "FT above base, below RAG",
                acc["base"] < acc["ft"] < acc["rag"],
                f"base {acc['base']:.3f} < ft {acc['ft']:.3f} < rag {acc['rag']:.3f}",
            )
        )
    checks += combination_checks(s)
    if {"ft", "rag"} <= acc.keys():
        ft, rag = s["ft"], s["rag"]
        checks.append(
            (
                "FT has shorter prompts and lower p50 latency than RAG",
                ft["prompt_tokens"] < rag["prompt_tokens"] and ft["latency_p50_ms"] < rag["latency_p50_ms"],
                f"prompt {ft['prompt_tokens']:.0f} vs {rag['prompt_tokens']:.0f} tokens, "
                f"p50 {ft['latency_p50_ms']:.0f} vs {rag['latency_p50_ms']:.0f} ms",
            )
        )
    return [{"expectation": e, "holds": h, "measured": m} for e, h, m in checks]


def verdict(holds: bool | None, yes: str, no: str) -> str:
    """An expectation's mark: ``None`` where its measure does not exist in this run."""
    return "n/a" if holds is None else yes if holds else no


def combination_checks(s: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, bool | None, str]]:
    """Each system that combines the tracks (hybrid, routed) within 0.02 of the better track."""
    acc = {k: v["accuracy"] for k, v in s.items()}
    checks = []
    for combo in ("hybrid", "routed"):
        if {combo, "ft", "rag"} <= acc.keys():
            best = max(acc["ft"], acc["rag"])
            rule = f" (rule {s[combo]['route']})" if s[combo].get("route") else ""
            checks.append((f"{combo} within 0.02 of the better track or above", acc[combo] >= best - 0.02,
                           f"{combo} {acc[combo]:.3f} vs best {best:.3f}{rule}"))  # fmt: skip
    return checks


def mark_ties(checks: list[dict[str, Any]], pairs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Say so where an expectation compares two systems whose accuracies the paired test cannot tell
    apart: the check then rests on noise, whichever way it came out."""
    ties = {frozenset((p["a"], p["b"])): p["p_value"] for p in pairs if p.get("tie")}
    for c in checks:
        named = [n for n in ("base", "rag", "ft", "hybrid", "routed") if f"{n} " in c["measured"]]
        found = [(a, b) for i, a in enumerate(named) for b in named[i + 1 :] if frozenset((a, b)) in ties]
        if found:
            a, b = found[0]
            c["measured"] += f" (a tie: {a} vs {b} p = {ties[frozenset((a, b))]:.2f})"
            c["tie"] = True
    return checks


def system_summaries(
    rows_by: Mapping[str, list[dict]], answers: Mapping[str, tuple], summary: Mapping[str, Any], bench: Any
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Scores, latency and costs of every system, and the prices they were costed at."""
    prices = load_prices()
    rate = hourly_rate(prices, bench.hardware)
    out = {}
    for name, rows in rows_by.items():
        adapter, retrieval = needs(SYSTEMS[name], summary)
        s = summarize(rows, answers[name][1])
        seconds, size = upfront(name, adapter, retrieval, summary)
        s |= system_costs(s, seconds, size, rate)
        s["hosted_usd_per_1k"] = {
            m: hosted_per_1k(s["prompt_tokens"], s["output_tokens"], p) for m, p in prices["hosted"].items()
        }
        out[name] = s
    used = {
        "date": prices["date"],
        "gpu_date": prices["gpu_date"],
        "hardware": bench.hardware,
        "usd_per_hour": rate,
    }
    return out, used


def add_confidence(systems: dict, rows_by: Mapping[str, list[dict]], seed: int) -> list[dict[str, Any]]:
    """95% bootstrap interval of each accuracy (into ``systems``); a paired test for every pair of
    systems (returned)."""
    correct_by = {
        name: {r["qid"]: r["correct"] for r in rows if r["kind"] != "unanswerable"}
        for name, rows in rows_by.items()
    }
    for name, by_q in correct_by.items():
        lo, hi = bootstrap_ci(list(by_q.values()), seed=seed)
        systems[name]["accuracy_ci95"] = [lo, hi]
    return comparisons(correct_by)


def write_parquet(path: Path, rows: Sequence[dict]) -> None:
    import pandas as pd

    tmp = path.with_name(path.name + ".tmp")
    pd.DataFrame(list(rows)).to_parquet(tmp, index=False)
    tmp.replace(path)


def finish_run(
    run: Path,
    ds: Dataset,
    questions: list,
    answers: Mapping[str, tuple],
    chunk_text: Mapping[str, str],
    summary: dict,
    configs: Mapping[str, Any],
    seconds: float,
    amend: Callable[[dict], None] | None = None,
) -> dict:
    """Score, cost, write the run folder and print the table; returns the summary. ``amend`` adds
    to the scored summary before it is written (the model axis, which needs this run's scores)."""
    style = ds.house_style
    rows_by = {name: result_rows(questions, b, chunk_text, style) for name, (b, _) in answers.items()}
    write_parquet(run / "results.parquet", [r for rows in rows_by.values() for r in rows])
    systems, prices = system_summaries(rows_by, answers, summary, configs["bench"])
    pairs = add_confidence(systems, rows_by, configs["bench"].seed)
    styled = {
        s.name: s.runner()(systems, rows_by, ds) for s in scenarios("scored", configs["bench"].scenario_names)
    }
    merge_facts(
        summary,
        {"prices": prices, "systems": systems, "comparisons": pairs},
        {"scenarios": styled} if styled else {},
    )
    for name, rule in summary.get("routes", {}).items():  # the routed systems' rules (compare.pipeline.route)
        systems[name]["route"] = rule
    checks = mark_ties(expectations(systems), pairs)
    merge_facts(summary, {"break_even": break_even_table(systems), "expectations": checks})
    summary["wall_seconds"] = round(seconds, 1)
    if amend is not None:
        amend(summary)

    plots = write_plots(run / "plots", systems)
    atomic_write_text(run / "report.md", render_report(summary, configs, plots))
    write_summary(run, summary)
    log.info("\n" + table(systems))
    for e in summary["expectations"]:
        log.info(f"  [{verdict(e['holds'], 'ok', 'NO')}] {e['expectation']}: {e['measured']}")
    log.info(f"\nrun folder: {run}  ({seconds / 60:.1f} min)")
    return summary


def render_report(summary: Mapping[str, Any], configs: Mapping[str, Any], plots: Sequence[str]) -> str:
    """report.md: the table, the expectation checks, costs, retrieval and the plots, one section
    after another (each a function of the run's summary)."""
    lines = [
        *header_lines(summary, configs),
        *results_lines(summary),
        *confidence_lines(summary),
        *expectation_lines(summary),
        *time_lines(summary),
        *break_even_lines(summary),
        *kind_lines(summary["systems"]),
        *retrieval_lines(summary.get("index", {}).get("retrieval")),
        *tuning_lines(summary.get("tuning", {})),
        *abstention_lines(summary),
        *trainset_lines(summary),
        *(axis_lines(summary["model_axis"]) if summary.get("model_axis") else []),
        *(scenario_lines(summary["scenarios"]) if summary.get("scenarios") else []),
        "## Plots",
        "",
        *[f"![{Path(p).stem}](plots/{Path(p).name})" for p in plots],
        "",
    ]
    return "\n".join(lines) + "\n"


def header_lines(summary: Mapping[str, Any], configs: Mapping[str, Any]) -> list[str]:
    train, bench, machine = configs["train"], configs["bench"], summary["machine"]
    return [
        f"# Bench `{summary['name']}` on `{summary['dataset']}` ({summary['profile']} profile)",
        "",
        f"Model {train.model} ({summary.get('model', {}).get('size', '?')}) on "
        f"{machine['device']} ({machine['platform']}, "
        f"{machine['cpus']} CPUs); {knobs_line(summary, bench, train)}. Wall time "
        f"{summary['wall_seconds'] / 60:.1f} min.",
        "",
    ]


def results_lines(summary: Mapping[str, Any]) -> list[str]:
    prices = summary["prices"]
    return [
        "## Results",
        "",
        table(summary["systems"], markdown=True),
        "",
        "Accuracy: the gold answer contained in a short answer (house-style sign-off removed first); "
        "EM and F1 likewise. `base` and `ft` give no citations, so their citation and grounded scores "
        "are 0: a finding, not a bug. Latency: one question at a time, retrieval included, "
        f"generated by {engine_label(summary)}. "
        f"Costs: measured seconds x ${prices['usd_per_hour']}/h ({prices['hardware']}, "
        f"prices of {prices['date']}).",
        "",
    ]


def confidence_lines(summary: Mapping[str, Any]) -> list[str]:
    return [
        "## Which differences are real?",
        "",
        "Accuracy with its 95% bootstrap interval over questions; differences by the exact McNemar "
        "test on the questions one system gets right and the other wrong (p >= 0.05: a tie).",
        "",
        *[
            f"- {n}: {s['accuracy']:.3f} [{s['accuracy_ci95'][0]:.3f}, {s['accuracy_ci95'][1]:.3f}]"
            for n, s in summary["systems"].items()
            if "accuracy_ci95" in s
        ],
        *[
            f"- {c['a']} vs {c['b']}: {c['difference']:+.3f}, p = {c['p_value']:.3g}"
            + (" (tie: the data cannot tell them apart)" if c["tie"] else "")
            for c in summary.get("comparisons", [])
        ],
        "",
    ]


def expectation_lines(summary: Mapping[str, Any]) -> list[str]:
    return [
        "## Does the expected pattern appear?",
        "",
        *[
            f"- {verdict(e['holds'], 'yes', '**no**')}: {e['expectation']} ({e['measured']})"
            for e in summary["expectations"]
        ],
        "",
    ]


def time_lines(summary: Mapping[str, Any]) -> list[str]:
    return [
        "## Where the time goes",
        "",
        "Stages (seconds when built; a cached stage shows the time it took then): "
        + ", ".join(f"{k} {v:.0f} s" for k, v in summary.get("stage_seconds", {}).items())
        + f"; cache hits this run: {summary.get('cache_hits', {})}.",
        "",
        "| system | retrieval ms/q | generation ms/q | single retrieval ms | single generation ms "
        "| TTFT p50 ms |",
        "|---|---|---|---|---|---|",
        *[
            f"| {n} | {fmt(s['retrieval_ms'], '{:.1f}')} | {fmt(s['generation_ms'], '{:.1f}')} | "
            f"{fmt(s['single_retrieval_ms'], '{:.1f}')} | {fmt(s['single_generation_ms'], '{:.1f}')} | "
            f"{fmt(s['ttft_p50_ms'], '{:.0f}')} |"
            for n, s in summary["systems"].items()
        ],
        "",
    ]


def break_even_lines(summary: Mapping[str, Any]) -> list[str]:
    found = [
        f"- {b['system']} pays back its up-front cost over {b['versus']} after "
        f"{fmt(b['break_even_queries'], '{:,.0f}')} queries"
        for b in summary["break_even"]
    ]
    return [
        "## Break-even",
        "",
        *(found or ["- no system costs more up front and less per query than another"]),
        "",
    ]


def kind_lines(systems: Mapping[str, Any]) -> list[str]:
    kinds = sorted(next(iter(systems.values()))["by_kind"])
    return [
        "## Per question kind",
        "",
        "| system | " + " | ".join(kinds) + " |",
        "|---|" + "---|" * len(kinds),
        *[
            f"| {n} | " + " | ".join(fmt(s["by_kind"].get(k), "{:.3f}") for k in kinds) + " |"
            for n, s in systems.items()
        ],
        "",
        "(unanswerable: abstention accuracy; other kinds: accuracy)",
        "",
    ]


def retrieval_lines(ret: Mapping[str, Any] | None) -> list[str]:
    if not ret:
        return []
    return [
        "## Retrieval",
        "",
        "| retriever | recall@1 | recall@5 | MRR@10 | nDCG@10 |",
        "|---|---|---|---|---|",
        *[
            f"| {n} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | {m['mrr@10']:.3f} | {m['ndcg@10']:.3f} |"
            for n, m in ret.items()
        ],
        "",
    ]


def knobs_line(summary: Mapping[str, Any], bench: Any, train: Any) -> str:
    """The knobs the verdict was reached with: as tuned on dev, else as configured."""
    tuned = summary.get("tuning", {}).get("systems", {})
    rag = tuned.get("rag", {}).get("chosen") or {"k": bench.context_k, "shots": bench.rag_shots}
    ft = tuned.get("ft", {}).get("chosen") or {"lr": train.lr, "epochs": train.epochs}
    how = "chosen on dev" if tuned else "as configured (no dev tuning)"
    return (
        f"knobs {how}: RAG {rag.get('k')} chunk(s), {rag.get('shots')} worked example(s), "
        f"{rag.get('layout', 'auto')} layout; adapter lr {ft['lr']}, {ft['epochs']} epoch(s), "
        f"batch {train.batch_size}, r {train.r}"
    )


def tuning_lines(tuning: Mapping[str, Any]) -> list[str]:
    """The dev-tuning section: per system the trials, their compute budget and what was chosen."""
    if not tuning.get("systems") and not tuning.get("retriever"):
        return []
    lines = [
        "## Tuning on dev",
        "",
        f"Each system's knobs were chosen on {tuning.get('questions', 'the')} answerable `dev` questions "
        "(seeded sample), one knob at a time from the defaults; the test split above was scored once, "
        "with the chosen knobs. Budget: the compute seconds the trials cost (answers on dev, and "
        "the training runs that lost).",
        "",
    ]
    if tuning.get("retriever"):
        r = tuning["retriever"]
        scores = ", ".join(f"{n} {v:.3f}" for n, v in r["scores"].items())
        lines += [
            f"Retriever by dev {r['metric']} ({scores}): **{r['chosen']}** (configured {r['default']}).",
            "",
        ]
    lines += [
        "| system | trials | budget s | default | dev acc | chosen | dev acc |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, t in tuning.get("systems", {}).items():
        lines.append(
            f"| {name} | {len(t['trials'])} | {t['seconds']:.0f} | {_kv(t['default'])} | "
            f"{t['default_dev_accuracy']:.3f} | {_kv(t['chosen'])} | {t['dev_accuracy']:.3f} |"
        )
    notes = [f"- {n}: {t['note']}" for n, t in tuning.get("systems", {}).items() if t.get("note")]
    notes += [reader_note(n, t["reader"]) for n, t in tuning.get("systems", {}).items() if t.get("reader")]

    notes += [route_note(name, r) for name, r in tuning.get("routes", {}).items()]
    return [*lines, "", *notes, *([""] if notes else [])]


COVERAGES = (1.0, 0.9, 0.75, 0.5, 0.25)  # points of the selective-accuracy curve the report shows


def curve_points(curve: Sequence[Sequence[Any]]) -> list[tuple[float, float]]:
    """(coverage, accuracy) at the curve's points nearest each of ``COVERAGES``, no point twice."""
    seen, out = set(), []
    for want in COVERAGES:
        i = min(range(len(curve)), key=lambda j: abs(curve[j][1] - want))
        if i not in seen:
            seen.add(i)
            out.append((curve[i][1], curve[i][2]))
    return out


def abstention_lines(summary: Mapping[str, Any]) -> list[str]:
    """The abstention section: each retrieving system's gate chosen on dev, what it did on test, and
    accuracy among the answered questions as the gate rises (an answered unanswerable one is wrong)."""
    tuned = summary.get("tuning", {}).get("systems", {})
    gates = {n: t["abstain"] for n, t in tuned.items() if t.get("abstain")}
    test = summary.get("abstention", {})
    if not gates and not test:
        return []

    lines = ["## Abstention", "",
             "A retrieving system says the abstain answer when the chunks in its prompt do not support the "
             "question: `support` is the best cosine between the question and one of their sentences; "
             "`names` is the share of the question's names the chunks name; `grounding` is that share times "
             "the cosine with the names taken out; `+quoted` is the signal where the answer is found "
             "word for word in those chunks and -2 where it is not. The signal and its threshold were "
             "chosen on dev: the most unanswerable dev questions abstained on while dev accuracy drops by "
             "at most `bench.abstain_max_drop`.",
             ""]  # fmt: skip
    for name, g in gates.items():
        value = g["threshold"] if g["threshold"] is not None else -math.inf
        t = Threshold(value, g["abstention"], g["accuracy"], g["accuracy_before"], g["reason"],
                      g.get("signal", "support"))  # fmt: skip
        gated = test.get(name, {}).get("gated")
        on_test = f"; on test {gated} answers gated" if gated is not None else ""
        part = test.get(name, {}).get("part_gate")
        if part:  # the routed hybrid reads this system's answers gated by the plain signal
            on_test += f" ({part['gated']} by `{part['signal']}` as the routed hybrid reads them)"
        lines.append(f"- {name}: {gate_line(t, g['unanswerable'])}{on_test}")
    curves = {n: curve_points(e["curve"]) for n, e in test.items() if e.get("curve")}
    if curves:
        lines += ["", "Selective accuracy on test, before the gate (share of questions answered: accuracy "
                  "among them):", ""]  # fmt: skip
        lines += [f"- {n}: " + ", ".join(f"{c:.0%}: {a:.3f}" for c, a in pts) for n, pts in curves.items()]
    return [*lines, ""]


def _kv(knobs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in knobs.items())
