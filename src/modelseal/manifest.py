"""Manifest: the list of a model's file digests, as an OMS in-toto statement.

The committed `model.manifest.json` is exactly the statement a signature wraps, so
the two can be compared byte for byte. Everything read from disk or from a bundle
goes through `Manifest.from_statement`, which refuses unsafe or inconsistent data.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from modelseal.errors import ManifestFormatError
from modelseal.hashing import HashSpec, root_digest
from modelseal.untrusted import UnsafeJson, loads_json
from modelseal.walk import SINGLE_FILE_NAME, name_sort_key

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
LEGACY_PREDICATE_TYPE = "https://model_signing/Digests/v0.1"
LEGACY_MODEL_NAME = "compat-undefined-not-present"
MAX_RESOURCES = 1_000_000
DIGEST_SIZES = {"sha256": 32, "blake2b": 64, "blake3": 32}
_SHARD_NAME = re.compile(r"(?P<path>.+):(?P<start>[0-9]{1,20}):(?P<end>[0-9]{1,20})", re.DOTALL)
_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True)
class Resource:
    """One signed item: a file (or a shard ``path:start:end``) and its digest."""

    name: str
    algorithm: str
    digest: str

    @property
    def path(self) -> str:
        """The file this resource belongs to (the name without a shard suffix)."""
        match = self._shard_match()
        return match.group("path") if match else self.name

    def sort_key(self) -> tuple[tuple[str, ...], int, int]:
        match = self._shard_match()
        if match:
            return (name_sort_key(match["path"]), int(match["start"]), int(match["end"]))
        return (name_sort_key(self.name), 0, 0)

    def _shard_match(self) -> re.Match[str] | None:
        # the cheap test first: most models are hashed per file
        return _SHARD_NAME.fullmatch(self.name) if "-sharded-" in self.algorithm else None


@dataclass(frozen=True)
class Serialization:
    """How the model was turned into resources; recorded so verifiers can redo it."""

    method: str = "files"
    hash_type: str = "sha256"
    allow_symlinks: bool = False
    ignore_paths: tuple[str, ...] = ()
    shard_size: int | None = None

    @property
    def spec(self) -> HashSpec:
        return HashSpec(self.hash_type, self.shard_size if self.method == "shards" else None)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "method": self.method,
            "hash_type": self.hash_type,
            "allow_symlinks": self.allow_symlinks,
        }
        if self.ignore_paths:
            data["ignore_paths"] = list(self.ignore_paths)
        if self.method == "shards":
            data["shard_size"] = self.shard_size
        return data


@dataclass(frozen=True)
class Manifest:
    """A model's name, serialization settings and resources in canonical order."""

    name: str
    serialization: Serialization
    resources: tuple[Resource, ...]
    legacy: bool = field(default=False, compare=False)

    @property
    def root_digest(self) -> str:
        return root_digest([bytes.fromhex(r.digest) for r in self.resources]).hex()

    @property
    def single_file(self) -> bool:
        return {r.path for r in self.resources} == {SINGLE_FILE_NAME}

    def as_single_file(self, basename: str) -> Manifest:
        """This statement read as a single-file one when its only file is ``basename``.

        OMS v1.0 section 6.1.2 names a single-file model's one resource by the file's
        basename; `model_signing` 1.1.1 (and modelseal) write ``.``. Verification accepts
        both: a statement whose resources all belong to the one file ``basename`` is read
        as if that file were named ``.``. Any other statement is returned unchanged.
        """
        if self.single_file or {r.path for r in self.resources} != {basename}:
            return self
        renamed = tuple(replace(r, name=SINGLE_FILE_NAME + r.name[len(basename):])
                        for r in self.resources)
        return Manifest(self.name, self.serialization, renamed, self.legacy)

    def sorted(self) -> Manifest:
        ordered = tuple(sorted(self.resources, key=Resource.sort_key))
        return Manifest(self.name, self.serialization, ordered, self.legacy)

    def file_digests(self) -> dict[str, str]:
        """path -> one string standing for the file's content (shards joined)."""
        parts: dict[str, list[str]] = {}
        for resource in self.resources:
            # a shard is named path:start:end; keep only start:end so renames still match
            shard = resource.name[len(resource.path) + 1:]
            parts.setdefault(resource.path, []).append(
                f"{shard}={resource.digest}" if shard else resource.digest)
        return {path: ",".join(values) for path, values in parts.items()}

    def to_statement(self) -> dict[str, Any]:
        return {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": self.name, "digest": {"sha256": self.root_digest}}],
            "predicateType": PREDICATE_TYPE,
            "predicate": {
                "serialization": self.serialization.to_json(),
                "resources": [
                    {"name": r.name, "algorithm": r.algorithm, "digest": r.digest}
                    for r in self.resources
                ],
            },
        }

    def to_json(self) -> str:
        """Deterministic text: sorted keys, 2-space indent, trailing newline.

        Identical to ``json.dumps(statement, sort_keys=True, indent=2,
        ensure_ascii=False)``; the resource list is written by hand because the
        indenting encoder is pure Python and slow on tens of thousands of files.
        """
        statement = self.to_statement()
        if not self.resources:
            return json.dumps(statement, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        statement["predicate"]["resources"] = _RESOURCES_MARKER
        text = json.dumps(statement, sort_keys=True, indent=2, ensure_ascii=False)
        # "predicate" sorts before "subject", so the first marker is the resource list
        return text.replace(f'"{_RESOURCES_MARKER}"', _resources_json(self.resources), 1) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str = "manifest") -> Manifest:
        try:
            data = loads_json(text)
        except UnsafeJson as exc:
            raise ManifestFormatError(f"{source}: {exc}") from None
        return cls.from_statement(data, source=source)

    @classmethod
    def from_statement(cls, data: Any, *, source: str = "statement") -> Manifest:
        return _StatementReader(source).read(data)


_RESOURCES_MARKER = "modelseal:resources"


def _resources_json(resources: tuple[Resource, ...]) -> str:
    def item(resource: Resource) -> str:
        algorithm = json.dumps(resource.algorithm, ensure_ascii=False)
        name = json.dumps(resource.name, ensure_ascii=False)
        return (f'      {{\n        "algorithm": {algorithm},'
                f'\n        "digest": {json.dumps(resource.digest)},'
                f'\n        "name": {name}\n      }}')

    return "[\n" + ",\n".join(item(r) for r in resources) + "\n    ]"


def build_manifest(name: str, serialization: Serialization,
                   digests: Mapping[str, list[bytes]], sizes: Mapping[str, int]) -> Manifest:
    """Assemble a manifest from per-file digests (one per shard in shards mode)."""
    spec = serialization.spec
    resources: list[Resource] = []
    for path in sorted(digests, key=name_sort_key):
        if spec.shard_size is None:
            resources.append(Resource(path, spec.resource_algorithm, digests[path][0].hex()))
            continue
        bounds = _bounds(sizes[path], spec.shard_size)
        resources.extend(Resource(f"{path}:{start}:{end}", spec.resource_algorithm, d.hex())
                         for (start, end), d in zip(bounds, digests[path], strict=True))
    return Manifest(name, serialization, tuple(resources))


def _bounds(size: int, shard_size: int) -> list[tuple[int, int]]:
    return [(s, min(s + shard_size, size)) for s in range(0, size, shard_size)]


class _StatementReader:
    """Validates an untrusted statement field by field; errors name the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str) -> ManifestFormatError:
        return ManifestFormatError(f"{self.source}: {message}")

    def read(self, data: Any) -> Manifest:
        if not isinstance(data, dict):
            raise self.fail("expected a JSON object (an in-toto statement)")
        if data.get("_type") != STATEMENT_TYPE:
            raise self.fail(f"_type must be {STATEMENT_TYPE!r}, got {data.get('_type')!r}")
        predicate_type = data.get("predicateType")
        if predicate_type == LEGACY_PREDICATE_TYPE:
            return self._legacy(data)
        if predicate_type != PREDICATE_TYPE:
            raise self.fail(f"unknown predicateType {predicate_type!r} "
                            f"(expected {PREDICATE_TYPE!r})")
        name, subject_digest = self._subject(data.get("subject"))
        predicate = self._object(data.get("predicate"), "predicate")
        serialization = self._serialization(predicate.get("serialization"))
        resources = self._resources(predicate.get("resources"), serialization)
        manifest = Manifest(name, serialization, resources)
        if manifest.root_digest != subject_digest:
            raise self.fail("subject digest does not match the resources (the statement is "
                            "inconsistent or was edited)")
        return manifest

    def _object(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{where} must be an object")
        return value

    def _subject(self, subjects: Any) -> tuple[str, str]:
        if not isinstance(subjects, list) or len(subjects) != 1:
            raise self.fail("expected exactly one subject")
        subject = self._object(subjects[0], "subject")
        name = subject.get("name")
        digest = self._object(subject.get("digest"), "subject.digest").get("sha256")
        if not isinstance(name, str) or not isinstance(digest, str):
            raise self.fail("subject needs a name and a sha256 digest")
        self._hex(digest, 32, "subject.digest.sha256")
        return name, digest

    def _serialization(self, value: Any) -> Serialization:
        raw = self._object(value, "predicate.serialization")
        method = raw.get("method")
        hash_type = raw.get("hash_type")
        # isinstance first: a list or an object here is unhashable, and `in` would raise
        if not isinstance(method, str) or method not in ("files", "shards"):
            raise self.fail(f"unknown serialization method {method!r}")
        if not isinstance(hash_type, str) or hash_type not in DIGEST_SIZES:
            raise self.fail(f"unknown hash_type {hash_type!r} (expected sha256, blake2b, blake3)")
        allow = raw.get("allow_symlinks", False)
        if not isinstance(allow, bool):
            raise self.fail("allow_symlinks must be true or false")
        ignore = raw.get("ignore_paths", [])
        if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
            raise self.fail("ignore_paths must be a list of strings")
        for path in ignore:
            check_resource_name(path, self.fail)
        shard_size = self._shard_size(raw.get("shard_size")) if method == "shards" else None
        return Serialization(method, hash_type, allow, tuple(ignore), shard_size)

    def _shard_size(self, value: Any) -> int:
        # protobuf's Struct turns integers into floats, so 1024.0 is accepted too
        if isinstance(value, float) and value.is_integer() and math.isfinite(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail("shard_size must be a positive integer")
        return value

    def _resources(self, value: Any, serialization: Serialization) -> tuple[Resource, ...]:
        if not isinstance(value, list):
            raise self.fail("predicate.resources must be a list")
        if len(value) > MAX_RESOURCES:
            raise self.fail(f"too many resources ({len(value)} > {MAX_RESOURCES})")
        expected_algorithm = serialization.spec.resource_algorithm
        seen: set[str] = set()
        resources = []
        for item in value:
            resource = self._resource(self._object(item, "resource"), serialization)
            if resource.algorithm != expected_algorithm:
                raise self.fail(f"resource {resource.name!r} uses {resource.algorithm!r}, "
                                f"but the serialization says {expected_algorithm!r}")
            if resource.name in seen:
                raise self.fail(f"duplicate resource name {resource.name!r}")
            seen.add(resource.name)
            resources.append(resource)
        return tuple(resources)

    def _resource(self, item: dict[str, Any], serialization: Serialization) -> Resource:
        name, algorithm, digest = item.get("name"), item.get("algorithm"), item.get("digest")
        if not (isinstance(name, str) and isinstance(algorithm, str) and isinstance(digest, str)):
            raise self.fail("each resource needs string name, algorithm and digest")
        digest = digest.lower()
        self._hex(digest, DIGEST_SIZES[serialization.hash_type], f"digest of {name!r}")
        path = name
        if serialization.method == "shards":
            match = _SHARD_NAME.fullmatch(name)
            if not match or int(match["start"]) >= int(match["end"]):
                raise self.fail(f"shard name {name!r} is not 'path:start:end'")
            path = match["path"]
        check_resource_name(path, self.fail)
        return Resource(name, algorithm, digest)

    def _hex(self, value: str, size: int, where: str) -> None:
        if len(value) != 2 * size or not _HEX.fullmatch(value):
            raise self.fail(f"{where} must be {2 * size} hex digits")

    def _legacy(self, data: dict[str, Any]) -> Manifest:
        subjects = data.get("subject")
        if not isinstance(subjects, list) or len(subjects) > MAX_RESOURCES:
            raise self.fail("legacy statement needs a list of subjects")
        resources = []
        for subject in subjects:
            item = self._object(subject, "subject")
            name = item.get("name")
            digest = self._object(item.get("digest"), "subject.digest").get("sha256")
            if not isinstance(name, str) or not isinstance(digest, str):
                raise self.fail("legacy subjects need a name and a sha256 digest")
            check_resource_name(name, self.fail)
            self._hex(digest.lower(), 32, f"digest of {name!r}")
            resources.append(Resource(name, "sha256", digest.lower()))
        if len({r.name for r in resources}) != len(resources):
            raise self.fail("duplicate subject names")
        return Manifest(LEGACY_MODEL_NAME, Serialization(), tuple(resources), legacy=True)


def check_resource_name(name: str, fail: Any) -> None:
    """Refuse names that could reach outside the model directory or are not portable."""
    if name == SINGLE_FILE_NAME:
        return
    if not name or "\x00" in name or "\\" in name:
        raise fail(f"resource name {name!r} is empty or holds a NUL or backslash")
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800"): no file has that name
            raise fail(f"resource name {name!r} is not valid Unicode") from None
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise fail(f"resource name {name!r} is an absolute path")
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise fail(f"resource name {name!r} has an empty, '.' or '..' component")


@dataclass(frozen=True)
class ManifestDiff:
    """What changed between two manifests, file by file."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    settings: tuple[str, ...] = ()
    sizes: Mapping[str, int] = field(default_factory=dict, compare=False)
    old_sizes: Mapping[str, int] = field(default_factory=dict, compare=False)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.modified or self.renamed or self.settings)

    @property
    def changed_files(self) -> int:
        return len(self.added) + len(self.removed) + len(self.modified) + len(self.renamed)

    def to_json(self) -> dict[str, Any]:
        return {
            "added": [{"path": p, "size": self.sizes.get(p)} for p in self.added],
            "removed": [{"path": p, "size": self.old_sizes.get(p)} for p in self.removed],
            "modified": [{"path": p, "size": self.sizes.get(p),
                          "old_size": self.old_sizes.get(p)} for p in self.modified],
            "renamed": [{"from": a, "to": b, "size": self.sizes.get(b)} for a, b in self.renamed],
            "settings": list(self.settings),
        }


def diff_manifests(old: Manifest | None, new: Manifest, *,
                   sizes: Mapping[str, int] | None = None,
                   old_sizes: Mapping[str, int] | None = None) -> ManifestDiff:
    """Compare ``old`` (e.g. committed or signed) with ``new`` (e.g. on disk)."""
    before = old.file_digests() if old else {}
    after = new.file_digests()
    added = [p for p in after if p not in before]
    removed = [p for p in before if p not in after]
    modified = [p for p in after if p in before and before[p] != after[p]]
    renamed: list[tuple[str, str]] = []
    by_digest: dict[str, list[str]] = {}
    for path in removed:
        by_digest.setdefault(before[path], []).append(path)
    for path in list(added):
        candidates = by_digest.get(after[path])
        if candidates:
            source = candidates.pop(0)
            renamed.append((source, path))
            added.remove(path)
            removed.remove(source)
    settings = _settings_changes(old, new) if old else []
    order = name_sort_key
    return ManifestDiff(
        tuple(sorted(added, key=order)), tuple(sorted(removed, key=order)),
        tuple(sorted(modified, key=order)), tuple(sorted(renamed, key=lambda r: order(r[1]))),
        tuple(settings), dict(sizes or {}), dict(old_sizes or {}),
    )


def _settings_changes(old: Manifest, new: Manifest) -> list[str]:
    changes = []
    a, b = old.serialization, new.serialization
    for label in ("method", "hash_type", "shard_size", "allow_symlinks"):
        if getattr(a, label) != getattr(b, label):
            changes.append(f"{label}: {getattr(a, label)} -> {getattr(b, label)}")
    if set(a.ignore_paths) != set(b.ignore_paths):
        changes.append(f"ignore_paths: {sorted(a.ignore_paths)} -> {sorted(b.ignore_paths)}")
    if old.name != new.name:
        changes.append(f"model name: {old.name} -> {new.name}")
    return changes
