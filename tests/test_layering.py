"""The architecture as a test: ``corpus`` <- ``retrieval``, ``finetune`` <- ``compare`` <- ``dashboards``,
retrieval and finetune never import each other, no import cycle inside any package (function-local
imports included), and the commands that only read results start without torch, transformers or
FAISS."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("corpus", "retrieval", "finetune", "compare", "dashboards")
# What each package may import besides itself.
ALLOWED = {
    "corpus": set(),
    "retrieval": {"corpus"},
    "finetune": {"corpus"},
    "compare": {"corpus", "retrieval", "finetune"},
    # the dashboard reaches training's estimator through compare.decide, like the recommender
    "dashboards": {"corpus", "retrieval", "compare"},
}
HEAVY = ("torch", "transformers", "faiss", "peft", "sentence_transformers")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imported(tree: ast.AST) -> set[str]:
    """Every project module a file imports, at the top or inside a function."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in out if n.split(".")[0] in PACKAGES}


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (a name imported from a module counts as the module)."""
    files = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}

    def resolve(name: str) -> str:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for mod, path in files.items():
        targets = {resolve(n) for n in imported(ast.parse(path.read_text()))}
        graph[mod] = {t for t in targets if t and t != mod and not mod.startswith(f"{t}.")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while (w := stack.pop()) != v:
                comp.append(w)
            if comp:
                found.append(sorted([*comp, v]))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_packages_import_only_the_layers_below() -> None:
    graph = import_graph()
    assert len(graph) > 100  # the walk found the project
    wrong = sorted(
        f"{m} imports {t}" for m, ts in graph.items() for t in ts
        if t.split(".")[0] != m.split(".")[0] and t.split(".")[0] not in ALLOWED[m.split(".")[0]]
    )  # fmt: skip
    assert wrong == []


def test_the_dashboard_imports_no_command_module() -> None:
    """It reads runs through the library (compare.harness.run_record, compare.decide), not through a
    command's module, whose job is arguments and printing."""
    graph = import_graph()
    commands = sorted(
        f"{m} imports {t}" for m, ts in graph.items() if m.startswith("dashboards") for t in ts
        if t.startswith("compare") and (t.endswith(".cli") or t.endswith("_cli"))
    )  # fmt: skip
    assert commands == []


def test_no_import_cycle_inside_any_package() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    "code",
    [
        "from compare.cli import build_parser; build_parser()",  # ftrag --help, every command's arguments
        "import compare.decide.cli, compare.decide.recommend",
        "import compare.content.cli, compare.content.pages, compare.content.render",
        "import compare.pipeline.report, compare.scenarios.report, compare.scoring.evaluate",
        "import dashboards.data, dashboards.tables, dashboards.charts, dashboards.views.overview, "
        "dashboards.views.decide, dashboards.views.content, dashboards.views.scenarios",
    ],
)
def test_reading_commands_start_without_the_model_libraries(code: str) -> None:
    probe = f"import sys; {code}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def loop_only_tests(tree: ast.AST) -> list[str]:
    """Test functions whose every assert sits inside a ``for`` loop: they pass on an empty loop."""
    out = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef) or not fn.name.startswith("test"):
            continue
        looped = {id(n) for loop in ast.walk(fn) if isinstance(loop, ast.For) for n in ast.walk(loop)}
        asserts = [n for n in ast.walk(fn) if isinstance(n, ast.Assert)]
        if asserts and all(id(a) in looped for a in asserts):
            out.append(fn.name)
    return out


def test_no_test_can_pass_on_an_empty_loop() -> None:
    found = [f"{p.relative_to(ROOT)}::{name}" for p in sorted((ROOT / "tests").rglob("test_*.py"))
             for name in loop_only_tests(ast.parse(p.read_text()))]  # fmt: skip
    assert found == []
    assert loop_only_tests(ast.parse("def test_x(xs):\n    for x in xs:\n        assert x\n")) == ["test_x"]


def test_no_cycle_between_the_sub_packages_of_compare() -> None:
    """compare's sub-packages stack: harness <- engines, scoring <- answering <- trainset, scenarios
    <- pipeline <- decide, sweep, lmeval, content (the config and the command line beside them)."""
    graph: dict[str, set[str]] = {}
    for mod, targets in import_graph().items():
        if mod.startswith("compare."):
            pkg = ".".join(mod.split(".")[:2])
            graph.setdefault(pkg, set()).update(
                ".".join(t.split(".")[:2]) for t in targets if t.startswith("compare.")
            )
    graph = {p: ts - {p} for p, ts in graph.items()}
    assert {"compare.harness", "compare.pipeline", "compare.scoring"} <= set(graph)
    assert cycles(graph) == []
