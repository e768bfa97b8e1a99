"""The `certificate` method: an EC key whose X.509 certificate (and chain) go into the bundle.

The certificate must be usable now and be one verification accepts (an end-entity
code-signing certificate matching the key): a signature nobody could verify is
refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from modelseal.bundle import build_bundle, certificate_material
from modelseal.errors import UsageError
from modelseal.keys import load_certificates, signing_certificate_problem
from modelseal.signing.base import ecdsa_sign
from modelseal.signing.key import private_key
from modelseal.signing_methods import SignerRequest


class CertificateSigner:
    """Signs with an EC key whose certificate (and chain) go into the bundle."""

    method = "certificate"

    def __init__(self, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate,
                 chain: Sequence[x509.Certificate], *, where: str = "--cert") -> None:
        if certificate.public_key() != key.public_key():
            raise UsageError(f"{where}: the certificate's public key does not match the "
                             "private key")
        _check_usable_now(certificate, where)
        problem = signing_certificate_problem(certificate)
        if problem is not None:
            raise UsageError(f"{where}: this certificate cannot sign models ({problem}); "
                             "verification would refuse it")
        self._key = key
        self._chain = [certificate, *chain]

    @classmethod
    def from_files(cls, key: ec.EllipticCurvePrivateKey, cert_path: Path,
                   chain_paths: Sequence[Path]) -> CertificateSigner:
        """The signer for the PEM certificate at ``cert_path`` and its intermediates."""
        certs = load_certificates([cert_path], "certificate")
        return cls(key, certs[0], load_certificates(chain_paths, "chain file"),
                   where=str(cert_path))

    def session(self) -> Iterator[None]:
        yield

    def sign(self, payload: bytes) -> bytes:
        der = [cert.public_bytes(serialization.Encoding.DER) for cert in self._chain]
        return build_bundle(certificate_material(der), payload, ecdsa_sign(self._key, payload))


def build(request: SignerRequest) -> CertificateSigner:
    """A `CertificateSigner` for ``--key``, ``--cert`` and ``--chain``."""
    key = private_key(request, "certificate")
    if request.cert is None:
        raise UsageError("--method certificate needs --cert CERT_PEM (and usually --chain)")
    return CertificateSigner.from_files(key, request.cert, request.chain)


def _check_usable_now(certificate: x509.Certificate, where: str) -> None:
    now = datetime.now(timezone.utc)
    if now > certificate.not_valid_after_utc:
        raise UsageError(f"{where}: the signing certificate expired on "
                         f"{certificate.not_valid_after_utc:%Y-%m-%d}")
    if now < certificate.not_valid_before_utc:
        raise UsageError(f"{where}: the signing certificate is not valid before "
                         f"{certificate.not_valid_before_utc:%Y-%m-%d}")
