"""Forge plumbing: CI environment, HTTP client safety (tokens, redirects, pagination)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from modelseal.errors import UsageError
from modelseal.forge import env
from modelseal.forge.api import ApiClient, ForgeError, next_link
from modelseal.forge.sticky import Comment, find_own, report_key

TOKEN = "tok_S3cret-value-777"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")


def headers(**values: str) -> Message:
    message = Message()
    for key, value in values.items():
        message[key.replace("_", "-")] = value
    return message


def test_next_link() -> None:
    link = ('<https://api.github.com/repositories/1/issues/7/comments?page=2>; rel="next", '
            '<https://api.github.com/repositories/1/issues/7/comments?page=5>; rel="last"')
    assert next_link(headers(Link=link)).endswith("page=2")  # type: ignore[union-attr]
    assert next_link(headers(Link='<https://x/?page=1>; rel="prev"')) is None
    assert next_link(headers()) is None


def test_report_key_reads_only_the_first_lines() -> None:
    assert report_key("<!-- modelseal-report -->\n### x") == (True, None)
    assert report_key("<!-- modelseal-report -->\r\n<!-- modelseal-report:a -->\r\n") == (
        True, "a")
    assert report_key("hi\n<!-- modelseal-report -->") == (False, None)
    assert report_key("<!-- modelseal-report -->x") == (False, None)
    comments = [Comment(1, "<!-- modelseal-report -->\n<!-- modelseal-report:a -->\n",
                        author="bot"),
                Comment(2, "<!-- modelseal-report -->\n", author="Bot"),
                Comment(3, "<!-- modelseal-report -->\n", author="other"),
                Comment(4, "<!-- modelseal-report -->\n")]
    assert find_own(comments, "a", "bot") == comments[0]
    assert find_own(comments, None, "bot") == comments[1]  # logins ignore case
    assert find_own(comments, None, "other") == comments[2]
    assert find_own(comments, "b", "bot") is None
    assert find_own(comments, "a", "other") is None  # our marker, someone else's comment


class _Server(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, dict[str, str], object]]] = {}
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        status, extra, body = self.routes.get(self.path, (404, {}, {"message": "nope"}))
        raw = json.dumps(body).encode()
        self.send_response(status)
        for key, value in extra.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def server() -> Iterator[str]:
    _Server.routes, _Server.seen = {}, []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def client(base: str) -> ApiClient:
    return ApiClient(base, {"Authorization": f"Bearer {TOKEN}"}, secrets=(TOKEN,), timeout=5)


def test_redirects_are_not_followed(server: str) -> None:
    _Server.routes["/a"] = (302, {"Location": "http://127.0.0.2:1/steal"}, {})
    reply = client(server).request("GET", server + "/a")
    assert reply.status == 302
    assert [path for path, _ in _Server.seen] == ["/a"]


def test_pagination_never_leaves_the_api_origin(server: str) -> None:
    _Server.routes["/items?per_page=2"] = (
        200, {"Link": '<http://evil.example/items?page=2>; rel="next"'}, [1, 2])
    api = client(server)
    with pytest.raises(ForgeError, match="refusing to send the token") as caught:
        list(api.paginate("/items", {"per_page": 2}))
    assert TOKEN not in str(caught.value)


def test_pagination_follows_next_page_header(server: str) -> None:
    _Server.routes["/n?per_page=1"] = (200, {"X-Next-Page": "2"}, ["a"])
    _Server.routes["/n?per_page=1&page=2"] = (200, {"X-Next-Page": ""}, ["b"])
    assert list(client(server).paginate("/n", {"per_page": 1})) == ["a", "b"]
    assert all(auth == f"Bearer {TOKEN}" for _, auth in _Server.seen)


def test_errors_are_redacted(server: str) -> None:
    _Server.routes["/e"] = (500, {}, {"message": f"internal: saw {TOKEN}"})
    api = client(server)
    reply = api.request("GET", server + "/e")
    error = api.error("GET", server + "/e", reply)
    assert "HTTP 500" in str(error) and TOKEN not in str(error) and "***" in str(error)


def test_non_json_answer_is_an_error(server: str) -> None:
    _Server.routes["/list?per_page=1"] = (200, {}, {"not": "a list"})
    with pytest.raises(ForgeError, match="expected a JSON list"):
        list(client(server).paginate("/list", {"per_page": 1}))


def test_api_url_must_be_http() -> None:
    with pytest.raises(ForgeError, match="not an http"):
        ApiClient("file:///etc", {})


# --- CI environment ----------------------------------------------------------------------


def test_detect_provider() -> None:
    assert env.detect_provider({"GITHUB_ACTIONS": "true"}) == "github"
    assert env.detect_provider({"GITLAB_CI": "true"}) == "gitlab"
    assert env.detect_provider({}) is None


def test_color_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert env.color_wanted(Tty(), {}) is True
    assert env.color_wanted(io.StringIO(), {}) is False
    assert env.color_wanted(Tty(), {"NO_COLOR": "1"}) is False
    assert env.color_wanted(io.StringIO(), {"FORCE_COLOR": "1"}) is True
    assert env.color_wanted(Tty(), {"TERM": "dumb"}) is False


@pytest.mark.parametrize(("event", "number"), [
    ({"pull_request": {"number": 5}}, 5),
    ({"number": 6, "pull_request": {"number": 6}}, 6),
    ({"issue": {"number": 7, "pull_request": {}}}, 7),
    ({"issue": {"number": 8}}, None),  # a comment on an issue, not a pull request
    ({"workflow_run": {"head_sha": "a"}}, None),
])
def test_pull_request_number(event: dict[str, object], number: int | None) -> None:
    assert env.pull_request_number(event) == number


def test_github_context(tmp_path: Path) -> None:
    payload = tmp_path / "event.json"
    payload.write_text(json.dumps({"pull_request": {"number": 9}}))
    context = env.github_context({"GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_PATH":
                                  str(payload), "GITHUB_TOKEN": TOKEN})
    assert (context.api_url, context.repository, context.number) == (
        "https://api.github.com", "o/r", 9)
    assert TOKEN not in repr(context)
    with pytest.raises(UsageError, match="OWNER/REPO"):
        env.github_context({"GITHUB_REPOSITORY": "nope"})
    payload.write_text("{not json")
    with pytest.raises(UsageError, match="not JSON"):
        env.github_context({"GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_PATH": str(payload)})
    no_pr = env.github_context({"GITHUB_REPOSITORY": "o/r"})
    with pytest.raises(UsageError, match="--pr N"):
        no_pr.require_number()


def test_gitlab_context() -> None:
    variables = {"CI_API_V4_URL": "https://gl/api/v4", "CI_PROJECT_ID": "42",
                 "CI_MERGE_REQUEST_IID": "3", "MODELSEAL_GITLAB_TOKEN": TOKEN}
    context = env.gitlab_context(variables)
    assert (context.api_url, context.project, context.iid) == ("https://gl/api/v4", "42", 3)
    assert TOKEN not in repr(context)
    with pytest.raises(UsageError, match="CI_JOB_TOKEN cannot post"):
        env.gitlab_context({**variables, "MODELSEAL_GITLAB_TOKEN": ""}).require_token()


def test_one_event_reader_one_size_cap(tmp_path: Path) -> None:
    """The Action's steps and `comment` read the payload alike: over GitHub's 25 MB cap
    is refused by both, before it is parsed."""
    from modelseal.ci.runner import Context

    payload = tmp_path / "event.json"
    payload.write_text('{"pad": "' + "x" * (26 * 1024 * 1024) + '"}')
    environ = {"GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_PATH": str(payload)}
    for read in (lambda: env.github_context(environ), lambda: Context.from_env(environ)):
        with pytest.raises(UsageError, match="event payload"):
            read()
