"""OMS bundles as OCI referrers: finding every candidate, and attaching one.

A bundle is an artifact manifest of type `application/vnd.dev.sigstore.bundle.v0.3+json`
(as cosign's bundle format) whose one layer is the bundle and whose `subject` is the
model manifest. Registries with the OCI 1.1 referrers API index it when it is pushed
(they answer with an `OCI-Subject` header); for the others the client keeps the
fallback index tagged `sha256-<hex>` of the subject, adding to what is there.

Every candidate is kept, with the reason it could not be read, so verify can try
them all and say why each one that did not satisfy the policy failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from modelseal.bundle import MAX_BUNDLE_BYTES
from modelseal.errors import ModelsealError
from modelseal.stores.common import parse_digest
from modelseal.stores.oci import BUNDLE_MEDIA_PREFIX
from modelseal.stores.registry import (
    OCI_INDEX,
    OCI_MANIFEST,
    RegistryClient,
    RegistryError,
    fallback_tag,
    index_descriptors,
    sha256_digest,
)

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"
OMS_PREDICATE = "https://model_signing/signature/v1.0"
MAX_CANDIDATES = 32
VIA_API = "referrers API"
VIA_TAG = "tag schema"
VIA_LAYER = "bundle layer in the artifact"


@dataclass(frozen=True)
class Candidate:
    """A bundle that may sign the model: where it came from, its bytes or why none."""

    source: str  # e.g. "referrer sha256:... (referrers API)"
    data: bytes | None = None
    error: str | None = None
    layer: str | None = None  # the artifact's own bundle layer (its digest), not a referrer


@dataclass(frozen=True)
class Listing:
    """The referrer descriptors of one subject and how they were found."""

    descriptors: list[dict[str, Any]]
    via: str


def list_referrers(client: RegistryClient, repository: str, subject: str) -> Listing:
    """Referrers through the API; where the registry has none, the tag-schema index."""
    found = client.referrers(repository, subject)
    if found is not None:
        return Listing(found, VIA_API)
    index = client.tag_schema_index(repository, subject)
    if index is None:
        return Listing([], VIA_TAG)
    where = f"referrers index {fallback_tag(subject)}"
    return Listing(index_descriptors(index.json(where), where), VIA_TAG)


def find_candidates(client: RegistryClient, repository: str, subjects: tuple[str, ...],
                    layer: dict[str, Any] | None) -> list[Candidate]:
    """Every bundle attached to any of ``subjects``, then a bundle layer of the artifact."""
    candidates: list[Candidate] = []
    for subject in subjects:
        listing = list_referrers(client, repository, subject)
        for descriptor in listing.descriptors:
            if len(candidates) >= MAX_CANDIDATES:
                break
            if _is_bundle(descriptor):
                candidates.append(_referrer(client, repository, subject, descriptor,
                                            listing.via))
    if layer is not None:
        candidates.append(_layer_candidate(client, repository, layer))
    return candidates


def _is_bundle(descriptor: dict[str, Any]) -> bool:
    kind = descriptor.get("artifactType")
    return isinstance(kind, str) and kind.startswith(BUNDLE_MEDIA_PREFIX)


def _referrer(client: RegistryClient, repository: str, subject: str,
              descriptor: dict[str, Any], via: str) -> Candidate:
    digest = descriptor.get("digest")
    source = f"referrer {digest} ({via})"
    try:
        parse_digest(digest, source)  # by digest only: a tag here would not be pinned
        size = descriptor.get("size")
        fetched = client.manifest(repository, str(digest),
                                  size=size if isinstance(size, int) else None,
                                  what="signature manifest")
        manifest = fetched.json(f"signature manifest {digest}")
        linked = manifest.get("subject")
        if not isinstance(linked, dict) or linked.get("digest") != subject:
            return Candidate(source, error="its subject is not this model's manifest")
        layers = [layer for layer in manifest.get("layers") or []
                  if isinstance(layer, dict) and
                  str(layer.get("mediaType", "")).startswith(BUNDLE_MEDIA_PREFIX)]
        if len(layers) != 1:
            return Candidate(source, error=f"it has {len(layers)} bundle layers, not one")
        return Candidate(source, _bundle_bytes(client, repository, layers[0], source))
    except ModelsealError as exc:
        return Candidate(source, error=str(exc))


def _layer_candidate(client: RegistryClient, repository: str, layer: dict[str, Any]
                     ) -> Candidate:
    digest = str(layer.get("digest"))
    source = f"layer {digest} ({VIA_LAYER})"
    try:
        return Candidate(source, _bundle_bytes(client, repository, layer, source), layer=digest)
    except ModelsealError as exc:
        return Candidate(source, error=str(exc), layer=digest)


def _bundle_bytes(client: RegistryClient, repository: str, layer: dict[str, Any],
                  source: str) -> bytes:
    size = layer.get("size")
    if not isinstance(size, int) or isinstance(size, bool):
        raise RegistryError(f"{source}: the bundle layer has no valid size")
    return client.blob_bytes(repository, str(layer.get("digest")), size, MAX_BUNDLE_BYTES,
                             f"bundle {layer.get('digest')}")


# --- attaching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attached:
    digest: str  # the signature manifest
    via: str


def attach(client: RegistryClient, repository: str, subject: dict[str, Any],
           bundle: bytes) -> Attached:
    """Push ``bundle`` as a referrer of ``subject`` (a descriptor of the model manifest)."""
    if len(bundle) > MAX_BUNDLE_BYTES:
        raise RegistryError(f"the bundle is {len(bundle)} bytes, more than the "
                            f"{MAX_BUNDLE_BYTES} verifiers read")
    empty_digest, bundle_digest = sha256_digest(EMPTY_JSON), sha256_digest(bundle)
    empty = {"mediaType": EMPTY_MEDIA_TYPE, "digest": empty_digest, "size": len(EMPTY_JSON)}
    layer = {"mediaType": BUNDLE_MEDIA_TYPE, "digest": bundle_digest, "size": len(bundle)}
    client.push_blob(repository, empty_digest, EMPTY_JSON)
    client.push_blob(repository, bundle_digest, bundle)
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    annotations = {"org.opencontainers.image.created": created,
                   "dev.sigstore.bundle.content": "dsse-envelope",
                   "dev.sigstore.bundle.predicateType": OMS_PREDICATE}
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": BUNDLE_MEDIA_TYPE,
                "config": empty, "layers": [layer],
                "subject": {k: subject[k] for k in ("mediaType", "digest", "size")},
                "annotations": annotations}
    data = json.dumps(manifest, separators=(",", ":")).encode()
    pushed = client.push_manifest(repository, sha256_digest(data), data, OCI_MANIFEST)
    if pushed.subject == subject["digest"]:
        return Attached(pushed.digest, VIA_API)
    descriptor = {"mediaType": OCI_MANIFEST, "digest": pushed.digest, "size": len(data),
                  "artifactType": BUNDLE_MEDIA_TYPE, "annotations": annotations}
    _add_to_tag_index(client, repository, subject["digest"], descriptor)
    return Attached(pushed.digest, VIA_TAG)


def _add_to_tag_index(client: RegistryClient, repository: str, subject: str,
                      descriptor: dict[str, Any]) -> None:
    """Add ``descriptor`` to the ``sha256-<hex>`` index, keeping every entry it has."""
    tag = fallback_tag(subject)
    current = client.tag_schema_index(repository, subject)
    entries: list[dict[str, Any]] = []
    if current is not None:
        entries = index_descriptors(current.json(f"referrers index {tag}"),
                                    f"referrers index {tag}")
    if any(entry.get("digest") == descriptor["digest"] for entry in entries):
        return
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [*entries, descriptor]}
    client.push_manifest(repository, tag, json.dumps(index, separators=(",", ":")).encode(),
                         OCI_INDEX)
