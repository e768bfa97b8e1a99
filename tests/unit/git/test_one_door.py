"""All git goes through `modelseal.gitrepo`: no other module starts git itself."""

from __future__ import annotations

import ast
from pathlib import Path

import modelseal

SRC = Path(modelseal.__file__).parent


def _runs_git(tree: ast.AST) -> list[int]:
    """Lines where a call gets ``"git"`` as its program (``["git", ...]`` or ``"git"``),
    or where GitPython is imported."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            first = node.args[0]
            program = first.elts[0] if isinstance(first, ast.List) and first.elts else first
            if isinstance(program, ast.Constant) and program.value == "git":
                lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "git":
            lines.append(node.lineno)
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "git"
                                                for a in node.names):
            lines.append(node.lineno)
    return sorted(lines)


def test_only_gitrepo_runs_git() -> None:
    doors = {}
    for path in sorted(SRC.rglob("*.py")):
        found = _runs_git(ast.parse(path.read_text(encoding="utf-8")))
        if found and path.name != "gitrepo.py":
            doors[str(path.relative_to(SRC))] = found
    assert doors == {}


def test_the_check_finds_a_git_call() -> None:
    assert _runs_git(ast.parse('subprocess.run(["git", "status"])\nimport git.exc\n')) == [1, 2]
