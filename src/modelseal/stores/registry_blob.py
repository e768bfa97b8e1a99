"""Blob downloads that check themselves: size and digest verified as the bytes arrive.

`CheckedBlob` wraps an HTTP body: it hashes every chunk, refuses a byte past the
size the descriptor advertises, and at the end raises unless the size and the
digest match. Whatever reads it (a hasher, a tar reader, a file writer) therefore
never finishes on bytes other than those the pinned manifest names.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

import requests
import urllib3

from modelseal.errors import CheckFailed, UsageError
from modelseal.stores.common import parse_digest

_CHUNK = 1024 * 1024


class RegistryError(CheckFailed):
    """What the registry served is wrong: a digest or size mismatch, a broken document."""


class RegistryUnavailable(UsageError):
    """The registry could not be asked (connection, TLS, an unexpected HTTP status)."""


def reason(exc: BaseException) -> str:
    """An exception as a short single line."""
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__


class CheckedBlob(io.RawIOBase):
    """A blob's HTTP body that raises at its end unless size and digest match."""

    def __init__(self, response: requests.Response, digest: str, size: int, what: str,
                 count: Callable[[int], None], deadline: float | None = None) -> None:
        algorithm, self._expected = parse_digest(digest, what)
        self._hasher = hashlib.new(algorithm)
        self._chunks = pieces(response, _CHUNK, what, deadline)
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
            except requests.exceptions.RequestException as exc:
                raise RegistryUnavailable(f"{self._what}: the download broke off "
                                          f"({reason(exc)})") from None
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


def pieces(response: requests.Response, size: int, what: str,
           deadline: float | None = None) -> Iterator[bytes]:
    """The body of ``response`` as each piece arrives, given up on after ``deadline``.

    A socket timeout bounds only the wait for the next byte: a registry that drips a
    byte a second never trips it. So small documents are read piece by piece as the
    socket has them (`read1`, not a read that waits for a full chunk), and the clock
    is checked after each piece.
    """
    if deadline is None or getattr(response, "_content_consumed", False) or \
            response.raw is None:
        # no deadline (a model blob, as long as it takes), or not streamed (in memory)
        yield from response.iter_content(size)
        return
    while True:
        try:
            piece = response.raw.read1(size, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise RegistryUnavailable(f"{what}: the download broke off ({reason(exc)})"
                                      ) from None
        if not piece:
            return
        if deadline is not None and time.monotonic() > deadline:
            raise RegistryUnavailable(f"{what}: the registry took longer than the timeout "
                                      "to send it; giving up")
        yield piece


def drain(stream: IO[bytes]) -> None:
    """Read a checked blob to its end, so its size and digest are checked."""
    while stream.read(_CHUNK):
        pass
