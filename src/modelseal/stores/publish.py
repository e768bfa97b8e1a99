"""`push`: a model directory as a CNCF ModelPack artifact, one raw layer per file.

Layers carry the annotations `export --format cncf-annotations` writes, so modctl
and Docker Model Runner read the artifact; a raw layer's digest is the file's
SHA-256, so a files-mode sha256 signature made from the directory verifies the
artifact from its manifest alone. A `model.sig` beside the files is attached as a
referrer rather than packed as a layer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from modelseal.errors import UsageError
from modelseal.stores import export
from modelseal.stores.oci import MODEL_ARTIFACT_TYPE, MODEL_CONFIG_TYPE
from modelseal.stores.ociref import RegistryRef
from modelseal.stores.referrers import Attached, attach
from modelseal.stores.registry import OCI_MANIFEST, RegistryClient, sha256_digest


@dataclass(frozen=True)
class Pushed:
    pinned: str
    layers: int
    attached: Attached | None
    signature: Path | None = None  # the bundle file that was attached


def push_directory(client: RegistryClient, ref: RegistryRef, path: str, *,
                   config_path: Path | None = None) -> Pushed:
    from modelseal import engine, targets
    from modelseal.hashing import HashSpec

    models, _ = targets.resolve_targets([path], config_path=config_path)
    model = models[0]
    listing = engine.list_target(model)
    if not listing.files:
        raise UsageError(f"{model.display} holds no files to push")
    raw = engine.hash_listing(listing, HashSpec("sha256"), engine.HashRun(use_cache=False),
                              label=model.display)
    digests = {name: f"sha256:{values[0].hex()}" for name, values in raw.items()}
    layers = export.oci_descriptors(listing.files, digests)
    for entry in listing.files:
        client.push_blob(ref.repository, digests[entry.name], Path(entry.path))
    config = _model_config(ref.model_name, [layer["digest"] for layer in layers])
    client.push_blob(ref.repository, sha256_digest(config), config)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "artifactType": MODEL_ARTIFACT_TYPE,
                "config": {"mediaType": MODEL_CONFIG_TYPE, "digest": sha256_digest(config),
                           "size": len(config)},
                "layers": layers}
    data = json.dumps(manifest, separators=(",", ":")).encode()
    pushed = client.push_manifest(ref.repository, ref.tag or "latest", data, OCI_MANIFEST)
    signature = model.signature_path
    attached = None
    if signature.is_file():
        from modelseal.bundle import read_bundle_file

        bundle = read_bundle_file(signature)
        subject = {"mediaType": OCI_MANIFEST, "digest": pushed.digest, "size": len(data)}
        attached = attach(client, ref.repository, subject, bundle.raw)
    return Pushed(ref.pinned(pushed.digest), len(layers), attached,
                  signature if attached is not None else None)


def _model_config(name: str, diff_ids: list[str]) -> bytes:
    """The ModelPack config blob: descriptor, empty config, and the layers as modelfs."""
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = {"descriptor": {"name": name, "createdAt": created}, "config": {},
              "modelfs": {"type": "layers", "diffIds": diff_ids}}
    return json.dumps(config, separators=(",", ":")).encode()
