"""Our manifests equal the reference implementation's (model-signing) exactly."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from model_signing import hashing as ref_hashing
from model_signing._signing import signing as ref_signing

from modelseal.config import HashOptions
from modelseal.engine import HashRun, scan_target
from modelseal.targets import ModelTarget

NO_CACHE = HashRun(use_cache=False, progress=False)


def reference_statement(path: Path, config: Any) -> dict[str, Any]:
    manifest = config.hash(path)
    statement = ref_signing.Payload(manifest).statement.pb
    return json.loads(json_format.MessageToJson(statement))  # type: ignore[no-any-return]


def ours(path: Path, options: HashOptions | None = None) -> dict[str, Any]:
    target = ModelTarget(path, options or HashOptions())
    return scan_target(target, NO_CACHE).manifest.to_statement()


def assert_same_resources(mine: dict[str, Any], ref: dict[str, Any]) -> None:
    assert mine["predicate"]["resources"] == ref["predicate"]["resources"]
    assert mine["subject"] == ref["subject"]


def write(root: Path, name: str, data: bytes) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def tricky_model(tmp_path: Path) -> Path:
    root = tmp_path / "tricky model"
    names = [
        "a/b", "a-b", "a.txt", "a b.bin", "a/c/d/e/f/g/h/deep.bin", "ünïcode/模型.safetensors",
        "empty", "z/empty-too", "A", "a_b", "b/a", "b.a", ".hidden", "a/.hidden",
    ]
    for index, name in enumerate(names):
        size = 0 if "empty" in name else 100 + 977 * index
        write(root, name, os.urandom(size))
    return root


def test_files_mode_matches_reference(tricky_model: Path) -> None:
    ref = reference_statement(tricky_model, ref_hashing.Config().use_file_serialization())
    assert_same_resources(ours(tricky_model), ref)


def test_resource_order_is_component_wise(tricky_model: Path) -> None:
    names = [r["name"] for r in ours(tricky_model)["predicate"]["resources"]]
    assert names.index("a/b") < names.index("a-b") < names.index("a.txt")


def test_blake2b_matches_reference(tricky_model: Path) -> None:
    config = ref_hashing.Config().use_file_serialization(hashing_algorithm="blake2")
    ref = reference_statement(tricky_model, config)
    assert_same_resources(ours(tricky_model, HashOptions(hash="blake2b")), ref)


def test_blake3_matches_reference(tricky_model: Path) -> None:
    config = ref_hashing.Config().use_file_serialization(hashing_algorithm="blake3")
    ref = reference_statement(tricky_model, config)
    assert_same_resources(ours(tricky_model, HashOptions(hash="blake3")), ref)


@pytest.mark.parametrize("shard_size", [7, 100, 1000, 4096])
def test_shards_match_reference(tricky_model: Path, shard_size: int) -> None:
    config = ref_hashing.Config().use_shard_serialization(shard_size=shard_size)
    ref = reference_statement(tricky_model, config)
    mine = ours(tricky_model, HashOptions(serialization="shards", shard_size=shard_size))
    assert_same_resources(mine, ref)
    assert float(mine["predicate"]["serialization"]["shard_size"]) == shard_size


def test_single_file_model_matches_reference(tmp_path: Path) -> None:
    weights = tmp_path / "model.gguf"
    weights.write_bytes(os.urandom(5000))
    ref = reference_statement(weights, ref_hashing.Config().use_file_serialization())
    mine = ours(weights)
    assert_same_resources(mine, ref)
    assert [r["name"] for r in mine["predicate"]["resources"]] == ["."]


def test_ignored_paths_are_recorded_and_skipped(tiny_model: Path) -> None:
    (tiny_model / ".git").mkdir()
    (tiny_model / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tiny_model / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    (tiny_model / "model.sig").write_text("{}")
    (tiny_model / "model.manifest.json").write_text("{}")
    (tiny_model / "notes").mkdir()
    (tiny_model / "notes" / "draft.txt").write_text("scratch")
    statement = ours(tiny_model, HashOptions(ignore=("notes",)))
    names = [r["name"] for r in statement["predicate"]["resources"]]
    assert names == ["README.md", "config.json", "model.safetensors", "tokenizer.json"]
    recorded = statement["predicate"]["serialization"]["ignore_paths"]
    assert recorded == sorted([".git", ".gitattributes", ".github", ".gitignore", "model.sig",
                               "model.manifest.json", "notes"])
    # the reference, told the same ignores, hashes the same files
    config = ref_hashing.Config().set_ignored_paths(
        paths=[tiny_model / p for p in ("model.sig", "model.manifest.json", "notes")])
    ref = reference_statement(tiny_model, config.use_file_serialization())
    assert_same_resources(statement, ref)
