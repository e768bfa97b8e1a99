"""Verifying `key` signatures: a bare EC key, trusted because the policy lists it.

The bundle names its key by a hint (hex SHA-256 of the PEM public key); bundles of
older model-signing versions embed the public key instead. Either way the key must be
one of the policy's trusted keys: a key the bundle carries is never trusted by itself.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from modelseal.bundle import METHOD_KEY, Bundle, BundleError, key_hint
from modelseal.keys import check_ec_key
from modelseal.policy import Policy
from modelseal.signer import SignerInfo
from modelseal.verifying.results import NoTrustedSigner, SignatureFailure
from modelseal.verifying.signature import Checked, TrustAnchors, verify_dsse


def check_signature(bundle: Bundle, anchors: TrustAnchors) -> Checked:
    """Verify ``bundle`` with the trusted key it names."""
    if not anchors.keys:
        hint = f" (hint {bundle.key_hint})" if bundle.key_hint else ""
        what, fix = f"signed with a private key{hint}", ("pass --key PUB_PEM or list the "
                                                         "public key in policy.keys")
        if anchors.policy.trusts_nobody:
            raise NoTrustedSigner(what, fix)
        raise SignatureFailure(f"{what}; {fix}")
    key = _matching_key(bundle, anchors)
    verify_dsse(key, bundle)
    signer = SignerInfo(METHOD_KEY, key_hint=key_hint(key))
    return Checked(bundle.payload, signer, time_source="none (key signatures carry no time)")


def signer_rules_apply(policy: Policy) -> bool:
    """Signer rules describe certificates; a key signature is governed by the keys alone."""
    return False


def _matching_key(bundle: Bundle, anchors: TrustAnchors) -> ec.EllipticCurvePublicKey:
    usable = [(path, check_ec_key(key, f"public key {path}")) for path, key in anchors.keys]
    if bundle.key_hint:
        found = [key for _, key in usable if key_hint(key) == bundle.key_hint]
        if not found:
            names = ", ".join(str(path) for path, _ in usable)
            raise SignatureFailure(f"unknown key hint {bundle.key_hint}: none of the trusted "
                                   f"public keys ({names}) matches it")
        return found[0]
    if bundle.legacy_public_key is not None:
        embedded = _load_embedded_key(bundle.legacy_public_key)
        for _, key in usable:
            if key.public_numbers() == embedded.public_numbers():
                return key
        raise SignatureFailure("signed with a public key that none of the trusted public "
                               "keys matches")
    raise SignatureFailure("the bundle does not say which key signed it")


def _load_embedded_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise BundleError("the bundle's embedded public key is not a PEM key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SignatureFailure("the bundle's embedded public key is not an EC key")
    return key
