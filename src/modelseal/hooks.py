"""Git hook entry points, for the pre-commit framework and for plain git hooks.

``main(argv) -> int`` in the pre-commit style, one sub-command per hook:

- ``manifest [FILE...]``: regenerate the manifest of every model the files (and the
  staged changes, deletions included) touch; exit 1 whenever a manifest was written
  or is not staged, printing what changed and the ``git add`` to run.
- ``check [FILE...]``: the same selection, read-only; exit 1 with the diff.
- ``verify``: after a merge or checkout, verify the signatures of the models that
  changed, with the repository's policy (in :mod:`modelseal.hooks_verify`, which is
  the only hook that loads the signature code).

pre-commit splits long file lists into several calls of the same hook (in parallel
unless ``require_serial``). Each model is still handled once per run: the calls of
one ``pre-commit`` process share a small record in ``.git/modelseal/``, read and
written under a lock, of the models already done.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TextIO

from modelseal import console, lfs
from modelseal.cli import options as cli_options
from modelseal.config import DEFAULT_LFS_WARN_SIZE, Config, HashOptions
from modelseal.engine import HashRun, check_target, refresh_target
from modelseal.errors import (
    EXIT_FAILED,
    EXIT_OK,
    ManifestFormatError,
    ModelsealError,
    printable,
)
from modelseal.fsio import atomic_write_text, exclusive_lock
from modelseal.gitrepo import (
    GitRepo,
    git_dir,
    model_relpath,
    open_repo,
    relative_to_root,
    touched_models,
)
from modelseal.progress import human_size
from modelseal.targets import ModelTarget, load_nearest_config
from modelseal.untrusted import loads_json
from modelseal.walk import MANIFEST_NAME
from modelseal.weights import is_weight_file, untracked_weight_dirs

SESSION_MAX_AGE_S = 3600
_MANIFEST_SUFFIX = ".manifest.json"


@dataclass
class HookContext:
    """What a hook works on: the root, the repository (if any), config and models."""

    root: Path
    repo: GitRepo | None
    config: Config | None
    touched: list[ModelTarget]
    staged: list[str] = field(default_factory=list)  # paths added or modified in the index
    output: TextIO | None = None  # default: sys.stdout at the time of printing

    @property
    def out(self) -> TextIO:
        return self.output or sys.stdout

    def relpath(self, path: Path) -> str:
        """``path`` relative to the root, "." for the root itself."""
        return relative_to_root(self.root, path)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one hook: ``manifest``, ``check`` or ``verify`` (see the module docstring)."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except ModelsealError as exc:
        print(f"modelseal: error: {printable(exc)}", file=sys.stderr)
        return exc.exit_code
    return result


def build_parser(prog: str = "modelseal hook") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="git hook entry points")
    hooks = parser.add_subparsers(dest="hook", metavar="HOOK", required=True)
    for name, run, summary in (
        ("manifest", _run_manifest, "regenerate the manifests of the models the changes touch"),
        ("check", _run_check, "fail with a diff when a touched model's manifest is stale"),
    ):
        sub = hooks.add_parser(name, help=summary, description=summary)
        sub.set_defaults(run=run)
        sub.add_argument("files", nargs="*", metavar="FILE",
                         help="changed files, as pre-commit passes them; staged changes "
                              "(deletions included) are always added")
        sub.add_argument("--all", action="store_true",
                         help="every model in .modelseal.yaml, whatever changed")
        cli_options.add_config_option(sub)
        cli_options.add_cache_options(sub)
    verify = hooks.add_parser("verify", help="verify signatures of the models a merge or "
                              "checkout changed", description="verify the signatures of the "
                              "models a merge or checkout changed, with the repository policy")
    verify.set_defaults(run=_run_verify)
    verify.add_argument("--all", action="store_true", help="verify every configured model")
    cli_options.add_config_option(verify)
    verify.add_argument("--strict", action="store_true", default=None,
                        help="fail on unsigned models too; a model that does not verify "
                             "always fails (default: the policy's 'strict')")
    verify.add_argument("--from-ref", help="old revision (default: $PRE_COMMIT_FROM_REF, "
                        "else ORIG_HEAD)")
    verify.add_argument("--to-ref", help="new revision (default: $PRE_COMMIT_TO_REF, else HEAD)")
    return parser


def _run_verify(args: argparse.Namespace) -> int:
    from modelseal import hooks_verify  # loads the signature code; only this hook needs it

    return hooks_verify.run(args)


# -- manifest and check ------------------------------------------------------------


def _run_manifest(args: argparse.Namespace) -> int:
    run = HashRun(use_cache=not args.no_cache, progress=False,
                  require_content=args.require_content)
    with open_context(args.files, config_path=args.config, all_models=args.all) as context:
        with session(context, "manifest") as done:
            mine = list(pending(context, done))
            written = [t for t in mine if _refresh_one(context, t, run)]
            untracked_fails = _report_untracked_weights(context, done)
        unstaged = _unstaged(context, [t for t in mine if t not in written])
        _warn_large_files(context)
    to_add = [context.relpath(t.manifest_path) for t in (*written, *unstaged)]
    if to_add:
        command = printable(" ".join(map(shlex.quote, to_add)))
        print(f"\nmodelseal: stage the manifest{'s' if len(to_add) > 1 else ''} and commit "
              f"again:\n  git add {command}", file=context.out)
    return EXIT_FAILED if to_add or untracked_fails else EXIT_OK


def _run_check(args: argparse.Namespace) -> int:
    run = HashRun(use_cache=not args.no_cache, progress=False,
                  require_content=args.require_content)
    with open_context(args.files, config_path=args.config, all_models=args.all) as context:
        with session(context, "check") as done:
            mine = list(pending(context, done))
            stale = [t for t in mine if _check_one(context, t, run)]
            untracked_fails = _report_untracked_weights(context, done)
        unstaged = _unstaged(context, [t for t in mine if t not in stale])
        _warn_large_files(context)
    if stale:
        models = printable(" ".join(shlex.quote(t.display) for t in stale))
        manifests = printable(" ".join(shlex.quote(context.relpath(t.manifest_path))
                                       for t in stale))
        print(f"\nmodelseal: to fix, run:\n  modelseal manifest {models} && git add "
              f"{manifests}", file=context.out)
    elif unstaged:
        manifests = printable(" ".join(shlex.quote(context.relpath(t.manifest_path))
                                       for t in unstaged))
        print(f"\nmodelseal: to fix, run:\n  git add {manifests}", file=context.out)
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


def pending(context: HookContext, done: set[str]) -> Iterator[ModelTarget]:
    """The touched models not yet handled in this run, each marked done as it is yielded."""
    for target in context.touched:
        key = context.relpath(target.path)
        if key not in done:
            done.add(key)
            yield target


def _refresh_one(context: HookContext, target: ModelTarget, run: HashRun) -> bool:
    """Regenerate one manifest; True when it was written (so the hook must fail)."""
    out = context.out
    conflicted = has_conflict_markers(target.manifest_path)
    status = refresh_target(target, run)
    console.print_lfs_note(status, out)
    if not status.written:
        return False
    manifest = shlex.quote(context.relpath(target.manifest_path))
    if conflicted:
        print(f"{printable(target.display)}: {printable(manifest)} had a merge conflict; "
              "regenerated it from the files", file=out)
    else:
        print("\n".join(console.refresh_lines(status, manifest)), file=out)
    return True


def _check_one(context: HookContext, target: ModelTarget, run: HashRun) -> bool:
    """Compare one manifest with the files; True when it is missing, stale or conflicted."""
    out = context.out
    name = printable(target.display)
    manifest = printable(shlex.quote(context.relpath(target.manifest_path)))
    try:
        status = check_target(target, run)
    except ManifestFormatError as exc:
        print(f"{name}: {printable(exc)}", file=out)
        return True
    console.print_lfs_note(status, out)
    if not status.stale:
        return False
    if status.missing:
        print(f"{name}: no manifest ({manifest} is missing)", file=out)
    else:
        print(f"{name}: manifest is stale "
              f"({console.files_differ(status.diff.changed_files)}):", file=out)
        for line in console.diff_lines(status.diff):
            print(line, file=out)
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
        print(f"{printable(target.display)}: {printable(context.relpath(target.manifest_path))}"
              " is up to date but not staged", file=context.out)
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
            print(f"modelseal: warning: {printable(path)} is {human_size(sizes[path])} and not "
                  f"tracked by Git LFS; add this line to .gitattributes, then run `git add "
                  f"--renormalize {printable(shlex.quote(path))}`:\n  "
                  f"{printable(lfs.gitattributes_line(path))}", file=sys.stderr)


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


# -- which models ------------------------------------------------------------------


@contextlib.contextmanager
def open_context(files: Sequence[str], *, config_path: Path | None = None,
                 all_models: bool = False, with_staged: bool = True,
                 out: TextIO | None = None) -> Iterator[HookContext]:
    """The repository, config and the models the files or the staged changes touch."""
    with contextlib.ExitStack() as stack:
        repo = (stack.enter_context(open_repo(Path.cwd()))
                if git_dir(Path.cwd()) is not None else None)
        root = repo.root if repo is not None else Path.cwd().resolve()
        config = load_nearest_config(Path.cwd(), config_path)
        configured = [ModelTarget(entry.path, entry.options)
                      for entry in (config.models if config else ())]
        if all_models:
            yield HookContext(root, repo, config, configured, [], out)
            return
        paths = [path for path in (_under_root(root, name) for name in files) if path]
        staged: list[str] = []
        if repo is not None and with_staged:
            changes = repo.staged_changes()
            paths += [change.path for change in changes]
            staged = [change.path for change in changes if change.status != "D"]
        touched = models_for_paths(root, list(dict.fromkeys(paths)), configured, config)
        yield HookContext(root, repo, config, touched, staged, out)


def _under_root(root: Path, name: str) -> str | None:
    try:
        return relative_to_root(root, Path(name))
    except ValueError:
        return None  # outside the repository: not ours


def models_for_paths(root: Path, paths: Sequence[str], configured: Sequence[ModelTarget],
                     config: Config | None) -> list[ModelTarget]:
    """Configured models touched by ``paths``, then unconfigured ones found by their
    manifest file (so a repo without `.modelseal.yaml` still works)."""
    touched = touched_models(root, paths, configured)
    known = {model_relpath(root, target) for target in configured}
    options = config.defaults if config else HashOptions()
    for path in paths:
        found = _model_with_manifest(root, path, known)
        if found is not None:
            known.add(found)
            touched.append(ModelTarget(root / found, options))
    return touched


def _model_with_manifest(root: Path, path: str, known: set[str]) -> str | None:
    """The unconfigured model holding ``path``: the nearest directory with a manifest,
    or a single file with ``<file>.manifest.json`` beside it."""
    posix = PurePosixPath(path)
    candidates: list[str] = []
    if path.endswith(_MANIFEST_SUFFIX) and posix.name != MANIFEST_NAME:
        candidates.append(path[: -len(_MANIFEST_SUFFIX)])
    candidates.append(path)
    for single in candidates:
        # a single file, or a directory keeping its manifest beside it (placement.py)
        if (root / single).exists() and (root / f"{single}{_MANIFEST_SUFFIX}").is_file():
            return None if _covered(single, known) else single
    for parent in posix.parents:
        directory = "" if str(parent) == "." else str(parent)
        beside = bool(directory) and (root / f"{directory}{_MANIFEST_SUFFIX}").is_file()
        if beside or (root / directory / MANIFEST_NAME).is_file():
            return None if _covered(directory, known) else directory
    return None


def _covered(path: str, known: set[str]) -> bool:
    """Whether ``path`` is a known model or lies inside one."""
    return any(path == model or model == "" or path.startswith(f"{model}/") for model in known)


# -- one model once per pre-commit run ---------------------------------------------


@contextlib.contextmanager
def session(context: HookContext, hook: str) -> Iterator[set[str]]:
    """The models already handled by this pre-commit run (always empty elsewhere).

    All calls of a hook in one ``pre-commit`` process share their parent process. The
    record is read, used and written under an exclusive lock, so calls running in
    parallel never handle the same model twice.
    """
    found = git_dir(context.root) if context.repo is not None else None
    if found is None or os.environ.get("PRE_COMMIT") != "1":
        yield set()
        return
    directory = found / "modelseal"
    directory.mkdir(parents=True, exist_ok=True)
    record = directory / f"hook-session-{hook}.json"
    with exclusive_lock(directory / f"hook-session-{hook}.lock"):
        identity = _run_identity()
        done = _load_session(record, identity)
        try:
            yield done
        finally:
            payload = {"id": identity, "started": time.time(), "done": sorted(done)}
            atomic_write_text(record, json.dumps(payload) + "\n")


def _load_session(record: Path, identity: str) -> set[str]:
    try:
        data = loads_json(record.read_text(encoding="utf-8"))
        fresh = time.time() - float(data["started"]) < SESSION_MAX_AGE_S
        if data["id"] == identity and fresh:
            return {str(item) for item in data["done"]}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return set()


def _run_identity() -> str:
    """The process that started this hook (pre-commit): its pid and, on Linux, start time."""
    parent = os.getppid()
    try:
        with open(f"/proc/{parent}/stat", encoding="ascii") as stream:
            started = stream.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError, UnicodeDecodeError):
        started = ""
    return f"{parent}:{started}"


if __name__ == "__main__":
    raise SystemExit(main())
