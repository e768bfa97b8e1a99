"""The Hugging Face hub cache (`verify --hf-cache`).

Cache layout (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`):
`models--ORG--NAME/refs/<branch>` holds a commit hash, `snapshots/<commit>/...` holds
the files as relative symlinks into `blobs/`, named by SHA-256 (LFS/Xet files) or by
git blob SHA-1 (small files). A snapshot link may lead only to a regular file directly
in that repo's own `blobs/`; any other target is an error.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from modelseal.stores.common import StoreError, StoreNotFound, read_bounded, safe_name
from modelseal.stores.source import StoreModel, file_entry, sorted_entries
from modelseal.walk import FileEntry

# hub bookkeeping, skipped in --hf-cache mode only; a plain folder made by
# `hf download --local-dir` skips it only when the signature records it or --ignore says so
LOCAL_DIR_METADATA = ".cache/huggingface"
_COMMIT = re.compile(r"[0-9a-f]{40}")
_REPO_ID = re.compile(r"[\w.-]+(/[\w.-]+)?")
_MAX_FILES = 1_000_000


def cache_root() -> Path:
    """`$HF_HUB_CACHE`, else `$HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else the default."""
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(variable):
            return Path(os.path.expandvars(os.environ[variable])).expanduser()
    home = os.environ.get("HF_HOME")
    base = Path(os.path.expandvars(home)).expanduser() if home else \
        Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "huggingface"
    return base / "hub"


def parse_reference(text: str) -> tuple[str, str]:
    """``ORG/NAME[@REV]`` -> (repo id, revision; default `main`)."""
    repo_id, _, revision = text.partition("@")
    if not _REPO_ID.fullmatch(repo_id) or ".." in repo_id.split("/"):
        raise StoreNotFound(f"{repo_id!r} is not a Hugging Face repo id (ORG/NAME)")
    return repo_id, revision or "main"


def repo_folder(root: Path, repo_id: str) -> Path:
    return root / ("models--" + repo_id.replace("/", "--"))


def open_snapshot(reference: str, root: Path | None = None) -> StoreModel:
    """The files of ``ORG/NAME[@REV]``'s snapshot, each resolved to its blob."""
    repo_id, revision = parse_reference(reference)
    repo = repo_folder(root or cache_root(), repo_id)
    label = f"hf:{repo_id}@{revision}"
    if not repo.is_dir():
        raise StoreNotFound(f"{label}: {repo} is not in the Hugging Face cache; download it "
                            f"with `hf download {repo_id}` or set HF_HUB_CACHE")
    commit = resolve_revision(repo, revision, label)
    snapshot = repo / "snapshots" / commit
    if not snapshot.is_dir() or snapshot.is_symlink():
        raise StoreNotFound(f"{label}: snapshot {commit} is not in {repo}/snapshots")
    blobs = (repo / "blobs").resolve()
    files = sorted_entries(_walk(snapshot, blobs, "", label))
    if not files:
        raise StoreError(f"{label}: snapshot {commit} holds no files")
    name = repo_id.rsplit("/", 1)[-1]
    return StoreModel(f"{label} ({commit[:12]})", name, repo, files,
                      store_ignores=(LOCAL_DIR_METADATA,))


def resolve_revision(repo: Path, revision: str, label: str) -> str:
    """A branch or tag under `refs/`, or a full commit hash present under `snapshots/`."""
    if _COMMIT.fullmatch(revision):
        return revision
    parts = revision.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise StoreNotFound(f"{label}: {revision!r} is not a valid revision")
    ref = repo.joinpath("refs", *parts)
    if not ref.is_file():
        known = sorted(p.relative_to(repo / "refs").as_posix()
                       for p in (repo / "refs").rglob("*") if p.is_file())
        raise StoreNotFound(f"{label}: no ref {revision!r} in {repo}/refs (refs: "
                            f"{', '.join(known) or 'none'}); pass @<commit> instead")
    commit = read_bounded(ref, f"{label}: refs/{revision}", limit=128).decode(
        "ascii", "replace").strip()
    if not _COMMIT.fullmatch(commit):
        raise StoreError(f"{label}: refs/{revision} does not hold a commit hash")
    return commit


def _walk(directory: Path, blobs: Path, prefix: str, label: str) -> list[FileEntry]:
    found: list[FileEntry] = []
    with os.scandir(directory) as entries:
        for dirent in entries:
            name = safe_name(f"{prefix}{dirent.name}", label)
            st = dirent.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                found.extend(_walk(Path(dirent.path), blobs, f"{name}/", label))
            elif stat.S_ISLNK(st.st_mode):
                found.append(_follow(Path(dirent.path), name, blobs, label))
            elif stat.S_ISREG(st.st_mode):  # caches made without symlink support copy files
                found.append(file_entry(name, Path(dirent.path), st))
            else:
                raise StoreError(f"{label}: {dirent.path} is not a file, link or directory")
            if len(found) > _MAX_FILES:
                raise StoreError(f"{label}: more than {_MAX_FILES} files in the snapshot")
    return found


def _follow(link: Path, name: str, blobs: Path, label: str) -> FileEntry:
    target = Path(os.path.realpath(link))
    if target.parent != blobs:
        raise StoreError(f"{label}: {name} is a symlink to {os.readlink(link)!r}, which leads "
                         f"outside this repo's blobs/ ({target}); refusing to follow it")
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        raise StoreError(f"{label}: {name}: its blob {target.name} is missing "
                         "(an interrupted download?)") from None
    if not stat.S_ISREG(st.st_mode):
        raise StoreError(f"{label}: {name}: blob {target} is not a regular file")
    return file_entry(name, target, st)
