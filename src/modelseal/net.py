"""The one HTTP client: forge APIs, registries and release assets all go through here.

Its rules, which every caller gets without asking:

- **One origin.** A `Session` is bound to one origin (``scheme://host:port``) and
  sends nothing, least of all its credentials, anywhere else. A second origin (a
  token service, an upload host) is a second session, chosen by the caller.
- **No automatic redirects.** A 3xx comes back as an answer. `Session.follow` takes
  the steps a protocol needs (registry blobs): to the same origin with the
  credentials, to any other origin with none, and to plain HTTP on another host only
  when the caller allows that host. Same origin means same scheme, so credentials are
  never downgraded from https to http.
- **Redaction.** Every message raised here has the session's secrets (given ones,
  credential header values and what they decode to), passwords in URLs and
  secret-looking query parameters replaced by ``***``; callers use `Session.redact`
  for their own messages.
- **Bounds.** Connect and read timeouts on every call, a deadline for reading a whole
  body (a server dripping a byte a second never trips a read timeout), and a size
  limit on every body read into memory.
- **No ambient credentials.** ``~/.netrc`` is never read.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from modelseal._version import __version__
from modelseal.errors import UsageError

Response = requests.Response
REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
MIN_SECRET_LENGTH = 3  # shorter "secrets" would blank out ordinary words
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@")
_SECRET_PARAM = re.compile(
    r"(?i)([?&;][^=&#\s]*(?:token|secret|signature|password|credential|sig|key)[^=&#\s]*=)"
    r"[^&#\s]*")


class TransportError(UsageError):
    """A request could not be made or its answer not read; the message is redacted.

    ``kind`` says what went wrong, for callers that word it their own way:
    ``certificate`` (not trusted), ``tls`` (no TLS spoken), ``connect``, ``timeout``,
    ``broken`` (the body broke off), ``slow``, ``large``, ``origin``, ``redirect``.
    """

    def __init__(self, message: str, *, kind: str, reason: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.reason = reason or message


@dataclass(frozen=True)
class Timeouts:
    """``connect`` and ``read`` bound each wait; ``body`` a whole body read into memory."""

    connect: float = 10.0
    read: float = 30.0
    body: float = 30.0

    @classmethod
    def of(cls, seconds: float) -> Timeouts:
        return cls(seconds, seconds, seconds)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL; ValueError for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or "@" in parts.netloc:
        raise ValueError(f"not an http(s) origin: {redact(url, ())}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret, URL password and secret-looking parameter as ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, "***")
    text = _USERINFO.sub(r"\1***@", text)
    return _SECRET_PARAM.sub(r"\1***", text)


def secrets_in_header(value: str) -> list[str]:
    """What to hide of a credential header: all of it, its token, a Basic password."""
    found = [value]
    scheme, _, token = value.partition(" ")
    if token.strip():
        found.append(token.strip())
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        found.append(decoded.partition(":")[2])
    return [secret for secret in found if secret]


def _root_cause(exc: BaseException) -> BaseException:
    """What a requests error wraps: urllib3's retry error, then its ``reason``."""
    for _ in range(4):
        inner = getattr(exc, "reason", None)
        if not isinstance(inner, BaseException) and exc.args:
            inner = exc.args[0]
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return exc


def _no_ambient_auth(request: Any) -> Any:
    """Session auth that adds nothing: stops requests reading ~/.netrc for any host."""
    return request


class Session:
    """HTTP calls to one origin, with its credentials for that origin only."""

    def __init__(self, origin: str, *, credentials: Mapping[str, str] | None = None,
                 headers: Mapping[str, str] | None = None, secrets: Iterable[str] = (),
                 timeouts: Timeouts | None = None, ca_file: Path | None = None) -> None:
        self._secrets: set[str] = {secret for secret in secrets if secret}
        self._credentials = dict(credentials or {})
        for value in self._credentials.values():
            self.add_secret_header(value)
        self.origin = origin_of(origin)
        self.timeouts = timeouts or Timeouts()
        self._verify: str | bool = str(ca_file) if ca_file else True
        self._http = requests.Session()
        self._http.auth = _no_ambient_auth
        self._http.headers["User-Agent"] = f"modelseal/{__version__}"
        self._http.headers.update(headers or {})

    def add_secret_header(self, value: str) -> None:
        """Hide a credential header's value (and its token) from every message."""
        self._secrets.update(secrets_in_header(value))

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def same_origin(self, url: str) -> bool:
        try:
            return origin_of(url) == self.origin
        except ValueError:
            return False

    def send(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
             credentials: Mapping[str, str] | None = None, data: Any = None,
             params: Mapping[str, str] | None = None) -> Response:
        """One request to this session's origin; its body is read with `read`.

        ``credentials`` are per-call auth headers (a registry's token for one scope);
        the session's own are always added. Nothing goes to another origin.
        """
        if not self.same_origin(url):
            raise TransportError(self.redact(
                f"refusing to send the credentials to {url} (not the origin "
                f"{self.origin} they are for)"), kind="origin")
        for value in (credentials or {}).values():
            self.add_secret_header(value)
        merged = {**(headers or {}), **self._credentials, **(credentials or {})}
        return self._request(method, url, merged, data=data, params=params)

    def _request(self, method: str, url: str, headers: Mapping[str, str], *,
                 data: Any = None, params: Mapping[str, str] | None = None) -> Response:
        try:
            return self._http.request(method, url, headers=dict(headers), data=data,
                                      params=params, stream=True, verify=self._verify,
                                      timeout=(self.timeouts.connect, self.timeouts.read),
                                      allow_redirects=False)
        except requests.exceptions.RequestException as exc:
            raise self._failure(method, url, exc) from None

    def _failure(self, method: str, url: str, exc: BaseException) -> TransportError:
        why = self.reason(exc)
        kind = "connect"
        if isinstance(exc, requests.exceptions.SSLError):
            text = str(exc)
            untrusted = "CERTIFICATE_VERIFY_FAILED" in text or "hostname" in text.lower()
            kind = "certificate" if untrusted else "tls"
        elif isinstance(exc, requests.exceptions.Timeout):
            kind = "timeout"
        return TransportError(self.redact(f"{method} {url} failed: {why}"), kind=kind,
                              reason=why)

    def reason(self, exc: BaseException) -> str:
        """An exception as a short redacted line (redacted before it is cut short, so
        no prefix of a secret survives): the root cause, not the wrappers around it."""
        text = self.redact(" ".join(str(_root_cause(exc)).split()))
        return text[:200] if text else type(exc).__name__

    # -- redirects ------------------------------------------------------------------------

    def follow(self, response: Response, *, credentials: Mapping[str, str] | None = None,
               plain_http_allowed: Callable[[str], bool] = lambda host: False,
               what: str = "the answer") -> Response:
        """Take the redirects of a GET explicitly, under the rules in the module doc."""
        for _ in range(MAX_REDIRECTS):
            if response.status_code not in REDIRECTS:
                return response
            location = urljoin(response.url, response.headers.get("Location", ""))
            response.close()
            response = self._redirected(location, credentials, plain_http_allowed, what)
        if response.status_code in REDIRECTS:
            response.close()
            raise TransportError(f"{what}: more than {MAX_REDIRECTS} redirects",
                                 kind="redirect")
        return response

    def _redirected(self, location: str, credentials: Mapping[str, str] | None,
                    plain_http_allowed: Callable[[str], bool], what: str) -> Response:
        if self.check_redirect(location, plain_http_allowed=plain_http_allowed, what=what):
            return self.send("GET", location, credentials=credentials)
        # another origin (blob storage): nothing of this session's goes there
        stranger = Session(location, timeouts=self.timeouts, secrets=self._secrets,
                           ca_file=Path(self._verify) if isinstance(self._verify, str) else None)
        return stranger.send("GET", location)

    def check_redirect(self, location: str, *,
                       plain_http_allowed: Callable[[str], bool] = lambda host: False,
                       what: str = "the answer") -> bool:
        """Whether ``location`` is this origin (True) or another one that may be asked
        without credentials (False); TransportError for one that may not be asked."""
        if self.same_origin(location):
            return True
        target = urlsplit(location)
        if target.scheme == "https" and target.netloc and "@" not in target.netloc:
            return False
        if target.scheme == "http" and target.netloc and "@" not in target.netloc and \
                plain_http_allowed(target.netloc):
            return False
        raise TransportError(self.redact(
            f"{what}: a redirect leads to {target.scheme}://{target.netloc}, which is not "
            "https; refusing it"), kind="redirect")

    # -- bodies ---------------------------------------------------------------------------

    def read(self, response: Response, limit: int, what: str, *,
             count: Callable[[int], None] | None = None) -> bytes:
        """The whole body, refused past ``limit`` bytes or the body deadline."""
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > limit:
            raise TransportError(f"{what} is {length} bytes, more than the {limit} allowed; "
                                 "refusing to read it", kind="large")
        chunks, total = [], 0
        deadline = time.monotonic() + self.timeouts.body
        for chunk in self.pieces(response, 64 * 1024, what, deadline):
            total += len(chunk)
            if count is not None:
                count(len(chunk))
            if total > limit:
                raise TransportError(f"{what} is larger than the {limit} bytes allowed; "
                                     "refusing to read it", kind="large")
            chunks.append(chunk)
        return b"".join(chunks)

    def pieces(self, response: Response, size: int, what: str,
               deadline: float | None = None) -> Iterator[bytes]:
        """The body as each piece arrives, given up on after ``deadline``.

        A read timeout bounds only the wait for the next byte, so with a deadline the
        body is read piece by piece as the socket has it (``read1``, not a read that
        waits for a full chunk) and the clock is checked after each piece. Without one
        (a model blob: as long as it takes) it is read in chunks of ``size``.
        """
        try:
            if deadline is None:
                yield from response.iter_content(size)
                return
            while piece := response.raw.read1(size, decode_content=True):
                if time.monotonic() > deadline:
                    raise TransportError(f"{what}: the server took longer than the timeout "
                                         "to send it; giving up", kind="slow")
                yield piece
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError,
                OSError) as exc:
            raise TransportError(f"{what}: the download broke off ({self.reason(exc)})",
                                 kind="broken") from None
