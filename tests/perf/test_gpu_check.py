"""bench/gpu_check.sh without a GPU: the dry run records the device and checks each step's script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_gpu_check_dry_run_records_the_device_and_a_runnable_plan(tmp_path: Path) -> None:
    out = tmp_path / "gpu"
    env = {"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"}
    cmd = ["bash", str(ROOT / "bench" / "gpu_check.sh"), "--dry-run", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    device = json.loads((out / "device.json").read_text())
    assert device["torch"] and device["cuda"] is False  # this suite runs on CPU machines
    status = json.loads((out / "status.json").read_text())
    assert set(status) == {"train", "bench"} and all(s["rc"] == 0 and s["dry_run"] for s in status.values())
    plan = (out / "plan.txt").read_text()
    assert "--qlora-steps 30" in plan and "--device cuda" in plan
