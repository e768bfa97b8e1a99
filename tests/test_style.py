"""The code base stays ruff- and mypy --strict-clean (the project's style rules)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600)


def test_ruff_is_clean() -> None:
    result = run_tool("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = run_tool("mypy", "--strict", "src/modelseal")
    assert result.returncode == 0, result.stdout + result.stderr
