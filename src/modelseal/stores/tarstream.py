"""Streaming the members of tar, tar+gzip and tar+zstd layers without extracting them.

tarfile's stream mode (``r|``) reads each member once, in order, so a layer of any
size is hashed with flat memory and nothing is written to disk. Only regular files
are model files; links and devices inside a layer are refused, directories skipped.
"""

from __future__ import annotations

import importlib
import os
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from modelseal.stores.common import StoreError, UnsupportedLayer, safe_name
from modelseal.untrusted import READ_FLAGS

PLAIN = "tar"
GZIP = "tar+gzip"
ZSTD = "tar+zstd"


@dataclass(frozen=True)
class TarLayer:
    """A tar layer blob; ``label`` names it in messages (layer index, digest, path)."""

    blob: Path
    compression: str
    label: str


@dataclass(frozen=True)
class Member:
    """One regular file inside a layer, readable once while iteration is on it."""

    name: str
    size: int
    stream: Readable


class Readable(Protocol):
    """What a member's bytes offer: ``read``, once, from start to end."""

    def read(self, size: int = -1, /) -> bytes: ...


class CheckedStream:
    """A member's bytes: a cut or corrupt archive met while reading is a StoreError.

    The consumer reads between two steps of `iter_members`, outside its handler, so
    decoder errors (EOF inside gzip, a bad zstd frame) are translated here.
    """

    def __init__(self, stream: IO[bytes], label: str) -> None:
        self._stream = stream
        self._label = label

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except _decoder_errors() as exc:
            raise _corrupt(self._label, exc) from None


def _decoder_errors() -> tuple[type[BaseException], ...]:
    """What a damaged archive raises: tarfile, zlib, and the zstd module in use.

    TypeError too: tarfile's gzip header reader calls ord() on what may be no byte.
    """
    errors: list[type[BaseException]] = [tarfile.TarError, zlib.error, EOFError, OSError,
                                         ValueError, TypeError]
    zstd_error = getattr(_zstd_module(), "ZstdError", None)
    if isinstance(zstd_error, type) and issubclass(zstd_error, BaseException):
        errors.append(zstd_error)
    return tuple(errors)


def _corrupt(label: str, exc: BaseException) -> StoreError:
    if isinstance(exc, StoreError):
        return exc
    return StoreError(f"{label}: the archive is corrupt or truncated "
                      f"({' '.join(str(exc).split()) or type(exc).__name__})")


def zstd_available() -> bool:
    """True when Python 3.14's `compression.zstd` or the `zstandard` package is importable."""
    return _zstd_module() is not None


def _zstd_module() -> Any:
    for name in ("compression.zstd", "zstandard"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


@contextmanager
def _decompressed(raw: IO[bytes], compression: str, label: str) -> Iterator[IO[bytes]]:
    if compression != ZSTD:
        yield raw
        return
    module = _zstd_module()
    if module is None:
        raise UnsupportedLayer(f"{label} is tar+zstd, and this Python has no zstd decoder "
                               "(use Python 3.14+, or pip install zstandard)")
    if module.__name__ == "zstandard":
        reader: IO[bytes] = module.ZstdDecompressor().stream_reader(raw)
    else:
        reader = module.ZstdFile(raw)
    with reader:
        yield reader


def iter_members(layer: TarLayer) -> Iterator[Member]:
    """Yield each regular file of ``layer``; errors name the layer and say what is wrong."""
    try:
        fd = os.open(layer.blob, READ_FLAGS)
    except OSError as exc:
        raise StoreError(f"{layer.label}: cannot open blob {layer.blob}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as raw:
        yield from stream_members(raw, layer.compression, layer.label)


def stream_members(raw: IO[bytes], compression: str, label: str) -> Iterator[Member]:
    """The regular files of a tar layer read from ``raw`` (a file or a registry download)."""
    with ExitStack() as stack:
        stream = stack.enter_context(_decompressed(raw, compression, label))
        try:
            archive = stack.enter_context(_open_tar(stream, compression == GZIP))
            yield from _members(archive, label)
        except _decoder_errors() as exc:
            raise _corrupt(label, exc) from None


def _open_tar(stream: IO[bytes], gzipped: bool) -> tarfile.TarFile:
    if gzipped:
        return tarfile.open(fileobj=stream, mode="r|gz")
    return tarfile.open(fileobj=stream, mode="r|")


def _members(archive: tarfile.TarFile, label: str) -> Iterator[Member]:
    for info in archive:
        if info.isdir():
            continue
        name = member_name(info.name, label)
        if not info.isreg():
            raise StoreError(f"{label}: {name!r} is a {_kind(info)}, not a regular file; "
                             "links and devices in a layer cannot be verified")
        stream = archive.extractfile(info)
        if stream is None:  # pragma: no cover - isreg() members always have data
            raise StoreError(f"{label}: cannot read {name!r}")
        yield Member(name, info.size, CheckedStream(stream, f"{label}: {name!r}"))


def member_name(raw: str, where: str) -> str:
    """A tar member name as a model path: `./` dropped, then checked like any signed name."""
    name = raw
    while name.startswith("./"):
        name = name[2:]
    return safe_name(name.rstrip("/"), f"{where}: member {raw!r}")


def _kind(info: tarfile.TarInfo) -> str:
    if info.issym():
        return f"symlink (to {info.linkname!r})"
    if info.islnk():
        return f"hard link (to {info.linkname!r})"
    return "device or FIFO"
