"""Where bundled data lives."""

from __future__ import annotations

import re
from pathlib import Path

from corpus.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = "tessaline"


def datasets_dir() -> Path:
    """The repo's ``datasets/`` folder (a data folder, deliberately not a Python package)."""
    return REPO_ROOT / "datasets"


def resolve_dataset(name_or_path: str | Path | None) -> Path:
    """A dataset given by path, or by the name of a bundled one."""
    if name_or_path is None:
        return datasets_dir() / DEFAULT_DATASET
    path = Path(name_or_path)
    if path.exists() or path.is_absolute() or len(path.parts) > 1:
        return path
    return datasets_dir() / path


def check_run_name(name: str) -> str:
    """A run name becomes part of a folder name: letters, digits, ``.``, ``_`` and ``-`` only."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name) or set(name) == {"."}:
        raise UserError(f"`--name` {name!r} must be 1-64 letters, digits, '.', '_' or '-' (no '/')")
    return name
