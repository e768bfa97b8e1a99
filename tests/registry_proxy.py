"""Loopback servers in front of the real registry, for what `docker-registry` 2.8 lacks.

- `ReferrersProxy` forwards every request to the registry and adds the one OCI 1.1
  feature it does not have: the referrers API. A pushed manifest with a `subject`
  is indexed and acknowledged with the `OCI-Subject` header, and
  `GET /v2/<name>/referrers/<digest>` answers the image index of its referrers,
  exactly as the distribution spec describes.
- With ``redirect_blobs``, blob GETs are answered with a 307 to a second server on
  another port (another origin, like a CDN or object store), which serves the blob
  and records whether any request to it carried an Authorization header.
- With ``basic_auth``, the proxy itself asks for Basic credentials.
- `TokenServer` is a distribution token service: it checks Basic credentials and
  issues an ES256 JWT with an x5c certificate, which a registry configured with
  `auth: token` verifies against its root bundle.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_REFERRERS = re.compile(r"/v2/(?P<name>.+)/referrers/(?P<digest>sha256:[0-9a-f]{64})")
_MANIFEST = re.compile(r"/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)")
_BLOB = re.compile(r"/v2/(?P<name>.+)/blobs/(?P<digest>sha256:[0-9a-f]{64})")
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host",
                "date", "server"}


@dataclass
class ProxyState:
    upstream: str
    referrers: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    redirect_to: str | None = None
    basic_auth: str | None = None  # "user:password"
    storage_saw_authorization: list[bool] = field(default_factory=list)
    referrer_requests: int = 0


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"",
          headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


class _ProxyHandler(BaseHTTPRequestHandler):
    state: ProxyState

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        state = self.state
        if state.basic_auth and not self._authorized(state.basic_auth):
            _send(self, 401, b"", {"WWW-Authenticate": 'Basic realm="proxy"'})
            return
        path = urlsplit(self.path).path
        referrers = _REFERRERS.fullmatch(path)
        if referrers and self.command == "GET":
            state.referrer_requests += 1
            entries = state.referrers.get((referrers["name"], referrers["digest"]), [])
            body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                               "manifests": entries}).encode()
            _send(self, 200, body, {"Content-Type": OCI_INDEX})
            return
        blob = _BLOB.fullmatch(path)
        if blob and self.command == "GET" and state.redirect_to:
            _send(self, 307, b"", {"Location": f"{state.redirect_to}{path}"})
            return
        self._forward(path)

    def _authorized(self, expected: str) -> bool:
        header = self.headers.get("Authorization", "")
        return header == "Basic " + base64.b64encode(expected.encode()).decode()

    def _forward(self, path: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in _HOP_HEADERS and k.lower() != "authorization"}
        response = requests.request(self.command, self.state.upstream + self.path,
                                    headers=headers, data=body, allow_redirects=False,
                                    timeout=60)
        extra = {}
        manifest = _MANIFEST.fullmatch(path)
        if manifest and self.command == "PUT" and response.status_code == 201 and body:
            subject = self._index_referrer(manifest["name"], body)
            if subject:
                extra["OCI-Subject"] = subject
        out = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_HEADERS}
        location = out.get("Location")
        if location and location.startswith(self.state.upstream):
            out["Location"] = location[len(self.state.upstream):]
        _send(self, response.status_code, response.content, {**out, **extra})

    def _index_referrer(self, name: str, body: bytes) -> str | None:
        try:
            manifest = json.loads(body)
        except ValueError:
            return None
        subject = manifest.get("subject") if isinstance(manifest, dict) else None
        if not isinstance(subject, dict):
            return None
        descriptor = {"mediaType": manifest.get("mediaType"),
                      "digest": "sha256:" + hashlib.sha256(body).hexdigest(),
                      "size": len(body),
                      "artifactType": manifest.get("artifactType")
                      or manifest.get("config", {}).get("mediaType")}
        if manifest.get("annotations"):
            descriptor["annotations"] = manifest["annotations"]
        self.state.referrers.setdefault((name, subject["digest"]), []).append(descriptor)
        return str(subject["digest"])

    do_GET = do_PUT = do_POST = do_HEAD = do_PATCH = do_DELETE = _handle


class _StorageHandler(BaseHTTPRequestHandler):
    state: ProxyState

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.state.storage_saw_authorization.append("Authorization" in self.headers)
        response = requests.get(self.state.upstream + self.path, timeout=60)
        _send(self, response.status_code, response.content,
              {"Content-Type": "application/octet-stream"})


def _serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextmanager
def referrers_proxy(upstream_host: str, *, redirect_blobs: bool = False,
                    basic_auth: str | None = None) -> Iterator[tuple[str, ProxyState]]:
    """(HOST:PORT of the proxy, its state) in front of ``http://upstream_host``."""
    state = ProxyState(upstream=f"http://{upstream_host}", basic_auth=basic_auth)
    proxy = _serve(type("Proxy", (_ProxyHandler,), {"state": state}))
    storage = None
    if redirect_blobs:
        storage = _serve(type("Storage", (_StorageHandler,), {"state": state}))
        state.redirect_to = f"http://127.0.0.1:{storage.server_address[1]}"
    try:
        yield f"127.0.0.1:{proxy.server_address[1]}", state
    finally:
        for server in (proxy, storage):
            if server is not None:
                server.shutdown()
                server.server_close()


# --- a distribution token service ---------------------------------------------------------


@dataclass
class TokenState:
    credentials: str  # "user:password"
    key_pem: bytes
    cert_der: bytes
    issuer: str
    service: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    refresh_token: str = ""  # accepted by the OAuth2 refresh-token grant (POST)


class _TokenHandler(BaseHTTPRequestHandler):
    state: TokenState

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        authorization = self.headers.get("Authorization", "")
        self.state.requests.append({"query": query, "basic": authorization.startswith("Basic ")})
        expected = "Basic " + base64.b64encode(self.state.credentials.encode()).decode()
        if authorization != expected:
            _send(self, 401, b'{"details": "bad credentials"}')
            return
        self._issue(query, "token")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        self.state.requests.append({"query": form, "basic": False, "grant": form.get(
            "grant_type", [""])[0]})
        if not self.state.refresh_token or \
                form.get("refresh_token") != [self.state.refresh_token]:
            _send(self, 401, b'{"details": "bad refresh token"}')
            return
        self._issue(form, "access_token")

    def _issue(self, query: dict[str, list[str]], field_name: str) -> None:
        import jwt

        access = []
        for scope in query.get("scope", []):
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {"iss": self.state.issuer, "sub": "tester", "aud": self.state.service,
                  "iat": now, "nbf": now - 10, "exp": now + 300, "jti": str(now),
                  "access": access}
        x5c = [base64.b64encode(self.state.cert_der).decode()]
        token = jwt.encode(claims, self.state.key_pem, algorithm="ES256",
                           headers={"x5c": x5c})
        _send(self, 200, json.dumps({field_name: token}).encode(),
              {"Content-Type": "application/json"})


@contextmanager
def token_server(state: TokenState) -> Iterator[str]:
    """The realm URL of a running token service."""
    server = _serve(type("Token", (_TokenHandler,), {"state": state}))
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/token"
    finally:
        server.shutdown()
        server.server_close()
