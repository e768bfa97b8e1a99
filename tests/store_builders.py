"""Build model stores in temp dirs from real files, exactly as their formats describe.

Each builder copies (never links) the files of a model directory into the store's
content-addressed layout: an OCI image layout with ModelPack raw and tar layers, a
Docker Model Runner store, a Hugging Face hub cache with relative snapshot symlinks
(SHA-256 names for LFS files, git blob SHA-1 names for small files), and an Ollama
store (legacy `manifests/` or `manifests-v2/` symlinks).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODELPACK = "application/vnd.cncf.model"
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
SKIPPED = ("model.sig", "model.manifest.json")


def make_model(root: Path) -> Path:
    """A small model directory: weights, configs, docs, a nested file, an empty file."""
    files = {
        "model.safetensors": os.urandom(300_000),
        "config.json": b'{"architectures": ["Tiny"], "hidden_size": 8}\n',
        "tokenizer.json": b'{"version": "1.0", "model": {"type": "BPE"}}\n',
        "README.md": b"# tiny\nA tiny model for tests.\n",
        "extra/notes.txt": b"nested file\n",
        "extra/empty.txt": b"",
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def model_files(root: Path) -> list[str]:
    """Relative POSIX paths of the model's files (without the signature and manifest)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.relative_to(root).as_posix() not in SKIPPED)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put_blob(blobs: Path, data: bytes) -> str:
    """Store ``data`` at blobs/sha256/<hex>; returns the digest."""
    hexdigest = sha256(data)
    (blobs / "sha256").mkdir(parents=True, exist_ok=True)
    (blobs / "sha256" / hexdigest).write_bytes(data)
    return f"sha256:{hexdigest}"


def modctl_metadata(path: Path) -> str:
    st = path.stat()
    from datetime import datetime, timezone

    mtime = datetime.fromtimestamp(st.st_mtime, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"name": path.name, "mode": st.st_mode & 0o777, "uid": st.st_uid,
                       "gid": st.st_gid, "size": st.st_size, "mtime": mtime, "typeflag": 0},
                      separators=(",", ":"))


def layer_kind(name: str) -> str:
    if name.endswith((".safetensors", ".gguf")):
        return "weight"
    if name.endswith(".json"):
        return "weight.config"
    return "doc"


def tar_bytes(root: Path, names: Iterable[str], compression: str = "") -> bytes:
    """A tar (optionally gzip/zstd) of ``names`` relative to ``root``, as modctl builds it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in names:
            archive.add(root / name, arcname=name, recursive=False)
    data = buffer.getvalue()
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "zstd":
        import zstandard

        return bytes(zstandard.ZstdCompressor().compress(data))
    return data


@dataclass
class OciOptions:
    """How to lay out the artifact: which files go in tar layers, extras, a signature."""

    tag: str = "v1"
    tar: Sequence[str] = ()
    tar_gzip: Sequence[str] = ()
    tar_zstd: Sequence[str] = ()
    signature: bytes | None = None
    annotations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    legacy_prefix: bool = False


def layers_for(model: Path, blobs: Path, options: OciOptions) -> list[dict[str, Any]]:
    layers = []
    in_tar = {*options.tar, *options.tar_gzip, *options.tar_zstd}
    for name in model_files(model):
        if name in in_tar:
            continue
        data = (model / name).read_bytes()
        prefix = "application/vnd.cnai.model" if options.legacy_prefix else MODELPACK
        key = "org.cnai.model" if options.legacy_prefix else "org.cncf.model"
        annotations = {f"{key}.filepath": name,
                       f"{key}.file.metadata+json": modctl_metadata(model / name),
                       f"{key}.file.mediatype.untested": "false",
                       **options.annotations.get(name, {})}
        layers.append({"mediaType": f"{prefix}.{layer_kind(name)}.v1.raw",
                       "digest": put_blob(blobs, data), "size": len(data),
                       "annotations": annotations})
    for names, suffix, compression in ((options.tar, "tar", ""),
                                       (options.tar_gzip, "tar+gzip", "gzip"),
                                       (options.tar_zstd, "tar+zstd", "zstd")):
        for name in names:
            data = tar_bytes(model, [name], compression)
            layers.append({"mediaType": f"{MODELPACK}.{layer_kind(name)}.v1.{suffix}",
                           "digest": put_blob(blobs, data), "size": len(data),
                           "annotations": {"org.cncf.model.filepath": name}})
    if options.signature is not None:
        layers.append({"mediaType": BUNDLE_MEDIA_TYPE, "size": len(options.signature),
                       "digest": put_blob(blobs, options.signature)})
    return layers


def model_manifest(layers: list[dict[str, Any]], blobs: Path) -> bytes:
    config = json.dumps({"descriptor": {"name": "tiny"}, "config": {"format": "safetensors"},
                         "modelfs": {"type": "layers",
                                     "diffIds": [layer["digest"] for layer in layers]}}).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": "application/vnd.cncf.model.manifest.v1+json",
                "config": {"mediaType": "application/vnd.cncf.model.config.v1+json",
                           "digest": put_blob(blobs, config), "size": len(config)},
                "layers": layers}
    return json.dumps(manifest, separators=(",", ":")).encode()


def build_oci_layout(model: Path, layout: Path, options: OciOptions | None = None,
                     *, more_tags: Sequence[str] = ()) -> Path:
    """An OCI image layout holding ``model`` as a ModelPack artifact tagged ``options.tag``."""
    options = options or OciOptions()
    blobs = layout / "blobs"
    manifest = model_manifest(layers_for(model, blobs, options), blobs)
    digest = put_blob(blobs, manifest)
    entries = []
    for tag in (options.tag, *more_tags):
        entries.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "artifactType": "application/vnd.cncf.model.manifest.v1+json",
                        "digest": digest, "size": len(manifest),
                        "annotations": {"org.opencontainers.image.ref.name": tag}})
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": entries}
    (layout / "index.json").write_text(json.dumps(index))
    return layout


def blob_of(layout: Path, name: str, *, tag: str | None = None) -> Path:
    """The blob holding ``name`` (raw layer) in a layout built above."""
    index = json.loads((layout / "index.json").read_text())
    entry = next(e for e in index["manifests"]
                 if tag is None or e["annotations"]["org.opencontainers.image.ref.name"] == tag)
    manifest = json.loads(_blob(layout / "blobs", entry["digest"]).read_bytes())
    for layer in manifest["layers"]:
        if layer.get("annotations", {}).get("org.cncf.model.filepath") == name:
            return _blob(layout / "blobs", layer["digest"])
    raise KeyError(name)


def _blob(blobs: Path, digest: str) -> Path:
    algorithm, hexdigest = digest.split(":")
    return blobs / algorithm / hexdigest


# --- Docker Model Runner ------------------------------------------------------------------

DMR_CONFIG = "application/vnd.docker.ai.model.config.v0.2+json"
DMR_TYPES = {".gguf": "application/vnd.docker.ai.gguf.v3",
             ".safetensors": "application/vnd.docker.ai.safetensors",
             ".jinja": "application/vnd.docker.ai.chat.template.jinja"}


def build_dmr_store(model: Path, root: Path, tag: str = "ai/tiny:latest",
                    *, annotate: bool = True) -> Path:
    """A DMR store (layout.json, models.json, manifests/, blobs/) holding ``model``."""
    blobs = root / "blobs"
    layers = []
    for name in model_files(model):
        data = (model / name).read_bytes()
        media_type = DMR_TYPES.get(Path(name).suffix, "application/vnd.docker.ai.model.file")
        if name.startswith("LICENSE"):
            media_type = "application/vnd.docker.ai.license"
        layer: dict[str, Any] = {"mediaType": media_type, "size": len(data),
                                 "digest": put_blob(blobs, data)}
        if annotate:
            layer["annotations"] = {"org.cncf.model.filepath": name,
                                    "org.cncf.model.file.metadata+json":
                                        modctl_metadata(model / name),
                                    "org.cncf.model.file.mediatype.untested": "false"}
        layers.append(layer)
    config = json.dumps({"config": {"format": "safetensors"},
                         "rootfs": {"type": "rootfs",
                                    "diff_ids": [x["digest"] for x in layers]}}).encode()
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": DMR_CONFIG, "size": len(config),
                                      "digest": put_blob(blobs, config)},
                           "layers": layers}).encode()
    digest = put_blob(root / "manifests", manifest)
    (root / "layout.json").write_text('{"version": "1.0.0"}')
    files = [x["digest"] for x in layers] + [json.loads(manifest)["config"]["digest"]]
    (root / "models.json").write_text(json.dumps(
        {"models": [{"id": digest, "tags": [tag], "files": files}]}, indent=2))
    return root


# --- Hugging Face cache -------------------------------------------------------------------


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def build_hf_cache(model: Path, cache: Path, repo_id: str = "acme/tiny",
                   commit: str = "0123456789abcdef0123456789abcdef01234567",
                   lfs_min_size: int = 100_000) -> Path:
    """`models--ORG--NAME` with refs/main, blobs/ and a snapshot of relative symlinks."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    blobs = repo / "blobs"
    blobs.mkdir(exist_ok=True)
    snapshot = repo / "snapshots" / commit
    for name in model_files(model):
        data = (model / name).read_bytes()
        blob_name = sha256(data) if len(data) >= lfs_min_size else git_blob_sha1(data)
        (blobs / blob_name).write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blobs / blob_name, link.parent))
    return repo


# --- Ollama -------------------------------------------------------------------------------


def build_ollama_store(root: Path, layers: Sequence[tuple[str, bytes]], *,
                       name: Sequence[str] = ("registry.ollama.ai", "library", "tiny", "latest"),
                       v2: bool = False) -> Path:
    """An Ollama store with one model; ``layers`` are (media type, bytes) pairs."""
    blobs = root / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)

    def blob(data: bytes) -> dict[str, Any]:
        hexdigest = sha256(data)
        (blobs / f"sha256-{hexdigest}").write_bytes(data)
        return {"digest": f"sha256:{hexdigest}", "size": len(data)}

    config = json.dumps({"model_format": "gguf", "model_family": "llama",
                         "rootfs": {"type": "layers"}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", **blob(config)},
        "layers": [{"mediaType": media_type, **blob(data)} for media_type, data in layers],
    }).encode()
    if v2:
        host = "ollama.com" if name[0] == "registry.ollama.ai" else name[0]
        path = root / "manifests-v2" / host / name[1] / name[2] / name[3]
        path.parent.mkdir(parents=True, exist_ok=True)
        target = blobs / f"sha256-{blob(manifest)['digest'][7:]}"
        path.symlink_to(os.path.relpath(target, path.parent))
    else:
        path = root / "manifests" / Path(*name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(manifest)
    return root


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target
