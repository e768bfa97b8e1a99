"""HTTP front end: one port for OIDC + Fulcio + Rekor, one for the untrusted-CA Fulcio.

Paths on the main port::

    /oidc/.well-known/openid-configuration, /oidc/jwks   OIDC issuer (iss = BASE/oidc)
    /github/token?audience=...                           GitHub Actions token request
    /api/v2/signingCert, /api/v2/trustBundle             Fulcio
    /api/v1/log, /api/v1/log/publicKey,                  Rekor v1
    /api/v1/log/entries[/UUID|?logIndex=N|/retrieve]
    /healthz

sigstore-python's Fulcio client joins ``/api/v2/signingCert`` onto the base URL
as an absolute path, so each Fulcio needs a port of its own.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import oidc
from .fulcio import Fulcio, FulcioError
from .profiles import TokenSpec
from .rekor import RekorError, RekorLog
from .state import StackKeys, load_or_create, write_json_atomic
from .trust import client_trust_config

HOST = "127.0.0.1"
JSON = "application/json"


@dataclass(frozen=True)
class Response:
    """An HTTP response produced by an app."""

    status: int
    body: bytes
    content_type: str = JSON


@dataclass(frozen=True)
class Request:
    """The parts of an HTTP request the apps look at."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup."""
        return self.headers.get(name.lower())


def json_response(data: Any, status: int = 200) -> Response:
    """Serialise ``data`` as a JSON response."""
    return Response(status, json.dumps(data).encode())


def error_response(status: int, message: str) -> Response:
    """Error body in the ``{"code", "message"}`` shape Fulcio and Rekor use."""
    return json_response({"code": status, "message": message}, status)


class FulcioApp:
    """Serves one Fulcio instance (used alone on the untrusted-CA port)."""

    def __init__(self, fulcio: Fulcio) -> None:
        self.fulcio = fulcio

    def handle(self, req: Request) -> Response:
        """Route a request to Fulcio endpoints."""
        if req.method == "POST" and req.path == "/api/v2/signingCert":
            try:
                body = self.fulcio.signing_cert(req.body, req.header("authorization"))
            except FulcioError as exc:
                return error_response(exc.status, exc.message)
            return json_response(body, 201)
        if req.method == "GET" and req.path == "/api/v2/trustBundle":
            return json_response(self.fulcio.trust_bundle())
        if req.method == "GET" and req.path == "/healthz":
            return json_response({"ok": True})
        return error_response(404, f"no route for {req.method} {req.path}")


class StackApp(FulcioApp):
    """The main port: OIDC issuer, GitHub token endpoint, Fulcio and Rekor."""

    def __init__(self, keys: StackKeys, endpoints: dict[str, str]) -> None:
        self.keys = keys
        self.issuer = endpoints["issuer"]
        token_keys = {oidc.jwk_thumbprint(keys.oidc.public_key()): keys.oidc.public_key()}
        super().__init__(Fulcio(keys.ca, keys.ct_log, self.issuer, token_keys))
        self.rekor = RekorLog(keys.rekor, keys.tree_id)

    def handle(self, req: Request) -> Response:
        """Route by path prefix."""
        if req.path.startswith("/oidc/"):
            return self._oidc(req)
        if req.path == "/github/token":
            return self._github_token(req)
        if req.path.startswith("/api/v1/"):
            try:
                return self._rekor(req)
            except RekorError as exc:
                return error_response(exc.status, exc.message)
        return super().handle(req)

    def _oidc(self, req: Request) -> Response:
        if req.path == "/oidc/.well-known/openid-configuration":
            return json_response(oidc.discovery_document(self.issuer))
        if req.path == "/oidc/jwks":
            return json_response(oidc.jwks([self.keys.oidc.public_key()]))
        return error_response(501, "interactive OIDC flows are not supported by the test stack")

    def _github_token(self, req: Request) -> Response:
        """GitHub Actions semantics: bearer request token in, ``{"value": jwt}`` out."""
        auth = req.header("authorization") or ""
        if not auth.lower().startswith("bearer "):
            return error_response(401, "missing bearer ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        try:
            spec = TokenSpec.from_request_token(auth[7:].strip())
        except (TypeError, ValueError) as exc:
            return error_response(403, f"bad request token: {exc}")
        audience = req.query.get("audience", [None])[0]
        if audience is None and spec.kind == "github":
            audience = "https://github.com/" + spec.target.split("/", 1)[0]
        claims = spec.build(self.issuer, audience)
        return json_response({"count": 1, "value": oidc.mint(self.keys.oidc, claims)})

    def _rekor(self, req: Request) -> Response:
        path, log = req.path, self.rekor
        if req.method == "POST" and path == "/api/v1/log/entries":
            return json_response(log.add(_json_body(req)), 201)
        if req.method == "POST" and path == "/api/v1/log/entries/retrieve":
            return json_response(log.retrieve(_json_body(req)))
        if req.method == "GET" and path == "/api/v1/log":
            return json_response(log.info())
        if req.method == "GET" and path == "/api/v1/log/publicKey":
            return Response(200, log.public_key_pem().encode(), "application/x-pem-file")
        if req.method == "GET" and path == "/api/v1/log/entries" and "logIndex" in req.query:
            return json_response(log.get(int(req.query["logIndex"][0])))
        if req.method == "GET" and path.startswith("/api/v1/log/entries/"):
            return json_response(log.get(log.find_uuid(path.rsplit("/", 1)[1])))
        return error_response(404, f"no route for {req.method} {path}")


def _json_body(req: Request) -> dict[str, Any]:
    try:
        data = json.loads(req.body)
    except ValueError as exc:
        raise RekorError(400, f"request body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise RekorError(400, "request body must be a JSON object")
    return data


class _Handler(BaseHTTPRequestHandler):
    """Adapts ``http.server`` to the apps' ``handle(Request) -> Response``."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        req = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        try:
            app = self.server.app
            resp = app.handle(req) if app else error_response(503, "stack is starting")
        except Exception as exc:  # a bug in the stack: report it, keep serving
            resp = error_response(500, f"{type(exc).__name__}: {exc}")
        self.send_response(resp.status, HTTPStatus(resp.status).phrase)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        self.wfile.write(resp.body)

    do_GET = _dispatch
    do_POST = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet by default; ``serve --verbose`` logs requests to stderr."""
        if self.server.verbose:
            sys.stderr.write(f"[sigstore-stack] {format % args}\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, app: FulcioApp | None, verbose: bool) -> None:
        super().__init__((HOST, port), _Handler)
        self.app = app
        self.verbose = verbose

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"


def endpoint_urls(base: str, untrusted_base: str) -> dict[str, str]:
    """The endpoints.json content for servers at ``base`` / ``untrusted_base``."""
    return {
        "base": base,
        "issuer": f"{base}/oidc",
        "jwks": f"{base}/oidc/jwks",
        "fulcio": base,
        "rekor": base,
        "ctlog": f"{base}/ct",
        "token": f"{base}/github/token?api-version=2.0",
        "fulcio_untrusted": untrusted_base,
    }


class Stack:
    """A running stack (servers in daemon threads) bound to a state directory."""

    def __init__(self, state_dir: Path, port: int = 0, verbose: bool = False) -> None:
        self.state_dir = state_dir
        self.keys = load_or_create(state_dir)
        (state_dir / "endpoints.json").unlink(missing_ok=True)
        self._main = _Server(port, None, verbose)
        self._rogue = _Server(0, None, verbose)
        self.endpoints = endpoint_urls(self._main.base_url, self._rogue.base_url)
        app = StackApp(self.keys, self.endpoints)
        self._main.app = app
        self._rogue.app = FulcioApp(
            Fulcio(self.keys.rogue_ca, self.keys.ct_log, app.issuer, app.fulcio.token_keys)
        )
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Serve in background threads, then publish trust config and endpoints."""
        for server in (self._main, self._rogue):
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            self._threads.append(thread)
        write_json_atomic(
            self.state_dir / "trust_config.json", client_trust_config(self.keys, self.endpoints)
        )
        write_json_atomic(
            self.state_dir / "trust_config_untrusted_ca.json",
            client_trust_config(self.keys, self.endpoints, untrusted_ca=True),
        )
        write_json_atomic(self.state_dir / "endpoints.json", self.endpoints)

    def stop(self) -> None:
        """Stop serving and withdraw endpoints.json (the trust configs stay)."""
        (self.state_dir / "endpoints.json").unlink(missing_ok=True)
        for server in (self._main, self._rogue):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
