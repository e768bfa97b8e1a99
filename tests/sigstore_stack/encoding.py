"""Small encoding helpers shared by the stack: base64url, DER and canonical JSON."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    """Encode ``data`` as unpadded base64url (JOSE style)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url text; raises ``ValueError`` on garbage."""
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def b64(data: bytes) -> str:
    """Encode ``data`` as standard padded base64 text."""
    return base64.b64encode(data).decode("ascii")


def der_length(length: int) -> bytes:
    """Encode a DER length field."""
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def der_utf8_string(value: str) -> bytes:
    """DER-encode ``value`` as an ASN.1 UTF8String (tag 0x0C)."""
    raw = value.encode("utf-8")
    return b"\x0c" + der_length(len(raw)) + raw


def der_octet_string(value: bytes) -> bytes:
    """DER-encode ``value`` as an ASN.1 OCTET STRING (tag 0x04)."""
    return b"\x04" + der_length(len(value)) + value


def canonical_json(obj: Any) -> bytes:
    """Serialise ``obj`` as RFC 8785-style canonical JSON (sorted keys, no spaces).

    Good enough for the values the stack produces (strings and integers).
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def spki_der(key: ec.EllipticCurvePublicKey) -> bytes:
    """Return the DER SubjectPublicKeyInfo of ``key``."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: ec.EllipticCurvePublicKey) -> bytes:
    """RFC 6962 key ID: SHA-256 over the DER SubjectPublicKeyInfo (used by CT and Rekor)."""
    return hashlib.sha256(spki_der(key)).digest()
