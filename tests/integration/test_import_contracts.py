"""The import contracts in pyproject.toml catch what they promise to catch.

`.ci/run` runs `lint-imports` on the repository. These tests run it on a copy of the
source with one import planted, to show that a module importing upward, verification
loading signing code, or a cycle inside a package is each reported as broken.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(REPO_ROOT / "src", tmp_path / "src",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def _plant(root: Path, module: str, line: str) -> None:
    path = root / "src" / "modelseal" / module
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_source_as_it_is_keeps_every_contract(tmp_path: Path) -> None:
    done = _lint(_copy(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:]
    assert "BROKEN" not in done.stdout and "0 broken" in done.stdout


@pytest.mark.parametrize(("module", "line", "contract", "named"), [
    ("walk.py", "import modelseal.cli", "Layers",
     "modelseal.walk is not allowed to import modelseal.cli"),
    ("verifying/key.py", "import modelseal.signing_methods",
     "Verification never loads signing code",
     "modelseal.verifying.key -> modelseal.signing_methods"),
    ("report/model.py", "import modelseal.stores", "Layers",
     "modelseal.report is not allowed to import modelseal.stores"),
    ("app/policies.py", "import modelseal.app.selection", "No import cycle",
     "No cycles are allowed in modelseal.app."),
])
def test_a_planted_import_breaks_its_contract(tmp_path: Path, module: str, line: str,
                                              contract: str, named: str) -> None:
    root = _copy(tmp_path)
    if contract == "No import cycle":  # the other half of the cycle
        _plant(root, "app/selection.py", "import modelseal.app.policies")
    _plant(root, module, line)
    done = _lint(root)
    assert done.returncode != 0
    broken = [row for row in done.stdout.splitlines() if row.endswith(" BROKEN")]
    assert any(row.startswith(contract) for row in broken), done.stdout[-3000:]
    assert named in done.stdout, done.stdout[-3000:]
