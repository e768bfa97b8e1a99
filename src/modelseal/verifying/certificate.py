"""Verifying `certificate` signatures: an EC key whose X.509 chain leads to a trusted root.

A certificate bundle carries no trusted timestamp, so the only time we can vouch for
is now: the leaf and its chain must be valid at verification time. The leaf must be
an end-entity code-signing certificate (see `keys.signing_certificate_problem`).
"""

from __future__ import annotations

from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import verification as x509_verification

from modelseal.bundle import METHOD_CERTIFICATE, Bundle, BundleError
from modelseal.fulcio import certificate_identity, signer_facts
from modelseal.keys import check_ec_key, signing_certificate_problem
from modelseal.policy import Policy
from modelseal.signer import SignerInfo, format_time
from modelseal.verifying.results import NoTrustedSigner, SignatureFailure
from modelseal.verifying.signature import Checked, TrustAnchors, first_line, verify_dsse


def check_signature(bundle: Bundle, anchors: TrustAnchors) -> Checked:
    """Verify ``bundle``'s chain against the trusted roots, then its signature."""
    if not anchors.roots:
        what, fix = "signed with a certificate", ("pass --cert-chain ROOT_PEM or list the "
                                                  "root in policy.certificate_roots")
        if anchors.policy.trusts_nobody:
            raise NoTrustedSigner(what, fix)
        raise SignatureFailure(f"{what}; {fix}")
    chain = [_load_der_certificate(der) for der in bundle.certificates]
    leaf = chain[0]
    now = datetime.now(timezone.utc)
    _require_code_signing(leaf)
    _require_valid_at(leaf, now)
    _verify_chain(leaf, chain[1:], anchors.roots, now)
    key = check_ec_key(leaf.public_key(), "the signing certificate's key")
    verify_dsse(key, bundle)
    signer = SignerInfo(
        METHOD_CERTIFICATE, identity=certificate_identity(leaf),
        certificate_subject=leaf.subject.rfc4514_string(),
        certificate_sha256=leaf.fingerprint(hashes.SHA256()).hex())
    # notBefore is the earliest the signature can count from: what `not_before`
    # policies compare against (a certificate issued before the cut-off is refused)
    return Checked(bundle.payload, signer, signer_facts(leaf), leaf.not_valid_before_utc,
                   "certificate notBefore")


def signer_rules_apply(policy: Policy) -> bool:
    """Only when rules are set, but then one must match: a rule the user gave is never
    dropped because the chain happens to lead to a trusted root."""
    return bool(policy.signers)


def _verify_chain(leaf: x509.Certificate, intermediates: list[x509.Certificate],
                  roots: list[x509.Certificate], at: datetime) -> None:
    # The WebPKI end-entity profile wants a TLS client or server usage; a model signer's
    # leaf has codeSigning instead, which _require_code_signing checks (with CA:FALSE).
    verifier = (x509_verification.PolicyBuilder()
                .store(x509_verification.Store(roots))
                .time(at)
                .extension_policies(ca_policy=x509_verification.ExtensionPolicy.webpki_defaults_ca(),
                                    ee_policy=x509_verification.ExtensionPolicy.permit_all())
                .build_client_verifier())
    try:
        verifier.verify(leaf, intermediates)
    except x509_verification.VerificationError as exc:
        raise SignatureFailure(f"the certificate chain is not trusted at verification time "
                               f"{format_time(at)}: {first_line(exc)}") from None


def _require_valid_at(leaf: x509.Certificate, at: datetime) -> None:
    if at < leaf.not_valid_before_utc:
        raise SignatureFailure(f"the signing certificate is not valid until "
                               f"{format_time(leaf.not_valid_before_utc)}")
    if at > leaf.not_valid_after_utc:
        raise SignatureFailure(f"the signing certificate expired on "
                               f"{format_time(leaf.not_valid_after_utc)}; without a trusted "
                               "timestamp its signature cannot be dated before that, so "
                               "re-sign with a current certificate")


def _require_code_signing(leaf: x509.Certificate) -> None:
    problem = signing_certificate_problem(leaf)
    if problem is not None:
        raise SignatureFailure(f"the signing certificate is not allowed to sign models: "
                               f"{problem}")


def _load_der_certificate(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise BundleError("the bundle holds a certificate that is not valid DER") from None
