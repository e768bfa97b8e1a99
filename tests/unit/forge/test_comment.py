"""`modelseal comment` against loopback GitHub and GitLab servers speaking the real API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelseal.cli import main
from modelseal.forge.sticky import report_key
from modelseal.report.render import render
from tests import report_samples as samples
from tests.forge_servers import (
    PR_HEAD_SHA,
    ForgeState,
    GitHubHandler,
    GitLabHandler,
    github_comment,
    github_pull_request_env,
    gitlab_note,
    serve,
)

GH_TOKEN = "ghs_S3cretTokenValue0123456789abcdefXYZ"
RO_TOKEN = "ghs_ReadOnlyTokenValue9876543210zyxwvu"
GL_TOKEN = "glpat-S3cretGitLabToken-0123456789"
THREAD = "acme/models#7"
HEAD_SHA = PR_HEAD_SHA


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_EVENT_PATH", "GITHUB_API_URL",
                 "GITHUB_EVENT_NAME", "GITHUB_ACTIONS", "CI_API_V4_URL", "CI_PROJECT_ID",
                 "CI_MERGE_REQUEST_IID", "MODELSEAL_GITLAB_TOKEN", "MODELSEAL_RELAY_DIR",
                 "GITLAB_CI", "CI_MERGE_REQUEST_DIFF_BASE_SHA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ForgeState]:
    state = ForgeState(tokens={GH_TOKEN: "write", RO_TOKEN: "read"})
    with serve(GitHubHandler, state) as running:
        github_pull_request_env(monkeypatch, tmp_path, running.base_url, GH_TOKEN)
        yield running


@pytest.fixture
def gitlab(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForgeState]:
    state = ForgeState(tokens={GL_TOKEN: "write", "glpat-readonly": "read"})
    with serve(GitLabHandler, state) as running:
        monkeypatch.setenv("CI_API_V4_URL", running.base_url + "/api/v4")
        monkeypatch.setenv("CI_PROJECT_ID", "acme/ml")
        monkeypatch.setenv("CI_MERGE_REQUEST_IID", "12")
        monkeypatch.setenv("MODELSEAL_GITLAB_TOKEN", GL_TOKEN)
        yield running


def write_report(tmp_path: Path, name: str = "mixed", **kwargs: Any) -> Path:
    report = samples.SAMPLES[name]() if not kwargs else kwargs["report"]
    path = tmp_path / f"{name}.json"
    path.write_text(render(report, "json"))
    return path


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    for secret in (GH_TOKEN, RO_TOKEN, GL_TOKEN):
        assert secret not in out and secret not in err
    return code, out, err


def reports(state: ForgeState, key: str = THREAD) -> list[dict[str, Any]]:
    return [c for c in state.threads.get(key, []) if report_key(c["body"])[0]]


# --- GitHub ----------------------------------------------------------------------------


def test_create_then_update_keeps_one_comment(github: ForgeState, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    first = write_report(tmp_path, "failing")
    code, _, err = run(["comment", "--github", "--report", str(first)], capsys)
    assert code == 0 and "created the report comment" in err
    second = write_report(tmp_path, "signed")
    code, _, err = run(["comment", "--github", "--report", str(second)], capsys)
    assert code == 0 and "updated the report comment" in err
    [comment] = reports(github)
    assert comment["body"].startswith("<!-- modelseal-report -->\n")
    assert "all 2 models OK" in comment["body"]
    assert [(r.method, r.path) for r in github.writes()] == [
        ("POST", "/repos/acme/models/issues/7/comments"),
        ("PATCH", f"/repos/acme/models/issues/comments/{comment['id']}")]
    assert all(r.headers["authorization"] == f"Bearer {GH_TOKEN}" for r in github.requests)


def test_a_second_report_id_gets_its_own_comment(github: ForgeState, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    report = write_report(tmp_path, "signed")
    for report_id in (None, "llm", "llm", None, "vision"):
        extra = ["--id", report_id] if report_id else []
        assert run(["comment", "--github", "--report", str(report), *extra], capsys)[0] == 0
    keys = sorted(str(report_key(c["body"])[1]) for c in reports(github))
    assert keys == ["None", "llm", "vision"]
    assert [r.method for r in github.writes()] == ["POST", "POST", "PATCH", "PATCH", "POST"]


def test_finds_its_comment_beyond_the_first_pages(github: ForgeState, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(230):
        github_comment(github, THREAD, f"LGTM {i}")
    # looks like ours only further down: must not be taken for the report
    github_comment(github, THREAD, "quoting:\n<!-- modelseal-report -->\nfake")
    ours = github_comment(github, THREAD, "<!-- modelseal-report -->\nold report",
                          login="github-actions[bot]")
    github_comment(github, THREAD, "after")
    code, _, _ = run(["comment", "--github", "--report", str(write_report(tmp_path))], capsys)
    assert code == 0
    pages = [r.query.get("page", ["1"])[0] for r in github.requests
             if r.method == "GET" and r.path.endswith("/comments")]
    assert pages == ["1", "2", "3"]
    assert [(r.method, r.path) for r in github.writes()] == [
        ("PATCH", f"/repos/acme/models/issues/comments/{ours}")]
    assert len(reports(github)) == 1


def test_author_filter_skips_a_marker_comment_by_someone_else(
        github: ForgeState, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    github_comment(github, THREAD, "<!-- modelseal-report -->\nforged by a user", "mallory")
    report = write_report(tmp_path)
    code, _, _ = run(["comment", "--github", "--report", str(report), "--author",
                      "github-actions[bot]"], capsys)
    assert code == 0
    assert [r.method for r in github.writes()] == ["POST"]
    assert github.threads[THREAD][0]["body"].endswith("forged by a user")


def test_hostile_file_names_cannot_fake_the_marker(github: ForgeState, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    report = write_report(tmp_path, "hostile")
    for report_id in ("a", "a"):
        assert run(["comment", "--github", "--report", str(report), "--id", report_id],
                   capsys)[0] == 0
    [comment] = reports(github)
    assert report_key(comment["body"]) == (True, "a")
    body = comment["body"]
    assert body.count("<!-- modelseal-report -->") == 3  # the marker, then two code spans
    assert body.count("`<!-- modelseal-report -->`") == 2


def test_read_only_token_leaves_the_report_for_a_relay(
        github: ForgeState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", RO_TOKEN)
    relay = tmp_path / "relay"
    code, _, err = run(["comment", "--github", "--report", str(write_report(tmp_path)),
                        "--relay-dir", str(relay), "--id", "main"], capsys)
    assert code == 0
    assert "read-only token" in err and "Not a failure" in err and str(relay) in err
    assert "403" in err
    meta = json.loads((relay / "pr.json").read_text())
    assert meta == {"pr": 7, "head_sha": HEAD_SHA, "repository": "acme/models", "id": "main"}
    assert json.loads((relay / "report.json").read_text())["kind"] == "modelseal-report"
    assert (relay / "report.md").read_text().startswith(
        "<!-- modelseal-report -->\n<!-- modelseal-report:main -->\n")
    assert github.threads.get(THREAD) is None


def test_the_outcome_is_data_the_action_reads(github: ForgeState, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """What `comment` did comes back as a value (the Action no longer looks for pr.json)."""
    from modelseal.app import comment
    from modelseal.report.model import Report

    report = Report(models=(samples.verified(),))
    body = render(report, "markdown")
    posted = comment.post_github(body, report, comment.Poster(), tmp_path / "unused")
    assert (posted.action, posted.url) == ("created", reports(github)[0]["html_url"])
    assert not (tmp_path / "unused").exists()
    monkeypatch.setenv("GITHUB_TOKEN", RO_TOKEN)
    relayed = comment.post_github(body, report, comment.Poster(report_id="x"),
                                  tmp_path / "relay")
    assert (relayed.action, relayed.folder, relayed.markdown_only) == (
        comment.RELAYED, tmp_path / "relay", False)
    assert "403" in relayed.reason
    assert json.loads((tmp_path / "relay" / "pr.json").read_text())["id"] == "x"
    assert any("Not a failure" in line for line in relayed.messages())


def test_a_rate_limit_403_is_a_failure_not_a_fork(
        github: ForgeState, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    github.rate_limited = True
    relay = tmp_path / "relay"
    code, _, err = run(["comment", "--github", "--report", str(write_report(tmp_path)),
                        "--relay-dir", str(relay)], capsys)
    assert code == 1 and "secondary rate limit" in err and not relay.exists()


def test_relay_job_posts_after_checking_the_head(
        github: ForgeState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    relay = tmp_path / "relay"
    relay.mkdir()
    (relay / "report.json").write_text(render(samples.SAMPLES["hostile"](), "json"))
    (relay / "pr.json").write_text(json.dumps({"pr": 7, "head_sha": HEAD_SHA,
                                               "repository": "acme/models"}))
    event = tmp_path / "run.json"
    event.write_text(json.dumps({"workflow_run": {"head_sha": HEAD_SHA, "event":
                                                  "pull_request"}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "workflow_run")
    github.pulls[THREAD] = "0" * 40  # the PR moved on: refuse
    code, _, err = run(["comment", "--github", "--relay", str(relay)], capsys)
    assert code == 2 and "not posting" in err
    assert not github.writes()
    github.pulls[THREAD] = HEAD_SHA
    code, _, err = run(["comment", "--github", "--relay", str(relay)], capsys)
    assert code == 0 and "#7" in err
    [comment] = reports(github)
    assert "<img" not in comment["body"].replace("`<img", "")  # re-rendered, escaped
    # a fork's run wrote that report: the comment says it is relayed, not our verdict
    assert comment["body"].rstrip().endswith("the checks your branch protection requires "
                                             "decide.")


def test_oversized_body_is_refused_with_githubs_message(github: ForgeState) -> None:
    from modelseal.forge import github as gh
    from modelseal.forge.api import ForgeError

    thread = gh.PullRequestComments(gh.client(github.base_url, GH_TOKEN), "acme/models", 7)
    with pytest.raises(ForgeError) as caught:
        thread.create("x" * 70_000)
    assert caught.value.status == 422
    assert "body is too long" in str(caught.value) and GH_TOKEN not in str(caught.value)


def test_a_markdown_report_over_the_limit_is_refused_before_sending(
        github: ForgeState, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.md"
    big.write_text("x" * 70_000)
    code, _, err = run(["comment", "--github", "--report", str(big)], capsys)
    assert code == 2 and "65,536" in err
    assert not github.requests


def test_markdown_report_is_posted_behind_one_marker(
        github: ForgeState, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    md = tmp_path / "report.md"
    md.write_text(render(samples.mixed(), "markdown"))
    assert run(["comment", "--github", "--report", str(md), "--id", "x"], capsys)[0] == 0
    [comment] = reports(github)
    assert comment["body"].startswith(
        "<!-- modelseal-report -->\n<!-- modelseal-report:x -->\n### ")


def test_bad_token_error_names_the_call_not_the_token(
        github: ForgeState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", GH_TOKEN + "-revoked")
    code, _, err = run(["comment", "--github", "--report", str(write_report(tmp_path))],
                       capsys)
    assert code == 1
    assert "HTTP 401: Bad credentials" in err and "S3cret" not in err


def test_unreachable_api_error_has_no_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 3}}))
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/models")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_TOKEN", GH_TOKEN)
    code, _, err = run(["comment", "--github", "--report", str(write_report(tmp_path))],
                       capsys)
    assert code == 1 and "failed" in err


def test_missing_token_is_a_usage_error(github: ForgeState, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    code, _, err = run(["comment", "--github", "--report", str(write_report(tmp_path))],
                       capsys)
    assert code == 2 and "GITHUB_TOKEN is not set" in err


def test_dry_run_prints_body_and_calls_and_sends_nothing(
        github: ForgeState, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["comment", "--github", "--dry-run", "--report",
                          str(write_report(tmp_path)), "--id", "x"], capsys)
    assert code == 0
    assert out.startswith("<!-- modelseal-report -->\n<!-- modelseal-report:x -->\n")
    assert f"would GET {github.base_url}/repos/acme/models/issues/7/comments?per_page=100" \
        in err
    assert "would PATCH" in err and "would POST" in err
    assert not github.requests


def test_token_never_appears_even_with_debug_dry_run(
        github: ForgeState, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["comment", "--github", "--dry-run", "--report",
                          str(write_report(tmp_path))], capsys)
    assert code == 0 and "Bearer" not in out + err


def test_bad_report_id_is_refused(github: ForgeState, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["comment", "--github", "--report", str(write_report(tmp_path)),
                        "--id", "x -->"], capsys)
    assert code == 2 and "report id" in err


# --- GitLab ----------------------------------------------------------------------------

GL_THREAD = "acme/ml!12"


def test_gitlab_create_then_update_across_pages(gitlab: ForgeState, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(120):
        gitlab_note(gitlab, GL_THREAD, f"added {i} commits", system=True)
    gitlab_note(gitlab, GL_THREAD, "please re-sign")
    report = write_report(tmp_path, "failing")
    code, _, err = run(["comment", "--gitlab", "--report", str(report)], capsys)
    assert code == 0 and "created the report note" in err
    code, _, err = run(["comment", "--gitlab", "--report", str(write_report(tmp_path))],
                       capsys)
    assert code == 0 and "updated the report note" in err
    notes = reports(gitlab, GL_THREAD)
    assert len(notes) == 1 and "4 models" in notes[0]["body"]
    gets = [r for r in gitlab.requests if r.method == "GET" and r.path.endswith("/notes")]
    assert [r.query.get("page", ["1"])[0] for r in gets] == ["1", "2", "1", "2"]
    assert all(r.path.startswith("/api/v4/projects/acme%2Fml/merge_requests/12/notes")
               for r in gitlab.requests if r.path != "/api/v4/user")
    assert all(r.headers["private-token"] == GL_TOKEN for r in gitlab.requests)
    assert [r.method for r in gitlab.writes()] == ["POST", "PUT"]


def test_gitlab_ids_get_their_own_notes(gitlab: ForgeState, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    report = write_report(tmp_path)
    for report_id in ("a", "b", "a"):
        assert run(["comment", "--gitlab", "--report", str(report), "--id", report_id],
                   capsys)[0] == 0
    assert sorted(str(report_key(n["body"])[1]) for n in reports(gitlab, GL_THREAD)) == \
        ["a", "b"]


def test_gitlab_forbidden_says_what_token_is_needed(
        gitlab: ForgeState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MODELSEAL_GITLAB_TOKEN", "glpat-readonly")
    code, _, err = run(["comment", "--gitlab", "--report", str(write_report(tmp_path))],
                       capsys)
    assert code == 1
    assert "HTTP 403" in err and "api scope" in err and "glpat-readonly" not in err


def test_gitlab_dry_run(gitlab: ForgeState, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["comment", "--gitlab", "--dry-run", "--report",
                          str(write_report(tmp_path))], capsys)
    assert code == 0 and out.startswith("<!-- modelseal-report -->\n### ")
    assert "would PUT" in err and "notes/{note_id}" in err and not gitlab.requests


def test_gitlab_needs_a_merge_request(gitlab: ForgeState, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("CI_MERGE_REQUEST_IID")
    code, _, err = run(["comment", "--gitlab", "--report", str(write_report(tmp_path))],
                       capsys)
    assert code == 2 and "CI_MERGE_REQUEST_IID" in err
