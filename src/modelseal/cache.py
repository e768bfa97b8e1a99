"""The stat cache: digests of files that have not changed since they were last hashed.

An entry is keyed by (device, inode, size, mtime_ns, ctime_ns, algorithm, shard
size); any write to a file changes its mtime or ctime and so misses the cache. A
file written within two seconds of being hashed is not cached at all, because a
same-size rewrite in the same timestamp tick would otherwise look unchanged (the
"racy timestamp" problem git and ccache also guard against).

Used by `manifest` and `check` only; verification always hashes the bytes on disk.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from modelseal.errors import warn
from modelseal.fsio import atomic_write_text, exclusive_lock
from modelseal.hashing import HashSpec
from modelseal.untrusted import loads_json
from modelseal.walk import FileEntry

CACHE_FILE = "stat-cache-v1.json"
RACY_WINDOW_NS = 2_000_000_000
MAX_ENTRIES = 200_000
_FORMAT_VERSION = 1


def default_cache_dir(git_dir: Path | None) -> Path:
    """`modelseal/` in the repository's git directory (`gitrepo.git_dir_above`, which
    never takes one inside the model), else the user's cache directory."""
    return git_dir / "modelseal" if git_dir is not None else user_cache_dir()


def user_cache_dir() -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "modelseal"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "modelseal" / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "modelseal"


class StatCache:
    """Digests by stat identity, loaded once and saved with a merge under a lock."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / CACHE_FILE
        self._entries = self._load()
        self._added: dict[str, list[Any]] = {}
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(entry: FileEntry, spec: HashSpec) -> str:
        return (f"{entry.device}:{entry.inode}:{entry.size}:{entry.mtime_ns}:"
                f"{entry.ctime_ns}:{spec.algorithm}:{spec.shard_size or 0}")

    def get(self, entry: FileEntry, spec: HashSpec) -> list[bytes] | None:
        record = self._entries.get(self.key(entry, spec))
        digests = _decode(record)
        if digests is None:
            self.misses += 1
        else:
            self.hits += 1
        return digests

    def put(self, entry: FileEntry, spec: HashSpec, digests: list[bytes]) -> None:
        now = time.time_ns()
        if now - max(entry.mtime_ns, entry.ctime_ns) < RACY_WINDOW_NS:
            return  # too fresh to trust: a rewrite could keep this exact stat
        record = [now, [digest.hex() for digest in digests]]
        self._entries[self.key(entry, spec)] = record
        self._added[self.key(entry, spec)] = record

    def save(self) -> None:
        """Merge new entries into the file on disk; never fails the command."""
        if not self._added:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with exclusive_lock(self.path.with_suffix(".lock")):
                merged = self._load(quiet=True)
                merged.update(self._added)
                _write(self.path, _trim(merged))
            self._added.clear()
        except OSError as exc:
            warn(f"could not save the stat cache {self.path}: {exc.strerror}")

    def _load(self, quiet: bool = False) -> dict[str, list[Any]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            if not quiet:
                warn(f"ignoring unreadable stat cache {self.path}: {exc.strerror}")
            return {}
        try:
            data = loads_json(raw, max_depth=4)
            entries = data["entries"] if data.get("version") == _FORMAT_VERSION else None
            if not isinstance(entries, dict):
                raise ValueError("unexpected layout")
            return entries
        except (ValueError, TypeError, AttributeError, KeyError):
            if not quiet:
                warn(f"stat cache {self.path} is corrupt; discarding it (it will be rebuilt)")
            return {}


def _decode(record: object) -> list[bytes] | None:
    try:
        assert isinstance(record, list)
        return [bytes.fromhex(item) for item in record[1]]
    except (AssertionError, IndexError, TypeError, ValueError):
        return None


def _trim(entries: dict[str, list[Any]]) -> dict[str, list[Any]]:
    if len(entries) <= MAX_ENTRIES:
        return entries
    newest = sorted(entries.items(), key=lambda item: _recorded(item[1]), reverse=True)
    return dict(newest[:MAX_ENTRIES])


def _recorded(record: list[Any]) -> int:
    try:
        return int(record[0])
    except (IndexError, TypeError, ValueError):
        return 0


def _write(path: Path, entries: dict[str, list[Any]]) -> None:
    payload = json.dumps({"version": _FORMAT_VERSION, "entries": entries},
                         separators=(",", ":"))
    atomic_write_text(path, payload)
