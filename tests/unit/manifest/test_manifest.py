"""Manifest statements: round trips, canonical order, refusal of unsafe input, diffs."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelseal.errors import ManifestFormatError
from modelseal.manifest import (
    Manifest,
    Resource,
    Serialization,
    build_manifest,
    diff_manifests,
)

name_part = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\\x00:"),
                    min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))
names = st.lists(st.lists(name_part, min_size=1, max_size=4).map("/".join),
                 min_size=1, max_size=30, unique=True)
digests = st.binary(min_size=32, max_size=32)


def manifest_for(files: dict[str, bytes], shard_size: int | None = None) -> Manifest:
    method = "shards" if shard_size else "files"
    serialization = Serialization(method=method, shard_size=shard_size,
                                  ignore_paths=(".git", "model.sig"))
    if shard_size:
        sizes = {name: 2 * shard_size for name in files}
        return build_manifest("m", serialization, {n: [d, d] for n, d in files.items()}, sizes)
    return build_manifest("m", serialization, {n: [d] for n, d in files.items()},
                          dict.fromkeys(files, 1))


@given(names.flatmap(lambda ns: st.fixed_dictionaries({n: digests for n in ns})))
def test_statement_round_trips(files: dict[str, bytes]) -> None:
    manifest = manifest_for(files)
    assert Manifest.from_json(manifest.to_json()) == manifest
    assert Manifest.from_statement(json.loads(manifest.to_json())).to_json() == manifest.to_json()


@given(names.flatmap(lambda ns: st.fixed_dictionaries({n: digests for n in ns})),
       st.randoms(use_true_random=False))
def test_order_is_stable_under_any_listing_order(files: dict[str, bytes],
                                                 rng: random.Random) -> None:
    items = list(files.items())
    rng.shuffle(items)
    assert manifest_for(dict(items)).to_json() == manifest_for(files).to_json()


@given(names.flatmap(lambda ns: st.fixed_dictionaries({n: digests for n in ns})))
def test_sharded_statement_round_trips(files: dict[str, bytes]) -> None:
    manifest = manifest_for(files, shard_size=10)
    assert Manifest.from_json(manifest.to_json()) == manifest


def statement(**changes: Any) -> dict[str, Any]:
    base = manifest_for({"a.bin": b"\x01" * 32, "b/c.bin": b"\x02" * 32}).to_statement()
    for path, value in changes.items():
        target = base
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        target[keys[-1]] = value
    return base


def with_names(*names: str) -> dict[str, Any]:
    files = {f"placeholder{i}": bytes([i]) * 32 for i in range(len(names))}
    data = manifest_for(files).to_statement()
    for resource, name in zip(data["predicate"]["resources"], names, strict=True):
        resource["name"] = name
    return data


@pytest.mark.parametrize("bad_name", ["../escape", "a/../../b", "/etc/passwd", "C:/x",
                                      "a\\b", "a\x00b", "", "a//b", "./a"])
def test_unsafe_resource_names_are_refused(bad_name: str) -> None:
    with pytest.raises(ManifestFormatError, match="resource name"):
        Manifest.from_statement(with_names(bad_name))


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ManifestFormatError, match="duplicate"):
        Manifest.from_statement(with_names("a", "a"))


@pytest.mark.parametrize(("changes", "message"), [
    ({"predicateType": "https://example.com/other"}, "unknown predicateType"),
    ({"_type": "x"}, "_type"),
    ({"predicate.serialization.hash_type": "md5"}, "unknown hash_type"),
    ({"predicate.serialization.method": "tar"}, "unknown serialization method"),
    ({"subject": []}, "exactly one subject"),
    ({"subject.0.digest.sha256": "00" * 32}, "subject digest does not match"),
    ({"predicate.resources.0.digest": "zz" * 32}, "hex"),
    ({"predicate.resources.0.digest": "a" * 63 + "\n"}, "hex"),
    ({"predicate.resources.0.algorithm": "blake2b"}, "uses"),
    ({"predicate.resources": {"a": 1}}, "must be a list"),
])
def test_invalid_statements_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestFormatError, match=message):
        Manifest.from_statement(statement(**changes))


def test_not_json_is_refused() -> None:
    with pytest.raises(ManifestFormatError, match="not valid JSON"):
        Manifest.from_json(b'{"_type": ')


def test_float_shard_size_from_protobuf_is_accepted() -> None:
    data = manifest_for({"a": b"\x01" * 32}, shard_size=10).to_statement()
    data["predicate"]["serialization"]["shard_size"] = 10.0
    assert Manifest.from_statement(data).serialization.shard_size == 10


def test_written_json_is_deterministic() -> None:
    text = manifest_for({"b": b"\x02" * 32, "a": b"\x01" * 32}).to_json()
    assert text.endswith("}\n") and "\n  \"" in text
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"


def test_diff_reports_added_removed_modified_renamed() -> None:
    old = manifest_for({"keep": b"\x01" * 32, "gone": b"\x02" * 32, "edit": b"\x03" * 32,
                        "old-name": b"\x04" * 32})
    new = manifest_for({"keep": b"\x01" * 32, "edit": b"\x05" * 32, "new-name": b"\x04" * 32,
                        "fresh": b"\x06" * 32})
    diff = diff_manifests(old, new, sizes={"fresh": 10})
    assert diff.added == ("fresh",)
    assert diff.removed == ("gone",)
    assert diff.modified == ("edit",)
    assert diff.renamed == (("old-name", "new-name"),)
    assert diff.to_json()["added"] == [{"path": "fresh", "size": 10}]
    assert diff_manifests(new, new).empty


def test_diff_of_shards_groups_by_file() -> None:
    old = manifest_for({"w": b"\x01" * 32}, shard_size=10)
    resources = list(old.resources)
    resources[1] = Resource(resources[1].name, resources[1].algorithm, "ff" * 32)
    new = Manifest(old.name, old.serialization, tuple(resources))
    assert diff_manifests(old, new).modified == ("w",)


def test_settings_change_is_reported() -> None:
    old = manifest_for({"w": b"\x01" * 32})
    new = Manifest(old.name, Serialization(hash_type="sha256", ignore_paths=(".git",)),
                   old.resources)
    assert "ignore_paths" in diff_manifests(old, new).settings[0]


any_names = st.lists(st.text(min_size=1, max_size=12), min_size=0, max_size=8, unique=True)


@given(any_names, st.text(max_size=10))
def test_fast_writer_equals_the_json_module(raw_names: list[str], model_name: str) -> None:
    resources = tuple(Resource(name, "sha256", f"{i:064x}") for i, name in enumerate(raw_names))
    manifest = Manifest(model_name, Serialization(ignore_paths=(".git",)), resources)
    expected = json.dumps(manifest.to_statement(), sort_keys=True, indent=2,
                          ensure_ascii=False) + "\n"
    assert manifest.to_json() == expected
