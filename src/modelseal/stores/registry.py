"""A small OCI distribution client: pinned, bounded, digest-checked.

Everything a registry returns is untrusted. Manifests, indexes and bundles are read
up to the size their descriptor advertises and never past a fixed maximum; every
manifest and blob is hashed as it arrives and refused unless it matches the digest
that named it (a tag's manifest is named by the digest we compute, which pins it).

Transport: HTTPS with certificate checks (``ca_file`` adds a private CA); plain HTTP
only for loopback hosts or hosts the user lists as insecure, and there only when the
server does not speak TLS at all (a certificate failure is never downgraded). Auth:
the distribution token flow (a ``Bearer`` challenge's realm), or ``Basic``; with
credentials from the Docker config. Blob redirects are followed, but the registry's
credentials go only to the registry's own origin (the rules of `modelseal.net`, the
one HTTP client, which every request here goes through).

The `oras` package was considered and is used by the tests as an independent
producer; it is not used here because its reads are unbounded (`response.json()`),
it does not check blob digests while downloading, and it has no referrers support.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

from modelseal import net
from modelseal.stores.common import MAX_INDEX_BYTES, StoreNotFound, loads, parse_digest
from modelseal.stores.ociref import is_loopback
from modelseal.stores.registry_auth import (
    Challenge,
    Credentials,
    RegistryAuthError,
    credentials_for,
    parse_challenge,
)
from modelseal.stores.registry_blob import CheckedBlob
from modelseal.stores.registry_blob import RegistryError as RegistryError
from modelseal.stores.registry_blob import RegistryUnavailable as RegistryUnavailable
from modelseal.stores.registry_blob import drain as drain
from modelseal.untrusted import loads_json

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_ACCEPT = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST))
MAX_MANIFEST_BYTES = MAX_INDEX_BYTES  # 4 MiB, the cap registries put on manifests
MAX_TOKEN_BYTES = 64 * 1024
MAX_ERROR_BYTES = 16 * 1024
_CHUNK = 1024 * 1024


class RegistryNotFound(StoreNotFound):
    """The repository, tag, manifest or blob does not exist."""


@dataclass(frozen=True)
class Transport:
    """How to reach registries: an extra CA file, hosts allowed over plain HTTP, timeout."""

    ca_file: Path | None = None
    insecure_hosts: tuple[str, ...] = ()
    timeout: float = 60.0


@dataclass(frozen=True)
class Fetched:
    """A manifest or index as served: its bytes, the digest computed from them, its type."""

    data: bytes
    digest: str
    media_type: str

    def json(self, what: str) -> dict[str, Any]:
        value = loads(self.data, what)
        if not isinstance(value, dict):
            raise RegistryError(f"{what} is not a JSON object")
        return value


@dataclass(frozen=True)
class PushResult:
    digest: str
    subject: str | None  # the OCI-Subject header: the registry indexed the referrer


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class _AuthState:
    basic: str | None = None
    tokens: dict[str, str] = field(default_factory=dict)


class RegistryClient:
    """One registry host; auth tokens and the chosen scheme are kept for the run."""

    def __init__(self, host: str, transport: Transport | None = None, *,
                 credentials: Callable[[str], Credentials | None] = credentials_for) -> None:
        self.host = host
        self.transport = transport or Transport()
        self.bytes_fetched = 0
        self._credentials = credentials
        self._session: net.Session | None = None
        self._auth = _AuthState()

    # -- transport --------------------------------------------------------------------

    def _new_session(self, origin: str, secrets: tuple[str, ...] = ()) -> net.Session:
        return net.Session(origin, timeouts=net.Timeouts.of(self.transport.timeout),
                           ca_file=self.transport.ca_file, secrets=secrets)

    def _plain_http_allowed(self, host: str) -> bool:
        hostname = urlsplit(f"//{host}").hostname or host
        return is_loopback(hostname) or host in self.transport.insecure_hosts or \
            hostname in self.transport.insecure_hosts

    @property
    def session(self) -> net.Session:
        """The session pinned to the registry's origin (its scheme chosen on first use)."""
        if self._session is None:
            self._session = self._new_session(f"{self._choose_scheme()}://{self.host}")
        return self._session

    def base_url(self) -> str:
        return self.session.origin

    def _choose_scheme(self) -> str:
        if not self._plain_http_allowed(self.host):
            return "https"
        probe = self._new_session(f"https://{self.host}")
        try:
            probe.send("GET", f"https://{self.host}/v2/").close()
        except net.TransportError as exc:
            if exc.kind == "certificate":
                raise RegistryUnavailable(
                    f"TLS: the certificate of {self.host} is not trusted ({exc.reason}); "
                    "pass --ca-file with its CA") from None
            if exc.kind == "tls":
                return "http"  # the server speaks plain HTTP; allowed for this host
            raise RegistryUnavailable(f"cannot connect to registry {self.host}: "
                                      f"{exc.reason}") from None
        return "https"

    def _raw(self, session: net.Session, method: str, url: str, *,
             headers: dict[str, str] | None = None, credentials: dict[str, str] | None = None,
             data: Any = None, params: dict[str, str] | None = None) -> net.Response:
        try:
            return session.send(method, url, headers=headers, credentials=credentials,
                                data=data, params=params)
        except net.TransportError as exc:
            raise _unavailable(exc, url) from None

    # -- auth -------------------------------------------------------------------------

    def _send(self, method: str, path: str, scope: str, *, headers: dict[str, str] | None = None,
              data: Any = None, params: dict[str, str] | None = None) -> net.Response:
        url = path if path.startswith(("http://", "https://")) else self.base_url() + path
        known = self._auth.tokens.get(scope) or self._auth.basic
        auth = {"Authorization": known} if known else None
        response = self._raw(self.session, method, url, headers=headers, credentials=auth,
                             data=data, params=params)
        if response.status_code != 401:
            return response
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        response.close()
        auth = {"Authorization": self._answer(challenge, scope, refused=bool(known))}
        if hasattr(data, "seek"):
            data.seek(0)
        response = self._raw(self.session, method, url, headers=headers, credentials=auth,
                             data=data, params=params)
        if response.status_code == 401:
            response.close()
            if challenge.scheme == "basic":
                raise RegistryAuthError(f"auth: {self.host} refused the user name and password "
                                        "(HTTP 401); check them (docker login)")
            raise RegistryAuthError(f"auth: {self.host} refused the token for {scope} (HTTP "
                                    "401); check the account's permissions (docker login)")
        return response

    def _answer(self, challenge: Challenge, scope: str, *, refused: bool) -> str:
        if refused and challenge.scheme == "basic":
            raise RegistryAuthError(f"auth: {self.host} refused the user name and password "
                                    "(HTTP 401); check them (docker login)")
        credentials = self._credentials(self.host)
        if challenge.scheme == "basic":
            if credentials is not None and credentials.identity_token:
                raise RegistryAuthError(f"auth: {self.host} asks for a password, but the Docker "
                                        "config holds only an identity token for it; run "
                                        f"`docker login {self.host}` with a password")
            if credentials is None:
                raise RegistryAuthError(f"auth: {self.host} asks for a user name and password; "
                                        f"run `docker login {self.host}` or add it to the "
                                        "Docker config ($DOCKER_CONFIG/config.json)")
            self._auth.basic = credentials.basic_header()
            return self._auth.basic
        if challenge.scheme == "bearer":
            token = self._token(challenge, scope, credentials)
            self._auth.tokens[scope] = f"Bearer {token}"
            return self._auth.tokens[scope]
        raise RegistryAuthError(f"auth: {self.host} answered HTTP 401 with no usable "
                                f"challenge ({challenge.scheme or 'none'})")

    def _token(self, challenge: Challenge, scope: str, credentials: Credentials | None) -> str:
        realm = challenge.params.get("realm", "")
        parts = urlsplit(realm)
        if parts.scheme not in ("https", "http") or not parts.netloc or "@" in parts.netloc or \
                (parts.scheme == "http" and not self._plain_http_allowed(parts.netloc)):
            raise RegistryAuthError(f"auth: {self.host}'s token realm {realm!r} is not an "
                                    "https URL; refusing to send credentials there")
        params = {"scope": scope}
        if challenge.params.get("service"):
            params["service"] = challenge.params["service"]
        refresh = credentials.identity_token if credentials is not None else None
        # the token service is its own origin: a session of its own, pinned to it
        service = self._new_session(realm, secrets=(refresh,) if refresh else ())
        if credentials is not None and refresh:
            # OAuth2 refresh-token grant, as the distribution token spec describes it
            form = {**params, "grant_type": "refresh_token", "client_id": "modelseal",
                    "refresh_token": refresh}
            response = self._raw(service, "POST", realm, data=form)
        else:
            auth = {"Authorization": credentials.basic_header()} if credentials else None
            response = self._raw(service, "GET", realm, credentials=auth, params=params)
        with response:
            if response.status_code in (401, 403):
                who = "the credentials" if credentials else "anonymous access"
                raise RegistryAuthError(f"auth: the token service {parts.netloc} refused {who} "
                                        f"for {scope} (HTTP {response.status_code}); check "
                                        "docker login")
            if response.status_code != 200:
                raise RegistryAuthError(f"auth: the token service {parts.netloc} answered HTTP "
                                        f"{response.status_code}")
            body = self._read_bounded(response, MAX_TOKEN_BYTES, "token response", service)
        try:
            data = loads_json(body)  # the token service is untrusted: depth-checked
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryAuthError(f"auth: the token service {parts.netloc} returned no token")
        return token

    # -- reads ------------------------------------------------------------------------

    def _read_bounded(self, response: net.Response, limit: int, what: str,
                      session: net.Session | None = None) -> bytes:
        try:
            return (session or self.session).read(response, limit, what, count=self._count)
        except net.TransportError as exc:
            if exc.kind == "large":
                raise RegistryError(str(exc)) from None
            raise RegistryUnavailable(str(exc)) from None

    def _check_status(self, response: net.Response, what: str) -> None:
        if 200 <= response.status_code < 300:
            return
        code = response.status_code
        detail = self._error_code(response)
        response.close()
        if code == 404:
            raise RegistryNotFound(f"not found: {what} ({detail or 'HTTP 404'})")
        if code == 403:
            raise RegistryAuthError(f"auth: {self.host} denied access to {what} (HTTP 403"
                                    f"{', ' + detail if detail else ''})")
        raise RegistryUnavailable(f"{self.host} answered HTTP {code} for {what}"
                                  f"{' (' + detail + ')' if detail else ''}")

    def _error_code(self, response: net.Response) -> str:
        try:
            body = loads_json(self._read_bounded(response, MAX_ERROR_BYTES, "error"))
            errors = body.get("errors") if isinstance(body, dict) else None
            first = errors[0] if isinstance(errors, list) and errors else {}
            code = first.get("code") if isinstance(first, dict) else None
            return str(code)[:64] if code else ""
        except (ValueError, RegistryError, RegistryUnavailable):
            return ""

    def manifest(self, repository: str, reference: str, *, size: int | None = None,
                 what: str = "manifest") -> Fetched:
        """A manifest or index by tag or digest, bounded and checked.

        By digest: the bytes must hash to it. By tag: the digest is computed here (the
        pin); a registry that names a different digest is refused.
        """
        limit = MAX_MANIFEST_BYTES
        if size is not None:
            if not 0 <= size <= MAX_MANIFEST_BYTES:
                raise RegistryError(f"{what} {reference} advertises {size} bytes, more than the "
                                    f"{MAX_MANIFEST_BYTES} allowed")
            limit = size
        where = f"{what} {self.host}/{repository}:{reference}" if ":" not in reference else \
            f"{what} {self.host}/{repository}@{reference}"
        response = self._send("GET", f"/v2/{repository}/manifests/{reference}",
                              _scope(repository), headers={"Accept": MANIFEST_ACCEPT})
        with response:
            self._check_status(response, where)
            data = self._read_bounded(response, limit, where)
            claimed = response.headers.get("Docker-Content-Digest", "")
        digest = sha256_digest(data)
        expected = reference if reference.startswith("sha256:") else claimed
        if expected.startswith("sha256:") and expected != digest:
            raise RegistryError(f"digest mismatch: {where} hashes to {digest}, not {expected} "
                                "(the registry served other bytes than it names)")
        if size is not None and len(data) != size:
            raise RegistryError(f"{where} is {len(data)} bytes, not the {size} its descriptor "
                                "says")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        return Fetched(data, digest, media_type)

    def referrers(self, repository: str, digest: str) -> list[dict[str, Any]] | None:
        """Descriptors from the referrers API; None when the registry does not have it."""
        where = f"referrers of {self.host}/{repository}@{digest}"
        response = self._send("GET", f"/v2/{repository}/referrers/{digest}", _scope(repository),
                              headers={"Accept": OCI_INDEX})
        with response:
            if response.status_code == 404:
                return None
            self._check_status(response, where)
            if not response.headers.get("Content-Type", "").startswith(OCI_INDEX):
                return None  # something else answered this path (no referrers API)
            data = self._read_bounded(response, MAX_MANIFEST_BYTES, where)
        return index_descriptors(Fetched(data, sha256_digest(data), OCI_INDEX).json(where), where)

    def tag_schema_index(self, repository: str, digest: str) -> Fetched | None:
        """The OCI 1.1 fallback index tagged ``sha256-<hex>``, or None when there is none."""
        try:
            return self.manifest(repository, fallback_tag(digest), what="referrers index")
        except RegistryNotFound:
            return None

    @contextmanager
    def blob(self, repository: str, digest: str, size: int, what: str, *,
             deadline: float | None = None) -> Iterator[IO[bytes]]:
        """A reader of the blob that fails unless its bytes match ``digest`` and ``size``."""
        response = self._blob_response(repository, digest, what)
        with response:
            chunks = self.session.pieces(response, _CHUNK, what, deadline)
            raw = CheckedBlob(chunks, digest, size, what, self._count)
            reader = io.BufferedReader(raw, _CHUNK)
            yield reader

    def blob_bytes(self, repository: str, digest: str, size: int, limit: int, what: str
                   ) -> bytes:
        """A small blob (a bundle), bounded by its size and ``limit``, digest-checked."""
        if not 0 <= size <= limit:
            raise RegistryError(f"{what} advertises {size} bytes, more than the {limit} "
                                "allowed; refusing to read it")
        deadline = time.monotonic() + self.transport.timeout  # small: bounded in time too
        with self.blob(repository, digest, size, what, deadline=deadline) as stream:
            data = stream.read()
        return data

    def _count(self, count: int) -> None:
        self.bytes_fetched += count

    def _blob_response(self, repository: str, digest: str, what: str) -> net.Response:
        parse_digest(digest, what)  # a digest, never a path or a tag, goes into the URL
        scope = _scope(repository)
        response = self._send("GET", f"/v2/{repository}/blobs/{digest}", scope)
        known = self._auth.tokens.get(scope) or self._auth.basic
        try:
            # blob storage elsewhere gets no credentials; the registry's own origin does
            response = self.session.follow(
                response, credentials={"Authorization": known} if known else None,
                plain_http_allowed=self._plain_http_allowed, what=what)
        except net.TransportError as exc:
            raise (RegistryUnavailable(str(exc)) if exc.kind == "redirect"
                   else _unavailable(exc, self.host)) from None
        self._check_status(response, f"{what} ({digest})")
        return response

    # -- writes -----------------------------------------------------------------------

    def blob_exists(self, repository: str, digest: str) -> bool:
        response = self._send("HEAD", f"/v2/{repository}/blobs/{digest}",
                              _scope(repository, push=True))
        response.close()
        if response.status_code in net.REDIRECTS:
            return True
        return response.status_code == 200

    def push_blob(self, repository: str, digest: str, content: bytes | Path) -> None:
        """Upload one blob (POST then PUT, monolithic), unless the registry has it."""
        if self.blob_exists(repository, digest):
            return
        scope = _scope(repository, push=True)
        where = f"upload to {self.host}/{repository}"
        response = self._send("POST", f"/v2/{repository}/blobs/uploads/", scope)
        with response:
            self._check_status(response, where)
            location = response.headers.get("Location", "")
        if not location:
            raise RegistryUnavailable(f"{where}: the registry gave no upload location")
        url = urljoin(self.base_url() + "/", location)
        target = urlsplit(url)
        # the same scheme as well as the same host: an `http://` location from a TLS
        # registry (a proxy that forgot X-Forwarded-Proto) would carry the credentials
        # and the blob in clear
        if f"{target.scheme}://{target.netloc}" != self.base_url():
            raise RegistryUnavailable(f"{where}: the upload location {target.scheme}://"
                                      f"{target.netloc} is not the registry's own origin "
                                      f"{self.base_url()}; refusing to send it the blob")
        separator = "&" if "?" in url else "?"
        url = f"{url}{separator}digest={digest}"
        headers = {"Content-Type": "application/octet-stream"}
        if isinstance(content, Path):
            with content.open("rb") as stream:
                headers["Content-Length"] = str(content.stat().st_size)
                response = self._send("PUT", url, scope, headers=headers, data=stream)
        else:
            response = self._send("PUT", url, scope, headers=headers, data=content)
        with response:
            self._check_status(response, f"{where} of blob {digest}")

    def push_manifest(self, repository: str, reference: str, data: bytes, media_type: str
                      ) -> PushResult:
        digest = sha256_digest(data)
        response = self._send("PUT", f"/v2/{repository}/manifests/{reference}",
                              _scope(repository, push=True),
                              headers={"Content-Type": media_type}, data=data)
        with response:
            self._check_status(response, f"manifest push to {self.host}/{repository}:"
                                         f"{reference}")
            subject = response.headers.get("OCI-Subject")
        return PushResult(digest, subject)


def fallback_tag(digest: str) -> str:
    """The OCI 1.1 tag schema: ``sha256:<hex>`` -> ``sha256-<hex>``."""
    algorithm, hexdigest = parse_digest(digest, "subject digest")
    return f"{algorithm}-{hexdigest}"


def index_descriptors(index: dict[str, Any], where: str) -> list[dict[str, Any]]:
    entries = index.get("manifests")
    if not isinstance(entries, list):
        raise RegistryError(f"{where}: the index has no manifests list")
    return [entry for entry in entries if isinstance(entry, dict)]


def _unavailable(exc: net.TransportError, url: str) -> RegistryUnavailable:
    where = urlsplit(url).netloc or url
    if exc.kind in ("certificate", "tls"):
        return RegistryUnavailable(f"TLS: cannot talk to {where} securely ({exc.reason}); "
                                   "pass --ca-file for a private CA")
    if exc.kind == "origin":
        return RegistryUnavailable(str(exc))
    return RegistryUnavailable(f"cannot reach registry {where}: {exc.reason}")


def _scope(repository: str, *, push: bool = False) -> str:
    return f"repository:{repository}:{'pull,push' if push else 'pull'}"
