"""`modelseal sign`: key and certificate bundles, stale manifests, atomic writes, errors."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from modelseal.bundle import key_hint, pae, parse_bundle
from modelseal.config import HashOptions
from modelseal.engine import refresh_target
from modelseal.targets import ModelTarget
from tests.conftest import run_modelseal
from tests.signing_support import (
    NOW,
    bundle_json,
    make_pki,
    payload_of,
    run_cli,
    write_private_key,
    write_public_key,
)

CURVES = [(ec.SECP256R1(), hashes.SHA256()), (ec.SECP384R1(), hashes.SHA384()),
          (ec.SECP521R1(), hashes.SHA512())]


@pytest.fixture
def model(tiny_model: Path) -> Path:
    """The tiny model with a committed manifest."""
    refresh_target(ModelTarget(tiny_model, HashOptions()))
    return tiny_model


@pytest.fixture
def key_pair(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    return (write_private_key(tmp_path / "key.pem", key),
            write_public_key(tmp_path / "key.pub", key))


def test_key_sign_writes_a_bundle_whose_payload_is_the_manifest(
        model: Path, key_pair: tuple[Path, Path], capsys: Any) -> None:
    code, out, _ = run_cli(["sign", str(model), "--method", "key", "--key", str(key_pair[0])],
                           capsys)
    assert code == 0, out
    assert "signed (key" in out
    assert payload_of(model / "model.sig") == (model / "model.manifest.json").read_bytes()
    data = bundle_json(model / "model.sig")
    public = serialization.load_pem_public_key(key_pair[1].read_bytes())
    assert data["verificationMaterial"]["publicKey"]["hint"] == key_hint(public)
    assert data["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert data["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"


@pytest.mark.parametrize(("curve", "digest"), CURVES, ids=["P-256", "P-384", "P-521"])
def test_curve_picks_the_digest(model: Path, tmp_path: Path, curve: ec.EllipticCurve,
                                digest: hashes.HashAlgorithm, capsys: Any) -> None:
    key = ec.generate_private_key(curve)
    path = write_private_key(tmp_path / "k.pem", key)
    assert run_cli(["sign", str(model), "--method", "key", "--key", str(path)], capsys)[0] == 0
    bundle = parse_bundle((model / "model.sig").read_bytes())
    key.public_key().verify(bundle.signature, pae(bundle.payload), ec.ECDSA(digest))


def test_password_comes_from_the_named_environment_variable(
        model: Path, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    key = write_private_key(tmp_path / "k.pem", ec.generate_private_key(ec.SECP384R1()),
                            password=b"s3cret")
    args = ["sign", str(model), "--method", "key", "--key", str(key)]
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "--password-env" in err
    code, _, err = run_cli([*args, "--password-env", "MODEL_KEY_PASS"], capsys)
    assert code == 2 and "MODEL_KEY_PASS" in err and "not set" in err
    monkeypatch.setenv("MODEL_KEY_PASS", "hunter2")
    code, _, err = run_cli([*args, "--password-env", "MODEL_KEY_PASS"], capsys)
    assert code == 2 and "wrong password" in err and "hunter2" not in err
    assert not (model / "model.sig").exists()
    monkeypatch.setenv("MODEL_KEY_PASS", "s3cret")
    assert run_cli([*args, "--password-env", "MODEL_KEY_PASS"], capsys)[0] == 0


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "secp256k1"])
def test_unsupported_keys_are_refused(model: Path, tmp_path: Path, kind: str,
                                      capsys: Any) -> None:
    key: Any
    if kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256K1())
    path = tmp_path / "k.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    code, _, err = run_cli(["sign", str(model), "--method", "key", "--key", str(path)], capsys)
    assert code == 2
    assert "not supported by OMS" in err
    assert len(err.strip().splitlines()) == 1
    assert not (model / "model.sig").exists()


def test_stale_manifest_is_refused_with_the_diff(model: Path, key_pair: tuple[Path, Path],
                                                 capsys: Any) -> None:
    (model / "config.json").write_text("{}")
    (model / "extra.bin").write_bytes(b"x")
    code, out, err = run_cli(["sign", str(model), "--method", "key", "--key", str(key_pair[0])],
                             capsys)
    assert code == 1
    assert "manifest is stale" in err and "--update-manifest" in err
    assert "modified  config.json" in out and "added     extra.bin" in out
    assert not (model / "model.sig").exists()


def test_update_manifest_writes_manifest_and_signature(model: Path, key_pair: tuple[Path, Path],
                                                       capsys: Any) -> None:
    (model / "extra.bin").write_bytes(b"x")
    code, out, _ = run_cli(["sign", str(model), "--method", "key", "--key", str(key_pair[0]),
                            "--update-manifest"], capsys)
    assert code == 0
    assert "updated" in out
    manifest = json.loads((model / "model.manifest.json").read_text())
    assert "extra.bin" in [r["name"] for r in manifest["predicate"]["resources"]]
    assert payload_of(model / "model.sig") == (model / "model.manifest.json").read_bytes()


def test_missing_manifest_is_written_with_the_signature(tiny_model: Path,
                                                        key_pair: tuple[Path, Path],
                                                        capsys: Any) -> None:
    args = ["sign", str(tiny_model), "--method", "key", "--key", str(key_pair[0])]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    assert "there was no manifest" in out
    assert payload_of(tiny_model / "model.sig") == \
        (tiny_model / "model.manifest.json").read_bytes()


def test_stale_manifest_is_caught_even_when_the_cache_is_fooled(
        model: Path, key_pair: tuple[Path, Path], capsys: Any) -> None:
    import os

    weights = model / "model.safetensors"
    st = weights.stat()
    data = bytearray(weights.read_bytes())
    data[0] ^= 1
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime
    code, out, _ = run_cli(["sign", str(model), "--method", "key", "--key", str(key_pair[0])],
                           capsys)
    assert code == 1 and "model.safetensors" in out


def test_failed_sign_leaves_the_previous_signature(model: Path, key_pair: tuple[Path, Path],
                                                   tmp_path: Path, capsys: Any) -> None:
    assert run_cli(["sign", str(model), "--method", "key", "--key", str(key_pair[0])],
                   capsys)[0] == 0
    before = (model / "model.sig").read_bytes()
    (model / "config.json").write_text("{}")
    assert run_cli(["sign", str(model), "--method", "key", "--key", str(key_pair[0])],
                   capsys)[0] == 1
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    code, _, err = run_cli(["sign", str(model), "--method", "key", "--key", str(bad),
                            "--update-manifest"], capsys)
    assert code == 2 and "not a PEM private key" in err
    assert (model / "model.sig").read_bytes() == before
    assert not [p for p in model.iterdir() if p.name.endswith(".tmp")]


def test_signature_option_and_single_file_model(tmp_path: Path, key_pair: tuple[Path, Path],
                                                capsys: Any) -> None:
    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"gguf" * 1000)
    code, _, err = run_cli(["sign", str(weights), "--method", "key", "--key", str(key_pair[0]),
                            "--update-manifest"], capsys)
    assert code == 0, err
    statement = json.loads(payload_of(tmp_path / "model.gguf.sig"))
    assert [r["name"] for r in statement["predicate"]["resources"]] == ["."]
    custom = tmp_path / "elsewhere.sig"
    assert run_cli(["sign", str(weights), "--method", "key", "--key", str(key_pair[0]),
                    "--signature", str(custom)], capsys)[0] == 0
    assert custom.exists()
    code, _, _ = run_cli(["verify", str(weights), "--key", str(key_pair[1]), "--signature",
                          str(custom)], capsys)
    assert code == 0


def test_signature_inside_the_model_is_not_signed(model: Path, key_pair: tuple[Path, Path],
                                                  capsys: Any) -> None:
    sig = model / "sigs" / "release.sig"
    sig.parent.mkdir()
    args = ["sign", str(model), "--method", "key", "--key", str(key_pair[0]), "--signature",
            str(sig), "--update-manifest"]
    assert run_cli(args, capsys)[0] == 0
    statement = json.loads(payload_of(sig))
    assert "sigs/release.sig" in statement["predicate"]["serialization"]["ignore_paths"]
    code, _, err = run_cli(["verify", str(model), "--key", str(key_pair[1]), "--signature",
                            str(sig)], capsys)
    assert code == 0, err


def test_empty_model_directory_is_an_error(tmp_path: Path, key_pair: tuple[Path, Path],
                                           capsys: Any) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(["sign", str(empty), "--method", "key", "--key", str(key_pair[0]),
                            "--update-manifest"], capsys)
    assert code == 2 and "no files" in err
    assert not (empty / "model.sig").exists()


def test_certificate_sign_puts_the_chain_in_the_bundle(model: Path, tmp_path: Path,
                                                       capsys: Any) -> None:
    pki = make_pki(tmp_path / "pki")
    code, _, err = run_cli(["sign", str(model), "--method", "certificate", "--key",
                            str(pki.key_pem), "--cert", str(pki.leaf_pem), "--chain",
                            str(pki.chain_pem)], capsys)
    assert code == 0, err
    chain = bundle_json(model / "model.sig")["verificationMaterial"]["x509CertificateChain"]
    assert len(chain["certificates"]) == 2
    code, out, err = run_cli(["verify", str(model), "--cert-chain", str(pki.root_pem)], capsys)
    assert code == 0, err
    assert "signer@example.com" in out


def test_certificate_must_match_the_key(model: Path, tmp_path: Path, capsys: Any) -> None:
    pki = make_pki(tmp_path / "pki")
    other = write_private_key(tmp_path / "other.pem", ec.generate_private_key(ec.SECP256R1()))
    code, _, err = run_cli(["sign", str(model), "--method", "certificate", "--key", str(other),
                            "--cert", str(pki.leaf_pem)], capsys)
    assert code == 2 and "does not match the private key" in err
    assert not (model / "model.sig").exists()


def test_expired_certificate_is_refused_at_signing(model: Path, tmp_path: Path,
                                                   capsys: Any) -> None:
    pki = make_pki(tmp_path / "pki", leaf_not_before=NOW - timedelta(days=30),
                   leaf_not_after=NOW - timedelta(days=1))
    code, _, err = run_cli(["sign", str(model), "--method", "certificate", "--key",
                            str(pki.key_pem), "--cert", str(pki.leaf_pem)], capsys)
    assert code == 2 and "expired" in err
    assert not (model / "model.sig").exists()


@pytest.mark.parametrize("args", [
    ["--method", "key"],
    ["--method", "certificate", "--key", "KEY"],
    ["--method", "key", "--key", "KEY", "--identity-token", "x.y.z"],
    ["--method", "sigstore", "--key", "KEY"],
    ["--method", "sigstore", "--staging", "--trust-config", "KEY"],
])
def test_option_combinations(model: Path, key_pair: tuple[Path, Path], args: list[str],
                             capsys: Any) -> None:
    args = [str(key_pair[0]) if a == "KEY" else a for a in args]
    code, _, err = run_cli(["sign", str(model), *args], capsys)
    assert code == 2
    assert err.startswith("modelseal: error: ") and len(err.strip().splitlines()) == 1


def test_signature_option_needs_one_model(model: Path, tmp_path: Path,
                                          key_pair: tuple[Path, Path], capsys: Any) -> None:
    other = tmp_path / "other"
    shutil.copytree(model, other)
    code, _, err = run_cli(["sign", str(model), str(other), "--method", "key", "--key",
                            str(key_pair[0]), "--signature", str(tmp_path / "x.sig")], capsys)
    assert code == 2 and "--signature" in err


def test_sign_every_configured_model(tmp_path: Path, key_pair: tuple[Path, Path],
                                     tiny_model: Path) -> None:
    second = tmp_path / "second"
    shutil.copytree(tiny_model, second)
    (tmp_path / ".modelseal.yaml").write_text("models:\n  - tiny-model\n  - second\n")
    result = run_modelseal(["sign", "--method", "key", "--key", str(key_pair[0]),
                            "--update-manifest"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tiny_model / "model.sig").exists() and (second / "model.sig").exists()
    result = run_modelseal(["verify", "--key", str(key_pair[1])], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("verified") == 2


def test_version_and_check_import_no_signing_code(model: Path) -> None:
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from modelseal import cli\n"
        "try:\n    cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
        f"assert cli.main(['check', {str(model)!r}]) == 0\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('sigstore', 'model_signing')\n"
        "         or m in ('modelseal.signing', 'modelseal.verifying', 'modelseal.policy',\n"
        "                  'modelseal.bundle')]\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
