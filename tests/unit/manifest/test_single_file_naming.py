"""Single-file models: OMS v1.0 section 6.1.2 names the one resource by the file's
basename, `model_signing` 1.1.1 writes ".". Verify accepts both; sign writes "."."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from modelseal.signing import KeySigner
from tests.signing_support import run_cli, write_private_key, write_public_key


@pytest.fixture
def signer(tmp_path: Path) -> tuple[Path, Path, KeySigner]:
    key = ec.generate_private_key(ec.SECP256R1())
    return (write_private_key(tmp_path / "k.pem", key), write_public_key(tmp_path / "k.pub", key),
            KeySigner(key))


def _resign_with_names(weights: Path, signer: KeySigner, rename: dict[str, str]) -> None:
    """Rewrite the statement's resource names, then sign it again with the same key."""
    manifest_path = weights.with_name(weights.name + ".manifest.json")
    statement = json.loads(manifest_path.read_text())
    for resource in statement["predicate"]["resources"]:
        path, sep, shard = resource["name"].partition(":")
        resource["name"] = rename.get(path, path) + sep + shard
    payload = json.dumps(statement, indent=2, sort_keys=True).encode() + b"\n"
    weights.with_name(weights.name + ".sig").write_bytes(signer.sign(payload))


@pytest.mark.parametrize("sharded", [False, True])
def test_basename_named_single_file_signature_verifies(
        tmp_path: Path, capsys: Any, signer: tuple[Path, Path, KeySigner], sharded: bool) -> None:
    weights = tmp_path / "model.gguf"
    weights.write_bytes(bytes(range(256)) * 64)
    if sharded:
        (tmp_path / ".modelseal.yaml").write_text(
            "models:\n  - path: model.gguf\n    serialization: shards\n    shard_size: 4096\n")
    assert run_cli(["sign", str(weights), "--method", "key", "--key", str(signer[0])],
                   capsys)[0] == 0
    manifest = json.loads(weights.with_name("model.gguf.manifest.json").read_text())
    names = {r["name"].split(":")[0] for r in manifest["predicate"]["resources"]}
    assert names == {"."}  # what the reference writes
    assert (len(manifest["predicate"]["resources"]) == 4) == sharded
    _resign_with_names(weights, signer[2], {".": "model.gguf"})
    code, out, err = run_cli(["verify", str(weights), "--key", str(signer[1])], capsys)
    assert code == 0, out + err
    weights.write_bytes(b"\x01" + weights.read_bytes()[1:])
    code, out, err = run_cli(["verify", str(weights), "--key", str(signer[1])], capsys)
    assert code == 1 and "modified" in out, out + err


def test_a_resource_named_otherwise_is_not_read_as_the_file(
        tmp_path: Path, capsys: Any, signer: tuple[Path, Path, KeySigner]) -> None:
    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"weights")
    assert run_cli(["sign", str(weights), "--method", "key", "--key", str(signer[0])],
                   capsys)[0] == 0
    _resign_with_names(weights, signer[2], {".": "other.gguf"})
    code, _, err = run_cli(["verify", str(weights), "--key", str(signer[1])], capsys)
    assert code == 1 and "directory" in err
