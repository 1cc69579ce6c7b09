#!/usr/bin/env bash
# GPU check, one call on a CUDA machine (under 8 minutes): the device, QLoRA training on CUDA
# (tokens/s, peak GPU memory, utilisation against the bf16 peak, from bench/train_perf.py) and the
# quick bench with the vllm engine (where vLLM is installed; hf on CUDA otherwise). Every step has
# its own time limit and records its exit code; JSON lands in OUT (default docs/gpu).
#
#   bench/gpu_check.sh [--dry-run] [OUT]
#
# --dry-run (any machine): records the device, checks every step's script answers --help, and
# writes the plan without running it; the test suite runs this.
set -uo pipefail
DRY=0
if [ "${1:-}" = "--dry-run" ]; then DRY=1; shift; fi
OUT=${1:-docs/gpu}
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
mkdir -p "$OUT"

"$PY" - "$OUT/device.json" <<'PYEOF'
import json, platform, subprocess, sys
out = {"platform": platform.platform()}
try:
    import torch
    out |= {"torch": torch.__version__, "cuda": torch.cuda.is_available()}
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        out |= {"gpu": p.name, "gpu_memory_gib": round(p.total_memory / 2**30, 1)}
except ImportError:
    out["torch"] = None
for mod in ("vllm", "bitsandbytes", "llama_cpp"):
    try:
        __import__(mod)
        out[mod] = True
    except Exception:
        out[mod] = False
try:
    out["nvidia_smi"] = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout.strip()
except Exception:
    out["nvidia_smi"] = None
json.dump(out, open(sys.argv[1], "w"), indent=2)
print(json.dumps(out))
PYEOF

ENGINE=hf
"$PY" -c "import vllm" 2>/dev/null && ENGINE=vllm
STEPS=(
  "train|240|$PY bench/train_perf.py --skip-trainer --skip-ablations --skip-quality --speed-epochs 1 --qlora-steps 30 --out $OUT/train_perf.json"
  "bench|300|$PY -m compare.cli bench --engine $ENGINE --device cuda --scenarios none --runs $OUT/runs --name gpu"
)
: > "$OUT/plan.txt"
echo "{" > "$OUT/status.json"
first=1
for step in "${STEPS[@]}"; do
  IFS='|' read -r name limit cmd <<< "$step"
  echo "$name (limit ${limit}s): $cmd" >> "$OUT/plan.txt"
  script=$(echo "$cmd" | awk '{print $2}')
  if [ "$DRY" = 1 ]; then
    if [ "$script" = "-m" ]; then "$PY" -m compare.cli bench --help > /dev/null; else "$PY" "$script" --help > /dev/null; fi
    rc=$?
  else
    start=$(date +%s)
    timeout "$limit" $cmd > "$OUT/$name.log" 2>&1
    rc=$?
    echo "$name: rc=$rc in $(( $(date +%s) - start )) s"
  fi
  [ $first = 1 ] || echo "," >> "$OUT/status.json"
  first=0
  printf '  "%s": {"rc": %d, "dry_run": %s}' "$name" "$rc" "$([ $DRY = 1 ] && echo true || echo false)" >> "$OUT/status.json"
done
echo "" >> "$OUT/status.json"
echo "}" >> "$OUT/status.json"
if [ "$DRY" = 0 ]; then
  summary=$(ls -t "$OUT"/runs/*-gpu/summary.json 2>/dev/null | head -1)
  [ -n "$summary" ] && cp "$summary" "$OUT/bench_summary.json"
fi
cat "$OUT/status.json"
