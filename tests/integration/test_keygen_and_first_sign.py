"""Drop-in for `model_signing`/cosign users: `keygen`, and `sign` on a bare directory."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.signing_support import run_cli

REFERENCE_CLI = Path(sys.executable).with_name("model_signing")


def test_keygen_writes_a_p256_pair_with_a_private_mode_and_next_steps(
        tmp_path: Path, capsys: Any) -> None:
    code, out, err = run_cli(["keygen", "--output-dir", str(tmp_path)], capsys)
    assert code == 0, err
    private, public = tmp_path / "modelseal.key", tmp_path / "modelseal.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(private.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8
    loaded = serialization.load_pem_public_key(public.read_bytes())
    assert loaded.public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    assert f"--method key --key {private}" in out and f"verify MODEL --key {public}" in out
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_keygen_creates_a_private_output_directory(tmp_path: Path, capsys: Any) -> None:
    target = tmp_path / "new" / "keys"
    assert run_cli(["keygen", "--output-dir", str(target)], capsys)[0] == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert (target / "modelseal.key").is_file() and (target / "modelseal.pub").is_file()
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli(["keygen", "--output-dir", str(tmp_path / "file")], capsys)
    assert code == 2 and "not a directory" in err


def test_keygen_never_overwrites_without_force(tmp_path: Path, capsys: Any) -> None:
    assert run_cli(["keygen", "--output-dir", str(tmp_path), "--name", "k"], capsys)[0] == 0
    before = (tmp_path / "k.key").read_bytes()
    code, _, err = run_cli(["keygen", "--output-dir", str(tmp_path), "--name", "k"], capsys)
    assert code == 2 and "already exist" in err and "--force" in err
    assert (tmp_path / "k.key").read_bytes() == before
    assert run_cli(["keygen", "--output-dir", str(tmp_path), "--name", "k", "--force"],
                   capsys)[0] == 0
    assert (tmp_path / "k.key").read_bytes() != before


def test_keygen_encrypts_with_the_password_from_the_environment(
        tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch, tiny_model: Path) -> None:
    monkeypatch.setenv("KEY_PASSWORD", "s3cret words")
    code, out, _ = run_cli(["keygen", "--output-dir", str(tmp_path), "--password-env",
                            "KEY_PASSWORD"], capsys)
    assert code == 0 and "s3cret" not in out and "--password-env KEY_PASSWORD" in out
    data = (tmp_path / "modelseal.key").read_bytes()
    assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(data, None)
    code, _, err = run_cli(["sign", str(tiny_model), "--method", "key", "--key",
                            str(tmp_path / "modelseal.key"), "--password-env", "KEY_PASSWORD"],
                           capsys)
    assert code == 0, err
    code, _, err = run_cli(["verify", str(tiny_model), "--key", str(tmp_path / "modelseal.pub")],
                           capsys)
    assert code == 0, err


@pytest.mark.parametrize("env_value, message", [(None, "not set"), ("", "empty")])
def test_keygen_refuses_a_missing_or_empty_password(
        tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch,
        env_value: str | None, message: str) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    if env_value is not None:
        monkeypatch.setenv("NOPE", env_value)
    code, _, err = run_cli(["keygen", "--output-dir", str(tmp_path), "--password-env", "NOPE"],
                           capsys)
    assert code == 2 and message in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["../up", "a/b", ".."])
def test_keygen_name_is_a_plain_file_name(tmp_path: Path, capsys: Any, name: str) -> None:
    code, _, err = run_cli(["keygen", "--output-dir", str(tmp_path), "--name", name], capsys)
    assert code == 2 and "plain file name" in err
    assert list(tmp_path.parent.glob("*.key")) == []


def test_sign_on_a_bare_directory_writes_the_manifest_then_verifies(
        tiny_model: Path, tmp_path: Path, capsys: Any) -> None:
    """`model_signing sign` users get a signature in one step; the manifest comes with it."""
    keys = tmp_path / "keys"
    keys.mkdir()
    assert run_cli(["keygen", "--output-dir", str(keys)], capsys)[0] == 0
    assert not (tiny_model / "model.manifest.json").exists()
    code, out, err = run_cli(["sign", str(tiny_model), "--method", "key", "--key",
                              str(keys / "modelseal.key")], capsys)
    assert code == 0, err
    assert "there was no manifest" in out and "signed (key" in out
    manifest = json.loads((tiny_model / "model.manifest.json").read_text())
    payload = json.loads((tiny_model / "model.sig").read_text())["dsseEnvelope"]["payload"]
    import base64

    assert json.loads(base64.b64decode(payload)) == manifest
    assert run_cli(["check", str(tiny_model)], capsys)[0] == 0
    code, _, err = run_cli(["verify", str(tiny_model), "--key", str(keys / "modelseal.pub")],
                           capsys)
    assert code == 0, err


def test_sign_still_refuses_a_stale_manifest(tiny_model: Path, tmp_path: Path,
                                             capsys: Any) -> None:
    assert run_cli(["keygen", "--output-dir", str(tmp_path)], capsys)[0] == 0
    assert run_cli(["manifest", str(tiny_model)], capsys)[0] == 0
    (tiny_model / "config.json").write_text("{}")
    code, out, err = run_cli(["sign", str(tiny_model), "--method", "key", "--key",
                              str(tmp_path / "modelseal.key")], capsys)
    assert code == 1 and "manifest is stale" in err and "config.json" in out
    assert not (tiny_model / "model.sig").exists()


def test_keygen_pair_works_with_the_reference_cli(tiny_model: Path, tmp_path: Path,
                                                 capsys: Any) -> None:
    """The pair is what `model_signing sign key` and `verify key` take, both ways."""
    assert run_cli(["keygen", "--output-dir", str(tmp_path)], capsys)[0] == 0
    sig = tmp_path / "ref.sig"
    signed = subprocess.run([str(REFERENCE_CLI), "sign", "key", str(tiny_model), "--signature",
                             str(sig), "--private_key", str(tmp_path / "modelseal.key")],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ})
    assert signed.returncode == 0, signed.stderr + signed.stdout
    code, _, err = run_cli(["verify", str(tiny_model), "--signature", str(sig), "--key",
                            str(tmp_path / "modelseal.pub")], capsys)
    assert code == 0, err
