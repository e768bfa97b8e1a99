"""The signature step: what it establishes (`Checked`), what it trusts (`TrustAnchors`),
and which module checks each signing method (the verification method registry).

Each method module (key.py, certificate.py, keyless.py) provides two functions:

- ``check_signature(bundle, anchors) -> Checked`` verifies the bundle's signature
  against the trusted keys, roots or Sigstore trusted root, or raises
  `SignatureFailure` (or `NoTrustedSigner` when the policy trusts nobody at all);
- ``signer_rules_apply(policy) -> bool`` says whether the policy's signer rules
  (identity, issuer, repository, ...) must match the signer's certificate.

Modules are imported on first use, so verifying key signatures loads no Sigstore
code. Adding a method is one module plus one line in `METHOD_MODULES` (and the
signing side's registry, signing/registry.py, which this package never imports).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol, cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from modelseal.bundle import (
    METHOD_CERTIFICATE,
    METHOD_KEY,
    METHOD_SIGSTORE,
    Bundle,
    BundleError,
    pae,
    pae_legacy,
)
from modelseal.fulcio import SignerFacts
from modelseal.keys import curve_hash
from modelseal.policy import Policy
from modelseal.signer import SignerInfo
from modelseal.verifying.results import SignatureFailure
from modelseal.verifying.trustroot import SigstoreTrust

# bundle method (see bundle.py) -> the module that verifies it
METHOD_MODULES = {
    METHOD_KEY: "modelseal.verifying.key",
    METHOD_CERTIFICATE: "modelseal.verifying.certificate",
    METHOD_SIGSTORE: "modelseal.verifying.keyless",
}


@dataclass
class Checked:
    """What the signature step established: the verified payload and who signed it.

    ``facts`` are the signer's certificate claims (certificate and keyless methods),
    ``signed_at`` the trusted signing time and ``time_source`` where it comes from.
    """

    payload: bytes
    signer: SignerInfo
    facts: SignerFacts | None = None
    signed_at: datetime | None = None
    time_source: str = "none"
    warnings: list[str] = field(default_factory=list)


@dataclass
class TrustAnchors:
    """What signatures are checked against, loaded once per run: the policy's public
    keys and certificate roots, and the Sigstore trusted root (loaded on first use)."""

    policy: Policy
    keys: list[tuple[Path, PublicKeyTypes]]
    roots: list[x509.Certificate]
    sigstore: SigstoreTrust


class SignatureMethod(Protocol):
    """What a method module provides (see the module docstring)."""

    def check_signature(self, bundle: Bundle, anchors: TrustAnchors) -> Checked: ...

    def signer_rules_apply(self, policy: Policy) -> bool: ...


def method_checker(method: str) -> SignatureMethod:
    """The module that verifies signatures made with ``method``."""
    name = METHOD_MODULES.get(method)
    if name is None:
        raise BundleError(f"the bundle is signed with an unknown method {method!r}")
    return cast(SignatureMethod, importlib.import_module(name))


def check_signature(bundle: Bundle, anchors: TrustAnchors) -> Checked:
    """Verify ``bundle``'s signature with the module of its method."""
    return method_checker(bundle.method).check_signature(bundle, anchors)


def verify_dsse(key: ec.EllipticCurvePublicKey, bundle: Bundle) -> None:
    """Check the DSSE signature; old model-signing encodings are accepted for old bundles."""
    attempts = [(pae(bundle.payload, bundle.payload_type), curve_hash(key))]
    legacy = pae_legacy(bundle.payload, bundle.payload_type)
    attempts += [(legacy, curve_hash(key)), (legacy, hashes.SHA256())]
    for message, digest in attempts:
        try:
            key.verify(bundle.signature, message, ec.ECDSA(digest))
            return
        except InvalidSignature:
            continue
    raise SignatureFailure("the signature does not match the signed statement (the payload or "
                           "the signature was altered, or another key signed it)")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, whitespace folded (its type if empty)."""
    text = str(exc).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(exc).__name__
