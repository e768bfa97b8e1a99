"""The GitHub Actions runner protocol, as seen from inside a step.

Outputs go to ``$GITHUB_OUTPUT`` in the multiline-safe ``name<<DELIMITER`` form
(a random delimiter; every line of a value escaped), the job summary is appended to
``$GITHUB_STEP_SUMMARY``, annotations are workflow commands on stdout whose title and
message are escaped, so no text they quote can end the command or start another.
`Context` is the read-only view of the run: event name and payload (read by
`forge.env.read_event`, the one reader), repository, ref, API URL, workspace and
temp directory.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelseal.errors import printable
from modelseal.forge.env import read_event

PULL_REQUEST_EVENTS = frozenset({"pull_request", "pull_request_target"})


def _escape_data(text: str) -> str:
    """The runner's own escaping of a command's data, over `printable` lines (an
    annotation may hold several lines; a group title is one)."""
    lines = [printable(line).replace("%", "%25") for line in text.split("\n")]
    return "%0A".join(lines)


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotate(level: str, message: str, *, title: str | None = None) -> None:
    """Print a workflow command (``::error::``, ``::warning::``, ``::notice::``)."""
    props = f" title={_escape_property(title)}" if title else ""
    print(f"::{level}{props}::{_escape_data(message)}", flush=True)


def format_output(name: str, value: str) -> str:
    """One ``$GITHUB_OUTPUT`` record; the random delimiter cannot occur in ``value``.

    A value may hold several lines (a list of paths); each is escaped on its own.
    """
    value = "\n".join(printable(line) for line in value.split("\n"))
    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    while delimiter in value:  # pragma: no cover - 128 random bits
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as stream:
        stream.write(text)


@dataclass(frozen=True)
class RunnerFiles:
    """The files a step reports through; ``None`` when run outside a runner."""

    output: Path | None = None
    summary: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RunnerFiles:
        def path(name: str) -> Path | None:
            value = env.get(name, "")
            return Path(value) if value else None

        return cls(output=path("GITHUB_OUTPUT"), summary=path("GITHUB_STEP_SUMMARY"))

    def set_output(self, name: str, value: str) -> None:
        """Set the step output ``name`` (any text, including newlines)."""
        if self.output is not None:
            _append(self.output, format_output(name, value))

    def add_summary(self, markdown: str) -> None:
        """Append markdown to the job summary."""
        if self.summary is not None and markdown:
            _append(self.summary, markdown if markdown.endswith("\n") else markdown + "\n")


@dataclass(frozen=True)
class Context:
    """The workflow run as the environment and the event payload describe it."""

    event_name: str = ""
    repository: str = ""
    ref: str = ""
    sha: str = ""
    server_url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    workspace: Path = field(default_factory=Path.cwd)
    temp: Path = field(default_factory=lambda: Path(os.environ.get("TMPDIR", "/tmp")))
    event: Mapping[str, Any] = field(default_factory=dict)
    oidc_available: bool = False
    workflow_ref: str = ""  # OWNER/REPO/.github/workflows/FILE@REF

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Context:
        """Read the run from ``GITHUB_*``/``RUNNER_*`` variables and the event file."""
        workspace = Path(env.get("GITHUB_WORKSPACE") or Path.cwd())
        return cls(
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            repository=env.get("GITHUB_REPOSITORY", ""),
            ref=env.get("GITHUB_REF", ""),
            sha=env.get("GITHUB_SHA", ""),
            server_url=(env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
            api_url=(env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
            workspace=workspace,
            temp=Path(env.get("RUNNER_TEMP") or env.get("TMPDIR") or "/tmp"),
            event=read_event(env.get("GITHUB_EVENT_PATH")),
            oidc_available=bool(env.get("ACTIONS_ID_TOKEN_REQUEST_URL")
                                and env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")),
            workflow_ref=env.get("GITHUB_WORKFLOW_REF", ""),
        )

    @property
    def workflow_path(self) -> str | None:
        """The running workflow's file (``.github/workflows/sign.yml``), when known."""
        prefix = f"{self.repository}/"
        path = self.workflow_ref.split("@", 1)[0]
        return path[len(prefix):] if self.repository and path.startswith(prefix) else None

    @property
    def pull_request(self) -> Mapping[str, Any] | None:
        """The pull request payload on pull request events."""
        if self.event_name not in PULL_REQUEST_EVENTS:
            return None
        value = self.event.get("pull_request")
        return value if isinstance(value, Mapping) else None

    @property
    def is_pull_request(self) -> bool:
        return self.pull_request is not None

    @property
    def pr_number(self) -> int | None:
        number = (self.pull_request or {}).get("number")
        return number if isinstance(number, int) and not isinstance(number, bool) else None

    @property
    def is_fork_pull_request(self) -> bool:
        """True when the pull request comes from another repository (a fork)."""
        pr = self.pull_request
        if pr is None:
            return False
        head = _repo_name(pr.get("head"))
        base = _repo_name(pr.get("base")) or self.repository
        return head is None or head != base

    @property
    def base_sha(self) -> str | None:
        """The commit to compare against: the PR's base, or the push's previous head."""
        pr = self.pull_request
        if pr is not None:
            base = pr.get("base")
            sha = base.get("sha") if isinstance(base, Mapping) else None
            return sha if isinstance(sha, str) and sha else None
        if self.event_name == "push":
            before = self.event.get("before")
            if isinstance(before, str) and before.strip("0"):
                return before
        return None

    @property
    def head_sha(self) -> str:
        pr = self.pull_request
        head = pr.get("head") if pr is not None else None
        sha = head.get("sha") if isinstance(head, Mapping) else None
        return sha if isinstance(sha, str) and sha else self.sha

    @property
    def branch(self) -> str | None:
        """The branch name when the run is for a branch ref (push to a branch)."""
        prefix = "refs/heads/"
        return self.ref[len(prefix):] if self.ref.startswith(prefix) else None

    @property
    def release(self) -> Mapping[str, Any] | None:
        """The release payload on release events."""
        if self.event_name != "release":
            return None
        value = self.event.get("release")
        return value if isinstance(value, Mapping) else None


def _repo_name(side: Any) -> str | None:
    if not isinstance(side, Mapping):
        return None
    repo = side.get("repo")
    name = repo.get("full_name") if isinstance(repo, Mapping) else None
    return name if isinstance(name, str) else None
