"""Atomic file writes: a temp file in the same directory, then one rename.

An interrupted run leaves the old file intact; a reader never sees half a file.
Temp files are named ``.modelseal-tmp-XXXXXXXX.tmp`` (`TEMP_NAME`): the walk never
lists such a name as a model file (a crash can leave one inside a model), and the
next atomic write into the same directory removes those older than an hour.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

TEMP_PREFIX = ".modelseal-tmp-"
TEMP_SUFFIX = ".tmp"
# mkstemp's eight random characters; only this exact shape is ever skipped or removed
TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX))
STALE_TEMP_AGE_S = 3600  # older than any write in flight: left by a run that died


def is_temp_name(name: str) -> bool:
    """Whether ``name`` (a bare file name) is one of our atomic-write temp files."""
    return name.startswith(TEMP_PREFIX) and TEMP_NAME.fullmatch(name) is not None


def remove_stale_temp_files(directory: Path) -> None:
    """Delete our temp files in ``directory`` left by interrupted runs (best effort).

    Only regular files (never followed links) with our exact name, untouched for
    `STALE_TEMP_AGE_S`, so a concurrent write's temp file is left alone.
    """
    cutoff = time.time() - STALE_TEMP_AGE_S
    try:
        with os.scandir(directory) as entries:
            stale = [entry for entry in entries if is_temp_name(entry.name)]
    except OSError:
        return
    for entry in stale:
        with contextlib.suppress(OSError):
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                os.unlink(entry.path)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` in one step."""
    remove_stale_temp_files(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an advisory lock on ``lock_path`` (created if missing) for the block.

    Where the platform has no flock (Windows) this only yields: callers there rely on
    atomic replacement alone, which keeps files whole but may lose a concurrent update.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
