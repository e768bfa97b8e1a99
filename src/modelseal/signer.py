"""Who signed a model: the facts a verified signature proves, shared by verification
results and reports (kept free of crypto imports so reports render without them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


def format_time(moment: datetime) -> str:
    """UTC, to the second, ISO 8601 with a Z: how every time is shown and stored."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def time_json(moment: datetime | None) -> str | None:
    return format_time(moment) if moment else None


@dataclass(frozen=True)
class SignerInfo:
    """Who signed, as far as the signature proves it.

    ``method``: key, certificate or sigstore. ``identity``: the certificate's e-mail
    or URI (sigstore, certificate). ``issuer``: the OIDC issuer (sigstore).
    ``repository``/``workflow``/``ref``/``commit``/``run_url``: CI provenance from
    Fulcio extensions, where present. ``build_signer_uri``: the workflow that signed
    (may be a reusable one). ``key_hint``: hex SHA-256 of the signing public key
    (key method). ``certificate_subject``/``certificate_sha256``: the signing
    certificate (certificate, sigstore). ``rekor_log_index``/``integrated_time``:
    the transparency log entry (sigstore).
    """

    method: str
    identity: str | None = None
    issuer: str | None = None
    repository: str | None = None
    workflow: str | None = None
    ref: str | None = None
    commit: str | None = None
    run_url: str | None = None
    build_signer_uri: str | None = None
    key_hint: str | None = None
    certificate_subject: str | None = None
    certificate_sha256: str | None = None
    rekor_log_index: int | None = None
    integrated_time: datetime | None = None

    @property
    def short(self) -> str:
        """A compact name for a table cell: ``owner/repo · sign.yml@main`` for CI
        signers, else the display name cut to 60 characters."""
        if self.repository and self.workflow:
            workflow = self.workflow.rsplit("/", 1)[-1]
            ref = (self.ref or "").removeprefix("refs/heads/").removeprefix("refs/tags/")
            return f"{self.repository} · {workflow}" + (f"@{ref}" if ref else "")
        if not (self.identity or self.certificate_subject) and self.key_hint:
            return f"key sha256:{self.key_hint[:16]}"
        name = self.display
        return name if len(name) <= 60 else name[:59] + "…"

    @property
    def display(self) -> str:
        """A short name for the signer: identity, certificate subject, or key hint."""
        if self.identity:
            return self.identity
        if self.certificate_subject:
            return self.certificate_subject
        return f"key sha256:{self.key_hint}" if self.key_hint else "unknown signer"

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "identity": self.identity,
            "issuer": self.issuer,
            "repository": self.repository,
            "workflow": self.workflow,
            "ref": self.ref,
            "commit": self.commit,
            "run_url": self.run_url,
            "build_signer_uri": self.build_signer_uri,
            "key_hint": self.key_hint,
            "certificate_subject": self.certificate_subject,
            "certificate_sha256": self.certificate_sha256,
            "rekor_log_index": self.rekor_log_index,
            "integrated_time": time_json(self.integrated_time),
        }
