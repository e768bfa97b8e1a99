"""GitLab REST (v4): the notes of a merge request, and who the token writes as."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from modelseal.forge import env
from modelseal.forge.api import DEFAULT_TIMEOUT, ApiClient, ForgeError
from modelseal.forge.sticky import Comment

PER_PAGE = 100


def client(api_url: str, token: str, *, timeout: float | None = None) -> ApiClient:
    return ApiClient(api_url, {"PRIVATE-TOKEN": token}, secrets=(token,),
                     timeout=timeout or DEFAULT_TIMEOUT)


def _note(data: Any) -> Comment:
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise ForgeError("GitLab returned a note without an id")
    author = data.get("author")
    body = data.get("body")
    username = author.get("username") if isinstance(author, dict) else None
    return Comment(data["id"], body if isinstance(body, str) else "",
                   username if isinstance(username, str) else None)  # the answer is untrusted


class MergeRequestNotes:
    """The notes of merge request ``iid`` in project ``project`` (numeric id or path)."""

    def __init__(self, api: ApiClient, project: str, iid: int) -> None:
        self.api = api
        self.project = project
        self.iid = iid

    @property
    def list_path(self) -> str:
        return f"/projects/{quote(self.project, safe='')}/merge_requests/{self.iid}/notes"

    def note_path(self, note_id: int | str) -> str:
        return f"{self.list_path}/{note_id}"

    def comments(self) -> Iterator[Comment]:
        params: dict[str, str | int] = {"per_page": PER_PAGE, "sort": "asc",
                                        "order_by": "created_at"}
        for item in self.api.paginate(self.list_path, params):
            if isinstance(item, dict) and item.get("system"):
                continue  # "added 1 commit" and the like
            yield _note(item)

    def token_author(self) -> str:
        """The username of the token's user (a project or group token has a bot user)."""
        url = self.api.url("/user")
        reply = self.api.request("GET", url)
        if reply.status != 200:
            raise self.api.error("GET", url, reply)
        username = reply.data.get("username") if isinstance(reply.data, dict) else None
        if not isinstance(username, str) or not username:
            raise ForgeError(f"GET {url}: no username in the answer")
        return username

    def create(self, body: str) -> Comment:
        return _note(self._write("POST", self.api.url(self.list_path), body))

    def update(self, comment_id: int, body: str) -> Comment:
        return _note(self._write("PUT", self.api.url(self.note_path(comment_id)), body))

    def _write(self, method: str, url: str, body: str) -> Any:
        reply = self.api.request(method, url, {"body": body})
        if reply.status in (200, 201):
            return reply.data
        error = self.api.error(method, url, reply)
        if reply.status in (401, 403):
            raise ForgeError(f"{error} (MODELSEAL_GITLAB_TOKEN needs the api scope and at "
                             "least the Reporter role; CI_JOB_TOKEN cannot post notes)",
                             reply.status)
        raise error

    def planned_calls(self) -> list[str]:
        listing = self.api.url(self.list_path, {"per_page": PER_PAGE, "sort": "asc",
                                                "order_by": "created_at"})
        return [f"GET {self.api.url('/user')} to learn who the token writes as, unless "
                "--author",
                f"GET {listing} (following X-Next-Page / Link pages) to find an earlier "
                "note by that user that starts with the report marker",
                f"PUT {self.api.url(self.note_path('{note_id}'))} if one is found",
                f"POST {self.api.url(self.list_path)} otherwise"]


# --- the forge's hook-ins (see forge/forges.py) -------------------------------------------


def comment_thread(pr: int | None, *, dry_run: bool = False) -> MergeRequestNotes:
    """The merge request's notes, from the CI/CD variables (placeholders for a dry run)."""
    if dry_run:
        defaults = {"CI_API_V4_URL": "https://gitlab.example.com/api/v4",
                    "CI_PROJECT_ID": "PROJECT_ID", "CI_MERGE_REQUEST_IID": "0"}
        context = env.gitlab_context({**defaults, **os.environ}, pr)
        return MergeRequestNotes(client(context.api_url, "dry-run"), context.project,
                                 context.iid)
    context = env.gitlab_context(iid=pr)
    return MergeRequestNotes(client(context.api_url, context.require_token()),
                             context.project, context.iid)


def base_revision(environ: Mapping[str, str]) -> str | None:
    """The merge request's diff base, from the CI/CD variables."""
    return environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA") or None
