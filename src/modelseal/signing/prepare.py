"""The signing flow per model, whatever the method: prepare, sign, write.

`prepare` re-hashes a model without the cache and refuses a stale manifest; a
`Signer` turns the statement bytes into a bundle (`sign_models`, one session for all
models); `write_signed` writes the manifest if asked, then `model.sig`, each
atomically. All models are hashed before any signer is asked for anything, so a
Sigstore certificate (valid for minutes) is requested only once the slow part is over.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from modelseal.engine import HashRun, ManifestStatus, check_target
from modelseal.errors import CheckFailed
from modelseal.fsio import atomic_write_bytes, atomic_write_text
from modelseal.signing_methods import Signer
from modelseal.targets import ModelTarget


class StaleManifest(CheckFailed):
    """The committed manifest does not match the files; ``status`` holds the diff."""

    def __init__(self, message: str, status: ManifestStatus) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PreparedModel:
    """A model ready to sign: its fresh manifest and where its files will go."""

    target: ModelTarget
    status: ManifestStatus
    signature_path: Path
    write_manifest: bool

    @property
    def payload(self) -> bytes:
        """The DSSE payload: byte for byte the canonical `model.manifest.json`."""
        return self.status.current.to_json().encode("utf-8")


def prepare(target: ModelTarget, *, signature_path: Path | None = None,
            update_manifest: bool = False, progress: bool | None = None) -> PreparedModel:
    """Re-hash ``target`` (no cache) and check its manifest; raise StaleManifest if stale."""
    sig_path = signature_path or target.signature_path
    # a signature vouches for bytes, so an LFS pointer's claimed oid is not enough
    run = HashRun(use_cache=False, progress=progress, extra_ignored_files=(sig_path,),
                  require_content=True)
    status = check_target(target, run)
    if status.missing:
        # Nothing was reviewed yet, so there is nothing to contradict: write the manifest
        # of what is signed (as `model_signing sign` users expect a signature in one step).
        return PreparedModel(target, status, sig_path, write_manifest=True)
    if status.stale and not update_manifest:
        raise StaleManifest(f"{target.display}: manifest is stale; run `modelseal manifest "
                            f"{target.display}` and commit it, or pass --update-manifest",
                            status)
    return PreparedModel(target, status, sig_path, update_manifest and status.stale)


def write_signed(model: PreparedModel, bundle: bytes) -> None:
    """Write the refreshed manifest (when asked) and the bundle, each atomically."""
    if model.write_manifest:
        atomic_write_text(model.target.manifest_path, model.status.current.to_json())
    atomic_write_bytes(model.signature_path, bundle)


def sign_models(models: Sequence[PreparedModel], signer: Signer) -> list[bytes]:
    """Sign every prepared model in one signer session; nothing is written here."""
    with contextmanager(signer.session)():
        return [signer.sign(model.payload) for model in models]
