"""Shared pytest fixtures: a CLI runner, the shared OMS fixtures, example models; and the
`unit`/`integration`/`e2e` markers, given to each test by the folder it lives in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_MODEL = REPO_ROOT / "examples" / "tiny-model"
TESTS = Path(__file__).resolve().parent
KINDS = ("unit", "integration", "e2e")  # tests/<kind>/..., declared in pyproject.toml


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its folder's kind, so `pytest -m unit` runs the fast set alone."""
    for item in items:
        kind = _kind_of(item.path)
        if kind is not None:
            item.add_marker(getattr(pytest.mark, kind))


def _kind_of(path: Path) -> str | None:
    try:
        top = path.resolve().relative_to(TESTS).parts[0]
    except ValueError:
        return None  # collected from outside tests/ (a doctest, say)
    return top if top in KINDS else None


def shared_dir() -> Path | None:
    """`../shared` beside the checkout (or $MODELSEAL_SHARED), when present."""
    candidate = Path(os.environ.get("MODELSEAL_SHARED", REPO_ROOT.parent / "shared"))
    return candidate if (candidate / "fixtures").is_dir() else None


@pytest.fixture
def oms_fixtures() -> Path:
    """`../shared/fixtures/oms`, used in place; tests skip only where it is absent."""
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared/fixtures is not beside this checkout")
    return shared / "fixtures" / "oms"


@pytest.fixture
def oms_spec() -> Path:
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared/fixtures is not beside this checkout")
    return shared / "fixtures" / "oms-spec"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_modelseal(args: Sequence[str], *, cwd: Path | None = None,
                  env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """Run the real CLI in a subprocess, as a user or a CI job would."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "modelseal", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, input=input, timeout=600)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli() -> type[object]:
    return run_modelseal  # type: ignore[return-value]


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    """A fresh copy of examples/tiny-model."""
    target = tmp_path / "tiny-model"
    shutil.copytree(EXAMPLE_MODEL, target)
    return target


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the stat cache of models outside git repos out of the real home."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """In CI a skip means a tool .ci/run should have installed: fail instead.

    The one allowed skip is the shared OMS fixtures being absent from a bare clone.
    """
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and "../shared" not in str(report.longrepr):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (install it in .ci/run): {report.longrepr}"


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real `docker-registry` on 127.0.0.1 (plain HTTP), one per test process."""
    from tests.registry_server import start_registry

    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    server = start_registry(tmp_path_factory.mktemp("registry"))
    yield server
    server.stop()
