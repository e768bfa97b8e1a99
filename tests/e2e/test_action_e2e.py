"""The GitHub Action end to end, on the simulated runner (tests/gha_runner.py).

Real git repositories (a bare ``origin`` and per-job clones), the real modelseal CLI,
keyless signing against the local Sigstore stack through the runner's
``ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN``, comments against the loopback GitHub API
(tests/forge_servers.py) and release assets against a loopback uploads server.

Shortcut (see gha_runner): ``MODELSEAL_ACTION_PYTHON`` makes the action use this
interpreter instead of creating a venv and pip-installing modelseal from the action
directory; the install path itself is covered by ``test_action_installs_into_a_venv``
(it pip-installs from the package index, as the real action does).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.action_project import (
    LOCAL,
    READ,
    REPO,
    ROOT_ACTION,
    SHORTCUT,
    SIGN_ACTION,
    VERIFY_ACTION,
    WRITE,
    Project,
    git,
    modelseal,
    oidc_env,
    policy,
    run,
)
from tests.action_project import project as project  # the fixture
from tests.forge_servers import ForgeState, GitHubHandler, serve
from tests.gha_runner import (
    REPO_ROOT,
    ActionRun,
    CompositeRunner,
    Job,
    parse_file_commands,
    pull_request_event,
    push_event,
    release_event,
    release_server,
    run_workflow_job,
    workflow_run_event,
)
from tests.sigstore_stack.fixture import SigstoreStack
from tests.sigstore_stack.fixture import sigstore_stack as _stack_fixture  # noqa: F401


def sign_on_push(project: Project, stack: SigstoreStack, name: str = "sign",
                 **with_: str) -> tuple[Job, ActionRun]:
    workspace = project.clone(name)
    before = git(workspace, "rev-parse", "HEAD~1") if git(
        workspace, "rev-list", "--count", "HEAD") != "1" else "0" * 40
    event = push_event(REPO, before, git(workspace, "rev-parse", "HEAD"))
    job = project.job(name, workspace, "push", event, extra_env=oidc_env(stack))
    local = {"trust-config": str(stack.trust_config), "issuer": stack.issuer}
    return job, run(SIGN_ACTION, job, **{**local, **with_})


@pytest.fixture
def stack(sigstore_stack: SigstoreStack) -> SigstoreStack:
    """The session's local Sigstore stack, under a short name."""
    return sigstore_stack


@pytest.fixture
def github() -> Iterator[ForgeState]:
    state = ForgeState(tokens={WRITE: "write", READ: "read"})
    with serve(GitHubHandler, state) as served:
        yield served


def open_pull_request(project: Project, number: int, *, fork: bool = False,
                      change_weights: bool = True) -> tuple[Path, dict[str, object]]:
    """A contributor's branch; returns the PR job's workspace (at the head) and the event."""
    work = project.clone(f"contributor-{number}")
    git(work, "checkout", "--quiet", "-b", "change-weights")
    if change_weights:
        weights = work / "models" / "tiny" / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:-4] + b"\x01\x02\x03\x04")
        modelseal(work, "manifest")
    else:
        (work / "NOTES.md").write_text("docs only\n")
    git(work, "add", ".")
    git(work, "commit", "--quiet", "-m", "change")
    git(work, "push", "--quiet", "origin", f"HEAD:refs/pull/{number}/head")
    head, base = git(work, "rev-parse", "HEAD"), project.head()
    workspace = project.clone(f"pr-{number}", ref=head)
    event = pull_request_event(REPO, number, base, head,
                               head_repo="mallory/models" if fork else None)
    return workspace, event


# --- sign ----------------------------------------------------------------------------------


def test_sign_on_push_commits_uploads_and_reports(project: Project, stack: SigstoreStack,
                                                  ) -> None:
    job, result = sign_on_push(project, stack, upload="true", commit="true")
    assert result.succeeded, result.log
    assert result.outputs["signatures"] == "models/tiny/model.sig"
    assert result.outputs["signed"] == "models/tiny/model.sig"
    assert result.outputs["verified"] == "true"
    bundle = json.loads((job.workspace / "models/tiny/model.sig").read_text())
    assert bundle["mediaType"].startswith("application/vnd.dev.sigstore.bundle")
    # one commit with only the signature, [skip ci], pushed to main
    assert project.head() == result.outputs["commit"]
    assert git(project.origin, "log", "-1", "--format=%s%n%an") == \
        "Sign model: models/tiny [skip ci]\ngithub-actions[bot]"
    assert git(project.origin, "show", "--name-only", "--format=", "main") == \
        "models/tiny/model.sig"
    # the artifact, the summary, the step log
    assert (job.artifact_dir / "modelseal-signatures" / "model.sig").read_bytes() == \
        (job.workspace / "models/tiny/model.sig").read_bytes()
    assert "Signed 1 of 1 model" in result.summary
    assert "`models/tiny` | signed now" in result.summary
    assert result.step("Set up Python for modelseal").outcome == "skipped"

    # a second push with nothing changed re-signs nothing and pushes nothing
    _, again = sign_on_push(project, stack, name="sign-again", commit="true")
    assert again.succeeded, again.log
    assert again.outputs["signed"] == "" and again.outputs["commit"] == ""
    assert again.outputs["signatures"] == "models/tiny/model.sig"
    assert "not re-signing" in again.log
    assert project.head() == result.outputs["commit"]


def test_sign_without_id_token_explains_permissions(project: Project, stack: SigstoreStack,
                                                    ) -> None:
    workspace, event = open_pull_request(project, 9, fork=True)
    job = project.job("fork-sign", workspace, "pull_request", event,
                      ref="refs/pull/9/merge")  # GitHub issues no OIDC token to fork PRs
    result = run(SIGN_ACTION, job, **{"trust-config": str(stack.trust_config)})
    assert not result.succeeded
    step = result.step("Run modelseal")
    assert step.outcome == "failure"
    assert "::error title=modelseal sign::keyless signing needs the workflow's OIDC token" \
        in step.stdout
    assert "permissions: id-token: write" in step.stderr
    assert "This is a pull request from a fork" in step.stderr
    assert not (workspace / "models/tiny/model.sig").exists()
    assert result.step("Upload signatures").outcome == "skipped"


def test_sign_on_release_attaches_the_signatures(project: Project, stack: SigstoreStack,
                                                 ) -> None:
    workspace = project.clone("release")
    git(workspace, "tag", "v1.0")
    with release_server(WRITE) as server:
        event = release_event(REPO, 77, "v1.0", server.base_url)
        job = project.job("release", workspace, "release", event, ref="refs/tags/v1.0",
                          api_url=server.base_url, token=WRITE,
                          extra_env=oidc_env(stack, ref="refs/tags/v1.0"))
        local = {"trust-config": str(stack.trust_config), "issuer": stack.issuer}
        first = run(SIGN_ACTION, job, release="true", **local)
        assert first.succeeded, first.log
        second = run(SIGN_ACTION, job, release="true", **local)
        assert second.succeeded, second.log
    assets = server.assets[77]
    assert [asset["name"] for asset in assets] == ["models-tiny.sig"]  # replaced, not doubled
    assert server.contents[assets[0]["id"]] == (workspace / "models/tiny/model.sig").read_bytes()
    assert ("DELETE", f"/repos/{REPO}/releases/assets/{assets[0]['id'] - 1}") in server.requests
    assert first.outputs["commit"] == ""


# --- verify --------------------------------------------------------------------------------


def test_verify_on_a_pull_request_that_changes_a_weight(project: Project, stack: SigstoreStack,
                                                        github: ForgeState) -> None:
    _, signed = sign_on_push(project, stack, commit="true")
    assert signed.succeeded, signed.log
    workspace, event = open_pull_request(project, 7)
    job = project.job("verify", workspace, "pull_request", event, ref="refs/pull/7/merge",
                      api_url=github.base_url, token=WRITE)
    result = run(VERIFY_ACTION, job, **policy(stack))
    assert result.succeeded, result.log
    assert result.outputs["verified"] == "false"
    assert result.outputs["signatures"] == "models/tiny/model.sig"
    report = json.loads(Path(result.outputs["report-json"]).read_text())
    assert [m["state"] for m in report["models"]] == ["awaiting-signature"]
    comment = github.threads[f"{REPO}#7"][0]["body"]
    assert comment.startswith("<!-- modelseal-report -->")
    assert "models/tiny" in comment and "awaiting signature" in comment
    assert "model.safetensors" in comment
    assert Path(result.outputs["report-path"]).read_text() == comment
    assert "awaiting signature" in result.summary

    # a new push to the PR updates the same comment instead of adding one
    again = run(VERIFY_ACTION, job, **policy(stack))
    assert again.succeeded, again.log
    assert len(github.threads[f"{REPO}#7"]) == 1
    assert [r.method for r in github.writes()] == ["POST", "PATCH"]


def test_verify_passes_when_signed_models_are_unchanged(project: Project, stack: SigstoreStack,
                                                        github: ForgeState) -> None:
    sign_on_push(project, stack, commit="true")
    workspace, event = open_pull_request(project, 11, change_weights=False)
    job = project.job("verify-docs", workspace, "pull_request", event,
                      api_url=github.base_url, token=WRITE)
    result = run(ROOT_ACTION, job, command="verify", **policy(stack))
    assert result.succeeded, result.log
    assert result.outputs["verified"] == "true"
    assert "unchanged" in github.threads[f"{REPO}#11"][0]["body"]
    report = json.loads(Path(result.outputs["report-json"]).read_text())
    assert [m["state"] for m in report["models"]] == ["signed-unchanged"]


def test_verify_fails_on_a_signature_the_policy_rejects(project: Project,
                                                        stack: SigstoreStack) -> None:
    sign_on_push(project, stack, commit="true")
    workspace = project.clone("verify-policy")
    event = push_event(REPO, "0" * 40, git(workspace, "rev-parse", "HEAD"))
    job = project.job("verify-policy", workspace, "push", event)
    result = run(VERIFY_ACTION, job, **{**policy(stack), "repository": "someone/else"})
    assert not result.succeeded
    assert result.outputs["verified"] == "false"
    assert "::error title=modelseal::" in result.step("Run modelseal").stdout
    assert "policy violation" in result.summary


def test_strict_fails_an_unsigned_model_and_report_never_fails(project: Project,
                                                               stack: SigstoreStack) -> None:
    workspace = project.clone("strict")
    job = project.job("strict", workspace, "push", push_event(REPO, "0" * 40, project.head()))
    strict = run(VERIFY_ACTION, job, strict="true", comment="false", **policy(stack))
    assert not strict.succeeded and strict.outputs["verified"] == "false"
    lenient = run(VERIFY_ACTION, job, comment="false", **policy(stack))
    assert lenient.succeeded, lenient.log
    report = run(ROOT_ACTION, job, command="report", strict="true", **policy(stack))
    assert report.succeeded, report.log
    assert "unsigned" in report.summary


def test_check_fails_on_a_stale_manifest(project: Project) -> None:
    workspace = project.clone("check")
    (workspace / "models/tiny/config.json").write_text("{}\n")
    job = project.job("check", workspace, "push", push_event(REPO, "0" * 40, project.head()))
    result = run(ROOT_ACTION, job, command="check")
    assert not result.succeeded
    assert "a manifest is missing or stale" in result.summary
    assert "config.json" in result.step("Run modelseal").stdout


# --- pull requests from forks: 403, then the workflow_run relay ---------------------------


def test_fork_pull_request_comment_goes_through_the_relay(project: Project,
                                                          stack: SigstoreStack,
                                                          github: ForgeState) -> None:
    sign_on_push(project, stack, commit="true")
    workspace, event = open_pull_request(project, 8, fork=True)
    shared = project.root / "run-artifacts"
    job = project.job("fork-verify", workspace, "pull_request", event, api_url=github.base_url,
                      token=READ, artifacts=shared)
    local_stack = {"issuer": stack.issuer, "trust-config": str(stack.trust_config)}
    verify_steps = run_workflow_job(job, REPO_ROOT / "examples/github/verify.yml", "verify",
                                    LOCAL, env=SHORTCUT, extra_with=local_stack)
    assert [s.outcome for s in verify_steps] == ["success"] * 3, verify_steps
    assert github.threads.get(f"{REPO}#8") is None  # 403: nothing posted
    assert [(r.method, r.path) for r in github.writes()] == \
        [("POST", f"/repos/{REPO}/issues/8/comments")]
    assert "the pull request comment was not posted (pull requests from forks get a " \
        "read-only token)" in verify_steps[1].stdout
    relayed = shared / "modelseal-comment"
    assert json.loads((relayed / "pr.json").read_text())["pr"] == 8

    # the relay workflow, in the base repository, with a write token
    head = event["pull_request"]["head"]["sha"]  # type: ignore[index]
    github.pulls[f"{REPO}#8"] = head
    relay_job = project.job("relay", project.clone("relay-empty"), "workflow_run",
                            workflow_run_event(REPO, 4242, head, head_repo="mallory/models"),
                            api_url=github.base_url, token=WRITE, artifacts=shared)
    relay_steps = run_workflow_job(relay_job, REPO_ROOT / "examples/github/modelseal-comment.yml",
                                   "comment", LOCAL, env=SHORTCUT)
    assert [s.outcome for s in relay_steps] == ["success", "success"], relay_steps
    body = github.threads[f"{REPO}#8"][0]["body"]
    assert "models/tiny" in body and "awaiting signature" in body


def test_relay_refuses_a_report_for_another_commit(project: Project, github: ForgeState,
                                                   ) -> None:
    relay_dir = project.root / "artifact"
    relay_dir.mkdir()
    (relay_dir / "report.json").write_text(json.dumps(
        {"kind": "modelseal-report", "schema_version": 1, "models": []}))
    (relay_dir / "pr.json").write_text(json.dumps({"pr": 3, "head_sha": "c" * 40}))
    github.pulls[f"{REPO}#3"] = "d" * 40
    job = project.job("relay-bad", project.clone("relay-bad"), "workflow_run",
                      workflow_run_event(REPO, 1, "d" * 40), api_url=github.base_url,
                      token=WRITE)
    result = run(ROOT_ACTION, job, command="relay", **{"artifact-path": str(relay_dir)})
    assert not result.succeeded
    assert "not posting" in result.step("Run modelseal").stderr
    assert github.threads.get(f"{REPO}#3") is None


# --- outputs and the real install path ----------------------------------------------------


def test_outputs_are_always_set(project: Project) -> None:
    workspace = project.clone("outputs")
    job = project.job("outputs", workspace, "push", push_event(REPO, "0" * 40, project.head()))
    result = run(ROOT_ACTION, job, command="check")
    raw = result.step("Run modelseal").outputs
    assert {"verified", "report-path", "report-json", "signatures", "signed", "commit",
            "upload-paths", "relay-path"} <= set(raw)
    assert parse_file_commands("a<<X\n1\n2\nX\n") == {"a": "1\n2"}


def test_action_installs_into_a_venv(project: Project) -> None:
    workspace = project.clone("install")
    job = project.job("install", workspace, "push", push_event(REPO, "0" * 40, project.head()))
    result = CompositeRunner(job, ROOT_ACTION).run({"command": "check"})
    assert result.step("Set up Python for modelseal").outcome == "success"
    assert result.succeeded, result.log
    assert (job.temp / "modelseal-venv").is_dir()
