"""The README's first two lines: one command to install and run the demo, one for the tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT


def _readme_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_exactly_the_two_commands() -> None:
    demo, tests = _readme_commands()
    assert demo.startswith("python3 -m venv .venv && ") and demo.endswith("modelseal demo")
    assert tests.startswith("python3 -m venv .venv && ")
    assert tests.endswith("python3 -m pytest -n auto")  # every core (pytest-xdist)


def _ci_lines() -> list[str]:
    text = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    return [line.split(" #")[0].strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_ci_runs_the_readme_test_command_verbatim_listing_the_slowest() -> None:
    _, tests = _readme_commands()
    assert f"{tests} --durations=25" in _ci_lines()


def test_ci_lints_before_it_runs_the_tests() -> None:
    lines = _ci_lines()
    tests = next(i for i, line in enumerate(lines) if "python3 -m pytest" in line)
    assert lines.index("ruff check .") < tests
    assert lines.index("mypy") < tests
    assert lines.index("lint-imports") < tests


def test_readme_first_command_installs_and_runs_the_demo_in_a_fresh_clone(
        tmp_path: Path) -> None:
    """As a newcomer would: a clean clone, a shell, the first line pasted."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True, timeout=120)
    # the working tree as it is now (the commit under test may not be committed yet)
    for name in ("README.md", "pyproject.toml"):
        (clone / name).write_bytes((REPO_ROOT / name).read_bytes())
    subprocess.run(["rsync", "-a", "--delete", "--exclude", "__pycache__",
                    f"{REPO_ROOT}/src/", f"{clone}/src/"], check=True, timeout=120)
    demo, _ = _readme_commands()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(os.environ.get("VIRTUAL_ENV", "\0")))
    proc = subprocess.run(["bash", "-c", demo], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "demo finished: every check behaved as expected" in proc.stdout
    status = subprocess.run(["git", "status", "--porcelain", "--", "examples"], cwd=clone,
                            capture_output=True, text=True, check=True).stdout
    assert status == ""  # the demo works on a temporary copy
