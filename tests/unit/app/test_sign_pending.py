"""`app.sign_pending`: one scan per model decides whether its signature still holds and
is what gets signed; a verdict drawn from that scan is the verdict a fresh
verification gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from modelseal.app.policies import PolicyRequest
from modelseal.app.selection import ModelRequest
from modelseal.app.sign import SignOptions, StaleModels, signer_for
from modelseal.app.sign_pending import find_unsigned, sign_unsigned
from modelseal.app.verify import VerifyRequest
from modelseal.cli import main as cli_main
from modelseal.policy import PolicyFlags
from modelseal.signing_methods import SignerRequest


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    model = tmp_path / "bert"
    model.mkdir()
    (model / "config.json").write_text("{}\n", encoding="utf-8")
    (model / "weights.bin").write_bytes(b"\x01" * 5000)
    private = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "key.pem").write_bytes(private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (tmp_path / "key.pub.pem").write_bytes(private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return tmp_path


def _verify_request(repo: Path) -> VerifyRequest:
    return VerifyRequest(policy=PolicyRequest(PolicyFlags(keys=(repo / "key.pub.pem",))))


def _run(repo: Path) -> tuple[list[bool], list[str]]:
    """(verified before, models signed now) for one pass over `bert`."""
    found = find_unsigned(ModelRequest(paths=("bert",)), _verify_request(repo))
    signer = SignerRequest(method="key", key=repo / "key.pem")
    signed = sign_unsigned(found.pending, lambda: signer_for(signer))
    return [m.verified for m in found.models], [s.model.target.display for s in signed]


def _cli_verifies(repo: Path) -> bool:
    return cli_main(["verify", "bert", "--key", str(repo / "key.pub.pem")]) == 0


def test_unsigned_then_unchanged_then_changed(repo: Path) -> None:
    assert _run(repo) == ([False], ["bert"])
    assert _cli_verifies(repo)
    assert _run(repo) == ([True], [])  # nothing changed: not signed again
    (repo / "bert" / "weights.bin").write_bytes(b"\x02" * 5000)
    assert cli_main(["manifest", "bert"]) == 0
    assert not _cli_verifies(repo)
    assert _run(repo) == ([False], ["bert"])  # the scan saw the change
    assert _cli_verifies(repo)


def test_a_tampered_file_fails_the_scan_verdict_with_the_diff(repo: Path) -> None:
    _run(repo)
    (repo / "bert" / "weights.bin").write_bytes(b"\x03" * 5000)
    found = find_unsigned(ModelRequest(paths=("bert",)), _verify_request(repo))
    [model] = found.models
    assert not model.verified and model.result.diff is not None
    assert model.result.diff.modified == ("weights.bin",)


def test_a_file_the_signature_does_not_list_fails_the_verdict(repo: Path) -> None:
    _run(repo)
    (repo / "bert" / "extra.bin").write_bytes(b"x")
    [model] = find_unsigned(ModelRequest(paths=("bert",)), _verify_request(repo)).models
    assert not model.verified and model.result.diff is not None
    assert model.result.diff.added == ("extra.bin",)


def test_a_signature_with_other_hashing_settings_is_checked_by_its_own(repo: Path) -> None:
    # signed in shards mode; the config now says files: the scan's digests do not apply
    (repo / ".modelseal.yaml").write_text(
        "models:\n  - path: bert\n    serialization: shards\n    shard_size: 1024\n",
        encoding="utf-8")
    assert _run(repo) == ([False], ["bert"])
    (repo / ".modelseal.yaml").write_text("models:\n  - path: bert\n", encoding="utf-8")
    [model] = find_unsigned(ModelRequest(paths=("bert",)), _verify_request(repo)).models
    assert model.verified, model.result.message
    (repo / "bert" / "weights.bin").write_bytes(b"\x04" * 5000)
    [model] = find_unsigned(ModelRequest(paths=("bert",)), _verify_request(repo)).models
    assert not model.verified and model.result.diff is not None
    assert model.result.diff.modified == ("weights.bin",)


def test_a_stale_manifest_refuses_signing(repo: Path) -> None:
    _run(repo)
    (repo / "bert" / "weights.bin").write_bytes(b"\x05" * 5000)  # manifest not refreshed
    found = find_unsigned(ModelRequest(paths=("bert",)), _verify_request(repo))
    with pytest.raises(StaleModels, match="manifest is stale"):
        sign_unsigned(found.pending, lambda: pytest.fail("no signer is needed"))
    signer = SignerRequest(method="key", key=repo / "key.pem")
    signed = sign_unsigned(found.pending, lambda: signer_for(signer),
                           SignOptions(update_manifest=True))
    assert [s.model.write_manifest for s in signed] == [True]
    assert _cli_verifies(repo)
