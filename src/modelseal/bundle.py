"""OMS bundles (`model.sig`): bounded reading, structural checks, DSSE helpers, writing.

A bundle is a Sigstore bundle v0.3 JSON document whose DSSE envelope carries the
manifest statement. This module only deals with the bytes and the JSON shape; it
checks no signature and imports no Sigstore code, so it is cheap to use anywhere.
Every read of an untrusted bundle is bounded (size before reading, nesting depth
before parsing) and every problem becomes a `BundleError` with a one-line message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from modelseal.errors import CheckFailed
from modelseal.manifest import Manifest
from modelseal.untrusted import UnsafeFile, json_nesting_exceeds, read_regular_file

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_MEDIA_PREFIX = "application/vnd.dev.sigstore.bundle"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_BUNDLE_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_CERTIFICATES = 16

# how a bundle was signed, read from its verification material (see `_material`); the
# user-facing names of the signing methods (signing_methods.py) are the same words
METHOD_KEY = "key"
METHOD_CERTIFICATE = "certificate"
METHOD_SIGSTORE = "sigstore"


class BundleError(CheckFailed):
    """A signature file is not a usable OMS bundle (size, JSON, structure, payload)."""


@dataclass(frozen=True)
class Bundle:
    """A structurally valid OMS bundle, not yet verified.

    ``raw`` is the file's bytes (its SHA-256 is the signature's identity),
    ``method`` is how it was signed (key, certificate or sigstore), ``payload`` the
    DSSE payload bytes and ``signature`` the raw DSSE signature bytes.
    ``key_hint`` (key method) is the hex SHA-256 of the signer's PEM public key,
    ``legacy_public_key`` the PEM key older bundles embed instead of a hint, and
    ``certificates`` the DER certificates (leaf first) of the certificate and
    sigstore methods.
    """

    raw: bytes
    source: str
    method: str
    payload_type: str
    payload: bytes
    signature: bytes
    key_hint: str | None = None
    legacy_public_key: bytes | None = None
    certificates: tuple[bytes, ...] = ()

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the bundle file, the `signature_uri` runtimes record."""
        return f"sha256:{hashlib.sha256(self.raw).hexdigest()}"

    def statement(self) -> Manifest:
        """The signed manifest. Call only after the signature has been verified."""
        if self.payload_type != PAYLOAD_TYPE:
            raise BundleError(f"{self.source}: DSSE payload type is {self.payload_type!r}, "
                              f"expected {PAYLOAD_TYPE!r}")
        data = loads_bounded(self.payload, f"{self.source}: signed statement")
        return Manifest.from_statement(data, source=f"{self.source}: signed statement")


def pae(payload: bytes, payload_type: str = PAYLOAD_TYPE) -> bytes:
    """DSSE v1 pre-authentication encoding: what the signature actually covers."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def pae_legacy(payload: bytes, payload_type: str = PAYLOAD_TYPE) -> bytes:
    """The encoding model-signing v0.2 signed by mistake (a Python ``bytes`` repr).

    Only used to verify old bundles, never to sign.
    """
    return f"DSSEV1 {len(payload_type)} {payload_type} {len(payload)} {payload!r}".encode()


def public_key_pem(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def key_hint(key: PublicKeyTypes) -> str:
    """Hex SHA-256 of the PEM SubjectPublicKeyInfo, as model-signing records it."""
    return hashlib.sha256(public_key_pem(key)).hexdigest()


def read_bundle_file(path: Path, *, display: str | None = None) -> Bundle:
    """Read and structurally check the bundle at ``path``; size is checked before reading."""
    source = display or str(path)
    try:
        data = read_regular_file(path, MAX_BUNDLE_BYTES)
    except FileNotFoundError:
        raise BundleError(f"signature {source} does not exist") from None
    except UnsafeFile as exc:
        raise BundleError(f"signature {source}: {exc}") from None
    except OSError as exc:
        raise BundleError(f"cannot read signature {source}: {exc.strerror}") from None
    return parse_bundle(data, source=source)


def parse_bundle(data: bytes, *, source: str = "bundle") -> Bundle:
    """Check the JSON shape of a bundle and pull out what verification needs."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"{source} is larger than {MAX_BUNDLE_BYTES} bytes; refusing to parse it")
    top = loads_bounded(data, source)
    reader = _Reader(source)
    if not isinstance(top, dict):
        raise reader.fail("is not a JSON object (expected a Sigstore bundle)")
    media_type = top.get("mediaType")
    if not isinstance(media_type, str) or not media_type.startswith(BUNDLE_MEDIA_PREFIX):
        raise reader.fail(f"mediaType {media_type!r} is not a Sigstore bundle media type")
    material = reader.object(top.get("verificationMaterial"), "verificationMaterial")
    envelope = reader.object(top.get("dsseEnvelope"), "dsseEnvelope")
    payload_type = envelope.get("payloadType")
    if not isinstance(payload_type, str):
        raise reader.fail("dsseEnvelope.payloadType is missing")
    if not payload_type.isascii():  # it is encoded into the signed bytes (PAE)
        try:
            payload_type.encode("utf-8")
        except UnicodeEncodeError:
            raise reader.fail("dsseEnvelope.payloadType is not valid Unicode") from None
    payload = reader.base64(envelope.get("payload"), "dsseEnvelope.payload")
    signature = _only_signature(reader, envelope.get("signatures"))
    method, hint, legacy_key, certificates = _material(reader, material)
    return Bundle(data, source, method, payload_type, payload, signature, hint, legacy_key,
                  certificates)


def loads_bounded(data: bytes, source: str) -> Any:
    """``json.loads`` after checking the nesting depth, so hostile input cannot recurse."""
    if not data.strip():
        raise BundleError(f"{source} is empty")
    if json_nesting_exceeds(data, MAX_JSON_DEPTH):
        raise BundleError(f"{source}: JSON nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"{source} is not valid JSON (truncated or corrupted?): "
                          f"{_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


class _Reader:
    """Field accessors that raise BundleError naming the bundle and the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str) -> BundleError:
        return BundleError(f"{self.source}: {message}")

    def object(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{where} is missing or not an object")
        return value

    def base64(self, value: Any, where: str) -> bytes:
        if not isinstance(value, str) or not value:
            raise self.fail(f"{where} is missing or empty")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise self.fail(f"{where} is not valid base64") from None


def _only_signature(reader: _Reader, signatures: Any) -> bytes:
    if not isinstance(signatures, list) or not signatures:
        raise reader.fail("dsseEnvelope.signatures is missing or empty")
    if len(signatures) != 1:
        raise reader.fail(f"dsseEnvelope has {len(signatures)} signatures; OMS bundles carry one")
    entry = reader.object(signatures[0], "dsseEnvelope.signatures[0]")
    return reader.base64(entry.get("sig"), "dsseEnvelope.signatures[0].sig")


def _material(reader: _Reader, material: dict[str, Any]
              ) -> tuple[str, str | None, bytes | None, tuple[bytes, ...]]:
    if "publicKey" in material:
        key = reader.object(material["publicKey"], "verificationMaterial.publicKey")
        hint = key.get("hint")
        if isinstance(hint, str) and hint:
            return METHOD_KEY, hint.lower(), None, ()
        if "rawBytes" in key:
            raw = reader.base64(key["rawBytes"], "verificationMaterial.publicKey.rawBytes")
            return METHOD_KEY, None, raw, ()
        raise reader.fail("verificationMaterial.publicKey has neither a hint nor rawBytes")
    if "x509CertificateChain" in material:
        chain = reader.object(material["x509CertificateChain"],
                              "verificationMaterial.x509CertificateChain")
        return METHOD_CERTIFICATE, None, None, _certificates(reader, chain.get("certificates"))
    if "certificate" in material:
        leaf = reader.object(material["certificate"], "verificationMaterial.certificate")
        der = reader.base64(leaf.get("rawBytes"), "verificationMaterial.certificate.rawBytes")
        entries = material.get("tlogEntries")
        if not isinstance(entries, list) or not entries:
            raise reader.fail("Sigstore bundle has no transparency log entries (tlogEntries); "
                              "it cannot be verified")
        return METHOD_SIGSTORE, None, None, (der,)
    raise reader.fail("verificationMaterial has no publicKey, x509CertificateChain or "
                      "certificate")


def _certificates(reader: _Reader, value: Any) -> tuple[bytes, ...]:
    if not isinstance(value, list) or not value:
        raise reader.fail("x509CertificateChain.certificates is missing or empty")
    if len(value) > MAX_CERTIFICATES:
        raise reader.fail(f"certificate chain has {len(value)} certificates "
                          f"(at most {MAX_CERTIFICATES})")
    return tuple(reader.base64(reader.object(item, "certificate").get("rawBytes"),
                               f"x509CertificateChain.certificates[{i}].rawBytes")
                 for i, item in enumerate(value))


def key_material(public_key: PublicKeyTypes) -> dict[str, Any]:
    """verificationMaterial of a key-signed bundle: the key's hint, no log entries."""
    return {"publicKey": {"hint": key_hint(public_key)}, "tlogEntries": []}


def certificate_material(certificates_der: list[bytes]) -> dict[str, Any]:
    """verificationMaterial of a certificate-signed bundle: the chain, leaf first."""
    return {
        "x509CertificateChain": {
            "certificates": [{"rawBytes": base64.b64encode(der).decode()}
                             for der in certificates_der],
        },
        "tlogEntries": [],
    }


def build_bundle(material: dict[str, Any], payload: bytes, signature: bytes) -> bytes:
    """A bundle v0.3 document, laid out as model-signing writes it (compact JSON)."""
    document = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": material,
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(signature).decode(), "keyid": ""}],
        },
    }
    return json.dumps(document, separators=(",", ":")).encode()
