"""The CPU engine candidates side by side: why ``llamacpp`` is the fast CPU engine.

    .venv/bin/python bench/engine_candidates.py --ct2 DIR[,DIR] --ortgenai DIR[,DIR] [--out FILE]

Single-request prefill and decode on the same token ids (the prompts of ``generate_perf.py``), one
process, 2 threads, medians of ``--reps``: ``hf`` (the reference), our ``llamacpp`` engine at
f32 and q8_0, and the candidates the project did not adopt, each through its own API:

- CTranslate2 (``pip install ctranslate2``), a model folder converted by
  ``python -m ctranslate2.converters.transformers --model <hf folder> --output_dir DIR
  --quantization float32`` (or ``int8``);
- ONNX Runtime GenAI (``pip install onnxruntime-genai``), a folder built by
  ``python -m onnxruntime_genai.models.builder -i <hf folder> -m <hf folder> -o DIR -p fp32 -e cpu``
  (or ``-p int4``), with ``intra_op_num_threads`` set to the thread count in its genai_config.json.

- OpenVINO GenAI (``pip install openvino-genai``), ``--openvino PATH[,PATH]``: a model folder
  exported by ``optimum-cli export openvino --model <hf folder> --task text-generation-with-past
  --weight-format fp32 DIR`` (or ``int8``; optimum-intel pins an older transformers, so export
  from a venv of its own), or a GGUF file, which its own GGUF reader loads directly (q8_0, q4_x;
  it refuses f32), with ``INFERENCE_PRECISION_HINT`` f32 (on a CPU with AVX512-BF16 it would
  otherwise compute in bf16) and ``INFERENCE_NUM_THREADS`` the thread count.

``<hf folder>`` is the bundled model as ftrag loads it (``finetune.models.resolve_model``). A
candidate that is not installed is skipped and named.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_perf import FILLER, QUESTIONS, chat

THREADS = 2


def prompts(tok, r: int) -> tuple[tuple[str, list[int]], tuple[str, list[int]]]:
    """A RAG-sized prompt with a unique first line (no cached prefix) and a closed-book one, each
    as text (what our engines take) and token ids (what the candidates take)."""
    ids = lambda text: (text, tok(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    long = chat(
        tok, f"Request {r}-{time.time_ns()}. Answer from the context.", f"{FILLER * 14}\n{QUESTIONS[0]}"
    )
    short = chat(tok, "Write at length.", f"Describe a speaker in detail. ({r})")
    return ids(long), ids(short)


def timed_tokens(stream) -> tuple[float, int, float]:
    """Seconds to the first token of a token iterator, tokens, and seconds to the last."""
    t0 = time.perf_counter()
    stamps = [time.perf_counter() for _ in stream]
    return stamps[0] - t0, len(stamps), stamps[-1] - t0


def ct2_run(folder: str, tok):
    import ctranslate2

    gen = ctranslate2.Generator(folder, device="cpu", intra_threads=THREADS, inter_threads=1)

    def run(text: str, ids: list[int], new: int) -> tuple[float, int, float]:
        toks = tok.convert_ids_to_tokens(ids)
        steps = gen.generate_tokens(toks, max_length=new, min_length=new, sampling_topk=1)
        return timed_tokens(steps)

    return run


def ortgenai_run(folder: str, tok):
    import onnxruntime_genai as og

    model = og.Model(folder)

    def run(text: str, ids: list[int], new: int) -> tuple[float, int, float]:
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=len(ids) + new, min_length=len(ids) + new, do_sample=False)
        gen = og.Generator(model, params)

        def steps():
            gen.append_tokens(ids)
            while not gen.is_done():
                gen.generate_next_token()
                yield gen.get_next_tokens()[0]

        return timed_tokens(steps())

    return run


def openvino_run(path: str, tok):
    import numpy as np
    import openvino as ov
    import openvino_genai as ovg

    pipe = ovg.LLMPipeline(path, "CPU", INFERENCE_NUM_THREADS=THREADS, INFERENCE_PRECISION_HINT="f32")

    class Stamps(ovg.StreamerBase):
        def __init__(self):
            super().__init__()
            self.times: list[float] = []

        def write(self, token):
            self.times.append(time.perf_counter())
            return ovg.StreamingStatus.RUNNING

        def end(self):
            pass

    def run(text: str, ids: list[int], new: int) -> tuple[float, int, float]:
        cfg = ovg.GenerationConfig(max_new_tokens=new, min_new_tokens=new, do_sample=False)
        inputs = ovg.TokenizedInputs(
            ov.Tensor(np.array([ids], dtype=np.int64)), ov.Tensor(np.ones((1, len(ids)), dtype=np.int64))
        )
        stamps = Stamps()
        t0 = time.perf_counter()
        pipe.generate(inputs, cfg, stamps)
        return stamps.times[0] - t0, len(stamps.times), stamps.times[-1] - t0

    return run


def ours_run(name: str, precision: str, tok):
    from compare.engines.hf import Engine
    from compare.engines.llamacpp import LlamaCppEngine, serving_file
    from finetune.models import gguf_file, load_model

    if name == "hf":
        model, _ = load_model("smollm2-135m", "cpu")
        engine = Engine(model, tok, max_new_tokens=1, stops=(), batch_size=1)
    else:
        gguf = serving_file(gguf_file("smollm2-135m"), precision)
        engine = LlamaCppEngine(gguf, tok, None, max_new_tokens=1, stops=(), threads=THREADS)

    def run(text: str, ids: list[int], new: int) -> tuple[float, int, float]:
        engine.max_new_tokens = new
        g = engine.single(text)
        return g.ttft, g.output_tokens, g.seconds

    return run


def measure(run, tok, reps: int) -> dict[str, float]:
    prefill, decode = [], []
    for r in range(reps):
        long, short = prompts(tok, r)
        ttft, _, _ = run(*long, 1)
        prefill.append(len(long[1]) / ttft)
        ttft, n, total = run(*short, 64)
        decode.append((n - 1) / max(total - ttft, 1e-9))
    return {"prefill_tokens_per_s": round(statistics.median(prefill), 1),
            "decode_tokens_per_s": round(statistics.median(decode), 1)}  # fmt: skip


def candidates(args) -> list[tuple[str, object]]:
    """(label, factory) for every engine measured, in the order of the table."""
    out: list[tuple[str, object]] = [
        ("hf float32", lambda tok: ours_run("hf", "", tok)),
        ("llamacpp F32", lambda tok: ours_run("llamacpp", "f32", tok)),
        ("llamacpp Q8_0", lambda tok: ours_run("llamacpp", "q8_0", tok)),
    ]
    for folder in filter(None, (args.ct2 or "").split(",")):
        out.append((f"ctranslate2 {Path(folder).name}", lambda tok, f=folder: ct2_run(f, tok)))
    for folder in filter(None, (args.ortgenai or "").split(",")):
        out.append((f"onnxruntime-genai {Path(folder).name}", lambda tok, f=folder: ortgenai_run(f, tok)))
    for path in filter(None, (args.openvino or "").split(",")):
        name = Path(path).stem.rsplit("-", 1)[-1] + " gguf" if path.endswith(".gguf") else Path(path).name
        out.append((f"openvino-genai {name}", lambda tok, f=path: openvino_run(f, tok)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ct2", help="CTranslate2 model folders, comma-separated")
    ap.add_argument("--ortgenai", help="ONNX Runtime GenAI model folders, comma-separated")
    ap.add_argument("--openvino", help="OpenVINO GenAI model folders or GGUF files, comma-separated")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", help="write results JSON here")
    args = ap.parse_args()
    import torch
    from transformers import AutoTokenizer

    from finetune.models import resolve_model

    torch.set_num_threads(THREADS)
    tok = AutoTokenizer.from_pretrained(str(resolve_model("smollm2-135m")))
    rows: dict[str, dict] = {}
    for label, make in candidates(args):
        try:
            run = make(tok)
        except ImportError as exc:
            print(f"{label}: skipped, not installed ({exc})")
            continue
        run(*prompts(tok, -1)[1], 4)  # warm-up
        rows[label] = measure(run, tok, args.reps)
        print(label, json.dumps(rows[label]), flush=True)
    ref = rows["hf float32"]
    for row in rows.values():
        row["prefill_vs_hf"] = round(row["prefill_tokens_per_s"] / ref["prefill_tokens_per_s"], 2)
        row["decode_vs_hf"] = round(row["decode_tokens_per_s"] / ref["decode_tokens_per_s"], 2)
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "processor": platform.processor()}
    result = {"machine": machine, "threads": THREADS, "reps": args.reps, "engines": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: [v["prefill_vs_hf"], v["decode_vs_hf"]] for k, v in rows.items()}))


if __name__ == "__main__":
    main()
