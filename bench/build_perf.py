"""Our llama.cpp build (patches/llama-cpp-python) against llama.cpp's own kernels and the stock
release: the llamacpp engine on a dataset's real RAG prompts, each arm in a process of its own.

    .venv/bin/python bench/build_perf.py [--dataset tessaline] [--k 0,1,3] [--reps 2] [--steps 1,4,16,32,48]
        [--stock DIR] [--out FILE]

The prompts are the bench's prompts for every test question (bench/prefix_perf.py builds them),
built once: at k=0 the closed-book prompts ``base`` and ``ft`` answer (decode-bound), at k>0 RAG's
(three worked examples, the completion layout; prefill-bound). Then, alternating, ``--reps`` times:

- ours: the installed build as `make setup` makes it;
- own GEMM: the same build with our float32 GEMMs off (``GGML_PACKED_F32_GEMM=0``), so
  llama.cpp's own tinyBLAS multiplies, and only the flash-attention patch differs from stock;
- stock (with ``--stock DIR``): the stock llama-cpp-python release, installed into DIR with
  ``pip install --no-deps --target DIR llama_cpp_python-0.3.36-*.whl``.

Last, each arm times decode steps alone (``--steps``: milliseconds per step of n rows, one new
token each), where our small-batch GEMM replaces tinyBLAS.

F32 weights, no adapter, 32 new tokens at most, batches of 16, the engine's threads. Reported per
k and arm: seconds (every repetition), the ratio of the fastest to stock's (or to own GEMM's), and
how many answers equal stock's (or own GEMM's). Each arm runs in a process of its own because
llama.cpp reads the switch once, and a stock build is another library.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def decode_steps(gguf: str, ns: list[int], reps: int = 10) -> dict[str, float]:
    """Milliseconds per decode step of ``n`` rows (each 40 tokens in the cache, one new token),
    for each ``n``: the engine's native calls, with only the batch's filling and each row's argmax
    in Python (about a millisecond of a step's tens)."""
    import compare.engines.llamacpp as llamacpp

    st = llamacpp._Native(gguf, None, llamacpp.N_CTX, max(ns) + 1, llamacpp._torch_threads())
    for s in range(1, max(ns) + 1):
        st.feed([(s, [(100 + s + j) % st.n_vocab for j in range(40)], 0, True)])
    out = {}
    for n in ns:
        t0 = time.perf_counter()
        for r in range(reps):
            st.feed([(s, [(500 + r) % st.n_vocab], 40 + r, True) for s in range(1, n + 1)])
        out[str(n)] = round((time.perf_counter() - t0) / reps * 1000, 1)
        for s in range(1, max(ns) + 1):  # back to the 40 tokens each row began with
            st.lc.llama_memory_seq_rm(st.mem, s, 40, -1)
    return out


def worker(prompts_file: str, out_file: str) -> None:
    """One arm's pass: seconds, answers and the llama-cpp-python build that made them (or, for a
    job of decode steps, each step's milliseconds)."""
    import llama_cpp

    import compare.engines.llamacpp as llamacpp
    from finetune.models import load_model

    job = json.loads(Path(prompts_file).read_text())
    if "steps" in job:
        out = {"steps": decode_steps(job["gguf"], job["steps"]), "build": llama_cpp.__version__}
        Path(out_file).write_text(json.dumps(out))
        return
    _, tok = load_model(job["model"], "cpu", "float32", False)
    engine = llamacpp.LlamaCppEngine(Path(job["gguf"]), tok, None, max_new_tokens=32, stops=("\n",))
    engine.single(job["prompts"][0])  # load and warm up outside the timed pass
    t0 = time.perf_counter()
    gens = engine.generate(job["prompts"])
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "texts": [g.text for g in gens], "build": llama_cpp.__version__}
    Path(out_file).write_text(json.dumps(out))


def run_arm(arm: str, stock: str | None, prompts_file: Path, out_file: Path) -> dict:
    """``worker`` in a process of its own, with the arm's environment."""
    env = dict(os.environ)
    env.pop("GGML_PACKED_F32_GEMM", None)
    if arm == "own GEMM":
        env["GGML_PACKED_F32_GEMM"] = "0"
    elif arm == "stock":
        env["PYTHONPATH"] = os.pathsep.join([stock or "", env.get("PYTHONPATH", "")])
    cmd = [sys.executable, __file__, "--worker", str(prompts_file), str(out_file)]
    subprocess.run(cmd, check=True, env=env)
    return json.loads(out_file.read_text())


def compare_arms(seen: dict[str, list[dict]]) -> dict:
    """Per arm: seconds, the fastest's ratio to the reference arm's, answers equal to its."""
    ref = "stock" if "stock" in seen else "own GEMM"
    best = {arm: min(runs, key=lambda r: r["seconds"]) for arm, runs in seen.items()}
    return {
        arm: {
            "build": best[arm]["build"],
            "seconds": [round(r["seconds"], 1) for r in runs],
            f"ratio_to_{ref.replace(' ', '_')}": round(best[arm]["seconds"] / best[ref]["seconds"], 3),
            "same_answers": sum(a == b for a, b in zip(best[arm]["texts"], best[ref]["texts"], strict=True)),
        }
        for arm, runs in seen.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="tessaline")
    ap.add_argument("--k", default="0,1,3", help="chunks per prompt, comma-separated (0: closed book)")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--runs", default="runs", help="runs folder whose stage cache holds the index")
    ap.add_argument("--stock", help="a folder holding the stock llama-cpp-python (pip install --target)")
    ap.add_argument("--steps", default="1,4,16,32,48", help="rows per timed decode step ('' for none)")
    ap.add_argument("--out", help="write results JSON here")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(*args.worker)
    from prefix_perf import rag_prompts

    import compare.engines.llamacpp as llamacpp
    from finetune.models import gguf_file

    ks = [int(k) for k in args.k.split(",") if k]
    prompts, _, tok, model = rag_prompts(args.dataset, ks, args.runs)
    gguf = llamacpp.serving_file(gguf_file(model), "f32")
    arms = ["stock"] * bool(args.stock) + ["own GEMM", "ours"]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in ks:
            job = Path(tmp) / f"k{k}.json"
            job.write_text(json.dumps({"model": model, "gguf": str(gguf), "prompts": prompts[k]}))
            seen: dict[str, list[dict]] = {arm: [] for arm in arms}
            for _ in range(args.reps):
                for arm in arms:
                    seen[arm].append(run_arm(arm, args.stock, job, Path(tmp) / "out.json"))
                    print(f"k={k} {arm}: {seen[arm][-1]['seconds']:.1f} s", flush=True)
            tokens = sum(len(tok(p, add_special_tokens=False)["input_ids"]) for p in prompts[k])
            rows[f"k={k}"] = {"prompts": len(prompts[k]), "prompt_tokens": tokens, "arms": compare_arms(seen)}
            print(json.dumps(rows[f"k={k}"]), flush=True)
        steps, step_builds = {}, {}
        if args.steps:
            job = Path(tmp) / "steps.json"
            job.write_text(json.dumps({"gguf": str(gguf), "steps": [int(n) for n in args.steps.split(",")]}))
            for arm in arms:
                out = run_arm(arm, args.stock, job, Path(tmp) / "out.json")
                steps[arm], step_builds[arm] = out["steps"], out["build"]
                print(f"decode steps, ms, {arm}: {steps[arm]}", flush=True)
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "processor": platform.processor()}
    result = {
        "machine": machine,
        "dataset": args.dataset,
        "model": model,
        "precision": "F32",
        "runs": rows,
        "decode_step_ms": steps,
        "decode_step_builds": step_builds,
    }
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
