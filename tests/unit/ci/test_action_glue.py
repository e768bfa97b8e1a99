"""Unit tests of the Action's Python glue (modelseal.ci) and of the simulated runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelseal.ci import commands, publish, steps
from modelseal.ci.inputs import ActionInputs, Policy, env_name, parse_bool, parse_paths
from modelseal.ci.runner import Context, RunnerFiles, annotate, format_output
from modelseal.errors import UsageError
from tests import gha_runner
from tests.gha_runner import (
    condition,
    evaluate,
    interpolate,
    parse_file_commands,
    pull_request_event,
    push_event,
    release_event,
)

REPO = "acme/models"
BASE, HEAD = "a" * 40, "b" * 40


def inputs_env(**values: str) -> dict[str, str]:
    return {env_name(name.replace("_", "-")): value for name, value in values.items()}


def context(tmp_path: Path, event_name: str, event: dict[str, object], **env: str) -> Context:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return Context.from_env({"GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(path),
                             "GITHUB_REPOSITORY": REPO, "GITHUB_WORKSPACE": str(tmp_path),
                             "RUNNER_TEMP": str(tmp_path), **env})


# --- inputs ----------------------------------------------------------------------------


def test_inputs_default_to_verify_with_auto_comment() -> None:
    inputs = ActionInputs.from_env({})
    assert (inputs.command, inputs.comment, inputs.paths, inputs.policy.strict) == \
        ("verify", "auto", (), None)


def test_inputs_are_read_and_checked() -> None:
    inputs = ActionInputs.from_env(inputs_env(
        command="Sign", paths="models/a\nmodels/b c\n# note\n", repository=" acme/models ",
        strict="yes", comment="never", upload="true", commit="FALSE"))
    assert inputs.command == "sign"
    assert inputs.paths == ("models/a", "models/b c")
    assert inputs.policy == Policy(repository="acme/models", strict=True)
    assert (inputs.comment, inputs.upload, inputs.commit) == ("false", True, False)


def test_sub_action_command_wins() -> None:
    assert ActionInputs.from_env(inputs_env(command="verify"), command="sign").command == "sign"


@pytest.mark.parametrize(("env", "message"), [
    (inputs_env(command="deploy"), "input command must be one of"),
    (inputs_env(strict="maybe"), "input strict must be true or false"),
    (inputs_env(comment="sometimes"), "input comment must be one of"),
    (inputs_env(identity="a@b", identity_regex=".*"), "exclude each other"),
])
def test_bad_inputs_are_usage_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ActionInputs.from_env(env)


def test_paths_on_one_line_split_on_spaces() -> None:
    assert parse_paths("models/a models/b") == ("models/a", "models/b")
    assert parse_paths("") == ()
    assert parse_bool("x", "", default=True) is True


# --- commands ----------------------------------------------------------------------------


def test_policy_inputs_become_verify_flags() -> None:
    inputs = ActionInputs(paths=("m",), config="c.yaml", trust_config="t.json", policy=Policy(
        repository="acme/models", workflow=".github/workflows/sign.yml", ref="refs/heads/main",
        issuer="https://issuer", strict=True))
    assert commands.verify_argv(inputs) == [
        "verify", "--config=c.yaml", "--issuer=https://issuer", "--repository=acme/models",
        "--workflow=.github/workflows/sign.yml", "--ref=refs/heads/main", "--strict",
        "--trust-config=t.json", "--no-progress", "--format", "json", "--", "m"]
    assert commands.sign_argv(inputs, ["m"]) == [
        "sign", "--config=c.yaml", "--method", "sigstore", "--trust-config=t.json",
        "--no-progress", "--", "m"]


def test_inputs_cannot_pass_for_options(tmp_path: Path) -> None:
    """A path or policy value starting with '-' stays a value (argv, never a shell)."""
    inputs = ActionInputs(paths=("--key=/etc/passwd", "m"), policy=Policy(identity="-x"))
    argv = commands.verify_argv(inputs)
    assert argv[-3:] == ["--", "--key=/etc/passwd", "m"] and "--identity=-x" in argv
    from modelseal.cli import build_parser

    args = build_parser().parse_args(argv)
    assert args.paths == ["--key=/etc/passwd", "m"] and args.identity == "-x"
    assert args.policy_keys == []


def test_report_and_comment_command_lines(tmp_path: Path) -> None:
    inputs = ActionInputs(policy=Policy(identity="x@y"))
    argv = commands.report_argv(inputs, BASE, tmp_path / "r.json")
    assert argv[:3] == ["report", f"--base={BASE}", "--identity=x@y"]
    assert argv[-3:] == ["--format", "json", f"--output={tmp_path / 'r.json'}"]
    assert commands.report_argv(inputs, None, tmp_path / "r.json")[1] == "--identity=x@y"
    assert commands.relay_argv(tmp_path / "relay") == \
        ["comment", "--github", f"--relay={tmp_path / 'relay'}"]
    assert commands.display(["verify", "a b"]) == "modelseal verify 'a b'"


@pytest.mark.parametrize(("inputs", "base"), [
    (ActionInputs(), None),
    (ActionInputs(paths=("models/a", "--odd"), config="ml/.modelseal.yaml",
                  trust_config="trust.json",
                  policy=Policy(identity="x@y", issuer="https://i", repository="acme/m",
                                workflow="sign.yml", ref="main", strict=True,
                                keys="keys/a.pub", certificate_roots="roots/ca.pem")), BASE),
    (ActionInputs(config="ml/.modelseal.yaml", policy=Policy(identity_regex=".*")), None),
])
def test_the_in_process_report_is_the_logged_command(inputs: ActionInputs, base: str | None,
                                                     tmp_path: Path) -> None:
    """The step builds the report in-process and logs `report_argv`: they must agree."""
    from modelseal.cli import build_parser
    from modelseal.cli.report import report_request

    argv = commands.report_argv(inputs, base, tmp_path / "r.json")
    assert report_request(build_parser().parse_args(argv)) == \
        commands.report_request(inputs, base)


# --- the runner protocol -------------------------------------------------------------------


def test_outputs_use_the_multiline_delimiter_form(tmp_path: Path) -> None:
    files = RunnerFiles(output=tmp_path / "out", summary=tmp_path / "sum")
    files.set_output("signatures", "a/model.sig\nb/model.sig")
    files.set_output("verified", "true")
    files.set_output("tricky", "x=1\nEOF\n")
    files.add_summary("## hi")
    parsed = parse_file_commands((tmp_path / "out").read_text())
    assert parsed == {"signatures": "a/model.sig\nb/model.sig", "verified": "true",
                      "tricky": "x=1\nEOF\n"}
    assert (tmp_path / "sum").read_text() == "## hi\n"
    assert format_output("a", "b").startswith("a<<ghadelimiter_")


def test_outside_a_runner_outputs_are_skipped() -> None:
    RunnerFiles.from_env({}).set_output("x", "y")  # no error, nothing written


def test_annotations_escape_newlines(capsys: pytest.CaptureFixture[str]) -> None:
    annotate("error", "line one\nline two: 100%", title="a, b: c")
    assert capsys.readouterr().out == "::error title=a%2C b%3A c::line one%0Aline two: 100%25\n"


def test_context_of_a_pull_request(tmp_path: Path) -> None:
    ctx = context(tmp_path, "pull_request", pull_request_event(REPO, 7, BASE, HEAD))
    assert (ctx.pr_number, ctx.base_sha, ctx.head_sha) == (7, BASE, HEAD)
    assert ctx.is_pull_request and not ctx.is_fork_pull_request


def test_context_of_a_fork_pull_request(tmp_path: Path) -> None:
    event = pull_request_event(REPO, 8, BASE, HEAD, head_repo="mallory/models")
    assert context(tmp_path, "pull_request", event).is_fork_pull_request


def test_context_of_a_push_and_a_release(tmp_path: Path) -> None:
    ctx = context(tmp_path, "push", push_event(REPO, BASE, HEAD), GITHUB_REF="refs/heads/main",
                  ACTIONS_ID_TOKEN_REQUEST_URL="http://x", ACTIONS_ID_TOKEN_REQUEST_TOKEN="t")
    assert (ctx.branch, ctx.base_sha, ctx.oidc_available, ctx.pull_request) == \
        ("main", BASE, True, None)
    new_branch = context(tmp_path, "push", push_event(REPO, "0" * 40, HEAD))
    assert new_branch.base_sha is None
    release = context(tmp_path, "release", release_event(REPO, 3, "v1", "http://u"),
                      GITHUB_REF="refs/tags/v1")
    assert release.release is not None and release.branch is None


def test_event_payload_errors_are_clear(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("[1]")
    with pytest.raises(UsageError, match="not a JSON object"):
        Context.from_env({"GITHUB_EVENT_PATH": str(tmp_path / "bad.json")})
    with pytest.raises(UsageError, match="does not exist"):
        Context.from_env({"GITHUB_EVENT_PATH": str(tmp_path / "none.json")})


# --- steps helpers ------------------------------------------------------------------------


def test_missing_oidc_token_explains_permissions(tmp_path: Path) -> None:
    ctx = context(tmp_path, "push", push_event(REPO, BASE, HEAD))
    with pytest.raises(UsageError, match=r"permissions: id-token: write") as info:
        steps.require_oidc(ctx, {})
    assert "forks never get one" in str(info.value)
    fork = context(tmp_path, "pull_request",
                   pull_request_event(REPO, 8, BASE, HEAD, head_repo="mallory/models"))
    with pytest.raises(UsageError, match="This is a pull request from a fork"):
        steps.require_oidc(fork, {})
    steps.require_oidc(ctx, {"SIGSTORE_ID_TOKEN": "explicit"})  # an explicit token is fine


def test_verified_means_every_model_verifies() -> None:
    from modelseal.report.model import ModelReport, ModelState, Report

    def report(*states: ModelState) -> Report:
        return Report(models=tuple(ModelReport(path=f"m{i}", name=f"m{i}", state=state,
                                               message="") for i, state in enumerate(states)))

    assert steps.is_verified(report(ModelState.VERIFIED, ModelState.SIGNED_UNCHANGED))
    assert not steps.is_verified(report(ModelState.AWAITING_SIGNATURE))
    assert not steps.is_verified(report(ModelState.VERIFIED, ModelState.UNSIGNED))
    assert not steps.is_verified(report())


def test_comment_modes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pull = context(tmp_path, "pull_request", pull_request_event(REPO, 7, BASE, HEAD))
    push = context(tmp_path, "push", push_event(REPO, BASE, HEAD))
    assert steps.wants_comment("auto", pull) and not steps.wants_comment("auto", push)
    assert not steps.wants_comment("false", pull)
    assert not steps.wants_comment("true", push)
    assert "not for a pull request" in capsys.readouterr().out


def test_commit_message_and_asset_names() -> None:
    assert publish.commit_message(["models/a"]) == "Sign model: models/a [skip ci]"
    many = publish.commit_message([f"m{i}" for i in range(7)])
    assert many.endswith("and 2 more [skip ci]")
    assert publish.asset_name("models/bert/model.sig") == "models-bert.sig"
    assert publish.asset_name("model.sig") == "model.sig"
    assert publish.asset_name("weights/model.gguf.sig") == "weights-model.gguf.sig"


def test_commit_refuses_a_tag_run(tmp_path: Path) -> None:
    ctx = context(tmp_path, "release", {}, GITHUB_REF="refs/tags/v1")
    with pytest.raises(UsageError, match="use commit: true on push to a branch"):
        publish.commit_signatures(["m/model.sig"], ["m"], ctx, "token")


# --- the simulated runner's expressions ------------------------------------------------


CONTEXTS = {"inputs": {"upload": "true", "paths": ""}, "github": {"event_name": "push"},
            "env": {"X": ""}, "steps": {"run": {"outputs": {"sig": "a\nb"}}}}


@pytest.mark.parametrize(("expression", "expected"), [
    ("inputs.upload == 'true'", True),
    ("inputs.upload == 'TRUE'", True),  # GitHub compares strings ignoring case
    ("github.event_name != 'push'", False),
    ("!env.X", True),
    ("!env.MISSING", True),
    ("env.MISSING == ''", True),  # null and '' both coerce to 0
    ("steps.run.outputs.sig != '' && inputs.upload == 'true'", True),
    ("inputs.paths || 'all'", "all"),
    ("steps['run'].outputs.sig", "a\nb"),
    ("contains('abc', 'B')", True),
    ("format('{0}-{1}', 'a', 1)", "a-1"),
    ("(1 < 2) && !(false)", True),
])
def test_expression_subset(expression: str, expected: object) -> None:
    assert evaluate(expression, CONTEXTS) == expected


def test_interpolation_and_conditions() -> None:
    assert interpolate("${{ github.event_name }}/x", CONTEXTS) == "push/x"
    assert condition("${{ !env.X }}", CONTEXTS, failed=False)
    assert not condition("inputs.upload == 'true'", CONTEXTS, failed=True)
    assert condition("always() && inputs.upload == 'true'", CONTEXTS, failed=True)
    assert not condition(None, CONTEXTS, failed=True)
    with pytest.raises(gha_runner.ExpressionError):
        evaluate("nope.x", CONTEXTS)
