"""Manifests of models on disk: compute, compare with the committed one, refresh.

This is the walk -> hash (cache) -> Manifest part of the flow, shared by the
`manifest`, `check`, `sign` and `verify` commands and the hooks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from modelseal import lfs
from modelseal.cache import StatCache, default_cache_dir
from modelseal.errors import EXIT_USAGE, ManifestFormatError, ModelsealError, warn
from modelseal.fsio import atomic_write_text
from modelseal.gitrepo import git_dir_above
from modelseal.hashing import DigestStore, HashSpec, RunDigests, hash_entries
from modelseal.manifest import Manifest, ManifestDiff, Serialization, build_manifest, diff_manifests
from modelseal.progress import Progress, progress_wanted
from modelseal.targets import ModelTarget
from modelseal.untrusted import UnsafeFile, read_regular_file
from modelseal.walk import Listing, list_model

MAX_MANIFEST_BYTES = 256 * 1024 * 1024
_CONFLICT_MARKER = re.compile(rb"^(<<<<<<<|>>>>>>>)( |\r?$)", re.MULTILINE)


@dataclass(frozen=True)
class HashRun:
    """Options of one hashing run."""

    use_cache: bool = True
    progress: bool | None = None  # None: only on a TTY for large work
    extra_ignored_files: tuple[Path, ...] = ()
    require_content: bool = False  # refuse Git LFS pointers instead of using their oid
    # leave out our own atomic-write temp files (fsio.TEMP_NAME); verification lists
    # them, because only what the signature records may be skipped there
    skip_temp_files: bool = True
    # digests this process hashed from disk earlier in the run (never the stat cache):
    # a report's check and verification share them, so each file is read once
    fresh: RunDigests | None = None

    def __post_init__(self) -> None:
        if self.use_cache and self.fresh is not None:
            # a stat-cache digest must never reach a verification through `fresh`
            raise ValueError("HashRun: fresh digests are for runs without the stat cache")


@dataclass(frozen=True)
class Scan:
    """A model as it is on disk now."""

    target: ModelTarget
    listing: Listing
    manifest: Manifest
    lfs_pointers: Mapping[str, lfs.LfsPointer] = field(default_factory=dict)

    @property
    def sizes(self) -> dict[str, int]:
        return file_sizes(self.listing, self.lfs_pointers)


def file_sizes(listing: Listing, pointers: Mapping[str, lfs.LfsPointer]) -> dict[str, int]:
    """File sizes; an LFS pointer counts as the size of the content it stands for."""
    sizes = {entry.name: entry.size for entry in listing.files}
    sizes.update({name: pointer.size for name, pointer in pointers.items()})
    return sizes


def list_target(target: ModelTarget, run: HashRun = HashRun(),
                serialization: Serialization | None = None) -> Listing:
    """List ``target``; a signature's ``serialization`` adds its ignores.

    The symlink rule is the signature's when one is given, never widened by the config.
    """
    options = target.options
    ignore = (*options.ignore, *(serialization.ignore_paths if serialization else ()))
    allow = serialization.allow_symlinks if serialization else options.allow_symlinks
    return list_model(target.path, ignore=ignore, allow_symlinks=allow,
                      extra_ignored_files=run.extra_ignored_files,
                      skip_temp_files=run.skip_temp_files)


def scan_target(target: ModelTarget, run: HashRun = HashRun(),
                serialization: Serialization | None = None) -> Scan:
    """Walk and hash ``target``; ``serialization`` forces settings (e.g. a signature's)."""
    listing = list_target(target, run, serialization)
    if listing.skipped_temp_files:
        _warn_skipped_temp_files(target, listing.skipped_temp_files)
    wanted = serialization or serialization_for(target, listing)
    if wanted.method == "shards":
        _warn_unrecorded_empty_files(target, listing)
    # An un-smudged LFS pointer is never hashed as if it were the weights (see lfs.py).
    pointers = lfs.find_pointers(listing.files)
    digests = lfs.pointer_digests(pointers, wanted.spec, require_content=run.require_content,
                                  label=target.display)
    content = replace(listing, files=tuple(e for e in listing.files if e.name not in pointers))
    digests.update(hash_listing(content, wanted.spec, run, label=target.display))
    manifest = build_manifest(target.model_name, wanted, digests, file_sizes(listing, pointers))
    return Scan(target, listing, manifest, pointers)


def _warn_skipped_temp_files(target: ModelTarget, names: tuple[str, ...]) -> None:
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    what = "a temp file" if len(names) == 1 else "temp files"
    warn(f"{target.display}: left out {shown}: {what} of an interrupted modelseal "
         "write; delete them (verify lists every file the signature does not)")


def _warn_unrecorded_empty_files(target: ModelTarget, listing: Listing) -> None:
    # The reference gives an empty file no shards, so it is in neither the manifest nor
    # the signature: creating or deleting an empty file goes unnoticed (an empty marker
    # file can change how a loader behaves). We stay compatible, and say so loudly.
    empty = [entry.name for entry in listing.files if entry.size == 0]
    if empty:
        shown = ", ".join(empty[:5]) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
        warn(f"{target.display}: shards mode does not cover empty files (as in the OMS "
             f"reference implementation), so adding or deleting them goes unnoticed: {shown}")


def serialization_for(target: ModelTarget, listing: Listing) -> Serialization:
    options = target.options
    shards = options.serialization == "shards"
    return Serialization(
        method=options.serialization,
        hash_type=options.hash,
        allow_symlinks=options.allow_symlinks,
        ignore_paths=() if listing.single_file else tuple(sorted(listing.ignore_paths)),
        shard_size=options.shard_size if shards else None,
    )


def hash_listing(listing: Listing, spec: HashSpec, run: HashRun, *,
                 label: str) -> dict[str, list[bytes]]:
    stat_cache = (StatCache(default_cache_dir(git_dir_above(listing.root))) if run.use_cache
                  else None)
    store: DigestStore | None = stat_cache if stat_cache is not None else run.fresh
    bar = None
    if progress_wanted(listing.total_size, run.progress):
        bar = Progress(f"hashing {label}", listing.total_size)
    try:
        return hash_entries(listing.files, spec, cache=store, progress=bar)
    finally:
        if bar is not None:
            bar.finish()
        if stat_cache is not None:
            stat_cache.save()


def read_manifest(path: Path) -> Manifest | None:
    """The manifest committed at ``path``, or None when there is none."""
    text = read_manifest_bytes(path)
    if text is None:
        return None
    if _CONFLICT_MARKER.search(text):
        raise ManifestFormatError(f"{path}: manifest has a merge conflict (not valid JSON): "
                                  "run modelseal manifest to regenerate it from the files, "
                                  "then git add it")
    return Manifest.from_json(text, source=str(path))


def read_manifest_bytes(path: Path) -> bytes | None:
    """The committed manifest's bytes (None when absent); never a link, FIFO or huge file."""
    try:
        return read_regular_file(path, MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        return None
    except UnsafeFile as exc:
        raise ManifestFormatError(str(exc)) from None
    except OSError as exc:
        raise ManifestFormatError(f"cannot read {path}: {exc.strerror}") from None


@dataclass(frozen=True)
class ManifestStatus:
    """The committed manifest of a model compared with the files on disk."""

    target: ModelTarget
    committed: Manifest | None
    current: Manifest
    diff: ManifestDiff
    written: bool = False
    lfs_pointers: tuple[str, ...] = ()  # files whose digest is their LFS pointer's oid

    @property
    def missing(self) -> bool:
        return self.committed is None

    @property
    def stale(self) -> bool:
        return self.committed is None or not self.diff.empty


def check_target(target: ModelTarget, run: HashRun = HashRun()) -> ManifestStatus:
    """Compare ``target``'s manifest file with its files; writes nothing."""
    committed = read_manifest(target.manifest_path)
    scan = scan_target(target, run)
    old_sizes = scan.sizes if committed else {}
    diff = diff_manifests(committed, scan.manifest, sizes=scan.sizes, old_sizes=old_sizes)
    return ManifestStatus(target, committed, scan.manifest, diff,
                          lfs_pointers=tuple(sorted(scan.lfs_pointers)))


def refresh_target(target: ModelTarget, run: HashRun = HashRun()) -> ManifestStatus:
    """Write ``target``'s manifest when it is missing, stale or not in canonical form."""
    try:
        committed = read_manifest_bytes(target.manifest_path)
        committed_text = committed.decode("utf-8") if committed is not None else None
    except (ManifestFormatError, UnicodeDecodeError):
        committed_text = None
    try:
        status = check_target(target, run)
    except ManifestFormatError:
        # an unreadable manifest is replaced, and reported as if missing
        scan = scan_target(target, run)
        status = ManifestStatus(target, None, scan.manifest,
                                diff_manifests(None, scan.manifest, sizes=scan.sizes),
                                lfs_pointers=tuple(sorted(scan.lfs_pointers)))
    text = status.current.to_json()
    if committed_text == text:
        return status
    atomic_write_text(target.manifest_path, text)
    return replace(status, written=True)


@dataclass(frozen=True)
class ModelFailure:
    """A model that could not be checked at all (unlistable tree, unreadable manifest)."""

    target: ModelTarget
    message: str
    exit_code: int = EXIT_USAGE


def check_all(targets: Sequence[ModelTarget],
              run: HashRun) -> list[ManifestStatus | ModelFailure]:
    """Check every model; one hostile or broken model does not hide the others."""
    return [isolated(check_target, target, run) for target in targets]


def refresh_all(targets: Sequence[ModelTarget],
                run: HashRun) -> list[ManifestStatus | ModelFailure]:
    """Refresh every model's manifest; a model that fails is reported, the rest written."""
    return [isolated(refresh_target, target, run) for target in targets]


def isolated(step: Callable[[ModelTarget, HashRun], ManifestStatus], target: ModelTarget,
             run: HashRun) -> ManifestStatus | ModelFailure:
    """``step(target, run)``, or the one-line reason it failed for this model."""
    try:
        return step(target, run)
    except ModelsealError as exc:
        message = str(exc)
        if target.display not in message:
            message = f"{target.display}: {message}"
        return ModelFailure(target, message, exc.exit_code)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        return ModelFailure(target, f"{target.display}: {exc.strerror or exc}{where}")
    except RecursionError:  # a last resort: every reader bounds nesting before this
        return ModelFailure(target, f"{target.display}: nests too deeply to be processed")
