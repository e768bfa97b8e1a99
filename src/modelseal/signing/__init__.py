"""Signing models: the manifest statement, wrapped in a DSSE envelope, in an OMS bundle.

- prepare.py: the flow every method shares (`prepare`, `sign_models`, `write_signed`);
- base.py: `SigningError` and ECDSA signing; the `Signer` protocol is in signing_methods.py;
- one module per method: key.py (`KeySigner`), certificate.py (`CertificateSigner`),
  keyless.py (`SigstoreSigner`, which imports `sigstore` only while signing).

Which methods exist, and how a signer is built from the user's options, is decided by
the registry in signing_methods.py. Verification (verifying/) never imports this package.
"""

from __future__ import annotations

from modelseal.signing.base import SigningError
from modelseal.signing.certificate import CertificateSigner
from modelseal.signing.key import KeySigner
from modelseal.signing.keyless import SigstoreSigner, TokenSource, sigstore_trust_config
from modelseal.signing.prepare import (
    PreparedModel,
    StaleManifest,
    prepare,
    sign_models,
    write_signed,
)
from modelseal.signing_methods import Signer

__all__ = [
    "CertificateSigner",
    "KeySigner",
    "PreparedModel",
    "Signer",
    "SigningError",
    "SigstoreSigner",
    "StaleManifest",
    "TokenSource",
    "prepare",
    "sign_models",
    "sigstore_trust_config",
    "write_signed",
]
