"""Running and timing child processes: wall time and the child's own peak RSS."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO


class BenchError(RuntimeError):
    """A contender failed or the harness could not set something up."""


@dataclass(frozen=True)
class Finished:
    """One child run: wall seconds (spawn to exit, start-up included) and peak RSS."""

    argv: tuple[str, ...]
    seconds: float
    cpu_seconds: float  # user + system time of the child (and its waited-for children)
    max_rss_mib: float
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        tail = (self.stderr or self.stdout).strip().splitlines()[-5:]
        return f"{' '.join(self.argv)} exited {self.returncode}: " + " | ".join(tail)


def run(argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None,
        ok: Sequence[int] = (0,)) -> Finished:
    """Run ``argv`` to completion; BenchError unless its exit status is in ``ok``."""
    done = run_raw(argv, env=env, cwd=cwd)
    if done.returncode not in ok:
        raise BenchError(done.describe())
    return done


def run_raw(argv: Sequence[str], *, env: Mapping[str, str] | None = None,
            cwd: Path | None = None) -> Finished:
    """Run ``argv``; its rusage comes from wait4 on that very child (not a running max)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                 env=dict(env) if env is not None else None, cwd=cwd)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
        return Finished(tuple(argv), seconds, cpu, rss_mib(usage), child.returncode,
                        _read(out), _read(err))


def rss_mib(usage: resource.struct_rusage) -> float:
    """ru_maxrss in MiB (Linux reports KiB, macOS bytes)."""
    per_mib = 1024 * 1024 if sys.platform == "darwin" else 1024
    return usage.ru_maxrss / per_mib


def _read(stream: IO[bytes]) -> str:
    stream.seek(0)
    return stream.read().decode("utf-8", errors="replace")


def log(message: str) -> None:
    """Progress of the harness, on stderr so the table on stdout stays clean."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)
