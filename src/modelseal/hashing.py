"""File and shard digests: streaming, parallel across files and shards, change-aware.

hashlib releases the GIL while it digests large buffers, so a plain thread pool
keeps every core busy. Each worker reuses one buffer (``readinto``), so memory stays
flat whatever the model size.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from modelseal.errors import HashingError, UsageError
from modelseal.walk import FileEntry

_CHUNK = 1024 * 1024
# One file split into more shards than a signature could ever list (manifest.py's
# MAX_RESOURCES) is a mistake or an attack: refuse it before building the shard list.
MAX_SHARDS_PER_FILE = 1_000_000
_SMALL = 256 * 1024
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_thread_buffers = threading.local()


@dataclass(frozen=True)
class HashSpec:
    """Which algorithm, and the shard size (None means one digest per file)."""

    algorithm: str = "sha256"
    shard_size: int | None = None

    @property
    def resource_algorithm(self) -> str:
        """The ``algorithm`` value the reference writes for each resource."""
        if self.shard_size is None:
            return self.algorithm
        return f"{self.algorithm}-sharded-{self.shard_size}"


class DigestStore(Protocol):
    """What the hasher needs from a cache (see cache.py)."""

    def get(self, entry: FileEntry, spec: HashSpec) -> list[bytes] | None: ...

    def put(self, entry: FileEntry, spec: HashSpec, digests: list[bytes]) -> None: ...


class RunDigests:
    """Digests hashed from disk earlier in this process: one run's memory, not a cache.

    Nothing is read from or written to disk, and a digest is served only for the
    exact file identity (path, size, device, inode, mtime, ctime) the hasher saw
    unchanged from open to close. It lets one run (a report) hash each file once for
    both the manifest check and the verification; a different spec (another
    algorithm or shard size) is a miss, so the file is hashed again.
    """

    def __init__(self) -> None:
        self._digests: dict[tuple[tuple[object, ...], HashSpec], list[bytes]] = {}

    def get(self, entry: FileEntry, spec: HashSpec) -> list[bytes] | None:
        found = self._digests.get((tuple(entry[1:]), spec))
        return list(found) if found is not None else None

    def put(self, entry: FileEntry, spec: HashSpec, digests: list[bytes]) -> None:
        self._digests[(tuple(entry[1:]), spec)] = list(digests)


class StreamingHash(Protocol):
    """hashlib's interface, which blake3's hasher shares."""

    def update(self, data: bytes | memoryview, /) -> object: ...

    def digest(self) -> bytes: ...


class ByteCounter(Protocol):
    def advance(self, nbytes: int) -> None: ...


def new_hasher(algorithm: str) -> StreamingHash:
    """A fresh streaming hash object for one of the OMS algorithms."""
    if algorithm == "sha256":
        return hashlib.sha256()
    if algorithm == "blake2b":
        return hashlib.blake2b()
    if algorithm == "blake3":
        try:
            from blake3 import blake3  # optional extra
        except ImportError:
            raise UsageError("blake3 hashing needs the extra: pip install 'modelseal[blake3]'"
                             ) from None
        return blake3(max_threads=1)  # type: ignore[no-any-return,unused-ignore]
    raise UsageError(f"unknown hash algorithm {algorithm!r} (use sha256, blake2b or blake3)")


def shard_count(size: int, shard_size: int | None) -> int:
    """How many shards a file of ``size`` bytes has (one in files mode)."""
    if shard_size is None:
        return 1
    return -(-size // shard_size)


def shard_bounds(size: int, shard_size: int | None,
                 label: str = "a file") -> list[tuple[int, int]]:
    """(start, end) of each shard; a file is one shard in files mode.

    Like the reference, an empty file has no shards in shards mode. More than
    `MAX_SHARDS_PER_FILE` shards is a `HashingError` naming ``label``.
    """
    if shard_size is None:
        return [(0, size)]
    count = shard_count(size, shard_size)
    if count > MAX_SHARDS_PER_FILE:
        raise HashingError(f"{label}: {size} bytes in shards of {shard_size} bytes would be "
                           f"{count} shards (at most {MAX_SHARDS_PER_FILE}); use a larger "
                           "shard_size")
    return [(start, min(start + shard_size, size)) for start in range(0, size, shard_size)]


class _Task(NamedTuple):
    """One shard to hash (a NamedTuple: a model can mean a million of them)."""

    entry: FileEntry
    shard: int  # its place in the file's digest list
    start: int
    end: int


def hash_entries(
    entries: Sequence[FileEntry],
    spec: HashSpec,
    *,
    cache: DigestStore | None = None,
    progress: ByteCounter | None = None,
    workers: int | None = None,
) -> dict[str, list[bytes]]:
    """Digest every entry; returns name -> digests (one per shard, in order)."""
    new_hasher(spec.algorithm)  # fail fast on an unknown or unavailable algorithm
    results: dict[str, list[bytes]] = {}
    tasks: list[_Task] = []
    for entry in entries:
        cached = cache.get(entry, spec) if cache is not None else None
        if cached is not None:
            results[entry.name] = cached
            if progress is not None:
                progress.advance(entry.size)
            continue
        bounds = shard_bounds(entry.size, spec.shard_size, entry.path)
        results[entry.name] = [b""] * len(bounds)
        tasks.extend(_Task(entry, i, start, end) for i, (start, end) in enumerate(bounds))
    tasks.sort(key=lambda task: task.end - task.start, reverse=True)  # big first: balance
    split = next((i for i, task in enumerate(tasks) if task.end - task.start < _SMALL), len(tasks))

    def record(task: _Task, digest: bytes) -> None:
        results[task.entry.name][task.shard] = digest

    def work(task: _Task) -> bytes:
        return _hash_task(task, spec.algorithm, progress)

    _run_parallel(tasks[:split], work, record, workers or default_workers())
    # Small files cost more in GIL hand-offs between threads than they gain: one thread.
    _run_parallel(tasks[split:], work, record, 1)
    if cache is not None:
        for entry in {task.entry for task in tasks}:
            cache.put(entry, spec, results[entry.name])
    return results


def default_workers() -> int:
    return max(1, min(32, os.cpu_count() or 1))


def _run_parallel(tasks: Sequence[_Task], work: Callable[[_Task], bytes],
                  record: Callable[[_Task, bytes], None], workers: int) -> None:
    """Run ``work`` over tasks on a few threads; the first error stops the rest."""
    if not tasks:
        return
    lock = threading.Lock()
    pending: Iterator[_Task] = iter(tasks)
    errors: list[BaseException] = []

    def worker() -> None:
        while True:
            with lock:
                if errors:
                    return
                task = next(pending, None)
            if task is None:
                return
            try:
                digest = work(task)
            except BaseException as exc:  # re-raised in the caller's thread
                with lock:
                    errors.append(exc)
                return
            record(task, digest)

    count = min(workers, len(tasks))
    if count == 1:
        worker()
    else:
        threads = [threading.Thread(target=worker, daemon=True) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]


def _buffer() -> memoryview:
    buf: memoryview | None = getattr(_thread_buffers, "view", None)
    if buf is None:
        buf = memoryview(bytearray(_CHUNK))
        _thread_buffers.view = buf
    return buf


def _hash_task(task: _Task, algorithm: str, progress: ByteCounter | None) -> bytes:
    entry = task.entry
    hasher = new_hasher(algorithm)
    fd = _open_listed(entry)
    try:
        _require_unchanged(entry, os.fstat(fd), "since it was listed")
        if task.end - task.start <= _SMALL:
            _read_small(fd, task, hasher)
            if progress is not None:
                progress.advance(task.end - task.start)
        else:
            _read_chunks(fd, task, hasher, progress)
        _require_unchanged(entry, os.fstat(fd), "while it was being hashed")
    finally:
        os.close(fd)
    return hasher.digest()


def _open_listed(entry: FileEntry) -> int:
    try:
        # NOFOLLOW + NONBLOCK: a file swapped for a link or a FIFO after listing
        # is refused by the checks that follow instead of followed or waited on.
        return os.open(entry.path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    except OSError as exc:
        raise HashingError(f"cannot open {entry.path}: {exc.strerror}") from None


def _read_small(fd: int, task: _Task, hasher: StreamingHash) -> None:
    """One pread for a small range: no buffer juggling, fewest calls."""
    data = os.pread(fd, task.end - task.start, task.start)
    if len(data) != task.end - task.start:
        raise HashingError(f"{task.entry.path} shrank while it was being hashed")
    hasher.update(data)


def _read_chunks(fd: int, task: _Task, hasher: StreamingHash,
                 progress: ByteCounter | None) -> None:
    """Stream a large range through this thread's reused buffer."""
    view = _buffer()
    position, end = task.start, task.end
    while position < end:
        n = os.preadv(fd, [view[: min(_CHUNK, end - position)]], position)
        if not n:
            raise HashingError(f"{task.entry.path} shrank while it was being hashed")
        hasher.update(view[:n])
        position += n
        if progress is not None:
            progress.advance(n)


def _require_unchanged(entry: FileEntry, st: os.stat_result, when: str) -> None:
    if not stat.S_ISREG(st.st_mode) or (st.st_ino, st.st_dev) != (entry.inode, entry.device):
        raise HashingError(f"{entry.path} was replaced {when}; run again")
    # ctime too: a rewrite that puts the old mtime back still moves the ctime, and a
    # digest lent to a verification (RunDigests) is keyed by the whole identity
    if (st.st_size, st.st_mtime_ns, st.st_ctime_ns) != (entry.size, entry.mtime_ns,
                                                         entry.ctime_ns):
        raise HashingError(f"{entry.path} changed {when}; stop whatever is writing it "
                           "and run again")


def root_digest(digests: Sequence[bytes]) -> bytes:
    """SHA-256 over the concatenated raw digests, in manifest order (the OMS subject)."""
    combined = hashlib.sha256()
    for digest in digests:
        combined.update(digest)
    return combined.digest()
