"""Sign what is not signed yet (the Action's sign step), hashing each model once.

`find_unsigned` scans every model once, as signing hashes it, and verifies its
existing signature (if any) from that scan; `sign_unsigned` signs the models whose
signature is missing or no longer verifies, from the same scans.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal.app.sign import SignedModel, SignOptions, StaleModels, sign_prepared
from modelseal.errors import ModelsealError

if TYPE_CHECKING:
    from modelseal.app.selection import ModelRequest
    from modelseal.app.verify import VerifyRequest
    from modelseal.engine import ManifestStatus, Scan
    from modelseal.hashing import RunDigests
    from modelseal.manifest import Manifest, ManifestDiff
    from modelseal.signing import PreparedModel, Signer
    from modelseal.targets import ModelTarget
    from modelseal.verifying import VerificationResult, Verifier


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
                  options: SignOptions | None = None) -> Presigned:
    """Scan each requested model once and verify its signature (if any) from that scan.

    The scan is the model's fresh manifest (what `sign_unsigned` signs); it lends its
    digests to the verification (`hashing.RunDigests`, as `report` does), so a file is
    hashed again only when the signature hashes another way or the file changed.
    """
    from modelseal import verifying
    from modelseal.app import policies, selection
    from modelseal.hashing import RunDigests

    options = options or SignOptions()
    chosen = selection.work_tree_models(request)
    with policies.policy_folder() as folder:
        policy = policies.verify_policy(verify.policy, None, chosen.config, folder)
        fresh = RunDigests()
        verifier = verifying.Verifier(verifying.VerifyOptions(
            policy=policy, signature=request.signature, offline=verify.offline,
            trust_config=verify.trust_config, progress=options.progress), fresh)
        found = [_presign(target, verifier, options, fresh) for target in chosen.models]
    return Presigned(found, [*chosen.notices, *verifier.notices])


def sign_unsigned(models: Sequence[PresignedModel], signer: Callable[[], Signer],
                  options: SignOptions | None = None) -> list[SignedModel]:
    """Sign ``models`` from their scans (the signer is built only if there is one). A
    stale committed manifest refuses them all (StaleModels), as `sign` does."""
    options = options or SignOptions()
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


def _presign(target: ModelTarget, verifier: Verifier, options: SignOptions,
             fresh: RunDigests) -> PresignedModel:
    """Scan ``target`` once (as signing hashes it) and verify its signature from that scan."""
    from modelseal.engine import HashRun, read_manifest, scan_target
    from modelseal.manifest import diff_manifests

    sig_path = options.signature or target.signature_path
    # a signature vouches for bytes, so an LFS pointer's claimed oid is not enough
    run = HashRun(use_cache=False, progress=options.progress, extra_ignored_files=(sig_path,),
                  require_content=True, fresh=fresh)
    committed, error = None, None
    try:
        committed = read_manifest(target.manifest_path)
    except ModelsealError as exc:
        error = exc
    scan = scan_target(target, run)
    diff = diff_manifests(committed, scan.manifest, sizes=scan.sizes,
                          old_sizes=scan.sizes if committed else {})
    status = _status(target, committed, scan, diff)
    return PresignedModel(status, sig_path, verifier.verify(target), error)


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
