"""Use-case profiles: what a team needs, as knobs the recommender weighs against a measured run.

Presets live in ``compare/decide/usecases/*.yaml``; a team's own profile is a YAML file with the same
fields (unknown fields are an error that names them, so a typo never silently drops a need).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from corpus.errors import UserError

PRESETS_DIR = Path(__file__).with_name("usecases")
# How many knowledge updates a month each change frequency means (weekly: 52 / 12).
UPDATES_PER_MONTH = {"never": 0.0, "yearly": 1 / 12, "monthly": 1.0, "weekly": 52 / 12, "daily": 30.0}
LEVELS = ("none", "nice", "must")


@dataclass(frozen=True)
class UseCase:
    """A use case's requirements. ``must`` needs are hard: a system that misses one is ranked
    after every system that meets them; ``nice`` ones add to the score."""

    name: str = "custom"
    description: str = ""
    changes: str = field(default="monthly", metadata={"help": "never | yearly | monthly | weekly | daily"})
    citations: str = field(default="nice", metadata={"help": "none | nice | must: answers cite sources"})
    style: str = field(default="none", metadata={"help": "none | nice | must: the house style is kept"})
    p95_ms: float = field(default=0.0, metadata={"help": "p95 latency budget in ms (0 = no budget)"})
    queries_per_month: int = field(default=10_000, metadata={"help": "expected query volume"})
    budget_usd_per_month: float = field(default=0.0, metadata={"help": "running budget (0 = none)"})
    local_only: bool = field(default=False, metadata={"help": "data may not leave the machine"})
    accuracy_floor: float = field(default=0.0, metadata={"help": "minimum accuracy, a must (0 = none)"})
    # Where a wrong answer does harm a missing one does not (a policy or a dose given wrongly), each
    # wrong answer costs this many points beyond the right answer it is not: "I don't know" is then
    # worth more than a guess, and a system that abstains where it cannot answer ranks higher.
    wrong_answer_cost: float = field(
        default=0.0,
        metadata={"help": "extra cost of a wrong answer against none, in accuracy points (0 = none)"},
    )

    def __post_init__(self) -> None:
        if self.changes not in UPDATES_PER_MONTH:
            raise UserError(f"`changes` must be one of {', '.join(UPDATES_PER_MONTH)}, got {self.changes!r}")
        for name in ("citations", "style"):
            if getattr(self, name) not in LEVELS:
                raise UserError(f"`{name}` must be one of {', '.join(LEVELS)}, got {getattr(self, name)!r}")
        for name in ("p95_ms", "queries_per_month", "budget_usd_per_month", "wrong_answer_cost"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise UserError(f"`{name}` must be a number >= 0, got {value!r}")
        if not 0 <= self.accuracy_floor <= 1:
            raise UserError(f"`accuracy_floor` must be in [0, 1], got {self.accuracy_floor!r}")
        if not isinstance(self.local_only, bool):
            raise UserError(f"`local_only` must be true or false, got {self.local_only!r}")

    @property
    def updates_per_month(self) -> float:
        return UPDATES_PER_MONTH[self.changes]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def presets() -> dict[str, Path]:
    """Preset name -> YAML file."""
    return {p.stem: p for p in sorted(PRESETS_DIR.glob("*.yaml"))}


def parse_usecase(data: Any, source: str) -> UseCase:
    """A :class:`UseCase` from parsed YAML; errors name the source and the field."""
    if not isinstance(data, dict):
        raise UserError(f"{source}: a use-case profile must be a mapping of fields")
    known = {f.name for f in fields(UseCase)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UserError(f"{source}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return UseCase(**data)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{source}: {exc}") from None


def load_usecase(name_or_file: str) -> UseCase:
    """A preset by name, or a YAML file."""
    found = presets()
    if name_or_file in found:
        path = found[name_or_file]
    else:
        path = Path(name_or_file)
        if not path.is_file():
            raise UserError(
                f"no preset or file named {name_or_file!r}; presets: {', '.join(found)} (or a YAML file)"
            )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise UserError(f"{path}{where}: not valid YAML ({problem})") from None
    if data is not None and not isinstance(data, dict):
        raise UserError(f"{path}: a use case is a YAML mapping of fields, got a {type(data).__name__}")
    data = {"name": path.stem, **(data or {})}
    return parse_usecase(data, str(path))
