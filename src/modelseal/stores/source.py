"""A model as a store holds it: files named as signed, bytes in content-addressed blobs.

`StoreModel` is what every reader returns. `check_files` re-hashes it with the
serialization a signature records and diffs it against the signed manifest, which is
the hook `verifying.Verifier` calls instead of walking a directory; `manifest` builds
a fresh manifest of it for signing. Only the signature's `ignore_paths`, `--ignore`
and a store's own bookkeeping are skipped; files the signature does not list are
reported as added without being read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal.engine import HashRun, hash_listing
from modelseal.hashing import HashSpec, new_hasher, shard_bounds
from modelseal.manifest import Manifest, ManifestDiff, Serialization, build_manifest
from modelseal.scope import HASH, SignedScope
from modelseal.stores.common import StoreError
from modelseal.stores.tarstream import Member, TarLayer, iter_members
from modelseal.walk import SIGNATURE_NAME, SINGLE_FILE_NAME, FileEntry, Listing, name_sort_key
from modelseal.words import plural

if TYPE_CHECKING:
    from modelseal.verifying import VerifyOptions

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoreModel:
    """One model in a store.

    ``label`` says where it is (e.g. ``oci:dir:tag``) and ``name`` what to call it in
    a statement; ``files`` are blobs hashed as whole files under their model path;
    ``archives`` are tar layers whose members are model files; ``signature`` is a
    blob holding an OMS bundle shipped inside the artifact, if any; ``media_types``
    maps each file to the media type its store gave it; ``store_ignores`` are paths
    the store itself keeps beside the files (skipped when verifying this store only).
    """

    label: str
    name: str
    root: Path
    files: tuple[FileEntry, ...] = ()
    archives: tuple[TarLayer, ...] = ()
    signature: Path | None = None
    media_types: Mapping[str, str] = field(default_factory=dict)
    store_ignores: tuple[str, ...] = ()

    def check_files(self, signed: Manifest, options: VerifyOptions) -> ManifestDiff:
        """Re-hash the store's copy and diff it with ``signed`` (the verify hook).

        Skipped: what the signature records, ``--ignore`` and the store's own
        bookkeeping. Only the files the signature lists are read (see scope.py).
        """
        serialization = signed.serialization
        ignored = {*self.store_ignores, *serialization.ignore_paths,
                   *(p.strip("/") for p in options.ignore)}
        files = [entry for entry in self.files if not is_ignored(entry.name, ignored)
                 and not _is_the_bundle(entry, options.signature)]
        scope = SignedScope(signed)
        if signed.single_file:
            files = [self._single_file(files)]
        elif options.ignore_unsigned_files:
            files = [entry for entry in files if entry.name in scope.paths]
        listing = Listing(self.root, tuple(scope.keep(files)), (), signed.single_file)
        digests = hash_listing(listing, serialization.spec,
                               HashRun(use_cache=False, progress=options.progress),
                               label=self.label)
        seen = {entry.name for entry in files}
        for layer in self.archives:
            for member in iter_members(layer):
                if is_ignored(member.name, ignored) or (options.ignore_unsigned_files and
                                                        member.name not in scope.paths):
                    continue
                _once(member.name, seen, layer)
                if scope.verdict(member.name, member.size) == HASH:
                    digests[member.name] = hash_member(member, serialization.spec)
        return scope.diff(digests)

    def manifest(self, serialization: Serialization, *, ignore: Sequence[str] = (),
                 progress: bool | None = None) -> Manifest:
        """A fresh manifest of every file but ``ignore``, as `sign` needs it."""
        ignored = {*serialization.ignore_paths, *(p.strip("/") for p in ignore)}
        files = [entry for entry in self.files if not is_ignored(entry.name, ignored)]
        listing = Listing(self.root, tuple(files), (), False)
        digests = hash_listing(listing, serialization.spec,
                               HashRun(use_cache=False, progress=progress), label=self.label)
        sizes = {entry.name: entry.size for entry in files}
        seen = set(sizes)
        for layer in self.archives:
            for member in iter_members(layer):
                if not is_ignored(member.name, ignored):
                    _once(member.name, seen, layer)
                    digests[member.name] = hash_member(member, serialization.spec)
                    sizes[member.name] = member.size
        if not digests:
            raise StoreError(f"{self.label} holds no files to sign (OMS needs at least one)")
        return build_manifest(self.name, serialization, digests, sizes)

    def _single_file(self, files: list[FileEntry]) -> FileEntry:
        """The one file of a single-file model, named as the signature names it."""
        if self.archives or len(files) != 1:
            count = plural(len(files), "file") + (" and tar layers" if self.archives else "")
            raise StoreError(f"the signature is for a single file (resource '.'), but "
                             f"{self.label} holds {count}")
        return files[0]._replace(name=SINGLE_FILE_NAME)


def _is_the_bundle(entry: FileEntry, bundle: Path | None) -> bool:
    """The `model.sig` layer whose blob is the bundle being verified is not a model file,
    as `model.sig` beside a directory is not (the bundle is checked as a bundle)."""
    return (bundle is not None and entry.name == SIGNATURE_NAME
            and Path(entry.path).resolve() == bundle.resolve())


def _once(name: str, seen: set[str], layer: TarLayer) -> None:
    """A path may appear once in a model: a second copy could hide behind the first."""
    if name in seen:
        raise StoreError(f"{layer.label}: {name!r} is also in another layer; a path may "
                         "appear only once in a model")
    seen.add(name)


def is_ignored(name: str, ignored: Iterable[str]) -> bool:
    """True when ``name`` or one of its parent directories is in ``ignored``."""
    wanted = set(ignored)
    parts = name.split("/")
    return any("/".join(parts[:i]) in wanted for i in range(1, len(parts) + 1))


def hash_member(member: Member, spec: HashSpec) -> list[bytes]:
    """Digest a tar member as it streams past: one digest, or one per shard."""
    digests: list[bytes] = []
    for start, end in shard_bounds(member.size, spec.shard_size, member.name):
        hasher = new_hasher(spec.algorithm)
        remaining = end - start
        while remaining > 0:
            block = member.stream.read(min(_CHUNK, remaining))
            if not block:
                raise StoreError(f"{member.name!r} ends before its recorded size")
            hasher.update(block)
            remaining -= len(block)
        digests.append(hasher.digest())
    return digests


def file_entry(name: str, blob: Path, st: os.stat_result) -> FileEntry:
    """A model file whose bytes are the blob at ``blob``."""
    return FileEntry.from_stat(name, blob, st)


def sorted_entries(entries: Iterable[FileEntry]) -> tuple[FileEntry, ...]:
    return tuple(sorted(entries, key=lambda entry: name_sort_key(entry.name)))
