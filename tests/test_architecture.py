"""The package's shape: imports flow one way, and ARCHITECTURE.md names every module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "reporter"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every reporter module this file imports, at module level or inside a function."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("reporter")}
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = f"{base}.{node.module}" if node.level and node.module else (node.module if not node.level else base)
            if target is None or not target.startswith("reporter"):
                continue
            # `from . import schema` names a module; `from .x import name` names the module x.
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if _exists(candidate) else target)
    return {m for m in found if m != name and _exists(m)}


def _exists(module: str) -> bool:
    relative = Path(*module.split("."))
    return (ROOT / relative.with_suffix(".py")).is_file() or (ROOT / relative / "__init__.py").is_file()


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules it imports, for every module of the package."""
    graph = {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}
    # Importing a subpackage's module runs the subpackage's __init__ first: not an edge of its own.
    return {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of two or more modules that import each other, directly or not, as sorted lists."""
    reach = {node: _reachable(graph, node) for node in graph}
    groups = {tuple(sorted({node} | {other for other in reach[node] if node in reach.get(other, set())}))
              for node in graph if node in reach[node]}
    return sorted(list(g) for g in groups if len(g) > 1)


def test_the_cycle_finder_sees_a_function_level_circle() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_the_package_imports_have_no_circle() -> None:
    graph = import_graph()
    assert "reporter.rendering" in graph and graph["reporter.cli"], "the import walk found nothing"
    assert find_cycles(graph) == []


def test_architecture_lists_every_module() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^- `([a-z_/]+\.py)`", text, flags=re.MULTILINE))
    present = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")}
    assert listed == present, {"not listed": sorted(present - listed), "gone": sorted(listed - present)}
