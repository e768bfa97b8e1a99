"""Blob downloads that check themselves: size and digest verified as the bytes arrive.

`CheckedBlob` wraps the pieces of an HTTP body (`modelseal.net.Session.pieces`): it
hashes every chunk, refuses a byte past the size the descriptor advertises, and at the
end raises unless the size and the digest match. Whatever reads it (a hasher, a tar
reader, a file writer) therefore never finishes on bytes other than those the pinned
manifest names.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from typing import IO, Any

from modelseal.errors import CheckFailed, UsageError
from modelseal.net import TransportError
from modelseal.stores.common import parse_digest

_CHUNK = 1024 * 1024


class RegistryError(CheckFailed):
    """What the registry served is wrong: a digest or size mismatch, a broken document."""


class RegistryUnavailable(UsageError):
    """The registry could not be asked (connection, TLS, an unexpected HTTP status)."""


class CheckedBlob(io.RawIOBase):
    """A blob's HTTP body that raises at its end unless size and digest match."""

    def __init__(self, chunks: Iterator[bytes], digest: str, size: int, what: str,
                 count: Callable[[int], None]) -> None:
        algorithm, self._expected = parse_digest(digest, what)
        self._hasher = hashlib.new(algorithm)
        self._chunks = chunks
        self._pending = b""
        self._size = size
        self._seen = 0
        self._what = what
        self._digest = digest
        self._count = count
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not self._pending and not self._done:
            self._pending = self._next_chunk()
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def _next_chunk(self) -> bytes:
        while True:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._finish()
                return b""
            except TransportError as exc:  # broke off, or too slow
                raise RegistryUnavailable(str(exc)) from None
            if not chunk:
                continue
            self._seen += len(chunk)
            self._count(len(chunk))
            if self._seen > self._size:
                raise RegistryError(f"{self._what}: the blob is longer than the {self._size} "
                                    "bytes its descriptor says")
            self._hasher.update(chunk)
            return bytes(chunk)

    def _finish(self) -> None:
        self._done = True
        if self._seen != self._size:
            raise RegistryError(f"{self._what}: the blob ended after {self._seen} of "
                                f"{self._size} bytes")
        if self._hasher.hexdigest() != self._expected:
            raise RegistryError(f"digest mismatch: {self._what} does not hash to "
                                f"{self._digest} (the registry served other bytes)")


def drain(stream: IO[bytes]) -> None:
    """Read a checked blob to its end, so its size and digest are checked."""
    while stream.read(_CHUNK):
        pass
