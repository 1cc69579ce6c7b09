"""lm-evaluation-harness bridge: a dataset's QA as a local lm-eval task, and every system scored
by lm-eval too.

``base`` and ``ft`` run through lm-eval's own Hugging Face model (``HFLM``, with ``peft=`` for the
adapter, chat template and the same system prompt as ours); ``rag``, ``hybrid`` and ``raft`` run
through :class:`SystemLM`, an lm-eval model that answers with our system (retrieval, prompt,
generation). lm-eval's exact match is configured to normalise as ours does (case, punctuation,
articles, whitespace, the house style's fixed text and ``[n]`` markers), so the two agree.
No network: the task reads a JSONL file written next to its YAML.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from corpus.io import atomic_write_text
from corpus.model import Dataset, QAItem

CITATION_RE = r"\[\d{1,3}\]"
ARTICLE_RE = r"(?i)\b(a|an|the)\b"


def style_regexes(template: str | None) -> list[str]:
    """Regexes removing the house style's fixed text around ``{answer}``."""
    if not template or "{answer}" not in template:
        return []
    head, tail = (t.strip() for t in template.split("{answer}", 1))
    out = [rf"(?i)^\s*{re.escape(head)}"] if head else []
    return out + ([rf"(?i){re.escape(tail)}\s*$"] if tail else [])


def task_name(ds: Dataset) -> str:
    return "ftrag_" + re.sub(r"\W+", "_", ds.name).strip("_").lower()


def export_task(ds: Dataset, questions: Sequence[QAItem], out: Path, max_new_tokens: int = 24) -> str:
    """Write ``<task>.yaml`` and ``<task>.jsonl`` (answerable questions) into ``out``; returns
    the task name."""
    name = task_name(ds)
    out.mkdir(parents=True, exist_ok=True)
    rows = [
        {"id": q.id, "question": q.question, "golds": list(q.golds), "kind": q.kind}
        for q in questions
        if q.kind != "unanswerable"
    ]
    data = out / f"{name}.jsonl"
    atomic_write_text(data, "".join(json.dumps(r) + "\n" for r in rows))
    style = ds.house_style or {}
    task = {
        "task": name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data.resolve())}},
        "test_split": "test",
        "output_type": "generate_until",
        "doc_to_text": "{{question}}",
        "doc_to_target": "golds",
        "target_delimiter": "",
        "generation_kwargs": {"until": ["\n"], "max_gen_toks": max_new_tokens, "do_sample": False},
        "metric_list": [
            {
                "metric": "exact_match",
                "aggregation": "mean",
                "higher_is_better": True,
                "ignore_case": True,
                "ignore_punctuation": True,
                # ours: style text and [n] off first, then SQuAD normalisation (articles, spaces)
                "regexes_to_ignore": [*style_regexes(style.get("template")), CITATION_RE, ARTICLE_RE, r"\s+"],
            }
        ],
        "metadata": {"version": 1.0},
    }
    atomic_write_text(out / f"{name}.yaml", yaml.safe_dump(task, sort_keys=False))
    return name


def system_lm(answer: Callable[[list[str]], list[str]]) -> Any:
    """An lm-eval model whose ``generate_until`` is one of our systems (questions in, answers out)."""
    from lm_eval.api.model import LM

    class SystemLM(LM):
        def generate_until(self, requests: list, disable_tqdm: bool = False) -> list[str]:
            return answer([r.args[0] for r in requests])

        def loglikelihood(self, requests: list, disable_tqdm: bool = False) -> list:
            raise NotImplementedError("ftrag systems only generate")

        def loglikelihood_rolling(self, requests: list, disable_tqdm: bool = False) -> list:
            raise NotImplementedError("ftrag systems only generate")

    return SystemLM()


def run_task(
    model: Any, task_dir: Path, task: str, system_prompt: str | None = None
) -> tuple[float, dict[str, str]]:
    """lm-eval's exact match for ``model`` on the exported task, and its answer per question id."""
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")  # the task reads a local file; never the hub
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    chat = system_prompt is not None
    out = simple_evaluate(
        model=model,
        tasks=[task],
        task_manager=TaskManager(include_path=str(task_dir)),
        apply_chat_template=chat,
        system_instruction=system_prompt,
        log_samples=True,
        verbosity="WARNING",
    )
    answers = {s["doc"]["id"]: s["filtered_resps"][0] for s in out["samples"][task]}
    return float(out["results"][task]["exact_match,none"]), answers


def hf_model(folder: Path, adapter: Path | None, batch_size: int, device: str) -> Any:
    """lm-eval's own Hugging Face model, with the adapter through its ``peft=`` argument."""
    from lm_eval.models.huggingface import HFLM

    return HFLM(
        pretrained=str(folder),
        peft=str(adapter) if adapter else None,
        device=device,
        dtype="float32" if device == "cpu" else "bfloat16",
        batch_size=batch_size,
        trust_remote_code=False,
    )
