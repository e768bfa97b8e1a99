"""The `sign` use case: which signer, prepare (stale check), sign, write.

`signer_for` builds a Signer from a typed request (the `sign` options, as
`cli.options.signer_request` reads them), so every command that signs (directories,
stores, registry references) builds it the same way. `sign_directories` prepares
every model first (a stale manifest refuses them all, nothing written), then signs
them in one signer session and writes each bundle atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal.errors import CheckFailed
from modelseal.signing_methods import SignerRequest, build_signer

if TYPE_CHECKING:
    from modelseal.app.selection import ModelRequest
    from modelseal.engine import ManifestStatus
    from modelseal.signing import PreparedModel, Signer
    from modelseal.targets import ModelTarget


def signer_for(request: SignerRequest) -> Signer:
    """The Signer of ``request.method``, built by the signing-method registry
    (`modelseal.signing_methods`), which refuses options the method does not use."""
    return build_signer(request.method, request)


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
