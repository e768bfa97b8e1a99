"""The README's "Python API" example, run for real: it loads a model signed with a key
and refuses a tampered or an unsigned copy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from modelseal.cli import main as cli_main

README = Path(__file__).resolve().parents[3] / "README.md"


def _api_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, "the Python API section holds exactly one python example"
    return str(blocks[0])


def test_the_example_is_about_ten_lines() -> None:
    lines = [line for line in _api_example().splitlines() if line.strip()]
    assert 5 <= len(lines) <= 12


@pytest.fixture
def signed_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """models/bert signed with keys/signing-key.pem by the real CLI; cwd is the repo."""
    model = tmp_path / "models" / "bert"
    model.mkdir(parents=True)
    (model / "config.json").write_text('{"hidden_size": 8}\n', encoding="utf-8")
    (model / "model.safetensors").write_bytes(bytes(range(256)) * 64)
    keys = tmp_path / "keys"
    keys.mkdir()
    private = ec.generate_private_key(ec.SECP256R1())
    (keys / "signing-key.pem").write_bytes(private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (keys / "signing-key.pub.pem").write_bytes(private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    monkeypatch.chdir(tmp_path)
    assert cli_main(["sign", "models/bert", "--method", "key", "--key",
                     "keys/signing-key.pem"]) == 0
    return tmp_path


def _run_example() -> list[str]:
    loaded: list[str] = []
    exec(compile(_api_example(), str(README), "exec"), {"load_model": loaded.append})
    return loaded


def test_the_example_loads_a_model_that_verifies(signed_repo: Path) -> None:
    assert _run_example() == ["models/bert"]


def test_the_example_refuses_a_tampered_model(signed_repo: Path) -> None:
    weights = signed_repo / "models" / "bert" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    with pytest.raises(SystemExit) as refused:
        _run_example()
    assert "refusing to load models/bert" in str(refused.value)
    assert "model.safetensors" in str(refused.value) or "differ" in str(refused.value)


def test_the_example_refuses_an_unsigned_model(signed_repo: Path) -> None:
    (signed_repo / "models" / "bert" / "model.sig").unlink()
    with pytest.raises(SystemExit) as refused:
        _run_example()
    assert "unsigned" in str(refused.value)


def test_the_example_refuses_a_model_signed_by_another_key(signed_repo: Path) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    (signed_repo / "keys" / "signing-key.pub.pem").write_bytes(other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(SystemExit) as refused:
        _run_example()
    assert "refusing to load" in str(refused.value)
