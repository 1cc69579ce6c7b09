"""Nothing loads pickles or remote code from user files: a scan of the package sources.

- no ``pickle.load(s)`` / ``torch.load(`` without ``weights_only=True`` / ``np.load`` with
  ``allow_pickle=True``;
- ``trust_remote_code`` is never defaulted or passed as ``True``.

The dashboard's side (binds to 127.0.0.1 by default, never reads outside the runs folder) is
tested in tests/dashboards/test_cli.py and tests/dashboards/test_data.py.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("corpus", "retrieval", "finetune", "compare", "dashboards")


def sources() -> list[tuple[Path, str]]:
    return [
        (p, p.read_text(encoding="utf-8")) for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))
    ]


def calls(text: str, name: str) -> list[str]:
    """Every call ``name(...)`` with its arguments (balanced parentheses, across lines)."""
    out = []
    for m in re.finditer(re.escape(name) + r"\(", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        out.append(text[m.start() : i])
    return out


def test_the_scan_sees_the_packages() -> None:
    files = sources()
    assert len(files) > 50 and any(p.name == "train.py" for p, _ in files)
    assert calls("x = torch.load(p, weights_only=True) + f(1)", "torch.load") == [
        "torch.load(p, weights_only=True)"
    ]


def test_no_pickle_loads() -> None:
    found = [f"{p}: {c}" for p, t in sources() for n in ("pickle.load", "pickle.loads") for c in calls(t, n)]
    found += [f"{p}: {c}" for p, t in sources() for c in calls(t, "np.load") if "allow_pickle=True" in c]
    assert not found, found


def test_torch_load_only_with_weights_only() -> None:
    found = [
        f"{p}: {c}" for p, t in sources() for c in calls(t, "torch.load") if "weights_only=True" not in c
    ]
    assert not found, found


def test_trust_remote_code_is_never_on_by_default() -> None:
    pattern = re.compile(r"trust_remote_code\s*(?::\s*bool\s*)?=\s*True|default\s*=\s*True[^\n]*trust.remote")
    found = [f"{p}:{t[: m.start()].count(chr(10)) + 1}" for p, t in sources() for m in pattern.finditer(t)]
    assert not found, found
    from finetune.config import TrainConfig

    assert TrainConfig().trust_remote_code is False
