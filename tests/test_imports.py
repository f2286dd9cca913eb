"""The library's import graph: no module of localnet/ imports runners/ (imports only go
downward; the CLI finds runner commands through entry points), and no import cycle among
localnet's modules, counting imports made inside functions."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import localnet

PACKAGE_DIR = Path(localnet.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> set[str]:
    """Every module `module` imports anywhere in its file (top level or inside a function),
    except under `if TYPE_CHECKING:`, which never runs (annotations are strings here)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from . import x` and `from .pkg import sub` may name submodules
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


@functools.cache
def import_graph() -> dict[str, set[str]]:
    """localnet module -> the localnet modules it imports (names that are not modules dropped)."""
    files = {_module_name(p): p for p in PACKAGE_DIR.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        graph[module] = {name for name in _imports(path, module) if name in files and name != module}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it, or None. A package's `__init__` importing its
    own submodules is not a cycle by itself; a submodule importing its package's __init__ is an edge."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def _without_package_inits(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drop the edge from a submodule to its own package (`from . import x` inside localnet/data/
    names localnet.data); Python has the package initialised before any of its submodules runs."""
    return {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}


def test_the_graph_sees_lazy_imports():
    graph = import_graph()
    assert "localnet.errors" in graph["localnet.cli"]
    assert len(graph) > 50


def test_no_library_module_imports_runners():
    offenders = sorted(
        f"{_module_name(p)} imports {name}"
        for p in PACKAGE_DIR.rglob("*.py")
        for name in _imports(p, _module_name(p))
        if name == "runners" or name.startswith("runners.")
    )
    assert offenders == []


def test_no_import_cycle_among_localnet_modules():
    assert _cycle(_without_package_inits(import_graph())) is None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
