"""GitHub REST: the issue comments of a pull request, its head commit, and who the
token comments as."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from modelseal.forge import env
from modelseal.forge.api import DEFAULT_TIMEOUT, ApiClient, ForgeError, Response
from modelseal.forge.sticky import Comment

API_VERSION = "2022-11-28"
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
PER_PAGE = 100
# The Actions GITHUB_TOKEN is an installation token of the GitHub Actions app: its
# comments are by this bot, and GET /user refuses it (403, "Resource not accessible
# by integration").
ACTIONS_BOT = "github-actions[bot]"


class ReadOnlyToken(ForgeError):
    """GitHub answered 403: the token may not write (a pull request from a fork)."""


def client(api_url: str, token: str, *, timeout: float | None = None) -> ApiClient:
    return ApiClient(api_url, {"Authorization": f"Bearer {token}"}, secrets=(token,),
                     headers=HEADERS, timeout=timeout or DEFAULT_TIMEOUT)


def _comment(data: Any) -> Comment:
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise ForgeError("GitHub returned a comment without an id")
    user = data.get("user") if isinstance(data.get("user"), dict) else {}
    body = data.get("body")
    login = user.get("login") if isinstance(user, dict) else None
    return Comment(data["id"], body if isinstance(body, str) else "",
                   login if isinstance(login, str) else None,  # the answer is untrusted
                   data.get("html_url") if isinstance(data.get("html_url"), str) else None)


def _rate_limited(reply: Response) -> bool:
    """GitHub also answers 403 when a rate limit is hit: that is no read-only token."""
    said = reply.data.get("message", "") if isinstance(reply.data, dict) else ""
    return (reply.headers.get("x-ratelimit-remaining") == "0"
            or reply.headers.get("retry-after") is not None
            or "rate limit" in str(said).lower())


class PullRequestComments:
    """The conversation comments of pull request ``number`` in ``repository`` (owner/name)."""

    def __init__(self, api: ApiClient, repository: str, number: int) -> None:
        self.api = api
        self.repository = repository
        self.number = number

    @property
    def _repo_path(self) -> str:
        owner, _, name = self.repository.partition("/")
        return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    @property
    def list_path(self) -> str:
        return f"{self._repo_path}/issues/{self.number}/comments"

    def comment_path(self, comment_id: int | str) -> str:
        return f"{self._repo_path}/issues/comments/{comment_id}"

    def comments(self) -> Iterator[Comment]:
        for item in self.api.paginate(self.list_path, {"per_page": PER_PAGE}):
            yield _comment(item)

    def create(self, body: str) -> Comment:
        return _comment(self._write("POST", self.api.url(self.list_path), body))

    def update(self, comment_id: int, body: str) -> Comment:
        return _comment(self._write("PATCH", self.api.url(self.comment_path(comment_id)), body))

    def _write(self, method: str, url: str, body: str) -> Any:
        reply = self.api.request(method, url, {"body": body})
        if reply.status in (200, 201):
            return reply.data
        error = self.api.error(method, url, reply)
        if reply.status == 403 and not _rate_limited(reply):
            raise ReadOnlyToken(str(error), 403)
        if reply.status == 422:
            raise ForgeError(f"{error} (GitHub refused the comment body: at most 65,536 "
                             "characters)", 422)
        raise error

    def token_author(self) -> str:
        """The token's login (GET /user), or the Actions bot for an installation token.

        Another GitHub App's installation token comments as ``APP[bot]``, which GitHub
        does not reveal to the token: pass ``--author APP[bot]`` for those.
        """
        url = self.api.url("/user")
        reply = self.api.request("GET", url)
        if reply.status == 200:
            login = reply.data.get("login") if isinstance(reply.data, dict) else None
            if isinstance(login, str) and login:
                return login
            raise ForgeError(f"GET {url}: no login in the answer")
        if reply.status == 403 and not _rate_limited(reply):
            return ACTIONS_BOT
        raise self.api.error("GET", url, reply)

    def head_sha(self) -> str:
        """The pull request's current head commit (to check a relayed report)."""
        url = self.api.url(f"{self._repo_path}/pulls/{self.number}")
        reply = self.api.request("GET", url)
        if reply.status != 200:
            raise self.api.error("GET", url, reply)
        head = reply.data.get("head") if isinstance(reply.data, dict) else None
        sha = head.get("sha") if isinstance(head, dict) else None
        if not isinstance(sha, str):
            raise ForgeError(f"GET {url}: no head commit in the answer")
        return sha

    def planned_calls(self) -> list[str]:
        """What `upsert` would call, for --dry-run."""
        listing = self.api.url(self.list_path, {"per_page": PER_PAGE})
        return [f"GET {self.api.url('/user')} to learn who the token comments as "
                f"({ACTIONS_BOT} when it is the Actions GITHUB_TOKEN), unless --author",
                f"GET {listing} (following Link rel=\"next\" pages) to find an earlier "
                "comment by that author that starts with the report marker",
                f"PATCH {self.api.url(self.comment_path('{comment_id}'))} if one is found",
                f"POST {self.api.url(self.list_path)} otherwise"]


# --- the forge's hook-ins (see forge/forges.py) -------------------------------------------


def comment_thread(pr: int | None, *, dry_run: bool = False) -> PullRequestComments:
    """The pull request's comments, from GITHUB_* (placeholders for a dry run)."""
    if dry_run:
        context = env.github_context({"GITHUB_REPOSITORY": "OWNER/REPO", **os.environ}, pr)
        return PullRequestComments(client(context.api_url, "dry-run"), context.repository,
                                   context.number or 0)
    context = env.github_context(number=pr)
    return PullRequestComments(client(context.api_url, context.require_token()),
                               context.repository, context.require_number())


def base_revision(environ: Mapping[str, str]) -> str | None:
    """The pull request's base commit, from the event payload."""
    pull = env.read_event(environ.get("GITHUB_EVENT_PATH")).get("pull_request")
    base = pull.get("base") if isinstance(pull, dict) else None
    sha = base.get("sha") if isinstance(base, dict) else None
    return sha if isinstance(sha, str) else None
