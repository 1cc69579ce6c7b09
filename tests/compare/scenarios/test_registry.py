"""The scenario registry: every scenario resolves, a new one is one registration (the config takes
its name, the report writes its section), a bad entry names itself."""

from __future__ import annotations

import pytest

from compare.config import BenchConfig
from compare.scenarios.registry import SCENARIOS, Scenario, register_scenario, scenarios
from compare.scenarios.report import scenario_lines
from corpus.errors import UserError


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_registered_scenario_resolves_its_functions(name: str) -> None:
    s = SCENARIOS[name]
    assert callable(s.runner()) and s.section({"skipped": "no reason"})[0].startswith("## ")


def test_the_built_in_scenarios_and_their_phases() -> None:
    assert list(SCENARIOS) == ["freshness", "forgetting", "style", "serving"]
    names = ["serving", "style", "freshness"]
    assert [s.name for s in scenarios("after", names)] == ["freshness", "serving"]  # registration order
    assert [s.name for s in scenarios("scored", names)] == ["style"]


def _lines(entry: dict) -> list[str]:
    return ["## Echo", "", f"value {entry['value']}", ""]


def test_a_new_scenario_is_one_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError, match="`scenarios` has unknown \\['echo'\\]"):
        BenchConfig(scenarios="echo")
    monkeypatch.setitem(SCENARIOS, "echo", Scenario("echo", "an example", "after", f"{__name__}:_lines",
                                                   f"{__name__}:_lines"))  # fmt: skip
    assert BenchConfig(scenarios="freshness,echo").scenario_names == ["freshness", "echo"]
    lines = scenario_lines({"echo": {"value": 3}, "unknown": {}})
    assert lines == ["## Echo", "", "value 3", ""]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"phase": "before"}, "`phase` must be one of after, scored"),
        ({"run": "compare.scenarios.core.freshness"}, "`run` must look like module:function"),
        ({"lines": "lines"}, "`lines` must look like module:function"),
    ],
)
def test_a_bad_scenario_names_its_field(kwargs: dict, message: str) -> None:
    fields = {"name": "x", "about": "", "phase": "after", "run": "m:f", "lines": "m:g"} | kwargs
    with pytest.raises(ValueError, match=message):
        register_scenario(Scenario(**fields))
