"""`RunDigests`: a run's own digests, served only for the very file identity hashed."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from modelseal.engine import HashRun
from modelseal.hashing import HashSpec, RunDigests, hash_entries
from modelseal.walk import FileEntry


def _entry(path: Path) -> FileEntry:
    return FileEntry.from_stat(path.name, path, os.stat(path))


def test_a_file_rewritten_after_hashing_is_hashed_again(tmp_path: Path) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"a" * 4096)
    fresh = RunDigests()
    first = hash_entries([_entry(weights)], HashSpec(), cache=fresh)
    weights.write_bytes(b"b" * 4096)  # same size and name: only the stat identity differs
    os.utime(weights, ns=(1, 1))
    second = hash_entries([_entry(weights)], HashSpec(), cache=fresh)
    assert first["w.bin"] == [hashlib.sha256(b"a" * 4096).digest()]
    assert second["w.bin"] == [hashlib.sha256(b"b" * 4096).digest()]


def test_another_spec_is_a_miss(tmp_path: Path) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"a" * 4096)
    fresh = RunDigests()
    hash_entries([_entry(weights)], HashSpec(), cache=fresh)
    assert fresh.get(_entry(weights), HashSpec()) is not None
    assert fresh.get(_entry(weights), HashSpec("blake2b")) is None
    assert fresh.get(_entry(weights), HashSpec(shard_size=1024)) is None


def test_never_combined_with_the_stat_cache() -> None:
    with pytest.raises(ValueError, match="without the stat cache"):
        HashRun(use_cache=True, fresh=RunDigests())


def test_a_file_rewritten_with_its_old_mtime_after_listing_is_refused(tmp_path: Path) -> None:
    """Same size, the same mtime put back: only the ctime shows the rewrite, and a
    digest of the new bytes must never be stored under the listed identity."""
    from modelseal.errors import HashingError

    weights = tmp_path / "w.bin"
    weights.write_bytes(b"a" * 4096)
    listed = _entry(weights)
    weights.write_bytes(b"b" * 4096)
    os.utime(weights, ns=(listed.mtime_ns, listed.mtime_ns))
    fresh = RunDigests()
    with pytest.raises(HashingError, match="changed since it was listed"):
        hash_entries([listed], HashSpec(), cache=fresh)
    assert fresh.get(listed, HashSpec()) is None
