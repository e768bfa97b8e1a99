"""A small byte-progress bar on stderr, shown only where a person is watching."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

from modelseal.errors import printable

# Below this, hashing is over before a bar would be any use.
_MIN_BYTES_FOR_BAR = 256 * 1024 * 1024
_REDRAW_SECONDS = 0.1


def progress_wanted(total_bytes: int, forced: bool | None = None,
                    stream: TextIO | None = None) -> bool:
    """Show a bar on an interactive stderr for large work; ``forced`` overrides."""
    if forced is not None:
        return forced
    out = stream or sys.stderr
    return total_bytes >= _MIN_BYTES_FOR_BAR and out.isatty() and not os.environ.get("CI")


class Progress:
    """Thread-safe byte counter that redraws a one-line bar at most ten times a second."""

    def __init__(self, label: str, total_bytes: int, stream: TextIO | None = None) -> None:
        self._label = printable(label)  # a model's name, drawn on a terminal
        self._total = max(total_bytes, 1)
        self._done = 0
        self._stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._last_draw = 0.0

    def advance(self, nbytes: int) -> None:
        with self._lock:
            self._done += nbytes
            now = time.monotonic()
            if now - self._last_draw >= _REDRAW_SECONDS:
                self._last_draw = now
                self._draw(now)

    def finish(self) -> None:
        with self._lock:
            self._draw(time.monotonic())
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self, now: float) -> None:
        fraction = min(self._done / self._total, 1.0)
        filled = int(fraction * 30)
        rate = self._done / max(now - self._started, 1e-6)
        self._stream.write(
            f"\r{self._label} [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%} "
            f"{_human(self._done)}/{_human(self._total)} {_human(int(rate))}/s  "
        )
        self._stream.flush()


def _human(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} TiB"


def human_size(nbytes: int) -> str:
    """Size for people: 512 B, 3.0 KiB, 1.5 GiB."""
    sign = "-" if nbytes < 0 else ""
    return sign + _human(abs(nbytes))
