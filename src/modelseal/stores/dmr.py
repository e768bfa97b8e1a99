"""Docker Model Runner's store: `models.json`, `manifests/sha256/`, `blobs/sha256/`.

The store lives in `$MODELS_PATH` (default `~/.docker/models`). `models.json` lists
each model's manifest digest (`id`) and its tags; the manifest is an OCI image
manifest whose layers are the model files themselves (GGUF, safetensors, license,
multimodal projector, chat template), annotated like ModelPack layers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from modelseal.stores.common import (
    MAX_STORE_INDEX_BYTES,
    StoreError,
    StoreNotFound,
    expand_root,
    parse_digest,
    read_json,
)
from modelseal.stores.oci import BlobStore, model_from_manifest
from modelseal.stores.source import StoreModel

ENV = "MODELS_PATH"
DEFAULT_ROOT = Path("~/.docker/models")
GGUF = "application/vnd.docker.ai.gguf.v3"
MMPROJ = "application/vnd.docker.ai.mmproj"
CHAT_TEMPLATE = "application/vnd.docker.ai.chat.template.jinja"
_DEFAULT_REGISTRIES = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")
_TAGGED = re.compile(r".*:[\w][\w.-]*")


def store_root() -> Path:
    return expand_root(ENV, DEFAULT_ROOT)


def normalize_reference(reference: str) -> str:
    """`ai/smollm2` -> `ai/smollm2:latest`; Docker Hub's registry prefix dropped."""
    if reference.startswith("sha256:"):
        return reference
    for prefix in _DEFAULT_REGISTRIES:
        if reference.startswith(prefix):
            reference = reference[len(prefix):]
            break
    name = reference.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return reference if ":" in last else f"{reference}:latest"


def open_model(reference: str, root: Path | None = None) -> StoreModel:
    """The model tagged (or with manifest digest) ``reference`` in the DMR store."""
    root = root or store_root()
    label = f"dmr:{reference}"
    if not (root / "models.json").is_file():
        raise StoreNotFound(f"{root} is not a Docker Model Runner store (no models.json); set "
                            f"{ENV} or pull the model with `docker model pull`")
    index = read_json(root / "models.json", f"{root}/models.json", limit=MAX_STORE_INDEX_BYTES)
    entry = _find(index, reference, label)
    digest = entry.get("id")
    algorithm, hexdigest = parse_digest(digest, f"{label}: id")
    manifests = BlobStore(root / "manifests", label)
    manifest = manifests.read_json({"digest": digest}, f"{label}: manifest {digest}")
    if not isinstance(manifest, dict):
        raise StoreError(f"{label}: manifest {algorithm}:{hexdigest[:12]} is not a JSON object")
    return model_from_manifest(manifest, BlobStore(root / "blobs", label), label=label,
                               name=normalize_reference(reference),
                               fallback_names=legacy_names(manifest))


def _find(index: Any, reference: str, label: str) -> dict[str, Any]:
    models = index.get("models") if isinstance(index, dict) else None
    if not isinstance(models, list):
        raise StoreError(f"{label}: models.json has no list of models")
    wanted = normalize_reference(reference)
    for entry in models:
        if not isinstance(entry, dict):
            continue
        tags = entry.get("tags")
        names = {normalize_reference(t) for t in (tags if isinstance(tags, list) else [])
                 if isinstance(t, str)}
        if entry.get("id") == reference or wanted in names:
            return entry
    raise StoreNotFound(f"{label}: no model tagged {wanted} in the Docker Model Runner store "
                        "(see `docker model ls`)")


def legacy_names(manifest: dict[str, Any]) -> list[str | None]:
    """Paths for layers packaged before file-path annotations, as DMR unpacks them.

    One GGUF is `model.gguf`, several are `model-00001-of-0000N.gguf`; the projector
    is `model.mmproj` and the chat template `template.jinja`. Other unannotated
    layers get no name (and are reported).
    """
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        return []
    kinds = [layer.get("mediaType") if isinstance(layer, dict) else None for layer in layers]
    ggufs = kinds.count(GGUF)
    names: list[str | None] = []
    seen_gguf = 0
    for kind in kinds:
        if kind == GGUF:
            seen_gguf += 1
            names.append("model.gguf" if ggufs == 1
                         else f"model-{seen_gguf:05d}-of-{ggufs:05d}.gguf")
        else:
            names.append({MMPROJ: "model.mmproj", CHAT_TEMPLATE: "template.jinja"}.get(str(kind)))
    return names
