"""Problems found in user data, reported as one line that names the file and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One problem in the input: where it is and what to do about it."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


class DataError(ValueError):
    """Bad input. ``str(err)`` is a single line fit for a terminal; the CLI exits with code 2."""

    def __init__(self, problems: list[Problem] | Problem | str, path: str | Path | None = None):
        if isinstance(problems, str):
            problems = Problem(str(path) if path is not None else "input", problems)
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        first = str(self.problems[0]) if self.problems else "invalid input"
        more = len(self.problems) - 1
        if more:
            first += f" (and {more} more problem{'s' if more > 1 else ''}; `ftrag data validate` lists all)"
        super().__init__(first)
