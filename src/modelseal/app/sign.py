"""The `sign` use case: which signer, prepare (stale check), sign, write.

`signer_for` builds a Signer from a typed request (the `sign` options, as
`cli.options.signer_request` reads them), so every command that signs (directories,
stores, registry references) builds it the same way. `sign_directories` prepares
every model first (a stale manifest refuses them all, nothing written), then signs
them in one signer session and writes each bundle atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal.errors import CheckFailed, ModelsealError, UsageError

if TYPE_CHECKING:
    from modelseal.app.selection import ModelRequest
    from modelseal.app.verify import VerifyRequest
    from modelseal.engine import ManifestStatus, Scan
    from modelseal.manifest import Manifest, ManifestDiff, Serialization
    from modelseal.signing import PreparedModel, Signer
    from modelseal.targets import ModelTarget
    from modelseal.verifying import VerificationResult, Verifier, VerifyOptions
    from modelseal.walk import Listing


@dataclass(frozen=True)
class SignerRequest:
    """How to sign: ``method`` (sigstore, key or certificate) and its options."""

    method: str
    key: Path | None = None
    password_env: str | None = None
    cert: Path | None = None
    chain: tuple[Path, ...] = ()
    identity_token: str | None = None
    trust_config: Path | None = None
    staging: bool = False


def signer_for(request: SignerRequest) -> Signer:
    """The Signer the request names; a UsageError for options of another method."""
    from modelseal import signing

    if request.method == "sigstore":
        for option, value in (("--key", request.key), ("--cert", request.cert),
                              ("--password-env", request.password_env)):
            if value:
                raise UsageError(f"{option} is for the key and certificate methods, not "
                                 "sigstore")
        trust = signing.sigstore_trust_config(request.trust_config, request.staging)
        return signing.SigstoreSigner(trust, signing.TokenSource(request.identity_token))
    sigstore_only: tuple[tuple[str, object], ...] = (
        ("--identity-token", request.identity_token), ("--trust-config", request.trust_config),
        ("--staging", request.staging))
    for option, given in sigstore_only:
        if given:
            raise UsageError(f"{option} is for --method sigstore")
    if request.key is None:
        raise UsageError(f"--method {request.method} needs --key PRIV_PEM")
    key = signing.load_private_key(request.key, request.password_env)
    if request.method == "key":
        if request.cert or request.chain:
            raise UsageError("--cert and --chain are for --method certificate")
        return signing.KeySigner(key)
    if request.cert is None:
        raise UsageError("--method certificate needs --cert CERT_PEM (and usually --chain)")
    return signing.CertificateSigner.from_files(key, request.cert, list(request.chain))


def sign_bytes(signer: Signer, payload: bytes) -> bytes:
    """One statement signed in its own signer session (stores, registry references)."""
    from contextlib import contextmanager

    with contextmanager(signer.session)():
        bundle: bytes = signer.sign(payload)
    return bundle


# --- directories -------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedModel:
    """A model signed and written: the prepared model (its manifest, its bundle path,
    whether the manifest was written) and the method that signed it."""

    model: PreparedModel
    method: str


class StaleModels(CheckFailed):
    """Nothing was signed: these models' manifests are stale (and no --update-manifest)."""

    def __init__(self, statuses: Sequence[ManifestStatus]) -> None:
        self.statuses = tuple(statuses)
        if len(self.statuses) == 1:
            display = self.statuses[0].target.display
            message = (f"{display}: manifest is stale; run `modelseal manifest {display}` and "
                       "commit it, or pass --update-manifest")
        else:
            names = ", ".join(status.target.display for status in self.statuses)
            message = (f"{len(self.statuses)} manifests are stale ({names}); run `modelseal "
                       "manifest` and commit them, or pass --update-manifest")
        super().__init__(message)


@dataclass(frozen=True)
class SignOptions:
    """The directory options of `sign`: the bundle path (one model), --update-manifest,
    the progress bar."""

    signature: Path | None = None
    update_manifest: bool = False
    progress: bool | None = None


def sign_directories(request: ModelRequest, signer: Signer,
                     options: SignOptions = SignOptions()) -> list[SignedModel]:
    """Sign the models the request names (in the work tree); see the module docstring."""
    from modelseal.app import selection

    return sign_targets(selection.work_tree_models(request).models, signer, options)


def sign_targets(models: Sequence[ModelTarget], signer: Signer,
                 options: SignOptions = SignOptions()) -> list[SignedModel]:
    """Prepare every model (StaleModels names every stale one, nothing written), sign
    them in one signer session and write each bundle."""
    from modelseal.signing import write_signed

    prepared = prepare_all(models, options)
    signed = sign_prepared(prepared, signer)
    for model in prepared:
        write_signed(model, signed[model.target.path])
    return [SignedModel(model, signer.method) for model in prepared]


def prepare_all(models: Sequence[ModelTarget], options: SignOptions) -> list[PreparedModel]:
    """Hash and check every model; raise StaleModels naming every stale one."""
    from modelseal import signing

    prepared, stale = [], []
    for model in models:
        try:
            prepared.append(signing.prepare(model, signature_path=options.signature,
                                            update_manifest=options.update_manifest,
                                            progress=options.progress))
        except signing.StaleManifest as exc:
            stale.append(exc.status)
    if stale:
        raise StaleModels(stale)
    return prepared


def sign_prepared(prepared: Sequence[PreparedModel], signer: Signer) -> dict[Path, bytes]:
    """The bundle of each prepared model (by model path), signed in one session."""
    from modelseal import signing

    bundles = signing.sign_models(list(prepared), signer)
    return {model.target.path: bundle for model, bundle in zip(prepared, bundles, strict=True)}


def sign_path(path: str | Path, signer: Signer, *, update_manifest: bool = False,
              signature: str | Path | None = None) -> SignedModel:
    """Sign one model directory or file: write its bundle (and a missing manifest)."""
    from modelseal.app.selection import ModelRequest

    options = SignOptions(signature=Path(signature) if signature else None,
                          update_manifest=update_manifest, progress=False)
    [signed] = sign_directories(ModelRequest(paths=(str(path),)), signer, options)
    return signed


# --- sign what is not signed yet (the Action's sign step): one hashing pass per model ----


@dataclass(frozen=True)
class PresignedModel:
    """One model as found before signing: its signature's verdict under the policy, and
    its manifest status, both from one scan."""

    status: ManifestStatus
    signature_path: Path
    result: VerificationResult
    # the committed manifest could not be read: an error only if the model must be signed
    manifest_error: ModelsealError | None = None

    @property
    def verified(self) -> bool:
        """Its signature verifies under the policy and covers its current files."""
        return self.result.status == "verified"


@dataclass(frozen=True)
class Presigned:
    """Every model as found before signing, and notices for the user."""

    models: list[PresignedModel]
    notices: list[str]

    @property
    def pending(self) -> list[PresignedModel]:
        return [model for model in self.models if not model.verified]


def find_unsigned(request: ModelRequest, verify: VerifyRequest,
                  options: SignOptions = SignOptions()) -> Presigned:
    """Scan each requested model once and verify its signature (if any) from that scan.

    The scan is the model's fresh manifest (what `sign_unsigned` signs) and the files
    its signature is checked against; only when the signature was made with other
    hashing settings are its files hashed again.
    """
    from modelseal import verifying
    from modelseal.app import policies, selection

    chosen = selection.work_tree_models(request)
    with policies.policy_folder() as folder:
        policy = policies.verify_policy(verify.policy, None, chosen.config, folder)
        verifier = verifying.Verifier(verifying.VerifyOptions(
            policy=policy, signature=request.signature, offline=verify.offline,
            trust_config=verify.trust_config, progress=options.progress))
        found = [_presign(target, verifier, options) for target in chosen.models]
    return Presigned(found, [*chosen.notices, *verifier.notices])


def sign_unsigned(models: Sequence[PresignedModel], signer: Callable[[], Signer],
                  options: SignOptions = SignOptions()) -> list[SignedModel]:
    """Sign ``models`` from their scans (the signer is built only if there is one). A
    stale committed manifest refuses them all (StaleModels), as `sign` does."""
    for model in models:
        if model.manifest_error is not None:
            raise model.manifest_error
    stale = [model.status for model in models
             if model.status.stale and not model.status.missing and not options.update_manifest]
    if stale:
        raise StaleModels(stale)
    prepared = [_prepared(model, options) for model in models]
    if not prepared:
        return []
    from modelseal.signing import write_signed

    chosen = signer()
    bundles = sign_prepared(prepared, chosen)
    for ready in prepared:
        write_signed(ready, bundles[ready.target.path])
    return [SignedModel(ready, chosen.method) for ready in prepared]


def _presign(target: ModelTarget, verifier: Verifier, options: SignOptions) -> PresignedModel:
    """Scan ``target`` once (as signing hashes it) and verify its signature from that scan."""
    from modelseal.engine import HashRun, read_manifest, scan_target
    from modelseal.manifest import diff_manifests

    sig_path = options.signature or target.signature_path
    # a signature vouches for bytes, so an LFS pointer's claimed oid is not enough
    run = HashRun(use_cache=False, progress=options.progress, extra_ignored_files=(sig_path,),
                  require_content=True)
    committed, error = None, None
    try:
        committed = read_manifest(target.manifest_path)
    except ModelsealError as exc:
        error = exc
    scan = scan_target(target, run)
    diff = diff_manifests(committed, scan.manifest, sizes=scan.sizes,
                          old_sizes=scan.sizes if committed else {})
    status = _status(target, committed, scan, diff)
    source = _ScanSource(target, scan, sig_path) if not target.is_file else None
    return PresignedModel(status, sig_path, verifier.verify(target, source), error)


def _status(target: ModelTarget, committed: Manifest | None, scan: Scan,
            diff: ManifestDiff) -> ManifestStatus:
    from modelseal.engine import ManifestStatus

    return ManifestStatus(target, committed, scan.manifest, diff,
                          lfs_pointers=tuple(sorted(scan.lfs_pointers)))


def _prepared(model: PresignedModel, options: SignOptions) -> PreparedModel:
    """As `signing.prepare` decides: a missing manifest is written with the signature, a
    stale one only with --update-manifest (a stale one without it was refused)."""
    from modelseal.signing import PreparedModel

    status = model.status
    write = status.missing or (options.update_manifest and status.stale)
    return PreparedModel(status.target, status, model.signature_path, write)


class _ScanSource:
    """The files of a directory model as one scan found them, for `Verifier.verify`.

    It lists the model as verification must (only what the signature records and
    --ignore are skipped, symlinks as the signature allows) and re-uses the scan's
    digest of every file whose stat identity is unchanged and whose hashing settings
    match the signature's; anything else (a file the scan skipped, other settings) is
    hashed here.
    """

    def __init__(self, target: ModelTarget, scan: Scan, sig_path: Path) -> None:
        self.target, self.scan, self.sig_path = target, scan, sig_path
        self.entries = {entry.name: entry for entry in scan.listing.files}

    def check_files(self, signed: Manifest, options: VerifyOptions) -> ManifestDiff:
        from modelseal import lfs
        from modelseal.engine import HashRun, hash_listing
        from modelseal.errors import CheckFailed
        from modelseal.scope import SignedScope
        from modelseal.walk import SINGLE_FILE_NAME

        if signed.single_file:
            raise CheckFailed(f"the signature is for a single file (resource "
                              f"'{SINGLE_FILE_NAME}'), but {self.target.display} is a "
                              "directory; verify the file itself")
        serialization = signed.serialization
        listing = self._listing(serialization, options)
        scope = SignedScope(signed)
        kept = scope.keep(listing.files)
        lfs.pointer_digests(lfs.find_pointers(kept), serialization.spec, require_content=True,
                            label=self.target.display)
        known = (_digests(self.scan.manifest)
                 if serialization.spec == self.scan.manifest.serialization.spec else {})
        digests = {entry.name: known[entry.name] for entry in kept
                   if entry.name in known and self.entries.get(entry.name) == entry}
        rest = tuple(entry for entry in kept if entry.name not in digests)
        if rest:
            run = HashRun(use_cache=False, progress=False, require_content=True)
            digests.update(hash_listing(replace(listing, files=rest), serialization.spec, run,
                                        label=self.target.display))
        return scope.diff(digests)

    def _listing(self, serialization: Serialization, options: VerifyOptions) -> Listing:
        """The listing verification makes (see `verifying.Verifier`): nothing skipped but
        what the signature records, --ignore and the bundle itself."""
        from modelseal.errors import CheckFailed, ModelPathError
        from modelseal.walk import list_model

        ignore = (*serialization.ignore_paths, *self.target.extra_ignore, *options.ignore)
        try:
            return list_model(self.target.path, ignore=ignore,
                              allow_symlinks=serialization.allow_symlinks,
                              extra_ignored_files=(self.sig_path,), default_ignores=(),
                              skip_temp_files=False)
        except ModelPathError as exc:
            link, advice, _ = str(exc).partition("; set 'allow_symlinks: true'")
            if not advice:
                raise
            raise CheckFailed(f"{link}, and the signature does not allow symlinks (it records "
                              "allow_symlinks: false; the config cannot change that)") from None


def _digests(manifest: Manifest) -> dict[str, list[bytes]]:
    """Per file, its digests as hashing returned them (one per shard, in order)."""
    digests: dict[str, list[bytes]] = {}
    for resource in manifest.resources:
        digests.setdefault(resource.path, []).append(bytes.fromhex(resource.digest))
    return digests
