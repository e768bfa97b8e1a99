"""The comment use case: post a report as the sticky pull/merge request comment.

Typed inputs in, a `CommentOutcome` out: what was done (created, updated, left for
the fork relay, or only planned in a dry run). Nothing here prints; the CLI says it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelseal.errors import UsageError
from modelseal.forge import relay

if TYPE_CHECKING:
    from modelseal.forge.env import GitHubContext
    from modelseal.forge.github import PullRequestComments
    from modelseal.report.model import Report

CREATED, UPDATED, RELAYED, DRY_RUN = "created", "updated", "relayed", "dry-run"


@dataclass(frozen=True)
class Poster:
    """Who posts, where: the options every forge shares."""

    report_id: str | None = None
    author: str | None = None  # only a comment by this login is updated
    number: int | None = None  # the pull/merge request (default: from the CI environment)
    dry_run: bool = False


@dataclass(frozen=True)
class CommentOutcome:
    """What `comment` did. ``calls``/``body``: a dry run's plan; ``folder``/``reason``:
    where a read-only token's report was left, and why."""

    action: str
    what: str = "comment"
    url: str | None = None
    calls: tuple[str, ...] = ()
    body: str = ""
    folder: Path | None = None
    reason: str = ""
    markdown_only: bool = False  # relayed without a JSON report (cannot be re-rendered)

    def messages(self) -> list[str]:
        """What to tell the user, one line each (stderr; each escaped when printed)."""
        if self.action == DRY_RUN:
            return [f"modelseal: dry run: would {call}" for call in self.calls]
        if self.action != RELAYED:
            url = f": {self.url}" if self.url else ""
            return [f"modelseal: {self.action} the report {self.what}{url}"]
        lines = []
        if self.markdown_only:
            lines.append("modelseal: warning: a markdown report cannot be relayed (the relay "
                         "job re-renders a JSON report); pass --report with `report --format "
                         "json` output")
        lines.append(f"modelseal: notice: cannot comment with this token ({self.reason}); a "
                     "pull request from a fork gets a read-only token. Not a failure: the "
                     f"report is in {self.folder}/ for a workflow_run job to post (upload it "
                     "as the artifact 'modelseal-comment'; see the README, 'Pull requests "
                     "from forks')")
        return lines


def post_github(body: str, report: Report | None, poster: Poster,
                relay_dir: Path | None = None,
                context: GitHubContext | None = None) -> CommentOutcome:
    """The pull request comment; with a read-only token (a fork), left for the relay.

    ``context``: the run as the caller already read it (default: from the environment).
    """
    from modelseal.forge import env, github, sticky

    if poster.dry_run:
        context = env.github_context({"GITHUB_REPOSITORY": "OWNER/REPO", **os.environ},
                                     poster.number)
        thread = github.PullRequestComments(github.client(context.api_url, "dry-run"),
                                            context.repository, context.number or 0)
        return CommentOutcome(DRY_RUN, calls=tuple(thread.planned_calls()), body=body)
    context = context or env.github_context(number=poster.number)
    try:
        posted = sticky.upsert(_github_thread(context), body, poster.report_id, poster.author)
    except github.ReadOnlyToken as exc:
        return _leave_for_relay(context, body, report, poster, relay_dir, exc)
    return CommentOutcome(posted.action, url=posted.comment.url)


def _github_thread(context: GitHubContext) -> PullRequestComments:
    from modelseal.forge import github

    return github.PullRequestComments(github.client(context.api_url, context.require_token()),
                                      context.repository, context.require_number())


def _leave_for_relay(context: GitHubContext, body: str, report: Report | None,
                     poster: Poster, relay_dir: Path | None,
                     error: Exception) -> CommentOutcome:
    from modelseal.forge.env import default_relay_dir

    folder = relay_dir or default_relay_dir()
    pull = context.event.get("pull_request")
    head = pull.get("head") if isinstance(pull, dict) else None
    sha = head.get("sha") if isinstance(head, dict) else None
    meta = relay.RelayMeta(context.number, sha if isinstance(sha, str) else None,
                           context.repository, poster.report_id)
    relay.leave(folder, meta, body, report.to_json() if report is not None else None)
    return CommentOutcome(RELAYED, folder=folder, reason=str(error),
                          markdown_only=report is None)


def post_relayed(folder: Path, poster: Poster, template: Path | None = None,
                 event: Mapping[str, Any] | None = None) -> CommentOutcome:
    """workflow_run job: post what a fork's run left, after checking it is for that PR.

    ``event``: the payload as the caller already read it (default: GITHUB_EVENT_PATH).
    """
    from modelseal.app.report import load_report_file
    from modelseal.forge import env, github, sticky
    from modelseal.report.render import render

    meta = relay.read_meta(folder)
    report_id = poster.report_id or meta.get("id")
    report = load_report_file(folder / relay.REPORT,
                              report_id if isinstance(report_id, str) else None,
                              follow_symlinks=False)
    if report is None:
        raise UsageError(f"{folder}/{relay.REPORT} is not a JSON report")
    number = relay.pull_request_number(folder, meta)
    context = env.github_context(number=number, event=event)
    expected = context.workflow_run_head_sha
    relay.check_head(meta, expected, dry_run=poster.dry_run)
    body = render(report, "markdown", template=template) + relay.RELAYED_NOTE
    what = f"comment on #{number}"
    if poster.dry_run:
        thread = github.PullRequestComments(github.client(context.api_url, "dry-run"),
                                            context.repository, number)
        check = (f"GET {thread.api.url(thread.list_path.rsplit('/issues', 1)[0])}"
                 f"/pulls/{number} to check its head is {expected}")
        return CommentOutcome(DRY_RUN, what, calls=(check, *thread.planned_calls()),
                              body=body)
    thread = _github_thread(context)
    actual = thread.head_sha()
    if actual != expected:
        raise UsageError(f"the relayed report is for pull request #{number} at {expected}, "
                         f"but its head is {actual}: not posting")
    posted = sticky.upsert(thread, body, report.report_id, poster.author)
    return CommentOutcome(posted.action, what, url=posted.comment.url)


def post_thread(forge_name: str, body: str, poster: Poster) -> CommentOutcome:
    """The comment on a forge without a relay (GitLab's merge request note)."""
    from modelseal.forge import sticky
    from modelseal.forge.forges import get_forge

    forge = get_forge(forge_name)
    thread = forge.api().comment_thread(poster.number, dry_run=poster.dry_run)
    if poster.dry_run:
        return CommentOutcome(DRY_RUN, forge.comment_noun, calls=tuple(thread.planned_calls()),
                              body=body)
    posted = sticky.upsert(thread, body, poster.report_id, poster.author)
    return CommentOutcome(posted.action, forge.comment_noun, url=posted.comment.url)
