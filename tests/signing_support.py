"""Helpers shared by the signing tests: keys, a throwaway PKI, Fulcio-like certificates,
the OMS schemas."""

from __future__ import annotations

import base64
import contextlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from modelseal import cli
from modelseal.bundle import build_bundle, key_material, pae

NOW = datetime.now(timezone.utc)
FULCIO = "1.3.6.1.4.1.57264.1."


def run_cli(args: list[str], capsys: Any) -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey,
                      password: bytes | None = None) -> Path:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password
        else serialization.NoEncryption())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8, encryption))
    return path


def write_public_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def der_utf8(text: str) -> bytes:
    """A DER UTF8String, as Fulcio encodes its newer extensions."""
    raw = text.encode()
    if len(raw) < 128:
        return bytes([0x0C, len(raw)]) + raw
    size = len(raw).to_bytes(2, "big")
    return bytes([0x0C, 0x82]) + size + raw


def make_certificate(subject: str, public_key: ec.EllipticCurvePublicKey, *,
                     issuer: x509.Certificate | None = None,
                     issuer_key: CertificateIssuerPrivateKeyTypes,
                     ca: bool, not_before: datetime = NOW - timedelta(days=1),
                     not_after: datetime = NOW + timedelta(days=30),
                     san: x509.GeneralName | None = None,
                     fulcio: dict[str, str] | None = None,
                     code_signing: bool = True) -> x509.Certificate:
    """A certificate with the extensions WebPKI path building expects."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name = issuer.subject if issuer else name
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer_name)
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                              critical=False))
    authority = issuer.public_key() if issuer else public_key
    assert isinstance(authority, ec.EllipticCurvePublicKey)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(authority), critical=False)
    usage = dict(digital_signature=not ca or code_signing, content_commitment=False,
                 key_encipherment=False, data_encipherment=False, key_agreement=False,
                 key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False)
    if not ca and not code_signing:
        usage["digital_signature"] = False
        usage["key_encipherment"] = True
    builder = builder.add_extension(x509.KeyUsage(**usage), critical=True)
    if not ca and code_signing:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([san]), critical=False)
    for oid, value in (fulcio or {}).items():
        raw = value.encode() if int(oid.rsplit(".", 1)[1]) <= 6 else der_utf8(value)
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), raw), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def pem(*certificates: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


@dataclass
class Pki:
    """root -> intermediate -> leaf, written as PEM files in ``directory``."""

    directory: Path
    root: x509.Certificate
    intermediate: x509.Certificate
    leaf: x509.Certificate
    leaf_key: ec.EllipticCurvePrivateKey
    intermediate_key: ec.EllipticCurvePrivateKey

    @property
    def root_pem(self) -> Path:
        return self.directory / "root.pem"

    @property
    def chain_pem(self) -> Path:
        return self.directory / "intermediate.pem"

    @property
    def leaf_pem(self) -> Path:
        return self.directory / "leaf.pem"

    @property
    def key_pem(self) -> Path:
        return self.directory / "leaf-key.pem"


def make_pki(directory: Path, curve: ec.EllipticCurve | None = None, *,
             leaf_not_before: datetime = NOW - timedelta(days=1),
             leaf_not_after: datetime = NOW + timedelta(days=30),
             intermediate_not_after: datetime = NOW + timedelta(days=365),
             code_signing: bool = True) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    root_key = ec.generate_private_key(ec.SECP384R1())
    root = make_certificate("test root", root_key.public_key(), issuer_key=root_key, ca=True,
                            not_before=NOW - timedelta(days=3650),
                            not_after=NOW + timedelta(days=3650))
    int_key = ec.generate_private_key(ec.SECP384R1())
    intermediate = make_certificate("test intermediate", int_key.public_key(), issuer=root,
                                    issuer_key=root_key, ca=True,
                                    not_before=NOW - timedelta(days=3000),
                                    not_after=intermediate_not_after)
    leaf_key = ec.generate_private_key(curve or ec.SECP256R1())
    leaf = make_certificate("model signer", leaf_key.public_key(), issuer=intermediate,
                            issuer_key=int_key, ca=False, not_before=leaf_not_before,
                            not_after=leaf_not_after,
                            san=x509.RFC822Name("signer@example.com"),
                            code_signing=code_signing)
    pki = Pki(directory, root, intermediate, leaf, leaf_key, int_key)
    pki.root_pem.write_bytes(pem(root))
    pki.chain_pem.write_bytes(pem(intermediate))
    pki.leaf_pem.write_bytes(pem(leaf))
    write_private_key(pki.key_pem, leaf_key)
    return pki


def statement_bytes(resources: list[dict[str, Any]], *, name: str = "model",
                    predicate_type: str = "https://model_signing/signature/v1.0",
                    hash_type: str = "sha256", subject_digest: str | None = None) -> bytes:
    """A statement with arbitrary (possibly hostile) resources, for bad-input tests."""
    import hashlib

    root = hashlib.sha256()
    for resource in resources:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            root.update(bytes.fromhex(resource["digest"]))
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": name, "digest": {"sha256": subject_digest or root.hexdigest()}}],
        "predicateType": predicate_type,
        "predicate": {
            "serialization": {"method": "files", "hash_type": hash_type,
                              "allow_symlinks": False},
            "resources": resources,
        },
    }
    return json.dumps(statement).encode()


def key_signed_bundle(key: ec.EllipticCurvePrivateKey, payload: bytes) -> bytes:
    """A correctly signed key bundle around any payload."""
    signature = key.sign(pae(payload), ec.ECDSA(hashes.SHA256()
                                                if key.curve.key_size == 256
                                                else hashes.SHA384()
                                                if key.curve.key_size == 384
                                                else hashes.SHA512()))
    return build_bundle(key_material(key.public_key()), payload, signature)


def bundle_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_bytes())  # type: ignore[no-any-return]


def payload_of(path: Path) -> bytes:
    return base64.b64decode(bundle_json(path)["dsseEnvelope"]["payload"])


def recertified_fixture_leaf(fixtures: Path, directory: Path) -> Path:
    """A proper code-signing leaf (CA:FALSE) for the OMS fixtures' signing key.

    model-signing's test PKI issues its signing certificate with CA:TRUE, which
    modelseal refuses for a signer. The same key, certified by the same intermediate
    as an end entity, lets the interop tests keep using the reference's keys and
    bundles (a DSSE signature covers the payload, not the certificate).
    """
    certs = fixtures / "keys" / "certificate"
    intermediate = x509.load_pem_x509_certificate((certs / "int-ca-cert.pem").read_bytes())
    int_key = serialization.load_pem_private_key((certs / "int-ca-priv.pem").read_bytes(), None)
    public = serialization.load_pem_public_key((certs / "signing-key-pub.pem").read_bytes())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert isinstance(int_key, rsa.RSAPrivateKey)
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=False, crl_sign=False, encipher_only=False,
                          decipher_only=False)
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signing-key")]))
            .issuer_name(intermediate.subject).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                intermediate.extensions.get_extension_for_class(
                    x509.SubjectKeyIdentifier).value), critical=False)
            .sign(int_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "signing-key-leaf.pem"
    path.write_bytes(pem(leaf))
    return path


def recertify_bundle(bundle: Path, leaf_pem: Path) -> None:
    """Swap the leaf of a certificate bundle for ``leaf_pem`` (same key), in place."""
    data = bundle_json(bundle)
    leaf = x509.load_pem_x509_certificate(leaf_pem.read_bytes())
    chain = data["verificationMaterial"]["x509CertificateChain"]["certificates"]
    chain[0] = {"rawBytes": base64.b64encode(
        leaf.public_bytes(serialization.Encoding.DER)).decode()}
    bundle.write_text(json.dumps(data))


def oms_validator(oms_spec: Path, name: str) -> Any:
    """A validator for one of the OMS spec's JSON schemas (``name``), refs resolved."""
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    schemas = {p.name: json.loads(p.read_text()) for p in (oms_spec / "schemas").glob("*.json")}
    registry = referencing.Registry().with_resources(
        (schema["$id"], referencing.Resource.from_contents(schema))
        for schema in schemas.values())
    return jsonschema.Draft202012Validator(schemas[name], registry=registry)


def key_pair(folder: Path, private: str = "signer.pem",
             public: str = "signer.pub.pem") -> tuple[Path, Path]:
    """A fresh P-256 key pair written into ``folder``: (private PEM, public PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return write_private_key(folder / private, key), write_public_key(folder / public, key)
