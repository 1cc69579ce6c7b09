"""Prefix reuse across a batch's rows: the llamacpp engine with and without it, on a dataset's
real RAG prompts, side by side in one process.

    .venv/bin/python bench/prefix_perf.py [--dataset tessaline] [--k 1,3] [--reps 2] [--out FILE]

The prompts are the bench's RAG prompts for every test question (the configured profile's index
and retriever, three worked examples, the completion layout: the knobs dev chose for ``rag`` in
the README's run), built once. Then, alternating, ``--reps`` times:

- before: batches planned by length, every row computing all tokens past the batch's common prefix
  (the engine before rows shared cells);
- after: batches planned in prompt order, a row that quotes the same chunk as an earlier row going
  on from that row's cells (``compare.harness.prompting.prefix_sources``).

Reported per k: prompt tokens, tokens computed, seconds (min of the repetitions), the ratio, and
how many answers are equal. The gain depends on how many questions retrieve the same chunk, so
the distinct first chunks are reported too.

``--openvino DIR`` adds OpenVINO GenAI's continuous-batching pipeline on the same prompts (a
folder exported as ``bench/engine_candidates.py`` says; ``pip install openvino-genai``): float32
compute, a float16 KV cache as llama.cpp's, prefix caching on, 16 sequences at a time, the first
prompt alone first so the others find the shared instructions and examples cached (its blocks are
shared only once computed, so prompts scheduled together would each compute them). A fresh
pipeline per repetition; answers are compared with the llamacpp engine's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import compare.engines.llamacpp as llamacpp
from compare.answering.specs import SYSTEMS
from compare.answering.systems import Resources, build_prompts
from compare.cli import build_parser
from compare.harness.stages import StageCache
from compare.pipeline.bench import load_questions, resolve_configs, resolve_dataset
from compare.pipeline.index_stages import index_stage
from compare.pipeline.tune_stages import style_description
from corpus.model import styled


def rag_prompts(
    dataset: str, ks: list[int], runs: str
) -> tuple[dict[int, list[str]], dict[int, int], object, str]:
    """The test questions' RAG prompts at each k (k=0: the closed-book prompts ``base`` and ``ft``
    answer), the distinct first chunks, the tokenizer and model."""
    from finetune.models import load_model

    args = build_parser().parse_args(["bench", "--name", "prefix-perf", "--dataset", dataset, "--runs", runs])
    configs = resolve_configs(args)
    bench, train = configs["bench"], configs["train"]
    ds, questions, _ = load_questions(resolve_dataset(args.dataset), args.qa, bench)
    retriever, chunk_text, _, _ = index_stage(ds, configs, StageCache(Path(runs) / ".cache"))
    _, tok = load_model(train.model, train.device, train.dtype, False)
    res = Resources(None, tok, retriever, bench.context_k, bench.context_budget, style_description(ds),
                    bench.max_new_tokens, bench.batch_size, set(), chunk_text, bench.rag_shots,
                    partial(styled, house_style=ds.meta.get("house_style")), bench.rag_layout)  # fmt: skip
    prompts, firsts = {}, {}
    for k in ks:
        res.tuned = {"rag": {"k": k, "shots": 3, "layout": "completion"}}
        prompts[k], contexts, _ = build_prompts(SYSTEMS["rag" if k else "base"], questions, res)
        firsts[k] = len({c.chunk_ids[0] for c in contexts if c and c.chunk_ids})
    return prompts, firsts, tok, train.model


def run(
    prompts: list[str], tok: object, gguf: Path, share: bool, max_new: int
) -> tuple[float, int, list[str]]:
    """Seconds, tokens computed and answers of one pass, with or without rows sharing cells."""
    own = llamacpp.prefix_sources
    llamacpp.prefix_sources = own if share else (lambda rows, shared: [(-1, shared)] * len(rows))
    llamacpp.PLAN = "prefix" if share else "length"
    try:
        engine = llamacpp.LlamaCppEngine(gguf, tok, None, max_new_tokens=max_new, stops=("\n",))
        t0 = time.perf_counter()
        gens = engine.generate(prompts)
        return time.perf_counter() - t0, engine.state.evaluated, [g.text for g in gens]
    finally:
        llamacpp.prefix_sources, llamacpp.PLAN = own, "prefix"


def openvino_pass(folder: str, prompts: list[str], tok: object, max_new: int) -> tuple[float, list[str]]:
    """Seconds and answers of OpenVINO GenAI's continuous batching on ``prompts`` (a new pipeline)."""
    import numpy as np
    import openvino as ov
    import openvino_genai as ovg

    from compare.harness.prompting import cut_at_stop

    sc = ovg.SchedulerConfig()
    sc.cache_size, sc.enable_prefix_caching, sc.max_num_seqs, sc.max_num_batched_tokens = 2, True, 16, 512
    props = {"INFERENCE_NUM_THREADS": 2, "INFERENCE_PRECISION_HINT": "f32", "KV_CACHE_PRECISION": "f16"}
    pipe = ovg.ContinuousBatchingPipeline(folder, sc, "CPU", props)
    cfg = ovg.GenerationConfig(max_new_tokens=max_new, do_sample=False)
    cfg.stop_strings = {"\n"}
    rows = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    ids = [ov.Tensor(np.array([r], dtype=np.int64)) for r in rows]
    t0 = time.perf_counter()
    out = pipe.generate(ids[:1], [cfg]) + pipe.generate(ids[1:], [cfg] * (len(ids) - 1))
    seconds = time.perf_counter() - t0
    texts = [tok.decode(r.m_generation_ids[0], skip_special_tokens=True) for r in out]
    return seconds, [cut_at_stop(t, ("\n",)) for t in texts]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="tessaline")
    ap.add_argument("--k", default="1,3", help="chunks per prompt, comma-separated")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--precision", default="f32")
    ap.add_argument("--runs", default="runs", help="runs folder whose stage cache holds the index")
    ap.add_argument("--openvino", help="also OpenVINO GenAI on this exported model folder")
    ap.add_argument("--out", help="write results JSON here")
    args = ap.parse_args()
    from finetune.models import gguf_file

    ks = [int(k) for k in args.k.split(",")]
    prompts, firsts, tok, model = rag_prompts(args.dataset, ks, args.runs)
    gguf = llamacpp.serving_file(gguf_file(model), args.precision)
    rows = {}
    for k in ks:
        seen: dict[bool, list] = {False: [], True: []}
        for _ in range(args.reps):
            for share in (False, True):
                seen[share].append(run(prompts[k], tok, gguf, share, 32))
                print(f"k={k} {'after' if share else 'before'}: {seen[share][-1][0]:.1f} s", flush=True)
        before, after = min(seen[False]), min(seen[True])
        rows[f"k={k}"] = {
            "prompts": len(prompts[k]), "distinct_first_chunks": firsts[k],
            "prompt_tokens": sum(len(tok(p, add_special_tokens=False)["input_ids"]) for p in prompts[k]),
            "computed_before": before[1], "computed_after": after[1],
            "seconds_before": [round(s[0], 1) for s in seen[False]],
            "seconds_after": [round(s[0], 1) for s in seen[True]],
            "ratio": round(after[0] / before[0], 3),
            "same_answers": sum(a == b for a, b in zip(before[2], after[2], strict=True)),
        }  # fmt: skip
        if args.openvino:
            ov = [openvino_pass(args.openvino, prompts[k], tok, 32) for _ in range(args.reps)]
            same = sum(a == b for a, b in zip(ov[0][1], after[2], strict=True))
            rows[f"k={k}"] |= {
                "openvino_seconds": [round(s, 1) for s, _ in ov], "openvino_same_answers": same,
                "openvino_over_after": round(min(s for s, _ in ov) / after[0], 3),
            }  # fmt: skip
        print(json.dumps(rows[f"k={k}"]), flush=True)
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "processor": platform.processor()}
    result = {"machine": machine, "dataset": args.dataset, "model": model,
              "precision": llamacpp.file_precision(gguf), "runs": rows}  # fmt: skip
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
