"""The `modelseal` command lines the action runs, built from its inputs.

Each builder is a pure function of the inputs, so tests can check exactly what a
given `with:` block makes the action do. `run_modelseal` runs one in a child
process of the same interpreter: the CLI contract is the interface, and exit
codes mean what they mean on the command line. The child runs in the workspace,
the repository under judgement, so it is started by `modelseal.launch`, never
by module name (-m), which would import a `modelseal/` committed there.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from modelseal import console
from modelseal.ci.inputs import ActionInputs, Policy
from modelseal.launch import python_argv

if TYPE_CHECKING:
    from modelseal.app.report import ReportRequest


@dataclass(frozen=True)
class Completed:
    """A finished `modelseal` run: exit status and, when captured, its stdout."""

    returncode: int
    stdout: str = ""


def option(flag: str, value: str) -> str:
    """``--flag=value``: a value starting with ``-`` cannot pass for an option."""
    return f"{flag}={value}"


def config_args(inputs: ActionInputs, base: str | None = None) -> list[str]:
    """The config input: with a base (a pull request), the file at that path in the base
    revision, never the one in the checked-out head."""
    if not inputs.config:
        return []
    return [option("--base-config" if base else "--config", inputs.config)]


def base_args(base: str | None) -> list[str]:
    return [option("--base", base)] if base else []


def trusted_file_args(policy: Policy) -> list[str]:
    """The keys and certificate-roots inputs, as given (`report` reads them)."""
    args = [option("--key-list", policy.keys)] if policy.keys else []
    if policy.certificate_roots:
        args.append(option("--cert-chain-list", policy.certificate_roots))
    return args


def path_args(paths: Sequence[str]) -> list[str]:
    """Model paths, last and after ``--``, so no input can pass for an option."""
    return ["--", *paths] if paths else []


def policy_args(policy: Policy) -> list[str]:
    """The verify policy flags for the overrides that were given."""
    args: list[str] = []
    for flag, value in (("--identity", policy.identity),
                        ("--identity-regex", policy.identity_regex),
                        ("--issuer", policy.issuer), ("--repository", policy.repository),
                        ("--workflow", policy.workflow), ("--ref", policy.ref)):
        if value:
            args.append(option(flag, value))
    if policy.strict:
        args.append("--strict")
    return args


def trust_args(inputs: ActionInputs) -> list[str]:
    return [option("--trust-config", inputs.trust_config)] if inputs.trust_config else []


def check_argv(inputs: ActionInputs, base: str | None = None) -> list[str]:
    """`check`; with a base, of the models the base's config lists (and how it hashes)."""
    return ["check", *base_args(base), *config_args(inputs, base), "--no-progress",
            *path_args(inputs.paths)]


def verify_argv(inputs: ActionInputs) -> list[str]:
    """`verify --format json`: the per-model status the sign step needs."""
    return ["verify", *config_args(inputs), *policy_args(inputs.policy), *trust_args(inputs),
            "--no-progress", "--format", "json", *path_args(inputs.paths)]


def sign_argv(inputs: ActionInputs, paths: Sequence[str]) -> list[str]:
    """Keyless signing of ``paths`` with the workflow's ambient OIDC identity."""
    return ["sign", *config_args(inputs), "--method", "sigstore", *trust_args(inputs),
            "--no-progress", *path_args(paths)]


def report_argv(inputs: ActionInputs, base: str | None, output: Path) -> list[str]:
    """The JSON report (the one hashing pass); the step renders markdown and summary from
    it and posts the comment in-process (app.comment)."""
    return ["report", *config_args(inputs, base), *base_args(base),
            *policy_args(inputs.policy), *trusted_file_args(inputs.policy),
            *trust_args(inputs), "--no-progress", "--format", "json",
            option("--output", str(output)), *path_args(inputs.paths)]


def relay_argv(directory: Path) -> list[str]:
    """The `comment --relay` command the relay step runs in-process (shown in the log):
    post a report relayed from a fork's run (checks it is for the PR's head)."""
    return ["comment", "--github", option("--relay", str(directory))]


def report_request(inputs: ActionInputs, base: str | None) -> ReportRequest:
    """What `report_argv` asks for, as the typed request the step builds in-process
    (`app.report`); tests pin that the two agree."""
    from modelseal.app.policies import PolicyRequest
    from modelseal.app.report import ReportRequest
    from modelseal.app.selection import ModelRequest
    from modelseal.policy import PolicyFlags

    policy = inputs.policy
    flags = PolicyFlags(
        identity=policy.identity or None, identity_regex=policy.identity_regex or None,
        issuer=policy.issuer or None, repository=policy.repository or None,
        workflow=policy.workflow or None, ref=policy.ref or None, strict=bool(policy.strict))
    config = inputs.config or None
    return ReportRequest(
        models=ModelRequest(paths=tuple(inputs.paths),
                            config=Path(config) if config and not base else None),
        policy=PolicyRequest(flags, key_lists=(policy.keys,) if policy.keys else (),
                             certificate_root_lists=((policy.certificate_roots,)
                                                     if policy.certificate_roots else ())),
        named=bool(inputs.paths), base=base or None,
        base_config=config if base else None,
        trust_config=Path(inputs.trust_config) if inputs.trust_config else None,
        progress=False)


def display(argv: Sequence[str]) -> str:
    """The command line as a user would type it (for the step log)."""
    return "modelseal " + shlex.join(argv)


def run_modelseal(argv: Sequence[str], *, cwd: Path, capture: bool = False,
                  env: Mapping[str, str] | None = None) -> Completed:
    """Run ``modelseal ARGV`` with this interpreter (the installed modelseal, whatever
    ``cwd`` holds); stderr always goes to the log."""
    console.say(f"$ {display(argv)}")
    proc = subprocess.run([*python_argv(sys.executable), *argv], cwd=cwd,
                          stdout=subprocess.PIPE if capture else None, text=True,
                          env=dict(env) if env is not None else None, check=False)
    sys.stdout.flush()
    return Completed(proc.returncode, proc.stdout or "")
