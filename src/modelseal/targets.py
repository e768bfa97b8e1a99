"""Which models a command works on: explicit paths, else every model in the config."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from modelseal.config import CONFIG_NAME, Config, HashOptions, find_config, load_config
from modelseal.errors import ModelPathError, UsageError
from modelseal.placement import directory_manifest_path
from modelseal.walk import SIGNATURE_NAME


@dataclass(frozen=True)
class ModelTarget:
    """A model to work on, with its hashing options and the files kept beside it."""

    path: Path
    options: HashOptions
    label: str | None = None  # how to show the path, when the caller knows better
    # ignores given by the user (flags) or found by inspection, as opposed to the
    # config's: verification trusts only these and the signature's own list
    extra_ignore: tuple[str, ...] = ()

    def with_ignores(self, extra: tuple[str, ...]) -> ModelTarget:
        """This target also skipping ``extra``, for hashing and for verification."""
        return replace(self, options=self.options.with_extra_ignores(extra),
                       extra_ignore=(*self.extra_ignore, *extra))

    @property
    def is_file(self) -> bool:
        return self.path.is_file()

    @property
    def manifest_path(self) -> Path:
        if self.is_file:
            return self.path.with_name(f"{self.path.name}.manifest.json")
        return directory_manifest_path(self.path)

    @property
    def signature_path(self) -> Path:
        if self.is_file:
            return self.path.with_name(f"{self.path.name}.sig")
        return self.path / SIGNATURE_NAME

    @property
    def model_name(self) -> str:
        return self.path.resolve().name

    @property
    def display(self) -> str:
        """The path relative to the current directory when under it, else absolute."""
        if self.label:
            return self.label
        try:
            relative = os.path.relpath(self.path)
        except ValueError:  # another drive on Windows
            return str(self.path)
        return str(self.path.resolve()) if relative.startswith("..") else relative


def load_nearest_config(start: Path, explicit: Path | None = None) -> Config | None:
    """The config named by ``--config``, else the nearest `.modelseal.yaml`, else None."""
    if explicit is not None:
        if not explicit.is_file():
            raise UsageError(f"config file {explicit} does not exist")
        return load_config(explicit)
    found = find_config(start)
    return load_config(found) if found else None


def resolve_targets(paths: list[str], *, config_path: Path | None = None,
                    cwd: Path | None = None) -> tuple[list[ModelTarget], Config | None]:
    """Targets for ``paths``; with none, every model the config lists."""
    here = cwd or Path.cwd()
    if not paths:
        config = load_nearest_config(here, config_path)
        if config is None or not config.models:
            raise UsageError(f"no model path given and no models in a {CONFIG_NAME}; pass a "
                             "model directory or run `modelseal init`")
        return [ModelTarget(entry.path, entry.options) for entry in config.models], config
    config = None
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise ModelPathError(f"model path {raw} does not exist")
        config = config or load_nearest_config(path if path.is_dir() else path.parent,
                                               config_path)
    return targets_for(paths, config), config


def targets_for(paths: list[str], config: Config | None) -> list[ModelTarget]:
    """Targets for explicit ``paths``, hashed as ``config`` says (e.g. a config read from
    a pull request's base revision); its defaults for a path it does not list."""
    targets = []
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise ModelPathError(f"model path {raw} does not exist")
        entry = config.entry_for(path) if config else None
        options = entry.options if entry else (config.defaults if config else HashOptions())
        targets.append(ModelTarget(path, options))
    return targets
