"""The `manifest` and `check` hooks (pre-commit): regenerate, or only check, the
manifests of the models a commit touches.

- ``manifest [FILE...]``: regenerate the manifest of every model the files (and the
  staged changes, deletions included) touch; exit 1 whenever a manifest was written
  or is not staged, printing what changed and the ``git add`` to run.
- ``check [FILE...]``: the same selection, read-only; exit 1 with the diff.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from modelseal import console, lfs
from modelseal.app import check as app_check
from modelseal.config import DEFAULT_LFS_WARN_SIZE
from modelseal.engine import HashRun
from modelseal.errors import EXIT_FAILED, EXIT_OK, ManifestFormatError
from modelseal.hooks.context import HookContext, open_context, pending, session
from modelseal.progress import human_size
from modelseal.targets import ModelTarget
from modelseal.weights import is_weight_file, untracked_weight_dirs


def _hash_run(args: argparse.Namespace) -> HashRun:
    return HashRun(use_cache=not args.no_cache, progress=False,
                   require_content=args.require_content)


def run_manifest(args: argparse.Namespace) -> int:
    run = _hash_run(args)
    with open_context(args.files, config_path=args.config, all_models=args.all) as context:
        with session(context, "manifest") as done:
            mine = list(pending(context, done))
            written = [t for t in mine if _refresh_one(context, t, run)]
            untracked_fails = _report_untracked_weights(context, done)
        unstaged = _unstaged(context, [t for t in mine if t not in written])
        _warn_large_files(context)
    to_add = [context.relpath(t.manifest_path) for t in (*written, *unstaged)]
    if to_add:
        command = " ".join(map(shlex.quote, to_add))
        console.say_lines(["", f"modelseal: stage the manifest{'s' if len(to_add) > 1 else ''} "
                           "and commit again:", f"  git add {command}"], out=context.out)
    return EXIT_FAILED if to_add or untracked_fails else EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    run = _hash_run(args)
    with open_context(args.files, config_path=args.config, all_models=args.all) as context:
        with session(context, "check") as done:
            mine = list(pending(context, done))
            stale = [t for t in mine if _check_one(context, t, run)]
            untracked_fails = _report_untracked_weights(context, done)
        unstaged = _unstaged(context, [t for t in mine if t not in stale])
        _warn_large_files(context)
    if stale:
        models = " ".join(shlex.quote(t.display) for t in stale)
        manifests = " ".join(shlex.quote(context.relpath(t.manifest_path)) for t in stale)
        console.say_lines(["", "modelseal: to fix, run:",
                           f"  modelseal manifest {models} && git add {manifests}"],
                          out=context.out)
    elif unstaged:
        manifests = " ".join(shlex.quote(context.relpath(t.manifest_path)) for t in unstaged)
        console.say_lines(["", "modelseal: to fix, run:", f"  git add {manifests}"],
                          out=context.out)
    return EXIT_FAILED if stale or unstaged or untracked_fails else EXIT_OK


_UNTRACKED_KEY = "<untracked weights>"  # reported once per pre-commit run, like a model


def _report_untracked_weights(context: HookContext, done: set[str]) -> bool:
    """Name staged weight files outside every tracked model; True when that fails
    the commit (``policy.strict``)."""
    if _UNTRACKED_KEY in done or not context.staged:
        return False
    done.add(_UNTRACKED_KEY)
    models = [entry.path for entry in context.config.models] if context.config else []
    models += [target.path for target in context.touched]
    staged = [PurePosixPath(path) for path in context.staged
              if is_weight_file(PurePosixPath(path).name)]
    found = untracked_weight_dirs(context.root, models, staged)
    strict = bool(context.config and context.config.policy.strict)
    console.print_untracked(found, strict=strict)
    return strict and bool(found)


def _refresh_one(context: HookContext, target: ModelTarget, run: HashRun) -> bool:
    """Regenerate one manifest; True when it was written (so the hook must fail)."""
    out = context.out
    conflicted = has_conflict_markers(target.manifest_path)
    status = app_check.refresh_model(target, run)
    console.print_lfs_note(status, out)
    if not status.written:
        return False
    manifest = shlex.quote(context.relpath(target.manifest_path))
    if conflicted:
        console.say(f"{target.display}: {manifest} had a merge conflict; regenerated it from "
                    "the files", out=out)
    else:
        console.say_lines(console.refresh_lines(status, manifest), out=out)
    return True


def _check_one(context: HookContext, target: ModelTarget, run: HashRun) -> bool:
    """Compare one manifest with the files; True when it is missing, stale or conflicted."""
    out = context.out
    name = target.display
    manifest = shlex.quote(context.relpath(target.manifest_path))
    try:
        status = app_check.check_model(target, run)
    except ManifestFormatError as exc:
        console.say(f"{name}: {exc}", out=out)
        return True
    console.print_lfs_note(status, out)
    if not status.stale:
        return False
    if status.missing:
        console.say(f"{name}: no manifest ({manifest} is missing)", out=out)
    else:
        console.say(f"{name}: manifest is stale "
                    f"({console.files_differ(status.diff.changed_files)}):", out=out)
        console.say_lines(console.diff_lines(status.diff), out=out)
    return True


def has_conflict_markers(path: Path) -> bool:
    """Whether the file at ``path`` holds git merge-conflict markers."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(64 * 1024 * 1024)
    except OSError:
        return False
    return any(line.startswith((b"<<<<<<< ", b">>>>>>> ")) for line in head.splitlines())


def _unstaged(context: HookContext, targets: Sequence[ModelTarget]) -> list[ModelTarget]:
    """Those of ``targets`` whose manifest differs from its staged version (so it would
    not be committed); each is reported."""
    if context.repo is None:
        return []
    manifests = {context.relpath(t.manifest_path): t for t in targets
                 if t.manifest_path.is_file()}
    unstaged = [manifests[path] for path in context.repo.unstaged(sorted(manifests))]
    for target in unstaged:
        console.say(f"{target.display}: {context.relpath(target.manifest_path)} is up to date "
                    "but not staged", out=context.out)
    return unstaged


def _warn_large_files(context: HookContext) -> None:
    """Warn about staged weight files over ``lfs.warn_size`` that git-lfs does not track."""
    if context.repo is None or not context.staged:
        return
    limit = context.config.lfs_warn_size if context.config else DEFAULT_LFS_WARN_SIZE
    sizes = {path: _size(context.root / path) for path in context.staged
             if _is_model_file(context, path)}
    large = [path for path, size in sizes.items() if size > limit]
    tracked = context.repo.lfs_tracked(large)
    for path in large:
        if path not in tracked:
            console.warning(f"{path} is {human_size(sizes[path])} and not tracked by Git LFS; "
                            "add this line to .gitattributes, then run `git add "
                            f"--renormalize {shlex.quote(path)}`:")
            console.say(f"  {lfs.gitattributes_line(path)}", err=True)


def _is_model_file(context: HookContext, path: str) -> bool:
    """A weight file by its extension, or any file inside a touched model."""
    if is_weight_file(PurePosixPath(path).name):
        return True
    parents = {str(parent) for parent in PurePosixPath(path).parents}
    return any(context.relpath(t.path) in (path, *parents) for t in context.touched)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
