"""Generation benchmark: every installed engine on the same prompts, side by side in one run.

    .venv/bin/python bench/generate_perf.py [--model smollm2-135m] [--reps 3] [--out FILE]

Per engine (``hf``, and ``llamacpp`` at each ``--precisions`` weight type when installed), one
process, the same token ids:
1. prefill: a RAG-sized prompt (about 750 tokens) with a unique first line, so no engine reuses
   a cached prefix; time to the first new token, and prompt tokens/s;
2. decode: a closed-book prompt, 64 new tokens with no stop string; tokens/s after the first;
3. RAG p50: single requests that share their 600-token instructions and differ in the last
   hundred tokens, as a RAG system's requests do (prefix caching counts here);
4. batched throughput: 32 closed-book prompts through ``generate``, output tokens/s;
5. for llamacpp, llama-cpp-python's own ``Llama.generate`` decode on the same file and prompt, the
   reference our engine's decode is held to.
Medians over ``--reps`` repetitions; the machine and thread count are recorded with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from compare.engines.llamacpp import file_precision, serving_file
from compare.engines.registry import EngineConfig, resolve_engine
from compare.harness.prompting import render_prompt

FILLER = (
    "The Brisil 40 Pro is a portable speaker with a battery that lasts 40 hours, a weight of 1.2 kg, "
    "and a waterproof rating of IP67. It was designed in Lyon and ships with a USB-C cable. "
)
QUESTIONS = ["How long does the battery last?", "Where was it designed?", "What does it ship with?",
             "How much does it weigh?", "What is its waterproof rating?", "Who makes it?"]  # fmt: skip


def chat(tok, system: str, user: str) -> str:
    return render_prompt(tok, [{"role": "system", "content": system}, {"role": "user", "content": user}])


def make_engine(name: str, model, tok, gguf: str | None, max_new: int, threads: int):
    if name == "hf":
        from compare.engines.hf import Engine

        return Engine(model, tok, max_new_tokens=max_new, stops=(), batch_size=16)
    from compare.engines.llamacpp import LlamaCppEngine

    return LlamaCppEngine(gguf, tok, None, max_new_tokens=max_new, stops=(), threads=threads)


def measure(engine, tok, reps: int) -> dict[str, float]:
    """The four figures of the module docstring for one engine."""
    long_ctx = FILLER * 14
    prefill, decode, rag, batched = [], [], [], []
    for r in range(reps):
        engine.max_new_tokens = 1
        cold = chat(
            tok, f"Request {r}-{time.time_ns()}. Answer from the context.", f"{long_ctx}\n{QUESTIONS[0]}"
        )
        g = engine.single(cold)
        prefill.append((g.prompt_tokens / g.ttft, g.ttft, g.prompt_tokens))
        engine.max_new_tokens = 64
        g = engine.single(chat(tok, "Write at length.", f"Describe a speaker in detail. ({r})"))
        decode.append((g.output_tokens - 1) / max(g.seconds - g.ttft, 1e-9))
        engine.max_new_tokens = 16
        shared = "Answer from the context and cite it. " + FILLER * 11
        for q in QUESTIONS:
            t0 = time.perf_counter()
            engine.single(chat(tok, shared, f"{FILLER[: 60 + 10 * len(q)]}\n{q} ({r})"))
            rag.append(time.perf_counter() - t0)
        engine.max_new_tokens = 24
        prompts = [chat(tok, "Answer briefly.", f"{QUESTIONS[i % 6]} ({r}-{i})") for i in range(32)]
        t0 = time.perf_counter()
        out = engine.generate(prompts)
        batched.append(sum(g.output_tokens for g in out) / (time.perf_counter() - t0))
    return {
        "prefill_tokens_per_s": round(statistics.median(p[0] for p in prefill), 1),
        "prefill_prompt_tokens": prefill[0][2],
        "ttft_long_prompt_s": round(statistics.median(p[1] for p in prefill), 3),
        "decode_tokens_per_s": round(statistics.median(decode), 1),
        "rag_single_p50_ms": round(1000 * statistics.median(rag), 1),
        "batched_output_tokens_per_s": round(statistics.median(batched), 1),
    }


def reference_decode(path: str, tok, threads: int, reps: int) -> float:
    """llama-cpp-python's own ``Llama.generate`` on the same file and prompt ids (decode tokens/s
    after the first): the reference the llamacpp engine's decode is held to."""
    import llama_cpp
    import llama_cpp.llama_cpp as native  # what Llama() calls for its default model parameters

    params = native.llama_model_default_params

    def no_extra():  # the engine's setting: llama.cpp's AMX kernels crash on this box
        p = params()
        p.use_extra_bufts = False
        return p

    native.llama_model_default_params = no_extra
    try:
        llm = llama_cpp.Llama(model_path=path, n_ctx=4096, n_threads=threads, verbose=False)
    finally:
        native.llama_model_default_params = params
    rates = []
    for r in range(reps):
        ids = tok(
            chat(tok, "Write at length.", f"Describe a speaker in detail. ({r})"), add_special_tokens=False
        )
        out, first = 0, None
        for _ in llm.generate(ids["input_ids"], top_k=1, temp=0.0, reset=True):
            first = first or time.perf_counter()
            out += 1
            if out >= 64:
                break
        rates.append((out - 1) / (time.perf_counter() - first))
    return round(statistics.median(rates), 1)


def runs(precisions: str) -> list[tuple[str, str]]:
    """(engine, precision) pairs measured: hf, then llamacpp at each weight type asked for."""
    return [("hf", "auto")] + [("llamacpp", p.strip()) for p in precisions.split(",") if p.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--precisions", default="shipped,f32,bf16,q8_0", help="llamacpp weight types measured")
    ap.add_argument("--out", help="write results JSON here")
    args = ap.parse_args()
    import torch

    from finetune.models import gguf_file, load_model

    model, tok = load_model(args.model, "cpu")
    gguf = gguf_file(args.model)
    threads = torch.get_num_threads()
    rows = {}
    for name, precision in runs(args.precisions):
        try:
            resolve_engine(EngineConfig(name), "cpu", str(gguf) if gguf else None)
        except ValueError as err:
            print(f"{name}: skipped ({err})", flush=True)
            continue
        served = str(serving_file(gguf, precision)) if name == "llamacpp" else None
        engine = make_engine(name, model, tok, served, 64, threads)
        label = "float32" if name == "hf" else file_precision(served)
        key = name if name == "hf" else f"{name}:{label}"
        rows[key] = {"engine": name, "precision": label, **measure(engine, tok, args.reps)}
        if name == "llamacpp":
            ref = reference_decode(served, tok, threads, args.reps)
            ratio = round(rows[key]["decode_tokens_per_s"] / ref, 2)
            rows[key] |= {"llama_cpp_python_decode_tokens_per_s": ref, "decode_vs_llama_cpp_python": ratio}
        print(key, json.dumps(rows[key]), flush=True)
        del engine
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "threads": threads,
               "processor": platform.processor() or "unknown"}  # fmt: skip
    result = {"machine": machine, "model": args.model, "engines": rows}
    if "hf" in rows:
        for name, row in rows.items():
            ratios = {
                k: round(row[k] / rows["hf"][k], 2)
                for k in row
                if str(k).endswith("_per_s") and k in rows["hf"]
            }
            ratios["rag_single_p50"] = round(row["rag_single_p50_ms"] / rows["hf"]["rag_single_p50_ms"], 2)
            result.setdefault("vs_hf", {})[name] = ratios
    print(json.dumps(result.get("vs_hf", {})))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
