"""`report` hashes each model once: the manifest check and the verification share one
scan, hashed from disk with no stat cache (CI starts cold), whenever the signature
hashes the way the config does. Measured by counting the bytes the hasher reads."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from modelseal import cli, hashing
from tests.git_helpers import Git, add_model, configure, new_repo
from tests.signing_support import key_pair

WEIGHTS = os.urandom(3 * 1024 * 1024)


def _keys(folder: Path) -> tuple[Path, Path]:
    return key_pair(folder, "key.pem", "key.pub")


def _signed_repo(root: Path, extra_config: str = "") -> tuple[Git, Path]:
    """main: a signed model; branch pr: a README change to the repository only."""
    repo = new_repo(root / "origin", root / "home")
    private, public = _keys(root)
    add_model(repo, "models/bert", weights=WEIGHTS)
    configure(repo, ["models/bert"])
    assert repo.modelseal("manifest").returncode == 0
    signed = repo.modelseal("sign", "models/bert", "--method", "key", "--key", str(private))
    assert signed.returncode == 0, signed.stderr
    if extra_config:  # the config's hashing changes after the model was signed
        configure(repo, ["models/bert"], extra_config)
        assert repo.modelseal("manifest").returncode == 0
    repo("add", "-A")
    repo.commit("signed model")
    repo("checkout", "-q", "-b", "pr")
    repo.write("README.md", "docs\n")
    repo("add", "-A")
    repo.commit("the pull request")
    return repo, public


def _cold_clone(repo: Git, root: Path) -> Git:
    """What CI starts from: a fresh clone, so no stat cache in its git directory."""
    repo("clone", "-q", "--branch", "pr", str(repo.path), str(root / "ci"))
    clone = Git(root / "ci", repo.env)
    clone("fetch", "-q", "origin", "main:main")
    return clone


def _report(clone: Git, public: Path, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, object], Counter[str]]:
    """Run `report` in this process, counting the bytes hashed per file."""
    read: Counter[str] = Counter()
    original = hashing._hash_task

    def counting(task: hashing._Task, algorithm: str,
                 progress: hashing.ByteCounter | None) -> bytes:
        read[Path(task.entry.path).name] += task.end - task.start
        return original(task, algorithm, progress)

    monkeypatch.setattr(hashing, "_hash_task", counting)
    for name, value in clone.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(clone.path)
    capsys.readouterr()
    code = cli.main(["report", "--base", "main", "--key", str(public), "--format", "json",
                     "--no-progress"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0, document
    return document, read


def _state(document: dict[str, object]) -> str:
    models = document["models"]
    assert isinstance(models, list) and len(models) == 1
    return str(models[0]["state"])


def test_report_hashes_each_file_once_with_no_stat_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo, public = _signed_repo(tmp_path)
    clone = _cold_clone(repo, tmp_path)
    document, read = _report(clone, public, monkeypatch, capsys)
    assert _state(document) == "signed-unchanged"
    model = clone.path / "models/bert"
    sizes = {path.name: path.stat().st_size for path in model.iterdir()
             if path.name not in ("model.sig", "model.manifest.json")}
    assert dict(read) == sizes  # every file read exactly once, by check and verify together
    assert not (clone.path / ".git" / "modelseal").exists()  # no stat cache written or read


def test_report_hashes_again_when_the_signature_hashes_differently(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # signed in files mode; the config (and so the committed manifest) now says shards
    repo, public = _signed_repo(tmp_path, "defaults:\n  serialization: shards\n")
    clone = _cold_clone(repo, tmp_path)
    document, read = _report(clone, public, monkeypatch, capsys)
    assert _state(document) == "signed-unchanged"  # the signature is checked its own way
    assert read["model.safetensors"] == 2 * len(WEIGHTS)
