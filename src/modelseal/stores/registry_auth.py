"""Registry credentials and challenges: the Docker config, credential helpers, WWW-Authenticate.

Credentials come from the Docker client's config (``$DOCKER_CONFIG/config.json``,
default ``~/.docker/config.json``): a per-host ``credHelpers`` entry, else the
global ``credsStore``, else the base64 ``auth`` of ``auths``. A helper is the
program ``docker-credential-<name>``, asked with ``get`` and the host on stdin, as
the Docker CLI does. Secrets are never printed or put on a command line.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelseal.errors import UsageError
from modelseal.untrusted import UnsafeFile, read_regular_file

MAX_CONFIG_BYTES = 1024 * 1024
HELPER_TIMEOUT = 30
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*,?')


class RegistryAuthError(UsageError):
    """Credentials are missing, wrong or unreadable (exit 2: nothing was checked)."""


@dataclass(frozen=True)
class Credentials:
    """A user name and password, or an OAuth refresh token (``identitytoken``).

    `docker login` stores an identity token instead of the password for registries
    whose token service issues refresh tokens; it is exchanged at the token realm.
    """

    username: str
    password: str = field(repr=False)
    identity_token: str | None = field(default=None, repr=False)

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class Challenge:
    """One parsed ``WWW-Authenticate`` header: ``Bearer`` or ``Basic`` and its parameters."""

    scheme: str
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge:
    """``Bearer realm="...",service="...",scope="..."`` -> Challenge (scheme lowercased)."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if not match or match.end() == position:
            break
        value = match[2] if match[2] is not None else match[3]
        params[match[1].lower()] = re.sub(r"\\(.)", r"\1", value)
        position = match.end()
    return Challenge(scheme.lower(), params)


def docker_config_path() -> Path:
    directory = os.environ.get("DOCKER_CONFIG")
    base = Path(directory).expanduser() if directory else Path("~/.docker").expanduser()
    return base / "config.json"


def load_docker_config(path: Path | None = None) -> dict[str, Any]:
    """The Docker config as a dict; ``{}`` when there is none."""
    path = path or docker_config_path()
    try:
        data = read_regular_file(path, MAX_CONFIG_BYTES)
    except FileNotFoundError:
        return {}
    except (UnsafeFile, OSError) as exc:
        raise RegistryAuthError(f"cannot read the Docker config {path}: {exc}") from None
    try:
        config = json.loads(data)
    except ValueError:
        raise RegistryAuthError(f"the Docker config {path} is not valid JSON; fix or remove "
                                "it") from None
    return config if isinstance(config, dict) else {}


def credentials_for(host: str, config: dict[str, Any] | None = None) -> Credentials | None:
    """The stored credentials for ``host`` (``name[:port]``), or None."""
    config = load_docker_config() if config is None else config
    helpers = config.get("credHelpers")
    helper = helpers.get(host) if isinstance(helpers, dict) else None
    if isinstance(helper, str) and helper:
        return _from_helper(helper, host)
    entry = _auths_entry(config.get("auths"), host)
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        found = _from_helper(store, host)
        if found is not None:
            return found
    return _from_auth_entry(entry, host) if entry is not None else None


def _auths_entry(auths: Any, host: str) -> dict[str, Any] | None:
    """``auths`` keys are ``host``, ``https://host`` or ``https://host/v1/``; match any."""
    if not isinstance(auths, dict):
        return None
    for key, value in auths.items():
        if isinstance(key, str) and isinstance(value, dict) and _key_host(key) == host:
            return value
    return None


def _key_host(key: str) -> str:
    for prefix in ("https://", "http://"):
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key.split("/", 1)[0]


def _from_auth_entry(entry: dict[str, Any], host: str) -> Credentials | None:
    identity = entry.get("identitytoken")
    if isinstance(identity, str) and identity:
        return Credentials(str(entry.get("username") or "<token>"), "", identity)
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            decoded = base64.b64decode(auth, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise RegistryAuthError(f"the Docker config's auths entry for {host} is not base64 "
                                    "user:password; run `docker login` again") from None
        user, sep, password = decoded.partition(":")
        if not sep:
            raise RegistryAuthError(f"the Docker config's auths entry for {host} has no "
                                    "password part")
        return Credentials(user, password)
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str) and name:
        return Credentials(name, secret)
    return None


def _from_helper(name: str, host: str) -> Credentials | None:
    if not _HELPER_NAME.fullmatch(name):
        raise RegistryAuthError(f"credential helper name {name!r} in the Docker config is not "
                                "a plain program name")
    program = shutil.which(f"docker-credential-{name}")
    if program is None:
        raise RegistryAuthError(f"the Docker config names credential helper {name!r}, but "
                                f"docker-credential-{name} is not on PATH")
    try:
        proc = subprocess.run([program, "get"], input=host.encode(), capture_output=True,
                              timeout=HELPER_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RegistryAuthError(f"credential helper docker-credential-{name} failed: "
                                f"{type(exc).__name__}") from None
    if proc.returncode != 0:
        return None  # helpers exit non-zero for "no credentials for this host"
    try:
        data = json.loads(proc.stdout)
        user, secret = data["Username"], data["Secret"]
    except (ValueError, KeyError, TypeError):
        raise RegistryAuthError(f"credential helper docker-credential-{name} printed something "
                                "other than its JSON answer") from None
    if not isinstance(user, str) or not isinstance(secret, str):
        raise RegistryAuthError(f"credential helper docker-credential-{name} gave a non-string "
                                "username or secret")
    if user == "<token>":  # the helpers' way of handing back an identity token
        return Credentials(user, "", secret)
    return Credentials(user, secret)
