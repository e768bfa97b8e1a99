"""What every signing method shares: the `Signer` protocol, `SigningError`, ECDSA.

A `Signer` turns statement bytes (the canonical `model.manifest.json`) into bundle
bytes. How one is built from the user's options is signing_methods.py's business.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric import ec

from modelseal.bundle import PAYLOAD_TYPE, pae
from modelseal.errors import ModelsealError
from modelseal.keys import curve_hash


class SigningError(ModelsealError):
    """Signing could not be done (key, certificate, identity token or Sigstore service)."""


class Signer(Protocol):
    """Turns statement bytes into bundle bytes. ``session`` brackets a batch."""

    method: str

    def session(self) -> Iterator[None]: ...

    def sign(self, payload: bytes) -> bytes: ...


def ecdsa_sign(key: ec.EllipticCurvePrivateKey, payload: bytes) -> bytes:
    """The DSSE signature of ``payload`` with the digest OMS pairs with the key's curve."""
    return key.sign(pae(payload, PAYLOAD_TYPE), ec.ECDSA(curve_hash(key.public_key())))
