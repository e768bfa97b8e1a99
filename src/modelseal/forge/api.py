"""JSON calls to a forge's REST API, over the one HTTP client (`modelseal.net`).

The token goes only to the API's own origin: redirects come back as answers and a
pagination link to another origin is an error. Every message it produces has the
token replaced by ``***``, so nothing it raises or logs can leak it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin

from modelseal import net
from modelseal.errors import EXIT_FAILED, ModelsealError
from modelseal.untrusted import loads_json

DEFAULT_TIMEOUT = 30.0
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
MAX_PAGES = 200
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";]+)"?')


class ForgeError(ModelsealError):
    """A forge API call failed; the message says which call and what the forge said."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    data: Any


def next_link(headers: Mapping[str, str]) -> str | None:
    """The ``rel="next"`` URL of the ``Link`` header(s), if any."""
    many = getattr(headers, "get_all", None)  # an email Message keeps repeats apart
    values = (many("Link") or []) if many is not None else [headers.get("Link") or ""]
    for value in values:
        for url, rel in _LINK.findall(value):
            if "next" in rel.split():
                return str(url)
    return None


def parse_answer(raw: bytes, *, strict: bool = True, where: str = "the forge") -> Any:
    """A forge's JSON answer (untrusted: depth-checked); an error's text as its message."""
    if not raw.strip():
        return None
    try:
        return loads_json(raw)
    except ValueError:
        if strict:
            raise ForgeError(f"response from {where} is not JSON") from None
        return {"message": raw[:500].decode("utf-8", "replace")}


class ApiClient:
    """JSON requests to one API base URL with fixed auth headers."""

    def __init__(self, base_url: str, auth_headers: Mapping[str, str], *,
                 secrets: tuple[str, ...] = (), timeout: float = DEFAULT_TIMEOUT,
                 headers: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        try:
            self._session = net.Session(self.base_url, credentials=auth_headers,
                                        headers={"Accept": "application/json", **(headers or {})},
                                        secrets=secrets,
                                        timeouts=net.Timeouts.of(timeout))
        except ValueError:
            raise ForgeError(f"API URL {net.redact(base_url, secrets)!r} is not an http(s) "
                             "URL") from None

    def redact(self, text: str) -> str:
        return self._session.redact(text)

    def url(self, path: str, params: Mapping[str, str | int] | None = None) -> str:
        url = path if path.startswith(("https://", "http://")) else self.base_url + path
        return f"{url}?{urlencode(params)}" if params else url

    def request(self, method: str, url: str, body: Any = None, *,
                raw: bytes | None = None, content_type: str = "application/json"
                ) -> Response:
        """One call; HTTP errors come back as a Response, transport errors raise.

        ``body`` is sent as JSON, ``raw`` as it is (a release asset).
        """
        data = raw if raw is not None else (
            None if body is None else json.dumps(body).encode("utf-8"))
        headers = {"Content-Type": content_type} if data is not None else {}
        try:
            with self._session.send(method, url, headers=headers, data=data) as reply:
                content = self._session.read(reply, MAX_RESPONSE_BYTES,
                                             f"response from {self.base_url}")
                ok = 200 <= reply.status_code < 300
                return Response(reply.status_code, reply.headers,
                                parse_answer(content, strict=ok, where=self.base_url))
        except net.TransportError as error:
            if error.kind == "origin":
                raise ForgeError(self.redact(f"refusing to send the token to {url} "
                                             f"(not the API at {self.base_url})")) from None
            if error.kind in ("large", "slow"):
                raise ForgeError(str(error)) from None
            raise ForgeError(self.redact(f"{method} {url} failed: {error.reason}")) from None

    def paginate(self, path: str, params: Mapping[str, str | int]) -> Iterator[Any]:
        """Items of a list endpoint, following ``Link: rel=next`` or ``X-Next-Page``."""
        url: str | None = self.url(path, params)
        for _ in range(MAX_PAGES):
            if url is None:
                return
            reply = self.request("GET", url)
            if reply.status != 200:
                raise self.error("GET", url, reply)
            if not isinstance(reply.data, list):
                raise ForgeError(f"GET {self.redact(url)}: expected a JSON list")
            yield from reply.data
            url = self._next_page(url, reply, path, params)
        raise ForgeError(f"GET {self.redact(path)}: more than {MAX_PAGES} pages")

    def _next_page(self, url: str, reply: Response, path: str,
                   params: Mapping[str, str | int]) -> str | None:
        link = next_link(reply.headers)
        if link:
            return urljoin(url, link)
        page = (reply.headers.get("X-Next-Page") or "").strip()
        if page.isdigit():
            return self.url(path, {**params, "page": page})
        return None

    def error(self, method: str, url: str, reply: Response) -> ForgeError:
        """A ForgeError for a failed call, quoting the forge's own message."""
        said = ""
        if isinstance(reply.data, dict):
            said = str(reply.data.get("message") or reply.data.get("error") or "")
            errors = reply.data.get("errors")
            if isinstance(errors, list) and errors:
                said += f" ({json.dumps(errors)[:300]})"
        text = f"{method} {url} returned HTTP {reply.status}" + (f": {said}" if said else "")
        return ForgeError(self.redact(text), reply.status)
