"""The structure the code keeps: no import cycles between modules (counting imports inside functions and
under TYPE_CHECKING), no module using another module's private names, and small modules. The layers
themselves are `lint-imports`'s contracts in pyproject.toml."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "handlers", "models")
MAX_MODULE_LINES = 300


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_no_import_cycle_between_modules() -> None:
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False, exclude_type_checking_imports=False)
    modules = sorted(graph.modules)
    edges = {m: graph.find_modules_directly_imported_by(m) for m in modules}
    cycles = [c for c in _strongly_connected(modules, edges) if len(c) > 1 or c[0] in edges[c[0]]]
    assert cycles == [], f"import cycles: {cycles}"


def _strongly_connected(nodes: list[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    components = _strongly_connected(sorted(edges), edges)
    assert ["a", "b", "c"] in components and ["d"] in components and ["e"] in components


def _private_uses(path: Path) -> list[str]:
    """`from x import _y` and `x._y` where x is one of our modules (not the module's own names)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    ours = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"from {node.module} import {alias.name}")
                ours.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    ours.add((alias.asname or alias.name).split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in ours
        ):
            found.append(f"{node.value.id}.{node.attr} (line {node.lineno})")
    return found


def test_no_module_uses_another_modules_private_names() -> None:
    offenders = {_name(p): uses for p in _modules() if (uses := _private_uses(p))}
    assert offenders == {}


def test_the_private_name_check_catches_both_forms(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from app.domain.lmsr import _x\nfrom app import domain\ndomain._hidden\n")
    assert _private_uses(sample) == ["from app.domain.lmsr import _x", "domain._hidden (line 3)"]


def test_every_module_is_under_300_lines() -> None:
    sizes = {_name(p): n for p in _modules() if (n := len(p.read_text().splitlines())) >= MAX_MODULE_LINES}
    assert sizes == {}
