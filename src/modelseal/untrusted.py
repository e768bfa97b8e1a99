"""Reading input we do not trust (manifests, bundles, store metadata) within bounds.

A file is opened without following a final symlink and without blocking, so a link
to /dev/zero or a FIFO planted where a JSON file should be is refused instead of
read forever; its size is checked before a byte is read; and JSON nesting is
measured in linear time before the parser (which recurses) sees it.
"""

from __future__ import annotations

import errno
import itertools
import json
import operator
import os
import re
import stat
from pathlib import Path
from typing import Any

MAX_JSON_DEPTH = 64  # ours nest at most 6 deep; the margin is for other tools' fields
READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)

# A string runs to its closing quote or to the end of the input, so every match
# succeeds and nothing is rescanned: linear even on hostile input.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_DEPTH_STEP = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


class UnsafeJson(ValueError):
    """Text that is not JSON, or JSON nested deeper than allowed; the message says which."""


class UnsafeFile(ValueError):
    """The path is not a regular file we may read, or it is larger than allowed."""


def read_regular_file(path: Path, limit: int, *, follow_symlinks: bool = False) -> bytes:
    """The bytes of the regular file at ``path``, refusing links, FIFOs and size > limit.

    ``follow_symlinks`` is for paths a trusted party chose (a flag, the CI runner):
    the link is followed, but what it leads to must still be a regular file.
    FileNotFoundError passes through; other OS errors are OSError as usual.
    """
    flags = READ_FLAGS & ~getattr(os, "O_NOFOLLOW", 0) if follow_symlinks else READ_FLAGS
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks:  # O_NOFOLLOW met a symlink
            raise UnsafeFile(f"{path} is a symlink; refusing to follow it") from None
        raise
    with os.fdopen(fd, "rb") as stream:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFile(f"{path} is not a regular file")
        if st.st_size > limit:
            raise UnsafeFile(f"{path} is {st.st_size} bytes, more than the {limit} allowed; "
                             "refusing to parse it")
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise UnsafeFile(f"{path} grew past {limit} bytes while it was read")
    return data


def json_nesting_exceeds(data: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit`` (all loops in C)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    brackets = _JSON_STRING.sub(b"", data).translate(_DEPTH_STEP, _NOT_BRACKETS)
    # each opening bracket is 2, each closing one 0: minus one gives the depth change
    depths = itertools.accumulate(map(operator.sub, brackets, itertools.repeat(1)))
    return max(depths, default=0) > limit


def loads_json(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` for untrusted text: depth measured first (the parser recurses).

    Raises UnsafeJson with a one-line reason, never RecursionError.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if json_nesting_exceeds(raw, max_depth):
        raise UnsafeJson(f"JSON nests deeper than {max_depth} levels")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise UnsafeJson(f"not valid JSON: {' '.join(str(exc).split())}") from None
