"""Use cases for models in stores (OCI layout, DMR, HF cache, Ollama): verify, sign, export.

A store model is named by a `catalog.StoreSpec` (``--oci-layout DIR:TAG`` and the like),
opened by its store's reader and re-hashed in place. Typed requests in (the policy and
verify options as `app.verify.VerifyRequest`), plain data out; the caller prints.
`verify_options` is shared with `app.registry`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelseal.app import policies
from modelseal.errors import UsageError

if TYPE_CHECKING:
    from modelseal.app.verify import VerifyRequest
    from modelseal.signing import Signer
    from modelseal.stores.catalog import StoreSpec
    from modelseal.stores.source import StoreModel
    from modelseal.targets import ModelTarget
    from modelseal.verifying import VerificationResult, VerifyOptions

CNCF_ANNOTATIONS = "cncf-annotations"
OCI_DESCRIPTORS = "oci-descriptors"
OLLAMA_SIGNATURE = "ollama-signature"
EXPORT_FORMATS = (CNCF_ANNOTATIONS, OCI_DESCRIPTORS, OLLAMA_SIGNATURE)


@contextmanager
def verify_options(request: VerifyRequest, *, signature: Path | None = None,
                   ignore: Sequence[str] = ()) -> Iterator[VerifyOptions]:
    """The verify options ``request`` asks for (plus ``ignore``), valid inside the block:
    policy files read from the base revision live in a private folder until it ends.
    A store or registry model needs a signature whatever ``allow_unsigned`` says."""
    from modelseal.verifying import VerifyOptions

    with policies.policy_folder() as folder:
        config = policies.policy_config(request.source, folder)
        policy = policies.verify_policy(request.policy, request.source.base, config, folder)
        trust_config, _ = policies.trust_config_file(request.trust_config,
                                                     request.source.base, folder)
        yield VerifyOptions(policy=policy, signature=signature, ignore=tuple(ignore),
                            ignore_unsigned_files=request.ignore_unsigned_files,
                            offline=request.offline, trust_config=trust_config,
                            progress=request.progress)


def store_target(model: StoreModel) -> ModelTarget:
    """The target a verifier reports a store model as (its label, default hashing)."""
    from modelseal.config import HashOptions
    from modelseal.targets import ModelTarget

    return ModelTarget(model.root, HashOptions(), label=model.label)


# --- verify ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreVerification:
    """The verdict on one store model and the notices the verifier left."""

    result: VerificationResult
    notices: tuple[str, ...]


def verify_store(where: StoreSpec, request: VerifyRequest, signature: Path | None = None, *,
                 ignore: Sequence[str] = ()) -> StoreVerification:
    """Bundle (``signature``, else the one the artifact carries) -> signature -> policy
    -> the store's blobs re-hashed in place."""
    from modelseal import verifying

    model = where.open()
    bundle = signature or model.signature
    if bundle is None:
        raise UsageError(f"{model.label} carries no signature layer; pass --signature FILE")
    with verify_options(request, signature=bundle, ignore=ignore) as options:
        verifier = verifying.Verifier(options)
        result = verifier.verify(store_target(model), model)
    return StoreVerification(result, tuple(verifier.notices))


# --- sign ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedStore:
    """What `sign --ollama` wrote: where, by which method, over what."""

    label: str
    method: str
    resources: int
    root_digest: str
    signature: Path


def sign_store(where: StoreSpec, signer: Signer, signature: Path, *,
               ignore: Sequence[str] = (), progress: bool | None = None) -> SignedStore:
    """An OMS statement over the store's blobs (but ``ignore``), signed, written to
    ``signature`` (the store has no place for one)."""
    from modelseal.app.sign import sign_bytes
    from modelseal.fsio import atomic_write_bytes
    from modelseal.manifest import Serialization

    model = where.open()
    serialization = Serialization(ignore_paths=tuple(sorted(ignore)))
    manifest = model.manifest(serialization, ignore=ignore, progress=progress)
    atomic_write_bytes(signature, sign_bytes(signer, manifest.to_json().encode("utf-8")))
    return SignedStore(model.label, signer.method, len(manifest.resources),
                       manifest.root_digest, signature)


# --- export ----------------------------------------------------------------------------


def describe_files(path: str, export_format: str, config: Path | None = None
                   ) -> dict[str, Any]:
    """The `export` document of a local model: each file's ModelPack annotations
    (``files``) or its OCI layer descriptor (``layers``, which needs every digest)."""
    from modelseal import engine, targets
    from modelseal.hashing import HashSpec
    from modelseal.stores import export

    models, _ = targets.resolve_targets([path], config_path=config)
    listing = engine.list_target(models[0])
    entries = list(listing.files)
    if export_format == CNCF_ANNOTATIONS:
        return {"files": export.cncf_annotations(entries)}
    raw = engine.hash_listing(listing, HashSpec("sha256"), engine.HashRun(use_cache=False),
                              label=models[0].display)
    digests = {name: f"sha256:{values[0].hex()}" for name, values in raw.items()}
    return {"layers": export.oci_descriptors(entries, digests)}


@dataclass(frozen=True)
class SignatureExport:
    """A signature's `SignatureInfo` (as Ollama records it) and whether it verified."""

    info: dict[str, Any]
    verified: bool


def export_store_signature(where: StoreSpec, signature: Path, request: VerifyRequest
                           ) -> SignatureExport:
    """The SignatureInfo of ``signature`` over the store model, checked against the
    policy; a bundle that cannot even be read is a usage error."""
    from modelseal import verifying
    from modelseal.stores import export

    model = where.open()
    with verify_options(request, signature=signature) as options:
        result = verifying.Verifier(options).verify(store_target(model), model)
    if result.signature is None:
        raise UsageError(f"{model.label}: {result.message}")
    return SignatureExport(export.signature_info(result.signature), result.signature.verified)
