"""The data sets: a few large random files, many small ones, a tiny model.

Each set is written once per work directory; a marker file records what was written,
so ``--workdir DIR --keep`` reuses the sets on the next run.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from msbench.proc import log

MIB = 1024 * 1024
_MARKER = ".bench-complete.json"
SETTLE_SECONDS = 2.5  # the stat cache ignores files changed within 2 s of hashing


class RandomStream:
    """Fast incompressible bytes (AES-CTR keystream); os.urandom runs at ~150 MB/s."""

    def __init__(self) -> None:
        cipher = Cipher(algorithms.AES(os.urandom(32)), modes.CTR(os.urandom(16)))
        self._encryptor = cipher.encryptor()

    def read(self, size: int) -> bytes:
        return self._encryptor.update(bytes(size))


def large_set(root: Path, count: int, size: int) -> list[Path]:
    """``count`` files of ``size`` random bytes, like the shards of a model."""
    spec = {"kind": "large", "count": count, "size": size}
    names = [f"model-{i + 1:05d}-of-{count:05d}.safetensors" for i in range(count)]
    if not _reusable(root, spec):
        log(f"writing {count} x {size // MIB} MiB of random data to {root}")
        _fresh_dir(root)
        stream = RandomStream()
        for name in names:
            _write_random(root / name, size, stream)
        _mark(root, spec)
    return [root / name for name in names]


def small_set(root: Path, count: int, size: int = 4096) -> list[Path]:
    """``count`` files of ``size`` random bytes in nested directories (100 per leaf)."""
    spec = {"kind": "small", "count": count, "size": size}
    paths = [root / _small_name(i) for i in range(count)]
    if not _reusable(root, spec):
        log(f"writing {count} files x {size} B to {root}")
        _fresh_dir(root)
        stream = RandomStream()
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(stream.read(size))
        _mark(root, spec)
    return paths


def _small_name(index: int) -> str:
    return f"layer{index // 1000:03d}/block{index // 100 % 10}/tensor{index:06d}.bin"


def tiny_model(root: Path) -> Path:
    """A few-KB model directory for start-up measurements."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text('{"hidden_size": 8, "num_layers": 2}\n')
    (root / "README.md").write_text("# tiny\n\nA tiny model for start-up timing.\n")
    (root / "weights.bin").write_bytes(RandomStream().read(4096))
    return root


def _write_random(path: Path, size: int, stream: RandomStream) -> None:
    with open(path, "wb") as handle:
        remaining = size
        while remaining:
            chunk = stream.read(min(8 * MIB, remaining))
            handle.write(chunk)
            remaining -= len(chunk)


def _reusable(root: Path, spec: dict[str, object]) -> bool:
    try:
        return bool(json.loads((root.parent / f"{root.name}{_MARKER}").read_text()) == spec)
    except (OSError, ValueError):
        return False


def _mark(root: Path, spec: dict[str, object]) -> None:
    (root.parent / f"{root.name}{_MARKER}").write_text(json.dumps(spec))


def _fresh_dir(root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)


def warm(paths: list[Path]) -> int:
    """Read every file once so each contender starts with the data in the page cache."""
    total = 0
    buf = bytearray(MIB)
    for path in paths:
        with open(path, "rb", buffering=0) as handle:
            while n := handle.readinto(buf):
                total += n
    return total


def age(paths: list[Path], seconds: float = 3600.0) -> None:
    """Set mtimes back, then wait until every ctime is older than the racy window."""
    then = time.time() - seconds
    for path in paths:
        os.utime(path, (then, then))
    settle(paths)


def settle(paths: list[Path]) -> None:
    """Sleep until the newest ctime is SETTLE_SECONDS old (utime and link touch ctime)."""
    newest = max(_ctimes(paths), default=0.0)
    wait = newest + SETTLE_SECONDS - time.time()
    if wait > 0:
        time.sleep(wait)


def _ctimes(paths: list[Path]) -> Iterator[float]:
    for path in paths:
        st = os.stat(path)
        yield max(st.st_ctime, st.st_mtime)
