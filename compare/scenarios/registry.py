"""The scenarios a bench runs, registered by name: what each measures, when it runs, and the
report section it writes. A new scenario is one :func:`register_scenario` call and one function
that turns its summary entry into report.md lines.

Two phases: ``after`` scenarios run once the main answers are in (``run(ctx)`` with the run's
:class:`~compare.scenarios.core.ScenarioContext`: its dataset, resources, adapters and answers);
``scored`` ones are computed from the scored answers (``run(systems, rows_by, ds)``: the per-system
summaries and per-question rows). Each returns the dict stored under ``summary["scenarios"][name]``
(``{"skipped": reason}`` when it cannot run). The functions are named ``module:function`` and
imported when used, so the registry (and the config that validates names against it) loads no
model library.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PHASES = ("after", "scored")


@dataclass(frozen=True)
class Scenario:
    """One scenario: its name, what it answers, its phase, and its run and report functions."""

    name: str
    about: str
    phase: str
    run: str  # "module:function"
    lines: str  # "module:function": the summary entry -> report.md lines

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise ValueError(f"scenario {self.name!r}: `phase` must be one of {', '.join(PHASES)}")
        for field in ("run", "lines"):
            if ":" not in getattr(self, field):
                raise ValueError(f"scenario {self.name!r}: `{field}` must look like module:function")

    def runner(self) -> Callable[..., dict[str, Any]]:
        return resolve(self.run)

    def section(self, entry: dict[str, Any]) -> list[str]:
        return resolve(self.lines)(entry)


def resolve(ref: str) -> Callable[..., Any]:
    """The function ``module:function`` names."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


SCENARIOS: dict[str, Scenario] = {}


def register_scenario(scenario: Scenario) -> None:
    SCENARIOS[scenario.name] = scenario


def scenarios(phase: str, names: list[str]) -> list[Scenario]:
    """The registered scenarios of ``phase`` among ``names``, in registration order."""
    return [s for s in SCENARIOS.values() if s.phase == phase and s.name in names]


for _s in (
    Scenario("freshness", "what a knowledge change costs each architecture", "after",
             "compare.scenarios.core:freshness", "compare.scenarios.report:freshness_lines"),
    Scenario("forgetting", "what fine-tuning breaks of the model's general ability", "after",
             "compare.scenarios.core:forgetting", "compare.scenarios.report:forgetting_lines"),
    Scenario("style", "who keeps the house style", "scored",
             "compare.scenarios.core:style_scenario", "compare.scenarios.report:style_lines"),
    Scenario("serving", "does the fine-tuned knowledge survive quantised serving", "after",
             "compare.scenarios.serving:serving", "compare.scenarios.report:serving_lines"),
):  # fmt: skip
    register_scenario(_s)
