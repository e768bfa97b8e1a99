"""Helpers for the GitLab CI template tests: component inputs, schema checks, gitlab-ci-local.

GitLab reads a component (or any included file with a ``spec:`` header) as two YAML
documents: the header, then the configuration, in which every ``$[[ inputs.NAME ]]``
is replaced once the including project's inputs are known. Neither
``check-jsonschema`` (one document per file) nor gitlab-ci-local 4.45.0 (no inputs
support) do that, so :func:`expand_component` does it the way GitLab does: per YAML
string after parsing; a value that is exactly one interpolation block keeps the
input's type, a block inside a longer string becomes text (``true``, not ``True``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = REPO_ROOT / "templates" / "modelseal.yml"
EXAMPLES = REPO_ROOT / "examples" / "gitlab"
GITLAB_CI_LOCAL_VERSION = "4.45.0"

_BLOCK = re.compile(r"\$\[\[\s*(.*?)\s*\]\]")
_INPUT = re.compile(r"inputs\.([A-Za-z0-9_-]+)")
_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "boolean": bool, "number": (int, float), "array": list}


class InputError(ValueError):
    """An input GitLab would reject when it creates the pipeline."""


@dataclass(frozen=True)
class Component:
    """A file with a ``spec:`` header: its input specs and its (uninterpolated) body."""

    inputs: dict[str, dict[str, Any]]
    body: Any

    @classmethod
    def load(cls, path: Path = TEMPLATE) -> Component:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        if len(documents) != 2 or not isinstance(documents[0], dict) or "spec" not in documents[0]:
            raise InputError(f"{path}: expected a spec: header document, then the jobs")
        inputs = documents[0]["spec"].get("inputs") or {}
        return cls({name: spec or {} for name, spec in inputs.items()}, documents[1])

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The inputs' values: ``given`` over the defaults, checked as GitLab checks them."""
        unknown = sorted(set(given) - set(self.inputs))
        if unknown:
            raise InputError(f"unknown input(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, spec in self.inputs.items():
            if name in given:
                value = given[name]
            elif "default" in spec:
                value = spec["default"]
            else:
                raise InputError(f"input {name!r} is required")
            kind = spec.get("type", "string")
            if not isinstance(value, _TYPES[kind]) or (kind == "number" and
                                                       isinstance(value, bool)):
                raise InputError(f"input {name!r}: provided value is not a {kind}")
            if "options" in spec and value not in spec["options"]:
                raise InputError(f"input {name!r}: {value!r} is not one of {spec['options']}")
            if "regex" in spec and not re.search(spec["regex"], str(value)):
                raise InputError(f"input {name!r}: {value!r} does not match {spec['regex']}")
            values[name] = value
        return values

    def expand(self, given: Mapping[str, Any] | None = None) -> Any:
        """The body with every ``$[[ inputs.NAME ]]`` replaced."""
        return interpolate(self.body, self.resolve(given or {}))


def interpolate(node: Any, values: Mapping[str, Any]) -> Any:
    """Replace interpolation blocks in every string (keys included) of ``node``."""
    if isinstance(node, dict):
        return {interpolate(k, values): interpolate(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(item, values) for item in node]
    if not isinstance(node, str):
        return node
    whole = _BLOCK.fullmatch(node)
    if whole:
        return _lookup(whole.group(1), values)
    return _BLOCK.sub(lambda m: _text(_lookup(m.group(1), values)), node)


def _lookup(expression: str, values: Mapping[str, Any]) -> Any:
    match = _INPUT.fullmatch(expression)
    if match is None:
        raise InputError(f"unsupported interpolation $[[ {expression} ]]")
    if match.group(1) not in values:
        raise InputError(f"unknown interpolation key: {match.group(1)!r}")
    return values[match.group(1)]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def expand_component(path: Path = TEMPLATE, inputs: Mapping[str, Any] | None = None) -> Any:
    """The configuration GitLab builds from ``path`` with ``inputs``."""
    return Component.load(path).expand(inputs)


def dump_yaml(config: Any) -> str:
    """YAML text for an expanded configuration (anchors already resolved)."""
    return yaml.safe_dump(config, sort_keys=False, width=1000, allow_unicode=True)


def schema_errors(*paths: Path) -> str | None:
    """None when ``check-jsonschema --builtin-schema vendor.gitlab-ci`` accepts every
    file in ``paths`` (one run: loading the schema takes most of its time), else its
    output."""
    cmd = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci",
           *map(str, paths)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return None if proc.returncode == 0 else proc.stdout + proc.stderr


def gitlab_ci_local() -> str | None:
    """The gitlab-ci-local executable when the pinned version is installed."""
    exe = shutil.which("gitlab-ci-local")
    if exe is None or shutil.which("rsync") is None:
        return None
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    return exe if proc.stdout.strip() == GITLAB_CI_LOCAL_VERSION else None


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` (no user config, fixed identity) and return stdout."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "Model Maintainer", "GIT_AUTHOR_EMAIL": "maintainer@example.com",
           "GIT_COMMITTER_NAME": "Model Maintainer",
           "GIT_COMMITTER_EMAIL": "maintainer@example.com"}
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout
