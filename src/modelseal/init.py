"""Setting a repository up: `modelseal init` and `modelseal install-hooks`.

`init` finds model directories by their weight files, writes `.modelseal.yaml`, and
prints (or merges into `.pre-commit-config.yaml`) the hook configuration.
`install-hooks` writes plain git hooks for repositories without the pre-commit
framework. Both can be run again safely: what is already in place is left alone.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from modelseal import __version__
from modelseal.config import CONFIG_NAME, DEFAULT_LFS_WARN_SIZE, load_config
from modelseal.errors import EXIT_FAILED, EXIT_OK, ConfigError, UsageError
from modelseal.fsio import atomic_write_bytes, atomic_write_text

WEIGHT_EXTENSIONS = (".safetensors", ".gguf", ".onnx", ".bin", ".pt", ".pth", ".ckpt",
                     ".h5", ".tflite", ".mlmodel", ".keras")
INDEX_SUFFIX = ".index.json"  # sharded checkpoints: model.safetensors.index.json, ...
HOOKS_REPO = "https://github.com/modelseal/modelseal"
PRECOMMIT_CONFIG = ".pre-commit-config.yaml"
HOOK_IDS = ("modelseal-manifest", "modelseal-verify")
INSTALL_HOOK_TYPES = ("pre-commit", "post-merge", "post-checkout")
_SKIPPED_DIRS = {"node_modules", "__pycache__", "venv", "site-packages"}
_ROOT_IGNORES = (CONFIG_NAME, PRECOMMIT_CONFIG)


# -- finding models ----------------------------------------------------------------


def is_weight_file(name: str) -> bool:
    """A weight file by extension, or the index of a sharded checkpoint."""
    if name.endswith(INDEX_SUFFIX):
        name = name[: -len(INDEX_SUFFIX)]
    return name.lower().endswith(WEIGHT_EXTENSIONS)


def find_models(root: Path) -> list[str]:
    """Model directories under ``root`` (POSIX, relative; "." for the root itself).

    A directory holding a weight file is a model; a model inside another model is
    part of it (e.g. an ``onnx/`` export beside the safetensors). Hidden directories,
    virtualenvs and ``node_modules`` are skipped.
    """
    found = {PurePosixPath(directory) for directory in _weight_dirs(root)}
    outermost = [d for d in found if not any(p in found for p in d.parents)]
    return sorted(str(d) for d in outermost)


def _weight_dirs(root: Path) -> Iterator[str]:
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".")
                            and d not in _SKIPPED_DIRS and not _is_venv(Path(directory, d)))
        if any(is_weight_file(name) for name in files):
            relative = Path(directory).relative_to(root).as_posix()
            yield relative or "."


def _is_venv(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file()


def config_text(models: Sequence[str]) -> str:
    """The `.modelseal.yaml` that `init` writes for ``models``."""
    entries: list[Any] = [{"path": m, "ignore": list(_ROOT_IGNORES)} if m == "." else m
                          for m in models]
    body = yaml.safe_dump({"version": 1, "models": entries}, sort_keys=False,
                          default_flow_style=False)
    return ("# modelseal: the model directories this repository tracks (written by "
            "`modelseal init`).\n"
            "# Each entry is a model directory or a single model file; see the README for\n"
            "# hashing options (hash, serialization, ignore) and the signing policy.\n"
            f"{body}"
            "lfs:\n"
            "  # warn when a staged weight file over this many bytes is not tracked by Git LFS\n"
            f"  warn_size: {DEFAULT_LFS_WARN_SIZE}\n")


# -- the pre-commit configuration --------------------------------------------------


def precommit_snippet(hooks_repo: str | None = None, rev: str | None = None,
                      indent: str = "  ") -> str:
    """Our entry of the `repos:` list, indented as a list item."""
    lines = [f"- repo: {hooks_repo or HOOKS_REPO}",
             f"  rev: {rev or 'v' + __version__}",
             "  hooks:",
             *(f"    - id: {hook_id}" for hook_id in HOOK_IDS)]
    return "".join(f"{indent}{line}\n" for line in lines)


def precommit_config(hooks_repo: str | None = None, rev: str | None = None) -> str:
    """A whole `.pre-commit-config.yaml` for a repository that has none."""
    types = ", ".join(INSTALL_HOOK_TYPES)
    return ("# `pre-commit install` sets up every hook type listed here (verify runs after\n"
            "# merges and checkouts)\n"
            f"default_install_hook_types: [{types}]\n"
            f"repos:\n{precommit_snippet(hooks_repo, rev)}")


def merge_precommit(text: str, hooks_repo: str | None = None, rev: str | None = None) -> str:
    """``text`` with our hooks added to its `repos:` list, comments and layout kept.

    Returns ``text`` unchanged when a modelseal hook is already configured.
    """
    data = _load_precommit(text)
    if _has_our_hooks(data):
        return text
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next((i for i, line in enumerate(lines) if _is_repos_key(line)), None)
    if start is None:
        merged = "".join(lines) + f"repos:\n{precommit_snippet(hooks_repo, rev)}"
    elif lines[start].split(":", 1)[1].split("#")[0].strip() in ("", "[]"):
        lines[start] = "repos:\n"
        end = _block_end(lines, start)
        indent = _item_indent(lines[start + 1:end])
        snippet = precommit_snippet(hooks_repo, rev, indent)
        merged = "".join([*lines[:end], snippet, *lines[end:]])
    else:
        raise UsageError(f"{PRECOMMIT_CONFIG}: 'repos:' is written inline; add the modelseal "
                         f"hooks by hand:\n{precommit_snippet(hooks_repo, rev)}")
    if not _has_our_hooks(_load_precommit(merged)):
        raise UsageError(f"could not merge into {PRECOMMIT_CONFIG}; add this under 'repos:' "
                         f"by hand:\n{precommit_snippet(hooks_repo, rev)}")
    return merged


def _load_precommit(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{PRECOMMIT_CONFIG} is not valid YAML: "
                          f"{' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{PRECOMMIT_CONFIG} must be a mapping with a 'repos' list")
    return data


def _has_our_hooks(data: dict[str, Any]) -> bool:
    repos = data.get("repos") or []
    return any(isinstance(hook, dict) and str(hook.get("id", "")).startswith("modelseal-")
               for repo in repos if isinstance(repo, dict) for hook in repo.get("hooks") or [])


def _is_repos_key(line: str) -> bool:
    return line.startswith("repos:")


def _block_end(lines: list[str], start: int) -> int:
    """The index of the first top-level key after ``start`` (or the end)."""
    for index in range(start + 1, len(lines)):
        line = lines[index]
        if line.strip() and not line[0].isspace() and not line.startswith(("-", "#")):
            return index
    return len(lines)


def _item_indent(block: list[str]) -> str:
    for line in block:
        stripped = line.lstrip(" ")
        if stripped.startswith("- "):
            return line[: len(line) - len(stripped)]
    return "  "


# -- `modelseal init` --------------------------------------------------------------


def run_init(directory: Path, *, write_precommit: bool = False, hooks_repo: str | None = None,
             rev: str | None = None) -> int:
    """Find models, write the config (unless one exists), print or merge the hook config."""
    root = directory.resolve()
    if not root.is_dir():
        raise UsageError(f"{directory} is not a directory")
    models = find_models(root)
    config_ok = _init_config(root, models)
    if write_precommit:
        _init_precommit(root, hooks_repo, rev)
    else:
        print(f"\nadd the hooks to {PRECOMMIT_CONFIG} (or run `modelseal init "
              "--write-precommit`):\n")
        print(precommit_config(hooks_repo, rev), end="")
        print("\nthen: pre-commit install   (without pre-commit: modelseal install-hooks)")
    return EXIT_OK if config_ok else EXIT_FAILED


def _init_config(root: Path, models: list[str]) -> bool:
    path = root / CONFIG_NAME
    shown = _shown(path)
    if path.exists():
        listed = _configured(path, root)
        missing = [m for m in models if m not in listed]
        print(f"{shown}: exists, left as it is")
        for model in missing:
            print(f"  note: {model} holds model files but is not listed; add it under "
                  "'models:' to track it")
        return True
    if not models:
        print(f"no model files found under {_shown(root)} (looked for "
              f"{', '.join(WEIGHT_EXTENSIONS)} and sharded *.index.json); nothing written")
        return False
    atomic_write_text(path, config_text(models))
    print(f"{shown}: wrote it, tracking {len(models)} model(s):")
    for model in models:
        print(f"  {model}")
    print("next: modelseal manifest   (writes model.manifest.json beside each model)")
    return True


def _configured(path: Path, root: Path) -> set[str]:
    config = load_config(path)
    return {Path(os.path.relpath(entry.path, root)).as_posix() for entry in config.models}


def _init_precommit(root: Path, hooks_repo: str | None, rev: str | None) -> None:
    path = root / PRECOMMIT_CONFIG
    if not path.exists():
        atomic_write_text(path, precommit_config(hooks_repo, rev))
        print(f"{_shown(path)}: wrote it with the modelseal hooks")
    else:
        old = path.read_text(encoding="utf-8")
        new = merge_precommit(old, hooks_repo, rev)
        if new == old:
            print(f"{_shown(path)}: already has the modelseal hooks, left as it is")
            return
        atomic_write_text(path, new)
        print(f"{_shown(path)}: added the modelseal hooks")
    types = " ".join(f"--hook-type {t}" for t in INSTALL_HOOK_TYPES)
    print(f"next: pre-commit install {types}")


def _shown(path: Path) -> str:
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(path)


# -- `modelseal install-hooks` -----------------------------------------------------

HOOK_MARKER = "# modelseal-hook:"
_HOOK_COMMANDS = {
    "pre-commit": ("manifest",
                   "Regenerates the manifests of the models this commit touches; the commit\n"
                   "# stops when one was written, so it can be reviewed and staged.",
                   "exit 1"),
    "post-merge": ("verify",
                   "After a merge or pull, verifies the signatures of the models it changed\n"
                   "# with the policy in .modelseal.yaml (a model that does not verify fails;\n"
                   "# an unsigned one fails only under policy.strict).",
                   "exit 0"),
}
HOOK_NAMES = tuple(_HOOK_COMMANDS)


def hook_script(name: str, python: str = "") -> str:
    """The plain git hook ``name``; ``python`` is the interpreter to try first."""
    command, purpose, missing = _HOOK_COMMANDS[name]
    return f"""#!/bin/sh
{HOOK_MARKER} {name} (written by `modelseal install-hooks`, which may overwrite it)
# {purpose}
INSTALL_PYTHON={shlex.quote(python)}
if [ -n "$INSTALL_PYTHON" ] && [ -x "$INSTALL_PYTHON" ]; then
    exec "$INSTALL_PYTHON" -m modelseal.hooks {command}
elif command -v modelseal >/dev/null 2>&1; then
    exec modelseal hook {command}
fi
echo "modelseal: not found (pip install modelseal, or remove this hook: $0)" >&2
{missing}
"""


def run_install_hooks(start: Path, *, hooks: Sequence[str] | None = None,
                      force: bool = False) -> int:
    """Write the plain git hooks; a hook modelseal did not write is kept unless --force."""
    from modelseal.gitrepo import open_repo

    with open_repo(start) as repo:
        directory = repo.hooks_dir()
    directory.mkdir(parents=True, exist_ok=True)
    refused = [name for name in (hooks or HOOK_NAMES)
               if not _install_one(directory / name, hook_script(name, sys.executable), force)]
    if refused:
        print("some hooks were left alone: rerun with --force to replace them (the old hook "
              "is kept beside it), or use the pre-commit framework (see `modelseal init`)")
        return EXIT_FAILED
    return EXIT_OK


def _install_one(path: Path, script: str, force: bool) -> bool:
    """Install one hook and say what happened; False when a foreign hook was kept."""
    shown = _shown(path)
    if not path.exists():
        _write_executable(path, script)
        print(f"{shown}: installed")
        return True
    old = path.read_text(encoding="utf-8", errors="replace")
    if HOOK_MARKER in old:
        if old == script:
            print(f"{shown}: already installed, unchanged")
        else:
            _write_executable(path, script)
            print(f"{shown}: updated")
        return True
    owner = "pre-commit" if "pre-commit" in old and "INSTALL_PYTHON" in old else "another tool"
    if not force:
        print(f"{shown}: exists and was written by {owner}, left as it is")
        return False
    backup = path.with_name(f"{path.name}.pre-modelseal")
    os.replace(path, backup)
    _write_executable(path, script)
    print(f"{shown}: replaced (the previous hook is now {_shown(backup)})")
    return True


def _write_executable(path: Path, text: str) -> None:
    mode = stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)
