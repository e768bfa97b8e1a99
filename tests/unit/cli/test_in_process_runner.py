"""The in-process CLI runner most tests use (tests/conftest.py): it behaves like the
process it stands in for, and a run leaves nothing behind for the next one."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.conftest import run_modelseal, run_modelseal_process


@pytest.mark.parametrize("args", [
    ["--version"],
    [],
    ["check", "--format", "yaml"],
    ["check", "does-not-exist"],
    ["manifest", "--debug", "does-not-exist"],
], ids=["version", "no-command", "usage-error", "one-line-error", "traceback"])
def test_in_process_runs_answer_as_the_process_does(tmp_path: Path, args: list[str]) -> None:
    here = run_modelseal(args, cwd=tmp_path)
    there = run_modelseal_process(args, cwd=tmp_path)
    assert here.returncode == there.returncode
    assert here.stdout == there.stdout
    if "--debug" in args:  # the frames differ; the last line (the error) does not
        assert "Traceback" in here.stderr and "Traceback" in there.stderr
        assert here.stderr.splitlines()[-1] == there.stderr.splitlines()[-1]
    else:
        assert here.stderr == there.stderr


def test_a_run_restores_cwd_environment_and_streams(tiny_model: Path, tmp_path: Path) -> None:
    before = os.getcwd(), dict(os.environ), (sys.stdin, sys.stdout, sys.stderr)
    result = run_modelseal(["check", str(tiny_model)], cwd=tmp_path,
                           env={"MODELSEAL_RUNNER_PROBE": "1"})
    assert result.returncode == 1 and "no manifest" in result.stdout
    assert (os.getcwd(), dict(os.environ), (sys.stdin, sys.stdout, sys.stderr)) == before


def test_whole_env_replaces_the_environment_for_that_run_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSEAL_RUNNER_PROBE", "1")
    before = dict(os.environ)
    result = run_modelseal(["--version"], env={"PATH": os.environ["PATH"]}, whole_env=True)
    assert result.returncode == 0 and result.stdout.startswith("modelseal ")
    assert dict(os.environ) == before


def test_memoized_lookups_are_forgotten_after_a_run(tiny_model: Path) -> None:
    run_modelseal(["manifest", str(tiny_model)])
    caches = [value for name, module in list(sys.modules.items())
              if name.split(".")[0] == "modelseal"
              for value in vars(module).values()
              if getattr(value, "__module__", None) == name and hasattr(value, "cache_info")]
    assert caches, "no functools cache found in modelseal: drop this test and the clearing"
    assert all(cache.cache_info().currsize == 0 for cache in caches)
