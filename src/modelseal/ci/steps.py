"""The action's steps: sign, verify, check, report (and relay for fork pull requests).

Each step runs `modelseal` commands (see `commands`), then reports through the
runner protocol: step outputs, the job summary, annotations, the exit status.
Every output is always set (empty when it does not apply), so workflows can test
them without guarding against a missing value.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelseal import console
from modelseal.ci import commands, publish
from modelseal.ci.inputs import ActionInputs
from modelseal.ci.runner import Context, annotate
from modelseal.ci.step import Step, StepResult
from modelseal.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ModelsealError,
    UsageError,
    printable,
)
from modelseal.gitrepo import commit_exists
from modelseal.untrusted import UnsafeJson, loads_json
from modelseal.words import plural

if TYPE_CHECKING:
    from modelseal.app.selection import ModelRequest
    from modelseal.app.verify import VerifyRequest
    from modelseal.report.model import Report
    from modelseal.signing import Signer

OUTPUTS = ("verified", "report-path", "report-json", "signatures", "signed", "commit",
           "release-assets", "upload-paths", "relay-path")
MAX_JSON_BYTES = 64 * 1024 * 1024
_GOOD_STATES = frozenset({"verified", "signed-unchanged"})

OIDC_MISSING = (
    "keyless signing needs the workflow's OIDC token, but ACTIONS_ID_TOKEN_REQUEST_URL is "
    "not set. Give the signing job `permissions: id-token: write` (and `contents: read`). ")
OIDC_FORK = (
    "This is a pull request from a fork: GitHub never issues an OIDC token to those runs, "
    "so sign after merge instead (on push to the default branch, see "
    "examples/github/sign.yml) and verify on pull requests.")


def run(step: Step) -> int:
    """Run the step named by ``inputs.command``; set every output; return the exit code."""
    handlers = {"sign": sign, "verify": verify, "report": verify, "check": check,
                "relay": relay}
    result = StepResult()
    try:
        result = handlers[step.inputs.command](step)
    except ModelsealError as exc:
        annotate("error", str(exc), title=f"modelseal {step.inputs.command}")
        raise
    finally:
        for name in OUTPUTS:
            step.files.set_output(name, result.outputs.get(name, ""))
    return result.exit_code


# --- sign --------------------------------------------------------------------------


def output_lines(items: Sequence[str]) -> str:
    """A list output: one item per line, each escaped, so no name can add a line."""
    return "\n".join(printable(item) for item in items)


def require_oidc(ctx: Context, env: Mapping[str, str]) -> None:
    """Fail clearly when the job cannot get an OIDC token for keyless signing."""
    if ctx.oidc_available or env.get("SIGSTORE_ID_TOKEN"):
        return
    message = OIDC_MISSING + (OIDC_FORK if ctx.is_fork_pull_request else
                              "Pull requests from forks never get one: sign on push instead.")
    raise UsageError(message)


def load_json(text: str, what: str) -> Any:
    if len(text) > MAX_JSON_BYTES:
        raise UsageError(f"{what} is larger than {MAX_JSON_BYTES} bytes")
    try:
        return loads_json(text)
    except UnsafeJson as exc:
        raise UsageError(f"{what}: {exc}") from None


@dataclass(frozen=True)
class ModelStatus:
    """One model as the sign step found it before signing."""

    path: str
    signature: str
    verified: bool


def workspace_relative(path: str, ctx: Context) -> str:
    """A path as it appears in the repository (for outputs, commits and assets)."""
    full = Path(path) if Path(path).is_absolute() else ctx.workspace / path
    try:
        return full.resolve().relative_to(ctx.workspace.resolve()).as_posix()
    except ValueError:
        return str(full)


def presign_inputs(inputs: ActionInputs, ctx: Context) -> ActionInputs:
    """The policy that decides whether a model is already signed: the inputs' signer
    overrides when given, else this very workflow (repository, workflow file, ref)."""
    policy = inputs.policy
    if policy.identity or policy.identity_regex or policy.repository or policy.workflow \
            or policy.ref or not ctx.workflow_path:
        return inputs
    current = replace(policy, repository=ctx.repository, workflow=ctx.workflow_path,
                      ref=ctx.ref)
    return replace(inputs, policy=current)


def sign(step: Step) -> StepResult:
    """Sign every model whose signature is missing or no longer matches; publish them.

    `oci://` and `ollama://` paths are checked and signed in the registry (registry_refs);
    the local paths (or, with none given, the configured models) as before.
    """
    from modelseal.ci import registry_refs

    local, references = registry_refs.split_paths(step.inputs.paths)
    require_oidc(step.ctx, step.env)
    if step.inputs.commit:
        publish.require_branch(step.ctx)  # before signing, not after
    presign = presign_inputs(step.inputs, step.ctx)
    result = StepResult(EXIT_OK, {"verified": "true"})
    if local or not references:
        result = sign_local(replace(step, inputs=replace(step.inputs, paths=local)),
                            replace(presign, paths=local))
    if result.exit_code != EXIT_OK or not references:
        return result
    try:
        done = registry_refs.sign_references(step, presign, references)
    except registry_refs.SigningFailed as failed:
        annotate("error", f"{failed.reference}: could not be checked or signed (see the log "
                          "above)", title="modelseal sign")
        return StepResult(failed.exit_code, {**result.outputs, "verified": "false"})
    step.files.add_summary(registry_refs.sign_summary(done))
    signed = [line for line in result.outputs.get("signed", "").split("\n") if line]
    signed += [printable(r.reference) for r in done if r.signed_now]
    return StepResult(EXIT_OK, {**result.outputs, "signed": "\n".join(signed)})


def sign_local(step: Step, presign: ActionInputs) -> StepResult:
    """Sign the local models that need it: one scan per model decides and signs (in
    this process, which is the installed modelseal; the inputs' paths are relative to
    the workspace)."""
    with _working_directory(step.ctx.workspace):
        return _sign_local(step, presign)


def _sign_local(step: Step, presign: ActionInputs) -> StepResult:
    from modelseal.app import sign_pending
    from modelseal.app.sign import SignOptions, StaleModels

    options = SignOptions(progress=False)
    try:
        found = sign_pending.find_unsigned(_model_request(presign),
                                           _presign_request(presign), options)
    except ModelsealError as exc:
        console.error(exc)
        return StepResult(exc.exit_code)
    for notice in found.notices:
        console.notice(notice)
    statuses = [ModelStatus(m.status.target.display, str(m.signature_path), m.verified)
                for m in found.models]
    pending = [s for s in statuses if not s.verified]
    for done in (s for s in statuses if s.verified):
        console.say(f"{done.path}: signature already verifies and covers the files; "
                    "not re-signing")
    try:
        signed = sign_pending.sign_unsigned(found.pending, lambda: _keyless(step.inputs), options)
    except ModelsealError as exc:
        if isinstance(exc, StaleModels):
            console.print_stale(exc.statuses)
        console.error(exc)
        return StepResult(exc.exit_code, {"verified": "false"})
    for model in signed:
        console.print_signed(model.model, model.method)
    signatures = [workspace_relative(s.signature, step.ctx) for s in statuses]
    new = [workspace_relative(s.signature, step.ctx) for s in pending]
    outputs = {"verified": "true", "signatures": output_lines(signatures),
               "signed": output_lines(new),
               "upload-paths": output_lines(signatures) if step.inputs.upload else ""}
    outputs.update(publish_signatures(step, signatures, new, [s.path for s in pending]))
    step.files.add_summary(sign_summary(statuses, pending, outputs))
    return StepResult(EXIT_OK, outputs)


def _model_request(inputs: ActionInputs) -> ModelRequest:
    from modelseal.app.selection import ModelRequest

    return ModelRequest(paths=inputs.paths, config=Path(inputs.config) if inputs.config else None)


def _presign_request(inputs: ActionInputs) -> VerifyRequest:
    """The policy that decides whether a model is already signed (see `presign_inputs`):
    the config's, with the inputs' signer overrides on top, as `verify` would apply."""
    from modelseal.app.policies import PolicyRequest, PolicySource
    from modelseal.app.verify import VerifyRequest
    from modelseal.policy import PolicyFlags

    policy = inputs.policy
    flags = PolicyFlags(identity=policy.identity or None,
                        identity_regex=policy.identity_regex or None,
                        issuer=policy.issuer or None, repository=policy.repository or None,
                        workflow=policy.workflow or None, ref=policy.ref or None,
                        strict=bool(policy.strict))
    config = Path(inputs.config) if inputs.config else None
    return VerifyRequest(source=PolicySource(config=config), policy=PolicyRequest(flags),
                         trust_config=Path(inputs.trust_config) if inputs.trust_config else None)


def _keyless(inputs: ActionInputs) -> Signer:
    """Keyless signing with the workflow's ambient OIDC identity."""
    from modelseal.app.sign import signer_for
    from modelseal.signing_methods import SignerRequest

    trust = Path(inputs.trust_config) if inputs.trust_config else None
    return signer_for(SignerRequest(method="sigstore", trust_config=trust))


def publish_signatures(step: Step, signatures: list[str], new: list[str],
                       models: list[str]) -> dict[str, str]:
    """Commit and/or attach to a release, as the inputs ask."""
    outputs: dict[str, str] = {}
    if step.inputs.commit:
        pushed = publish.commit_signatures(new, models, step.ctx, step.token) if new else None
        if pushed is None:
            console.say("commit: no signature changed; nothing to push")
        else:
            console.say(f"commit: pushed {pushed.commit[:12]} to {pushed.branch}")
            outputs["commit"] = pushed.commit
    if step.inputs.release:
        if step.ctx.release is None:
            annotate("notice", f"input release only acts on release events; this is a "
                               f"{step.ctx.event_name or 'local'} run", title="modelseal")
        else:
            urls = publish.attach_to_release(signatures, step.ctx, step.token)
            outputs["release-assets"] = output_lines(urls)
            console.say(f"release: attached {plural(len(urls), 'signature')}")
    return outputs


def sign_summary(statuses: list[ModelStatus], pending: list[ModelStatus],
                 outputs: Mapping[str, str]) -> str:
    """The job summary of a sign step: one row per model."""
    from modelseal.report.escape import code_span

    pending_paths = {s.path for s in pending}
    rows = [f"| {code_span(s.path)} | "
            f"{'signed now' if s.path in pending_paths else 'unchanged, kept'} "
            f"| {code_span(s.signature)} |" for s in statuses]
    lines = ["## modelseal: signatures", "",
             f"Signed {len(pending)} of {plural(len(statuses), 'model')} with this workflow's "
             "identity (Sigstore keyless).", "", "| model | result | signature |",
             "|---|---|---|", *rows]
    if outputs.get("commit"):
        lines += ["", f"Pushed in commit {code_span(outputs['commit'][:12])}."]
    return "\n".join(lines) + "\n"


# --- verify and report -------------------------------------------------------------


def base_revision(step: Step) -> str | None:
    """What the pull request (or push) is compared against, when it is in the checkout.

    A pull request's policy and model list are read from its base, so without the base
    commit there is nothing trusted to check it against: that is an error, not a
    warning (the head's own config must not stand in for it).
    """
    base = step.inputs.base or step.ctx.base_sha
    if base and not commit_exists(step.ctx.workspace, base):
        if step.ctx.is_pull_request:
            raise UsageError(f"the pull request's base commit {base} is not in the checkout: "
                             "the signer policy and the models to check are read from it. "
                             "Use actions/checkout with fetch-depth: 0")
        annotate("warning", f"base commit {base} is not in the checkout, so the report cannot "
                            "say what changed; use actions/checkout with fetch-depth: 0",
                 title="modelseal")
        return None
    return base


def is_verified(report: Report) -> bool:
    """True when every model's signature verifies and covers its current files."""
    return bool(report.models) and all(m.state.value in _GOOD_STATES for m in report.models)


def verify(step: Step) -> StepResult:
    """Report on every model; summary, comment and outputs; fail per the policy.

    `oci://` and `ollama://` paths are verified in the registry (registry_refs);
    a reference that does not verify fails the step, even for `command: report`.
    """
    from modelseal.ci import registry_refs

    local, references = registry_refs.split_paths(step.inputs.paths)
    if not references:
        return verify_local(step)
    # the policy comes from the base commit, as for the local models' report
    results = registry_refs.verify_references(step, references, base_revision(step))
    step.files.add_summary(registry_refs.summary(results))
    result = verify_local(replace(step, inputs=replace(step.inputs, paths=local))) if local \
        else StepResult(EXIT_OK, {"verified": "true"})
    if not all(r.ok for r in results):
        annotate("error", "a registry model did not verify: " + ", ".join(
            r.reference for r in results if not r.ok), title="modelseal")
        result = StepResult(EXIT_FAILED, {**result.outputs, "verified": "false"})
    return result


def verify_local(step: Step) -> StepResult:
    """Report on the local models (one hashing pass), as `modelseal report` sees them.

    The report is built in this process (`app.report`, in the workspace; this process
    never imports from it, see launch.py), written once as the report-json output, and
    each format is rendered once from it; the comment is posted with that markdown.
    """
    from modelseal.report.model import Verdict
    from modelseal.report.render import render

    report_json = step.out_dir / "report.json"
    report_json.unlink(missing_ok=True)
    report = build_report(step, base_revision(step), report_json)
    if report is None:
        annotate("error", "modelseal could not build the report (see the log above)",
                 title=f"modelseal {step.inputs.command}")
        return StepResult(EXIT_USAGE, {"verified": "false"})
    markdown = render(report, "markdown")
    report_md = step.out_dir / "report.md"
    report_md.write_text(markdown, encoding="utf-8")
    step.files.add_summary(render(report, "github-summary"))
    outputs = {"verified": "true" if is_verified(report) else "false",
               "report-path": str(report_md), "report-json": str(report_json),
               "signatures": output_lines(existing_signatures(report, step.ctx))}
    outputs.update(post_comment(step, report, markdown))
    failed = report.verdict is Verdict.FAIL
    if failed:
        annotate("error", report.summary or "model verification failed", title="modelseal")
    exit_code = EXIT_FAILED if failed and step.inputs.command == "verify" else EXIT_OK
    return StepResult(exit_code, outputs)


def build_report(step: Step, base: str | None, report_json: Path) -> Report | None:
    """`modelseal report --format json --output REPORT_JSON`, run in-process; None (the
    error printed as the command prints it) when it cannot be built."""
    from modelseal.app import report as app_report
    from modelseal.fsio import atomic_write_text
    from modelseal.report.render import render

    argv = commands.report_argv(step.inputs, base, report_json)
    console.say(f"$ {commands.display(argv)}")
    try:
        with _working_directory(step.ctx.workspace):
            built = app_report.build(commands.report_request(step.inputs, base))
    except ModelsealError as exc:
        _say([f"modelseal: error: {exc}"])
        return None
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        _say([f"modelseal: error: {exc.strerror or exc}{where}"])
        return None
    _say([f"modelseal: notice: {notice}" for notice in built.notices])
    atomic_write_text(report_json, render(built.report, "json"))
    return built.report


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    """The report's paths are relative to the workspace, as for the command run there."""
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def existing_signatures(report: Report, ctx: Context) -> list[str]:
    """The signature files present beside the reported models."""
    found = []
    for model in report.models:
        if model.reference is not None:  # a registry model: no file beside it
            continue
        base = ctx.workspace / model.path
        candidate = base / "model.sig" if base.is_dir() else base.with_name(base.name + ".sig")
        if candidate.is_file():
            found.append(workspace_relative(str(candidate), ctx))
    return found


def wants_comment(mode: str, ctx: Context) -> bool:
    """``auto`` comments on pull requests; ``true`` always tries; ``false`` never."""
    if mode == "false":
        return False
    if not ctx.is_pull_request:
        if mode == "true":
            annotate("notice", "comment: true, but this run is not for a pull request; "
                               "nothing to comment on", title="modelseal")
        return False
    return True


RELAY_ARTIFACT = "modelseal-comment"


def post_comment(step: Step, report: Report, markdown: str) -> dict[str, str]:
    """Post or update the sticky comment; when the token may not, prepare the relay.

    What happened comes back as data (`app.comment.CommentOutcome`).
    """
    from modelseal.app import comment
    from modelseal.forge.env import github_context

    if not wants_comment(step.inputs.comment, step.ctx):
        return {}
    relay_dir = step.out_dir / "relay"
    shutil.rmtree(relay_dir, ignore_errors=True)
    try:
        outcome = comment.post_github(markdown, report, comment.Poster(), relay_dir,
                                      github_context(step.env, event=step.ctx.event))
    except ModelsealError as exc:
        console.error(exc)
        annotate("warning", "could not post the pull request comment (see the log above); "
                            "the report is in the job summary", title="modelseal")
        return {}
    _say(outcome.messages())
    if outcome.action != comment.RELAYED:
        return {}
    why = ("pull requests from forks get a read-only token" if step.ctx.is_fork_pull_request
           else "the token may lack `permissions: pull-requests: write`")
    annotate("notice", f"the pull request comment was not posted ({why}); the report is "
                       f"in the job summary and in the {RELAY_ARTIFACT} artifact, which "
                       "the workflow_run relay (examples/github/modelseal-comment.yml) "
                       "posts", title="modelseal")
    return {"relay-path": str(outcome.folder)}


# --- check and relay ---------------------------------------------------------------


def check(step: Step) -> StepResult:
    """Fail when a manifest is missing or stale."""
    done = step.modelseal(commands.check_argv(step.inputs, base_revision(step)))
    verdict = "all manifests match their files" if done.returncode == EXIT_OK else \
        "a manifest is missing or stale: run `modelseal manifest` and commit it"
    step.files.add_summary(f"## modelseal check\n\n{verdict}\n")
    if done.returncode == EXIT_FAILED:
        annotate("error", verdict, title="modelseal check")
    return StepResult(done.returncode)


def relay(step: Step) -> StepResult:
    """Post the comment a fork's verify run could not (workflow_run event)."""
    from modelseal.app import comment
    from modelseal.forge import relay as relay_files

    # a relative artifact-path is the workspace's, as for the commands run there
    given = step.inputs.artifact_path or step.env.get("RUNNER_TEMP", ".")
    directory = step.ctx.workspace / given
    report_json = directory / relay_files.REPORT
    if not report_json.is_file():  # no artifact: the verify run posted its comment itself
        console.say(f"relay: no {report_json}; the verify run posted its comment itself")
        return StepResult()
    console.say(f"$ {commands.display(commands.relay_argv(directory))}")
    _say(comment.post_relayed(directory, comment.Poster(), event=step.ctx.event).messages())
    return StepResult()


def _say(lines: Sequence[str]) -> None:
    """A use case's messages, on stderr as the CLI prints them (escaped)."""
    console.say_lines(lines, err=True)
