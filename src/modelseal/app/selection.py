"""Which models a command works on: the named paths or the config's models, from the
work tree or, for a pull request, from the base revision's config."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal.errors import UsageError

if TYPE_CHECKING:
    from modelseal.config import Config
    from modelseal.targets import ModelTarget


@dataclass(frozen=True)
class ModelRequest:
    """The model options: PATHs (none: every model in the config), `--config`,
    `--signature` (one model only) and extra `--ignore` paths."""

    paths: Sequence[str] = ()
    config: Path | None = None
    signature: Path | None = None
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class Selection:
    """The models, the config that chose them, the repository paths of the policy files
    read from the base revision, and notices for the user."""

    models: list[ModelTarget]
    config: Config | None
    watched: tuple[str, ...] = ()
    notices: list[str] = field(default_factory=list)


def work_tree_models(request: ModelRequest) -> Selection:
    """The models the request names, resolved in the work tree."""
    from modelseal import targets

    models, config = targets.resolve_targets(list(request.paths), config_path=request.config)
    return Selection(_finish(models, request), config)


def base_models(request: ModelRequest, base: str, folder: Path,
                base_config: str | None = None) -> Selection:
    """The models, config and policy files of the `base` revision (see
    `modelseal.basepolicy`); policy files read from git are written under `folder`."""
    from modelseal.basepolicy import trusted_targets

    models, side = trusted_targets(list(request.paths), base, folder, base_config)
    return Selection(_finish(models, request), side.config, side.watched, list(side.notices))


def _finish(models: list[ModelTarget], request: ModelRequest) -> list[ModelTarget]:
    if request.signature is not None and len(models) != 1:
        raise UsageError("--signature names one bundle; pass exactly one model path with it")
    if request.ignore:
        models = [model.with_ignores(request.ignore) for model in models]
    return models
