"""``ftrag lmeval export`` and ``ftrag lmeval run``: the lm-evaluation-harness bridge from the CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from compare.harness.run_record import read_summary, write_summary
from compare.lmeval.task import export_task, hf_model, run_task, system_lm
from corpus.errors import UserError
from corpus.io import atomic_write_text


def cmd_export(args: argparse.Namespace) -> int:
    from corpus.formats import load_dataset
    from corpus.paths import resolve_dataset

    ds = load_dataset(resolve_dataset(args.dataset))
    questions = ds.questions(args.split)
    if not questions:
        raise UserError(f"no questions in the {args.split!r} split of {ds.name}")
    name = export_task(ds, questions, Path(args.out))
    print(
        f"lm-eval task {name!r} -> {args.out} ({sum(q.kind != 'unanswerable' for q in questions)} questions)"
    )
    print(f"run it: lm_eval --include_path {args.out} --tasks {name} --model hf --model_args pretrained=...")
    return 0


def load_run(run: Path) -> tuple[dict, Any, list, dict]:
    """Configs, dataset, scored questions and summary of a finished bench run."""
    from compare.pipeline.bench import resolve_configs
    from corpus.formats import load_dataset
    from corpus.splits import first_facts

    summary = read_summary(run)
    saved = json.loads((run / "config.json").read_text())
    none = {"profile": None, "set": None, "systems": None, "device": None}
    configs = resolve_configs(argparse.Namespace(config=run / "config.json", **none))  # the bench's own path
    ds = first_facts(load_dataset(Path(saved["dataset"]["path"])), configs["bench"].facts)
    return configs, ds, ds.questions(configs["bench"].split), summary


def cmd_run(args: argparse.Namespace) -> int:
    import pandas as pd

    from compare.answering.specs import get_systems, is_composed
    from compare.harness.stages import StageCache
    from compare.pipeline.bench import build_resources

    run = Path(args.run)
    configs, ds, questions, summary = load_run(run)
    names = args.systems.split(",") if args.systems else list(summary["systems"])
    specs = get_systems(names)
    for s in (s for s in specs if is_composed(s)):  # it generates nothing: its parts are what lm-eval runs
        print(f"{s.name:>8}: not run (composed from {' and '.join(s.parts)}, which are)")
    specs = [s for s in specs if not is_composed(s)]
    res, _ = build_resources(ds, configs, specs, StageCache(run.parent / ".cache"))
    task_dir = run / "lmeval"
    task = export_task(ds, questions, task_dir, configs["bench"].max_new_tokens)
    ours = pd.read_parquet(run / "results.parquet")
    out: dict[str, Any] = {}
    for spec in specs:
        model, system, via = lm_of(spec, res, configs, summary)
        em, theirs = run_task(model, task_dir, task, system)
        out[spec.name] = agreement(ours[ours["system"] == spec.name], theirs, em, via)
        r = out[spec.name]
        print(f"{spec.name:>8}: lm-eval EM {em:.3f}  ours {r['ours_exact_match']:.3f}  "
              f"same answer {r['same']}  ({via})")  # fmt: skip
        del model
    write_agreement(run, summary, out)
    return 0


def lm_of(spec: Any, res: Any, configs: dict, summary: dict) -> tuple[Any, str | None, str]:
    """The lm-eval model of a system, its system prompt, and how it is run: lm-eval's own HFLM
    (with the peft adapter) where the system is a plain model, our wrapper where it retrieves."""
    from compare.answering.systems import answer_questions, closed_book_messages
    from corpus.model import QAItem
    from finetune.models import resolve_model

    if spec.retrieval or spec.adapter not in (None, "sft"):

        def answer(qs: list[str]) -> list[str]:
            items = [QAItem(f"lm{i}", q, "", split="test") for i, q in enumerate(qs)]
            return [a.text for a in answer_questions(spec, items, res)]

        return system_lm(answer), None, "ftrag model wrapper"
    adapter = Path(summary["adapters"]["sft"]["path"]) / "adapter" if spec.adapter else None
    model = hf_model(
        resolve_model(configs["train"].model), adapter, configs["bench"].batch_size, str(res.model.device)
    )
    system = closed_book_messages("", None if spec.adapter else res.style)[0]["content"]
    return model, system, "lm-eval HFLM" + (" + peft" if adapter else "")


def agreement(rows: Any, theirs: dict[str, str], em: float, via: str) -> dict[str, Any]:
    """lm-eval's exact match beside ours, and how often the two harnesses got the same answer."""
    rows = rows[rows["kind"] != "unanswerable"]
    same = [
        theirs.get(qid, "").strip() == text.strip()
        for qid, text in zip(rows["qid"], rows["text"], strict=True)
    ]
    return {
        "lmeval_exact_match": em,
        "ours_exact_match": float(rows["exact_match"].mean()),
        "same_answer_rate": sum(same) / len(same),
        "via": via,
        "same": f"{sum(same)}/{len(same)}",
    }


def write_agreement(run: Path, summary: dict, out: dict[str, dict]) -> None:
    """``lmeval.json``, the summary's ``lmeval`` section and report.md's agreement table."""
    out = {name: {k: v for k, v in r.items() if k != "same"} for name, r in out.items()}
    summary["lmeval"] = out
    atomic_write_text(run / "lmeval.json", json.dumps(out, indent=2) + "\n")
    write_summary(run, summary)
    lines = [
        "",
        "## lm-eval agreement",
        "",
        "| system | lm-eval EM | ours EM | same answer | via |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {n} | {r['lmeval_exact_match']:.3f} | {r['ours_exact_match']:.3f} | "
        f"{r['same_answer_rate']:.3f} | {r['via']} |"
        for n, r in out.items()
    ]
    report = run / "report.md"
    text = report.read_text().split("\n## lm-eval agreement")[0].rstrip("\n") + "\n"
    atomic_write_text(report, text + "\n".join(lines) + "\n")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lmeval", help="export a dataset as an lm-eval task, or score a run's systems with lm-eval"
    )
    s = p.add_subparsers(dest="lmeval_command", required=True, metavar="ACTION")
    e = s.add_parser("export", help="write <task>.yaml + <task>.jsonl for lm_eval --include_path")
    e.add_argument("dataset", help="dataset folder or bundled name")
    e.add_argument("--out", required=True, help="folder for the task files")
    e.add_argument("--split", default="test")
    e.set_defaults(func=cmd_export)
    r = s.add_parser("run", help="score a bench run's systems with lm-eval, beside ours")
    r.add_argument("run", help="a finished run folder (runs/<timestamp>-<name>)")
    r.add_argument("--systems", help="comma-separated (default: the run's systems)")
    r.set_defaults(func=cmd_run)
