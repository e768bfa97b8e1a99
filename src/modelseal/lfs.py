"""Git LFS: never hash a pointer file as if it were the weights it stands for.

In an un-smudged checkout (CI with ``lfs: false``, ``GIT_LFS_SKIP_SMUDGE=1``) a
weight file holds a small pointer instead of its content::

    version https://git-lfs.github.com/spec/v1
    oid sha256:<64 hex digits>
    size <bytes>

The ``oid`` is the SHA-256 of the real content, which git-lfs checks when it
downloads it. For ``sha256`` + ``files`` manifests that is exactly the digest we
would compute, so the pointer's oid is used and the output says so. Every other
setting needs the bytes, and fails with "LFS content not present: run git lfs pull".

This module only reads files; asking git which paths are LFS-tracked lives in
gitrepo.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from modelseal.errors import LfsContentMissing
from modelseal.hashing import HashSpec
from modelseal.walk import FileEntry
from modelseal.words import plural

POINTER_VERSION = "https://git-lfs.github.com/spec/v1"
MAX_POINTER_SIZE = 1024  # git-lfs never treats a larger file as a pointer
LFS_ATTRIBUTES = "filter=lfs diff=lfs merge=lfs -text"
_VERSION_LINE = f"version {POINTER_VERSION}\n".encode()
_MIN_POINTER_SIZE = len(_VERSION_LINE) + len("oid sha256:\n") + 64 + len("size 0\n")
_KEY = re.compile(r"^[a-z0-9.-]+$")
_OID = re.compile(r"^sha256:([0-9a-f]{64})$")
_SIZE = re.compile(r"^(0|[1-9][0-9]*)$")
_EXTENSION = re.compile(r"^ext-[0-9]-[a-z0-9]+$")
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


@dataclass(frozen=True)
class LfsPointer:
    """A parsed pointer: the SHA-256 of the real content (hex) and its size in bytes."""

    oid: str
    size: int

    @property
    def digest(self) -> bytes:
        return bytes.fromhex(self.oid)


def parse_pointer(data: bytes) -> LfsPointer | None:
    """The pointer ``data`` holds, or None when it is not exactly an LFS v1 pointer.

    Follows the spec: the version line first, then ``key value`` lines sorted by key,
    each ending in a newline, with ``oid`` and ``size`` required.
    """
    if not data.startswith(_VERSION_LINE) or len(data) >= MAX_POINTER_SIZE:
        return None
    try:
        text = data[len(_VERSION_LINE):].decode("ascii")
    except UnicodeDecodeError:
        return None
    if not text.endswith("\n"):
        return None
    fields: dict[str, str] = {}
    previous = ""
    for line in text[:-1].split("\n"):
        key, _, value = line.partition(" ")
        if not _KEY.match(key) or not value or key <= previous or key == "version":
            return None
        if key not in ("oid", "size") and not _EXTENSION.match(key):
            return None
        fields[key] = value
        previous = key
    oid = _OID.match(fields.get("oid", ""))
    size = fields.get("size", "")
    if oid is None or not _SIZE.match(size):
        return None
    return LfsPointer(oid.group(1), int(size))


def read_pointer(path: str | os.PathLike[str], size: int) -> LfsPointer | None:
    """The pointer in the regular file at ``path`` (of ``size`` bytes), if it is one.

    Only files of a pointer's possible size are opened, so large weights are never read.
    """
    if not _MIN_POINTER_SIZE <= size < MAX_POINTER_SIZE:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK)
    except OSError:
        return None  # the hasher reports unreadable files with a proper message
    with os.fdopen(fd, "rb", buffering=0) as stream:
        data = stream.read(MAX_POINTER_SIZE)
    return parse_pointer(data)


def find_pointers(entries: Iterable[FileEntry]) -> dict[str, LfsPointer]:
    """Model file name -> pointer, for every listed file that is an LFS pointer."""
    found: dict[str, LfsPointer] = {}
    for entry in entries:
        pointer = read_pointer(entry.path, entry.size)
        if pointer is not None:
            found[entry.name] = pointer
    return found


def pointer_digests(pointers: Mapping[str, LfsPointer], spec: HashSpec, *,
                    require_content: bool, label: str) -> dict[str, list[bytes]]:
    """Digests standing for the pointed-to content, or LfsContentMissing.

    Only a sha256 per-file digest can be taken from a pointer; ``require_content``
    (``--require-content``) refuses pointers whatever the settings.
    """
    if not pointers:
        return {}
    if require_content or spec.algorithm != "sha256" or spec.shard_size is not None:
        raise content_missing(label, sorted(pointers), spec, require_content)
    return {name: [pointer.digest] for name, pointer in pointers.items()}


def content_missing(label: str, names: Sequence[str], spec: HashSpec,
                    require_content: bool) -> LfsContentMissing:
    """The error for pointers that cannot stand in for their content."""
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    if require_content:
        why = "--require-content was given"
    else:
        why = (f"a pointer's oid can stand in only for sha256 per-file digests, not "
               f"{spec.resource_algorithm}")
    return LfsContentMissing(f"LFS content not present: run git lfs pull ({label}: {shown} "
                             f"{'is a pointer' if len(names) == 1 else 'are pointers'}; {why})")


def pointer_note(label: str, names: Sequence[str]) -> str:
    """The line telling a person that pointer oids were used instead of file bytes."""
    count = len(names)
    files = names[0] if count == 1 else plural(count, "file")
    return (f"{label}: {files} {'is a Git LFS pointer' if count == 1 else 'are Git LFS pointers'}"
            "; used the pointer's sha256 oid as the file digest (content not downloaded)")


def gitattributes_line(path: str) -> str:
    """The `.gitattributes` line that makes git-lfs track files like ``path``."""
    suffix = PurePosixPath(path).suffix
    pattern = f"*{suffix}" if suffix else path.replace(" ", "[[:space:]]")
    return f"{pattern} {LFS_ATTRIBUTES}"
