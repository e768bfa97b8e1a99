"""The `key` method: an EC private key; the bundle names the public key by its hint."""

from __future__ import annotations

from collections.abc import Iterator

from cryptography.hazmat.primitives.asymmetric import ec

from modelseal.bundle import build_bundle, key_material
from modelseal.errors import UsageError
from modelseal.keys import load_private_key
from modelseal.signing.base import ecdsa_sign
from modelseal.signing_methods import SignerRequest


class KeySigner:
    """Signs with an EC private key; the bundle names the key by its hint."""

    method = "key"

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key

    def session(self) -> Iterator[None]:
        yield

    def sign(self, payload: bytes) -> bytes:
        return build_bundle(key_material(self._key.public_key()), payload,
                            ecdsa_sign(self._key, payload))


def build(request: SignerRequest) -> KeySigner:
    """A `KeySigner` for ``--key`` (decrypted with ``--password-env`` when given)."""
    return KeySigner(private_key(request, "key"))


def private_key(request: SignerRequest, method: str) -> ec.EllipticCurvePrivateKey:
    """The ``--key`` a key-based method needs, loaded and checked."""
    if request.key is None:
        raise UsageError(f"--method {method} needs --key PRIV_PEM")
    return load_private_key(request.key, request.password_env)
