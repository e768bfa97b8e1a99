"""Shared pytest fixtures: a CLI runner, the shared OMS fixtures, example models; and the
`unit`/`integration`/`e2e` markers, given to each test by the folder it lives in."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Iterator, Sequence
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
                  env: dict[str, str] | None = None, input: str | None = None,
                  whole_env: bool = False) -> Result:
    """Run the CLI in this process (`cli.main`), as `run_modelseal_process` would run it.

    ``env`` is added to this process's environment, or is all of it with ``whole_env``.

    The working directory, environment, standard streams and root log handlers are
    swapped in for the run and restored after it, and modelseal's memoized lookups are
    forgotten, so nothing leaks from one run into the next. stdout and stderr encode
    like a child's (UTF-8; strict on stdout), so output that would crash a real process
    fails here too. For tests about the process itself (start-up imports, hooks and
    launchers, signals, output that passes through git), use `run_modelseal_process`.
    """
    from modelseal import cli

    streams = _Streams(input)
    with _swapped_process_state(cwd, env, whole_env, streams):
        try:
            code = cli.main(list(args))
        except SystemExit as exc:  # argparse: usage errors, --help, --version
            code = _exit_status(exc, streams)
        except Exception:  # what an uncaught exception does to a process
            traceback.print_exc()
            code = 1
    _forget_memoized_lookups()
    return Result(code, *streams.text())


def run_modelseal_process(args: Sequence[str], *, cwd: Path | None = None,
                          env: dict[str, str] | None = None,
                          input: str | None = None) -> Result:
    """Run the real CLI in a subprocess, as a user or a CI job would."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "modelseal", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, input=input, timeout=600)
    return Result(proc.returncode, proc.stdout, proc.stderr)


class _Streams:
    """stdin/stdout/stderr as a child process gets them: UTF-8, not a terminal."""

    def __init__(self, input: str | None) -> None:
        self.stdin = io.TextIOWrapper(io.BytesIO((input or "").encode()), encoding="utf-8")
        self.stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict",
                                       write_through=True)
        self.stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8",
                                       errors="backslashreplace", write_through=True)

    def text(self) -> tuple[str, str]:
        return self._decoded(self.stdout), self._decoded(self.stderr)

    @staticmethod
    def _decoded(stream: io.TextIOWrapper) -> str:
        stream.flush()
        raw = stream.buffer
        assert isinstance(raw, io.BytesIO)
        return raw.getvalue().decode()


@contextlib.contextmanager
def _swapped_process_state(cwd: Path | None, env: dict[str, str] | None, whole_env: bool,
                           streams: _Streams) -> Iterator[None]:
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    # a process without log handlers prints warnings to stderr (logging.lastResort)
    handler = logging.StreamHandler(streams.stderr)
    handler.setLevel(logging.WARNING)
    logging.getLogger().addHandler(handler)
    try:
        if whole_env:
            os.environ.clear()
        os.environ.update(env or {})
        if cwd is not None:
            os.chdir(cwd)
        sys.stdin, sys.stdout, sys.stderr = streams.stdin, streams.stdout, streams.stderr
        yield
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        logging.getLogger().removeHandler(handler)
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def _exit_status(exc: SystemExit, streams: _Streams) -> int:
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    print(exc.code, file=streams.stderr)  # sys.exit("message"), as Python reports it
    return 1


def _forget_memoized_lookups() -> None:
    """Clear every functools cache in modelseal: a later run must look again, as a fresh
    process would (git directories, for one, come and go between runs)."""
    for name, module in list(sys.modules.items()):
        if name != "modelseal" and not name.startswith("modelseal."):
            continue
        for value in list(vars(module).values()):
            if getattr(value, "__module__", None) == name and hasattr(value, "cache_clear"):
                value.cache_clear()


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
