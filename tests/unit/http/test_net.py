"""The one HTTP client's rules (`modelseal.net`), against loopback HTTP servers.

Each test pins one rule: remove the rule and the test fails.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from modelseal import net
from modelseal.ci import publish
from modelseal.ci.runner import Context
from modelseal.errors import UsageError
from modelseal.forge.api import ApiClient, ForgeError

TOKEN = "ghp_Sup3rSecretTokenValue"
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")


@dataclass
class Site:
    """A loopback server: what it answers per path, and what it was asked."""

    url: str = ""
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Authorization)
    drip: float = 0.0  # seconds between the bytes of each body


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            site.seen.append((self.path, self.headers.get("Authorization")))
            status, headers, body = site.routes.get(self.path, (404, {}, b'{"message":"no"}'))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Transfer-Encoding" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up, as it should
                self._body(body, chunked="Transfer-Encoding" in headers)

        def _body(self, body: bytes, *, chunked: bool) -> None:
            if chunked:
                self.wfile.write(f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
                return
            if not site.drip:
                self.wfile.write(body)
                return
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(site.drip)

    return Handler


@contextmanager
def serve() -> Iterator[Site]:
    site = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    with serve() as first:
        yield first


@pytest.fixture
def other() -> Iterator[Site]:
    with serve() as second:
        yield second


def session(site: Site, timeouts: net.Timeouts | None = None) -> net.Session:
    return net.Session(site.url, credentials={"Authorization": f"Bearer {TOKEN}"},
                       timeouts=timeouts or net.Timeouts.of(5))


# --- one origin ------------------------------------------------------------------------------


def test_a_session_sends_nothing_to_another_origin(site: Site, other: Site) -> None:
    with pytest.raises(net.TransportError, match="refusing to send the credentials") as caught:
        session(site).send("GET", other.url + "/steal")
    assert caught.value.kind == "origin"
    assert other.seen == [] and TOKEN not in str(caught.value)


def test_same_host_on_another_scheme_is_another_origin(site: Site) -> None:
    https_twin = site.url.replace("http://", "https://")
    with pytest.raises(net.TransportError, match="refusing"):
        session(site).send("GET", https_twin + "/x")
    assert site.seen == []


def test_the_credentials_go_to_the_own_origin(site: Site) -> None:
    site.routes["/ok"] = (200, {}, b"{}")
    with session(site).send("GET", site.url + "/ok") as reply:
        assert reply.status_code == 200
    assert site.seen == [("/ok", f"Bearer {TOKEN}")]


# --- redirects -------------------------------------------------------------------------------


def test_a_redirect_is_an_answer_not_a_request(site: Site, other: Site) -> None:
    site.routes["/a"] = (302, {"Location": other.url + "/steal"}, b"")
    with session(site).send("GET", site.url + "/a") as reply:
        assert reply.status_code == 302
    assert other.seen == []


def test_following_to_another_origin_leaves_the_credentials_behind(site: Site,
                                                                   other: Site) -> None:
    site.routes["/blob"] = (307, {"Location": other.url + "/storage"}, b"")
    other.routes["/storage"] = (200, {}, b"weights")
    client = session(site)
    first = client.send("GET", site.url + "/blob")
    with client.follow(first, plain_http_allowed=lambda host: True) as reply:
        assert client.read(reply, 100, "blob") == b"weights"
    assert site.seen == [("/blob", f"Bearer {TOKEN}")]
    assert other.seen == [("/storage", None)]


def test_following_within_the_origin_keeps_them(site: Site) -> None:
    site.routes["/a"] = (302, {"Location": "/b"}, b"")
    site.routes["/b"] = (200, {}, b"{}")
    client = session(site)
    with client.follow(client.send("GET", site.url + "/a")) as reply:
        assert reply.status_code == 200
    assert site.seen == [("/a", f"Bearer {TOKEN}"), ("/b", f"Bearer {TOKEN}")]


def test_no_redirect_to_plain_http_elsewhere_unless_allowed(site: Site, other: Site) -> None:
    site.routes["/a"] = (302, {"Location": other.url + "/plain"}, b"")
    client = session(site)
    with pytest.raises(net.TransportError, match="not https; refusing it"):
        client.follow(client.send("GET", site.url + "/a"))
    assert other.seen == []


def test_https_never_downgrades_to_http() -> None:
    secure = net.Session("https://127.0.0.1:8443",
                         credentials={"Authorization": f"Bearer {TOKEN}"})
    assert secure.check_redirect("https://127.0.0.1:8443/next") is True
    with pytest.raises(net.TransportError, match="not https"):
        secure.check_redirect("http://127.0.0.1:8443/next")  # same host, in clear


def test_redirect_loops_end(site: Site) -> None:
    site.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    client = session(site)
    with pytest.raises(net.TransportError, match="more than 5 redirects"):
        client.follow(client.send("GET", site.url + "/loop"))
    assert len(site.seen) == 1 + net.MAX_REDIRECTS


# --- redaction -------------------------------------------------------------------------------


def test_secrets_are_redacted_from_transport_errors() -> None:
    basic = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    dead = net.Session("http://127.0.0.1:9", credentials={"Authorization": basic},
                       secrets=(TOKEN,), timeouts=net.Timeouts.of(2))
    with pytest.raises(net.TransportError) as caught:
        dead.send("GET", f"http://127.0.0.1:9/x?access_token={TOKEN}&page=2")  # discard port
    text = str(caught.value) + caught.value.reason
    assert "127.0.0.1:9" in text and "page=2" in text
    assert TOKEN not in text and "***" in text
    assert dead.redact(f"said {PASSWORD} and {basic}") == "said *** and ***"


def test_urls_lose_their_passwords_and_secret_parameters() -> None:
    text = net.redact(f"https://bob:{PASSWORD}@host.test/p?X-Amz-Signature=abc&n=1", ())
    assert PASSWORD not in text and "abc" not in text and "n=1" in text


def test_forge_errors_quote_the_forge_without_the_token(site: Site) -> None:
    site.routes["/e"] = (500, {}, json.dumps({"message": f"bad token {TOKEN}"}).encode())
    api = ApiClient(site.url, {"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    reply = api.request("GET", site.url + "/e")
    error = str(api.error("GET", site.url + "/e", reply))
    assert "HTTP 500" in error and TOKEN not in error  # redacted with no secrets= given


# --- bounds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True])
def test_bodies_are_bounded(site: Site, chunked: bool) -> None:
    site.routes["/big"] = (200, {"Transfer-Encoding": "chunked"} if chunked else {},
                           b"x" * 100_000)
    client = session(site)
    with client.send("GET", site.url + "/big") as reply, \
            pytest.raises(net.TransportError, match="allowed; refusing to read it") as caught:
        client.read(reply, 10_000, "answer")
    assert caught.value.kind == "large"


def test_a_dripping_server_cannot_hold_a_read(site: Site) -> None:
    site.routes["/slow"] = (200, {}, b"0123456789" * 2)
    site.drip = 0.2  # 4 s for the body, each byte well inside the 1 s read timeout
    client = session(site, net.Timeouts(connect=1, read=1, body=1))
    start = time.monotonic()
    with client.send("GET", site.url + "/slow") as reply, \
            pytest.raises(net.TransportError, match="took longer"):
        client.read(reply, 1000, "answer")
    assert time.monotonic() - start < 3


def test_netrc_credentials_are_never_sent(site: Site, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login alice password {PASSWORD}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    site.routes["/ok"] = (200, {}, b"{}")
    with net.Session(site.url).send("GET", site.url + "/ok"):
        pass
    assert site.seen == [("/ok", None)]


# --- release assets: the token goes to the API and the uploads host, never in clear -----------


def test_release_uploads_never_downgrade_to_plain_http(tmp_path: Path, site: Site) -> None:
    event = {"release": {"id": 7, "upload_url": f"{site.url}/repos/o/r/releases/7/assets{{?name}}"}}
    ctx = Context(event_name="release", repository="o/r", api_url="https://127.0.0.1:1",
                  workspace=tmp_path, event=event)
    (tmp_path / "model.sig").write_text("{}")
    with pytest.raises(UsageError, match="refusing to send the token over plain HTTP"):
        publish.attach_to_release(["model.sig"], ctx, TOKEN)
    assert site.seen == []


def test_a_pagination_link_elsewhere_is_refused(site: Site, other: Site) -> None:
    site.routes["/items?per_page=1"] = (200, {"Link": f'<{other.url}/items?page=2>; rel="next"'},
                                        b"[1]")
    api = ApiClient(site.url, {"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    with pytest.raises(ForgeError, match="refusing to send the token"):
        list(api.paginate("/items", {"per_page": 1}))
    assert other.seen == []
