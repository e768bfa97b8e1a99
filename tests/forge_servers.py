"""Loopback GitHub and GitLab API servers for the comment tests.

They speak the REST shapes `modelseal comment` uses, with the real behaviours that
matter: GitHub lists issue comments with ``per_page``/``page`` and ``Link`` headers,
creates with POST and updates with ``PATCH /issues/comments/{id}``, answers 403 to a
read-only token (a fork's pull request) and 422 to a body over 65,536 characters;
``GET /user`` names a user token's login and refuses an installation token (``ghs_``,
as the Actions GITHUB_TOKEN is) with 403, whose comments are by
``github-actions[bot]``. GitLab lists merge request notes with ``X-Next-Page`` and
``Link`` headers, takes ``PRIVATE-TOKEN``, names the token's user at ``GET /user``,
creates with POST and updates with PUT, which only the note's author may do. A
maintainer's GitHub token may edit anyone's comment, as on GitHub. Every request is
recorded.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

GITHUB_BODY_LIMIT = 65_536
GITLAB_BODY_LIMIT = 1_000_000


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: Any


@dataclass
class ForgeState:
    """Comments per thread, tokens and what was asked; shared with the handler."""

    tokens: dict[str, str] = field(default_factory=dict)  # token -> "write" | "read"
    users: dict[str, str] = field(default_factory=dict)  # token -> login (username)
    threads: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pulls: dict[str, str] = field(default_factory=dict)  # "owner/repo#n" -> head sha
    requests: list[Recorded] = field(default_factory=list)
    rate_limited: bool = False  # answer writes with GitHub's secondary rate limit 403
    next_id: int = 1000
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def github_login(self, token: str) -> str:
        """Who comments with ``token``: an installation token is the Actions bot."""
        default = "github-actions[bot]" if token.startswith("ghs_") else "octocat"
        return self.users.get(token, default)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]


class _Handler(BaseHTTPRequestHandler):
    state: ForgeState
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def _record(self) -> Recorded:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        parts = urlsplit(self.path)
        entry = Recorded(self.command, parts.path, parse_qs(parts.query),
                         {k.lower(): v for k, v in self.headers.items()}, body)
        with self.state.lock:
            self.state.requests.append(entry)
        return entry

    def do_GET(self) -> None:
        self.route(self._record())

    def do_POST(self) -> None:
        self.route(self._record())

    def do_PATCH(self) -> None:
        self.route(self._record())

    def do_PUT(self) -> None:
        self.route(self._record())

    def route(self, request: Recorded) -> None:
        raise NotImplementedError

    def page_of(self, items: list[dict[str, Any]], request: Recorded, default: int,
                ) -> tuple[list[dict[str, Any]], int, int, int]:
        per_page = min(int(request.query.get("per_page", [default])[0]), 100)
        page = max(int(request.query.get("page", ["1"])[0]), 1)
        pages = max((len(items) + per_page - 1) // per_page, 1)
        return items[(page - 1) * per_page:page * per_page], page, pages, per_page

    def link_header(self, request: Recorded, page: int, pages: int, per_page: int,
                    extra: str = "") -> str:
        base = f"{self.state.base_url}{request.path}?per_page={per_page}{extra}"
        links = []
        if page < pages:
            links.append(f'<{base}&page={page + 1}>; rel="next"')
        links.append(f'<{base}&page={pages}>; rel="last"')
        return ", ".join(links)


# --- GitHub ----------------------------------------------------------------------------

_GH_LIST = re.compile(r"/repos/([^/]+)/([^/]+)/issues/([0-9]+)/comments")
_GH_ONE = re.compile(r"/repos/([^/]+)/([^/]+)/issues/comments/([0-9]+)")
_GH_PULL = re.compile(r"/repos/([^/]+)/([^/]+)/pulls/([0-9]+)")


class GitHubHandler(_Handler):
    def _token(self, request: Recorded) -> str | None:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() not in ("bearer", "token") or token not in self.state.tokens:
            self._reply(401, {"message": "Bad credentials",
                              "documentation_url": "https://docs.github.com/rest"})
            return None
        return token

    def route(self, request: Recorded) -> None:
        token = self._token(request)
        if token is None:
            return
        if match := _GH_LIST.fullmatch(request.path):
            key = f"{match[1]}/{match[2]}#{match[3]}"
            if request.method == "GET":
                return self.list_comments(request, key)
            if request.method == "POST":
                return self.write(request, token, key, None)
        if (match := _GH_ONE.fullmatch(request.path)) and request.method == "PATCH":
            return self.write(request, token, None, int(match[3]))
        if request.path == "/user" and request.method == "GET":
            if token.startswith("ghs_"):  # an installation token has no user
                return self._reply(403, {
                    "message": "Resource not accessible by integration",
                    "documentation_url": "https://docs.github.com/rest/users/users"
                                         "#get-the-authenticated-user", "status": "403"})
            return self._reply(200, {"login": self.state.github_login(token), "id": 583231,
                                     "type": "User"})
        if (match := _GH_PULL.fullmatch(request.path)) and request.method == "GET":
            key = f"{match[1]}/{match[2]}#{match[3]}"
            if key not in self.state.pulls:
                return self._reply(404, {"message": "Not Found"})
            return self._reply(200, {"number": int(match[3]),
                                     "head": {"sha": self.state.pulls[key]}})
        self._reply(404, {"message": "Not Found"})

    def list_comments(self, request: Recorded, key: str) -> None:
        items = self.state.threads.get(key, [])
        shown, page, pages, per_page = self.page_of(items, request, 30)
        self._reply(200, shown, {"Link": self.link_header(request, page, pages, per_page)})

    def write(self, request: Recorded, token: str, key: str | None,
              comment_id: int | None) -> None:
        if self.state.rate_limited:
            return self._reply(403, {"message": "You have exceeded a secondary rate limit. "
                                                "Please wait a few minutes before you try "
                                                "again."}, {"Retry-After": "60"})
        if self.state.tokens[token] != "write":
            return self._reply(403, {"message": "Resource not accessible by integration",
                                     "documentation_url": "https://docs.github.com/rest"})
        body = (request.body or {}).get("body")
        if not isinstance(body, str):
            return self._reply(422, {"message": "Invalid request.",
                                     "errors": ["body is missing"]})
        if len(body) > GITHUB_BODY_LIMIT:
            return self._reply(422, {"message": "Validation Failed", "errors": [
                {"resource": "IssueComment", "code": "custom", "field": "body",
                 "message": "body is too long (maximum is 65536 characters)"}]})
        with self.state.lock:
            if comment_id is None:
                assert key is not None
                login = self.state.github_login(token)
                comment = {"id": self.state.new_id(), "body": body,
                           "user": {"login": login,
                                    "type": "Bot" if login.endswith("[bot]") else "User"}}
                comment["html_url"] = f"https://github.test/{key}#issuecomment-{comment['id']}"
                self.state.threads.setdefault(key, []).append(comment)
                return self._reply(201, comment)
            for comments in self.state.threads.values():
                for comment in comments:
                    if comment["id"] == comment_id:
                        comment["body"] = body
                        return self._reply(200, comment)
        self._reply(404, {"message": "Not Found"})


# --- GitLab ----------------------------------------------------------------------------

_GL_LIST = re.compile(r"/api/v4/projects/([^/]+)/merge_requests/([0-9]+)/notes")
_GL_ONE = re.compile(r"/api/v4/projects/([^/]+)/merge_requests/([0-9]+)/notes/([0-9]+)")


class GitLabHandler(_Handler):
    def route(self, request: Recorded) -> None:
        token = request.headers.get("private-token", "")
        if token not in self.state.tokens:
            return self._reply(401, {"message": "401 Unauthorized"})
        if request.path == "/api/v4/user" and request.method == "GET":
            return self._reply(200, {"id": 4242, "username": self.gitlab_user(token),
                                     "bot": self.gitlab_user(token).endswith("_bot")})
        if match := _GL_LIST.fullmatch(request.path):
            key = f"{unquote(match[1])}!{match[2]}"
            if request.method == "GET":
                return self.list_notes(request, key)
            if request.method == "POST":
                return self.write(request, token, key, None)
        if (match := _GL_ONE.fullmatch(request.path)) and request.method == "PUT":
            return self.write(request, token, f"{unquote(match[1])}!{match[2]}", int(match[3]))
        self._reply(404, {"message": "404 Not found"})

    def gitlab_user(self, token: str) -> str:
        return self.state.users.get(token, "modelseal-bot")

    def list_notes(self, request: Recorded, key: str) -> None:
        items = list(self.state.threads.get(key, []))
        if request.query.get("sort", ["desc"])[0] != "asc":
            items.reverse()
        shown, page, pages, per_page = self.page_of(items, request, 20)
        headers = {"X-Page": str(page), "X-Per-Page": str(per_page),
                   "X-Total": str(len(items)), "X-Total-Pages": str(pages),
                   "X-Next-Page": str(page + 1) if page < pages else "",
                   "Link": self.link_header(request, page, pages, per_page, "&sort=asc")}
        self._reply(200, shown, headers)

    def write(self, request: Recorded, token: str, key: str, note_id: int | None) -> None:
        if self.state.tokens[token] != "write":
            return self._reply(403, {"message": "403 Forbidden"})
        body = (request.body or {}).get("body")
        if not isinstance(body, str) or not body:
            return self._reply(400, {"message": "400 Bad request - body is missing"})
        if len(body) > GITLAB_BODY_LIMIT:
            return self._reply(400, {"message": {
                "note": ["is too long (maximum is 1000000 characters)"]}})
        with self.state.lock:
            notes = self.state.threads.setdefault(key, [])
            if note_id is None:
                note = {"id": self.state.new_id(), "body": body, "system": False,
                        "author": {"username": self.gitlab_user(token)}}
                notes.append(note)
                return self._reply(201, note)
            for note in notes:
                if note["id"] == note_id:
                    if note["author"]["username"] != self.gitlab_user(token):
                        return self._reply(403, {"message": "403 Forbidden"})
                    note["body"] = body
                    return self._reply(200, note)
        self._reply(404, {"message": "404 Note Not Found"})


@contextmanager
def serve(handler: type[_Handler], state: ForgeState | None = None,
          prefix: str = "") -> Iterator[ForgeState]:
    """Run ``handler`` on 127.0.0.1 (a free port) in a thread; ``state.base_url`` is set."""
    shared = state or ForgeState()
    bound = type("BoundHandler", (handler,), {"state": shared})
    server = ThreadingHTTPServer(("127.0.0.1", 0), bound)
    shared.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield shared
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def github_comment(state: ForgeState, key: str, body: str, login: str = "someone") -> int:
    """Seed a comment by another user in thread ``owner/repo#n``."""
    comment_id = state.new_id()
    state.threads.setdefault(key, []).append(
        {"id": comment_id, "body": body, "user": {"login": login, "type": "User"},
         "html_url": f"https://github.test/{key}#issuecomment-{comment_id}"})
    return comment_id


def gitlab_note(state: ForgeState, key: str, body: str, *, system: bool = False,
                username: str = "someone") -> int:
    note_id = state.new_id()
    state.threads.setdefault(key, []).append(
        {"id": note_id, "body": body, "system": system, "author": {"username": username}})
    return note_id


PR_HEAD_SHA = "c0ffee" * 6 + "abcd"


def github_pull_request_env(monkeypatch: Any, tmp_path: Path, api_url: str,
                            token: str) -> None:
    """The Actions environment of pull request 7 on acme/models, its API at ``api_url``."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 7, "pull_request": {
        "number": 7, "head": {"sha": PR_HEAD_SHA}, "base": {"sha": "b" * 40}}}))
    monkeypatch.setenv("GITHUB_API_URL", api_url)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/models")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_TOKEN", token)
