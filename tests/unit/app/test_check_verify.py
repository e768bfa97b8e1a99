"""`app.check` and `app.verify`: typed requests in, plain results out, nothing printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelseal.app import check, verify
from modelseal.app.policies import PolicyRequest
from modelseal.app.selection import ModelRequest
from modelseal.errors import UsageError
from modelseal.policy import PolicyFlags


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "weights.bin").write_bytes(b"\x01" * 100)
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "stray.safetensors").write_bytes(b"\x02" * 10)
    (tmp_path / ".modelseal.yaml").write_text("models:\n  - path: bert\npolicy:\n"
                                              "  strict: true\n", encoding="utf-8")
    return tmp_path


def test_refresh_then_check(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    written = check.refresh()
    assert [s.written for s in written.statuses] == [True] and written.ok
    result = check.check()
    assert not result.stale and result.strict
    # the whole repository was checked: a weight file in no model fails under strict
    assert result.untracked == {"loose": ["stray.safetensors"]}
    assert result.failed and not result.ok
    named = check.check(ModelRequest(paths=("bert",)))
    assert named.untracked == {} and named.ok  # a named model: only it is checked
    assert capsys.readouterr() == ("", "")  # use cases print nothing


def test_check_reports_a_stale_manifest(repo: Path) -> None:
    check.refresh()
    (repo / "bert" / "weights.bin").write_bytes(b"\x03" * 100)
    result = check.check(ModelRequest(paths=("bert",)))
    assert [s.diff.modified for s in result.stale] == [("weights.bin",)]
    assert result.failed


def test_digest(repo: Path) -> None:
    digest = check.digest(ModelRequest(paths=("bert",)))
    assert digest.digest.startswith("sha256:") and digest.files == 1


def test_base_config_needs_base(repo: Path) -> None:
    with pytest.raises(UsageError, match="--base-config"):
        check.check(base_config=".modelseal.yaml")


def test_verify_directories(repo: Path) -> None:
    request = verify.VerifyRequest(policy=PolicyRequest(PolicyFlags(strict=True)),
                                   allow_unsigned=True)
    with pytest.raises(UsageError, match="contradict"):
        verify.verify_directories(ModelRequest(paths=("bert",)), request)
    outcome = verify.verify_directories(ModelRequest(paths=("bert",)), verify.VerifyRequest())
    assert [r.status for r in outcome.results] == ["unsigned"] and not outcome.ok
