"""OCI image layouts and ModelPack artifacts: index.json -> manifest -> layers -> files.

A layout (what `oras cp --to-oci-layout`, `skopeo copy ... oci:DIR:TAG` and modctl
write) is `oci-layout`, `index.json` and `blobs/<alg>/<hex>`. The manifest's layers
map to model files through `org.cncf.model.filepath` (older artifacts:
`org.cnai.model.filepath`). A raw layer is the file itself; tar layers hold the files
as members. A layer with a file-path annotation is a model file whatever its media
type says (only a tar type makes it an archive): an "empty" or "signature" type does
not keep it from being checked. Blob names are never trusted: every byte is re-hashed
and compared with the signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelseal.stores.common import (
    StoreError,
    StoreNotFound,
    UnsupportedLayer,
    check_digest,
    loads,
    parse_digest,
    read_bounded,
    read_json,
    regular_blob,
    safe_name,
)
from modelseal.stores.source import StoreModel, file_entry, sorted_entries
from modelseal.stores.tarstream import GZIP, PLAIN, ZSTD, TarLayer
from modelseal.walk import FileEntry

INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
MODEL_ARTIFACT_TYPE = "application/vnd.cncf.model.manifest.v1+json"
MODEL_CONFIG_TYPE = "application/vnd.cncf.model.config.v1+json"
FILEPATH_KEYS = ("org.cncf.model.filepath", "org.cnai.model.filepath")
TITLE = "org.opencontainers.image.title"  # ORAS names each pushed file with it
ORAS_UNPACK = "io.deis.oras.content.unpack"  # ORAS marks the directories it tarred
BUNDLE_MEDIA_PREFIX = "application/vnd.dev.sigstore.bundle"
MAX_LAYERS = 100_000
RAW = "raw"
SIGNATURE = "signature"
SKIP = "skip"
_TAR_SUFFIXES = {".tar": PLAIN, ".tar+gzip": GZIP, ".tar.gzip": GZIP, ".tar+gz": GZIP,
                 ".tar+zstd": ZSTD, ".tar.zstd": ZSTD}
_DOCKER_AI_TARS = ("application/vnd.docker.ai.dir.tar", "application/vnd.docker.ai.vllm.config.tar")


@dataclass(frozen=True)
class Reference:
    """``DIR[:TAG]`` split into the layout directory and the optional tag."""

    directory: Path
    tag: str | None

    @classmethod
    def parse(cls, text: str) -> Reference:
        """The tag follows the last `:`, unless the whole text is an existing directory."""
        whole = Path(text)
        head, sep, tail = text.rpartition(":")
        if whole.is_dir() or not sep or "/" in tail or not head:
            return cls(whole, None)
        return cls(Path(head), tail)

    @property
    def label(self) -> str:
        return f"oci:{self.directory}" + (f":{self.tag}" if self.tag else "")


class BlobStore:
    """Content-addressed blobs under ``root``; paths come only from parsed digests."""

    def __init__(self, root: Path, label: str) -> None:
        self.root = root
        self.label = label

    def path(self, digest: Any, where: str) -> Path:
        algorithm, hexdigest = parse_digest(digest, where)
        return self.root / algorithm / hexdigest

    def read_json(self, descriptor: dict[str, Any], what: str) -> Any:
        """Read a small JSON blob (a manifest) and check it against its digest."""
        digest = descriptor.get("digest")
        data = read_bounded(self.path(digest, what), what, limit=_max_json(descriptor))
        check_digest(data, str(digest), what)
        return loads(data, what)


def _max_json(descriptor: dict[str, Any]) -> int:
    from modelseal.stores.common import MAX_INDEX_BYTES

    size = descriptor.get("size")
    if isinstance(size, int) and not isinstance(size, bool) and 0 <= size <= MAX_INDEX_BYTES:
        return size
    return MAX_INDEX_BYTES


def open_model(text: str) -> StoreModel:
    """The model artifact ``DIR[:TAG]`` names (`verify --oci-layout`)."""
    return open_layout(Reference.parse(text))


def open_layout(reference: Reference) -> StoreModel:
    """The model artifact that ``reference`` names in an OCI image layout."""
    root = reference.directory
    if not (root / "oci-layout").is_file() or not (root / "index.json").is_file():
        raise StoreNotFound(f"{root} is not an OCI image layout (it needs oci-layout and "
                            "index.json); create one with `oras cp --to-oci-layout` or "
                            "`skopeo copy ... oci:DIR:TAG`")
    _check_layout_version(read_json(root / "oci-layout", f"{root}/oci-layout"), root)
    blobs = BlobStore(root / "blobs", reference.label)
    index = _object(read_json(root / "index.json", f"{root}/index.json"), f"{root}/index.json")
    descriptor = select_manifest(index, reference.tag, reference.label)
    manifest = resolve_manifest(blobs, descriptor, reference.label)
    return model_from_manifest(manifest, blobs, label=reference.label,
                               name=reference.tag or root.resolve().name)


def _check_layout_version(data: Any, root: Path) -> None:
    version = data.get("imageLayoutVersion") if isinstance(data, dict) else None
    if not isinstance(version, str) or not version.startswith("1."):
        raise StoreError(f"{root}/oci-layout: imageLayoutVersion {version!r} is not 1.x")


def select_manifest(index: dict[str, Any], tag: str | None, label: str) -> dict[str, Any]:
    """The index entry for ``tag``; without a tag, the only entry (else ask for one)."""
    entries = [_object(e, f"{label}: index entry") for e in _list(index.get("manifests"),
                                                                    f"{label}: index manifests")]
    if not entries:
        raise StoreNotFound(f"{label}: the index lists no manifests")
    tags = [_ref_name(entry) for entry in entries]
    if tag is not None:
        found = [entry for entry, name in zip(entries, tags, strict=True)
                 if name is not None and (name == tag or name.endswith(f":{tag}"))]
        if len(found) == 1:
            return found[0]
        known = ", ".join(sorted({t for t in tags if t})) or "none"
        problem = "matches several manifests" if found else "is not in the index"
        raise StoreNotFound(f"{label}: tag {tag!r} {problem} (tags: {known})")
    if len(entries) == 1:
        return entries[0]
    known = ", ".join(sorted({t for t in tags if t})) or "none are tagged"
    raise StoreNotFound(f"{label}: the index holds {len(entries)} manifests; name one with "
                        f"DIR:TAG (tags: {known})")


def _ref_name(entry: dict[str, Any]) -> str | None:
    annotations = entry.get("annotations")
    value = annotations.get(REF_NAME) if isinstance(annotations, dict) else None
    return value if isinstance(value, str) else None


def resolve_manifest(blobs: BlobStore, descriptor: dict[str, Any], label: str,
                     depth: int = 0) -> dict[str, Any]:
    """Follow nested indexes down to the one model manifest."""
    data = _object(blobs.read_json(descriptor, f"{label}: manifest {descriptor.get('digest')}"),
                   f"{label}: manifest")
    if data.get("mediaType", descriptor.get("mediaType")) != INDEX_MEDIA_TYPE and \
            "manifests" not in data:
        return data
    if depth >= 4:
        raise StoreError(f"{label}: indexes nest too deeply")
    children = [_object(c, f"{label}: index entry") for c in _list(data.get("manifests"),
                                                                     f"{label}: index")]
    models = [c for c in children if c.get("artifactType") == MODEL_ARTIFACT_TYPE] or children
    if len(models) != 1:
        raise StoreNotFound(f"{label}: the nested index holds {len(models)} manifests; "
                            "cannot tell which one is the model")
    return resolve_manifest(blobs, models[0], label, depth + 1)


def layer_kind(media_type: str) -> str:
    """raw, tar, tar+gzip, tar+zstd, signature or skip, from a layer's media type."""
    if media_type.startswith(BUNDLE_MEDIA_PREFIX):
        return SIGNATURE
    if media_type.startswith("application/vnd.oci.empty."):
        return SKIP
    if media_type in _DOCKER_AI_TARS:
        return PLAIN
    for suffix, kind in _TAR_SUFFIXES.items():
        if media_type.endswith(suffix):
            return kind
    if media_type.endswith(".raw") or media_type.startswith("application/vnd.docker.ai."):
        return RAW
    raise UnsupportedLayer(f"unknown layer media type {media_type!r}: cannot tell whether it "
                           "is a file or an archive")


@dataclass
class _Collector:
    """Accumulates files, tar layers and the signature blob while reading layers."""

    blobs: BlobStore
    label: str
    files: list[FileEntry]
    archives: list[TarLayer]
    media_types: dict[str, str]
    signature: Path | None = None


def model_from_manifest(manifest: dict[str, Any], blobs: BlobStore, *, label: str, name: str,
                        fallback_names: Sequence[str | None] = ()) -> StoreModel:
    """Turn an image manifest's layers into a `StoreModel` (shared with the DMR reader).

    ``fallback_names`` gives a path for each layer that carries no filepath annotation.
    """
    layers = _list(manifest.get("layers"), f"{label}: manifest layers")
    if len(layers) > MAX_LAYERS:
        raise StoreError(f"{label}: the manifest has {len(layers)} layers (at most {MAX_LAYERS})")
    found = _Collector(blobs, label, [], [], {})
    seen: set[str] = set()
    for index, raw in enumerate(layers):
        layer = _object(raw, f"{label}: layer {index}")
        fallback = fallback_names[index] if index < len(fallback_names) else None
        _add_layer(found, index, layer, fallback, seen)
    return StoreModel(label, name, blobs.root, sorted_entries(found.files), tuple(found.archives),
                      found.signature, found.media_types)


def _add_layer(found: _Collector, index: int, layer: dict[str, Any], fallback: str | None,
               seen: set[str]) -> None:
    media_type = layer.get("mediaType")
    if not isinstance(media_type, str):
        raise StoreError(f"{found.label}: layer {index} has no mediaType")
    kind, path = classify_layer(layer, media_type, f"{found.label}: layer {index}")
    where = f"{found.label}: layer {index}" + (f" ({path})" if path else "")
    if kind == SKIP:
        return
    blob = found.blobs.path(layer.get("digest"), where)
    if media_type.startswith(BUNDLE_MEDIA_PREFIX) or (kind == RAW and path == "model.sig"):
        found.signature = _signature_blob(found, blob, where)
        if path is None:
            return
    regular = regular_blob(blob, found.blobs.root, where)
    if kind != RAW:
        found.archives.append(TarLayer(blob, kind, f"{where} [{media_type}]"))
        return
    path = path or fallback
    if path is None:
        raise StoreError(f"{where}: a {media_type} layer without an org.cncf.model.filepath "
                         "annotation; cannot tell which file it is")
    if path in seen:
        raise StoreError(f"{where}: file path {path!r} appears in more than one layer")
    seen.add(path)
    found.files.append(file_entry(path, blob, regular))
    found.media_types[path] = media_type


def _annotated_kind(media_type: str) -> str:
    """A layer that names a model file is that file (or a tar of it), whatever its type.

    Runtimes unpack layers by their file-path annotation, so a type that claims
    "empty", "signature" or something unknown must not keep the bytes from being
    checked: anything but a tar type is the file itself.
    """
    try:
        kind = layer_kind(media_type)
    except UnsupportedLayer:
        return RAW
    return RAW if kind in (SKIP, SIGNATURE) else kind


def _signature_blob(found: _Collector, blob: Path, where: str) -> Path:
    if found.signature is not None:
        raise StoreError(f"{where}: the artifact carries more than one signature layer")
    regular_blob(blob, found.blobs.root, where)
    return blob


def classify_layer(layer: dict[str, Any], media_type: str, where: str) -> tuple[str, str | None]:
    """(kind, model path) of a layer, for layouts and registries alike.

    ModelPack layers name their file with `org.cncf.model.filepath`; such a layer is
    that file, or a tar of it when its type says tar (see `_annotated_kind`). Plain
    ORAS artifacts name it with the title: ORAS types a pushed file
    `application/vnd.oci.image.layer.v1.tar` although the blob is the raw file, and
    tars only directories, which it marks for unpacking; so a titled layer without
    that mark is the raw file whatever its media type says.
    """
    path = layer_path(layer, where)
    if path is not None:
        return _annotated_kind(media_type), path
    annotations = layer.get("annotations")
    if not isinstance(annotations, dict) or TITLE not in annotations:
        return layer_kind(media_type), None
    title = safe_name(annotations[TITLE], f"{where}: annotation {TITLE}")
    if annotations.get(ORAS_UNPACK) == "true":
        kind = layer_kind(media_type)
        if kind in (RAW, SIGNATURE, SKIP):
            raise UnsupportedLayer(f"{where}: ORAS marks {title!r} for unpacking, but its "
                                   f"media type {media_type!r} is not a tar archive")
        return kind, None  # members carry their own paths, under the directory's name
    return RAW, title


def layer_path(layer: dict[str, Any], where: str) -> str | None:
    """The checked `org.cncf.model.filepath` (or legacy `org.cnai.`) of a layer, if any."""
    annotations = layer.get("annotations")
    if annotations is None:
        return None
    if not isinstance(annotations, dict):
        raise StoreError(f"{where}: annotations must be an object")
    for key in FILEPATH_KEYS:
        if key in annotations:
            return safe_name(annotations[key], f"{where}: annotation {key}")
    return None


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StoreError(f"{where} is not a JSON object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise StoreError(f"{where} is missing or not a list")
    return value
