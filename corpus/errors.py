"""Problems found in user data, reported as one line that names the file and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_MAX_RANGES = 6  # "lines 1, 4, 9-12, ..." stays one readable line


@dataclass(frozen=True)
class Problem:
    """One problem in the input: where it is and what to do about it.

    ``lines`` is set by :func:`group_problems` when the same message occurs on several lines;
    ``line`` is then the first of them.
    """

    path: str
    message: str
    line: int | None = None
    lines: tuple[int, ...] = ()

    def __str__(self) -> str:
        if len(self.lines) > 1:
            ranges = line_ranges(self.lines)
            where = f"{self.path}:{ranges}" if "," not in ranges else f"{self.path}, lines {ranges}"
            return f"{where}: {self.message} ({len(self.lines)} lines)"
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


def line_ranges(lines: tuple[int, ...] | list[int]) -> str:
    """``[1, 4, 9, 10, 11, 12]`` -> ``"1, 4, 9-12"`` (at most a few ranges, then ``...``)."""
    ranges: list[list[int]] = []
    for n in sorted(set(lines)):
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1][1] = n
        else:
            ranges.append([n, n])
    parts = [f"{a}-{b}" if b > a else str(a) for a, b in ranges]
    return ", ".join(parts[:_MAX_RANGES] + (["..."] if len(parts) > _MAX_RANGES else []))


def group_problems(problems: list[Problem]) -> list[Problem]:
    """One problem per (file, message), listing every line it occurs on, in first-seen order.

    Fifty lines with the same mistake read as one line saying where, not fifty lines.
    Idempotent: already grouped problems merge with the rest.
    """
    lines: dict[tuple[str, str], list[int]] = {}
    for p in problems:
        found = lines.setdefault((p.path, p.message), [])
        found.extend(p.lines or ([] if p.line is None else [p.line]))
    out = []
    for (path, message), where in lines.items():
        uniq = tuple(sorted(set(where)))
        out.append(Problem(path, message, uniq[0] if uniq else None, uniq if len(uniq) > 1 else ()))
    return out


class UserError(ValueError):
    """Something the user must fix (a bad option, config field, file or name), said in one line
    that names it and what to do. The CLI prints the line and exits 2; any other exception is a
    bug and keeps its traceback. A ValueError, so code that validates and catches ValueError keeps
    working."""


class DataError(UserError):
    """Bad input in a data file. ``str(err)`` is a single line fit for a terminal (the CLI exits
    with code 2)."""

    def __init__(self, problems: list[Problem] | Problem | str, path: str | Path | None = None):
        if isinstance(problems, str):
            problems = Problem(str(path) if path is not None else "input", problems)
        self.problems = group_problems([problems] if isinstance(problems, Problem) else list(problems))
        first = str(self.problems[0]) if self.problems else "invalid input"
        more = len(self.problems) - 1
        if more:
            first += f" (and {more} more problem{'s' if more > 1 else ''}; `ftrag data validate` lists all)"
        super().__init__(first)
