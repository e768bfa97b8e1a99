"""The files step: re-hash the model as the signature says and compare with what it signed.

Files are always hashed from disk (never the stat cache; a report lends the digests
its own check hashed from disk in the same run, see `hashing.RunDigests`), with the
serialization the signature records (never the config's). Only the signature's
``ignore_paths`` and the user's ``--ignore`` are skipped. Only files the signature
lists are read: others are reported as added unread (see scope.py). With
``ignore_unsigned_files`` only the files the signature names are listed, each checked
to stay inside the model directory.
"""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

from modelseal import lfs
from modelseal.engine import HashRun, hash_listing
from modelseal.errors import CheckFailed, ModelPathError
from modelseal.hashing import RunDigests
from modelseal.manifest import Manifest, ManifestDiff, Serialization
from modelseal.scope import SignedScope
from modelseal.targets import ModelTarget
from modelseal.verifying.options import VerifyOptions
from modelseal.walk import SINGLE_FILE_NAME, FileEntry, Listing, list_model


def check_files(target: ModelTarget, signed: Manifest, sig_path: Path,
                options: VerifyOptions, fresh: RunDigests | None = None) -> ManifestDiff:
    """How the files of ``target`` differ from the ``signed`` manifest (empty: they match).

    ``fresh``: digests this run already hashed from disk (a report's manifest check).
    """
    if target.is_file:
        signed = signed.as_single_file(target.path.name)  # OMS names it; the reference "."
    _check_shape(target, signed)
    serialization = signed.serialization
    if options.ignore_unsigned_files:
        listing = signed_listing(target, signed)
    else:
        listing = _listing(target, serialization, sig_path, options.ignore)
    scope = SignedScope(signed)
    kept = replace(listing, files=tuple(scope.keep(listing.files)))
    # refuses un-smudged LFS pointers with "run git lfs pull", rather than a bare mismatch
    lfs.pointer_digests(lfs.find_pointers(kept.files), serialization.spec,
                        require_content=True, label=target.display)
    run = HashRun(use_cache=False, progress=options.progress, require_content=True,
                  fresh=fresh)
    return scope.diff(hash_listing(kept, serialization.spec, run, label=target.display))


def _check_shape(target: ModelTarget, signed: Manifest) -> None:
    """A signature for a single file verifies a file, one for a directory a directory."""
    if signed.single_file and not target.is_file:
        raise CheckFailed(f"the signature is for a single file (resource "
                          f"'{SINGLE_FILE_NAME}'), but {target.display} is a directory; "
                          "verify the file itself")
    if target.is_file and not signed.single_file and not signed.legacy:
        raise CheckFailed(f"the signature is for a directory, but {target.display} is a "
                          "file")


def _listing(target: ModelTarget, serialization: Serialization, sig_path: Path,
             user_ignore: tuple[str, ...]) -> Listing:
    """Every file but what the signature records and --ignore adds, with its symlink rule.

    Nothing else is skipped: the config may come from the change under review, and
    `.git*`, `model.sig` or `model.manifest.json` count only when the signature says
    so. The bundle being verified is the one exception: it is not a model file.
    """
    ignore = (*serialization.ignore_paths, *target.extra_ignore, *user_ignore)
    try:
        return list_model(target.path, ignore=ignore,
                          allow_symlinks=serialization.allow_symlinks,
                          extra_ignored_files=(sig_path,), default_ignores=(),
                          skip_temp_files=False)
    except ModelPathError as exc:
        # the walk's advice (set allow_symlinks in the config) is for signing only
        link, advice, _ = str(exc).partition("; set 'allow_symlinks: true'")
        if not advice:
            raise
        raise CheckFailed(f"{link}, and the signature does not allow symlinks (it records "
                          "allow_symlinks: false; the config cannot change that)") from None


def signed_listing(target: ModelTarget, signed: Manifest) -> Listing:
    """The files the signature names that exist on disk, each checked to stay inside."""
    root = target.path
    if target.is_file:
        st = os.stat(root)
        return Listing(root, (FileEntry.from_stat(SINGLE_FILE_NAME, root, st),), (), True)
    real_root = root.resolve()
    entries = []
    for name in dict.fromkeys(resource.path for resource in signed.resources):
        entry = _signed_file(root, real_root, name, signed.serialization.allow_symlinks)
        if entry is not None:
            entries.append(entry)
    return Listing(root, tuple(entries), (), False)


def _signed_file(root: Path, real_root: Path, name: str, allow_symlinks: bool) -> FileEntry | None:
    path = root / name
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None  # reported as removed by the diff
    if stat.S_ISLNK(st.st_mode):
        if not allow_symlinks:
            raise CheckFailed(f"{path} is a symlink, and the signature does not allow them")
        st = os.stat(path)
    resolved = path.resolve()
    if not resolved.is_relative_to(real_root):
        raise CheckFailed(f"signed name {name!r} leads outside the model directory "
                          f"(to {resolved}); refusing to read it")
    if not stat.S_ISREG(st.st_mode):
        raise CheckFailed(f"{path} is not a regular file; refusing to read it")
    return FileEntry.from_stat(name, resolved if allow_symlinks else path, st)
