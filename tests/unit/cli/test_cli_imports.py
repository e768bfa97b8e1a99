"""The CLI modules import each other one way only, and the use cases not at all.

Every `import` is counted, at module level or inside a function (a lazy import is
still a dependency): a cycle among `modelseal.cli.*` would let one command's module
reach into another's privates, as `cli.registry` once did through `cli.signing`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import modelseal

SOURCE = Path(modelseal.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The modelseal modules ``path`` imports (``from a import b`` counts a.b if a
    module of that name exists, else a)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if _exists(candidate) else node.module)
    return {name for name in found if name.split(".")[0] == "modelseal"}


def _exists(module: str) -> bool:
    relative = Path(*module.split(".")[1:])
    return (SOURCE / relative).with_suffix(".py").is_file() or \
        (SOURCE / relative / "__init__.py").is_file()


def _graph(package: str) -> dict[str, set[str]]:
    folder = SOURCE / package
    return {_module_name(path): _imports(path) for path in sorted(folder.glob("*.py"))}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among the graph's own modules, if there is any."""
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(graph[node] & graph.keys()):
            if state.get(target) == "open":  # on the current path: a cycle
                return [*trail[trail.index(target):], target]
            if target not in state and (found := visit(target, [*trail, target])):
                return found
        state[node] = "done"
        return None

    for start in graph:
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_import_cycle_among_cli_modules() -> None:
    assert _cycle(_graph("cli")) is None


def test_store_and_registry_commands_do_not_import_sign_and_verify() -> None:
    graph = _graph("cli")
    for module in ("modelseal.cli.stores", "modelseal.cli.registry"):
        assert "modelseal.cli.signing" not in graph[module], module


def test_use_cases_do_not_import_the_cli() -> None:
    for module, imported in _graph("app").items():
        assert not {name for name in imported if name.startswith("modelseal.cli")}, module
