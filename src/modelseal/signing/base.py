"""What the signing methods share: `SigningError`, ECDSA over the DSSE encoding.

The `Signer` protocol every method implements is declared with the method registry,
in signing_methods.py.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from modelseal.bundle import PAYLOAD_TYPE, pae
from modelseal.errors import ModelsealError
from modelseal.keys import curve_hash


class SigningError(ModelsealError):
    """Signing could not be done (key, certificate, identity token or Sigstore service)."""


def ecdsa_sign(key: ec.EllipticCurvePrivateKey, payload: bytes) -> bytes:
    """The DSSE signature of ``payload`` with the digest OMS pairs with the key's curve."""
    return key.sign(pae(payload, PAYLOAD_TYPE), ec.ECDSA(curve_hash(key.public_key())))
