"""Tiny stdlib client for the stack's Fulcio, for tests that need a bare certificate."""

from __future__ import annotations

import base64
import json
import urllib.request
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


@dataclass(frozen=True)
class IssuedCertificate:
    """A private key with its Fulcio leaf certificate and issuer chain."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: list[x509.Certificate]

    def chain_pem(self) -> bytes:
        """Leaf followed by the chain, PEM-concatenated (for certificate-file signing)."""
        certs = [self.certificate, *self.chain]
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)

    def key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def request_certificate(fulcio_url: str, token: str) -> IssuedCertificate:
    """POST a CSR for a fresh P-256 key to ``fulcio_url`` with ``token``.

    Raises ``urllib.error.HTTPError`` when Fulcio refuses.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
    pem = csr.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    body = json.dumps({"certificateSigningRequest": base64.b64encode(pem).decode()})
    request = urllib.request.Request(
        f"{fulcio_url}/api/v2/signingCert",
        data=body.encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        pems = json.load(response)["signedCertificateEmbeddedSct"]["chain"]["certificates"]
    certs = [x509.load_pem_x509_certificate(p.encode()) for p in pems]
    return IssuedCertificate(key, certs[0], certs[1:])
