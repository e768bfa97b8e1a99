"""Every line a user sees goes through `modelseal.console` (escaped there): no other
module calls the `print` builtin."""

from __future__ import annotations

import ast
from pathlib import Path

import modelseal

SOURCE = Path(modelseal.__file__).resolve().parent

# Modules that print on purpose, and why.
ALLOWED = {
    "console.py": "the output module",
    "ci/runner.py": "writes the runner's workflow commands (::error, ::add-mask) verbatim",
    "errors.py": "warn() sits below console in the layer order (engine warnings)",
}

def modules_calling_print() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        lines = [node.lineno for node in ast.walk(tree)
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                 and node.func.id == "print"]
        if lines:
            found[path.relative_to(SOURCE).as_posix()] = sorted(lines)
    return found


def test_only_the_output_module_prints() -> None:
    offenders = {module: lines for module, lines in modules_calling_print().items()
                 if module not in ALLOWED}
    assert offenders == {}, "print through modelseal.console (say, notice, warning, error)"


def test_the_scan_finds_print_calls() -> None:
    assert "console.py" in modules_calling_print()
