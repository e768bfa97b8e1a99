"""What every store reader shares: errors, bounded JSON reads, digests, safe names."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path
from typing import Any

from modelseal.errors import CheckFailed, UsageError
from modelseal.manifest import check_resource_name
from modelseal.untrusted import UnsafeFile, UnsafeJson, loads_json, read_regular_file

MAX_INDEX_BYTES = 4 * 1024 * 1024  # OCI registries cap manifests at 4 MiB; so do we
MAX_STORE_INDEX_BYTES = 16 * 1024 * 1024  # a store-wide list of models (models.json)
MAX_JSON_DEPTH = 32
_DIGEST = re.compile(r"(?P<algorithm>sha256|sha512):(?P<hex>[0-9a-f]+)")
_HEX_SIZES = {"sha256": 64, "sha512": 128}


class StoreNotFound(UsageError):
    """The store, or the model in it, does not exist (exit 2: nothing was checked)."""


class StoreError(CheckFailed):
    """A store entry is damaged or unsafe: a missing blob, a bad name, corrupt JSON."""


class UnsupportedLayer(UsageError):
    """A layer this installation cannot read (e.g. tar+zstd without a zstd decoder)."""


def read_json(path: Path, what: str, *, limit: int = MAX_INDEX_BYTES) -> Any:
    """Parse the JSON file at ``path`` after checking its size and nesting depth."""
    return loads(read_bounded(path, what, limit=limit), what)


def read_bounded(path: Path, what: str, *, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (no FIFOs, no symlinks)."""
    try:
        return read_regular_file(path, limit)
    except FileNotFoundError:
        raise StoreError(f"{what} is missing ({path})") from None
    except UnsafeFile as exc:
        raise StoreError(f"{what}: {exc}") from None
    except OSError as exc:
        raise StoreError(f"cannot read {what} ({path}): {exc.strerror}") from None


def loads(data: bytes, what: str) -> Any:
    """Store metadata as JSON, through the one bounded reader (`untrusted.loads_json`)."""
    try:
        return loads_json(data, max_depth=MAX_JSON_DEPTH)
    except UnsafeJson as exc:
        raise StoreError(f"{what}: {exc}") from None


def parse_digest(value: Any, where: str) -> tuple[str, str]:
    """(algorithm, hex) of an OCI digest string, refusing anything path-like."""
    match = _DIGEST.fullmatch(value) if isinstance(value, str) else None
    if not match or len(match["hex"]) != _HEX_SIZES[match["algorithm"]]:
        raise StoreError(f"{where}: {value!r} is not a sha256/sha512 digest")
    return match["algorithm"], match["hex"]


def check_digest(data: bytes, digest: str, what: str) -> None:
    """Refuse JSON whose bytes do not hash to the digest that named it."""
    algorithm, expected = parse_digest(digest, what)
    if hashlib.new(algorithm, data).hexdigest() != expected:
        raise StoreError(f"{what} does not match its digest {digest} (the store is corrupt or "
                         "was tampered with)")


def safe_name(name: Any, where: str) -> str:
    """A model path read from a store: relative, POSIX, no `..`, no NUL or backslash."""
    if not isinstance(name, str):
        raise StoreError(f"{where}: file path {name!r} is not a string")

    def fail(message: str) -> StoreError:
        return StoreError(f"{where}: {message}")

    if name in ("", "."):
        raise fail(f"file path {name!r} is empty")
    check_resource_name(name, fail)
    return name


def regular_blob(path: Path, root: Path, what: str) -> os.stat_result:
    """Stat a blob that must be a regular file (not a link) inside ``root``."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise StoreError(f"{what}: blob {path} is missing") from None
    except OSError as exc:
        raise StoreError(f"{what}: cannot read blob {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise StoreError(f"{what}: blob {path} is not a regular file")
    if not path.resolve().is_relative_to(root.resolve()):
        raise StoreError(f"{what}: blob {path} lies outside the store {root}")
    return st


def expand_root(variable: str, default: Path) -> Path:
    """A store root from an environment variable, else its default."""
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else default.expanduser()
