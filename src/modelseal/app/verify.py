"""The `verify` use case for model directories and files (stores and registry
references are `app.stores` / `app.registry`).

The models come from the work tree, or with `base` from the config at that revision
(the trusted side of a pull request); the policy from the trusted config with the
request's flags on top. Returns every model's result and the notices for the user
(a trusted-root fallback, a config read from the base); nothing is printed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal.app.policies import PolicyRequest, PolicySource
from modelseal.app.selection import ModelRequest
from modelseal.errors import UsageError

if TYPE_CHECKING:
    from modelseal.policy import Policy, PolicyFlags
    from modelseal.targets import ModelTarget
    from modelseal.verifying import VerificationResult, VerifyOptions


@dataclass(frozen=True)
class VerifyRequest:
    """How to verify: where the policy comes from (`source`: --config, --base), the
    policy flags, and the verification options of `modelseal verify`."""

    source: PolicySource = field(default_factory=PolicySource)
    policy: PolicyRequest = field(default_factory=PolicyRequest)
    ignore_unsigned_files: bool = False
    offline: bool = False
    trust_config: Path | None = None
    progress: bool | None = None
    allow_unsigned: bool = False


@dataclass(frozen=True)
class VerifyOutcome:
    """Every model's result, and notices for the user."""

    results: list[VerificationResult]
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)


def verify_directories(models: ModelRequest, request: VerifyRequest) -> VerifyOutcome:
    """Verify the requested models; see the module docstring."""
    from modelseal import verifying
    from modelseal.app import policies, selection

    if request.allow_unsigned and request.policy.flags.strict:
        raise UsageError("--allow-unsigned and --strict contradict each other; pass one")
    source = request.source
    with policies.policy_folder() as folder:
        source.check()
        if source.base is None or source.config is not None:
            chosen = selection.work_tree_models(models)
        else:
            chosen = selection.base_models(models, source.base, folder, source.base_config)
        policy = policies.verify_policy(request.policy, source.base, chosen.config, folder)
        trust_config, _ = policies.trust_config_file(request.trust_config, source.base, folder)
        options = verifying.VerifyOptions(
            policy=policy, signature=models.signature,
            ignore_unsigned_files=request.ignore_unsigned_files, offline=request.offline,
            trust_config=trust_config, progress=request.progress,
            allow_unsigned=request.allow_unsigned)
        outcome = verify_models(chosen.models, options)
    return VerifyOutcome(outcome.results, [*chosen.notices, *outcome.notices])


def verify_models(targets: Sequence[ModelTarget], options: VerifyOptions) -> VerifyOutcome:
    """Verify these models with one verifier (keys, roots, trusted root loaded once)."""
    from modelseal.verifying import verify_targets

    results, notices = verify_targets(targets, options)
    return VerifyOutcome(results, list(notices))


def policy_from_flags(flags: PolicyFlags) -> Policy:
    """A policy from flags alone (no config): keys, roots, keyless signer rules, time."""
    from modelseal.policy import build_policy

    return build_policy(None, flags)


def verify_path(path: str | Path, policy: Policy, *, signature: str | Path | None = None,
                offline: bool = False, ignore_unsigned_files: bool = False
                ) -> VerificationResult:
    """Verify one model directory or file against ``policy`` (no config is read: the
    policy is the caller's). A model that does not verify, or has no signature, is a
    result with ``ok`` False; a missing path or an unusable policy raises."""
    from modelseal.config import HashOptions
    from modelseal.errors import ModelPathError
    from modelseal.policy import Policy as PolicyType
    from modelseal.policy import validate_rule
    from modelseal.targets import ModelTarget
    from modelseal.verifying import VerifyOptions

    if not isinstance(policy, PolicyType):
        raise UsageError(f"policy must be a modelseal.Policy, not {type(policy).__name__}")
    for number, rule in enumerate(policy.signers, start=1):
        # as the config and the flags are checked: an identity needs its issuer, a
        # regex must compile, shorthands must be well formed
        validate_rule(rule, f"policy signer {number}")
    model = Path(path)
    if not model.exists():
        raise ModelPathError(f"model path {model} does not exist")
    options = VerifyOptions(policy=policy, signature=Path(signature) if signature else None,
                            ignore_unsigned_files=ignore_unsigned_files, offline=offline,
                            progress=False)
    [result] = verify_models([ModelTarget(model, HashOptions())], options).results
    return result
