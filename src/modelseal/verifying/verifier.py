"""Verifying models: bundle -> signature -> policy -> files, into a `VerificationResult`.

`Verifier.verify` never raises for a problem with one model (a bad bundle, a wrong
key, a policy violation, changed files): it returns a result saying which check
failed and why, so reports can show every model. Only problems with the run itself
(unreadable key files, an invalid policy) raise, as usage errors, when the
`Verifier` is built.

The signature step is delegated to the module of the bundle's method (see
signature.py); the files step to files.py, or to a `FileSource` for store copies.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from modelseal.bundle import Bundle, read_bundle_file
from modelseal.errors import ModelsealError, UsageError
from modelseal.hashing import RunDigests
from modelseal.keys import load_certificates, load_public_keys
from modelseal.manifest import Manifest, ManifestDiff
from modelseal.policy import PolicyViolation, check_not_before, check_signer
from modelseal.targets import ModelTarget
from modelseal.verifying.files import check_files
from modelseal.verifying.options import FileSource, VerifyOptions
from modelseal.verifying.results import (
    CHECK_BUNDLE,
    CHECK_FILES,
    CHECK_POLICY,
    CHECK_SIGNATURE,
    STATUS_FAILED,
    STATUS_UNSIGNED,
    STATUS_VERIFIED,
    NoTrustedSigner,
    SignatureFailure,
    SignatureInfo,
    VerificationResult,
)
from modelseal.verifying.signature import (
    Checked,
    TrustAnchors,
    check_signature,
    first_line,
    method_checker,
)
from modelseal.verifying.trustroot import SigstoreTrust
from modelseal.words import plural


class Verifier:
    """Verifies models against one policy; loads keys, roots and the trusted root once."""

    def __init__(self, options: VerifyOptions, fresh: RunDigests | None = None) -> None:
        self.options = options
        self.fresh = fresh  # digests this run hashed from disk (a report's check)
        policy = options.policy
        self.anchors = TrustAnchors(
            policy, load_public_keys(policy.keys),
            load_certificates(policy.certificate_roots, "certificate root"),
            SigstoreTrust(offline=options.offline, trust_config=options.trust_config))

    @property
    def notices(self) -> list[str]:
        """What the run should tell the user (e.g. a trusted-root fallback)."""
        return self.anchors.sigstore.notices

    def verify(self, target: ModelTarget,
               source: FileSource | None = None) -> VerificationResult:
        """Verify one model; ``source`` re-hashes a model that is not a directory."""
        sig_path = self.options.signature or target.signature_path
        if not os.path.lexists(sig_path):
            return self._unsigned(target, sig_path)
        bundle: Bundle | None = None
        checked: Checked | None = None
        step = CHECK_BUNDLE
        try:
            bundle = read_bundle_file(sig_path, display=_display(sig_path))
            step = CHECK_SIGNATURE
            checked = check_signature(bundle, self.anchors)
            step = CHECK_BUNDLE
            signed = _statement(bundle, checked.payload)
            step = CHECK_POLICY
            self._check_policy(bundle.method, checked)
            step = CHECK_FILES
            diff = self._check_files(target, signed, sig_path, source)
        except NoTrustedSigner as exc:
            assert bundle is not None
            return self._not_verified(target, sig_path, step, exc, bundle, source)
        except (ModelsealError, OSError) as exc:
            message = _exception_message(exc)
            return self._failed(target, sig_path, step, message, bundle, checked)
        if not diff.empty:
            count = plural(diff.changed_files, "file")
            message = f"files differ from the signed manifest ({count})"
            return replace(self._failed(target, sig_path, CHECK_FILES, message, bundle, checked),
                           signed_manifest=signed, diff=diff)
        assert bundle is not None and checked is not None
        return self._verified(target, sig_path, bundle, checked, signed, diff)

    def _unsigned(self, target: ModelTarget, sig_path: Path) -> VerificationResult:
        # Unsigned means nothing at all is there. A symlink (even a dangling one), a
        # directory or a FIFO in its place is a signature that cannot be read: the
        # bundle check fails on it, and no --allow-unsigned accepts that.
        where = sig_path.name if sig_path.parent == target.path else str(sig_path)
        return VerificationResult(target, sig_path, STATUS_UNSIGNED,
                                  f"unsigned: no signature ({where} is missing)",
                                  self.options.policy.strict,
                                  allow_unsigned=self.options.allow_unsigned)

    def _verified(self, target: ModelTarget, sig_path: Path, bundle: Bundle, checked: Checked,
                  signed: Manifest, diff: ManifestDiff) -> VerificationResult:
        files = plural(len({r.path for r in signed.resources}), "file")
        return VerificationResult(
            target, sig_path, STATUS_VERIFIED,
            f"verified ({files}, signed by {checked.signer.display})",
            self.options.policy.strict, None, bundle.method, checked.signer,
            SignatureInfo(bundle.digest, True, checked.signer.display, checked.signed_at),
            signed, checked.signed_at, checked.time_source, diff, tuple(checked.warnings))

    def _not_verified(self, target: ModelTarget, sig_path: Path, step: str,
                      exc: NoTrustedSigner, bundle: Bundle,
                      source: FileSource | None) -> VerificationResult:
        """No signer is trusted, so the signature proves nothing: "signed, not verified".
        Files that differ from the statement it carries (or that cannot be read) are still
        an error, never explained away as a missing policy."""
        try:
            signed = bundle.statement()
            diff = self._check_files(target, signed, sig_path, source)
        except (ModelsealError, OSError) as files_exc:
            return self._failed(target, sig_path, CHECK_FILES, _exception_message(files_exc),
                                bundle, None)
        if not diff.empty:
            message = (f"files differ from the manifest in the signature "
                       f"({plural(diff.changed_files, 'file')}); besides, {exc}")
            return replace(self._failed(target, sig_path, CHECK_FILES, message, bundle, None),
                           signed_manifest=signed, diff=diff)
        return replace(self._failed(target, sig_path, step, _exception_message(exc), bundle,
                                    None), no_trusted_signer=True)

    def _failed(self, target: ModelTarget, sig_path: Path, step: str, message: str,
                bundle: Bundle | None, checked: Checked | None) -> VerificationResult:
        signer = checked.signer if checked else None
        signature = None
        if bundle is not None:
            signature = SignatureInfo(bundle.digest, False, signer.display if signer else None,
                                      checked.signed_at if checked else None)
        return VerificationResult(
            target, sig_path, STATUS_FAILED, f"{step}: {message}", self.options.policy.strict,
            step, bundle.method if bundle else None, signer, signature, None,
            checked.signed_at if checked else None, checked.time_source if checked else None,
            None, tuple(checked.warnings) if checked else ())

    def _check_policy(self, method: str, checked: Checked) -> None:
        policy = self.options.policy
        if method_checker(method).signer_rules_apply(policy):
            assert checked.facts is not None
            if policy.trusts_nobody:
                raise NoTrustedSigner(
                    "signed keylessly (Sigstore)", "say who may sign: pass --identity or "
                    "--identity-regex with --issuer, or --repository, or set policy.signers "
                    "in .modelseal.yaml")
            try:
                check_signer(policy, checked.facts)
            except UsageError as exc:
                raise PolicyViolation(str(exc)) from None
        check_not_before(policy, checked.signed_at, checked.time_source)

    def _check_files(self, target: ModelTarget, signed: Manifest, sig_path: Path,
                     source: FileSource | None) -> ManifestDiff:
        if source is not None:
            return source.check_files(signed, self.options)
        return check_files(target, signed, sig_path, self.options, self.fresh)


def verify_target(target: ModelTarget, options: VerifyOptions) -> VerificationResult:
    """Verify one model (see `Verifier` to verify several with one setup)."""
    return Verifier(options).verify(target)


def verify_targets(targets: Sequence[ModelTarget], options: VerifyOptions,
                   fresh: RunDigests | None = None
                   ) -> tuple[list[VerificationResult], list[str]]:
    """Verify several models; also returns notices (e.g. a trusted-root fallback).

    ``fresh``: digests this run already hashed from disk (see `hashing.RunDigests`).
    """
    if options.signature is not None and len(targets) != 1:
        raise UsageError("--signature names one bundle; pass exactly one model path with it")
    verifier = Verifier(options, fresh)
    results = [verifier.verify(target) for target in targets]
    return results, verifier.notices


def _statement(bundle: Bundle, verified_payload: bytes) -> Manifest:
    if verified_payload != bundle.payload:
        raise SignatureFailure("the verified payload differs from the bundle's payload")
    return bundle.statement()


def _display(path: Path) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def _exception_message(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return first_line(exc)
