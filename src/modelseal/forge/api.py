"""A small JSON-over-HTTPS client for forge APIs (stdlib urllib only).

It sends the token only to the API's own origin: redirects are refused and a
pagination link to another origin is an error. Every message it produces has the
token replaced by ``***``, so nothing it raises or logs can leak it.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from modelseal import __version__
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
    headers: Message
    data: Any


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: it could carry the token to another host."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Message, newurl: str) -> None:
        return None


def next_link(headers: Message) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header, if any."""
    for value in headers.get_all("Link") or []:
        for url, rel in _LINK.findall(value):
            if "next" in rel.split():
                return str(url)
    return None


class ApiClient:
    """JSON requests to one API base URL with fixed auth headers."""

    def __init__(self, base_url: str, auth_headers: Mapping[str, str], *,
                 secrets: tuple[str, ...] = (), timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = dict(auth_headers)
        self._secrets = tuple(secret for secret in secrets if secret)
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect())
        origin = urlsplit(self.base_url)
        if origin.scheme not in ("https", "http") or not origin.netloc:
            raise ForgeError(f"API URL {self.redact(base_url)!r} is not an http(s) URL")
        self._origin = (origin.scheme, origin.netloc)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def url(self, path: str, params: Mapping[str, str | int] | None = None) -> str:
        url = path if path.startswith(("https://", "http://")) else self.base_url + path
        return f"{url}?{urlencode(params)}" if params else url

    def request(self, method: str, url: str, body: Any = None) -> Response:
        """One call; HTTP errors come back as a Response, transport errors raise."""
        if (urlsplit(url).scheme, urlsplit(url).netloc) != self._origin:
            raise ForgeError(f"refusing to send the token to {self.redact(url)} "
                             f"(not the API at {self.base_url})")
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Accept": "application/json", "User-Agent": f"modelseal/{__version__}",
                   **self._auth}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=self.timeout) as reply:
                return Response(reply.status, reply.headers, self._json(reply.read(
                    MAX_RESPONSE_BYTES + 1)))
        except urllib.error.HTTPError as error:
            with error:
                raw = error.read(MAX_RESPONSE_BYTES + 1)
            return Response(error.code, error.headers, self._json(raw, strict=False))
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ForgeError(self.redact(f"{method} {url} failed: {reason}")) from None

    def _json(self, raw: bytes, *, strict: bool = True) -> Any:
        if len(raw) > MAX_RESPONSE_BYTES:
            raise ForgeError(f"response from {self.base_url} is larger than "
                             f"{MAX_RESPONSE_BYTES} bytes")
        if not raw.strip():
            return None
        try:
            return loads_json(raw)  # an API answer is untrusted: depth-checked
        except ValueError:
            if strict:
                raise ForgeError(f"response from {self.base_url} is not JSON") from None
            return {"message": raw[:500].decode("utf-8", "replace")}

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
