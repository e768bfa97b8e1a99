"""The action inputs: read from ``MODELSEAL_INPUT_*`` variables and checked.

The composite action maps each ``inputs.<name>`` to ``MODELSEAL_INPUT_<NAME>`` in a
step's ``env:`` (dashes become underscores), so no input is ever pasted into a
shell script. Empty means "not given" for every input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from modelseal.errors import UsageError

ENV_PREFIX = "MODELSEAL_INPUT_"
COMMANDS = ("verify", "sign", "check", "report", "relay")
COMMENT_MODES = ("auto", "true", "false")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_COMMENT_ALIASES = {"always": "true", "never": "false"}


def env_name(input_name: str) -> str:
    """``identity-regex`` -> ``MODELSEAL_INPUT_IDENTITY_REGEX``."""
    return ENV_PREFIX + input_name.upper().replace("-", "_")


def parse_bool(name: str, raw: str, default: bool = False) -> bool:
    """An input boolean: true/false (also yes/no, on/off, 1/0); empty is ``default``."""
    value = raw.strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise UsageError(f"input {name} must be true or false, not {raw.strip()!r}")


def parse_paths(raw: str) -> tuple[str, ...]:
    """Model paths: one per line, or several on one line separated by spaces."""
    text = raw.strip()
    if not text:
        return ()
    lines = [line.strip() for line in text.splitlines()]
    if len(lines) == 1:
        return tuple(text.split())
    return tuple(line for line in lines if line and not line.startswith("#"))


def parse_choice(name: str, raw: str, choices: tuple[str, ...], default: str,
                 aliases: Mapping[str, str] | None = None) -> str:
    value = raw.strip().lower() or default
    value = (aliases or {}).get(value, value)
    if value not in choices:
        raise UsageError(f"input {name} must be one of {', '.join(choices)}, not {raw.strip()!r}")
    return value


@dataclass(frozen=True)
class Policy:
    """The policy overrides: each given one replaces the config's value."""

    identity: str = ""
    identity_regex: str = ""
    issuer: str = ""
    repository: str = ""
    workflow: str = ""
    ref: str = ""
    strict: bool | None = None  # None: as the config says
    # trusted public keys and certificate roots, as given: one per line, inline PEM
    # blocks or repository paths (read from the base revision by `report --key-list`)
    keys: str = ""
    certificate_roots: str = ""


@dataclass(frozen=True)
class ActionInputs:
    """Everything the action was asked to do."""

    command: str = "verify"
    paths: tuple[str, ...] = ()
    config: str = ""
    policy: Policy = Policy()
    comment: str = "auto"
    trust_config: str = ""
    base: str = ""
    upload: bool = False
    commit: bool = False
    release: bool = False
    artifact_path: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str], command: str | None = None) -> ActionInputs:
        """Read the inputs; ``command`` (a sub-action's fixed command) wins over the input."""
        def get(name: str) -> str:
            return env.get(env_name(name), "")

        if get("identity") and get("identity-regex"):
            raise UsageError("inputs identity and identity-regex exclude each other; give one")
        strict_raw = get("strict")
        policy = Policy(
            identity=get("identity").strip(), identity_regex=get("identity-regex").strip(),
            issuer=get("issuer").strip(), repository=get("repository").strip(),
            workflow=get("workflow").strip(), ref=get("ref").strip(),
            strict=parse_bool("strict", strict_raw) if strict_raw.strip() else None,
            keys=get("keys").strip(), certificate_roots=get("certificate-roots").strip())
        return cls(
            command=parse_choice("command", command or get("command"), COMMANDS, "verify"),
            paths=parse_paths(get("paths")),
            config=get("config").strip(),
            policy=policy,
            comment=parse_choice("comment", get("comment"), COMMENT_MODES, "auto",
                                 _COMMENT_ALIASES),
            trust_config=get("trust-config").strip(),
            base=get("base").strip(),
            upload=parse_bool("upload", get("upload")),
            commit=parse_bool("commit", get("commit")),
            release=parse_bool("release", get("release")),
            artifact_path=get("artifact-path").strip(),
        )

    def config_path(self, workspace: Path) -> Path | None:
        if not self.config:
            return None
        path = Path(self.config)
        return path if path.is_absolute() else workspace / path
