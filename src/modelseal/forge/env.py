"""Where are we running: GitHub Actions, GitLab CI, or a terminal; and what the CI
environment says about the pull or merge request. Tokens are read here and never
put into a message."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from modelseal.errors import UsageError
from modelseal.untrusted import UnsafeFile, loads_json, read_regular_file

MAX_EVENT_BYTES = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB
DEFAULT_GITHUB_API = "https://api.github.com"


def detect_provider(environ: Mapping[str, str] | None = None) -> str | None:
    """``github``, ``gitlab`` or None (not in a CI job we know)."""
    env = os.environ if environ is None else environ
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("GITLAB_CI") == "true":
        return "gitlab"
    return None


def color_wanted(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Colour on a terminal only; NO_COLOR turns it off, FORCE_COLOR on."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and env.get("TERM") != "dumb"


@dataclass(frozen=True)
class GitHubContext:
    """A pull request on GitHub, from the Actions environment."""

    api_url: str
    repository: str
    number: int | None
    event_name: str | None
    event: dict[str, Any] = field(repr=False)
    token: str | None = field(default=None, repr=False)

    def require_token(self) -> str:
        if not self.token:
            raise UsageError("GITHUB_TOKEN is not set: add `env: GITHUB_TOKEN: "
                             "${{ github.token }}` to the step (with `permissions: "
                             "pull-requests: write`)")
        return self.token

    def require_number(self) -> int:
        if self.number is None:
            raise UsageError(f"no pull request number in the {self.event_name or 'unknown'} "
                             "event payload (GITHUB_EVENT_PATH): run on pull_request or "
                             "pull_request_target, or pass --pr N")
        return self.number

    @property
    def workflow_run_head_sha(self) -> str | None:
        run = self.event.get("workflow_run")
        sha = run.get("head_sha") if isinstance(run, dict) else None
        return sha if isinstance(sha, str) else None


def read_event(path: str | None) -> dict[str, Any]:
    """The webhook payload GitHub wrote to GITHUB_EVENT_PATH ({} when there is none).

    The one reader of the event payload (the Action's steps and `comment` alike):
    bounded before parsing, a JSON object or a usage error.
    """
    if not path:
        return {}
    try:
        raw = read_regular_file(Path(path), MAX_EVENT_BYTES, follow_symlinks=True)
        data = loads_json(raw)
    except FileNotFoundError:
        raise UsageError(f"GITHUB_EVENT_PATH names {path}, which does not exist") from None
    except UnsafeFile as exc:
        raise UsageError(f"event payload: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot read the event payload {path}: {exc.strerror}") from None
    except ValueError as exc:  # UnsafeJson: says whether it is bad JSON or too deep
        raise UsageError(f"event payload {path} is not JSON it can read: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"event payload {path} is not a JSON object")
    return data


def pull_request_number(event: Mapping[str, Any]) -> int | None:
    """The PR number of a pull_request(_target) or PR issue_comment event."""
    for key in ("pull_request", "issue"):
        item = event.get(key)
        if isinstance(item, dict) and isinstance(item.get("number"), int):
            if key == "issue" and "pull_request" not in item:
                continue
            return int(item["number"])
    number = event.get("number")
    return number if isinstance(number, int) and not isinstance(number, bool) else None


def github_context(environ: Mapping[str, str] | None = None,
                   number: int | None = None, *,
                   event: Mapping[str, Any] | None = None) -> GitHubContext:
    """GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_TOKEN and the event payload
    (``event``: the payload already read in this process, not read again)."""
    env = os.environ if environ is None else environ
    repository = env.get("GITHUB_REPOSITORY", "")
    if repository.count("/") != 1 or not all(repository.split("/")):
        raise UsageError("GITHUB_REPOSITORY must be OWNER/REPO (it is set by GitHub Actions)")
    event = dict(event) if event is not None else read_event(env.get("GITHUB_EVENT_PATH"))
    return GitHubContext(
        api_url=env.get("GITHUB_API_URL") or DEFAULT_GITHUB_API,
        repository=repository,
        number=number if number is not None else pull_request_number(event),
        event_name=env.get("GITHUB_EVENT_NAME"),
        event=event,
        token=env.get("GITHUB_TOKEN") or None,
    )


@dataclass(frozen=True)
class GitLabContext:
    """A merge request on GitLab, from the CI/CD variables."""

    api_url: str
    project: str
    iid: int
    token: str | None = field(default=None, repr=False)

    def require_token(self) -> str:
        if not self.token:
            raise UsageError("MODELSEAL_GITLAB_TOKEN is not set: create a project access "
                             "token with the api scope and the Reporter role and add it as "
                             "a masked CI/CD variable (CI_JOB_TOKEN cannot post notes)")
        return self.token


def gitlab_context(environ: Mapping[str, str] | None = None,
                   iid: int | None = None) -> GitLabContext:
    """CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID and MODELSEAL_GITLAB_TOKEN."""
    env = os.environ if environ is None else environ
    api = env.get("CI_API_V4_URL")
    project = env.get("CI_PROJECT_ID")
    if not api or not project:
        raise UsageError("CI_API_V4_URL and CI_PROJECT_ID are not set (they are set by "
                         "GitLab CI)")
    raw_iid = env.get("CI_MERGE_REQUEST_IID", "")
    if iid is None:
        if not raw_iid.isdigit():
            raise UsageError("CI_MERGE_REQUEST_IID is not set: run the job in a merge "
                             "request pipeline (rules: - if: $CI_PIPELINE_SOURCE == "
                             "\"merge_request_event\"), or pass --pr N")
        iid = int(raw_iid)
    return GitLabContext(api, project, iid, env.get("MODELSEAL_GITLAB_TOKEN") or None)


def default_relay_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("MODELSEAL_RELAY_DIR") or "modelseal-comment")

