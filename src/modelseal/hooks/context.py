"""What a hook works on: the repository, the config and the models the changes touch;
and the record that lets each model be handled once per pre-commit run.

pre-commit splits long file lists into several calls of the same hook (in parallel
unless ``require_serial``). Each model is still handled once per run: the calls of
one ``pre-commit`` process share a small record in ``.git/modelseal/``, read and
written under a lock, of the models already done.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TextIO

from modelseal.config import Config, HashOptions
from modelseal.fsio import atomic_write_text, exclusive_lock
from modelseal.gitrepo import (
    GitRepo,
    git_dir,
    model_relpath,
    open_repo,
    relative_to_root,
    touched_models,
)
from modelseal.targets import ModelTarget, load_nearest_config
from modelseal.untrusted import loads_json
from modelseal.walk import MANIFEST_NAME

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


def pending(context: HookContext, done: set[str]) -> Iterator[ModelTarget]:
    """The touched models not yet handled in this run, each marked done as it is yielded."""
    for target in context.touched:
        key = context.relpath(target.path)
        if key not in done:
            done.add(key)
            yield target


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
