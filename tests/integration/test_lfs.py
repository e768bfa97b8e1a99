"""Git LFS: pointer files stand in for their content only where that is sound."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelseal import lfs
from modelseal.config import HashOptions
from modelseal.engine import HashRun, check_target, scan_target
from modelseal.errors import LfsContentMissing
from modelseal.hashing import HashSpec
from modelseal.targets import ModelTarget
from tests.conftest import run_modelseal
from tests.git_helpers import (
    Git,
    add_model,
    configure,
    git_env,
    git_home_fixture,  # noqa: F401 (fixture)
    new_repo,
    pointer_for,
    repo_fixture,  # noqa: F401 (fixture)
)

OID = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393"
POINTER = f"version https://git-lfs.github.com/spec/v1\noid sha256:{OID}\nsize 12345\n"

needs_git_lfs = pytest.mark.skipif(shutil.which("git-lfs") is None,
                                   reason="git-lfs is not installed (apt-get install git-lfs)")


# -- the pointer format ------------------------------------------------------------


def test_a_pointer_is_parsed() -> None:
    assert lfs.parse_pointer(POINTER.encode()) == lfs.LfsPointer(OID, 12345)


def test_extension_lines_sort_before_oid() -> None:
    text = POINTER.replace("oid", f"ext-0-foo sha256:{OID}\noid", 1)
    assert lfs.parse_pointer(text.encode()) == lfs.LfsPointer(OID, 12345)


@pytest.mark.parametrize("text", [
    POINTER.replace("spec/v1", "spec/v2"),
    POINTER.replace(OID, OID.upper()),
    POINTER.replace(OID, OID[:-1]),
    POINTER.replace("sha256:", "sha512:"),
    POINTER.replace("size 12345\n", ""),
    POINTER.replace("size 12345", "size 012"),
    POINTER.replace("size 12345", "size -1"),
    POINTER.rstrip("\n"),
    POINTER + "extra line\n",
    POINTER + "zzz value\n" + "x" * 1100 + "\n",
    f"oid sha256:{OID}\nversion https://git-lfs.github.com/spec/v1\nsize 1\n",
    POINTER.replace("\n", "\r\n"),
    "version https://git-lfs.github.com/spec/v1\nsize 1\noid sha256:" + OID + "\n",
])
def test_anything_else_is_not_a_pointer(text: str) -> None:
    assert lfs.parse_pointer(text.encode()) is None


@given(st.binary(max_size=2048))
def test_random_bytes_are_never_a_pointer_and_never_crash(data: bytes) -> None:
    assert lfs.parse_pointer(data) is None


def test_only_small_files_are_opened(tmp_path: Path) -> None:
    path = tmp_path / "big.safetensors"
    path.write_text(POINTER + "#" * 2000)
    assert lfs.read_pointer(path, path.stat().st_size) is None
    path.write_text(POINTER)
    assert lfs.read_pointer(path, path.stat().st_size) == lfs.LfsPointer(OID, 12345)


def test_gitattributes_line() -> None:
    assert lfs.gitattributes_line("models/a/model.safetensors") == \
        "*.safetensors filter=lfs diff=lfs merge=lfs -text"
    assert lfs.gitattributes_line("models/a/weights") == \
        "models/a/weights filter=lfs diff=lfs merge=lfs -text"


# -- pointers in the hashing path --------------------------------------------------


def _model_with_pointer(root: Path) -> tuple[Path, bytes]:
    model = root / "m"
    model.mkdir()
    weights = os.urandom(5000)
    (model / "weights.safetensors").write_text(pointer_for(weights))
    (model / "config.json").write_text("{}\n")
    return model, weights


def test_sha256_files_uses_the_oid_and_says_so(tmp_path: Path) -> None:
    model, weights = _model_with_pointer(tmp_path)
    scan = scan_target(ModelTarget(model, HashOptions()), HashRun(use_cache=False))
    digests = scan.manifest.file_digests()
    assert digests["weights.safetensors"] == hashlib.sha256(weights).hexdigest()
    assert scan.sizes["weights.safetensors"] == 5000
    assert list(scan.lfs_pointers) == ["weights.safetensors"]
    # the same manifest as with the real bytes in place
    (model / "weights.safetensors").write_bytes(weights)
    real = scan_target(ModelTarget(model, HashOptions()), HashRun(use_cache=False))
    assert real.manifest == scan.manifest and not real.lfs_pointers


@pytest.mark.parametrize("options", [HashOptions(hash="blake2b"),
                                     HashOptions(serialization="shards", shard_size=1024)])
def test_other_settings_need_the_content(tmp_path: Path, options: HashOptions) -> None:
    model, _ = _model_with_pointer(tmp_path)
    with pytest.raises(LfsContentMissing, match="LFS content not present: run git lfs pull"):
        scan_target(ModelTarget(model, options), HashRun(use_cache=False))


def test_require_content_refuses_pointers(tmp_path: Path) -> None:
    model, _ = _model_with_pointer(tmp_path)
    with pytest.raises(LfsContentMissing, match="--require-content"):
        check_target(ModelTarget(model, HashOptions()), HashRun(require_content=True))
    result = run_modelseal(["check", "--require-content", str(model)])
    assert result.returncode == 2
    assert result.stderr.startswith("modelseal: error: LFS content not present: run git lfs pull")
    assert "weights.safetensors is a pointer" in result.stderr


def test_pointer_digests_explain_the_algorithm() -> None:
    pointer = {"w": lfs.LfsPointer(OID, 1)}
    with pytest.raises(LfsContentMissing, match="not sha256-sharded-1024"):
        lfs.pointer_digests(pointer, HashSpec("sha256", 1024), require_content=False, label="m")


# -- real git-lfs ------------------------------------------------------------------


def _lfs_origin(repo: Git) -> bytes:
    """Origin with `git lfs install --local`, *.safetensors tracked, a model committed."""
    repo("lfs", "install", "--local")
    repo("lfs", "track", "*.safetensors")
    weights = os.urandom(300_000)
    add_model(repo, "models/bert", weights=weights)
    configure(repo, ["models/bert"])
    repo("add", "-A")
    assert repo.modelseal("hook", "manifest").returncode == 1
    repo("add", "-A")
    repo.commit("model in LFS")
    lfs_files = repo("lfs", "ls-files", "--name-only").stdout.split()
    assert lfs_files == ["models/bert/model.safetensors"]
    return weights


def _clone(origin: Git, name: str, home: Path, *, skip_smudge: bool) -> Git:
    env = git_env(home)
    clone = Git(origin.path.parent, env)
    clone("lfs", "install")  # the global (test-home) filter config a clone needs
    extra = {"GIT_LFS_SKIP_SMUDGE": "1"} if skip_smudge else {}
    clone("clone", "-q", str(origin.path), name, env=extra)
    return Git(origin.path.parent / name, {**env, **extra})


@needs_git_lfs
def test_a_skip_smudge_clone_gets_the_same_manifest_without_the_weights(
        repo: Git, git_home: Path) -> None:
    weights = _lfs_origin(repo)
    manifest = (repo.path / "models/bert/model.manifest.json").read_bytes()
    full = _clone(repo, "full", git_home, skip_smudge=False)
    skip = _clone(repo, "skip", git_home, skip_smudge=True)
    assert (full.path / "models/bert/model.safetensors").read_bytes() == weights
    pointer = (skip.path / "models/bert/model.safetensors").read_bytes()
    assert pointer == pointer_for(weights).encode()

    full_check = full.modelseal("check", "models/bert")
    assert full_check.returncode == 0, full_check.stdout + full_check.stderr
    assert "pointer" not in full_check.stdout + full_check.stderr

    skip_check = skip.modelseal("check", "models/bert")
    assert skip_check.returncode == 0, skip_check.stdout + skip_check.stderr
    assert "model.safetensors is a Git LFS pointer; used the pointer's sha256 oid" \
        in skip_check.stdout
    as_json = skip.modelseal("check", "--format", "json", "models/bert").stdout
    assert '"lfs_pointers": [\n        "model.safetensors"\n      ]' in as_json
    hook = skip.modelseal("hook", "check", "--all")
    assert hook.returncode == 0, hook.stdout
    assert ("models/bert: model.safetensors is a Git LFS pointer; used the pointer's sha256 "
            "oid as the file digest (content not downloaded)") in hook.stdout
    for clone in (full, skip):
        refreshed = clone.modelseal("manifest", "models/bert")
        assert "manifest up to date" in refreshed.stdout
        assert (clone.path / "models/bert/model.manifest.json").read_bytes() == manifest
    digest = full.modelseal("digest", "models/bert").stdout
    assert skip.modelseal("digest", "models/bert").stdout == digest

    strict = skip.modelseal("check", "--require-content", "models/bert")
    assert strict.returncode == 2
    assert "LFS content not present: run git lfs pull" in strict.stderr

    skip("lfs", "pull", env={"GIT_LFS_SKIP_SMUDGE": "0"})
    assert (skip.path / "models/bert/model.safetensors").read_bytes() == weights
    assert skip.modelseal("check", "--require-content", "models/bert").returncode == 0


@needs_git_lfs
def test_a_weight_change_in_an_unsmudged_checkout_is_still_caught(
        repo: Git, git_home: Path) -> None:
    _lfs_origin(repo)
    skip = _clone(repo, "skip", git_home, skip_smudge=True)
    other = os.urandom(1000)
    (skip.path / "models/bert/model.safetensors").write_text(pointer_for(other))
    result = skip.modelseal("check", "models/bert")
    assert result.returncode == 1
    assert "~ modified  model.safetensors (1000 B)" in result.stdout


@needs_git_lfs
def test_lfs_tracked_weights_get_no_size_warning(repo: Git) -> None:
    repo("lfs", "install", "--local")
    repo("lfs", "track", "*.safetensors")
    add_model(repo, "models/bert", weights=os.urandom(5000))
    add_model(repo, "models/plain", weights=b"")
    (repo.path / "models/plain/model.bin").write_bytes(os.urandom(5000))
    configure(repo, ["models/bert", "models/plain"], "lfs:\n  warn_size: 4096\n")
    repo("add", "-A")
    result = repo.modelseal("hook", "manifest")
    assert "models/bert/model.safetensors is" not in result.stderr
    assert "models/plain/model.bin is 4.9 KiB and not tracked by Git LFS" in result.stderr
    assert "*.bin filter=lfs diff=lfs merge=lfs -text" in result.stderr


@needs_git_lfs
def test_revision_sizes_are_the_real_sizes_of_lfs_files(repo: Git) -> None:
    from modelseal.gitrepo import compare_revisions

    _lfs_origin(repo)
    base = repo("rev-parse", "HEAD").stdout.strip()
    bigger = os.urandom(400_000)
    (repo.path / "models/bert/model.safetensors").write_bytes(bigger)
    repo("add", "-A")
    repo.modelseal("hook", "manifest")
    repo("add", "-A")
    repo.commit("bigger")
    target = ModelTarget(repo.path / "models/bert", HashOptions())
    [change] = compare_revisions(repo.path, [target], base, "HEAD")
    assert change.diff.modified == ("model.safetensors",)
    assert change.base_sizes["model.safetensors"] == 300_000
    assert change.head_sizes["model.safetensors"] == 400_000


def test_new_repo_helper_isolated(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "r", tmp_path / "home")
    assert repo("config", "user.email").stdout.strip() == "test@example.com"
