"""A model in a registry, read from its pinned manifest: verify before pull, pull what verified.

`open_reference` resolves a tag to a manifest digest once (the pin) and reads the
layers exactly as the layout reader does (`oci.classify_layer`). `RemoteModel`
is the `verifying.FileSource` for it: for a sha256 files-mode signature a raw
layer's digest *is* the file's OMS digest, so those layers are compared from the
manifest alone; tar layers and other hash types are streamed and hashed, each blob
checked against its digest as it arrives. `pull` writes the verified files into a
temporary sibling of the target directory and renames it only when all is in.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelseal.errors import UsageError
from modelseal.hashing import HashSpec
from modelseal.manifest import Manifest, ManifestDiff, Serialization, build_manifest
from modelseal.scope import HASH, SignedScope
from modelseal.stores import oci, ollama
from modelseal.stores.common import StoreError, parse_digest
from modelseal.stores.ociref import OLLAMA_SCHEME, RegistryRef
from modelseal.stores.registry import (
    OCI_INDEX,
    RegistryClient,
    RegistryError,
    drain,
)
from modelseal.stores.source import hash_member, is_ignored
from modelseal.stores.tarstream import Member, Readable, stream_members
from modelseal.walk import SIGNATURE_NAME, SINGLE_FILE_NAME, name_sort_key
from modelseal.words import plural

if TYPE_CHECKING:
    from modelseal.verifying import VerifyOptions

_INDEX_TYPES = (OCI_INDEX, "application/vnd.docker.distribution.manifest.list.v2+json")
_RAW_SHA256 = HashSpec("sha256", None)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True)
class RemoteFile:
    """A raw layer: the model file ``name`` is exactly the blob ``digest``."""

    name: str
    digest: str
    size: int
    media_type: str
    annotations: tuple[tuple[str, str], ...] = ()  # the layer's string annotations


@dataclass(frozen=True)
class RemoteArchive:
    """A tar layer whose members are model files."""

    digest: str
    size: int
    compression: str
    label: str


@dataclass
class RemoteModel:
    """The pinned artifact: where it is, its files and the bundle layer it carries, if any."""

    client: RegistryClient
    ref: RegistryRef
    digest: str  # the pin: what the reference resolved to
    descriptor: dict[str, Any]  # mediaType, digest and size of the pinned manifest
    name: str
    files: tuple[RemoteFile, ...]
    archives: tuple[RemoteArchive, ...]
    signature: dict[str, Any] | None = None
    subjects: tuple[str, ...] = ()  # manifest digests whose referrers may sign this model
    bundle_layer: str | None = None  # digest of the layer whose bundle is being verified
    _streamed: dict[tuple[str, HashSpec], list[bytes]] = field(default_factory=dict)

    @property
    def pinned(self) -> str:
        return self.ref.pinned(self.digest)

    @property
    def label(self) -> str:
        return self.pinned

    def verifying_layer(self, digest: str | None) -> RemoteModel:
        """This model while the bundle of layer ``digest`` is verified (None: a referrer).

        That layer is the signature, not a model file, as `model.sig` beside a
        directory is not; any other `model.sig` layer is a file like the rest.
        """
        return replace(self, bundle_layer=digest)

    # -- the verify hook (verifying.FileSource) ----------------------------------------

    def check_files(self, signed: Manifest, options: VerifyOptions) -> ManifestDiff:
        """Compare with ``signed``: only the files it lists are hashed (see scope.py).

        Skipped: what the signature records in ``ignore_paths`` and ``--ignore``.
        """
        serialization = signed.serialization
        ignored = _ignored(signed, options.ignore)
        files = self.compared_files(signed, options.ignore)
        scope = SignedScope(signed)
        if signed.single_file:
            files = [self._single_file(files)]
        elif options.ignore_unsigned_files:
            files = [f for f in files if f.name in scope.paths]
        spec = serialization.spec
        digests = {f.name: self._file_digests(f, spec) for f in scope.keep(files)}
        seen = {f.name for f in files}
        for archive in self.archives:
            self._archive_digests(archive, spec, ignored, seen, digests, scope,
                                  only_signed=options.ignore_unsigned_files)
        return scope.diff(digests)

    def compared_files(self, signed: Manifest, ignore: Sequence[str]) -> list[RemoteFile]:
        """The raw file layers verification compares: not ignored, not the bundle itself."""
        ignored = _ignored(signed, ignore)
        return [f for f in self.files if not is_ignored(f.name, ignored)
                and not (f.name == SIGNATURE_NAME and f.digest == self.bundle_layer)]

    def manifest(self, serialization: Serialization, *, ignore: Sequence[str] = ()) -> Manifest:
        """A fresh manifest of every file but the ignored ones, for signing from here."""
        ignored = {*serialization.ignore_paths, *(p.strip("/") for p in ignore)}
        spec = serialization.spec
        files = [f for f in self.files if not is_ignored(f.name, ignored)]
        digests = {f.name: self._file_digests(f, spec) for f in files}
        sizes = {f.name: f.size for f in files}
        seen = set(sizes)
        for archive in self.archives:
            scope_all = _Everything(sizes)
            self._archive_digests(archive, spec, ignored, seen, digests, scope_all,
                                  only_signed=False)
        if not digests:
            raise StoreError(f"{self.label} holds no files to sign (OMS needs at least one)")
        return build_manifest(self.name, serialization, digests, sizes)

    def _single_file(self, files: list[RemoteFile]) -> RemoteFile:
        if self.archives or len(files) != 1:
            raise StoreError(f"the signature is for a single file (resource '.'), but "
                             f"{self.label} holds {plural(len(files), 'raw file layer')}"
                             + (" and tar layers" if self.archives else ""))
        return replace(files[0], name=SINGLE_FILE_NAME)

    def _file_digests(self, entry: RemoteFile, spec: HashSpec) -> list[bytes]:
        algorithm, hexdigest = parse_digest(entry.digest, f"{self.label}: {entry.name}")
        if spec == _RAW_SHA256 and algorithm == "sha256":
            return [bytes.fromhex(hexdigest)]  # the pinned manifest names the bytes
        key = (entry.digest, spec)
        if key not in self._streamed:  # several candidates: each blob is streamed once
            what = f"{self.label}: layer {entry.name!r}"
            with self.client.blob(self.ref.repository, entry.digest, entry.size,
                                  what) as stream:
                self._streamed[key] = hash_member(Member(entry.name, entry.size, stream), spec)
                drain(stream)
        return self._streamed[key]

    def _archive_digests(self, archive: RemoteArchive, spec: HashSpec, ignored: set[str],
                         seen: set[str], digests: dict[str, list[bytes]],
                         scope: SignedScope | _Everything, *, only_signed: bool) -> None:
        with self.client.blob(self.ref.repository, archive.digest, archive.size,
                              archive.label) as stream:
            for member in stream_members(stream, archive.compression, archive.label):
                if is_ignored(member.name, ignored) or (only_signed and
                                                        member.name not in scope.paths):
                    continue
                if member.name in seen:
                    raise StoreError(f"{archive.label}: {member.name!r} is also in another "
                                     "layer; a path may appear only once in a model")
                seen.add(member.name)
                if scope.verdict(member.name, member.size) == HASH:
                    digests[member.name] = hash_member(member, spec)
            drain(stream)


def _ignored(signed: Manifest, ignore: Sequence[str]) -> set[str]:
    return {*signed.serialization.ignore_paths, *(p.strip("/") for p in ignore)}


class _Everything:
    """The scope of signing: every member is hashed, and its size kept."""

    paths: frozenset[str] = frozenset()

    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = sizes

    def verdict(self, name: str, size: int) -> str:
        self.sizes[name] = size
        return HASH


# --- reading the pinned manifest ----------------------------------------------------------


def pin(client: RegistryClient, ref: RegistryRef) -> dict[str, Any]:
    """The descriptor (mediaType, digest, size) that ``ref`` resolves to, read once."""
    top = client.manifest(ref.repository, ref.reference)
    document = top.json(f"{ref.label}: manifest")
    return {"mediaType": str(document.get("mediaType") or top.media_type),
            "digest": top.digest, "size": len(top.data)}


def open_reference(client: RegistryClient, ref: RegistryRef) -> RemoteModel:
    """Resolve ``ref`` once, then read its model manifest by digest only."""
    top = client.manifest(ref.repository, ref.reference)
    document = top.json(f"{ref.label}: manifest")
    media_type = str(document.get("mediaType") or top.media_type)
    descriptor = {"mediaType": media_type, "digest": top.digest, "size": len(top.data)}
    subjects = [top.digest]
    depth = 0
    while media_type in _INDEX_TYPES or "manifests" in document:
        depth += 1
        if depth > 4:
            raise RegistryError(f"{ref.label}: indexes nest too deeply")
        child = _model_child(document, ref.label)
        fetched = client.manifest(ref.repository, str(child.get("digest")),
                                  size=_size(child, ref.label), what="manifest")
        document = fetched.json(f"{ref.label}: manifest {fetched.digest}")
        media_type = str(document.get("mediaType") or fetched.media_type)
        subjects.append(fetched.digest)
    model = RemoteModel(client, ref, top.digest, descriptor, ref.model_name, (), (),
                        subjects=tuple(subjects))
    if ref.scheme == OLLAMA_SCHEME:
        return _ollama_layers(model, document)
    return _oci_layers(model, document)


def _model_child(index: dict[str, Any], label: str) -> dict[str, Any]:
    children = [c for c in oci._list(index.get("manifests"), f"{label}: index")
                if isinstance(c, dict)]
    models = [c for c in children if c.get("artifactType") == oci.MODEL_ARTIFACT_TYPE] or \
        children
    if len(models) != 1:
        raise StoreError(f"{label}: the index holds {len(models)} manifests; cannot tell which "
                         "one is the model (name it by digest)")
    return models[0]


def _size(descriptor: dict[str, Any], where: str) -> int:
    size = descriptor.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RegistryError(f"{where}: a descriptor has no valid size")
    return size


def _oci_layers(model: RemoteModel, manifest: dict[str, Any]) -> RemoteModel:
    layers = oci._list(manifest.get("layers"), f"{model.ref.label}: manifest layers")
    if len(layers) > oci.MAX_LAYERS:
        raise StoreError(f"{model.ref.label}: the manifest has {len(layers)} layers")
    files: list[RemoteFile] = []
    archives: list[RemoteArchive] = []
    signature = None
    for index, raw in enumerate(layers):
        layer = oci._object(raw, f"{model.ref.label}: layer {index}")
        where = f"{model.ref.label}: layer {index}"
        media_type = layer.get("mediaType")
        if not isinstance(media_type, str):
            raise StoreError(f"{where} has no mediaType")
        kind, path = oci.classify_layer(layer, media_type, where)
        parse_digest(layer.get("digest"), where)
        size = _size(layer, where)
        if kind == oci.SKIP:
            continue
        if media_type.startswith(oci.BUNDLE_MEDIA_PREFIX) or (kind == oci.RAW and
                                                              path == SIGNATURE_NAME):
            if signature is not None:
                raise StoreError(f"{where}: the artifact carries more than one signature layer")
            signature = layer
            if path is None:
                continue
        if kind != oci.RAW:
            archives.append(RemoteArchive(layer["digest"], size, kind,
                                          f"{where} [{media_type}]"))
        elif path is None:
            raise StoreError(f"{where}: a {media_type} layer without an org.cncf.model.filepath "
                             "or org.opencontainers.image.title annotation; cannot tell which "
                             "file it is")
        else:
            files.append(RemoteFile(path, layer["digest"], size, media_type,
                                    _string_annotations(layer)))
    return _with_files(model, files, archives, signature)


def _string_annotations(layer: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    annotations = layer.get("annotations")
    if not isinstance(annotations, dict):
        return ()
    return tuple((k, v) for k, v in annotations.items()
                 if isinstance(k, str) and isinstance(v, str))


def _ollama_layers(model: RemoteModel, manifest: dict[str, Any]) -> RemoteModel:
    """Ollama models: resources named by media type, exactly as `--ollama` names them."""
    label = model.ref.label
    layers = oci._list(manifest.get("layers"), f"{label}: manifest layers")
    files = []
    config = manifest.get("config")
    if isinstance(config, dict) and config.get("digest"):
        files.append(_ollama_file(ollama.CONFIG_NAME, config, f"{label}: config"))
    for layer, name in zip(layers, ollama.resource_names(layers, label), strict=True):
        files.append(_ollama_file(name, layer, f"{label}: layer {name}"))
    return _with_files(model, files, [], None)


def _ollama_file(name: str, descriptor: dict[str, Any], where: str) -> RemoteFile:
    parse_digest(descriptor.get("digest"), where)
    return RemoteFile(name, descriptor["digest"], _size(descriptor, where),
                      str(descriptor.get("mediaType", "")))


def _with_files(model: RemoteModel, files: list[RemoteFile], archives: list[RemoteArchive],
                signature: dict[str, Any] | None) -> RemoteModel:
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise StoreError(f"{model.ref.label}: a file path appears in more than one layer")
    ordered = tuple(sorted(files, key=lambda f: name_sort_key(f.name)))
    return replace(model, files=ordered, archives=tuple(archives), signature=signature)


# --- pulling exactly what verified ---------------------------------------------------------


def pull(model: RemoteModel, signed: Manifest, bundle: bytes, target: Path,
         ignore: Sequence[str] = ()) -> list[str]:
    """Download the signed files into ``target`` (atomically); returns the paths written.

    Blobs come by the pinned manifest's digests and are checked as they stream, so the
    files are the bytes that verified. The bundle that verified is written as
    ``model.sig`` (``NAME.sig`` beside a single-file model) so the copy verifies offline.
    ``model`` is the one that verified (`RemoteModel.verifying_layer`) and ``ignore``
    the user's, so a single-file model is the one layer the check compared, and no
    layer the check skipped is written.
    """
    target = target.absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"--pull {target}: the directory exists and is not empty; name a new "
                         "directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    wanted = {r.path for r in signed.resources}
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial",
                                    dir=target.parent))
    try:
        written = _download(model, signed, wanted, staging, ignore)
        missing = sorted(wanted - set(written) - ({SINGLE_FILE_NAME} if signed.single_file
                                                   else set()))
        if missing:
            files = "a signed file" if len(missing) == 1 else "signed files"
            raise StoreError(f"{model.label}: the artifact lacks {files} "
                             f"{', '.join(missing[:5])}")
        sig_name = f"{written[0]}.sig" if signed.single_file else "model.sig"
        _write_new(staging / sig_name, [bundle])
        staging.chmod(0o755)  # mkdtemp makes it private; the model is an ordinary folder
        if target.exists():
            target.rmdir()  # empty, checked above
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return written


def _download(model: RemoteModel, signed: Manifest, wanted: set[str], staging: Path,
              ignore: Sequence[str]) -> list[str]:
    written: list[str] = []
    repository = model.ref.repository
    if signed.single_file:
        compared = model.compared_files(signed, ignore)
        model._single_file(compared)  # exactly one, as the check found
        entries = compared
    else:
        entries = [entry for entry in model.files if entry.name in wanted]
    for entry in entries:
        what = f"{model.label}: layer {entry.name!r}"
        with model.client.blob(repository, entry.digest, entry.size, what) as stream:
            _write_new(staging / entry.name, _chunks(stream))
        written.append(entry.name)
    for archive in model.archives:
        with model.client.blob(repository, archive.digest, archive.size, archive.label) as stream:
            for member in stream_members(stream, archive.compression, archive.label):
                if member.name in wanted:
                    _write_new(staging / member.name, _chunks(member.stream))
                    written.append(member.name)
            drain(stream)
    return written


def _chunks(stream: Readable) -> Iterable[bytes]:
    return iter(lambda: stream.read(1 << 20), b"")


def _write_new(path: Path, chunks: Iterable[bytes]) -> None:
    """Create ``path`` (never through a link, never over a file) and write the chunks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, _WRITE_FLAGS, 0o644)
    with os.fdopen(fd, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
