"""Model references in registries: ``oci://HOST[:PORT]/REPO[:TAG|@sha256:DIGEST]``.

``ollama://HOST/NAMESPACE/MODEL[:TAG]`` names a model in an Ollama-compatible
registry, which speaks the same distribution API. A reference is parsed strictly
(the grammar of the OCI distribution spec) before any host is contacted, so a
name can never smuggle a path, a query or credentials into a URL.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from modelseal.errors import UsageError

OCI_SCHEME = "oci://"
OLLAMA_SCHEME = "ollama://"
DEFAULT_TAG = "latest"

_HOST = re.compile(r"(?P<name>[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])"
                   r"(?::(?P<port>[0-9]{1,5}))?")
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
MAX_REPOSITORY = 255


@dataclass(frozen=True)
class RegistryRef:
    """A parsed reference. ``host`` keeps its port; ``digest`` pins, ``tag`` informs."""

    host: str
    repository: str
    tag: str | None
    digest: str | None
    scheme: str = OCI_SCHEME

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    @property
    def label(self) -> str:
        """The reference as the user would write it again."""
        suffix = f"@{self.digest}" if self.digest else f":{self.tag or DEFAULT_TAG}"
        return f"{self.scheme}{self.host}/{self.repository}{suffix}"

    def pinned(self, digest: str) -> str:
        """``HOST/REPO@sha256:...``: what to pull once verified."""
        return f"{self.host}/{self.repository}@{digest}"

    @property
    def hostname(self) -> str:
        """The host without its port (and without IPv6 brackets)."""
        match = _HOST.fullmatch(self.host)
        assert match is not None
        return match["name"].strip("[]")

    @property
    def model_name(self) -> str:
        """The statement's model name: the repository's last component."""
        return self.repository.rsplit("/", 1)[-1]


def is_registry_reference(text: str) -> bool:
    return text.startswith((OCI_SCHEME, OLLAMA_SCHEME))


def parse(text: str) -> RegistryRef:
    """Parse ``oci://`` or ``ollama://`` text; a usage error says what is wrong."""
    for scheme in (OCI_SCHEME, OLLAMA_SCHEME):
        if text.startswith(scheme):
            return _parse(text[len(scheme):], scheme, text)
    raise UsageError(f"{text!r} is not a registry reference (oci://HOST/REPO[:TAG|@DIGEST] or "
                     "ollama://HOST/NAMESPACE/MODEL[:TAG])")


def _parse(rest: str, scheme: str, text: str) -> RegistryRef:
    def bad(why: str) -> UsageError:
        return UsageError(f"{text!r} is not a valid reference: {why} (expected "
                          f"{scheme}HOST[:PORT]/REPO[:TAG|@sha256:DIGEST])")

    host, slash, path = rest.partition("/")
    match = _HOST.fullmatch(host)
    if not slash or not match:
        raise bad("it needs a host name and a repository")
    if match["port"] and not 0 < int(match["port"]) < 65536:
        raise bad(f"port {match['port']} is out of range")
    path, at, digest = path.partition("@")
    if at and not _DIGEST.fullmatch(digest):
        raise bad("the digest must be sha256: and 64 lowercase hex digits")
    repository, tag = path, None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        repository, _, tag = path.rpartition(":")
        if not _TAG.fullmatch(tag):
            raise bad(f"tag {tag!r} is not a valid tag")
    components = repository.split("/")
    if not repository or len(repository) > MAX_REPOSITORY or \
            not all(_COMPONENT.fullmatch(c) for c in components):
        raise bad(f"repository {repository!r} must be lowercase path components")
    if scheme == OLLAMA_SCHEME and (len(components) != 2 or at):
        raise bad("an Ollama reference is HOST/NAMESPACE/MODEL[:TAG]")
    return RegistryRef(host, repository, tag, digest or None, scheme)


def is_loopback(hostname: str) -> bool:
    """True for localhost and loopback addresses (where plain HTTP is acceptable)."""
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False
