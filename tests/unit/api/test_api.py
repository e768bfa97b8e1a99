"""The public Python API: `modelseal.verify`, `check`, `sign` and the names in `__all__`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import modelseal


@pytest.fixture
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    directory = tmp_path / "bert"
    directory.mkdir()
    (directory / "config.json").write_text("{}\n", encoding="utf-8")
    (directory / "weights.bin").write_bytes(b"\x01" * 4096)
    return directory


@pytest.fixture
def key_pair(tmp_path: Path) -> tuple[Path, Path]:
    private = ec.generate_private_key(ec.SECP256R1())
    key, pub = tmp_path / "key.pem", tmp_path / "key.pub.pem"
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    pub.write_bytes(private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key, pub


def _signer(key: Path) -> object:
    return modelseal.signer_for(modelseal.SignerRequest(method="key", key=key))


def test_importing_modelseal_loads_nothing_heavy() -> None:
    code = ("import sys, modelseal; "
            "print(sorted(m for m in sys.modules if m.startswith(('sigstore', 'cryptography', "
            "'modelseal.'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "['modelseal._version']"  # the version string, nothing else


def test_every_public_name_resolves_and_nothing_else_is_invented() -> None:
    for name in modelseal.__all__:
        assert getattr(modelseal, name) is not None, name
        assert name in dir(modelseal)
    with pytest.raises(AttributeError):
        modelseal.verify_targets  # noqa: B018 (an internal name is not exported)


def test_sign_then_verify_and_check(model: Path, key_pair: tuple[Path, Path]) -> None:
    key, pub = key_pair
    signed = modelseal.sign(model, _signer(key))  # type: ignore[arg-type]
    assert isinstance(signed, modelseal.SignedModel)
    assert signed.method == "key" and (model / "model.sig").is_file()
    assert (model / "model.manifest.json").is_file()  # written with the first signature
    result = modelseal.verify(model, modelseal.Policy(keys=(pub,)))
    assert isinstance(result, modelseal.VerificationResult)
    assert result.ok and result.status == "verified", result.message
    assert isinstance(result.signed_manifest, modelseal.Manifest)
    checked = modelseal.check(model)
    assert isinstance(checked, modelseal.CheckResult)
    assert checked.ok and not checked.stale


def test_a_changed_file_fails_verify_and_check(model: Path, key_pair: tuple[Path, Path]) -> None:
    key, pub = key_pair
    modelseal.sign(model, _signer(key))  # type: ignore[arg-type]
    (model / "weights.bin").write_bytes(b"\x02" * 4096)
    result = modelseal.verify(model, modelseal.Policy(keys=(pub,)))
    assert not result.ok and result.status == "failed"
    assert "files differ" in result.message and result.diff is not None
    assert result.diff.modified == ("weights.bin",)
    checked = modelseal.check(model)
    assert not checked.ok and [s.target.path for s in checked.stale] == [model]


def test_unsigned_and_untrusted_models_do_not_pass(model: Path,
                                                   key_pair: tuple[Path, Path]) -> None:
    _, pub = key_pair
    unsigned = modelseal.verify(model, modelseal.Policy(keys=(pub,)))
    assert not unsigned.ok and unsigned.status == "unsigned"
    modelseal.sign(model, _signer(key_pair[0]))  # type: ignore[arg-type]
    nobody = modelseal.verify(model, modelseal.Policy())
    assert not nobody.ok and nobody.message


def test_sign_refuses_a_stale_manifest_unless_asked(model: Path,
                                                    key_pair: tuple[Path, Path]) -> None:
    key, pub = key_pair
    modelseal.sign(model, _signer(key))  # type: ignore[arg-type]
    (model / "extra.bin").write_bytes(b"new")
    with pytest.raises(modelseal.ModelsealError, match="manifest is stale"):
        modelseal.sign(model, _signer(key))  # type: ignore[arg-type]
    modelseal.sign(model, _signer(key), update_manifest=True)  # type: ignore[arg-type]
    assert modelseal.verify(model, modelseal.Policy(keys=(pub,))).ok


def test_errors_raise_modelseal_errors(tmp_path: Path, key_pair: tuple[Path, Path]) -> None:
    with pytest.raises(modelseal.ModelsealError, match="does not exist"):
        modelseal.verify(tmp_path / "missing", modelseal.Policy(keys=(key_pair[1],)))
    with pytest.raises(modelseal.ModelsealError, match=r"modelseal\.Policy"):
        modelseal.verify(tmp_path, {"keys": [str(key_pair[1])]})  # type: ignore[arg-type]
    with pytest.raises(modelseal.ModelsealError):
        modelseal.signer_for(modelseal.SignerRequest(method="key"))  # no --key


def test_policy_from_flags_builds_keyless_rules() -> None:
    policy = modelseal.policy_from_flags(modelseal.PolicyFlags(
        repository="acme/models", workflow="release.yml", ref="main"))
    assert isinstance(policy, modelseal.Policy)
    assert policy.signers and not policy.trusts_nobody
