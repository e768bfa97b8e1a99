"""The `check`, `manifest` (refresh) and `digest` use cases: committed manifests
against the files on disk.

Each takes the models to work on (`ModelRequest`) and how to hash them (`HashRun`)
and returns plain data: a status per model, the models that could not be handled,
and (for a whole-repository check) the weight files no tracked model covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from modelseal.app.selection import ModelRequest, Selection
from modelseal.engine import HashRun, ManifestStatus, ModelFailure
from modelseal.errors import EXIT_USAGE
from modelseal.targets import ModelTarget


@dataclass(frozen=True)
class CheckResult:
    """Manifests compared with the files (or, for `refresh`, written).

    ``untracked`` maps a directory to the weight files in it that no model covers
    (only when the whole repository was checked); under ``strict`` they fail the check.
    """

    statuses: list[ManifestStatus]
    failures: list[ModelFailure] = field(default_factory=list)
    untracked: dict[str, list[str]] = field(default_factory=dict)
    strict: bool = False
    notices: list[str] = field(default_factory=list)

    @property
    def stale(self) -> list[ManifestStatus]:
        """Missing or stale manifests (that `refresh` did not just write)."""
        return [status for status in self.statuses if status.stale and not status.written]

    @property
    def failed(self) -> bool:
        """A manifest is missing or stale, or (strict) a weight file is in no model."""
        return bool(self.stale) or (self.strict and bool(self.untracked))

    @property
    def ok(self) -> bool:
        return not self.failed and not self.failures


@dataclass(frozen=True)
class DigestResult:
    """A model's root digest (``sha256:<hex>``, as OMS tools compute it)."""

    target: ModelTarget
    digest: str
    files: int


def check_model(target: ModelTarget, run: HashRun | None = None) -> ManifestStatus:
    """One model's committed manifest against its files; writes nothing."""
    from modelseal.engine import check_target

    return check_target(target, run or HashRun())


def refresh_model(target: ModelTarget, run: HashRun | None = None) -> ManifestStatus:
    """Write one model's manifest when it is missing, stale or not canonical."""
    from modelseal.engine import refresh_target

    return refresh_target(target, run or HashRun())


def check(request: ModelRequest | None = None, run: HashRun | None = None, *,
          base: str | None = None, base_config: str | None = None) -> CheckResult:
    """Check the requested models; with ``base`` (and no config named), which models and
    how they are hashed come from the config at that revision."""
    from modelseal import engine, weights
    from modelseal.app.policies import PolicySource

    request = request or ModelRequest()
    PolicySource(request.config, base, base_config).check()
    chosen = _models_at(base, request, base_config)
    statuses, failures = _split(engine.check_all(chosen.models, run or HashRun()))
    config = chosen.config
    # with no PATH the whole repository is checked: weights no model covers are named too
    untracked = ({} if request.paths or config is None
                 else weights.untracked_weight_dirs(config.root,
                                                    [m.path for m in chosen.models]))
    return CheckResult(statuses, failures, {d: list(n) for d, n in untracked.items()},
                       bool(config and config.policy.strict), chosen.notices)


def refresh(request: ModelRequest | None = None, run: HashRun | None = None) -> CheckResult:
    """Write every requested model's manifest that is missing, stale or not canonical."""
    from modelseal import engine
    from modelseal.app.selection import work_tree_models

    models = work_tree_models(request or ModelRequest()).models
    statuses, failures = _split(engine.refresh_all(models, run or HashRun()))
    return CheckResult(statuses, failures)


def digest(request: ModelRequest, run: HashRun | None = None) -> DigestResult:
    """The root digest of the first requested model."""
    from modelseal.app.selection import work_tree_models
    from modelseal.engine import scan_target

    target = work_tree_models(request).models[0]
    scan = scan_target(target, run or HashRun())
    return DigestResult(target, f"sha256:{scan.manifest.root_digest}", len(scan.listing.files))


def _models_at(base: str | None, request: ModelRequest, base_config: str | None) -> Selection:
    from modelseal.app import policies, selection

    if base is None or request.config is not None:
        return selection.work_tree_models(request)
    with policies.policy_folder() as folder:
        return selection.base_models(request, base, folder, base_config)


def _split(results: Sequence[ManifestStatus | ModelFailure]
           ) -> tuple[list[ManifestStatus], list[ModelFailure]]:
    failures = [result for result in results if isinstance(result, ModelFailure)]
    return [r for r in results if not isinstance(r, ModelFailure)], failures


def check_path(path: str | Path) -> CheckResult:
    """One model's committed manifest against its files (hashed as the nearest
    `.modelseal.yaml` says); a model that cannot be checked at all raises."""
    from modelseal.errors import CheckFailed, UsageError

    result = check(ModelRequest(paths=(str(path),)))
    for failure in result.failures:
        raise (UsageError if failure.exit_code == EXIT_USAGE else CheckFailed)(failure.message)
    return result
