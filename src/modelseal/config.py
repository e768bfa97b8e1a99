"""`.modelseal.yaml`: which models are tracked, how they are hashed, and the signing policy.

The file is parsed from YAML nodes rather than plain values so that every error can
name the key and the line it sits on.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from modelseal.errors import ConfigError
from modelseal.untrusted import read_regular_file

CONFIG_NAME = ".modelseal.yaml"
HASH_ALGORITHMS = ("sha256", "blake2b", "blake3")
SERIALIZATIONS = ("files", "shards")
DEFAULT_SHARD_SIZE = 1_000_000_000  # the reference implementation's default
DEFAULT_LFS_WARN_SIZE = 10 * 1024 * 1024
MAX_CONFIG_BYTES = 16 * 1024 * 1024

# Finds a file the `policy:` section names (a key, a root), relative to the config's
# directory: a local path, or None when there is none. Reading the config from a git
# revision swaps it for one that reads the file from that same revision.
FileResolver = Callable[[str], "Path | None"]


@dataclass(frozen=True)
class HashOptions:
    """How one model is serialized into a manifest."""

    hash: str = "sha256"
    serialization: str = "files"
    shard_size: int = DEFAULT_SHARD_SIZE
    ignore: tuple[str, ...] = ()
    allow_symlinks: bool = False

    def with_extra_ignores(self, extra: tuple[str, ...]) -> HashOptions:
        merged = tuple(dict.fromkeys((*self.ignore, *extra)))
        return replace(self, ignore=merged)


@dataclass(frozen=True)
class SignerRule:
    """One allowed signer: an identity (exact or anchored regex), issuer, CI shorthand."""

    identity: str | None = None
    identity_regex: str | None = None
    issuer: str | None = None
    repository: str | None = None
    workflow: str | None = None
    ref: str | None = None
    gitlab_project: str | None = None
    gitlab_host: str | None = None


@dataclass(frozen=True)
class PolicyConfig:
    """The `policy:` section: who may sign, with which keys, since when, how strictly."""

    signers: tuple[SignerRule, ...] = ()
    keys: tuple[Path, ...] = ()
    certificate_roots: tuple[Path, ...] = ()
    not_before: str | None = None
    strict: bool = False


@dataclass(frozen=True)
class ModelEntry:
    """A tracked model directory (or file) with its resolved hashing options."""

    path: Path
    options: HashOptions
    line: int = 0


@dataclass(frozen=True)
class Config:
    """The whole parsed configuration; ``root`` is the directory holding the file."""

    root: Path
    models: tuple[ModelEntry, ...] = ()
    defaults: HashOptions = field(default_factory=HashOptions)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    lfs_warn_size: int = DEFAULT_LFS_WARN_SIZE
    source: Path | None = None
    # model paths listed but not found under ``root`` (only with ``missing_models_ok``)
    missing_models: tuple[str, ...] = ()

    def entry_for(self, model_path: Path) -> ModelEntry | None:
        """The configured entry for ``model_path``, if it is tracked."""
        wanted = model_path.resolve()
        for entry in self.models:
            if entry.path.resolve() == wanted:
                return entry
        return None


def find_config(start: Path) -> Path | None:
    """The nearest `.modelseal.yaml` in ``start`` or a parent directory."""
    here = start.resolve()
    for directory in (here, *here.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path) -> Config:
    """Parse and validate a config file; raise ConfigError naming key and line.

    The file may come from the change under review: a link to /dev/zero or a FIFO
    is refused and the size bounded, rather than read forever.
    """
    try:
        text = read_regular_file(path, MAX_CONFIG_BYTES, follow_symlinks=True).decode("utf-8")
    except (OSError, ValueError) as exc:  # UnsafeFile and UnicodeDecodeError are ValueErrors
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    return parse_config(text, root=path.parent, source=path)


def parse_config(text: str, *, root: Path, source: Path | None = None,
                 files: FileResolver | None = None, missing_models_ok: bool = False,
                 where: str | None = None) -> Config:
    """Parse config text; model paths resolve against ``root``.

    ``files`` finds the policy's key and root files (default: under ``root``).
    ``missing_models_ok`` records model paths that match nothing under ``root`` in
    ``missing_models`` instead of failing: a config read from another revision than
    the files it is matched against (a pull request's base) may list a model the
    head removed. ``where`` names the config in messages (default ``source``).
    """
    where = where or str(source or CONFIG_NAME)
    try:
        _refuse_deep_nesting(text, where)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {_one_line(exc)}") from exc
    if node is None:
        return Config(root=root, source=source)
    reader = _Reader(where, missing_models_ok)
    top = reader.mapping(node, "top level", _TOP_KEYS)
    defaults = _hash_options(reader, top.get("defaults"), HashOptions(), "defaults")
    models = _models(reader, top.get("models"), defaults, root)
    policy = _policy(reader, top.get("policy"), files or _local_files(root))
    lfs_warn = DEFAULT_LFS_WARN_SIZE
    if "lfs" in top:
        lfs = reader.mapping(top["lfs"], "lfs", {"warn_size"})
        if "warn_size" in lfs:
            lfs_warn = reader.positive_int(lfs["warn_size"], "lfs.warn_size")
    if "version" in top and reader.positive_int(top["version"], "version") != 1:
        raise ConfigError(f"{where}:{_line(top['version'])}: 'version' must be 1")
    return Config(root, models, defaults, policy, lfs_warn, source,
                  tuple(reader.missing_models))


def _local_files(root: Path) -> FileResolver:
    def resolve(name: str) -> Path | None:
        path = root / name
        return path if path.is_file() else None

    return resolve


MAX_YAML_DEPTH = 32  # the schema nests 5 deep


def _refuse_deep_nesting(text: str, where: str) -> None:
    """The config may come from the change under review, and PyYAML's composer recurses:
    measure the nesting on the (iterative) event stream first."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                line = f":{event.start_mark.line + 1}" if event.start_mark else ""
                raise ConfigError(f"{where}{line}: nests deeper than {MAX_YAML_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


_TOP_KEYS = {"version", "defaults", "models", "policy", "lfs"}
_OPTION_KEYS = {"hash", "serialization", "shard_size", "ignore", "allow_symlinks"}
_SIGNER_KEYS = {
    "identity",
    "identity_regex",
    "issuer",
    "repository",
    "workflow",
    "ref",
    "gitlab_project",
    "gitlab_host",
}
_POLICY_KEYS = {"signers", "keys", "certificate_roots", "not_before", "strict"}


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


class _Reader:
    """Typed accessors over YAML nodes that raise ConfigError with file:line."""

    def __init__(self, where: str, missing_models_ok: bool = False) -> None:
        self.where = where
        self.missing_models_ok = missing_models_ok
        self.missing_models: list[str] = []

    def fail(self, node: yaml.Node, message: str) -> ConfigError:
        return ConfigError(f"{self.where}:{_line(node)}: {message}")

    def mapping(self, node: yaml.Node, name: str, allowed: set[str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"'{name}' must be a mapping")
        result: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail(key_node, f"unknown key '{key}' in {name} (known: {known})")
            if key in result:
                raise self.fail(key_node, f"duplicate key '{key}' in {name}")
            result[key] = value_node
        return result

    def sequence(self, node: yaml.Node, name: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"'{name}' must be a list")
        return list(node.value)

    def _scalar(self, node: yaml.Node, name: str, kind: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"'{name}' must be {kind}")
        try:
            return yaml.SafeLoader(" ").construct_object(node)
        except (yaml.YAMLError, ValueError, KeyError, AttributeError, TypeError):
            # an explicit tag PyYAML cannot build: `!!int abc`, `!!bool maybe`, 5000 digits
            raise self.fail(node, f"'{name}' must be {kind}, not {node.value[:40]!r}") from None

    def string(self, node: yaml.Node, name: str) -> str:
        value = self._scalar(node, name, "a string")
        if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
            raise self.fail(node, f"'{name}' must be a string")
        text = str(node.value)
        if not text:
            raise self.fail(node, f"'{name}' must not be empty")
        return text

    def boolean(self, node: yaml.Node, name: str) -> bool:
        value = self._scalar(node, name, "true or false")
        if not isinstance(value, bool):
            raise self.fail(node, f"'{name}' must be true or false, not {node.value!r}")
        return value

    def positive_int(self, node: yaml.Node, name: str) -> int:
        value = self._scalar(node, name, "a positive integer")
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(node, f"'{name}' must be a positive integer, not {node.value!r}")
        return value

    def choice(self, node: yaml.Node, name: str, choices: tuple[str, ...]) -> str:
        value = self.string(node, name)
        if value not in choices:
            raise self.fail(node, f"'{name}' must be one of {', '.join(choices)}, not {value!r}")
        return value


def _hash_options(
    reader: _Reader, node: yaml.Node | None, base: HashOptions, name: str
) -> HashOptions:
    if node is None:
        return base
    keys = reader.mapping(node, name, _OPTION_KEYS)
    readers: dict[str, Callable[[yaml.Node, str], Any]] = {
        "hash": lambda n, k: reader.choice(n, k, HASH_ALGORITHMS),
        "serialization": lambda n, k: reader.choice(n, k, SERIALIZATIONS),
        "shard_size": reader.positive_int,
        "ignore": lambda n, k: tuple(_ignore_path(reader, i, k) for i in reader.sequence(n, k)),
        "allow_symlinks": reader.boolean,
    }
    changes = {key: readers[key](value, f"{name}.{key}") for key, value in keys.items()}
    options = replace(base, **changes)
    if options.hash == "blake3" and options.serialization == "shards":
        raise reader.fail(node, f"{name}: blake3 hashes files in parallel already; "
                                "use 'serialization: files' with it")
    return options


def _ignore_path(reader: _Reader, node: yaml.Node, name: str) -> str:
    text = reader.string(node, name)
    parts = text.replace("\\", "/").strip("/").split("/")
    if text.startswith("/") or ".." in parts or "\\" in text:
        raise reader.fail(node, f"'{name}' entries must be relative paths inside the model")
    return "/".join(part for part in parts if part not in ("", "."))


def _models(
    reader: _Reader, node: yaml.Node | None, defaults: HashOptions, root: Path
) -> tuple[ModelEntry, ...]:
    if node is None:
        return ()
    entries: list[ModelEntry] = []
    for item in reader.sequence(node, "models"):
        if isinstance(item, yaml.ScalarNode):
            pattern, options = reader.string(item, "models[]"), defaults
        else:
            keys = reader.mapping(item, "models[]", _OPTION_KEYS | {"path"})
            if "path" not in keys:
                raise reader.fail(item, "each entry in 'models' needs a 'path'")
            pattern = reader.string(keys["path"], "path")
            rest = [(k, v) for k, v in item.value if k.value != "path"]
            options = _hash_options(reader, yaml.MappingNode(item.tag, rest, item.start_mark),
                                    defaults, f"models[{pattern}]")
        entries.extend(ModelEntry(path, options, _line(item))
                       for path in _expand(reader, item, pattern, root))
    _reject_duplicates(reader, node, entries)
    return tuple(entries)


def _expand(reader: _Reader, node: yaml.Node, pattern: str, root: Path) -> Iterator[Path]:
    if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
        raise reader.fail(node, f"model path {pattern!r} must be relative to {root}")
    if glob.has_magic(pattern):
        matches = sorted(glob.glob(pattern, root_dir=root))
        if not matches and reader.missing_models_ok:
            reader.missing_models.append(pattern)
        elif not matches:
            raise reader.fail(node, f"model pattern {pattern!r} matches nothing under {root}")
        yield from (root / match for match in matches)
        return
    path = root / pattern
    if not path.exists() and not path.is_symlink() and reader.missing_models_ok:
        reader.missing_models.append(pattern)
        return
    if not path.exists():
        raise reader.fail(node, f"model path {pattern!r} does not exist under {root}")
    yield path


def _reject_duplicates(reader: _Reader, node: yaml.Node, entries: list[ModelEntry]) -> None:
    seen: dict[Path, int] = {}
    for entry in entries:
        key = entry.path.resolve()
        if key in seen:
            raise reader.fail(node, f"model {entry.path} is listed twice (lines {seen[key]} "
                                    f"and {entry.line})")
        seen[key] = entry.line


def _policy(reader: _Reader, node: yaml.Node | None, files: FileResolver) -> PolicyConfig:
    if node is None:
        return PolicyConfig()
    keys = reader.mapping(node, "policy", _POLICY_KEYS)
    signers = tuple(_signer(reader, item) for item in
                    (reader.sequence(keys["signers"], "policy.signers")
                     if "signers" in keys else []))
    return PolicyConfig(
        signers=signers,
        keys=_files(reader, keys.get("keys"), "policy.keys", files),
        certificate_roots=_files(reader, keys.get("certificate_roots"),
                                 "policy.certificate_roots", files),
        not_before=_timestamp(reader, keys["not_before"]) if "not_before" in keys else None,
        strict=reader.boolean(keys["strict"], "policy.strict") if "strict" in keys else False,
    )


def _signer(reader: _Reader, node: yaml.Node) -> SignerRule:
    keys = reader.mapping(node, "policy.signers[]", _SIGNER_KEYS)
    values = {key: reader.string(value, f"policy.signers[].{key}") for key, value in keys.items()}
    if "identity" in values and "identity_regex" in values:
        raise reader.fail(node, "a signer has either 'identity' or 'identity_regex', not both")
    if not values.keys() & {"identity", "identity_regex", "repository", "gitlab_project"}:
        raise reader.fail(node, "a signer needs 'identity', 'identity_regex', 'repository' "
                                "or 'gitlab_project'")
    return SignerRule(**values)


def _files(reader: _Reader, node: yaml.Node | None, name: str,
           files: FileResolver) -> tuple[Path, ...]:
    if node is None:
        return ()
    paths = []
    for item in reader.sequence(node, name):
        relative = reader.string(item, name)
        path = files(relative)
        if path is None:
            raise reader.fail(item, f"'{name}' file {relative} does not exist (paths are "
                                    "relative to the config's directory)")
        paths.append(path)
    return tuple(paths)


def _timestamp(reader: _Reader, node: yaml.Node) -> str:
    # YAML turns unquoted timestamps into datetimes; keep the source text and let the
    # policy parse it, so quoted and unquoted forms behave the same.
    if not isinstance(node, yaml.ScalarNode) or not node.value:
        raise reader.fail(node, "'policy.not_before' must be a timestamp")
    return str(node.value)
