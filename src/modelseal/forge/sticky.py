"""One sticky comment per report: find our earlier comment by its marker AND its
author, update it, else create one. Works on anything with the `CommentThread`
shape (GitHub PR comments, GitLab MR notes).

Anyone who can comment on a pull request can copy our marker into a comment of
their own; updating that one would let them choose where the report goes (and
make a stale or forged text look like ours). So the author must be the identity
of the token in use, which the thread asks the forge for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from modelseal.report.render import MARKER

_ID_PREFIX = "<!-- modelseal-report:"


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    author: str | None = None
    url: str | None = None


class CommentThread(Protocol):
    """The comments of one pull or merge request."""

    def comments(self) -> Iterable[Comment]: ...

    def create(self, body: str) -> Comment: ...

    def update(self, comment_id: int, body: str) -> Comment: ...

    def token_author(self) -> str:
        """Who comments with the token in use (the forge's login or username)."""
        ...

    def planned_calls(self) -> list[str]:
        """What `upsert` would call, for --dry-run."""
        ...


@dataclass(frozen=True)
class Posted:
    action: str  # "created" or "updated"
    comment: Comment


def report_key(body: str) -> tuple[bool, str | None]:
    """(is a modelseal report, its id): only the first two lines count, so text quoted
    from file names further down can never make a comment look like ours."""
    lines = body.lstrip("\ufeff").split("\n", 2)
    if not lines or lines[0].rstrip("\r") != MARKER:
        return False, None
    second = lines[1].rstrip("\r") if len(lines) > 1 else ""
    if second.startswith(_ID_PREFIX) and second.endswith(" -->"):
        return True, second[len(_ID_PREFIX):-len(" -->")]
    return True, None


def same_author(login: str | None, author: str) -> bool:
    """GitHub logins and GitLab usernames are unique regardless of case."""
    return login is not None and login.casefold() == author.casefold()


def find_own(comments: Iterable[Comment], report_id: str | None,
             author: str) -> Comment | None:
    """The first comment by ``author`` that carries our marker with the same id."""
    for comment in comments:
        if not same_author(comment.author, author):
            continue
        is_report, key = report_key(comment.body)
        if is_report and key == report_id:
            return comment
    return None


def upsert(thread: CommentThread, body: str, report_id: str | None,
           author: str | None = None) -> Posted:
    """Update our earlier comment for ``report_id`` in place, else create one.

    ``author`` (a login the user named) defaults to the token's own identity.
    """
    existing = find_own(thread.comments(), report_id, author or thread.token_author())
    if existing is None:
        return Posted("created", thread.create(body))
    return Posted("updated", thread.update(existing.id, body))
