"""Ollama's model store, and the resource-naming convention for signing its models.

Store (`$OLLAMA_MODELS`, default `~/.ollama/models`): a manifest (schemaVersion 2) at
`manifests/<host>/<namespace>/<model>/<tag>` (newer releases: `manifests-v2/`, where
it is a symlink to a `blobs/sha256-<hex>` blob), and blobs at `blobs/sha256-<hex>`.

Convention: each layer becomes a resource named by its media-type suffix
(`application/vnd.ollama.image.model` -> `model`; likewise `template`, `params`,
`license`, `system`, `projector`, `adapter`, `messages`, ...); a layer that carries a
`name` (tensor layers) is `<suffix>/<name>`; when a suffix repeats, later layers are
`<suffix>-2`, `<suffix>-3`, ... in manifest order; the config blob is `config`. The
digests are re-hashed from the blobs, so a signature vouches for the bytes Ollama
will load (which, since Ollama rewrites imported GGUF files, are generally not the
bytes of the original `.gguf`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelseal.stores.common import (
    StoreError,
    StoreNotFound,
    check_digest,
    expand_root,
    loads,
    read_bounded,
    regular_blob,
    safe_name,
)
from modelseal.stores.source import StoreModel, file_entry, sorted_entries
from modelseal.walk import FileEntry

ENV = "OLLAMA_MODELS"
DEFAULT_ROOT = Path("~/.ollama/models")
DEFAULT_HOST = "registry.ollama.ai"
V2_HOST = "ollama.com"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
LAYER_PREFIX = "application/vnd.ollama.image."
LIST_MEDIA_TYPE = "application/vnd.ollama.manifest.list.v2+json"
CONFIG_NAME = "config"
RUNNER_PREFERENCE = ("ollama", "llamacpp", "mlx")
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
_BLOB_NAME = re.compile(r"sha256-[0-9a-f]{64}")
_DIGEST = re.compile(r"sha256[:-](?P<hex>[0-9a-fA-F]{64})")
_PART = re.compile(r"[\w][\w.-]*")


@dataclass(frozen=True)
class ModelName:
    """``[host/][namespace/]model[:tag]`` with Ollama's defaults filled in."""

    host: str
    namespace: str
    model: str
    tag: str

    @classmethod
    def parse(cls, text: str) -> ModelName:
        path, tag = text, ""
        if ":" in text.rsplit("/", 1)[-1]:
            path, _, tag = text.rpartition(":")
        parts = path.split("/")
        if len(parts) > 3 or not all(_PART.fullmatch(p) for p in parts) or \
                (tag and not _PART.fullmatch(tag)):
            raise StoreNotFound(f"{text!r} is not an Ollama model name ([HOST/][NS/]MODEL[:TAG])")
        host = parts[0] if len(parts) == 3 else DEFAULT_HOST
        namespace = parts[-2] if len(parts) >= 2 else DEFAULT_NAMESPACE
        return cls(host, namespace, parts[-1], tag or DEFAULT_TAG)

    @property
    def display(self) -> str:
        prefix = "" if self.host in (DEFAULT_HOST, V2_HOST) else f"{self.host}/"
        namespace = "" if self.namespace == DEFAULT_NAMESPACE and not prefix else \
            f"{self.namespace}/"
        return f"{prefix}{namespace}{self.model}:{self.tag}"

    def candidates(self, root: Path) -> list[tuple[Path, Path]]:
        """(manifest path, manifests root) to try: `manifests-v2/` first, then legacy."""
        default = self.host in (DEFAULT_HOST, V2_HOST)
        v2_host = V2_HOST if default else self.host
        hosts = [self.host, V2_HOST if self.host == DEFAULT_HOST else DEFAULT_HOST] \
            if default else [self.host]
        found = [(root / "manifests-v2" / v2_host / self.namespace / self.model / self.tag,
                  root / "manifests-v2")]
        found += [(root / "manifests" / host / self.namespace / self.model / self.tag,
                   root / "manifests") for host in hosts]
        return found


def store_root() -> Path:
    return expand_root(ENV, DEFAULT_ROOT)


def blob_path(root: Path, digest: Any, where: str) -> Path:
    match = _DIGEST.fullmatch(digest) if isinstance(digest, str) else None
    if not match:
        raise StoreError(f"{where}: {digest!r} is not a sha256 digest")
    return root / "blobs" / f"sha256-{match['hex'].lower()}"


def open_model(text: str, root: Path | None = None) -> StoreModel:
    """The layers and config of Ollama model ``text``, named by the convention above."""
    root = root or store_root()
    name = ModelName.parse(text)
    label = f"ollama:{name.display}"
    manifest = _select(read_manifest(root, name, label), root, label)
    files: list[FileEntry] = []
    media_types: dict[str, str] = {}
    config = manifest.get("config")
    if isinstance(config, dict) and config.get("digest"):
        _add(files, media_types, root, CONFIG_NAME, config, f"{label}: config")
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise StoreError(f"{label}: the manifest has no list of layers")
    for layer, resource in zip(layers, resource_names(layers, label), strict=True):
        _add(files, media_types, root, resource, layer, f"{label}: layer {resource}")
    return StoreModel(label, name.display, root, sorted_entries(files), media_types=media_types)


def _add(files: list[FileEntry], media_types: dict[str, str], root: Path, resource: str,
         descriptor: dict[str, Any], where: str) -> None:
    path = blob_path(root, descriptor.get("digest"), where)
    files.append(file_entry(resource, path, regular_blob(path, root / "blobs", where)))
    media_types[resource] = str(descriptor.get("mediaType", ""))


def resource_names(layers: list[Any], label: str) -> list[str]:
    """The resource name of each layer, by the convention in the module docstring."""
    names: list[str] = []
    counts: dict[str, int] = {}
    for index, layer in enumerate(layers):
        if not isinstance(layer, dict) or not isinstance(layer.get("mediaType"), str):
            raise StoreError(f"{label}: layer {index} has no mediaType")
        media_type: str = layer["mediaType"]
        if not media_type.startswith(LAYER_PREFIX) or \
                not _PART.fullmatch(media_type[len(LAYER_PREFIX):]):
            raise StoreError(f"{label}: layer {index} has media type {media_type!r}, not "
                             f"{LAYER_PREFIX}<kind>")
        suffix = media_type[len(LAYER_PREFIX):]
        if isinstance(layer.get("name"), str) and layer["name"]:
            names.append(safe_name(f"{suffix}/{layer['name']}", f"{label}: layer {index}"))
            continue
        counts[suffix] = counts.get(suffix, 0) + 1
        names.append(suffix if counts[suffix] == 1 else f"{suffix}-{counts[suffix]}")
    if len(set(names)) != len(names) or CONFIG_NAME in names:
        raise StoreError(f"{label}: two layers map to the same resource name")
    return names


def read_manifest(root: Path, name: ModelName, label: str) -> dict[str, Any]:
    """The named manifest, bounded; a v2 symlink must lead to a matching blob."""
    for path, manifests_root in name.candidates(root):
        if os.path.lexists(path):
            return _manifest_at(path, manifests_root, root, label)
    raise StoreNotFound(f"{label}: no such model in the Ollama store {root} (see `ollama list`; "
                        f"set {ENV} if the store is elsewhere)")


def _manifest_at(path: Path, manifests_root: Path, root: Path, label: str) -> dict[str, Any]:
    what = f"{label}: manifest {path}"
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        if target.parent != (root / "blobs").resolve() or not _BLOB_NAME.fullmatch(target.name):
            raise StoreError(f"{what} links to {target}, not to a blob of this store")
        data = read_bounded(target, what, limit=MAX_MANIFEST_BYTES)
        check_digest(data, "sha256:" + target.name[len("sha256-"):], what)
    else:
        if not path.resolve().is_relative_to(manifests_root.resolve()):
            raise StoreError(f"{what} resolves outside {manifests_root}")
        data = read_bounded(path, what, limit=MAX_MANIFEST_BYTES)
    manifest = loads(data, what)
    if not isinstance(manifest, dict):
        raise StoreError(f"{what} is not a JSON object")
    return manifest


def _select(manifest: dict[str, Any], root: Path, label: str) -> dict[str, Any]:
    """A manifest list's child for the preferred runner (references read from blobs)."""
    if manifest.get("mediaType") != LIST_MEDIA_TYPE:
        return manifest
    listed = manifest.get("manifests")
    children = [c for c in (listed if isinstance(listed, list) else []) if isinstance(c, dict)]
    for runner in RUNNER_PREFERENCE:
        for child in children:
            if str(child.get("runner", "")).lower() != runner:
                continue
            if child.get("layers") is None and child.get("digest"):
                path = blob_path(root, child["digest"], f"{label}: {runner} manifest")
                data = read_bounded(path, f"{label}: {runner} manifest",
                                    limit=MAX_MANIFEST_BYTES)
                check_digest(data, "sha256:" + path.name[len("sha256-"):], f"{label}: manifest")
                child = loads(data, f"{label}: {runner} manifest")
            if not isinstance(child, dict):
                raise StoreError(f"{label}: the {runner} manifest is not a JSON object")
            return child
    raise StoreError(f"{label}: the manifest list has no child for the runners "
                     f"{', '.join(RUNNER_PREFERENCE)}")
