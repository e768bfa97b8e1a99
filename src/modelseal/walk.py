"""Listing a model directory: what gets hashed, in which order, and what is refused.

Only regular files are listed. Symlinks are refused unless allowed, and even then
only links to regular files inside the model directory are followed. FIFOs, sockets
and devices are refused without being opened, so a listing can never hang.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from modelseal.errors import ModelPathError
from modelseal.fsio import is_temp_name

SIGNATURE_NAME = "model.sig"
MANIFEST_NAME = "model.manifest.json"
GIT_PATHS = (".git", ".gitattributes", ".github", ".gitignore")
ALWAYS_IGNORED = (*GIT_PATHS, SIGNATURE_NAME, MANIFEST_NAME)
SINGLE_FILE_NAME = "."
MAX_DIRECTORY_DEPTH = 256  # real models nest a few levels; deeper is hostile or broken


class FileEntry(NamedTuple):
    """One file of a model: its OMS name, where its bytes are, and its stat identity.

    A NamedTuple rather than a dataclass, and ``path`` a plain string rather than a
    Path: models can hold tens of thousands of files, and both are several times
    cheaper to build.
    """

    name: str
    path: str
    size: int
    device: int
    inode: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def from_stat(cls, name: str, path: str | os.PathLike[str],
                  st: os.stat_result) -> FileEntry:
        return cls(name, os.fspath(path), st.st_size, st.st_dev, st.st_ino, st.st_mtime_ns,
                   st.st_ctime_ns)


@dataclass(frozen=True)
class Listing:
    """The files of one model in canonical order, plus the ignore list to record."""

    root: Path
    files: tuple[FileEntry, ...]
    ignore_paths: tuple[str, ...]
    single_file: bool
    skipped_temp_files: tuple[str, ...] = ()  # ours, left by an interrupted write

    @property
    def total_size(self) -> int:
        return sum(entry.size for entry in self.files)


def name_sort_key(name: str) -> tuple[str, ...]:
    """Order names component by component, as PurePosixPath does (`a/b` < `a-b`)."""
    return tuple(name.split("/"))


def list_model(
    root: Path,
    *,
    ignore: Iterable[str] = (),
    allow_symlinks: bool = False,
    extra_ignored_files: Iterable[Path] = (),
    default_ignores: Iterable[str] = ALWAYS_IGNORED,
    skip_temp_files: bool = True,
) -> Listing:
    """List the files of the model at ``root`` (a directory or a single file).

    ``ignore`` holds paths relative to the model; ``extra_ignored_files`` holds
    absolute paths (e.g. a ``--signature`` file) that are skipped if inside the model.
    ``default_ignores`` are the names skipped (and recorded) when hashing to sign;
    verification passes none, since it skips only what the signature recorded.
    ``skip_temp_files`` leaves out our own atomic-write temp files (see fsio.py) at
    any depth; verification turns it off, so such a name cannot hide a file there.
    """
    root_stat = _lstat(root)
    if stat.S_ISLNK(root_stat.st_mode):
        root = _resolve_root_link(root)
        root_stat = _lstat(root)
    if stat.S_ISREG(root_stat.st_mode):
        entry = FileEntry.from_stat(SINGLE_FILE_NAME, root, root_stat)
        return Listing(root, (entry,), (), True)
    if not stat.S_ISDIR(root_stat.st_mode):
        raise ModelPathError(f"{root} is neither a directory nor a regular file")
    ignored = _ignore_set(root, (*default_ignores, *ignore), extra_ignored_files)
    skipped: list[str] | None = [] if skip_temp_files else None
    files = sorted(_scan(root, root.resolve(), ignored, allow_symlinks, skipped),
                   key=lambda entry: name_sort_key(entry.name))
    if not files:
        raise ModelPathError(f"model directory {root} contains no files to hash "
                             "(OMS needs at least one)")
    return Listing(root, tuple(files), tuple(sorted(ignored)), False,
                   tuple(sorted(skipped or ())))


def _lstat(path: Path) -> os.stat_result:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        raise ModelPathError(f"model path {path} does not exist") from None
    except OSError as exc:
        raise ModelPathError(f"cannot read {path}: {exc.strerror}") from None


def _resolve_root_link(root: Path) -> Path:
    try:
        return root.resolve(strict=True)
    except (OSError, RuntimeError):
        raise ModelPathError(f"model path {root} is a broken symlink") from None


def _ignore_set(root: Path, ignore: Iterable[str], extra: Iterable[Path]) -> set[str]:
    ignored = {_normal(name) for name in ignore if _normal(name)}
    resolved_root = root.resolve()
    for path in extra:
        try:
            ignored.add(path.resolve().relative_to(resolved_root).as_posix())
        except ValueError:
            continue  # outside the model: nothing to skip
    return ignored


def _normal(relative: str) -> str:
    """`./a//b/` -> `a/b`, so ignore entries match names exactly."""
    parts = relative.replace("\\", "/").split("/")
    return "/".join(part for part in parts if part not in ("", "."))


def _scan(root: Path, real_root: Path, ignored: set[str], allow_symlinks: bool,
          skipped_temp: list[str] | None) -> list[FileEntry]:
    # A loop over a stack, not recursion: a hostile tree 5000 directories deep must be
    # one clean error, not a RecursionError. Temp files are skipped (and collected in
    # ``skipped_temp``) unless it is None.
    found: list[FileEntry] = []
    pending: list[tuple[str, int]] = [("", 0)]
    while pending:
        prefix, depth = pending.pop()
        if depth > MAX_DIRECTORY_DEPTH:
            raise ModelPathError(f"{root}: directories nest deeper than {MAX_DIRECTORY_DEPTH} "
                                 f"levels (under {prefix[:60]}...); a model this deep is "
                                 "refused")
        for dirent in _entries(root, prefix):
            name = f"{prefix}{dirent.name}"
            if name in ignored:  # ignored directories are never entered, so no prefix test
                continue
            if skipped_temp is not None and is_temp_name(dirent.name):
                skipped_temp.append(name)  # our own in-flight or interrupted write
                continue
            _check_portable_name(root, name)
            st = dirent.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                pending.append((f"{name}/", depth + 1))
            elif stat.S_ISREG(st.st_mode):
                found.append(FileEntry.from_stat(name, dirent.path, st))
            elif stat.S_ISLNK(st.st_mode):
                found.append(_follow_link(root, real_root, name, Path(dirent.path),
                                          allow_symlinks))
            else:
                raise ModelPathError(f"{dirent.path} is a {_kind(st.st_mode)}; only regular "
                                     "files can be part of a model (remove it or add it to "
                                     "'ignore')")
    return found


def _entries(root: Path, prefix: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(root / prefix if prefix else root) as entries:
            return list(entries)
    except OSError as exc:
        raise ModelPathError(f"cannot list {root / prefix}: {exc.strerror}") from None


def _follow_link(root: Path, real_root: Path, name: str, link: Path,
                 allow_symlinks: bool) -> FileEntry:
    if not allow_symlinks:
        raise ModelPathError(f"{link} is a symlink; set 'allow_symlinks: true' to hash "
                             "its target, or replace it with the file")
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        raise ModelPathError(f"symlink {link} is broken or loops") from None
    if not target.is_relative_to(real_root):
        raise ModelPathError(f"symlink {link} points outside the model directory {root} "
                             f"(to {target}); this is never allowed")
    st = os.stat(target)
    if not stat.S_ISREG(st.st_mode):
        raise ModelPathError(f"symlink {link} points to a {_kind(st.st_mode)}; only links to "
                             "regular files are supported")
    return FileEntry.from_stat(name, target, st)


def _check_portable_name(root: Path, name: str) -> None:
    if "\\" in name:
        raise ModelPathError(f"{root / name}: file names with a backslash are not portable "
                             "and cannot be signed")
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8, decoded as lone surrogates
            raise ModelPathError(f"{root}: the file name {name!r} is not valid UTF-8; "
                                 "rename it (a signature can only name UTF-8 files)") from None


def _kind(mode: int) -> str:
    kinds = {stat.S_ISFIFO: "FIFO", stat.S_ISSOCK: "socket", stat.S_ISCHR: "character device",
             stat.S_ISBLK: "block device", stat.S_ISDIR: "directory", stat.S_ISLNK: "symlink"}
    return next((label for test, label in kinds.items() if test(mode)), "special file")
