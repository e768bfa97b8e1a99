"""The fork relay: what a fork's pull request run leaves, and what a workflow_run job posts.

A pull request from a fork runs with a read-only token, so its report cannot be
posted from there. The run leaves a folder (uploaded as the artifact
'modelseal-comment'); a workflow_run job in the base repository, which has a
writable token, posts it after checking it is for the pull request's current head.
Everything in the folder is untrusted: the fork's run wrote it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelseal.errors import UsageError
from modelseal.untrusted import UnsafeFile, UnsafeJson, loads_json, read_regular_file

META = "pr.json"  # {"pr": N, "head_sha": SHA, "repository": OWNER/REPO, "id": ID}
REPORT = "report.json"
BODY = "report.md"
MAX_FILE = 64 * 1024 * 1024

# A fork's pull_request run can change its own workflow, so what it left is its claim:
# the comment says so rather than lend it the bot's voice unmarked.
RELAYED_NOTE = ("\n\n> **Relayed** from this pull request's own workflow run. A pull "
                "request from a fork can change that run, so read this as its claim; the "
                "checks your branch protection requires decide.\n")


@dataclass(frozen=True)
class RelayMeta:
    """Which pull request, at which head commit, the relayed report is for."""

    pr: int | None
    head_sha: str | None
    repository: str
    report_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {"pr": self.pr, "head_sha": self.head_sha, "repository": self.repository,
                "id": self.report_id}


def leave(folder: Path, meta: RelayMeta, body: str,
          report_json: dict[str, Any] | None) -> None:
    """Write what the workflow_run job needs (the JSON report, when there is one)."""
    from modelseal.fsio import atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / META, json.dumps(meta.to_json(), indent=2) + "\n")
    atomic_write_text(folder / BODY, body)
    if report_json is not None:
        atomic_write_text(folder / REPORT,
                          json.dumps(report_json, indent=2, ensure_ascii=False) + "\n")


def read_text(path: Path, *, follow_symlinks: bool = True) -> str:
    """A report file's text: a regular file of bounded size (never a link when told)."""
    try:
        raw = read_regular_file(path, MAX_FILE, follow_symlinks=follow_symlinks)
    except UnsafeFile as exc:
        raise UsageError(f"report: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot read report {path}: {exc.strerror}") from None
    return raw.decode("utf-8", errors="replace")


def read_meta(folder: Path) -> dict[str, Any]:
    """The relay's `pr.json` as a JSON object (never followed through a link)."""
    try:
        data = loads_json(read_text(folder / META, follow_symlinks=False))
    except UnsafeJson as exc:
        raise UsageError(f"{folder}/{META}: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{folder}/{META} must be a JSON object")
    return data


def pull_request_number(folder: Path, meta: dict[str, Any]) -> int:
    number = meta.get("pr")
    if not isinstance(number, int) or isinstance(number, bool):
        raise UsageError(f"{folder}/{META} names no pull request number ('pr')")
    return number


def check_head(meta: dict[str, Any], expected: str | None, *, dry_run: bool) -> None:
    """The run being relayed must be for the commit the workflow_run event names."""
    if dry_run:
        return
    if expected is None:
        raise UsageError("--relay runs in a workflow_run job: the event payload has no "
                         "workflow_run.head_sha to check the pull request against")
    if meta.get("head_sha") not in (None, expected):
        raise UsageError(f"the relayed report is for commit {meta.get('head_sha')}, but the "
                         f"workflow run was for {expected}: not posting")
