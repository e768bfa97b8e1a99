"""Certificate Transparency log stand-in: signs RFC 6962 precertificate SCTs.

The stack does not run a real CT log; it only needs to produce SCTs that
verify against a CT key listed in the trusted root's ``ctlogs``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from .encoding import der_octet_string, key_id

SCT_LIST_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
_SCT_V1 = 0
_CERTIFICATE_TIMESTAMP = 0
_PRECERT_ENTRY = 1
_HASH_SHA256 = 4
_SIG_ECDSA = 3


def _u24(length: int) -> bytes:
    """Encode a TLS uint24 length prefix."""
    if length >= 1 << 24:
        raise ValueError("TBS certificate too large for a CT entry")
    return length.to_bytes(3, "big")


def precert_signed_data(tbs: bytes, issuer_key_hash: bytes, timestamp_ms: int) -> bytes:
    """Build the RFC 6962 ``digitally-signed`` input for a precert entry (no extensions)."""
    head = struct.pack("!BBQH", _SCT_V1, _CERTIFICATE_TIMESTAMP, timestamp_ms, _PRECERT_ENTRY)
    return head + issuer_key_hash + _u24(len(tbs)) + tbs + struct.pack("!H", 0)


@dataclass(frozen=True)
class CTLog:
    """A CT log signing key that issues SCTs for precertificates."""

    key: ec.EllipticCurvePrivateKey

    @property
    def log_id(self) -> bytes:
        """The 32-byte log ID (SHA-256 of the log's public key)."""
        return key_id(self.key.public_key())

    def sct_for_precert(self, tbs: bytes, issuer_key_hash: bytes, timestamp_ms: int) -> bytes:
        """Return one TLS-serialised v1 SCT over a precertificate TBS."""
        data = precert_signed_data(tbs, issuer_key_hash, timestamp_ms)
        signature = self.key.sign(data, ec.ECDSA(hashes.SHA256()))
        return (
            struct.pack("!B", _SCT_V1)
            + self.log_id
            + struct.pack("!QH", timestamp_ms, 0)
            + struct.pack("!BBH", _HASH_SHA256, _SIG_ECDSA, len(signature))
            + signature
        )


def sct_list_extension(scts: list[bytes]) -> x509.UnrecognizedExtension:
    """Wrap serialised SCTs as the X.509 embedded-SCT-list extension value."""
    body = b"".join(struct.pack("!H", len(sct)) + sct for sct in scts)
    tls_list = struct.pack("!H", len(body)) + body
    return x509.UnrecognizedExtension(SCT_LIST_OID, der_octet_string(tls_list))
