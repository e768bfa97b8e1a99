"""The progress bar: only on a terminal for large work, never in CI unless asked."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from modelseal.progress import Progress, human_size, progress_wanted
from tests.conftest import run_modelseal


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_only_for_large_work_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    big = 1 << 30
    assert progress_wanted(big, stream=FakeTerminal())
    assert not progress_wanted(1024, stream=FakeTerminal())
    assert not progress_wanted(big, stream=io.StringIO())
    monkeypatch.setenv("CI", "true")
    assert not progress_wanted(big, stream=FakeTerminal())
    assert progress_wanted(10, forced=True, stream=io.StringIO())


def test_bar_draws_and_finishes() -> None:
    out = FakeTerminal()
    bar = Progress("hashing m", 2048, stream=out)
    bar.advance(1024)
    bar.advance(1024)
    bar.finish()
    text = out.getvalue()
    assert "hashing m" in text and "100%" in text and text.endswith("\n")


def test_forced_progress_goes_to_stderr_only(tiny_model: Path) -> None:
    result = run_modelseal(["manifest", "--progress", "--no-cache", str(tiny_model)])
    assert result.returncode == 0
    assert "hashing" in result.stderr and "100%" in result.stderr
    assert "hashing" not in result.stdout
    quiet = run_modelseal(["check", "--no-cache", str(tiny_model)])
    assert quiet.stderr == ""


def test_human_sizes() -> None:
    assert human_size(512) == "512 B"
    assert human_size(3 * 1024) == "3.0 KiB"
    assert human_size(-3 * 1024 * 1024) == "-3.0 MiB"
