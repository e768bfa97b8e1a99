"""What verification hands back: statuses, the check that failed, `VerificationResult`.

Plain data only (no cryptography): reports, hooks and the Action's glue read these
types without loading any signature code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from modelseal.errors import CheckFailed
from modelseal.manifest import Manifest, ManifestDiff
from modelseal.signer import SignerInfo, time_json
from modelseal.targets import ModelTarget

SIGNATURE_FORMAT = "oms-v1.0"

STATUS_VERIFIED = "verified"
STATUS_FAILED = "failed"
STATUS_UNSIGNED = "unsigned"

# the steps of a verification, in order: a failure names the one that failed
CHECK_BUNDLE = "bundle"
CHECK_SIGNATURE = "signature"
CHECK_POLICY = "policy"
CHECK_FILES = "files"


class SignatureFailure(CheckFailed):
    """The bundle's signature does not verify (tampered, wrong key, untrusted chain)."""


class NoTrustedSigner(CheckFailed):
    """The policy trusts no signer at all (no key, root or signer rule), so there is
    nothing to verify the signature against: not verified, and not proof of tampering
    either. `verify` fails on it like any failure; `report` says so. A policy that
    trusts someone else (another method) is a real failure, never this."""

    def __init__(self, what: str, fix: str) -> None:
        super().__init__(f"no trusted signer configured: {what}; to verify it, {fix}")


@dataclass(frozen=True)
class SignatureInfo:
    """The signature in the shape model runtimes record for signed manifests.

    ``format`` is always ``oms-v1.0``; ``signature_uri`` is ``sha256:<hex>`` of the
    bundle file's bytes; ``verified`` is true only when every check passed;
    ``signer`` is the signer's display name; ``signed_at`` the trusted signing time.
    """

    signature_uri: str
    verified: bool
    signer: str | None
    signed_at: datetime | None
    format: str = SIGNATURE_FORMAT

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "signature_uri": self.signature_uri,
            "verified": self.verified,
            "signer": self.signer,
            "signed_at": time_json(self.signed_at),
        }


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of verifying one model.

    ``status``: ``verified``, ``failed`` or ``unsigned``. ``failed_check`` says which
    step failed (``bundle``, ``signature``, ``policy`` or ``files``) and ``message``
    why, in one line. ``method``/``signer``/``signature`` describe the bundle when it
    could be read. ``signed_at`` is the trusted signing time and ``time_source``
    where it comes from (Rekor integrated time, RFC 3161 timestamp, certificate
    notBefore). ``diff`` lists added/removed/modified files when they differ from the
    signed manifest. ``strict`` is the policy's strictness and ``allow_unsigned`` the
    caller's explicit acceptance of unsigned models: an unsigned model is `ok` only
    with ``allow_unsigned`` and without ``strict``.
    """

    target: ModelTarget
    signature_path: Path
    status: str
    message: str
    strict: bool = False
    failed_check: str | None = None
    method: str | None = None
    signer: SignerInfo | None = None
    signature: SignatureInfo | None = None
    signed_manifest: Manifest | None = None
    signed_at: datetime | None = None
    time_source: str | None = None
    diff: ManifestDiff | None = None
    warnings: tuple[str, ...] = ()
    allow_unsigned: bool = False
    no_trusted_signer: bool = False  # failed only because the policy trusts no signer

    @property
    def ok(self) -> bool:
        """True when the model verified, or is unsigned and unsigned models were
        explicitly allowed (and the policy is not strict)."""
        return self.status == STATUS_VERIFIED or (
            self.status == STATUS_UNSIGNED and self.allow_unsigned and not self.strict)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.target.display,
            "signature_path": str(self.signature_path),
            "status": self.status,
            "ok": self.ok,
            "failed_check": self.failed_check,
            "message": self.message,
            "method": self.method,
            "signer": self.signer.to_json() if self.signer else None,
            "signed_at": time_json(self.signed_at),
            "time_source": self.time_source,
            "root_digest": (f"sha256:{self.signed_manifest.root_digest}"
                            if self.signed_manifest else None),
            "diff": self.diff.to_json() if self.diff else None,
            "signature": self.signature.to_json() if self.signature else None,
            "warnings": list(self.warnings),
        }
