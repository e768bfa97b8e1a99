"""A model someone else signed stays theirs: modelseal keeps its manifest beside a
directory whose `model.sig` (from `model_signing`) would count it as an extra file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.git_helpers import (
    Git,
    add_model,
    configure,
    git_home_fixture,  # noqa: F401 (fixture)
    repo_fixture,  # noqa: F401 (fixture)
)
from tests.signing_support import run_cli, write_private_key, write_public_key

REFERENCE_CLI = Path(sys.executable).with_name("model_signing")


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    return (write_private_key(tmp_path / "k.pem", key), write_public_key(tmp_path / "k.pub", key))


def _reference(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REFERENCE_CLI), *args], capture_output=True, text=True,
                          timeout=300)


def _reference_sign(model: Path, private: Path) -> None:
    signed = _reference("sign", "key", str(model), "--signature", str(model / "model.sig"),
                        "--private_key", str(private))
    assert signed.returncode == 0, signed.stdout + signed.stderr


def _reference_verifies(model: Path, public: Path) -> subprocess.CompletedProcess[str]:
    return _reference("verify", "key", str(model), "--signature", str(model / "model.sig"),
                      "--public_key", str(public))


def test_manifest_check_and_verify_leave_a_reference_signature_valid(
        tmp_path: Path, capsys: Any, keys: tuple[Path, Path]) -> None:
    model = tmp_path / "models" / "bert"
    add_model(Git(tmp_path, {}), "models/bert")
    _reference_sign(model, keys[0])
    code, out, err = run_cli(["manifest", str(model)], capsys)
    assert code == 0, err
    assert not (model / "model.manifest.json").exists()
    beside = tmp_path / "models" / "bert.manifest.json"
    assert beside.is_file() and str(beside) in out
    assert run_cli(["check", str(model)], capsys)[0] == 0
    assert run_cli(["verify", str(model), "--key", str(keys[1])], capsys)[0] == 0
    result = _reference_verifies(model, keys[1])
    assert result.returncode == 0, result.stdout + result.stderr
    (model / "config.json").write_text("{}")
    code, out, _ = run_cli(["check", str(model)], capsys)
    assert code == 1 and "config.json" in out


def test_our_own_signature_keeps_the_manifest_inside(tmp_path: Path, capsys: Any,
                                                     keys: tuple[Path, Path]) -> None:
    model = tmp_path / "bert"
    add_model(Git(tmp_path, {}), "bert")
    assert run_cli(["sign", str(model), "--method", "key", "--key", str(keys[0])],
                   capsys)[0] == 0
    assert (model / "model.manifest.json").is_file()
    assert not (tmp_path / "bert.manifest.json").exists()
    # a manifest already inside stays there, whatever model.sig holds later
    _reference_sign(model, keys[0])
    assert run_cli(["manifest", str(model)], capsys)[0] == 0
    assert not (tmp_path / "bert.manifest.json").exists()


def test_the_hook_writes_the_manifest_beside_and_the_commit_keeps_both_tools_working(
        repo: Git, keys: tuple[Path, Path]) -> None:
    model = add_model(repo, "models/bert")
    _reference_sign(model, keys[0])
    configure(repo, ["models/bert"])
    repo("add", "-A")
    first = repo.modelseal("hook", "manifest")
    assert first.returncode == 1 and "models/bert.manifest.json" in first.stdout + first.stderr
    repo("add", "-A")
    assert repo.modelseal("hook", "manifest").returncode == 0
    repo.commit("foreign-signed model")
    assert _reference_verifies(model, keys[1]).returncode == 0
    # no config: the changed file still maps to the model through the manifest beside it
    (repo.path / ".modelseal.yaml").unlink()
    (model / "config.json").write_text("{}")
    repo("add", "-A")
    check = repo.modelseal("hook", "check", "models/bert/config.json")
    assert check.returncode == 1 and "config.json" in check.stdout + check.stderr


def test_a_repository_root_signed_by_another_tool_is_a_clear_error(
        repo: Git, keys: tuple[Path, Path], capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    add_model(repo, "m")
    for item in (repo.path / "m").iterdir():
        item.rename(repo.path / item.name)
    _reference_sign(repo.path, keys[0])
    monkeypatch.chdir(repo.path)
    code, _, err = run_cli(["manifest", "."], capsys)
    assert code == 2 and "repository root" in err
    assert not (repo.path / "model.manifest.json").exists()
