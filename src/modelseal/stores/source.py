"""A model as a store holds it: files named as signed, bytes in content-addressed blobs.

`StoreModel` is what every reader returns. `check_files` re-hashes it with the
serialization a signature records and diffs it against the signed manifest, which is
the hook `verifying.Verifier` calls instead of walking a directory; `manifest` builds
a fresh manifest of it for signing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal.engine import HashRun, hash_listing
from modelseal.hashing import HashSpec, new_hasher, shard_bounds
from modelseal.manifest import Manifest, ManifestDiff, Serialization, build_manifest, diff_manifests
from modelseal.stores.common import StoreError
from modelseal.stores.tarstream import Member, TarLayer, iter_members
from modelseal.walk import ALWAYS_IGNORED, SINGLE_FILE_NAME, FileEntry, Listing, name_sort_key

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
    maps each file to the media type its store gave it.
    """

    label: str
    name: str
    root: Path
    files: tuple[FileEntry, ...] = ()
    archives: tuple[TarLayer, ...] = ()
    signature: Path | None = None
    media_types: Mapping[str, str] = field(default_factory=dict)

    def check_files(self, signed: Manifest, options: VerifyOptions) -> ManifestDiff:
        """Re-hash the store's copy and diff it with ``signed`` (the verify hook)."""
        digests, sizes = self.digests(signed.serialization, ignore=options.ignore,
                                      only=_signed_paths(signed, options.ignore_unsigned_files),
                                      single_file=signed.single_file,
                                      progress=options.progress)
        current = build_manifest(signed.name, signed.serialization, digests, sizes)
        return replace(diff_manifests(signed, current, sizes=sizes), settings=())

    def manifest(self, serialization: Serialization, *, ignore: Sequence[str] = (),
                 progress: bool | None = None) -> Manifest:
        """A fresh manifest of every file, as `sign` needs it."""
        digests, sizes = self.digests(serialization, ignore=ignore, progress=progress)
        if not digests:
            raise StoreError(f"{self.label} holds no files to sign (OMS needs at least one)")
        return build_manifest(self.name, serialization, digests, sizes)

    def digests(self, serialization: Serialization, *, ignore: Sequence[str] = (),
                only: frozenset[str] | None = None, single_file: bool = False,
                progress: bool | None = None) -> tuple[dict[str, list[bytes]], dict[str, int]]:
        """name -> digests and name -> size of the files kept by the ignore rules."""
        ignored = {*ALWAYS_IGNORED, *serialization.ignore_paths, *(p.strip("/") for p in ignore)}
        files = [entry for entry in self.files if not is_ignored(entry.name, ignored)]
        if single_file:
            return self._single_file(files, serialization.spec, progress)
        if only is not None:
            files = [entry for entry in files if entry.name in only]
        listing = Listing(self.root, tuple(files), (), False)
        digests = hash_listing(listing, serialization.spec,
                               HashRun(use_cache=False, progress=progress), label=self.label)
        sizes = {entry.name: entry.size for entry in files}
        for layer in self.archives:
            for member in iter_members(layer):
                if is_ignored(member.name, ignored) or (only is not None and
                                                        member.name not in only):
                    continue
                if member.name in digests:
                    raise StoreError(f"{layer.label}: {member.name!r} is also in another layer; "
                                     "a path may appear only once in a model")
                digests[member.name] = hash_member(member, serialization.spec)
                sizes[member.name] = member.size
        return digests, sizes

    def _single_file(self, files: list[FileEntry], spec: HashSpec, progress: bool | None
                     ) -> tuple[dict[str, list[bytes]], dict[str, int]]:
        if self.archives or len(files) != 1:
            count = f"{len(files)} file(s)" + (" and tar layers" if self.archives else "")
            raise StoreError(f"the signature is for a single file (resource '.'), but "
                             f"{self.label} holds {count}")
        entry = files[0]._replace(name=SINGLE_FILE_NAME)
        listing = Listing(self.root, (entry,), (), True)
        digests = hash_listing(listing, spec, HashRun(use_cache=False, progress=progress),
                               label=self.label)
        return digests, {SINGLE_FILE_NAME: entry.size}


def _signed_paths(signed: Manifest, only_signed: bool) -> frozenset[str] | None:
    return frozenset(r.path for r in signed.resources) if only_signed else None


def is_ignored(name: str, ignored: Iterable[str]) -> bool:
    """True when ``name`` or one of its parent directories is in ``ignored``."""
    wanted = set(ignored)
    parts = name.split("/")
    return any("/".join(parts[:i]) in wanted for i in range(1, len(parts) + 1))


def hash_member(member: Member, spec: HashSpec) -> list[bytes]:
    """Digest a tar member as it streams past: one digest, or one per shard."""
    digests: list[bytes] = []
    for start, end in shard_bounds(member.size, spec.shard_size):
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
