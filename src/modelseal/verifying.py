"""Verifying models: bundle -> signature -> policy -> files, into a `VerificationResult`.

`verify_target` never raises for a problem with one model (a bad bundle, a wrong
key, a policy violation, changed files): it returns a result saying which check
failed and why, so reports can show every model. It raises only for problems with
the run itself (unreadable key files, an invalid policy), which are usage errors.

Files are always hashed from disk (never the stat cache; a report lends the digests
its own check hashed from disk in the same run, see `hashing.RunDigests`), with the
serialization the signature records (never the config's). Only the signature's
``ignore_paths`` and the user's ``--ignore`` are skipped. Only files the signature
lists are read: others are reported as added unread (see scope.py). With
``ignore_unsigned_files`` only the files the signature names are listed, each checked
to stay inside the model directory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification as x509_verification

from modelseal import lfs
from modelseal.bundle import (
    METHOD_CERTIFICATE,
    METHOD_KEY,
    METHOD_SIGSTORE,
    Bundle,
    BundleError,
    key_hint,
    pae,
    pae_legacy,
    read_bundle_file,
)
from modelseal.engine import HashRun, hash_listing
from modelseal.errors import CheckFailed, ModelPathError, ModelsealError, UsageError
from modelseal.hashing import RunDigests
from modelseal.manifest import Manifest, ManifestDiff, Serialization
from modelseal.policy import (
    Policy,
    PolicyViolation,
    SignerFacts,
    certificate_identity,
    check_not_before,
    check_signer,
    load_certificates,
    load_public_keys,
    signer_facts,
    signing_certificate_problem,
)
from modelseal.scope import SignedScope
from modelseal.signer import SignerInfo, format_time, time_json
from modelseal.signing import check_ec_key, curve_hash
from modelseal.targets import ModelTarget
from modelseal.walk import SINGLE_FILE_NAME, FileEntry, Listing, list_model
from modelseal.words import plural

if TYPE_CHECKING:
    from sigstore.models import TrustedRoot

SIGNATURE_FORMAT = "oms-v1.0"

STATUS_VERIFIED = "verified"
STATUS_FAILED = "failed"
STATUS_UNSIGNED = "unsigned"

CHECK_BUNDLE = "bundle"
CHECK_SIGNATURE = "signature"
CHECK_POLICY = "policy"
CHECK_FILES = "files"


class FileSource(Protocol):
    """A model whose files are not a plain directory (see stores/): it re-hashes itself."""

    def check_files(self, signed: Manifest, options: VerifyOptions) -> ManifestDiff: ...


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
class VerifyOptions:
    """How to verify: the policy, and where and how to look.

    ``signature`` overrides the bundle path (one model only); ``ignore`` adds paths
    to skip; ``ignore_unsigned_files`` checks only the files the signature lists;
    ``offline``/``trust_config`` choose the Sigstore trusted root; ``allow_unsigned``
    lets a model with no signature at all count as `ok` (never under a strict policy).
    """

    policy: Policy = field(default_factory=Policy)
    signature: Path | None = None
    ignore: tuple[str, ...] = ()
    ignore_unsigned_files: bool = False
    offline: bool = False
    trust_config: Path | None = None
    progress: bool | None = None
    allow_unsigned: bool = False


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


# --- the Sigstore trusted root -------------------------------------------------------


# A trusted root refreshed over TUF, kept for the life of the process. Only a success
# is kept: after a failed refresh the next verification tries again.
_REFRESHED_ROOT: TrustedRoot | None = None


class SigstoreTrust:
    """Loads the Sigstore trusted root once per run, noting any fallback it took."""

    def __init__(self, *, offline: bool = False, trust_config: Path | None = None) -> None:
        self.offline = offline
        self.trust_config = trust_config
        self.notices: list[str] = []
        self._root: TrustedRoot | None = None

    def trusted_root(self) -> TrustedRoot:
        if self._root is None:
            self._root = self._load()
        return self._root

    def _load(self) -> TrustedRoot:
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import ClientTrustConfig

        if self.trust_config is not None:
            return _trust_config_root(self.trust_config)
        if not self.offline:
            global _REFRESHED_ROOT
            if _REFRESHED_ROOT is not None:
                return _REFRESHED_ROOT
            try:
                _REFRESHED_ROOT = ClientTrustConfig.production().trusted_root
                return _REFRESHED_ROOT
            except (SigstoreError, OSError) as exc:
                reason = " ".join(str(exc).split()) or type(exc).__name__
                self.notices.append(f"could not refresh the Sigstore trusted root over TUF "
                                    f"({reason}); using the root embedded in the sigstore "
                                    "package")
        # sigstore warns on every offline load; the notice above says what matters
        logging.getLogger("sigstore._internal.tuf").setLevel(logging.ERROR)
        try:
            return ClientTrustConfig.production(offline=True).trusted_root
        except (SigstoreError, OSError, ValueError) as exc:
            raise SignatureFailure(f"cannot load the embedded Sigstore trusted root: "
                                   f"{exc}") from None


def _trust_config_root(path: Path) -> TrustedRoot:
    import json

    from sigstore.models import ClientTrustConfig, TrustedRoot

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read trust config {path}: {exc.strerror}") from None
    try:
        media_type = str(json.loads(text).get("mediaType", ""))
        if "trustedroot" in media_type.lower():
            return TrustedRoot.from_file(str(path))
        return ClientTrustConfig.from_json(text).trusted_root
    except (ValueError, AttributeError) as exc:
        raise UsageError(f"{path} is not a Sigstore trust config or trusted root: "
                         f"{str(exc).splitlines()[0] if str(exc) else exc}") from None


class _AcceptAnyIdentity:
    """sigstore needs an identity policy object; ours runs afterwards with better messages."""

    def verify(self, cert: x509.Certificate) -> None:
        return None


# --- verification -------------------------------------------------------------------


@dataclass
class _Checked:
    """What the signature step established."""

    payload: bytes
    signer: SignerInfo
    facts: SignerFacts | None = None
    signed_at: datetime | None = None
    time_source: str = "none"
    warnings: list[str] = field(default_factory=list)


class Verifier:
    """Verifies models against one policy; loads keys, roots and the trusted root once."""

    def __init__(self, options: VerifyOptions, fresh: RunDigests | None = None) -> None:
        self.options = options
        self.fresh = fresh  # digests this run hashed from disk (a report's check)
        self.keys = load_public_keys(options.policy.keys)
        self.roots = load_certificates(options.policy.certificate_roots, "certificate root")
        self.trust = SigstoreTrust(offline=options.offline, trust_config=options.trust_config)

    @property
    def notices(self) -> list[str]:
        return self.trust.notices

    def verify(self, target: ModelTarget,
               source: FileSource | None = None) -> VerificationResult:
        sig_path = self.options.signature or target.signature_path
        strict = self.options.policy.strict
        if not os.path.lexists(sig_path):
            # Unsigned means nothing at all is there. A symlink (even a dangling one), a
            # directory or a FIFO in its place is a signature that cannot be read: the
            # bundle check below fails on it, and no --allow-unsigned accepts that.
            where = sig_path.name if sig_path.parent == target.path else str(sig_path)
            return VerificationResult(target, sig_path, STATUS_UNSIGNED,
                                      f"unsigned: no signature ({where} is missing)", strict,
                                      allow_unsigned=self.options.allow_unsigned)
        bundle: Bundle | None = None
        checked: _Checked | None = None
        step = CHECK_BUNDLE
        try:
            bundle = read_bundle_file(sig_path, display=_display(sig_path))
            step = CHECK_SIGNATURE
            checked = self._check_signature(bundle)
            step = CHECK_BUNDLE
            signed = _statement(bundle, checked.payload)
            step = CHECK_POLICY
            self._check_policy(bundle.method, checked)
            step = CHECK_FILES
            diff = (source.check_files(signed, self.options) if source is not None
                    else self._check_files(target, signed, sig_path))
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
        return VerificationResult(
            target, sig_path, STATUS_VERIFIED,
            f"verified ({plural(len({r.path for r in signed.resources}), 'file')}, "
            f"signed by {checked.signer.display})",
            strict, None, bundle.method, checked.signer,
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
            diff = (source.check_files(signed, self.options) if source is not None
                    else self._check_files(target, signed, sig_path))
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
                bundle: Bundle | None, checked: _Checked | None) -> VerificationResult:
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

    # -- signature, by method

    def _check_signature(self, bundle: Bundle) -> _Checked:
        if bundle.method == METHOD_KEY:
            return self._check_key(bundle)
        if bundle.method == METHOD_CERTIFICATE:
            return self._check_certificate(bundle)
        return self._check_sigstore(bundle)

    def _check_key(self, bundle: Bundle) -> _Checked:
        if not self.keys:
            hint = f" (hint {bundle.key_hint})" if bundle.key_hint else ""
            what, fix = f"signed with a private key{hint}", ("pass --key PUB_PEM or list the "
                                                             "public key in policy.keys")
            if self.options.policy.trusts_nobody:
                raise NoTrustedSigner(what, fix)
            raise SignatureFailure(f"{what}; {fix}")
        key = self._matching_key(bundle)
        _verify_dsse(key, bundle)
        signer = SignerInfo(METHOD_KEY, key_hint=key_hint(key))
        return _Checked(bundle.payload, signer, time_source="none (key signatures carry no time)")

    def _matching_key(self, bundle: Bundle) -> ec.EllipticCurvePublicKey:
        usable = [(path, check_ec_key(key, f"public key {path}")) for path, key in self.keys]
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

    def _check_certificate(self, bundle: Bundle) -> _Checked:
        if not self.roots:
            what, fix = "signed with a certificate", ("pass --cert-chain ROOT_PEM or list the "
                                                      "root in policy.certificate_roots")
            if self.options.policy.trusts_nobody:
                raise NoTrustedSigner(what, fix)
            raise SignatureFailure(f"{what}; {fix}")
        chain = [_load_der_certificate(der) for der in bundle.certificates]
        leaf = chain[0]
        # A certificate bundle carries no trusted timestamp, so the only time we can
        # vouch for is now: the leaf and its chain must be valid at verification time.
        now = datetime.now(timezone.utc)
        _require_code_signing(leaf)
        _require_valid_at(leaf, now)
        _verify_chain(leaf, chain[1:], self.roots, now)
        key = check_ec_key(leaf.public_key(), "the signing certificate's key")
        _verify_dsse(key, bundle)
        signer = SignerInfo(
            METHOD_CERTIFICATE, identity=certificate_identity(leaf),
            certificate_subject=leaf.subject.rfc4514_string(),
            certificate_sha256=leaf.fingerprint(hashes.SHA256()).hex())
        # notBefore is the earliest the signature can count from: what `not_before`
        # policies compare against (a certificate issued before the cut-off is refused)
        return _Checked(bundle.payload, signer, signer_facts(leaf), leaf.not_valid_before_utc,
                        "certificate notBefore")

    def _check_sigstore(self, bundle: Bundle) -> _Checked:
        from sigstore.errors import CertValidationError
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import Bundle as SigstoreBundle

        try:
            parsed = SigstoreBundle.from_json(bundle.raw)
        except (SigstoreError, ValueError) as exc:
            raise BundleError(f"{bundle.source}: not a valid Sigstore bundle: "
                              f"{_first_line(exc)}") from None
        try:
            from sigstore.verify import Verifier as SigstoreVerifier

            verifier = SigstoreVerifier(trusted_root=self.trust.trusted_root())
            payload_type, payload = verifier.verify_dsse(parsed, _AcceptAnyIdentity())
        except CertValidationError as exc:
            raise SignatureFailure(f"Sigstore verification failed: the signing certificate does "
                                   f"not chain to a Fulcio CA of the trusted root at signing "
                                   f"time ({_first_line(exc)})") from None
        except SigstoreError as exc:
            raise SignatureFailure(f"Sigstore verification failed: {_first_line(exc)}") from None
        if payload_type != bundle.payload_type:
            raise SignatureFailure("Sigstore returned a different payload type than the bundle")
        certificate = parsed.signing_certificate
        facts = signer_facts(certificate)
        entry = parsed.log_entry._inner
        integrated = (datetime.fromtimestamp(entry.integrated_time, tz=timezone.utc)
                      if entry.integrated_time else None)
        signed_at, source = integrated, "Rekor integrated time"
        if signed_at is None:
            signed_at, source = _tsa_time(parsed), "RFC 3161 timestamp"
        signer = SignerInfo(
            METHOD_SIGSTORE, identity=facts.identity, issuer=facts.issuer,
            repository=facts.repository, workflow=facts.workflow,
            ref=facts.source_repository_ref, commit=facts.source_repository_digest,
            run_url=facts.run_invocation_uri, build_signer_uri=facts.build_signer_uri,
            certificate_subject=certificate.subject.rfc4514_string() or None,
            certificate_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
            rekor_log_index=int(entry.log_index), integrated_time=integrated)
        return _Checked(payload, signer, facts, signed_at, source)

    # -- policy and files

    def _check_policy(self, method: str, checked: _Checked) -> None:
        policy = self.options.policy
        # Keyless signatures always need a signer rule. A certificate signature needs one
        # only when rules are set, but then it must satisfy one: a rule the user gave is
        # never dropped because the chain happens to lead to a trusted root.
        wants_rules = method == METHOD_SIGSTORE or (method == METHOD_CERTIFICATE
                                                    and bool(policy.signers))
        if wants_rules:
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

    def _check_files(self, target: ModelTarget, signed: Manifest,
                     sig_path: Path) -> ManifestDiff:
        if target.is_file:
            signed = signed.as_single_file(target.path.name)  # OMS names it; the reference "."
        if signed.single_file and not target.is_file:
            raise CheckFailed(f"the signature is for a single file (resource "
                              f"'{SINGLE_FILE_NAME}'), but {target.display} is a directory; "
                              "verify the file itself")
        if target.is_file and not signed.single_file and not signed.legacy:
            raise CheckFailed(f"the signature is for a directory, but {target.display} is a "
                              "file")
        serialization = signed.serialization
        if self.options.ignore_unsigned_files:
            listing = signed_listing(target, signed)
        else:
            listing = self._listing(target, serialization, sig_path)
        scope = SignedScope(signed)
        kept = replace(listing, files=tuple(scope.keep(listing.files)))
        # refuses un-smudged LFS pointers with "run git lfs pull", rather than a bare mismatch
        lfs.pointer_digests(lfs.find_pointers(kept.files), serialization.spec,
                            require_content=True, label=target.display)
        run = HashRun(use_cache=False, progress=self.options.progress, require_content=True,
                      fresh=self.fresh)
        return scope.diff(hash_listing(kept, serialization.spec, run, label=target.display))

    def _listing(self, target: ModelTarget, serialization: Serialization,
                 sig_path: Path) -> Listing:
        """Every file but what the signature records and --ignore adds, with its symlink rule.

        Nothing else is skipped: the config may come from the change under review, and
        `.git*`, `model.sig` or `model.manifest.json` count only when the signature says
        so. The bundle being verified is the one exception: it is not a model file.
        """
        ignore = (*serialization.ignore_paths, *target.extra_ignore, *self.options.ignore)
        try:
            return list_model(target.path, ignore=ignore,
                              allow_symlinks=serialization.allow_symlinks,
                              extra_ignored_files=(sig_path,), default_ignores=(),
                              skip_temp_files=False)
        except ModelPathError as exc:
            # the walk's advice (set allow_symlinks in the config) is for signing only
            link, advice, _ = str(exc).partition("; set 'allow_symlinks: true'")
            if not advice:
                raise
            raise CheckFailed(f"{link}, and the signature does not allow symlinks (it records "
                              "allow_symlinks: false; the config cannot change that)") from None


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


# --- helpers ----------------------------------------------------------------------------


def signed_listing(target: ModelTarget, signed: Manifest) -> Listing:
    """The files the signature names that exist on disk, each checked to stay inside."""
    root = target.path
    if target.is_file:
        st = os.stat(root)
        return Listing(root, (FileEntry.from_stat(SINGLE_FILE_NAME, root, st),), (), True)
    real_root = root.resolve()
    entries = []
    for name in dict.fromkeys(resource.path for resource in signed.resources):
        entry = _signed_file(root, real_root, name, signed.serialization.allow_symlinks)
        if entry is not None:
            entries.append(entry)
    return Listing(root, tuple(entries), (), False)


def _signed_file(root: Path, real_root: Path, name: str, allow_symlinks: bool) -> FileEntry | None:
    path = root / name
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None  # reported as removed by the diff
    if stat.S_ISLNK(st.st_mode):
        if not allow_symlinks:
            raise CheckFailed(f"{path} is a symlink, and the signature does not allow them")
        st = os.stat(path)
    resolved = path.resolve()
    if not resolved.is_relative_to(real_root):
        raise CheckFailed(f"signed name {name!r} leads outside the model directory "
                          f"(to {resolved}); refusing to read it")
    if not stat.S_ISREG(st.st_mode):
        raise CheckFailed(f"{path} is not a regular file; refusing to read it")
    return FileEntry.from_stat(name, resolved if allow_symlinks else path, st)


def _statement(bundle: Bundle, verified_payload: bytes) -> Manifest:
    if verified_payload != bundle.payload:
        raise SignatureFailure("the verified payload differs from the bundle's payload")
    return bundle.statement()


def _verify_dsse(key: ec.EllipticCurvePublicKey, bundle: Bundle) -> None:
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
                               f"{format_time(at)}: {_first_line(exc)}") from None


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


def _load_embedded_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise BundleError("the bundle's embedded public key is not a PEM key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SignatureFailure("the bundle's embedded public key is not an EC key")
    return key


def _tsa_time(parsed: Any) -> datetime | None:
    data = parsed.verification_material.timestamp_verification_data
    if data is None:
        return None
    for response in data.rfc3161_timestamps:
        moment: datetime = response.tst_info.gen_time
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return None


def _display(path: Path) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(exc).__name__


def _exception_message(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return _first_line(exc)


def bundle_digest(path: Path) -> str:
    """``sha256:<hex>`` of a signature file, without parsing it."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"
