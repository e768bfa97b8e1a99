"""Verifying `sigstore` (keyless) signatures: a Fulcio certificate and a Rekor entry.

The `sigstore` library checks the chain to a Fulcio CA of the trusted root at signing
time, the transparency log entry and the DSSE signature. Who signed is then a matter
of policy: a keyless signature always needs a signer rule (checked by the
orchestration, verifier.py, with our own messages). `sigstore` is imported here only
inside functions, when a keyless signature is actually checked.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from modelseal.bundle import METHOD_SIGSTORE, Bundle, BundleError
from modelseal.fulcio import SignerFacts, signer_facts
from modelseal.policy import Policy
from modelseal.signer import SignerInfo
from modelseal.verifying.results import SignatureFailure
from modelseal.verifying.signature import Checked, TrustAnchors, first_line

if TYPE_CHECKING:
    from sigstore.models import Bundle as SigstoreBundle


class _AcceptAnyIdentity:
    """sigstore needs an identity policy object; ours runs afterwards with better messages."""

    def verify(self, cert: x509.Certificate) -> None:
        return None


def check_signature(bundle: Bundle, anchors: TrustAnchors) -> Checked:
    """Verify ``bundle`` with the `sigstore` library against the trusted root."""
    parsed = _parse(bundle)
    payload = _verify_dsse(parsed, bundle, anchors)
    certificate = parsed.signing_certificate
    facts = signer_facts(certificate)
    entry = parsed.log_entry._inner
    integrated = (datetime.fromtimestamp(entry.integrated_time, tz=timezone.utc)
                  if entry.integrated_time else None)
    signed_at, source = integrated, "Rekor integrated time"
    if signed_at is None:
        signed_at, source = _tsa_time(parsed), "RFC 3161 timestamp"
    signer = _signer_info(certificate, facts, int(entry.log_index), integrated)
    return Checked(payload, signer, facts, signed_at, source)


def signer_rules_apply(policy: Policy) -> bool:
    """Always: a keyless certificate proves an identity, not that it may sign."""
    return True


def _parse(bundle: Bundle) -> SigstoreBundle:
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle as SigstoreBundle

    try:
        return SigstoreBundle.from_json(bundle.raw)
    except (SigstoreError, ValueError) as exc:
        raise BundleError(f"{bundle.source}: not a valid Sigstore bundle: "
                          f"{first_line(exc)}") from None


def _verify_dsse(parsed: SigstoreBundle, bundle: Bundle, anchors: TrustAnchors) -> bytes:
    """The verified DSSE payload; any failure is a `SignatureFailure` in one line."""
    from sigstore.errors import CertValidationError
    from sigstore.errors import Error as SigstoreError
    from sigstore.verify import Verifier as SigstoreVerifier

    try:
        verifier = SigstoreVerifier(trusted_root=anchors.sigstore.trusted_root())
        payload_type, payload = verifier.verify_dsse(parsed, _AcceptAnyIdentity())
    except CertValidationError as exc:
        raise SignatureFailure(f"Sigstore verification failed: the signing certificate does "
                               f"not chain to a Fulcio CA of the trusted root at signing "
                               f"time ({first_line(exc)})") from None
    except SigstoreError as exc:
        raise SignatureFailure(f"Sigstore verification failed: {first_line(exc)}") from None
    if payload_type != bundle.payload_type:
        raise SignatureFailure("Sigstore returned a different payload type than the bundle")
    return payload


def _signer_info(certificate: x509.Certificate, facts: SignerFacts, log_index: int,
                 integrated: datetime | None) -> SignerInfo:
    return SignerInfo(
        METHOD_SIGSTORE, identity=facts.identity, issuer=facts.issuer,
        repository=facts.repository, workflow=facts.workflow,
        ref=facts.source_repository_ref, commit=facts.source_repository_digest,
        run_url=facts.run_invocation_uri, build_signer_uri=facts.build_signer_uri,
        certificate_subject=certificate.subject.rfc4514_string() or None,
        certificate_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        rekor_log_index=log_index, integrated_time=integrated)


def _tsa_time(parsed: SigstoreBundle) -> datetime | None:
    data = parsed.verification_material.timestamp_verification_data
    if data is None:
        return None
    for response in data.rfc3161_timestamps:
        moment: datetime = response.tst_info.gen_time
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return None
