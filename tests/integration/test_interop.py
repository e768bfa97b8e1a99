"""Two-way compatibility with the reference implementation (model-signing) and the OMS spec.

Every shared fixture verifies (Sigstore ones offline, against the production root the
sigstore package embeds) and fails once a signed file changes, goes or is joined by
another; our key and certificate bundles verify with model-signing's API and CLI; its
bundles verify with ours; what we write validates against the OMS JSON schemas.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from modelseal.bundle import BundleError, parse_bundle
from modelseal.config import HashOptions
from modelseal.engine import refresh_target
from modelseal.errors import ManifestFormatError
from modelseal.targets import ModelTarget
from tests.conftest import EXAMPLE_MODEL
from tests.signing_support import (
    make_pki,
    oms_validator,
    payload_of,
    recertified_fixture_leaf,
    recertify_bundle,
    run_cli,
    write_private_key,
)

model_signing = pytest.importorskip("model_signing")

REFERENCE_CLI = Path(sys.executable).with_name("model_signing")
IBM = ["--identity", "stefanb@us.ibm.com", "--issuer", "https://sigstore.verify.ibm.com/oauth2",
       "--offline"]
PUBLIC = "keys/certificate/signing-key-pub.pem"
ROOT = "keys/certificate/ca-cert.pem"

# folder -> (model inside the folder, verify arguments); paths are relative to the fixtures
FIXTURES: dict[str, tuple[str, list[str]]] = {
    "v1.1.0-sigstore": (".", IBM),
    "v1.0.1-sigstore": (".", [*IBM, "--ignore", "ignore-me"]),
    "v1.0.0-sigstore": (".", IBM),
    "v0.3.1-sigstore": (".", IBM),
    "v1.1.0-elliptic-key": (".", ["--key", PUBLIC]),
    "v1.0.1-elliptic-key": (".", ["--key", PUBLIC, "--ignore", "ignore-me"]),
    "v1.0.0-elliptic-key": ("signme-1", ["--key", PUBLIC, "--signature", "model.sig"]),
    "v0.3.1-elliptic-key": ("signme-1", ["--key", PUBLIC, "--signature", "model.sig"]),
    "v1.1.0-certificate": (".", ["--cert-chain", ROOT]),
    "v1.0.1-certificate": (".", ["--cert-chain", ROOT, "--ignore", "ignore-me"]),
    "v1.0.0-certificate": (".", ["--cert-chain", ROOT]),
    "v0.3.1-certificate": (".", ["--cert-chain", ROOT]),
    "v0.2.0-certificate": (".", ["--cert-chain", ROOT]),
}


def fixture_args(fixtures: Path, folder: Path, name: str) -> list[str]:
    model, args = FIXTURES[name]
    resolved = []
    for arg in args:
        if arg in (PUBLIC, ROOT):
            arg = str(fixtures / arg)
        elif arg == "model.sig":
            arg = str(folder / arg)
        resolved.append(arg)
    return [str(folder / model), *resolved]


def test_every_fixture_is_listed(oms_fixtures: Path) -> None:
    folders = {p.name for p in oms_fixtures.iterdir() if (p / "model.sig").exists()}
    assert folders == set(FIXTURES)


def fixture_copy(fixtures: Path, tmp_path: Path, name: str) -> Path:
    """A copy of a fixture folder; certificate bundles get a CA:FALSE leaf for the same key
    (the reference's test PKI certifies its signer as a CA, which modelseal refuses)."""
    folder = tmp_path / name
    shutil.copytree(fixtures / name, folder)
    if name.endswith("-certificate"):
        recertify_bundle(folder / "model.sig", recertified_fixture_leaf(fixtures, tmp_path))
    return folder


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_verifies(oms_fixtures: Path, tmp_path: Path, name: str, capsys: Any) -> None:
    folder = fixture_copy(oms_fixtures, tmp_path, name)
    code, out, err = run_cli(["verify", *fixture_args(oms_fixtures, folder, name)], capsys)
    assert code == 0, err
    assert "verified" in out


# "added" needs a directory: single-file fixtures get only the other two changes
CHANGES = [(name, change) for name in sorted(FIXTURES)
           for change in ("modified", "removed", "added")
           if change != "added" or FIXTURES[name][0] == "."]


@pytest.mark.parametrize(("name", "change"), CHANGES)
def test_fixture_fails_after_a_change(oms_fixtures: Path, tmp_path: Path, name: str,
                                      change: str, capsys: Any) -> None:
    folder = fixture_copy(oms_fixtures, tmp_path, name)
    single_file = FIXTURES[name][0] != "."
    if change == "modified":
        with (folder / "signme-1").open("ab") as stream:
            stream.write(b"\n")
    elif change == "removed":
        (folder / ("signme-1" if single_file else "signme-2")).unlink()
    else:
        (folder / "surprise.bin").write_bytes(b"new")
    code, out, err = run_cli(["verify", *fixture_args(oms_fixtures, folder, name)], capsys)
    assert code != 0
    assert err.startswith("modelseal: error: ")
    if not single_file:
        assert f"{change:<9} {'surprise.bin' if change == 'added' else 'signme-'}" in out


# --- our bundles, verified by the reference -------------------------------------------------


def _manifested(tmp_path: Path, name: str = "model", options: HashOptions | None = None
                ) -> Path:
    root = tmp_path / name
    shutil.copytree(EXAMPLE_MODEL, root)
    (root / "weights").mkdir()
    (root / "weights" / "part-1.bin").write_bytes(bytes(range(256)) * 40)
    (root / "weights" / "part-2.bin").write_bytes(b"\x00" * 5000)
    refresh_target(ModelTarget(root, options or HashOptions()))
    return root


def _reference_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REFERENCE_CLI), *args], capture_output=True, text=True,
                          timeout=300)


def test_our_key_bundle_verifies_with_reference_cli_and_api(oms_fixtures: Path, tmp_path: Path,
                                                            capsys: Any) -> None:
    model = _manifested(tmp_path)
    key = oms_fixtures / "keys/certificate/signing-key.pem"
    assert run_cli(["sign", str(model), "--method", "key", "--key", str(key)], capsys)[0] == 0
    result = _reference_cli("verify", "key", str(model), "--signature", str(model / "model.sig"),
                            "--public_key", str(oms_fixtures / PUBLIC))
    assert result.returncode == 0, result.stderr + result.stdout
    model_signing.verifying.Config().use_elliptic_key_verifier(
        public_key=oms_fixtures / PUBLIC).verify(model, model / "model.sig")
    (model / "weights" / "part-2.bin").write_bytes(b"\x01" * 5000)
    with pytest.raises(ValueError, match=r"part-2\.bin"):
        model_signing.verifying.Config().use_elliptic_key_verifier(
            public_key=oms_fixtures / PUBLIC).verify(model, model / "model.sig")


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP521R1()], ids=["P-256", "P-521"])
def test_our_bundles_on_other_curves_verify_with_the_reference(tmp_path: Path,
                                                               curve: ec.EllipticCurve,
                                                               capsys: Any) -> None:
    model = _manifested(tmp_path)
    pki = make_pki(tmp_path / "pki", curve)
    assert run_cli(["sign", str(model), "--method", "certificate", "--key", str(pki.key_pem),
                    "--cert", str(pki.leaf_pem), "--chain", str(pki.chain_pem)], capsys)[0] == 0
    model_signing.verifying.Config().use_certificate_verifier(
        certificate_chain=[pki.root_pem]).verify(model, model / "model.sig")
    public = tmp_path / "pub.pem"
    from tests.signing_support import write_public_key

    write_public_key(public, pki.leaf_key)
    sig = tmp_path / "key.sig"
    assert run_cli(["sign", str(model), "--method", "key", "--key", str(pki.key_pem),
                    "--signature", str(sig)], capsys)[0] == 0
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=public).verify(
        model, sig)


def test_our_certificate_bundle_verifies_with_reference_cli(oms_fixtures: Path,
                                                            tmp_path: Path, capsys: Any) -> None:
    model = _manifested(tmp_path)
    certs = oms_fixtures / "keys/certificate"
    leaf = recertified_fixture_leaf(oms_fixtures, tmp_path / "pki")
    code, _, err = run_cli(["sign", str(model), "--method", "certificate",
                            "--key", str(certs / "signing-key.pem"),
                            "--cert", str(leaf),
                            "--chain", str(certs / "int-ca-cert.pem")], capsys)
    assert code == 0, err
    result = _reference_cli("verify", "certificate", str(model), "--signature",
                            str(model / "model.sig"), "--certificate_chain",
                            str(oms_fixtures / ROOT))
    assert result.returncode == 0, result.stderr + result.stdout
    code, _, err = run_cli(["verify", str(model), "--cert-chain", str(oms_fixtures / ROOT)],
                           capsys)
    assert code == 0, err


@pytest.mark.parametrize(("hash_type", "serialization", "reference_algorithm"), [
    ("sha256", "shards", "sha256"),
    ("blake2b", "shards", "blake2"),
    ("blake2b", "files", "blake2"),
    ("blake3", "files", "blake3"),
])
def test_other_serializations_verify_with_the_reference(
        oms_fixtures: Path, tmp_path: Path, hash_type: str, serialization: str,
        reference_algorithm: str, capsys: Any) -> None:
    if hash_type == "blake3":
        pytest.importorskip("blake3")
    options = HashOptions(hash=hash_type, serialization=serialization, shard_size=1024)
    config = tmp_path / ".modelseal.yaml"
    config.write_text(f"models:\n  - path: model\n    hash: {hash_type}\n"
                      f"    serialization: {serialization}\n    shard_size: 1024\n")
    model = _manifested(tmp_path, options=options)
    key = oms_fixtures / "keys/certificate/signing-key.pem"
    assert run_cli(["sign", str(model), "--method", "key", "--key", str(key)], capsys)[0] == 0
    statement = json.loads(payload_of(model / "model.sig"))
    assert statement["predicate"]["serialization"]["hash_type"] == hash_type
    # model-signing 1.1.1 cannot guess a blake2b config from a signature (it asks its
    # hasher for "blake2b", which it calls "blake2"), so say it explicitly, as its users must
    hashing = model_signing.hashing.Config()
    if serialization == "shards":
        hashing.use_shard_serialization(hashing_algorithm=reference_algorithm, shard_size=1024)
    else:
        hashing.use_file_serialization(hashing_algorithm=reference_algorithm)
    hashing.set_ignored_paths(paths=["model.sig", "model.manifest.json"])
    # (its CLI always hashes whole files, so only the API can check shards)
    model_signing.verifying.Config().use_elliptic_key_verifier(
        public_key=oms_fixtures / PUBLIC).set_hashing_config(hashing).verify(
        model, model / "model.sig")


# --- the reference's bundles, verified by us -------------------------------------------------


@pytest.mark.parametrize(("method", "serialization", "algorithm"), [
    ("key", "files", "sha256"),
    ("certificate", "files", "sha256"),
    ("key", "shards", "sha256"),
    ("key", "shards", "blake2"),
    ("certificate", "files", "blake2"),
    ("key", "files", "blake3"),
])
def test_reference_bundles_verify_with_ours(oms_fixtures: Path, tmp_path: Path, method: str,
                                            serialization: str, algorithm: str,
                                            capsys: Any) -> None:
    if algorithm == "blake3":
        pytest.importorskip("blake3")
    model = tmp_path / "model"
    shutil.copytree(EXAMPLE_MODEL, model)
    (model / "empty.txt").write_bytes(b"")
    certs = oms_fixtures / "keys/certificate"
    hashing = model_signing.hashing.Config()
    if serialization == "shards":
        hashing.use_shard_serialization(hashing_algorithm=algorithm, shard_size=1000)
    else:
        hashing.use_file_serialization(hashing_algorithm=algorithm)
    signing = model_signing.signing.Config().set_hashing_config(hashing)
    if method == "key":
        signing.use_elliptic_key_signer(private_key=certs / "signing-key.pem")
        trust = ["--key", str(oms_fixtures / PUBLIC)]
    else:
        leaf = recertified_fixture_leaf(oms_fixtures, tmp_path / "pki")
        signing.use_certificate_signer(private_key=certs / "signing-key.pem",
                                       signing_certificate=leaf,
                                       certificate_chain=[certs / "int-ca-cert.pem"])
        trust = ["--cert-chain", str(oms_fixtures / ROOT)]
    signing.sign(model, model / "model.sig")
    code, out, err = run_cli(["verify", str(model), *trust], capsys)
    assert code == 0, err
    (model / "config.json").write_text("{}")
    code, out, err = run_cli(["verify", str(model), *trust], capsys)
    assert code == 1 and "config.json" in out


def test_reference_cli_bundle_verifies_with_ours(oms_fixtures: Path, tmp_path: Path,
                                                 capsys: Any) -> None:
    model = tmp_path / "model"
    shutil.copytree(EXAMPLE_MODEL, model)
    (model / "local.txt").write_text("not signed")
    sig = tmp_path / "ref.sig"
    result = _reference_cli("sign", "key", str(model), "--signature", str(sig),
                            "--private_key", str(oms_fixtures / "keys/certificate/signing-key.pem"),
                            "--ignore-paths", str(model / "local.txt"))
    assert result.returncode == 0, result.stderr + result.stdout
    code, _, err = run_cli(["verify", str(model), "--signature", str(sig), "--key",
                            str(oms_fixtures / PUBLIC)], capsys)
    assert code == 0, err


# --- the OMS schemas and test vectors ---------------------------------------------------------


@pytest.mark.parametrize("method", ["key", "certificate"])
def test_our_bundles_match_the_schemas(oms_spec: Path, tmp_path: Path, method: str,
                                       capsys: Any) -> None:
    model = _manifested(tmp_path)
    pki = make_pki(tmp_path / "pki")
    args = ["--key", str(pki.key_pem)]
    if method == "certificate":
        args += ["--cert", str(pki.leaf_pem), "--chain", str(pki.chain_pem)]
    assert run_cli(["sign", str(model), "--method", method, *args], capsys)[0] == 0
    bundle = json.loads((model / "model.sig").read_text())
    oms_validator(oms_spec, "bundle.schema.json").validate(bundle)
    statement = oms_validator(oms_spec, "statement.schema.json")
    statement.validate(json.loads(payload_of(model / "model.sig")))
    statement.validate(json.loads((model / "model.manifest.json").read_text()))


def test_sharded_statements_deviate_from_the_schema_only_where_the_reference_does(
        oms_spec: Path, tmp_path: Path, capsys: Any) -> None:
    # model-signing names shard digests "sha256-sharded-<size>" and compares that name
    # when verifying; the schema's enum allows only "sha256". Compatibility wins.
    model = _manifested(tmp_path, options=HashOptions(serialization="shards", shard_size=4096))
    (tmp_path / ".modelseal.yaml").write_text(
        "models:\n  - path: model\n    serialization: shards\n    shard_size: 4096\n")
    key = write_private_key(tmp_path / "k.pem", ec.generate_private_key(ec.SECP256R1()))
    assert run_cli(["sign", str(model), "--method", "key", "--key", str(key)], capsys)[0] == 0
    bundle = json.loads((model / "model.sig").read_text())
    oms_validator(oms_spec, "bundle.schema.json").validate(bundle)
    statement = json.loads(payload_of(model / "model.sig"))
    assert statement["predicate"]["serialization"]["shard_size"] == 4096
    errors = list(oms_validator(oms_spec, "statement.schema.json").iter_errors(statement))
    assert errors
    assert {tuple(e.path)[-1] for e in errors} == {"algorithm"}
    assert {e.instance for e in errors} == {"sha256-sharded-4096"}


def test_single_file_manifest_matches_the_schema(oms_spec: Path, tmp_path: Path,
                                                 capsys: Any) -> None:
    weights = tmp_path / "model.bin"
    weights.write_bytes(b"w" * 10)
    key = write_private_key(tmp_path / "k.pem", ec.generate_private_key(ec.SECP256R1()))
    assert run_cli(["sign", str(weights), "--method", "key", "--key", str(key),
                    "--update-manifest"], capsys)[0] == 0
    oms_validator(oms_spec, "bundle.schema.json").validate(
        json.loads((tmp_path / "model.bin.sig").read_text()))
    oms_validator(oms_spec, "statement.schema.json").validate(
        json.loads(payload_of(tmp_path / "model.bin.sig")))


@pytest.mark.parametrize("name", ["key", "certificate", "sigstore"])
def test_valid_vectors_parse(oms_spec: Path, name: str) -> None:
    path = oms_spec / "test-vectors" / "valid" / f"{name}.bundle.json"
    oms_validator(oms_spec, "bundle.schema.json").validate(json.loads(path.read_text()))
    bundle = parse_bundle(path.read_bytes(), source=path.name)
    assert bundle.method == name
    manifest = bundle.statement()
    assert [r.name for r in manifest.resources] == ["signme-1", "signme-2"]


@pytest.mark.parametrize(("name", "message"), [
    ("empty", "is empty"),
    ("missing-envelope", "dsseEnvelope is missing"),
    ("missing-tlog-entries", "no transparency log entries"),
    ("missing-verification-material", "verificationMaterial is missing"),
])
def test_invalid_vectors_are_rejected(oms_spec: Path, name: str, message: str) -> None:
    path = oms_spec / "test-vectors" / "invalid" / f"{name}.bundle.json"
    with pytest.raises(BundleError, match=message) as caught:
        parse_bundle(path.read_bytes(), source=path.name)
    assert "\n" not in str(caught.value) and path.name in str(caught.value)


def test_invalid_payload_vector_is_rejected(oms_spec: Path) -> None:
    path = oms_spec / "test-vectors" / "invalid-payload" / "wrong-predicate.bundle.json"
    bundle = parse_bundle(path.read_bytes(), source=path.name)
    wanted = re.escape("unknown predicateType 'https://example.com/wrong-predicate/v1.0'")
    with pytest.raises(ManifestFormatError, match=wanted):
        bundle.statement()
