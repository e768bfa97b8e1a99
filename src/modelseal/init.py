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

from modelseal import console
from modelseal._version import __version__
from modelseal.config import CONFIG_NAME, DEFAULT_LFS_WARN_SIZE, load_config
from modelseal.errors import EXIT_FAILED, EXIT_OK, ConfigError, UsageError, printable
from modelseal.fsio import atomic_write_bytes, atomic_write_text
from modelseal.launch import shell_command
from modelseal.weights import WEIGHT_EXTENSIONS, weight_files

HOOKS_REPO = "https://github.com/modelseal/modelseal"  # the published hooks (--remote)
PRECOMMIT_CONFIG = ".pre-commit-config.yaml"
HOOK_IDS = ("modelseal-manifest", "modelseal-verify")
INSTALL_HOOK_TYPES = ("pre-commit", "post-merge", "post-checkout")
_ROOT_IGNORES = (CONFIG_NAME, PRECOMMIT_CONFIG)


# -- finding models ----------------------------------------------------------------


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
    for path in weight_files(root):
        yield str(path.parent)


def model_patterns(root: Path, models: Sequence[str]) -> list[str]:
    """``models`` with each family of siblings folded into one glob, ``parent/*/``.

    A glob is written only where the layout says "every directory here is a model": two
    or more models share the parent, and every other visible subdirectory of it is one of
    them. Then a model added there later is tracked without editing the config.
    """
    by_parent: dict[str, list[str]] = {}
    for model in models:
        parent = str(PurePosixPath(model).parent)
        if model != "." and parent != ".":
            by_parent.setdefault(parent, []).append(model)
    folded = {parent for parent, children in by_parent.items()
              if len(children) >= 2 and set(children) == _visible_subdirs(root, parent)}
    patterns: list[str] = []
    for model in models:
        parent = str(PurePosixPath(model).parent)
        if parent not in folded:
            patterns.append(model)
        elif f"{parent}/*/" not in patterns:
            patterns.append(f"{parent}/*/")
    return patterns


def _visible_subdirs(root: Path, parent: str) -> set[str]:
    return {f"{parent}/{entry.name}" for entry in os.scandir(root / parent)
            if entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".")}


def config_text(models: Sequence[str]) -> str:
    """The `.modelseal.yaml` that `init` writes for ``models`` (paths or globs)."""
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

# The hooks `init` sets up, with the fields of their definitions in .pre-commit-hooks.yaml
# (a test keeps the two in step). `verbose: true`: pre-commit and prek hide the output of
# a hook that passes, and a warning (an unverifiable model, a weight file outside Git LFS
# or outside every model) must not be swallowed by a bare "Passed".
LOCAL_HOOKS: tuple[dict[str, Any], ...] = (
    {"id": "modelseal-manifest", "name": "modelseal manifest",
     "entry": "modelseal hook manifest", "language": "system", "files": "",
     "always_run": True, "pass_filenames": True, "require_serial": True, "verbose": True,
     "stages": ["pre-commit", "pre-merge-commit", "manual"]},
    {"id": "modelseal-check", "name": "modelseal check",
     "entry": "modelseal hook check", "language": "system", "files": "",
     "always_run": True, "pass_filenames": True, "require_serial": True, "verbose": True,
     "stages": ["pre-push", "manual"]},
    {"id": "modelseal-verify", "name": "modelseal verify",
     "entry": "modelseal hook verify", "language": "system", "always_run": True,
     "pass_filenames": False, "require_serial": True, "verbose": True,
     "stages": ["post-merge", "manual"]},
)
HOOK_IDS = tuple(hook["id"] for hook in LOCAL_HOOKS)
# post-checkout is not among them: pre-commit and prek refuse to run any hook while a
# merge has unmerged files, so a framework post-checkout hook would make `git checkout
# --theirs FILE` fail. `modelseal install-hooks --hook post-checkout` covers branch
# switches with a plain hook instead.
INSTALL_HOOK_TYPES = ("pre-commit", "post-merge", "pre-push")


def remote_rev() -> str:
    """The `rev:` of the published hooks that matches the installed modelseal."""
    return f"v{__version__}"


def precommit_snippet(hooks_repo: str | None = None, rev: str | None = None,
                      indent: str = "  ") -> str:
    """Our entry of the `repos:` list, indented as a list item.

    With no ``hooks_repo`` it is the local form (``repo: local``, ``language: system``):
    it runs the modelseal installed on PATH, needs no network, and works unedited. With
    one, the hooks come from that repository at ``rev`` (default: this version's tag).
    """
    if hooks_repo is None:
        hooks = yaml.safe_dump(list(LOCAL_HOOKS), sort_keys=False, default_flow_style=None,
                               width=100)
        lines = ["- repo: local", "  hooks:",
                 *(f"    {line}" for line in hooks.splitlines())]
    else:
        lines = [f"- repo: {hooks_repo}", f"  rev: {rev or remote_rev()}", "  hooks:",
                 *(f"    - id: {hook_id}" for hook_id in HOOK_IDS)]
    return "".join(f"{indent}{line}\n" for line in lines)


def precommit_config(hooks_repo: str | None = None, rev: str | None = None) -> str:
    """A whole `.pre-commit-config.yaml` for a repository that has none."""
    types = ", ".join(INSTALL_HOOK_TYPES)
    return ("# modelseal hooks (written by `modelseal init`). `pre-commit install` (or `prek\n"
            "# install`) sets up every hook type listed here; the hooks run the modelseal\n"
            "# installed on PATH. CI: pre-commit run modelseal-check --all-files "
            "--hook-stage manual\n"
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
        console.say_lines(["", f"add the hooks to {PRECOMMIT_CONFIG} (or run `modelseal init "
                           "--write-precommit`):", "",
                           *precommit_config(hooks_repo, rev).splitlines(), "",
                           "then: pre-commit install   (or prek install; without either: "
                           "modelseal install-hooks)"])
        _say_post_checkout()
    return EXIT_OK if config_ok else EXIT_FAILED


def _say_post_checkout() -> None:
    console.say("optional: modelseal install-hooks --hook post-checkout   (verify after branch "
                "switches too)")


def _init_config(root: Path, models: list[str]) -> bool:
    path = root / CONFIG_NAME
    shown = _shown(path)
    if path.exists():
        listed = _configured(path, root)
        missing = [m for m in models if m not in listed]
        console.say(f"{shown}: exists, left as it is")
        for model in missing:
            console.say(f"  note: {model} holds model files but is not listed; add it under "
                        "'models:' to track it")
        return True
    if not models:
        console.say(f"no model files found under {_shown(root)} (looked for "
                    f"{', '.join(WEIGHT_EXTENSIONS)} and sharded *.index.json); nothing written")
        return False
    patterns = model_patterns(root, models)
    atomic_write_text(path, config_text(patterns))
    count = f"{len(models)} model" + ("s" if len(models) != 1 else "")
    console.say(f"{shown}: wrote it, tracking {count}:")
    for model in models:
        console.say(f"  {model}")
    for pattern in patterns:
        if pattern.endswith("/*/"):
            console.say(f"  (as {pattern}: every directory added there later is tracked "
                        "too)")
    console.say("next: modelseal manifest   (writes model.manifest.json into each model)")
    return True


def _configured(path: Path, root: Path) -> set[str]:
    config = load_config(path)
    return {Path(os.path.relpath(entry.path, root)).as_posix() for entry in config.models}


def _init_precommit(root: Path, hooks_repo: str | None, rev: str | None) -> None:
    path = root / PRECOMMIT_CONFIG
    if not path.exists():
        atomic_write_text(path, precommit_config(hooks_repo, rev))
        console.say(f"{_shown(path)}: wrote it with the modelseal hooks")
    else:
        old = path.read_text(encoding="utf-8")
        new = merge_precommit(old, hooks_repo, rev)
        if new == old:
            console.say(f"{_shown(path)}: already has the modelseal hooks, left as it is")
            return
        atomic_write_text(path, new)
        console.say(f"{_shown(path)}: added the modelseal hooks")
    console.say("next: pre-commit install   (or prek install; it reads "
                "default_install_hook_types)")
    _say_post_checkout()


def _shown(path: Path) -> str:
    """``path`` as printed: relative when under the current directory, escaped."""
    relative = os.path.relpath(path)
    return printable(relative if not relative.startswith("..") else str(path))


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
    "post-checkout": ('verify --from-ref "$1" --to-ref "$2"',
                      "After a branch switch, verifies the signatures of the models it\n"
                      "# changed (a model that does not verify fails; an unsigned one fails\n"
                      "# only under policy.strict). A checkout of files (git\n"
                      "# passes 0 as $3: `git checkout --theirs FILE` during a merge) is left\n"
                      "# alone.",
                      "exit 0"),
}
HOOK_NAMES = tuple(_HOOK_COMMANDS)
DEFAULT_HOOKS = ("pre-commit", "post-merge")  # post-checkout is opt-in
_HOOK_GUARDS = {"post-checkout": '[ "$3" = 1 ] || exit 0\n'}  # branch switches only


def hook_script(name: str, python: str = "") -> str:
    """The plain git hook ``name``; ``python`` is the interpreter to try first."""
    command, purpose, missing = _HOOK_COMMANDS[name]
    return f"""#!/bin/sh
{HOOK_MARKER} {name} (written by `modelseal install-hooks`, which may overwrite it)
# {purpose}
{_HOOK_GUARDS.get(name, "")}INSTALL_PYTHON={shlex.quote(python)}
# -c, not -m: `python -m` would import a modelseal/ committed to this repository
if [ -n "$INSTALL_PYTHON" ] && [ -x "$INSTALL_PYTHON" ]; then
    exec {shell_command("INSTALL_PYTHON", "modelseal.hooks")} {command}
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
    refused = [name for name in (hooks or DEFAULT_HOOKS)
               if not _install_one(directory / name, hook_script(name, sys.executable), force)]
    if refused:
        console.say("some hooks were left alone: rerun with --force to replace them (the old hook "
                    "is kept beside it), or use the pre-commit framework (see `modelseal init`)")
        return EXIT_FAILED
    return EXIT_OK


def _install_one(path: Path, script: str, force: bool) -> bool:
    """Install one hook and say what happened; False when a foreign hook was kept."""
    shown = _shown(path)
    if not path.exists():
        _write_executable(path, script)
        console.say(f"{shown}: installed")
        return True
    old = path.read_text(encoding="utf-8", errors="replace")
    if HOOK_MARKER in old:
        if old == script:
            console.say(f"{shown}: already installed, unchanged")
        else:
            _write_executable(path, script)
            console.say(f"{shown}: updated")
        return True
    owner = "pre-commit" if "pre-commit" in old and "INSTALL_PYTHON" in old else "another tool"
    if not force:
        console.say(f"{shown}: exists and was written by {owner}, left as it is")
        return False
    backup = path.with_name(f"{path.name}.pre-modelseal")
    os.replace(path, backup)
    _write_executable(path, script)
    console.say(f"{shown}: replaced (the previous hook is now {_shown(backup)})")
    return True


def _write_executable(path: Path, text: str) -> None:
    mode = stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)
