"""What a signature covers: which files to re-hash, and what is known without reading.

Verification cost is bounded by the signature, not by the tree under check. A file
the signature does not list is reported as added without being opened. In shards
mode the signed shard ranges give each file's size and shard count, so a file whose
size or shard count differs is reported as modified without being opened either;
what is left to hash is never more shards than the signature itself lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from modelseal.hashing import shard_count
from modelseal.manifest import Manifest, ManifestDiff, build_manifest, diff_manifests
from modelseal.walk import name_sort_key

HASH = "hash"
ADDED = "added"
MODIFIED = "modified"
UNCOVERED = "uncovered"  # an empty file in shards mode: in no signature (as in the reference)


class _Sized(Protocol):
    """What `SignedScope.keep` needs of an entry (a `FileEntry` or a tar member)."""

    @property
    def name(self) -> str: ...

    @property
    def size(self) -> int: ...


_Entry = TypeVar("_Entry", bound=_Sized)


@dataclass(frozen=True)
class _SignedShards:
    count: int
    size: int


@dataclass
class SignedScope:
    """The signed manifest, and the verdict on each file found, gathered for the diff."""

    signed: Manifest
    paths: frozenset[str] = field(init=False)
    shards: dict[str, _SignedShards] = field(init=False)
    added: list[str] = field(default_factory=list, init=False)
    modified: list[str] = field(default_factory=list, init=False)
    sizes: dict[str, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.paths = frozenset(resource.path for resource in self.signed.resources)
        self.shards = _signed_shards(self.signed)

    @property
    def sharded(self) -> bool:
        return self.signed.serialization.method == "shards"

    def verdict(self, name: str, size: int) -> str:
        """Whether the file ``name`` of ``size`` bytes must be hashed; records the rest."""
        self.sizes[name] = size
        if name not in self.paths:
            if self.sharded and size == 0:
                return UNCOVERED
            self.added.append(name)
            return ADDED
        signed = self.shards.get(name)
        if signed is not None and (size != signed.size or shard_count(
                size, self.signed.serialization.shard_size) != signed.count):
            self.modified.append(name)
            return MODIFIED
        return HASH

    def keep(self, entries: Iterable[_Entry]) -> list[_Entry]:
        """The entries to hash, after a verdict on each."""
        return [entry for entry in entries if self.verdict(entry.name, entry.size) == HASH]

    def diff(self, digests: Mapping[str, list[bytes]]) -> ManifestDiff:
        """Signed vs found: hashed files compared, the rest as decided without reading."""
        hashed_sizes = {name: self.sizes[name] for name in digests}
        current = build_manifest(self.signed.name, self.signed.serialization, dict(digests),
                                 hashed_sizes)
        compared = diff_manifests(self.signed, current, sizes=self.sizes,
                                  old_sizes={n: s.size for n, s in self.shards.items()})
        modified = set(self.modified)
        removed = tuple(name for name in compared.removed if name not in modified)
        order = name_sort_key
        return ManifestDiff(
            added=tuple(sorted(self.added, key=order)), removed=removed,
            modified=tuple(sorted({*compared.modified, *modified}, key=order)),
            renamed=compared.renamed, settings=(), sizes=compared.sizes,
            old_sizes=compared.old_sizes)


def _signed_shards(signed: Manifest) -> dict[str, _SignedShards]:
    """Per file, how many shards the signature lists and where the last one ends."""
    if signed.serialization.method != "shards":
        return {}
    counts: dict[str, int] = {}
    ends: dict[str, int] = {}
    for resource in signed.resources:
        path = resource.path
        end = int(resource.name.rsplit(":", 1)[1])
        counts[path] = counts.get(path, 0) + 1
        ends[path] = max(ends.get(path, 0), end)
    return {path: _SignedShards(counts[path], ends[path]) for path in counts}
