"""Verifying OMS signatures of models: the public names, re-exported from the package.

- results.py: statuses, failed checks and `VerificationResult` (plain data);
- options.py: `VerifyOptions` and the `FileSource` hook of store copies;
- trustroot.py: the Sigstore trusted root (TUF, embedded, or a trust config);
- signature.py: the signature step and the registry of method modules, one per
  signing method: key.py, certificate.py, keyless.py;
- files.py: the files step (re-hash as the signature says, path safety);
- verifier.py: the orchestration, `Verifier`, `verify_target`, `verify_targets`.

Importing this package loads no Sigstore code and no signing code (signing/): a
verifier needs neither, and the `sigstore` library is imported only when a keyless
signature is checked.
"""

from __future__ import annotations

from modelseal.verifying.options import FileSource, VerifyOptions
from modelseal.verifying.results import (
    CHECK_BUNDLE,
    CHECK_FILES,
    CHECK_POLICY,
    CHECK_SIGNATURE,
    SIGNATURE_FORMAT,
    STATUS_FAILED,
    STATUS_UNSIGNED,
    STATUS_VERIFIED,
    NoTrustedSigner,
    SignatureFailure,
    SignatureInfo,
    VerificationResult,
)
from modelseal.verifying.trustroot import SigstoreTrust
from modelseal.verifying.verifier import Verifier, verify_target, verify_targets

__all__ = [
    "CHECK_BUNDLE",
    "CHECK_FILES",
    "CHECK_POLICY",
    "CHECK_SIGNATURE",
    "SIGNATURE_FORMAT",
    "STATUS_FAILED",
    "STATUS_UNSIGNED",
    "STATUS_VERIFIED",
    "FileSource",
    "NoTrustedSigner",
    "SignatureFailure",
    "SignatureInfo",
    "SigstoreTrust",
    "VerificationResult",
    "Verifier",
    "VerifyOptions",
    "verify_target",
    "verify_targets",
]
